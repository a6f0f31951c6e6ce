"""Instructor tools: ``course-lib validate`` (nbval on every lesson) and ``course-lib doctor``.

>>> from course_lib.instructor import Check
>>> print(Check("node", False, "`node` was not found on the PATH", "install Node 20"))
FAIL  node: `node` was not found on the PATH
      fix: install Node 20

``validate`` re-runs each notebook with nbval in its own ``pytest`` process (a fresh
kernel, the notebook's folder as working directory, ``TF_CPP_MIN_LOG_LEVEL=3``) and
reads the per-cell results from the JUnit XML that pytest writes. The sanitize rules
are the notebooks' own ``sanitize.cfg`` when the folder has one, else the copy
shipped in this package (``course_lib/nbval_sanitize.cfg``), so an installed package
can validate any folder of lessons.

``doctor`` runs independent checks (:class:`Check` values) of what an instructor's
machine or a JupyterHub image needs: Python, TensorFlow, Keras and tensorflowjs (each
imported in a subprocess of its own), Node 20 and ``@tensorflow/tfjs``, JupyterLab and
its widgets extension, writable working folders. Each check function is pure in the
sense that everything it looks at is a parameter, so tests can give it a fake PATH or
an empty ``node_modules``.

Exit codes of both verbs: 0 all good; 1 something failed (a cell, a required check);
2 bad input (no notebooks where pointed, an unknown notebook name).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import html
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from course_lib.errors import CourseLibError, MissingDependencyError

__all__ = [
    "CellResult",
    "Check",
    "NotebookNotFoundError",
    "NotebookResult",
    "check_import",
    "check_jupyterlab",
    "check_node",
    "check_python",
    "check_tfjs",
    "check_widgets_extension",
    "check_writable",
    "default_notebooks_dir",
    "doctor",
    "doctor_main",
    "doctor_parser",
    "failure_report",
    "find_node_modules",
    "find_notebooks",
    "junit_xml",
    "nbval_command",
    "parse_junit",
    "parse_labextensions",
    "results_table",
    "sanitize_config",
    "validate",
    "validate_main",
    "validate_notebook",
    "validate_parser",
]

#: The lessons: two digits, an underscore, a topic.
LESSON_GLOB = "[0-9][0-9]_*.ipynb"
#: The sanitize rules shipped in the package (a copy of notebooks/sanitize.cfg; a test keeps them equal).
PACKAGED_SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg")
#: Default limit for one notebook's whole validation run, in seconds.
DEFAULT_TIMEOUT = 1200.0
#: The Python versions the package supports (pyproject's requires-python), and the tested one.
SUPPORTED_PYTHON = ((3, 10), (3, 12))
TESTED_PYTHON = (3, 11)
#: Node major version the TF.js runtime checks need (package.json "engines").
MIN_NODE = 20
#: The JupyterLab extension that renders ipywidgets.
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|#x1B\[[0-9;]*[A-Za-z]")
_INSTALL_TF = ("pip install -c constraints.txt 'course-lib[tf]' "
               "(or `make setup` in the course repository)")


class NotebookNotFoundError(CourseLibError, FileNotFoundError):
    """No lessons where the instructor pointed, or a notebook name that is not there."""


# ================================================================================================
# validate
# ================================================================================================

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


@dataclass(frozen=True)
class NotebookResult:
    """One notebook's validation: its cells' results, the wall time, and any run error.

    >>> r = NotebookResult("00_x.ipynb", (CellResult("Cell 0", "passed", 1.0),), 4.2)
    >>> r.ok, r.passed, r.failed
    (True, 1, 0)

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


def _lessons(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob(LESSON_GLOB) if p.is_file())


def default_notebooks_dir(cwd: Path | None = None, checkout: Path | None = None) -> Path:
    """Where the lessons are when no ``--notebooks-dir`` is given.

    >>> default_notebooks_dir().name  # doctest: +SKIP
    'notebooks'

    In order: ``./notebooks``, the current folder itself, then the ``notebooks``
    folder of the repository checkout this package was installed from (editable
    installs). The first that holds ``NN_*.ipynb`` lessons wins.
    """
    cwd = Path.cwd() if cwd is None else Path(cwd)
    checkout = Path(__file__).resolve().parents[1] / "notebooks" if checkout is None else Path(checkout)
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

    >>> [p.name for p in find_notebooks(["00_metrics_that_matter"])]  # doctest: +SKIP
    ['00_metrics_that_matter.ipynb']

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
                message = _ANSI.sub("", (node.text or node.get("message") or "").strip())
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
    return "\n".join(_ANSI.sub("", text).strip().splitlines()[-lines:])


