"""``course-lib validate``: re-run each lesson with nbval and report cell by cell.

>>> from course_lib.instructor import CellResult, NotebookResult
>>> result = NotebookResult("00_x.ipynb", (CellResult("Cell 0", "passed", 1.0),), 4.2)
>>> print(result.verdict)
00_x.ipynb: 1 cell, ok in 4.2 s

Each notebook runs with nbval in its own ``pytest`` process (a fresh kernel, the
notebook's folder as working directory, ``TF_CPP_MIN_LOG_LEVEL=3``); the per-cell
results are read from the JUnit XML that pytest writes. The sanitize rules are the
notebooks' own ``sanitize.cfg`` when the folder has one, else the copy shipped in the
package (``course_lib/nbval_sanitize.cfg``), so an installed package can validate any
folder of lessons.

Exit codes: 0 every cell passed; 1 a cell (or a run) failed; 2 bad input (no notebooks
where pointed, an unknown notebook name).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from course_lib import _display
from course_lib.errors import CourseLibError, MissingDependencyError, NotebookNotFoundError

__all__ = [
    "DEFAULT_TIMEOUT", "LESSON_GLOB", "PACKAGED_SANITIZE", "VALIDATE_HELP", "CellResult",
    "NotebookNotFoundError", "NotebookResult", "default_notebooks_dir", "failure_report",
    "find_notebooks", "junit_xml", "nbval_command", "parse_junit", "results_table",
    "sanitize_config", "strip_ansi", "validate", "validate_main", "validate_notebook",
    "validate_parser",
]

#: The lessons: two digits, an underscore, a topic.
LESSON_GLOB = "[0-9][0-9]_*.ipynb"
#: The sanitize rules shipped in the package (a copy of notebooks/sanitize.cfg; a test keeps them equal).
PACKAGED_SANITIZE = Path(__file__).parents[1] / "nbval_sanitize.cfg"
#: Default limit for one notebook's whole validation run, in seconds.
DEFAULT_TIMEOUT = 1200.0
#: Terminal colour codes, raw or as pytest writes them into JUnit XML ("#x1B[91m").
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|#x1B\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes.

    >>> strip_ansi("\x1b[32menabled\x1b[0m #x1B[91mFAILED#x1B[0m")
    'enabled FAILED'
    """
    return ANSI.sub("", text)


@dataclass(frozen=True)
class CellResult:
    """The nbval outcome of one code cell.

    >>> CellResult("Cell 0", "passed", 0.4).ok
    True

    ``outcome`` is ``passed``, ``failed``, ``skipped`` (``# NBVAL_SKIP``) or ``error``
    (nbval could not even run the cell, e.g. the kernel did not start).
    """

    name: str
    outcome: str
    seconds: float
    message: str = ""

    @property
    def ok(self) -> bool:
        """True unless the cell failed or errored."""
        return self.outcome in ("passed", "skipped")


@dataclass(frozen=True, repr=False)
class NotebookResult(_display.Report):
    """One notebook's validation: its cells' results, the wall time, and any run error.

    >>> r = NotebookResult("00_x.ipynb", (CellResult("Cell 0", "passed", 1.0),), 4.2)
    >>> r.ok, r.passed, r.failed
    (True, 1, 0)
    >>> print(r)
    cell    outcome  seconds
    Cell 0  passed       1.0
    00_x.ipynb: 1 cell, ok in 4.2 s

    ``error`` is set when the run itself went wrong (timed out, pytest could not
    start, no JUnit report): the notebook then counts as failed.
    """

    notebook: str
    cells: tuple[CellResult, ...]
    seconds: float
    error: str = ""

    @property
    def passed(self) -> int:
        """Cells whose outputs matched."""
        return sum(c.outcome == "passed" for c in self.cells)

    @property
    def failed(self) -> int:
        """Cells that failed or errored."""
        return sum(not c.ok for c in self.cells)

    @property
    def skipped(self) -> int:
        """Cells nbval was told to skip."""
        return sum(c.outcome == "skipped" for c in self.cells)

    @property
    def ok(self) -> bool:
        """True when the run finished and no cell failed."""
        return not self.error and self.failed == 0

    @property
    def failures(self) -> tuple[CellResult, ...]:
        """The cells that failed or errored."""
        return tuple(c for c in self.cells if not c.ok)

    @property
    def status(self) -> str:
        """``ok``, ``FAILED``, ``timed out`` or ``error`` (the run itself went wrong)."""
        if self.error:
            return "timed out" if self.error.startswith("timed out") else "error"
        return "ok" if self.ok else "FAILED"

    @property
    def verdict(self) -> str:
        """One line: the notebook, its cells, ok / N FAILED / ERROR, and the time it took."""
        said = "ok" if self.ok else ("ERROR" if self.error else f"{self.failed} FAILED")
        return f"{self.notebook}: {_display.plural(len(self.cells), 'cell')}, {said} in {self.seconds:.1f} s"

    def table(self) -> tuple[list[str], list[list[object]]] | None:
        """One row per cell: its name, outcome and seconds (None without cells)."""
        if not self.cells:
            return None
        return ["cell", "outcome", "seconds"], [[c.name, c.outcome, f"{c.seconds:.1f}"] for c in self.cells]


