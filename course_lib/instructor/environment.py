"""``course-lib doctor``: what a machine needs for the course, or for course_lib alone, checked.

>>> from course_lib.instructor import CheckResult
>>> print(CheckResult("node", False, "`node` was not found on the PATH", "install Node 20"))
FAIL  node: `node` was not found on the PATH
      fix: install Node 20

The checks (:class:`CheckResult` values) are independent: Python, TensorFlow, Keras and
tensorflowjs (each imported in a subprocess of its own), Node 20 and
``@tensorflow/tfjs``, JupyterLab and its widgets extension, writable working folders.
Each check function is pure in the sense that everything it looks at is a parameter,
so tests can give it a fake PATH or an empty ``node_modules``.

``course-lib doctor --library`` (``doctor(library=True)``) checks what a learner who
installed course_lib into their own project needs, and never JupyterLab, the widgets
extension or the lessons' folder: Python, the installed course-lib, numpy and
scikit-learn, each optional extra that is present (TensorFlow, Keras and tensorflowjs;
matplotlib; ipywidgets; a missing one only warns), Node and ``@tensorflow/tfjs`` (required
once tensorflowjs is installed: the TF.js checks run the converted model in Node), and a
writable temporary folder.

Exit codes: 0 every required check passed; 1 one failed; 2 bad input.

:class:`CheckResult` lives in :mod:`~course_lib.instructor.check_result`, the Node and TF.js
checks in :mod:`~course_lib.instructor.node_checks`; both are re-exported here.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from course_lib.errors import InvalidInputError, NotebookNotFoundError
from course_lib.instructor.check_result import CheckResult
from course_lib.instructor.node_checks import MIN_NODE, check_node, check_tfjs, check_tfjs_wasm
from course_lib.instructor.validation import default_notebooks_dir, strip_ansi
from course_lib.tfjs.runtime import TFJS_VERSION, find_node_modules

__all__ = [
    "DOCTOR_HELP", "EXTRAS", "MIN_NODE", "SUPPORTED_PYTHON", "TESTED_PYTHON", "WIDGETS_EXTENSION",
    "CheckResult", "check_course_lib", "check_import", "check_jupyterlab", "check_node",
    "check_optional", "check_python", "check_tfjs", "check_tfjs_wasm", "check_widgets_extension",
    "check_writable",
    "doctor", "doctor_main", "doctor_parser", "find_node_modules", "installed_version",
    "parse_labextensions",
]

#: The Python versions the package supports (pyproject's requires-python), and the tested one.
SUPPORTED_PYTHON = ((3, 10), (3, 12))
TESTED_PYTHON = (3, 11)
#: The JupyterLab extension that renders ipywidgets.
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
_INSTALL_TF = ("pip install -c constraints.txt 'course-lib[tf]' "
               "(or `make setup` in the course repository)")
#: What each optional extra of course-lib gives, as ``doctor --library`` explains a missing one.
EXTRAS = {"tf": "saving, loading, serving, the registry, TF.js and release checks",
          "plots": "figures (plot(), course_lib.plots)", "widgets": "course_lib.widgets"}


def check_python(version: Sequence[int] | None = None) -> CheckResult:
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
        return CheckResult("python", True, f"{shown} (the course supports {span}{note})")
    return CheckResult("python", False, f"{shown}; the course needs Python {span}",
                 f"create the environment with Python {tested}: python{tested} -m venv .venv "
                 "(or `make setup`, which uses python3.11)")


def _pins(extra: str = "lab") -> dict[str, str]:
    """Version specifiers of course-lib's dependencies (installed metadata).

    >>> _pins("tf").get("tensorflow")
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
                 required: bool = True) -> CheckResult:
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
        return CheckResult(name, False, f"`import {module}` did not finish within {timeout:g} s", fix, required)
    except OSError as exc:
        return CheckResult(name, False, f"could not start {python} ({exc})", fix, required)
    if done.returncode != 0:
        lines = [x for x in strip_ansi(done.stderr).strip().splitlines() if x.strip()]
        last = lines[-1] if lines else f"exit code {done.returncode}"
        return CheckResult(name, False, f"`import {module}` failed: {last}", fix, required)
    version, seconds = (done.stdout.strip().splitlines() + ["?", "?"])[:2]
    detail = f"{version}, imported in {seconds} s"
    if spec:
        fits = _satisfies(version, spec)
        if fits is False:
            return CheckResult(name, False, f"{version} installed; the course needs {name}{spec}", fix, required)
        detail += f" (course needs {spec})"
    return CheckResult(name, True, detail, fix, required)


