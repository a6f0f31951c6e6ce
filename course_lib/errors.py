"""Every error a learner can cause, in one place.

>>> from course_lib.errors import CourseLibError, UnknownQuestionError
>>> issubclass(UnknownQuestionError, CourseLibError)
True

Each message says three things: what was expected, what was found, and how to
fix it. Catch :class:`CourseLibError` to handle any of them.

Hierarchy::

    CourseLibError
    ├── InvalidInputError        arrays, counts or thresholds of the wrong shape, type or range
    ├── UnknownQuestionError     an exercise id that is not in the question bank
    ├── DataIntegrityError       a dataset snapshot missing or not matching its checksum
    └── MissingDependencyError   an optional extra (plots, widgets, tf) is not installed
"""

from __future__ import annotations

from types import ModuleType

__all__ = [
    "CourseLibError",
    "DataIntegrityError",
    "InvalidInputError",
    "MissingDependencyError",
    "UnknownQuestionError",
]


class CourseLibError(Exception):
    """Base class of every error raised on purpose by ``course_lib``."""


class InvalidInputError(CourseLibError, ValueError):
    """Input of the wrong shape, type or range (labels, scores, counts, thresholds)."""


class UnknownQuestionError(CourseLibError, KeyError):
    """An exercise id that is not in the question bank."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DataIntegrityError(CourseLibError):
    """A dataset snapshot that is missing or does not match its recorded checksum."""


class MissingDependencyError(CourseLibError, ImportError):
    """An optional dependency is not installed."""


def require(module: str, extra: str) -> ModuleType:
    """Import an optional dependency or say which extra installs it.

    >>> require("json", "core").__name__
    'json'
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"expected the optional package '{module}' to be installed; it is not "
            f"({exc}). Fix: pip install 'course-lib[{extra}]'"
        ) from exc