def _lessons(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob(LESSON_GLOB) if p.is_file())


def default_notebooks_dir(cwd: Path | None = None, checkout: Path | None = None) -> Path:
    """Where the lessons are when no ``--notebooks-dir`` is given.

    >>> default_notebooks_dir().name       # the current folder holds notebooks/00_hello.ipynb
    'notebooks'

    In order: ``./notebooks``, the current folder itself, then the ``notebooks``
    folder of the repository checkout this package was installed from (editable
    installs). The first that holds ``NN_*.ipynb`` lessons wins.
    """
    cwd = Path.cwd() if cwd is None else Path(cwd)
    checkout = Path(__file__).resolve().parents[2] / "notebooks" if checkout is None else Path(checkout)
    candidates = [cwd / "notebooks", cwd, checkout]
    for folder in candidates:
        if folder.is_dir() and _lessons(folder):
            return folder
    looked = ", ".join(str(c) for c in candidates)
    raise NotebookNotFoundError(
        f"expected a folder of lessons named like {LESSON_GLOB}; found none in {looked}. "
        "Fix: pass --notebooks-dir PATH (the folder of the course notebooks), or run from the "
        "folder that holds notebooks/."
    )


def find_notebooks(names: Sequence[str] = (),
                   notebooks_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The notebooks to validate: the named ones, or every lesson of the folder.

    >>> [p.name for p in find_notebooks(["00_hello"])]   # notebooks/00_hello.ipynb
    ['00_hello.ipynb']

    A name is a path (absolute or relative to the current folder), or a file name in
    ``notebooks_dir`` with or without ``.ipynb``. Without names, every ``NN_*.ipynb``
    of ``notebooks_dir`` (default: :func:`default_notebooks_dir`), sorted.
    """
    if not names:
        folder = default_notebooks_dir() if notebooks_dir is None else Path(notebooks_dir)
        if not folder.is_dir():
            raise NotebookNotFoundError(
                f"expected --notebooks-dir to be a folder of lessons; {folder} is not a folder. "
                "Fix: pass the folder that holds the NN_*.ipynb notebooks."
            )
        found = _lessons(folder)
        if not found:
            raise NotebookNotFoundError(
                f"expected lessons named like {LESSON_GLOB} in {folder}; found none. "
                "Fix: pass --notebooks-dir PATH, the folder of the course notebooks."
            )
        return found
    given = None if notebooks_dir is None else Path(notebooks_dir)
    out: list[Path] = []
    for name in names:
        candidates = [Path(name)]
        if given is not None:
            candidates += [given / name, given / f"{name}.ipynb"]
        elif not Path(name).is_file():
            try:
                base = default_notebooks_dir()
                candidates += [base / name, base / f"{name}.ipynb"]
            except NotebookNotFoundError:
                pass
        hit = next((c for c in candidates if c.is_file() and c.suffix == ".ipynb"), None)
        if hit is None:
            known = ", ".join(p.name for p in _lessons(given)) if given and given.is_dir() else "none"
            raise NotebookNotFoundError(
                f"expected a notebook (.ipynb) file; {name!r} is not one (looked at "
                f"{', '.join(str(c) for c in candidates)}). Lessons there: {known}. "
                "Fix: pass a path to an .ipynb file or a lesson name."
            )
        out.append(hit.resolve())
    return out


def sanitize_config(folder: str | os.PathLike[str]) -> Path:
    """The nbval sanitize rules for the notebooks in ``folder``.

    >>> sanitize_config("/nonexistent").name
    'nbval_sanitize.cfg'

    The folder's own ``sanitize.cfg`` if it has one, else the copy shipped in the package.
    """
    own = Path(folder) / "sanitize.cfg"
    return own if own.is_file() else PACKAGED_SANITIZE


def nbval_command(notebook: Path, *, sanitize: Path, junit: Path, ini: Path, timeout: float,
                  python: str = sys.executable) -> list[str]:
    """The ``pytest --nbval`` command line that validates one notebook.

    >>> cmd = nbval_command(Path("00_x.ipynb"), sanitize=Path("s.cfg"), junit=Path("j.xml"),
    ...                     ini=Path("pytest.ini"), timeout=60, python="python")
    >>> cmd[:3], "--nbval-current-env" in cmd, "--junitxml=j.xml" in cmd
    (['python', '-m', 'pytest'], True, True)

    ``ini`` is an empty pytest config so that a surrounding project's pytest settings
    (addopts, plugins) do not leak in; the cache is off so nothing is written next to
    the notebooks.
    """
    return [
        python, "-m", "pytest", "-q", "-c", str(ini), f"--rootdir={notebook.parent}",
        "-p", "no:cacheprovider", "--color=no",
        "--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(sanitize),
        f"--nbval-cell-timeout={int(timeout)}", f"--junitxml={junit}", str(notebook),
    ]


def parse_junit(text: str) -> tuple[CellResult, ...]:
    """Per-cell results from the JUnit XML pytest writes for an nbval run.

    >>> xml = ('<testsuites><testsuite><testcase classname="a.ipynb" name="Cell 0" time="1.5"/>'
    ...        '<testcase name="Cell 1" time="0.1"><failure message="Cell outputs differ"/>'
    ...        '</testcase></testsuite></testsuites>')
    >>> [(c.name, c.outcome) for c in parse_junit(xml)]
    [('Cell 0', 'passed'), ('Cell 1', 'failed')]
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise CourseLibError(
            f"expected the JUnit XML report of a pytest run; could not parse it ({exc}). "
            "Fix: run the notebook with pytest --nbval by hand to see what went wrong."
        ) from exc
    cells = []
    for case in root.iter("testcase"):
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = strip_ansi((node.text or node.get("message") or "").strip())
                break
        cells.append(CellResult(case.get("name", "?"), outcome, float(case.get("time") or 0.0), message))
    return tuple(cells)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process started with start_new_session=True, and everything in its group."""
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(strip_ansi(text).strip().splitlines()[-lines:])


def validate_notebook(notebook: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT,
                      python: str = sys.executable) -> NotebookResult:
    """Validate one notebook with nbval in a fresh ``pytest`` process.

    >>> print(validate_notebook("notebooks/00_hello.ipynb"))   # one cell: print(1 + 1)
    cell    outcome  seconds
    Cell 0  passed   ...
    00_hello.ipynb: 1 cell, ok in ... s

    ``timeout`` bounds the whole run (and each cell); a run still going then is
    stopped, with its kernel, and reported as an error.
    """
    nb = Path(notebook).resolve()
    if not nb.is_file():
        what = "a folder, not a notebook file" if nb.is_dir() else "nothing is there"
        raise NotebookNotFoundError(
            f"expected a notebook (.ipynb) file at {notebook}; {what}. Fix: pass the path of a "
            "lesson such as notebooks/00_hello.ipynb (find_notebooks() lists them).")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("PYTEST_ADDOPTS", None)
    with tempfile.TemporaryDirectory(prefix="course-lib-validate-") as tmp:
        ini, junit = Path(tmp) / "pytest.ini", Path(tmp) / "cells.xml"
        ini.write_text("[pytest]\n")
        cmd = nbval_command(nb, sanitize=sanitize_config(nb.parent), junit=junit, ini=ini,
                            timeout=timeout, python=python)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=nb.parent, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.communicate()
            seconds = time.perf_counter() - start
            cells = parse_junit(junit.read_text()) if junit.is_file() else ()
            return NotebookResult(nb.name, cells, seconds, error=(
                f"timed out after {timeout:g} s and was stopped. Fix: look for a cell that waits "
                "for input or runs far longer than the others, or raise --timeout."))
        seconds = time.perf_counter() - start
        text = out.decode("utf-8", "replace")
        if proc.returncode == 5:  # pytest: no tests collected (a notebook without code cells)
            return NotebookResult(nb.name, (), seconds)
        if proc.returncode not in (0, 1) or not junit.is_file():
            return NotebookResult(nb.name, (), seconds, error=(
                f"pytest --nbval stopped with exit code {proc.returncode} before reporting the "
                f"cells. Its last lines:\n{_tail(text)}"))
        return NotebookResult(nb.name, parse_junit(junit.read_text()), seconds)


def validate(notebooks: Sequence[str | os.PathLike[str]], *, timeout: float = DEFAULT_TIMEOUT,
             progress: Callable[[NotebookResult], None] | None = None) -> list[NotebookResult]:
    """Validate each notebook in turn; ``progress`` is called after each one.

    >>> results = validate(find_notebooks(), progress=lambda r: print(r.verdict))
    00_hello.ipynb: 1 cell, ok in ... s
    >>> [r.ok for r in results]
    [True]
    """
    import importlib.util

    if importlib.util.find_spec("nbval") is None:
        raise MissingDependencyError(
            "expected nbval (the notebook validator) to be installed; it is not. "
            "Fix: pip install 'course-lib[test]' (or pip install nbval==0.11.0)."
        )
    results = []
    for nb in notebooks:
        result = validate_notebook(nb, timeout=timeout)
        results.append(result)
        if progress is not None:
            progress(result)
    return results


def results_table(results: Sequence[NotebookResult]) -> str:
    """A text table: one row per notebook (cells, passed, failed, skipped, seconds, status) and a total.

    >>> print(results_table([NotebookResult("00_x.ipynb", (CellResult("Cell 0", "passed", 1.0),), 4.25)]))
    notebook    cells  passed  failed  skipped  seconds  status
    00_x.ipynb      1       1       0        0      4.2  ok
    total           1       1       0        0      4.2  ok
    """
    rows: list[list[object]] = [[r.notebook, len(r.cells), r.passed, r.failed, r.skipped,
                                 f"{r.seconds:.1f}", r.status] for r in results]
    bad = sum(not r.ok for r in results)
    rows.append(["total", sum(len(r.cells) for r in results), sum(r.passed for r in results),
                 sum(r.failed for r in results), sum(r.skipped for r in results),
                 f"{sum(r.seconds for r in results):.1f}", "ok" if not bad else f"{bad} FAILED"])
    return _display.text_table(["notebook", "cells", "passed", "failed", "skipped", "seconds", "status"], rows)


def failure_report(results: Sequence[NotebookResult], max_lines: int = 25) -> str:
    """What went wrong, notebook by notebook and cell by cell (empty when all passed).

    >>> cell = CellResult("Cell 3", "failed", 0.1, "Cell outputs differ")
    >>> bad = NotebookResult("00_x.ipynb", (cell,), 1.0)
    >>> print(failure_report([bad]))
    00_x.ipynb, Cell 3 (failed):
        Cell outputs differ
    """
    parts = []
    for r in results:
        if r.error:
            parts.append(f"{r.notebook}: {r.error}")
        for c in r.cells:
            if not c.ok:
                lines = c.message.splitlines()
                shown = lines[:max_lines] + ([f"... ({len(lines) - max_lines} more lines)"]
                                             if len(lines) > max_lines else [])
                parts.append(f"{r.notebook}, {c.name} ({c.outcome}):\n"
                             + "\n".join(f"    {x}" for x in shown))
    return "\n".join(parts)


def junit_xml(results: Sequence[NotebookResult]) -> str:
    """One JUnit XML document for the whole run: a testsuite per notebook, a testcase per cell.

    >>> '<testsuite name="00_x.ipynb"' in junit_xml([NotebookResult("00_x.ipynb", (), 1.0)])
    True

    A notebook whose run itself failed (timeout, pytest error) gets one testcase
    named after the notebook with an ``<error>``, so CI dashboards show it.
    """
    root = ET.Element("testsuites", name="course-lib validate")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for r in results:
        cases = list(r.cells)
        if r.error:
            cases.append(CellResult(r.notebook, "error", r.seconds, r.error))
        counts = {"tests": len(cases), "failures": sum(c.outcome == "failed" for c in cases),
                  "errors": sum(c.outcome == "error" for c in cases),
                  "skipped": sum(c.outcome == "skipped" for c in cases)}
        attrib = {"name": r.notebook, "time": f"{r.seconds:.3f}", **{k: str(v) for k, v in counts.items()}}
        suite = ET.SubElement(root, "testsuite", attrib)
        for k, v in counts.items():
            totals[k] += v
        for c in cases:
            case = ET.SubElement(suite, "testcase", classname=r.notebook, name=c.name,
                                 time=f"{c.seconds:.3f}")
            if c.outcome in ("failed", "error", "skipped"):
                tag = {"failed": "failure", "error": "error", "skipped": "skipped"}[c.outcome]
                lines = c.message.splitlines() or [c.outcome]
                first = next((x for x in lines if re.match(r"Cell \d+:", x)), lines[0])
                ET.SubElement(case, tag, message=first).text = c.message
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{sum(r.seconds for r in results):.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


VALIDATE_HELP = "re-run the course notebooks with nbval and report cell by cell"


def validate_parser(prog: str = "course-lib validate") -> argparse.ArgumentParser:
    """The arguments of ``course-lib validate``.

    >>> validate_parser().parse_args(["00_x.ipynb", "--timeout", "60"]).timeout
    60.0
    """
    p = argparse.ArgumentParser(
        prog=prog, description=(
            "Re-run course notebooks with nbval (each in a fresh pytest process and kernel) and "
            "compare every cell's output with the stored one, after the sanitize rules. Prints a "
            "table per notebook; exits 0 when every cell passed, 1 when one failed, 2 on bad input."))
    p.add_argument("notebooks", metavar="NOTEBOOK", nargs="*",
                   help="notebook files or lesson names (default: every NN_*.ipynb of --notebooks-dir)")
    p.add_argument("--notebooks-dir", metavar="DIR",
                   help="the folder of the lessons (default: ./notebooks, ., or the repository checkout's)")
    p.add_argument("--junit-xml", metavar="PATH", help="also write the per-cell results as JUnit XML")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"stop a notebook (and fail it) after this long; also each cell's limit "
                        f"(default {DEFAULT_TIMEOUT:g})")
    return p


def validate_main(argv: Sequence[str] | None = None) -> int:
    """``course-lib validate``: validate the notebooks, print the table; the exit code.

    0 when every cell passed, 1 when one failed, 2 for a bad ``--timeout``; a notebook that
    is not there raises :class:`NotebookNotFoundError` (``course-lib`` exits with 2).

    >>> validate_main(["--notebooks-dir", "notebooks"])   # notebooks/00_hello.ipynb
    validating 1 notebook with nbval (sanitize rules: .../nbval_sanitize.cfg; limit 1200 s each)
      00_hello.ipynb: 1 cell, ok in ... s
    <BLANKLINE>
    notebook        cells  passed  failed  skipped  seconds  status
    00_hello.ipynb      1       1       0        0  ...  ok
    total               1       1       0        0  ...  ok
    <BLANKLINE>
    all notebooks passed
    0
    """
    args = validate_parser().parse_args(argv)
    if args.timeout <= 0:
        print(f"course-lib validate: expected --timeout to be a positive number of seconds; found "
              f"{args.timeout:g}. Fix: e.g. --timeout 600", file=sys.stderr)
        return 2
    # A CourseLibError (no such notebook, nbval missing) goes to course-lib's exit-code table.
    notebooks = find_notebooks(args.notebooks, args.notebooks_dir)
    folders = sorted({str(sanitize_config(nb.parent)) for nb in notebooks})
    print(f"validating {_display.plural(len(notebooks), 'notebook')} with nbval "
          f"(sanitize rules: {', '.join(folders)}; limit {args.timeout:g} s each)", flush=True)
    results = validate(notebooks, timeout=args.timeout,
                       progress=lambda r: print(f"  {r.verdict}", flush=True))
    print()
    print(results_table(results))
    report = failure_report(results)
    if report:
        print("\nWhat failed:\n" + report)
    if args.junit_xml:
        out = Path(args.junit_xml)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(junit_xml(results))
        print(f"\nJUnit XML written to {out}")
    ok = all(r.ok for r in results)
    print("\nall notebooks passed" if ok else
          f"\n{sum(not r.ok for r in results)} of {len(results)} notebooks failed")
    return 0 if ok else 1