def check_jupyterlab(spec: str | None = None) -> CheckResult:
    """Is JupyterLab installed, in the version range the course needs (``spec``, e.g. ``>=4.2,<5``)?

    >>> check_jupyterlab().name
    'jupyterlab'
    """
    import importlib.metadata as md

    fix = "pip install -c constraints.txt 'course-lib[lab]' (JupyterLab, ipykernel, ipywidgets)"
    try:
        version = md.version("jupyterlab")
    except md.PackageNotFoundError:
        return CheckResult("jupyterlab", False, "not installed", fix)
    if spec and _satisfies(version, spec) is False:
        return CheckResult("jupyterlab", False, f"{version} installed; the course needs jupyterlab{spec}", fix)
    return CheckResult("jupyterlab", True, version + (f" (course needs {spec})" if spec else ""))


def parse_labextensions(text: str) -> dict[str, str]:
    """``jupyter labextension list`` output as {extension: status line after the name}.

    >>> parse_labextensions("  jupyterlab_pygments v0.3.0 enabled OK (python, jupyterlab_pygments)")
    {'jupyterlab_pygments': 'v0.3.0 enabled OK (python, jupyterlab_pygments)'}
    """
    out = {}
    for raw in strip_ansi(text).splitlines():
        m = re.match(r"\s+(@?[\w.\-]+(?:/[\w.\-]+)?)\s+(v\S+.*)$", raw)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def check_widgets_extension(jupyter: str | None = None, timeout: float = 60.0) -> CheckResult:
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
        return CheckResult(name, False, f"no `jupyter` command ({jupyter or 'not on the PATH'})",
                     "pip install -c constraints.txt 'course-lib[lab]'")
    try:
        done = subprocess.run([jupyter, "labextension", "list"], check=False, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CheckResult(name, False, f"`jupyter labextension list` did not answer ({exc})", fix)
    found = parse_labextensions(done.stdout + "\n" + done.stderr)
    if done.returncode != 0 and not found:
        lines = [x.strip() for x in strip_ansi(done.stderr).splitlines() if x.strip()]
        return CheckResult(name, False, f"`jupyter labextension list` failed: {lines[-1] if lines else done.returncode}",
                     "pip install -c constraints.txt 'course-lib[lab]' (JupyterLab and the widgets)")
    status = found.get(WIDGETS_EXTENSION)
    if status is None:
        return CheckResult(name, False, f"{WIDGETS_EXTENSION} is not among JupyterLab's extensions", fix)
    words = status.split()
    if "enabled" not in words or "OK" not in words:
        return CheckResult(name, False, f"{WIDGETS_EXTENSION} {status}",
                     f"jupyter labextension enable {WIDGETS_EXTENSION}; if it says X, reinstall: {fix}")
    return CheckResult(name, True, f"{WIDGETS_EXTENSION} {words[0]} enabled")


def check_writable(folder: str | os.PathLike[str] | None, name: str) -> CheckResult:
    """Can a file be created (and removed) in ``folder``?

    >>> check_writable(tempfile.gettempdir(), "temp folder").ok
    True
    """
    if folder is None:
        return CheckResult(name, False, "no folder found", "pass the folder (e.g. --notebooks-dir PATH)")
    path = Path(folder)
    fix = f"make {path} a folder this user can write to (the lessons write files next to the notebooks)"
    if not path.is_dir():
        return CheckResult(name, False, f"{path} is not a folder", fix)
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".course-lib-doctor-"):
            pass
    except OSError as exc:
        return CheckResult(name, False, f"cannot create a file in {path} ({exc.strerror or exc})", fix)
    return CheckResult(name, True, f"{path} is writable")


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution`` (its metadata; nothing is imported), None if absent.

    >>> installed_version("no-such-distribution-xyz") is None
    True
    """
    import importlib.metadata as md

    try:
        return md.version(distribution)
    except md.PackageNotFoundError:
        return None


def check_course_lib(lookup: Callable[[str], str | None] = installed_version) -> CheckResult:
    """Is course-lib installed as a package, and is it the copy ``import course_lib`` finds?

    >>> check_course_lib(lambda name: None).detail.startswith("course_lib")
    True

    ``lookup``: a distribution's installed version, or None (default: its metadata).
    """
    import course_lib

    imported, where = course_lib.__version__, Path(course_lib.__file__).parent
    fix = ('from your project: pip install -c course/constraints.txt "./course" (a checkout of '
           "the course repository; add [tf], [plots] or [widgets] for the extras)")
    installed = lookup("course-lib")
    if installed is None:
        return CheckResult("course-lib", False, f"course_lib {imported} is imported from {where} but "
                           "is not installed as a package (its pinned extras cannot be read)", fix)
    if installed != imported:
        return CheckResult("course-lib", False, f"course-lib {installed} is installed, but `import "
                           f"course_lib` finds version {imported} in {where} (another copy comes "
                           "first on sys.path)", fix)
    return CheckResult("course-lib", True, f"{installed} in {where}")


def check_optional(distribution: str, module: str, extra: str, *, spec: str | None = None,
                   lookup: Callable[[str], str | None] = installed_version,
                   timeout: float = 120.0) -> CheckResult:
    """A package of one of course-lib's extras: a warning when absent, checked when installed.

    >>> print(check_optional("matplotlib", "matplotlib", "plots", lookup=lambda name: None))
    warn  matplotlib: not installed (optional: the [plots] extra, for figures (plot(), course_lib.plots))
          fix: pip install -c course/constraints.txt "./course[plots]"

    Once installed it is required: it must import and match course-lib's pin (``spec``).
    """
    fix = f'pip install -c course/constraints.txt "./course[{extra}]"'
    if lookup(distribution) is None:
        return CheckResult(distribution, False, f"not installed (optional: the [{extra}] extra, for "
                           f"{EXTRAS.get(extra, extra)})", fix, required=False)
    return check_import(module, distribution=distribution, spec=spec, timeout=timeout, fix=fix)


def _library_checks(node_modules: Path | None, timeout: float,
                    lookup: Callable[[str], str | None]) -> list[Callable[[], CheckResult]]:
    """The checks of ``doctor --library``: course_lib in a learner's own project."""
    pins = {**_pins("tf"), **_pins("plots"), **_pins("widgets")}
    fix = 'pip install -c course/constraints.txt "./course"'
    optional = [("tensorflow", "tensorflow", "tf"), ("keras", "keras", "tf"),
                ("tensorflowjs", "tensorflowjs", "tf"), ("matplotlib", "matplotlib", "plots"),
                ("ipywidgets", "ipywidgets", "widgets")]
    # Node runs the converted model in the TF.js checks: required once the converter is installed.
    needs_node = lookup("tensorflowjs") is not None
    npm_fix = (f"npm install @tensorflow/tfjs@{TFJS_VERSION} in your project, then export "
               "COURSE_LIB_NODE_MODULES=$PWD/node_modules (only the TF.js checks need it)")

    def node_check(check: Callable[[], CheckResult]) -> Callable[[], CheckResult]:
        return lambda: dataclasses.replace(check(), required=needs_node)

    return [
        check_python,
        lambda: check_course_lib(lookup),
        lambda: check_import("numpy", spec=pins.get("numpy"), timeout=timeout, fix=fix),
        lambda: check_import("sklearn", distribution="scikit-learn", spec=pins.get("scikit-learn"),
                             timeout=timeout, fix=fix),
        *[(lambda d=d, m=m, e=e: check_optional(d, m, e, spec=pins.get(d), lookup=lookup,
                                                timeout=timeout)) for d, m, e in optional],
        node_check(check_node),
        node_check(lambda: check_tfjs(node_modules, fix=npm_fix)),
        lambda: check_tfjs_wasm(node_modules),
        lambda: check_writable(tempfile.gettempdir(), "temp folder"),
    ]


