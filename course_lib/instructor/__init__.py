"""Instructor tools: ``course-lib validate`` (nbval on every lesson) and ``course-lib doctor``.

>>> from course_lib import instructor
>>> print(instructor.CheckResult("node", True, "v20.1.0 at /usr/bin/node"))
ok    node: v20.1.0 at /usr/bin/node
>>> instructor.validate_parser().parse_args(["00_x.ipynb"]).notebooks
['00_x.ipynb']

Two parts, one module each:

- :mod:`course_lib.instructor.validation`: re-run each notebook with nbval in a fresh
  ``pytest`` process and report cell by cell (:class:`NotebookResult`,
  :class:`CellResult`, :func:`validate_main`).
- :mod:`course_lib.instructor.environment`: the environment checks (:class:`CheckResult`
  values) and :func:`doctor_main`; ``course-lib doctor --library`` checks only what
  course_lib needs in a learner's own project (no JupyterLab, no notebooks).

Every name is re-exported here (``from course_lib.instructor import validate_main``).

Exit codes of both verbs: 0 all good; 1 something failed (a cell, a required check);
2 bad input (no notebooks where pointed, an unknown notebook name).
"""

from __future__ import annotations

from course_lib.errors import NotebookNotFoundError
from course_lib.instructor.environment import (
    DOCTOR_HELP,
    EXTRAS,
    MIN_NODE,
    SUPPORTED_PYTHON,
    TESTED_PYTHON,
    WIDGETS_EXTENSION,
    CheckResult,
    check_course_lib,
    check_import,
    check_jupyterlab,
    check_node,
    check_optional,
    check_python,
    check_tfjs,
    check_tfjs_wasm,
    check_widgets_extension,
    check_writable,
    doctor,
    doctor_main,
    doctor_parser,
    find_node_modules,
    installed_version,
    parse_labextensions,
)
from course_lib.instructor.validation import (
    DEFAULT_TIMEOUT,
    LESSON_GLOB,
    PACKAGED_SANITIZE,
    VALIDATE_HELP,
    CellResult,
    NotebookResult,
    default_notebooks_dir,
    failure_report,
    find_notebooks,
    junit_xml,
    nbval_command,
    parse_junit,
    results_table,
    sanitize_config,
    strip_ansi,
    validate,
    validate_main,
    validate_notebook,
    validate_parser,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "DOCTOR_HELP",
    "EXTRAS",
    "LESSON_GLOB",
    "MIN_NODE",
    "PACKAGED_SANITIZE",
    "SUPPORTED_PYTHON",
    "TESTED_PYTHON",
    "VALIDATE_HELP",
    "WIDGETS_EXTENSION",
    "CellResult",
    "CheckResult",
    "NotebookNotFoundError",
    "NotebookResult",
    "check_course_lib",
    "check_import",
    "check_jupyterlab",
    "check_node",
    "check_optional",
    "check_python",
    "check_tfjs",
    "check_tfjs_wasm",
    "check_widgets_extension",
    "check_writable",
    "default_notebooks_dir",
    "doctor",
    "doctor_main",
    "doctor_parser",
    "failure_report",
    "find_node_modules",
    "find_notebooks",
    "installed_version",
    "junit_xml",
    "nbval_command",
    "parse_junit",
    "parse_labextensions",
    "results_table",
    "sanitize_config",
    "strip_ansi",
    "validate",
    "validate_main",
    "validate_notebook",
    "validate_parser",
]
