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

from collections.abc import Callable
from types import ModuleType

__all__ = [
    "Attempt",
    "CourseLibError",
    "DataIntegrityError",
    "InvalidInputError",
    "MissingDependencyError",
    "UnknownQuestionError",
    "attempt",
    "require",
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


class Attempt:
    """The outcome of a call that may fail with a :class:`CourseLibError`, shown without a traceback.

    >>> from course_lib.errors import attempt
    >>> a = attempt(int, "12")
    >>> a.ok, a.value
    (True, 12)
    >>> b = attempt(require, "no_such_module_xyz", "demo")
    >>> b.ok, type(b.error).__name__
    (False, 'MissingDependencyError')

    Lessons use it to show what a learner would see when something goes wrong
    (a corrupted file, an unregistered layer) as readable text.
    """

    def __init__(self, value: object = None, error: CourseLibError | None = None) -> None:
        self.value = value
        self.error = error

    @property
    def ok(self) -> bool:
        """True when the call returned normally."""
        return self.error is None

    @property
    def message(self) -> str:
        """``ErrorClass: message``, or an empty string when the call succeeded."""
        return "" if self.error is None else f"{type(self.error).__name__}: {self.error}"

    def __repr__(self) -> str:
        if self.ok:
            return f"succeeded: {self.value!r}"
        return f"{type(self.error).__name__}: {self.error}"

    def _repr_html_(self) -> str:
        import html

        if self.ok:
            return f"<p style='color:#1a7f37'><b>succeeded</b>: {html.escape(repr(self.value))}</p>"
        return (f"<p style='color:#b42318'><b>{type(self.error).__name__}</b>: "
                f"{html.escape(str(self.error))}</p>")


def attempt(func: Callable[..., object], /, *args: object, **kwargs: object) -> Attempt:
    """Call ``func(*args, **kwargs)``; a :class:`CourseLibError` is returned, not raised.

    Any other exception propagates: only errors the library explains are caught.

    >>> attempt(lambda: 1 / 1).ok
    True
    """
    if not callable(func):
        raise InvalidInputError(f"expected a function to call; found {type(func).__name__}.")
    try:
        return Attempt(value=func(*args, **kwargs))
    except CourseLibError as exc:
        return Attempt(error=exc)