def doctor(notebooks_dir: str | os.PathLike[str] | None = None, node_modules: Path | None = None, *,
           timeout: float = 120.0, library: bool = False,
           lookup: Callable[[str], str | None] | None = None) -> list[CheckResult]:
    """Every check of ``course-lib doctor``, run in parallel, in a stable order.

    Each check is a function of its own (``check_python``, ``check_import``, ``check_node``,
    ``check_writable``...), which an example can run alone:

    >>> print(check_writable(".", "notebooks folder"))
    ok    notebooks folder: . is writable

    ``library=True``: only what course_lib itself needs in a learner's project (see the
    module's description); no JupyterLab, widgets extension or lessons' folder, so
    ``notebooks_dir`` is refused. ``lookup``: a distribution's installed version or None
    (None: :func:`installed_version`), which decides which optional extras are present.
    """
    nm = find_node_modules() if node_modules is None else node_modules
    if library:
        if notebooks_dir is not None:
            raise InvalidInputError(
                "expected no notebooks folder with library=True (the library mode checks course_lib "
                f"alone); found {notebooks_dir}. Fix: drop it, or run the course's checks without "
                "library=True")
        return _run(_library_checks(nm, timeout, lookup or installed_version))
    pins = _pins("lab")
    pins_test = _pins("test")
    if notebooks_dir is None:
        try:
            notebooks_dir = default_notebooks_dir()
        except NotebookNotFoundError:
            notebooks_dir = None
    nbval_fix = "pip install -c constraints.txt 'course-lib[test]' (only `course-lib validate` needs it)"
    jobs: list[Callable[[], CheckResult]] = [
        check_python,
        lambda: check_import("tensorflow", spec=pins.get("tensorflow"), timeout=timeout),
        lambda: check_import("keras", spec=pins.get("keras"), timeout=timeout),
        lambda: check_import("tensorflowjs", spec=pins.get("tensorflowjs"), timeout=timeout),
        lambda: check_node(),
        lambda: check_tfjs(nm),
        lambda: check_tfjs_wasm(nm),
        lambda: check_jupyterlab(pins.get("jupyterlab")),
        lambda: check_widgets_extension(timeout=timeout),
        lambda: check_import("ipywidgets", spec=pins.get("ipywidgets"), timeout=timeout,
                             fix="pip install -c constraints.txt 'course-lib[widgets]'"),
        lambda: check_import("nbval", spec=pins_test.get("nbval"), timeout=timeout, fix=nbval_fix,
                             required=False),
        lambda: check_writable(notebooks_dir, "notebooks folder"),
        lambda: check_writable(tempfile.gettempdir(), "temp folder"),
    ]
    return _run(jobs)


