"""Numbered model versions on disk in TF Serving's layout, with manifests, promotion and rollback.

>>> import tempfile
>>> from course_lib.registry import ModelRegistry
>>> reg = ModelRegistry(tempfile.mkdtemp())
>>> reg.versions("fraud")
[]
>>> v = reg.publish(model, "fraud", EvalSet("fraud test", x_test, y_test))
>>> v.version, reg.versions("fraud")
(1, [1])

Any Keras model: a binary, multi-class or regression model, with inputs of any rank or
several named inputs (a dict). The manifest records the model's task and that task's
metrics; a :class:`PromotionPolicy` holds floors and ceilings on any of them
(``min_recall``, ``min_macro_f1``, ``max_rmse``...); compare and table show the task's own
columns.

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
        │   ├── course_manifest.json
        │   └── course_signature.sig  only in a signed registry (see signing)
        └── 2/ ...

**Why the manifest sits inside the version folder.** TF Serving loads a version from
``saved_model.pb``, ``variables/`` and ``assets/`` and ignores any other file, so
``course_manifest.json`` next to them costs nothing at serving time. Inside the folder,
the model and its manifest appear together in *one* ``rename``: there is never a
version without its manifest, nor a manifest without its version. (A sibling file such
as ``fraud/2.json`` would need a second, separate step.) ``aliases.json`` and the hidden
``.staging-*`` folders are not numbers, so TF Serving ignores them too.

**Crash safety.** :meth:`ModelRegistry.publish` writes the whole version into a hidden
temporary sibling (``fraud/.staging-PID@HOST-RANDOM``), hashes and fsyncs every file,
writes the manifest, then renames the folder to the next free number under the model's
lock. The rename is atomic: a process killed at any moment leaves either nothing or a
complete version, and at worst a hidden staging folder that nothing reads; the next write
(publish, alias change, delete) removes every leftover whose process no longer exists,
never one of a live process (:meth:`ModelRegistry.clean_staging` does it on demand). Two
publishers never share a number: renaming onto an existing, non-empty folder fails, and
the loser retries with the next number. Alias files are replaced the same way (write a
temporary file, fsync, ``os.replace``) under the lock, after checking again, under it,
that the version still exists and its manifest holds; ``delete`` takes the same lock.

**Integrity.** Every file of a version has its sha256 and size in the manifest, and the
manifest carries a checksum of itself. :meth:`ModelRegistry.verify` names any file that
differs; :meth:`~ModelRegistry.load`, :meth:`~ModelRegistry.promote`,
:meth:`~ModelRegistry.set_alias` and :meth:`~ModelRegistry.rollback` refuse such a version.
A folder whose number is not its manifest's version (copied, swapped) is invalid. The
checksums catch accidents (a flipped byte, a truncated or swapped file), not a writer who
recomputes them: only a signed registry (:mod:`~course_lib.registry.signing`) does.

**Crafted files and links.** Manifests and ``aliases.json`` are read bounded in size and
nesting and checked field by field (:mod:`~course_lib.registry.schema`); no symbolic link
inside the root is followed (a version folder, a manifest, ``aliases.json``, the lock);
a full or read-only disk is a :class:`~course_lib.errors.StorageError`.

**Names.** Model names, versions and aliases come from allow-lists (see
:func:`validate_name`, :func:`validate_version`, :func:`validate_alias`); no resolved
path leaves the registry root.

Errors (all :class:`~course_lib.errors.CourseLibError`, declared in :mod:`course_lib.errors`
and re-exported here)::

    RegistryError
    ├── InvalidNameError          a name, version or alias outside the allow-list
    ├── VersionNotFoundError      no such model, version or alias
    ├── InvalidVersionError       a numbered folder that is not a complete registry version
    └── RefusedError              the check ran and said no (the CLI exits with 1)
        ├── IntegrityError            a file differs from the manifest
        │   └── SignatureError        a signature that does not hold, or is missing with a key
        ├── IncomparableVersionsError versions evaluated on different data
        ├── PromotionRefusedError     the policy refused (``.result`` lists every failed rule)
        ├── AliasInUseError           deleting a version an alias points to
        └── RollbackRefusedError      nothing to roll back to, or the target fails verification
"""

from __future__ import annotations

# The package's modules, one concern each (a module imports only those above it):
#   names       file names of the layout; allow-lists of names, versions and aliases
#   storage     manifest bytes and checksum, locks, leftovers, crash points; the rest is _fs
#   evaluation  EvalSet, fingerprint, the model's output, each task's metrics in a manifest
#   schema      the shape of a manifest and of aliases.json (bounded reads, field types)
#   manifest    VersionInfo, VersionStatus, VersionTable
#   reports     VerifyReport (and check_files), VersionComparison
#   policy      PromotionPolicy, RuleResult, PromotionResult, AliasChange
#   serving     ServingPlan, TF Serving's model config, ModelRegistry's serving methods
#   publish     ModelRegistry's publishing methods (staging, hashing, manifest, rename)
#   aliases     ModelRegistry's alias, promotion and rollback methods
#   core        ModelRegistry
#   commands    the ``course-lib registry ...`` command line
# The teaching helpers (flip_byte, tree) come from course_lib.teaching, the costs from costs.
from course_lib.costs import CostRow, CostTable, break_even_miss_cost, deployment_costs
from course_lib.errors import (
    AliasInUseError,
    IncomparableVersionsError,
    IntegrityError,
    InvalidNameError,
    InvalidVersionError,
    PromotionRefusedError,
    RefusedError,
    RegistryError,
    RollbackRefusedError,
    SignatureError,
    VersionNotFoundError,
)
from course_lib.metrics import Metrics  # noqa: F401 (course_lib.registry.Metrics, as before)
from course_lib.registry.core import ModelRegistry
from course_lib.registry.evaluation import EvalSet, fingerprint
from course_lib.registry.manifest import VersionInfo, VersionStatus, VersionTable
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
from course_lib.registry.policy import AliasChange, PromotionPolicy, PromotionResult, RuleResult
from course_lib.registry.reports import FileProblem, VerifyReport, VersionComparison
from course_lib.registry.serving import ServingPlan
from course_lib.registry.signing import KeyPair, SignedVerifyReport, make_keys
from course_lib.teaching import flip_byte, tree

__all__ = [
    "MANIFEST_NAME",
    "AliasChange",
    "AliasInUseError",
    "CostRow",
    "CostTable",
    "EvalSet",
    "FileProblem",
    "IncomparableVersionsError",
    "IntegrityError",
    "InvalidNameError",
    "InvalidVersionError",
    "KeyPair",
    "ModelRegistry",
    "PromotionPolicy",
    "PromotionRefusedError",
    "PromotionResult",
    "RefusedError",
    "RegistryError",
    "RollbackRefusedError",
    "RuleResult",
    "ServingPlan",
    "SignatureError",
    "SignedVerifyReport",
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
    "make_keys",
    "tree",
    "validate_alias",
    "validate_name",
    "validate_version",
]
