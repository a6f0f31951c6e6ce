"""Numbered model versions on disk in TF Serving's layout, with manifests, gates and rollback.

>>> import tempfile
>>> from course_lib.registry import ModelRegistry
>>> reg = ModelRegistry(tempfile.mkdtemp())
>>> reg.versions("fraud")
[]
>>> v = reg.publish(model, "fraud", EvalSet("fraud test", x_test, y_test))  # doctest: +SKIP
>>> v.version, reg.versions("fraud")                                       # doctest: +SKIP
(1, [1])

Layout (what TF Serving's ``--model_base_path`` expects, one folder per model)::

    ROOT/
    ├── .course_registry           marker: this folder is a registry (made by ModelRegistry)
    ├── models.config              optional: TF Serving config pinning the production version
    └── fraud/                     one model name
        ├── aliases.json           {"aliases": {"production": 2, ...}, "history": {...}}
        ├── 1/                     version 1: a SavedModel directory
        │   ├── saved_model.pb
        │   ├── variables/ ...
        │   ├── fingerprint.pb
        │   ├── model.keras        only when published with keras_file=True
        │   └── course_manifest.json
        └── 2/ ...

**Why the manifest sits inside the version folder.** TF Serving loads a version from
``saved_model.pb``, ``variables/`` and ``assets/`` and ignores any other file, so
``course_manifest.json`` next to them costs nothing at serving time. Inside the folder,
the model and its manifest appear together in *one* ``rename``: there is never a
version without its manifest, nor a manifest without its version. (A sibling file such
as ``fraud/2.json`` would need a second, separate step.) ``aliases.json`` and the hidden
``.staging-*`` folders are not numbers, so TF Serving ignores them too.

**Crash safety.** :meth:`ModelRegistry.publish` writes the whole version into a hidden
temporary sibling (``fraud/.staging-PID-RANDOM``), hashes and fsyncs every file, writes
the manifest, then renames the folder to the next free number. The rename is atomic: a
process killed at any moment leaves either nothing or a complete version, and at worst a
hidden staging folder that nothing reads (:meth:`ModelRegistry.clean_staging` removes
it). Two publishers never share a number: renaming onto an existing, non-empty folder
fails, and the loser retries with the next number. Alias files are replaced the same way
(write a temporary file, fsync, ``os.replace``) under a lock.

**Integrity.** Every file of a version has its sha256 and size in the manifest, and the
manifest carries a checksum of itself. :meth:`ModelRegistry.verify` names any file that
differs; :meth:`~ModelRegistry.load`, :meth:`~ModelRegistry.promote`,
:meth:`~ModelRegistry.set_alias` and :meth:`~ModelRegistry.rollback` refuse such a version.

**Names.** Model names, versions and aliases come from allow-lists (see
:func:`validate_name`, :func:`validate_version`, :func:`validate_alias`); no resolved
path leaves the registry root.

Errors (all :class:`~course_lib.errors.CourseLibError`)::

    RegistryError
    ├── InvalidNameError          a name, version or alias outside the allow-list
    ├── VersionNotFoundError      no such model, version or alias
    ├── InvalidVersionError       a numbered folder that is not a complete registry version
    └── RefusedError              the check ran and said no (the CLI exits with 1)
        ├── IntegrityError            a file differs from the manifest
        ├── IncomparableVersionsError versions evaluated on different data
        ├── PromotionRefusedError     the gate refused (``.decision`` lists every failed rule)
        ├── AliasInUseError           deleting a version an alias points to
        └── RollbackRefusedError      nothing to roll back to, or the target fails verification
"""

from __future__ import annotations

# The package's modules, one concern each (a module imports only those above it):
#   errors      the RegistryError hierarchy
#   names       file names of the layout; allow-lists of names, versions and aliases
#   formatting  text and HTML table helpers
#   storage     fsync, atomic writes, hashing, manifest bytes, locks, crash points (test hook)
#   manifest    EvalSet, fingerprint, VersionInfo, VersionStatus, VersionTable
#   reports     VerifyReport, VersionComparison
#   gate        Gate, RuleResult, GateDecision, AliasChange
#   costs       CostRow, CostTable, deployment_costs, break_even_miss_cost
#   serving     ServingPlan, TF Serving's model config, ModelRegistry's serving methods
#   publish     ModelRegistry's publishing methods (staging, hashing, manifest, rename)
#   core        ModelRegistry
#   teaching    flip_byte, tree
from course_lib.costs import CostRow, CostTable, break_even_miss_cost, deployment_costs
from course_lib.metrics import Metrics  # noqa: F401 (course_lib.registry.Metrics, as before)
from course_lib.registry.core import ModelRegistry
from course_lib.registry.errors import (
    AliasInUseError,
    IncomparableVersionsError,
    IntegrityError,
    InvalidNameError,
    InvalidVersionError,
    PromotionRefusedError,
    RefusedError,
    RegistryError,
    RollbackRefusedError,
    VersionNotFoundError,
)
from course_lib.registry.formatting import _html_table, _kb, _ms, _text_table  # noqa: F401
from course_lib.registry.gate import AliasChange, Gate, GateDecision, RuleResult
from course_lib.registry.manifest import (
    EvalSet,
    VersionInfo,
    VersionStatus,
    VersionTable,
    fingerprint,
)
from course_lib.registry.names import (  # noqa: F401 (the other names: as before)
    ALIASES_NAME,
    CONFIG_NAME,
    MANIFEST_NAME,
    MARKER_NAME,
    SCHEMA,
    validate_alias,
    validate_name,
    validate_version,
)
from course_lib.registry.publish import _keras_scores, _latency  # noqa: F401 (benchmarks)
from course_lib.registry.reports import FileProblem, VerifyReport, VersionComparison
from course_lib.registry.serving import ServingPlan
from course_lib.registry.storage import _manifest_bytes  # noqa: F401 (benchmarks)
from course_lib.teaching import flip_byte, tree

__all__ = [
    "MANIFEST_NAME",
    "AliasChange",
    "AliasInUseError",
    "CostRow",
    "CostTable",
    "EvalSet",
    "FileProblem",
    "Gate",
    "GateDecision",
    "IncomparableVersionsError",
    "IntegrityError",
    "InvalidNameError",
    "InvalidVersionError",
    "ModelRegistry",
    "PromotionRefusedError",
    "RefusedError",
    "RegistryError",
    "RollbackRefusedError",
    "RuleResult",
    "ServingPlan",
    "VerifyReport",
    "VersionComparison",
    "VersionInfo",
    "VersionNotFoundError",
    "VersionStatus",
    "VersionTable",
    "break_even_miss_cost",
    "deployment_costs",
    "fingerprint",
    "flip_byte",
    "tree",
    "validate_alias",
    "validate_name",
    "validate_version",
]