def _run(jobs: Sequence[Callable[[], CheckResult]]) -> list[CheckResult]:
    """The checks run in parallel, their results in the jobs' order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return [f.result() for f in [pool.submit(job) for job in jobs]]


DOCTOR_HELP = ("check that this machine can run the course (Python, TensorFlow, Node, JupyterLab...), "
               "or with --library what course_lib alone needs in your project")


def doctor_parser(prog: str = "course-lib doctor") -> argparse.ArgumentParser:
    """The arguments of ``course-lib doctor``.

    >>> doctor_parser().parse_args([]).timeout
    120.0
    >>> doctor_parser().parse_args(["--library"]).library
    True
    """
    p = argparse.ArgumentParser(
        prog=prog, description=(
            "Check what an instructor's machine or a JupyterHub image needs to run the course (or, "
            "with --library, what course_lib needs in your own project), and say how to fix what is "
            "missing. Exits 0 when every required check passes, 1 when one fails, 2 on bad input."))
    p.add_argument("--library", action="store_true",
                   help="check course_lib alone in your project: Python, course-lib and the extras "
                        "you installed, Node and @tensorflow/tfjs, a temporary folder (no "
                        "JupyterLab, widgets extension or notebooks)")
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

    >>> doctor_main(["--timeout", "0"])   # bad input: the message goes to stderr
    2

    ``--library`` checks course_lib in a learner's project (no JupyterLab, no notebooks).

    On a machine ready for the course, ``course-lib doctor`` prints (TensorFlow's import
    takes seconds, so the example does not run it)::

        course-lib doctor: checking the environment of .../.venv/bin/python
        ok    python: 3.11.7 (the course supports 3.10 to 3.12)
        ok    tensorflow: 2.19.0, imported in 6.4 s (course needs ==2.19.0)
        ...
        ok    temp folder: /tmp is writable

        all 11 required checks passed (8.1 s)
    """
    args = doctor_parser().parse_args(argv)
    if args.timeout <= 0:
        print(f"course-lib doctor: expected --timeout to be a positive number of seconds; found "
              f"{args.timeout:g}. Fix: e.g. --timeout 120", file=sys.stderr)
        return 2
    if args.library and args.notebooks_dir is not None:
        print("course-lib doctor: expected no --notebooks-dir with --library (the library mode "
              f"checks course_lib alone, no lessons); found {args.notebooks_dir}. Fix: drop one "
              "of the two", file=sys.stderr)
        return 2
    what = "course_lib's environment" if args.library else "the environment"
    print(f"course-lib doctor: checking {what} of {sys.executable}", flush=True)
    start = time.perf_counter()
    checks = doctor(args.notebooks_dir, None if args.node_modules is None else Path(args.node_modules),
                    timeout=args.timeout, library=args.library)
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
