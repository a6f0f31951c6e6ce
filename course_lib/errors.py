"""Every error a learner can cause, in one place.

>>> from course_lib.errors import CourseLibError, UnknownQuestionError
>>> issubclass(UnknownQuestionError, CourseLibError)
True

Each message says three things: what was expected, what was found, and how to
fix it. Catch :class:`CourseLibError` to handle any of them. Every error class of the
library is defined here, and only here.

Hierarchy::

    CourseLibError
    ├── InvalidInputError           arrays, counts, thresholds or names of the wrong shape, type or range
    │   └── FeatureMismatchError    input columns that do not match what the model was trained on
    ├── UnknownQuestionError        an exercise id that is not in the question bank
    ├── DataIntegrityError          a dataset snapshot missing or not matching its checksum
    ├── MissingDependencyError      an optional extra (plots, widgets, tf) is not installed
    ├── NotebookNotFoundError       no lessons where the instructor pointed
    ├── StorageError                the disk refused a write or read: full, read-only, no permission, too long a path
    ├── TargetNotMetError           no decision threshold meets the asked recall or precision
    ├── model files
    │   ├── ModelFileError          a path that does not hold a model in the expected format
    │   │   ├── ArchiveTooLargeError  an archive that would unpack to more than its bound
    │   │   └── TamperedModelError  files unlike their recorded sha256, or a path out of the folder
    │   ├── UnknownLayerError       a custom layer class not registered where the model is loaded
    │   └── UnsafeModelError        a Lambda layer (code) that safe mode refuses to run
    ├── TensorFlow.js
    │   ├── ConversionError         the converter could not make a TF.js graph model
    │   └── TfjsRuntimeError        Node or @tensorflow/tfjs missing, or the TF.js runtime failed
    └── RegistryError               the model registry
        ├── InvalidNameError        a model name, version or alias outside the allow-list
        ├── VersionNotFoundError    no such model, version or alias
        ├── InvalidVersionError     a numbered folder that is not a complete version
        └── RefusedError            the registry checked and said no (the CLI exits with 1)
            ├── IntegrityError              files that differ from their manifest
            │   └── SignatureError          a signature that does not hold, or is missing where a key is required
            ├── IncomparableVersionsError   versions evaluated on different data
            ├── PromotionRefusedError       the promotion policy refused the version
            ├── AliasInUseError             deleting a version an alias points to
            └── RollbackRefusedError        no earlier good version to roll back to
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = [
    "AliasInUseError",
    "ArchiveTooLargeError",
    "Attempt",
    "ConversionError",
    "CourseLibError",
    "DataIntegrityError",
    "FeatureMismatchError",
    "IncomparableVersionsError",
    "IntegrityError",
    "InvalidInputError",
    "InvalidNameError",
    "InvalidVersionError",
    "MissingDependencyError",
    "ModelFileError",
    "NotebookNotFoundError",
    "PromotionRefusedError",
    "RefusedError",
    "RegistryError",
    "RollbackRefusedError",
    "SignatureError",
    "StorageError",
    "TamperedModelError",
    "TargetNotMetError",
    "TfjsRuntimeError",
    "UnknownLayerError",
    "UnknownQuestionError",
    "UnsafeModelError",
    "VersionNotFoundError",
    "attempt",
    "require",
]


class CourseLibError(Exception):
    """Base class of every error raised on purpose by ``course_lib``."""


# -- bad input --------------------------------------------------------------------------------

class InvalidInputError(CourseLibError, ValueError):
    """Input of the wrong shape, type or range (labels, scores, counts, thresholds)."""


class FeatureMismatchError(InvalidInputError):
    """Input features that do not match what the model was trained on (columns, order, units)."""


class UnknownQuestionError(CourseLibError, KeyError):
    """An exercise id that is not in the question bank."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class TargetNotMetError(CourseLibError):
    """A threshold was asked of a threshold choice whose target no threshold meets."""


# -- the machine and its files ------------------------------------------------------------------

class DataIntegrityError(CourseLibError):
    """A dataset snapshot that is missing or does not match its recorded checksum."""


class MissingDependencyError(CourseLibError, ImportError):
    """An optional dependency is not installed."""


class NotebookNotFoundError(CourseLibError, FileNotFoundError):
    """No lessons where the instructor pointed, or a notebook name that is not there."""


class StorageError(CourseLibError, OSError):
    """The disk refused a write or read: full, read-only, no permission, too long a path."""


# -- model files ----------------------------------------------------------------------------------

class ModelFileError(CourseLibError):
    """A path that does not hold a model in the expected format (missing, wrong kind, corrupted)."""


class ArchiveTooLargeError(ModelFileError):
    """An archive (``.keras``, ``.h5``) that would unpack to more than its bound (``max_unpacked_bytes``)."""


class TamperedModelError(ModelFileError):
    """Model files unlike the sha256 recorded when written, or a path that leaves the model folder."""


class UnknownLayerError(CourseLibError):
    """The saved model uses a custom class that is not registered where it is loaded."""


class UnsafeModelError(CourseLibError):
    """The saved model contains code (a Lambda layer) that safe mode refuses to run."""


# -- TensorFlow.js ----------------------------------------------------------------------------------

class ConversionError(CourseLibError):
    """The converter could not turn the source into a TF.js graph model (bad source, op, path).

    Also raised by ``persistence.to_tflite`` when TF Lite cannot convert or run a model.
    """


class TfjsRuntimeError(CourseLibError):
    """Node or ``@tensorflow/tfjs`` is missing, or the TF.js runtime failed."""


# -- the model registry ---------------------------------------------------------------------------

class RegistryError(CourseLibError):
    """Base class of the registry's errors."""


class InvalidNameError(RegistryError, InvalidInputError):
    """A model name, version or alias outside the allow-list (it would become a path)."""


class VersionNotFoundError(RegistryError, LookupError):
    """No such model, version or alias in the registry."""


class InvalidVersionError(RegistryError):
    """A numbered folder that is not a complete version (no manifest or no saved_model.pb)."""


class RefusedError(RegistryError):
    """The registry checked and said no; the command line exits with 1 for these."""


class IntegrityError(RefusedError):
    """A version whose files differ from its manifest; ``.report`` names them."""

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


class SignatureError(IntegrityError):
    """A version or alias file whose signature does not hold, or is missing when a key is given."""


class IncomparableVersionsError(RefusedError):
    """Two versions evaluated on different data: their metrics cannot be compared."""


class PromotionRefusedError(RefusedError):
    """The promotion policy refused a version; ``.result`` lists every rule and its outcome."""

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message)
        self.result = result


class AliasInUseError(RefusedError):
    """Deleting a version that an alias (production, candidate...) points to."""


class RollbackRefusedError(RefusedError):
    """No earlier version to roll back to, or that version fails verification."""


# -- helpers ----------------------------------------------------------------------------------------

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
