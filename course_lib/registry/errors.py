"""The registry's errors: every one a :class:`~course_lib.errors.CourseLibError`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from course_lib.errors import CourseLibError, InvalidInputError

if TYPE_CHECKING:  # annotations only
    from course_lib.registry.gate import GateDecision
    from course_lib.registry.reports import VerifyReport


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

    def __init__(self, message: str, report: VerifyReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class IncomparableVersionsError(RefusedError):
    """Two versions evaluated on different data: their metrics cannot be compared."""


class PromotionRefusedError(RefusedError):
    """The promotion gate refused a version; ``.decision`` lists every rule and its result."""

    def __init__(self, message: str, decision: GateDecision) -> None:
        super().__init__(message)
        self.decision = decision


class AliasInUseError(RefusedError):
    """Deleting a version that an alias (production, candidate...) points to."""


class RollbackRefusedError(RefusedError):
    """No earlier version to roll back to, or that version fails verification."""


# Tracebacks and reprs name the errors where users import them from (as before the split):
# ``course_lib.registry.InvalidNameError``, not ``course_lib.registry.errors.InvalidNameError``.
for _error in (
    RegistryError,
    InvalidNameError,
    VersionNotFoundError,
    InvalidVersionError,
    RefusedError,
    IntegrityError,
    IncomparableVersionsError,
    PromotionRefusedError,
    AliasInUseError,
    RollbackRefusedError,
):
    _error.__module__ = "course_lib.registry"
del _error