def validate_notebook(notebook: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT,
                      python: str = sys.executable) -> NotebookResult:
    """Validate one notebook with nbval in a fresh ``pytest`` process.

    >>> validate_notebook("notebooks/00_metrics_that_matter.ipynb").ok  # doctest: +SKIP
    True

    ``timeout`` bounds the whole run (and each cell); a run still going then is
    stopped, with its kernel, and reported as an error.
    """
    nb = Path(notebook).resolve()
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

    >>> validate(find_notebooks())  # doctest: +SKIP
    [NotebookResult(notebook='00_metrics_that_matter.ipynb', ...), ...]
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


def _text_table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cols = [[str(h)] + [str(r[i]) for r in rows] for i, h in enumerate(head)]
    widths = [max(len(v) for v in col) for col in cols]

    def line(values: Sequence[object]) -> str:  # text columns (first, last) left, numbers right
        last = len(widths) - 1
        cells = [str(v).ljust(w) if i in (0, last) else str(v).rjust(w)
                 for i, (v, w) in enumerate(zip(values, widths))]
        return "  ".join(cells).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def results_table(results: Sequence[NotebookResult]) -> str:
    """A text table: one row per notebook (cells, passed, failed, skipped, seconds, status) and a total.

    >>> print(results_table([NotebookResult("00_x.ipynb", (CellResult("Cell 0", "passed", 1.0),), 4.25)]))
    notebook    cells  passed  failed  skipped  seconds  status
    ----------  -----  ------  ------  -------  -------  ------
    00_x.ipynb      1       1       0        0      4.2  ok
    total           1       1       0        0      4.2  ok
    """
    def status(r: NotebookResult) -> str:
        if r.error:
            return "timed out" if r.error.startswith("timed out") else "error"
        return "ok" if r.ok else "FAILED"

    rows: list[list[object]] = [[r.notebook, len(r.cells), r.passed, r.failed, r.skipped,
                                 f"{r.seconds:.1f}", status(r)] for r in results]
    bad = sum(not r.ok for r in results)
    rows.append(["total", sum(len(r.cells) for r in results), sum(r.passed for r in results),
                 sum(r.failed for r in results), sum(r.skipped for r in results),
                 f"{sum(r.seconds for r in results):.1f}", "ok" if not bad else f"{bad} FAILED"])
    return _text_table(("notebook", "cells", "passed", "failed", "skipped", "seconds", "status"), rows)


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

    >>> validate_main(["--notebooks-dir", "notebooks"])  # doctest: +SKIP
    validating 5 notebooks with nbval ...
    0
    """
    args = validate_parser().parse_args(argv)
    if args.timeout <= 0:
        print(f"course-lib validate: expected --timeout to be a positive number of seconds; found "
              f"{args.timeout:g}. Fix: e.g. --timeout 600", file=sys.stderr)
        return 2
    try:
        notebooks = find_notebooks(args.notebooks, args.notebooks_dir)
        folders = sorted({str(sanitize_config(nb.parent)) for nb in notebooks})
        print(f"validating {len(notebooks)} notebook{'s' if len(notebooks) != 1 else ''} with nbval "
              f"(sanitize rules: {', '.join(folders)}; limit {args.timeout:g} s each)", flush=True)

        def progress(r: NotebookResult) -> None:
            verdict = "ok" if r.ok else ("ERROR" if r.error else f"{r.failed} FAILED")
            print(f"  {r.notebook}: {len(r.cells)} cells, {verdict} in {r.seconds:.1f} s", flush=True)

        results = validate(notebooks, timeout=args.timeout, progress=progress)
    except CourseLibError as exc:
        print(f"course-lib validate: {exc}", file=sys.stderr)
        return 2
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


# ================================================================================================
# doctor
# ================================================================================================

@dataclass(frozen=True)
class Check:
    """One environment check: what was looked at, whether it is fine, and the fix when not.

    >>> Check("python", True, "3.11.7").ok
    True
    >>> print(Check("nbval", False, "not installed", "pip install nbval", required=False))
    warn  nbval: not installed
          fix: pip install nbval

    A failing ``required`` check makes ``course-lib doctor`` exit 1; an optional one
    only warns.
    """

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True

    @property
    def label(self) -> str:
        """``ok``, ``FAIL`` (required and failing) or ``warn`` (optional and failing)."""
        return "ok" if self.ok else ("FAIL" if self.required else "warn")

    def __str__(self) -> str:
        text = f"{self.label:<5} {self.name}: {self.detail}"
        if not self.ok and self.fix:
            text += f"\n      fix: {self.fix}"
        return text

    def _repr_html_(self) -> str:
        color = "#1a7f37" if self.ok else ("#b42318" if self.required else "#9a6700")
        fix = f"<br><em>fix:</em> {html.escape(self.fix)}" if not self.ok and self.fix else ""
        return (f"<p><b style='color:{color}'>{self.label}</b> <b>{html.escape(self.name)}</b>: "
                f"{html.escape(self.detail)}{fix}</p>")


def check_python(version: Sequence[int] | None = None) -> Check:
    """Is this Python one the course supports (3.10 to 3.12; the pinned stack is tested on 3.11)?

    >>> check_python((3, 11, 7)).ok, check_python((3, 9, 1)).ok
    (True, False)
    """
    v = tuple(sys.version_info[:3] if version is None else version)
    shown = ".".join(str(x) for x in v)
    (lo, hi), tested = SUPPORTED_PYTHON, ".".join(map(str, TESTED_PYTHON))
    span = f"{lo[0]}.{lo[1]} to {hi[0]}.{hi[1]}"
    if lo <= v[:2] <= hi:
        note = "" if v[:2] == TESTED_PYTHON else f"; the pinned stack is tested on {tested}"
        return Check("python", True, f"{shown} (the course supports {span}{note})")
    return Check("python", False, f"{shown}; the course needs Python {span}",
                 f"create the environment with Python {tested}: python{tested} -m venv .venv "
                 "(or `make setup`, which uses python3.11)")


def _pins(extra: str = "lab") -> dict[str, str]:
    """Version specifiers of course-lib's dependencies (installed metadata).

    >>> _pins("tf").get("tensorflow")  # doctest: +SKIP
    '==2.19.0'
    """
    import importlib.metadata as md

    try:
        reqs = md.requires("course-lib") or []
    except md.PackageNotFoundError:
        return {}
    out = {}
    for req in reqs:
        spec, _, marker = req.partition(";")
        if marker and f"'{extra}'" not in marker and f'"{extra}"' not in marker:
            continue
        m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(\[[^\]]*\])?\s*(.*)", spec)
        if m:
            out[m.group(1).lower().replace("_", "-")] = m.group(3).strip()
    return out


def _satisfies(version: str, spec: str) -> bool | None:
    """Whether ``version`` meets ``spec``; None when it cannot be told (no ``packaging``)."""
    try:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet
        from packaging.version import InvalidVersion, Version
    except ImportError:  # pragma: no cover - packaging comes with pip's usual companions
        return None
    try:
        return Version(version) in SpecifierSet(spec)
    except (InvalidSpecifier, InvalidVersion):
        return None


_IMPORT_SNIPPET = (
    "import importlib, sys, time; t = time.perf_counter(); m = importlib.import_module(sys.argv[1]); "
    "print(getattr(m, '__version__', '?')); print(f'{time.perf_counter() - t:.1f}')"
)


def check_import(module: str, *, distribution: str | None = None, spec: str | None = None,
                 python: str = sys.executable, timeout: float = 120.0, fix: str = _INSTALL_TF,
                 required: bool = True) -> Check:
    """Import ``module`` in a fresh, quiet Python process; its version against ``spec``.

    >>> check_import("json").ok
    True
    >>> check_import("no_such_module_xyz", fix="pip install it").ok
    False

    The import runs in a subprocess (``TF_CPP_MIN_LOG_LEVEL=3``) so a crash or a hang
    in a native library cannot take the doctor down; it is stopped after ``timeout``.
    """
    name = distribution or module
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    try:
        done = subprocess.run([python, "-c", _IMPORT_SNIPPET, module], check=False,
                              capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Check(name, False, f"`import {module}` did not finish within {timeout:g} s", fix, required)
    except OSError as exc:
        return Check(name, False, f"could not start {python} ({exc})", fix, required)
    if done.returncode != 0:
        lines = [x for x in _ANSI.sub("", done.stderr).strip().splitlines() if x.strip()]
        last = lines[-1] if lines else f"exit code {done.returncode}"
        return Check(name, False, f"`import {module}` failed: {last}", fix, required)
    version, seconds = (done.stdout.strip().splitlines() + ["?", "?"])[:2]
    detail = f"{version}, imported in {seconds} s"
    if spec:
        fits = _satisfies(version, spec)
        if fits is False:
            return Check(name, False, f"{version} installed; the course needs {name}{spec}", fix, required)
        detail += f" (course needs {spec})"
    return Check(name, True, detail, fix, required)


def check_node(path: str | None = None, minimum: int = MIN_NODE, timeout: float = 20.0) -> Check:
    """Is ``node`` on the PATH (``path``: a PATH string; None: this process's), version >= ``minimum``?

    >>> check_node(path="").ok
    False
    """
    fix = (f"install Node {minimum} or later (https://nodejs.org, or your package manager, e.g. "
           "apt-get install nodejs) and make sure `node` is on the PATH")
    node = shutil.which("node", path=path)
    if node is None:
        return Check("node", False, "`node` was not found on the PATH", fix)
    try:
        out = subprocess.run([node, "--version"], check=False, capture_output=True, text=True,
                             timeout=timeout, stdin=subprocess.DEVNULL).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("node", False, f"{node} did not answer `node --version` ({exc})", fix)
    m = re.match(r"v?(\d+)\.", out)
    if m is None:
        return Check("node", False, f"{node} printed {out!r} for --version, not a version", fix)
    if int(m.group(1)) < minimum:
        return Check("node", False, f"{out} at {node}; the TF.js checks need Node {minimum} or later", fix)
    return Check("node", True, f"{out} at {node}")


def find_node_modules(environ: Mapping[str, str] | None = None,
                      checkout: Path | None = None) -> Path | None:
    """The ``node_modules`` folder the lessons use for ``@tensorflow/tfjs`` (None when none is known).

    >>> find_node_modules({"COURSE_LIB_NODE_MODULES": "/srv/js/node_modules"})
    PosixPath('/srv/js/node_modules')

    ``COURSE_LIB_NODE_MODULES`` when set (even if the folder is wrong: the check then
    says so), else the repository checkout's ``node_modules``, else a ``NODE_PATH``
    folder that holds ``@tensorflow/tfjs`` (the rule of :func:`course_lib.tfjs.node_modules`).
    """
    environ = os.environ if environ is None else environ
    explicit = environ.get("COURSE_LIB_NODE_MODULES")
    if explicit:
        return Path(explicit).expanduser()
    checkout = Path(__file__).resolve().parents[1] / "node_modules" if checkout is None else Path(checkout)
    if checkout.is_dir():
        return checkout
    for p in environ.get("NODE_PATH", "").split(os.pathsep):
        if p and (Path(p) / "@tensorflow" / "tfjs" / "package.json").is_file():
            return Path(p)
    return None


_RESOLVE_TFJS = (
    "const path = require('path'); const nm = process.argv[1];"
    "const main = require.resolve(path.join(nm, '@tensorflow', 'tfjs'));"
    "const pkg = require(path.join(nm, '@tensorflow', 'tfjs', 'package.json'));"
    "console.log(pkg.version + ' ' + main);"
)


def check_tfjs(node_modules: Path | None, *, path: str | None = None, expected: str | None = None,
               timeout: float = 30.0) -> Check:
    """Does Node resolve ``@tensorflow/tfjs`` from ``node_modules`` (as the lessons load it)?

    >>> check_tfjs(None).ok
    False

    ``path``: the PATH to find ``node`` on (None: this process's). ``expected``: the
    version the course pins (default: :data:`course_lib.tfjs.TFJS_VERSION`).
    """
    if expected is None:
        from course_lib.tfjs import TFJS_VERSION as expected
    fix = ("run `npm ci` in the course repository (make setup does it), or `npm install "
           f"@tensorflow/tfjs@{expected}` in a folder of your choice and set COURSE_LIB_NODE_MODULES "
           "to its node_modules")
    name = "@tensorflow/tfjs"
    if node_modules is None:
        return Check(name, False, "no node_modules folder found (COURSE_LIB_NODE_MODULES is not set "
                     "and there is no repository checkout's node_modules)", fix)
    if not Path(node_modules).is_dir():
        return Check(name, False, f"{node_modules} is not a folder", fix)
    node = shutil.which("node", path=path)
    if node is None:
        return Check(name, False, f"cannot check {node_modules}: `node` is not on the PATH",
                     "install Node first (see the node check), then run this again")
    try:
        done = subprocess.run([node, "-e", _RESOLVE_TFJS, str(Path(node_modules).resolve())],
                              check=False, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(name, False, f"node could not be asked about {node_modules} ({exc})", fix)
    if done.returncode != 0:
        lines = [x for x in done.stderr.splitlines() if x.strip()]
        why = next((x.strip() for x in lines if "Cannot find module" in x), lines[-1] if lines else "")
        return Check(name, False, f"not resolvable from {node_modules}: {why}", fix)
    version = done.stdout.split()[0] if done.stdout.split() else "?"
    if version != expected:
        return Check(name, False, f"{version} in {node_modules}; the course pins {expected}", fix)
    return Check(name, True, f"{version} in {node_modules}")


def check_jupyterlab(spec: str | None = None) -> Check:
    """Is JupyterLab installed, in the version range the course needs (``spec``, e.g. ``>=4.2,<5``)?

    >>> check_jupyterlab().name
    'jupyterlab'
    """
    import importlib.metadata as md

    fix = "pip install -c constraints.txt 'course-lib[lab]' (JupyterLab, ipykernel, ipywidgets)"
    try:
        version = md.version("jupyterlab")
    except md.PackageNotFoundError:
        return Check("jupyterlab", False, "not installed", fix)
    if spec and _satisfies(version, spec) is False:
        return Check("jupyterlab", False, f"{version} installed; the course needs jupyterlab{spec}", fix)
    return Check("jupyterlab", True, version + (f" (course needs {spec})" if spec else ""))


def parse_labextensions(text: str) -> dict[str, str]:
    """``jupyter labextension list`` output as {extension: status line after the name}.

    >>> parse_labextensions("  jupyterlab_pygments v0.3.0 enabled OK (python, jupyterlab_pygments)")
    {'jupyterlab_pygments': 'v0.3.0 enabled OK (python, jupyterlab_pygments)'}
    """
    out = {}
    for raw in _ANSI.sub("", text).splitlines():
        m = re.match(r"\s+(@?[\w.\-]+(?:/[\w.\-]+)?)\s+(v\S+.*)$", raw)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def check_widgets_extension(jupyter: str | None = None, timeout: float = 60.0) -> Check:
    """Is the ipywidgets JupyterLab extension installed, enabled and OK (``jupyter labextension list``)?

    >>> check_widgets_extension(jupyter="/nonexistent/jupyter").ok
    False

    ``jupyter``: the ``jupyter`` command (default: the one next to this Python, else on the PATH).
    """
    name, fix = "widgets extension", "pip install -c constraints.txt 'jupyterlab_widgets>=3' ipywidgets"
    if jupyter is None:
        beside = Path(sys.executable).with_name("jupyter")
        jupyter = str(beside) if beside.is_file() else shutil.which("jupyter")
    if jupyter is None or not Path(jupyter).is_file():
        return Check(name, False, f"no `jupyter` command ({jupyter or 'not on the PATH'})",
                     "pip install -c constraints.txt 'course-lib[lab]'")
    try:
        done = subprocess.run([jupyter, "labextension", "list"], check=False, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(name, False, f"`jupyter labextension list` did not answer ({exc})", fix)
    found = parse_labextensions(done.stdout + "\n" + done.stderr)
    if done.returncode != 0 and not found:
        lines = [x.strip() for x in _ANSI.sub("", done.stderr).splitlines() if x.strip()]
        return Check(name, False, f"`jupyter labextension list` failed: {lines[-1] if lines else done.returncode}",
                     "pip install -c constraints.txt 'course-lib[lab]' (JupyterLab and the widgets)")
    status = found.get(WIDGETS_EXTENSION)
    if status is None:
        return Check(name, False, f"{WIDGETS_EXTENSION} is not among JupyterLab's extensions", fix)
    words = status.split()
    if "enabled" not in words or "OK" not in words:
        return Check(name, False, f"{WIDGETS_EXTENSION} {status}",
                     f"jupyter labextension enable {WIDGETS_EXTENSION}; if it says X, reinstall: {fix}")
    return Check(name, True, f"{WIDGETS_EXTENSION} {words[0]} enabled")


def check_writable(folder: str | os.PathLike[str] | None, name: str) -> Check:
    """Can a file be created (and removed) in ``folder``?

    >>> check_writable(tempfile.gettempdir(), "temp folder").ok
    True
    """
    if folder is None:
        return Check(name, False, "no folder found", "pass the folder (e.g. --notebooks-dir PATH)")
    path = Path(folder)
    fix = f"make {path} a folder this user can write to (the lessons write files next to the notebooks)"
    if not path.is_dir():
        return Check(name, False, f"{path} is not a folder", fix)
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".course-lib-doctor-"):
            pass
    except OSError as exc:
        return Check(name, False, f"cannot create a file in {path} ({exc.strerror or exc})", fix)
    return Check(name, True, f"{path} is writable")


def doctor(notebooks_dir: str | os.PathLike[str] | None = None, node_modules: Path | None = None, *,
           timeout: float = 120.0) -> list[Check]:
    """Every check of ``course-lib doctor``, run in parallel, in a stable order.

    >>> [c.name for c in doctor()][:2]  # doctest: +SKIP
    ['python', 'tensorflow']
    """
    pins = _pins("lab")
    pins_test = _pins("test")
    nm = find_node_modules() if node_modules is None else node_modules
    if notebooks_dir is None:
        try:
            notebooks_dir = default_notebooks_dir()
        except NotebookNotFoundError:
            notebooks_dir = None
    nbval_fix = "pip install -c constraints.txt 'course-lib[test]' (only `course-lib validate` needs it)"
    jobs: list[Callable[[], Check]] = [
        check_python,
        lambda: check_import("tensorflow", spec=pins.get("tensorflow"), timeout=timeout),
        lambda: check_import("keras", spec=pins.get("keras"), timeout=timeout),
        lambda: check_import("tensorflowjs", spec=pins.get("tensorflowjs"), timeout=timeout),
        lambda: check_node(),
        lambda: check_tfjs(nm),
        lambda: check_jupyterlab(pins.get("jupyterlab")),
        lambda: check_widgets_extension(timeout=timeout),
        lambda: check_import("ipywidgets", spec=pins.get("ipywidgets"), timeout=timeout,
                             fix="pip install -c constraints.txt 'course-lib[widgets]'"),
        lambda: check_import("nbval", spec=pins_test.get("nbval"), timeout=timeout, fix=nbval_fix,
                             required=False),
        lambda: check_writable(notebooks_dir, "notebooks folder"),
        lambda: check_writable(tempfile.gettempdir(), "temp folder"),
    ]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return [f.result() for f in [pool.submit(job) for job in jobs]]


DOCTOR_HELP = "check that this machine can run the course (Python, TensorFlow, Node, JupyterLab...)"


def doctor_parser(prog: str = "course-lib doctor") -> argparse.ArgumentParser:
    """The arguments of ``course-lib doctor``.

    >>> doctor_parser().parse_args([]).timeout
    120.0
    """
    p = argparse.ArgumentParser(
        prog=prog, description=(
            "Check what an instructor's machine or a JupyterHub image needs to run the course, and "
            "say how to fix what is missing. Exits 0 when every required check passes, else 1."))
    p.add_argument("--notebooks-dir", metavar="DIR",
                   help="the lessons' folder, checked for writing "
                        "(default: ./notebooks, ., or the checkout's)")
    p.add_argument("--node-modules", metavar="DIR",
                   help="the node_modules holding @tensorflow/tfjs (default: $COURSE_LIB_NODE_MODULES, "
                        "else the repository checkout's)")
    p.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                   help="limit for each import or command (default 120)")
    return p


def doctor_main(argv: Sequence[str] | None = None) -> int:
    """``course-lib doctor``: print every check and the fixes; the exit code.

    0 when every required check passes, 1 when one fails, 2 on bad input.

    >>> doctor_main([])  # doctest: +SKIP
    ok    python: 3.11.7 (the course supports 3.10 to 3.12)
    ...
    0
    """
    args = doctor_parser().parse_args(argv)
    if args.timeout <= 0:
        print(f"course-lib doctor: expected --timeout to be a positive number of seconds; found "
              f"{args.timeout:g}. Fix: e.g. --timeout 120", file=sys.stderr)
        return 2
    print(f"course-lib doctor: checking the environment of {sys.executable}", flush=True)
    start = time.perf_counter()
    checks = doctor(args.notebooks_dir, None if args.node_modules is None else Path(args.node_modules),
                    timeout=args.timeout)
    for c in checks:
        print(c)
    required = [c for c in checks if c.required]
    failed = [c for c in required if not c.ok]
    warned = [c for c in checks if not c.required and not c.ok]
    took = time.perf_counter() - start
    if failed:
        print(f"\n{len(failed)} of {len(required)} required checks failed "
              f"({', '.join(c.name for c in failed)}): apply the fixes above, then run course-lib "
              f"doctor again. ({took:.1f} s)")
        return 1
    extra = f"; {len(warned)} optional warning{'s' if len(warned) != 1 else ''}" if warned else ""
    print(f"\nall {len(required)} required checks passed{extra} ({took:.1f} s)")
    return 0
