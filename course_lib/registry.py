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

import contextlib
import errno
import hashlib
import html
import json
import math
import numbers
import os
import re
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from course_lib.errors import CourseLibError, InvalidInputError
from course_lib.metrics import METRIC_NAMES, MetricDelta, Metrics, _as_labels

if TYPE_CHECKING:  # annotations only
    from matplotlib.figure import Figure

    from course_lib.persistence import LoadedModel

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

#: The manifest's file name inside each version folder.
MANIFEST_NAME = "course_manifest.json"
ALIASES_NAME = "aliases.json"
MARKER_NAME = ".course_registry"
CONFIG_NAME = "models.config"
SCHEMA = "course-lib-registry/1"
_SAVED_MODEL = "saved_model.pb"
_KERAS_FILE = "model.keras"
_CRASH_ENV = "COURSE_LIB_REGISTRY_CRASH_AT"

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_VERSION_RE = re.compile(r"[1-9][0-9]{0,17}")
_ALIAS_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_TOMBSTONE_RE = re.compile(r"\.deleted-([1-9][0-9]{0,17})")
_GREEN, _RED, _GREY = "#1a7f37", "#b42318", "#57606a"
_CELL = 'style="padding:2px 10px;text-align:right"'
_LEFT = 'style="padding:2px 10px;text-align:left"'


# -- errors ------------------------------------------------------------------------------


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


# -- allow-lists ------------------------------------------------------------------------


def validate_name(name: object) -> str:
    """A model name from the allow-list: 1 to 64 letters, digits, ``_`` or ``-`` (not first).

    >>> validate_name("fraud")
    'fraud'
    >>> validate_name("../x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    course_lib.registry.InvalidNameError: expected a model name ... found '../x'. ...
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidNameError(
            "expected a model name of 1 to 64 letters, digits, '_' or '-' starting with a letter "
            f"or digit (e.g. 'fraud'); found {name!r}. A name becomes a folder under the registry "
            "root, so '/', '..', absolute paths and empty names are refused. Fix: use a plain "
            "name such as 'fraud' or 'fraud-detector'."
        )
    return name


def validate_version(version: object) -> int:
    """A version number from the allow-list: a whole number of 1 or more, written plainly.

    Integers and strings of digits without a leading zero, sign or exponent are accepted.

    >>> validate_version(3), validate_version("12")
    (3, 12)
    >>> validate_version("01")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    course_lib.registry.InvalidNameError: expected a version number: ... found '01'. ...
    """
    if isinstance(version, (int, np.integer)) and not isinstance(version, bool):
        if 1 <= int(version) < 10**18:
            return int(version)
    elif isinstance(version, str) and _VERSION_RE.fullmatch(version):
        return int(version)
    raise InvalidNameError(
        "expected a version number: a whole number of 1 or more written with digits only, no "
        f"leading zero, sign or exponent (e.g. 3); found {version!r}. Fix: pass e.g. 3 or \"3\"."
    )


def validate_alias(alias: object) -> str:
    """An alias name from the allow-list: lowercase, starting with a letter (so never a number).

    ``latest`` is reserved: it always means the highest version.

    >>> validate_alias("production")
    'production'
    """
    if not isinstance(alias, str) or not _ALIAS_RE.fullmatch(alias) or alias == "latest":
        raise InvalidNameError(
            "expected an alias of 1 to 32 lowercase letters, digits, '_' or '-' starting with a "
            f"letter, other than the reserved 'latest' (e.g. 'production', 'candidate'); found "
            f"{alias!r}. Fix: pick a word such as 'production'."
        )
    return alias


# -- small helpers -------------------------------------------------------------------------


def _kb(n: float) -> str:
    return f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.2f} MB"


def _ms(x: float | None) -> str:
    return "not measured" if x is None else f"{x:.2f} ms"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned, text left-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [
        all(_looks_numeric(r[i]) for r in cells[1:]) and len(cells) > 1 for i in range(len(headers))
    ]
    out = []
    for r in cells:
        out.append(
            "  ".join(
                c.rjust(w) if num else c.ljust(w) for c, w, num in zip(r, widths, numeric)
            ).rstrip()
        )
    return "\n".join(out)


def _looks_numeric(text: str) -> bool:
    return bool(re.fullmatch(r"[+-]?[\d,.]+( ?(KB|MB|ms|bytes|x))?|-|not measured", text))


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th {_CELL}>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td {_CELL}>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table style="border-collapse:collapse"><tr>{head}</tr>{body}</table>'


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _crash_point(point: str) -> None:
    """Test hook: the process kills itself (SIGKILL) here when the environment names this point.

    ``COURSE_LIB_REGISTRY_CRASH_AT=renamed`` makes a publish die right after its rename.
    The reliability tests use it to check every point; it costs one dict lookup otherwise.
    """
    if os.environ.get(_CRASH_ENV) == point:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
        time.sleep(10)  # pragma: no cover (the signal arrives first)


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # pragma: no cover (Windows cannot open directories)
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _hash_file(path: Path, sync: bool = False) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        if sync:
            os.fsync(f.fileno())
    return digest.hexdigest(), size


def _walk(folder: Path) -> tuple[list[str], list[str], list[str]]:
    """Relative posix paths of the files, directories and symlinks under ``folder`` (sorted)."""
    files, dirs, links = [], [], []
    for here, subdirs, names in os.walk(folder, followlinks=False):
        base = Path(here)
        for d in list(subdirs):
            rel = (base / d).relative_to(folder).as_posix()
            if (base / d).is_symlink():
                links.append(rel)
                subdirs.remove(d)
            else:
                dirs.append(rel)
        for n in names:
            p = base / n
            rel = p.relative_to(folder).as_posix()
            (links if p.is_symlink() else files).append(rel)
    return sorted(files), sorted(dirs), sorted(links)


def _atomic_write(path: Path, data: bytes, crash_point: str | None = None) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new content, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if crash_point:
            _crash_point(crash_point)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _canonical(obj: Mapping[str, Any]) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _manifest_bytes(body: Mapping[str, Any]) -> bytes:
    """The manifest as written: canonical JSON with a sha256 of itself (without that field)."""
    content = {k: v for k, v in body.items() if k != "manifest_sha256"}
    return _canonical(
        {**content, "manifest_sha256": hashlib.sha256(_canonical(content)).hexdigest()}
    )


def _checksum_ok(data: Mapping[str, Any]) -> bool:
    """True when a parsed manifest's content still matches its stored sha256 (values, not spacing)."""
    content = {k: v for k, v in data.items() if k != "manifest_sha256"}
    return data.get("manifest_sha256") == hashlib.sha256(_canonical(content)).hexdigest()


def _library_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for dist in ("tensorflow", "keras", "numpy", "course-lib"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on one model's folder (aliases, deletes); released even on a crash."""
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover (Windows: no advisory locks; single writer assumed)
            fcntl = None  # type: ignore[assignment]
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# -- evaluation sets -----------------------------------------------------------------------


def fingerprint(x: object, y: object) -> str:
    """A sha256 of an evaluation set's features and labels (as float32 and int64, with shapes).

    Two versions are only compared when their evaluation sets have the same fingerprint.

    >>> a = fingerprint([[1.0, 2.0]], [1])
    >>> same = fingerprint(np.array([[1, 2]], dtype="float64"), [1])
    >>> a == same, a == fingerprint([[1.0, 2.5]], [1])
    (True, False)
    """
    xs = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    ys = np.ascontiguousarray(np.asarray(y).reshape(-1).astype(np.int64))
    digest = hashlib.sha256(f"{SCHEMA} x{xs.shape} y{ys.shape}\n".encode())
    digest.update(xs.tobytes())
    digest.update(ys.tobytes())
    return digest.hexdigest()


class EvalSet:
    """A named evaluation set (features and 0/1 labels) with a fingerprint of its content.

    >>> s = EvalSet("toy", [[0.0, 1.0], [1.0, 0.0]], [0, 1])
    >>> s
    EvalSet('toy', rows=2, positives=1, fingerprint='05aa6d16f701')

    The fingerprint travels into every manifest: versions evaluated on different rows
    are refused by :meth:`ModelRegistry.compare` and by the gate's drop rule.
    """

    def __init__(self, name: str, x: object, y: object) -> None:
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InvalidInputError(
                f"expected the evaluation set's name to be a short non-empty text; found {name!r}. "
                'Fix: name it after its rows, e.g. EvalSet("fraud test", fraud.test.x, '
                'fraud.test.y).'
            )
        try:
            xs = np.asarray(x, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"expected x to be a 2-D array of numbers; could not read it ({exc})."
            ) from exc
        if xs.ndim != 2 or xs.shape[0] == 0:
            raise InvalidInputError(
                f"expected x as a 2-D array (rows x features) with at least one row; found shape "
                f"{xs.shape}. Fix: pass e.g. fraud.test.x."
            )
        if not np.isfinite(xs).all():
            raise InvalidInputError(
                "expected finite features in x; found NaN or infinity. "
                "Fix: fill or drop missing values first."
            )
        labels = _as_labels(y)  # metrics' own checks and messages for 0/1 labels
        if len(labels) != xs.shape[0]:
            raise InvalidInputError(
                f"expected one label per row: x has {xs.shape[0]} rows but y has {len(labels)} "
                "labels. "
                "Fix: take x and y from the same split, e.g. fraud.test.x and fraud.test.y."
            )
        self.name = name
        self.x = xs
        self.y = labels
        self.fingerprint = fingerprint(xs, labels)

    @property
    def rows(self) -> int:
        """Number of rows."""
        return int(self.x.shape[0])

    @property
    def positives(self) -> int:
        """Number of rows labelled 1."""
        return int(self.y.sum())

    def __repr__(self) -> str:
        return (
            f"EvalSet({self.name!r}, rows={self.rows}, positives={self.positives}, "
            f"fingerprint={self.fingerprint[:12]!r})"
        )


# -- what a version holds -------------------------------------------------------------------


@dataclass(frozen=True)
class VersionInfo:
    """One published version as its manifest describes it (plus its current aliases).

    Metrics are those of the named evaluation set (``eval_name``, ``eval_fingerprint``)
    at ``threshold``; ``size_bytes`` is the SavedModel's size (without the manifest and
    the optional ``.keras`` file); ``latency_ms`` the median time of one call on one row.
    """

    name: str
    version: int
    path: Path
    created: str
    eval_name: str
    eval_fingerprint: str
    eval_rows: int
    threshold: float
    metrics: Metrics
    size_bytes: int
    latency_ms: float | None
    files: Mapping[str, Mapping[str, Any]]
    libraries: Mapping[str, str]
    notes: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    keras_file: str | None = None
    latency: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``"version N"``."""
        return f"version {self.version}"

    def _summary_lines(self) -> list[str]:
        m = self.metrics
        tags = ", ".join(f"{k}={v}" for k, v in self.tags.items())
        lines = [
            f"{self.name} version {self.version}"
            + (f" ({', '.join(self.aliases)})" if self.aliases else ""),
            (
                f"  evaluated on {self.eval_name!r}: {self.eval_rows:,} rows, fingerprint "
                f"{self.eval_fingerprint[:12]}, threshold {self.threshold:.2f}"
            ),
            "  "
            + "  ".join(f"{k} {m.get(k):.3f}" for k in METRIC_NAMES)
            + f"  (TP {m.tp}, FP {m.fp}, FN {m.fn}, TN {m.tn})",
            (
                f"  size {_kb(self.size_bytes)} (SavedModel, "
                f"{_plural(len(self.model_files), 'file')}), "
                f"latency {_ms(self.latency_ms)} per call on 1 row"
            ),
        ]
        if self.notes:
            lines.append(f"  notes: {self.notes}")
        if tags:
            lines.append(f"  tags: {tags}")
        return lines

    @property
    def model_files(self) -> tuple[str, ...]:
        """The SavedModel's files (the manifest's file list without the optional .keras file)."""
        return tuple(f for f in self.files if f != _KERAS_FILE)

    def __str__(self) -> str:
        return "\n".join(self._summary_lines())

    def __repr__(self) -> str:
        return f"VersionInfo({self.name!r}, version={self.version})"

    def _repr_html_(self) -> str:
        lines = self._summary_lines()
        return (
            f"<p><b>{html.escape(lines[0])}</b></p><ul>"
            + "".join(f"<li>{html.escape(x.strip())}</li>" for x in lines[1:])
            + "</ul>"
        )

    def details(self) -> str:
        """Everything in the manifest (for ``course-lib registry show``): time, libraries, files."""
        lines = self._summary_lines()
        lines.insert(1, f"  created {self.created}, at {self.path}")
        lines.append("  written by " + ", ".join(f"{k} {v}" for k, v in self.libraries.items()))
        if self.latency:
            lines.append("  latency: " + ", ".join(f"{k} {v}" for k, v in self.latency.items()))
        lines.append("  files:")
        lines += ["    " + line for line in self.describe_files().splitlines()]
        return "\n".join(lines)

    def describe_files(self, exact: bool = True) -> str:
        """The manifest's files with their size and the start of their sha256.

        ``exact=False`` rounds sizes to 0.1 KB and leaves the digests out: TensorFlow's
        export is not byte-for-byte reproducible (the same weights give other bytes on
        another run), so a lesson that is re-run shows what stays the same.

        >>> v = VersionInfo("fraud", 1, Path("r/fraud/1"), "", "t", "ab", 2, 0.5,
        ...                 Metrics.from_counts(tp=1, fp=0, fn=0, tn=1), 3, None,
        ...                 {"saved_model.pb": {"sha256": "0123456789abcdef" * 4, "size": 3}}, {})
        >>> print(v.describe_files())
        file            size  sha256
        saved_model.pb     3  0123456789abcdef...
        """
        if not exact:
            rows = [[rel, _kb(rec["size"])] for rel, rec in self.files.items()]
            return _text_table(("file", "size"), rows) + (
                f"\n(the manifest holds each file's exact size in bytes and its sha256: "
                f"course-lib registry show ROOT {self.name} {self.version})"
            )
        rows = [
            [rel, f"{rec['size']:,}", rec["sha256"][:16] + "..."] for rel, rec in self.files.items()
        ]
        return _text_table(("file", "size", "sha256"), rows)


def _info_from_manifest(
    data: Mapping[str, Any], path: Path, aliases: tuple[str, ...]
) -> VersionInfo:
    ev, m = data["evaluation"], data["evaluation"]["metrics"]
    metrics = Metrics.from_counts(tp=m["tp"], fp=m["fp"], fn=m["fn"], tn=m["tn"])
    metrics = replace(metrics, threshold=float(ev["threshold"]))
    latency = data.get("latency") or {}
    return VersionInfo(
        name=data["name"],
        version=int(data["version"]),
        path=path,
        created=data["created"],
        eval_name=ev["name"],
        eval_fingerprint=ev["fingerprint"],
        eval_rows=int(ev["rows"]),
        threshold=float(ev["threshold"]),
        metrics=metrics,
        size_bytes=int(data["size_bytes"]),
        latency_ms=latency.get("median_ms"),
        files=data["files"],
        libraries=data["libraries"],
        notes=data.get("notes", ""),
        tags=data.get("tags", {}),
        keras_file=data.get("keras_file"),
        latency=latency,
        aliases=aliases,
    )


@dataclass(frozen=True)
class VersionStatus:
    """A numbered folder and whether it is a complete registry version (cheap check, no hashing)."""

    version: int
    valid: bool
    reason: str = ""


@dataclass(frozen=True)
class VersionTable:
    """The versions of one model side by side (what ``course-lib registry list`` prints)."""

    name: str
    rows: tuple[VersionInfo, ...]
    invalid: tuple[VersionStatus, ...] = ()

    _HEAD = (
        "version",
        "aliases",
        "evaluated on",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "size",
        "latency",
        "notes",
    )

    def _cells(self, v: VersionInfo) -> list[str]:
        m = v.metrics
        return [
            str(v.version),
            ", ".join(v.aliases) or "-",
            v.eval_name,
            f"{m.accuracy:.3f}",
            f"{m.precision:.3f}",
            f"{m.recall:.3f}",
            f"{m.f1:.3f}",
            _kb(v.size_bytes),
            _ms(v.latency_ms),
            v.notes or "-",
        ]

    def __str__(self) -> str:
        if not self.rows and not self.invalid:
            return f"{self.name}: no versions yet"
        text = _text_table(self._HEAD, [self._cells(v) for v in self.rows])
        text += "".join(f"\n{s.version}  INVALID: {s.reason}" for s in self.invalid)
        return text

    def __repr__(self) -> str:
        return f"VersionTable({self.name!r}, versions={[v.version for v in self.rows]})"

    def _repr_html_(self) -> str:
        rows = [[html.escape(c) for c in self._cells(v)] for v in self.rows]
        rows += [
            [str(s.version), f"<b style='color:{_RED}'>INVALID</b>", html.escape(s.reason)]
            + [""] * (len(self._HEAD) - 3)
            for s in self.invalid
        ]
        return f"<p><b>{html.escape(self.name)}</b></p>" + _html_table(self._HEAD, rows)


# -- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class FileProblem:
    """One file of a version that does not match the manifest."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True)
class VerifyReport:
    """The result of :meth:`ModelRegistry.verify`: ok, or the files that differ.

    >>> VerifyReport("fraud", 2, Path("reg/fraud/2"), 5, ()).ok
    True
    """

    name: str
    version: int
    path: Path
    files_checked: int
    problems: tuple[FileProblem, ...]

    @property
    def ok(self) -> bool:
        """True when every file matches its sha256 and size and nothing is missing or extra."""
        return not self.problems

    @property
    def verdict(self) -> str:
        """One line: OK, or FAILED with the files named."""
        if self.ok:
            return (
                f"{self.name} version {self.version}: OK ({_plural(self.files_checked, 'file')} "
                "match the sha256 and size in the manifest)"
            )
        return f"{self.name} version {self.version}: FAILED: " + "; ".join(
            str(p) for p in self.problems
        )

    def __str__(self) -> str:
        return self.verdict

    def __repr__(self) -> str:
        return self.verdict

    def _repr_html_(self) -> str:
        color = _GREEN if self.ok else _RED
        return f'<p style="color:{color}"><b>{html.escape(self.verdict)}</b></p>'

    def raise_if_failed(self, doing: str) -> VerifyReport:
        """Raise :class:`IntegrityError` (naming the files) unless the version verified."""
        if not self.ok:
            raise IntegrityError(
                f"expected {self.name} version {self.version} to match its manifest before "
                f"{doing}; "
                f"it does not: {'; '.join(str(p) for p in self.problems)}. A file changed after "
                "publishing (disk error, manual edit, tampering). Fix: restore the version from a "
                "trusted copy, or publish the model again as a new version.",
                report=self,
            )
        return self


# -- comparing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionComparison:
    """Two versions of one model on the same evaluation set: metrics, deltas, size, latency.

    The verdict follows the seed's rule: a good new version is improved or stable
    (within ``tolerance``) on every metric; much larger size without gains is flagged.
    """

    a: VersionInfo
    b: VersionInfo
    rows: tuple[MetricDelta, ...]
    tolerance: float
    same_data: bool

    @property
    def regressions(self) -> tuple[MetricDelta, ...]:
        """The metrics that dropped by more than the tolerance from a to b."""
        return tuple(r for r in self.rows if r.delta < -r.tolerance - 1e-12)

    @property
    def size_ratio(self) -> float:
        """b's size divided by a's."""
        return self.b.size_bytes / self.a.size_bytes if self.a.size_bytes else math.inf

    @property
    def verdict(self) -> str:
        """GOOD (improved or stable on every metric) or BAD (which metrics dropped), plus size."""
        a, b = self.a.label, self.b.label
        if not self.same_data:
            return (
                f"NOT COMPARABLE: {a} was evaluated on {self.a.eval_name!r}, {b} on "
                f"{self.b.eval_name!r}; their metrics come from different rows"
            )
        size = ""
        if self.size_ratio >= 1.5:
            size = f"; and {b} is {self.size_ratio:.1f}x the size of {a}"
        if self.regressions:
            dropped = ", ".join(f"{r.name} {r.delta:+.3f}" for r in self.regressions)
            return f"BAD: {b} is worse than {a} on {dropped} (more than {self.tolerance:g}){size}"
        return (
            f"GOOD: {b} is improved or stable on every metric compared with {a} "
            f"(no drop over {self.tolerance:g}){size}"
        )

    def _table_rows(self) -> list[list[str]]:
        ma, mb = self.a.metrics, self.b.metrics
        rows = [[r.name, f"{r.before:.3f}", f"{r.after:.3f}", f"{r.delta:+.3f}"] for r in self.rows]
        rows += [
            [
                k.upper(),
                f"{getattr(ma, k):,}",
                f"{getattr(mb, k):,}",
                f"{getattr(mb, k) - getattr(ma, k):+,d}",
            ]
            for k in ("tp", "fp", "fn", "tn")
        ]
        rows.append(
            ["size", _kb(self.a.size_bytes), _kb(self.b.size_bytes), f"{self.size_ratio:.2f}x"]
        )
        la, lb = self.a.latency_ms, self.b.latency_ms
        rows.append(
            [
                "latency (1 row)",
                _ms(la),
                _ms(lb),
                "-" if la is None or lb is None else f"{lb - la:+.2f} ms",
            ]
        )
        return rows

    def _data_line(self) -> str:
        if self.same_data:
            return (
                f"both evaluated on {self.a.eval_name!r} ({self.a.eval_rows:,} rows, fingerprint "
                f"{self.a.eval_fingerprint[:12]})"
            )
        return (
            f"DIFFERENT DATA: {self.a.label} on {self.a.eval_name!r} "
            f"({self.a.eval_fingerprint[:12]}), "
            f"{self.b.label} on {self.b.eval_name!r} ({self.b.eval_fingerprint[:12]})"
        )

    def __str__(self) -> str:
        head = ("", self.a.label, self.b.label, "change")
        return "\n".join(
            [
                f"{self.a.name}: {self._data_line()}",
                _text_table(head, self._table_rows()),
                self.verdict,
            ]
        )

    def __repr__(self) -> str:
        a, b = self.a, self.b
        return f"VersionComparison({a.name!r}, {a.version}, {b.version}): {self.verdict}"

    def _repr_html_(self) -> str:
        head = ("", self.a.label, self.b.label, "change")
        color = _GREEN if self.verdict.startswith("GOOD") else _RED
        return (
            f"<p>{html.escape(self._data_line())}</p>"
            + _html_table(head, [[html.escape(c) for c in r] for r in self._table_rows()])
            + f'<p style="color:{color};font-weight:bold">{html.escape(self.verdict)}</p>'
        )

    def plot(self) -> Figure:
        """The two confusion matrices side by side, sizes and latencies in the titles."""
        from course_lib.plots import plot_confusion_matrices

        named = {
            f"{v.label}: {_kb(v.size_bytes)}, {_ms(v.latency_ms)}": v.metrics
            for v in (self.a, self.b)
        }
        return plot_confusion_matrices(named, suptitle=f"{self.a.name}: {self._data_line()}")


# -- the promotion gate ----------------------------------------------------------------------


def _fraction(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise InvalidInputError(
            f"expected {name} to be a number from 0 to 1 (0.8 = 80%); found {value!r}."
        )
    return float(value)


def _positive(name: str, value: object, unit: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0 < value < math.inf):
        raise InvalidInputError(
            f"expected {name} to be a positive number of {unit}; found {value!r}."
        )
    return float(value)


@dataclass(frozen=True)
class RuleResult:
    """One rule of a :class:`Gate` applied to a version."""

    rule: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.rule}: {self.detail}"

    def __repr__(self) -> str:
        return str(self)


@dataclass(frozen=True)
class GateDecision:
    """Every rule of a gate applied to a candidate, and whether the alias moved."""

    name: str
    version: int
    alias: str
    previous: int | None
    results: tuple[RuleResult, ...]
    applied: bool = False

    @property
    def ok(self) -> bool:
        """True when every rule passed."""
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> tuple[RuleResult, ...]:
        """The rules that failed (all of them, not just the first)."""
        return tuple(r for r in self.results if not r.ok)

    @property
    def verdict(self) -> str:
        """One line: PROMOTED / would pass / REFUSED with the count of failed rules."""
        was = (
            f"{self.alias} was version {self.previous}"
            if self.previous
            else f"no {self.alias} version before"
        )
        head = f"{self.name} version {self.version} -> {self.alias}"
        if not self.ok:
            return (
                f"{head}: REFUSED ({len(self.failures)} of {len(self.results)} rules failed; {was})"
            )
        if self.applied:
            return f"{head}: PROMOTED ({_plural(len(self.results), 'rule')} passed; {was})"
        return f"{head}: passes the gate ({_plural(len(self.results), 'rule')} passed; {was})"

    def __str__(self) -> str:
        return "\n".join([self.verdict] + [f"  {r}" for r in self.results])

    def __repr__(self) -> str:
        return self.verdict

    def _repr_html_(self) -> str:
        color = _RED if not self.ok else _GREEN
        rows = [
            [
                f"<b style='color:{_GREEN if r.ok else _RED}'>{'ok' if r.ok else 'FAIL'}</b>",
                html.escape(r.rule),
                html.escape(r.detail),
            ]
            for r in self.results
        ]
        body = "".join(
            "<tr>" + "".join(f"<td {_LEFT}>{c}</td>" for c in row) + "</tr>" for row in rows
        )
        return (
            f'<p style="color:{color}"><b>{html.escape(self.verdict)}</b></p>'
            f'<table style="border-collapse:collapse">{body}</table>'
        )


@dataclass(frozen=True)
class Gate:
    """Rules a version must pass to be promoted: minimum metrics, largest drop, size, latency.

    >>> gate = Gate(min_recall=0.8, max_drop=0.01, max_size_bytes=100_000, max_latency_ms=50)
    >>> print(gate)
    recall >= 0.80; no metric more than 0.01 below production; size <= 97.7 KB; latency <= 50 ms

    ``max_drop`` is the largest allowed drop of any metric (accuracy, precision,
    recall, F1) against the version the alias points to now, as a fraction (0.01 =
    one point), or a dict per metric. It also requires both versions to have been
    evaluated on the same data. Every rule is checked; a refusal lists every one
    that failed. The registry adds one more rule itself: the files must verify.
    """

    min_recall: float | None = None
    min_precision: float | None = None
    min_accuracy: float | None = None
    max_drop: float | Mapping[str, float] | None = None
    max_size_bytes: int | None = None
    max_latency_ms: float | None = None

    def __post_init__(self) -> None:
        for k in ("min_recall", "min_precision", "min_accuracy"):
            _fraction(k, getattr(self, k))
        if isinstance(self.max_drop, Mapping):
            for k, v in self.max_drop.items():
                if k not in METRIC_NAMES:
                    raise InvalidInputError(
                        f"expected max_drop keys among {list(METRIC_NAMES)}; found {k!r}."
                    )
                _fraction(f"max_drop[{k!r}]", v)
        else:
            _fraction("max_drop", self.max_drop)
        _positive("max_size_bytes", self.max_size_bytes, "bytes")
        _positive("max_latency_ms", self.max_latency_ms, "milliseconds")

    def _drops(self) -> dict[str, float]:
        if self.max_drop is None:
            return {}
        if isinstance(self.max_drop, Mapping):
            return {k: float(v) for k, v in self.max_drop.items()}
        return {k: float(self.max_drop) for k in METRIC_NAMES}

    def _minimums(self) -> list[tuple[str, float]]:
        return [
            (k, getattr(self, f"min_{k}"))
            for k in ("recall", "precision", "accuracy")
            if getattr(self, f"min_{k}") is not None
        ]

    def __str__(self) -> str:
        parts = [f"{k} >= {v:.2f}" for k, v in self._minimums()]
        drops = self._drops()
        if drops and len(set(drops.values())) == 1 and len(drops) == len(METRIC_NAMES):
            parts.append(f"no metric more than {next(iter(drops.values())):g} below production")
        elif drops:
            parts.append(
                "no drop below production beyond "
                + ", ".join(f"{k} {v:g}" for k, v in drops.items())
            )
        if self.max_size_bytes is not None:
            parts.append(f"size <= {_kb(self.max_size_bytes)}")
        if self.max_latency_ms is not None:
            parts.append(f"latency <= {self.max_latency_ms:g} ms")
        return "; ".join(parts) or "no rules (only the integrity check)"

    def check(self, candidate: VersionInfo, current: VersionInfo | None) -> tuple[RuleResult, ...]:
        """Apply every rule to ``candidate`` against ``current`` (the alias's version now, or None).

        >>> m = Metrics.from_counts(tp=80, fp=20, fn=15, tn=85)
        >>> v = VersionInfo("fraud", 1, Path("r/fraud/1"), "", "test", "ab", 200, 0.5, m, 50_000,
        ...                 0.4, {}, {})
        >>> [r.ok for r in Gate(min_recall=0.9, max_size_bytes=60_000).check(v, None)]
        [False, True]
        """
        out = []
        for k, minimum in self._minimums():
            value = candidate.metrics.get(k)
            out.append(
                RuleResult(
                    f"{k} >= {minimum:.2f}",
                    value >= minimum - 1e-12,
                    f"{k} {value:.3f}" + ("" if value >= minimum - 1e-12 else f" < {minimum:.2f}"),
                )
            )
        drops = self._drops()
        if drops:
            rule = "no metric drops too far below the current version"
            if current is None:
                out.append(
                    RuleResult(rule, True, "no current version to compare with (first promotion)")
                )
            elif current.eval_fingerprint != candidate.eval_fingerprint:
                out.append(
                    RuleResult(
                        rule,
                        False,
                        (
                            f"cannot compare: version {current.version} was evaluated on "
                            f"{current.eval_name!r} "
                            f"({current.eval_fingerprint[:12]}), version {candidate.version} on "
                            f"{candidate.eval_name!r} ({candidate.eval_fingerprint[:12]}); "
                            "evaluate both on the same set"
                        ),
                    )
                )
            else:
                moved = {k: candidate.metrics.get(k) - current.metrics.get(k) for k in drops}
                bad = [k for k in drops if moved[k] < -drops[k] - 1e-12]
                detail = ", ".join(
                    f"{k} {moved[k]:+.3f}" + (f" (allowed -{drops[k]:g})" if k in bad else "")
                    for k in drops
                )
                out.append(RuleResult(f"{rule} (version {current.version})", not bad, detail))
        if self.max_size_bytes is not None:
            ok = candidate.size_bytes <= self.max_size_bytes
            out.append(
                RuleResult(
                    f"size <= {_kb(self.max_size_bytes)}",
                    ok,
                    f"size {_kb(candidate.size_bytes)}" + ("" if ok else " is larger"),
                )
            )
        if self.max_latency_ms is not None:
            lat = candidate.latency_ms
            ok = lat is not None and lat <= self.max_latency_ms
            detail = (
                "no latency recorded: publish with a measured latency"
                if lat is None
                else f"latency {_ms(lat)}" + ("" if ok else " is slower")
            )
            out.append(RuleResult(f"latency <= {self.max_latency_ms:g} ms", ok, detail))
        return tuple(out)


@dataclass(frozen=True)
class AliasChange:
    """An alias moved from one version to another (what :meth:`ModelRegistry.rollback` returns)."""

    name: str
    alias: str
    old: int | None
    new: int | None

    def __str__(self) -> str:
        old = f"version {self.old}" if self.old else "nothing"
        new = f"version {self.new}" if self.new else "nothing"
        return f"{self.name}: {self.alias} moved from {old} to {new}"

    def __repr__(self) -> str:
        return str(self)


# -- costs: which version to deploy ---------------------------------------------------------


def _cost(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not (0 <= value < math.inf)
    ):
        raise InvalidInputError(
            f"expected {name} to be a cost of 0 or more; found {value!r}. "
            f"Fix: pass e.g. {name}=100."
        )
    return float(value)


@dataclass(frozen=True)
class CostRow:
    """The cost of one version's mistakes: missed frauds (FN) and false alarms (FP)."""

    label: str
    metrics: Metrics
    total: float

    @property
    def per_1000(self) -> float:
        """Cost per 1,000 transactions."""
        return 1000 * self.total / self.metrics.total


@dataclass(frozen=True)
class CostTable:
    """Mistake costs of several versions on the same rows, and the cheapest one.

    >>> t = deployment_costs({"v1": Metrics.from_counts(tp=80, fp=20, fn=15, tn=85),
    ...                       "v2": Metrics.from_counts(tp=85, fp=15, fn=10, tn=90)},
    ...                      miss_cost=100, false_alarm_cost=5)
    >>> t.best, [r.total for r in t.rows]
    (('v2',), [1600.0, 1075.0])
    """

    rows: tuple[CostRow, ...]
    miss_cost: float
    false_alarm_cost: float

    @property
    def best(self) -> tuple[str, ...]:
        """The label(s) of the cheapest version (several on a tie)."""
        low = min(r.total for r in self.rows)
        return tuple(
            r.label for r in self.rows if math.isclose(r.total, low, rel_tol=1e-12, abs_tol=1e-9)
        )

    @property
    def verdict(self) -> str:
        """Which version to deploy at these costs."""
        best = self.best
        costs = f"a missed fraud costs {self.miss_cost:g}, a false alarm {self.false_alarm_cost:g}"
        if len(best) > 1:
            return f"At these costs ({costs}) {' and '.join(best)} cost the same: a tie"
        return f"Deploy {best[0]}: at these costs ({costs}) its mistakes cost least"

    def _cells(self) -> list[list[str]]:
        return [
            [
                r.label,
                f"{r.metrics.fn:,}",
                f"{r.metrics.fp:,}",
                f"{r.metrics.fn:,} x {self.miss_cost:g} + "
                + f"{r.metrics.fp:,} x {self.false_alarm_cost:g}",
                f"{r.total:,.0f}",
                f"{r.per_1000:,.1f}",
            ]
            for r in self.rows
        ]

    _HEAD = ("version", "missed frauds", "false alarms", "cost", "total", "per 1,000 transactions")

    def __str__(self) -> str:
        return _text_table(self._HEAD, self._cells()) + "\n" + self.verdict

    def __repr__(self) -> str:
        return self.verdict

    def _repr_html_(self) -> str:
        rows = self._cells()
        for r in rows:
            if r[0] in self.best:
                r[:] = [f"<b>{html.escape(c)}</b>" for c in r]
            else:
                r[:] = [html.escape(c) for c in r]
        return _html_table(self._HEAD, rows) + f"<p><b>{html.escape(self.verdict)}</b></p>"


def deployment_costs(
    versions: Mapping[str, Metrics], miss_cost: float, false_alarm_cost: float
) -> CostTable:
    """What each version's mistakes cost: ``FN x miss_cost + FP x false_alarm_cost``.

    All versions must have been evaluated on the same number of rows (same test set).

    >>> deployment_costs({"v1": Metrics.from_counts(tp=1, fp=2, fn=3, tn=4)}, 10, 1).rows[0].total
    32.0
    """
    if not isinstance(versions, Mapping) or not versions:
        raise InvalidInputError(
            f"expected a non-empty mapping of version labels to Metrics; found {versions!r}. "
            'Fix: pass e.g. reg.metrics("fraud").'
        )
    miss, alarm = _cost("miss_cost", miss_cost), _cost("false_alarm_cost", false_alarm_cost)
    for label, m in versions.items():
        if not isinstance(m, Metrics):
            raise InvalidInputError(f"expected Metrics for {label!r}; found {type(m).__name__}.")
    totals = {m.total for m in versions.values()}
    if len(totals) > 1:
        raise InvalidInputError(
            f"expected every version's metrics on the same rows; found totals {sorted(totals)}. "
            "Costs are only comparable on the same test set. Fix: evaluate all versions on one "
            "EvalSet."
        )
    return CostTable(
        tuple(CostRow(str(k), m, m.cost(miss, alarm)) for k, m in versions.items()),
        miss,
        alarm,
    )


def break_even_miss_cost(a: Metrics, b: Metrics, false_alarm_cost: float = 1.0) -> float | None:
    """The cost of a missed fraud at which ``a`` and ``b`` cost the same (None if never).

    Above it, the version that misses fewer frauds is cheaper.

    >>> break_even_miss_cost(Metrics.from_counts(tp=85, fp=500, fn=15, tn=3400),
    ...                      Metrics.from_counts(tp=60, fp=10, fn=40, tn=3890))
    19.6
    """
    alarm = _cost("false_alarm_cost", false_alarm_cost)
    if a.fn == b.fn:
        return None
    value = (b.fp - a.fp) * alarm / (a.fn - b.fn)
    return float(value) if value > 0 else None


# -- serving ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServingPlan:
    """How TF Serving would serve one model folder, and how to pin the production version."""

    name: str
    base_path: str
    on_disk: tuple[int, ...]
    default_version: int | None
    alias: str
    pinned: int | None
    config: str
    warnings: tuple[str, ...] = ()

    @property
    def _url(self) -> str:
        return f"http://localhost:8501/v1/models/{self.name}"

    @property
    def docker_command(self) -> str:
        """Serve the folder as it is (TF Serving picks the highest version)."""
        return (
            f'docker run -p 8501:8501 -v "{self.base_path}:/models/{self.name}" '
            f"-e MODEL_NAME={self.name} tensorflow/serving"
        )

    @property
    def model_server_command(self) -> str:
        """The same without Docker."""
        return (
            f"tensorflow_model_server --rest_api_port=8501 --model_name={self.name} "
            f'--model_base_path="{self.base_path}"'
        )

    @property
    def pinned_command(self) -> str:
        """Serve with the model config that pins the alias's version."""
        root = self.base_path.rsplit("/", 1)[0]
        return (
            f'docker run -p 8501:8501 -v "{root}:/models" tensorflow/serving '
            f"--model_config_file=/models/{CONFIG_NAME}"
        )

    def __str__(self) -> str:
        on_disk = ", ".join(map(str, self.on_disk)) or "none"
        lines = [
            (
                f"TF Serving sees versions {on_disk} of {self.name!r} "
                "(it reads only the numbered folders)."
            )
        ]
        if self.default_version is not None:
            lines.append(
                f"Without a config it serves the highest number: version {self.default_version}."
            )
        if self.pinned is not None:
            same = (
                "the same version"
                if self.pinned == self.default_version
                else "NOT the same version"
            )
            lines.append(
                f"The registry's {self.alias} alias points to version {self.pinned}: {same}."
            )
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [
            "",
            "Serve the folder as it is:",
            f"  {self.docker_command}",
            f"  {self.model_server_command}",
        ]
        if self.pinned is not None:
            lines += [
                "",
                f"Pin {self.alias} (version {self.pinned}) with {CONFIG_NAME}:",
                f"  {self.pinned_command}",
                "",
                *("  " + x for x in self.config.rstrip().splitlines()),
                "",
                f"Requests: POST {self._url}/labels/{self.alias}:predict",
                f"      or: POST {self._url}/versions/{self.pinned}:predict",
            ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"ServingPlan({self.name!r}, on_disk={list(self.on_disk)}, "
            f"default_version={self.default_version}, "
            f"{self.alias}={self.pinned})"
        )


def _serving_config(entries: Sequence[tuple[str, str, Mapping[str, int]]]) -> str:
    out = ["model_config_list {"]
    for name, base, labels in entries:
        versions = sorted(set(labels.values()))
        out += [
            "  config {",
            f'    name: "{name}"',
            f'    base_path: "{base}"',
            '    model_platform: "tensorflow"',
            "    model_version_policy {",
            "      specific {",
        ]
        out += [f"        versions: {v}" for v in versions]
        out += ["      }", "    }"]
        for label, v in labels.items():
            out += ["    version_labels {", f'      key: "{label}"', f"      value: {v}", "    }"]
        out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"


def _status(version: int, path: str, is_link: bool, is_dir: bool) -> VersionStatus:
    """Whether a numbered folder is a complete version: two stat calls, nothing read."""
    if is_link:
        return VersionStatus(version, False, "a symbolic link, not a folder the registry wrote")
    if not is_dir:
        return VersionStatus(version, False, "a file, not a version folder")
    if not os.path.exists(os.path.join(path, _SAVED_MODEL)):
        return VersionStatus(
            version, False, f"no {_SAVED_MODEL}: not a SavedModel TF Serving can load"
        )
    if not os.path.exists(os.path.join(path, MANIFEST_NAME)):
        return VersionStatus(version, False, f"no {MANIFEST_NAME}: not published by the registry")
    return VersionStatus(version, True)


# -- the registry --------------------------------------------------------------------------


class ModelRegistry:
    """Numbered model versions under ``root/NAME/VERSION/``, TF Serving's layout.

    >>> import tempfile
    >>> reg = ModelRegistry(tempfile.mkdtemp())
    >>> reg.names(), reg.aliases("fraud")
    ([], {})

    ``root`` is created (with a small marker file) unless ``create=False``, which
    requires an existing folder (what the command line uses).
    """

    def __init__(self, root: str | os.PathLike[str], *, create: bool = True) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise RegistryError(
                f"expected a registry folder at {self.root}; found a file. "
                "Fix: pass the folder that holds the model folders."
            )
        if not self.root.exists():
            if not create:
                raise VersionNotFoundError(
                    f"expected a registry folder at {self.root}; nothing is there. Fix: check the "
                    "path "
                    "(relative paths start from the current folder), or publish a model first."
                )
            self.root.mkdir(parents=True)
            (self.root / MARKER_NAME).write_text("course-lib model registry (TF Serving layout)\n")
        self._real_root = self.root.resolve()

    @classmethod
    def fresh(cls, root: str | os.PathLike[str]) -> ModelRegistry:
        """An empty registry at ``root``, deleting a previous registry there (lessons, demos).

        Refuses to delete a folder that is not a registry (no marker file), so a wrong
        path never wipes your files.

        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp()) / "registry"
        >>> ModelRegistry.fresh(root).names()
        []
        """
        p = Path(root)
        if p.exists():
            if p.is_dir() and any(p.iterdir()) and not (p / MARKER_NAME).is_file():
                raise RegistryError(
                    f"expected {p} to be empty or a registry made by ModelRegistry (with a "
                    f"{MARKER_NAME} file); it holds other files, so it is not deleted. Fix: choose "
                    "another folder, e.g. 'work/registry'."
                )
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        return cls(p)

    def __repr__(self) -> str:
        return f"ModelRegistry({self.root.as_posix()!r})"

    # -- paths ------------------------------------------------------------------------------

    def _inside(self, path: Path) -> Path:
        real = path.resolve()
        if real != self._real_root and self._real_root not in real.parents:
            raise InvalidNameError(
                f"expected every registry path to stay inside {self.root}; {path} resolves to "
                f"{real} "
                "(a symbolic link?). Fix: remove the link; the registry only holds real folders."
            )
        return path

    def _model_dir(self, name: str, create: bool = False) -> Path:
        d = self.root / validate_name(name)
        if create:
            d.mkdir(exist_ok=True)
        if d.exists() or d.is_symlink():
            self._inside(d)
        return d

    def path(self, name: str, ref: int | str) -> Path:
        """The folder of a version (or of the version an alias points to).

        >>> ModelRegistry(__import__("tempfile").mkdtemp()).path("fraud", 2)  # doctest: +SKIP
        PosixPath('.../fraud/2')
        """
        version = self.resolve(name, ref)
        return self._version_dir(name, version)

    def _version_dir(self, name: str, version: int) -> Path:
        d = self._model_dir(name) / str(validate_version(version))
        if not d.exists() and not d.is_symlink():
            known = ", ".join(map(str, self.versions(name))) or "none"
            raise VersionNotFoundError(
                f"expected version {version} of {name!r} in {self.root}; it does not exist "
                f"(versions: {known}). Fix: pick one of those, e.g. course-lib registry list "
                f"{self.root}."
            )
        return self._inside(d)

    # -- listing (cheap: names and two stat calls per version) ---------------------------------

    def names(self) -> list[str]:
        """The model names in the registry (folders whose names pass the allow-list).

        >>> ModelRegistry(__import__("tempfile").mkdtemp()).names()
        []
        """
        return sorted(
            e.name
            for e in os.scandir(self.root)
            if _NAME_RE.fullmatch(e.name) and e.is_dir(follow_symlinks=False)
        )

    def _numbered(self, name: str) -> list[os.DirEntry[str]]:
        d = self._model_dir(name)
        if not d.is_dir():
            return []
        return [e for e in os.scandir(d) if _VERSION_RE.fullmatch(e.name)]

    def scan(self, name: str) -> tuple[VersionStatus, ...]:
        """Every numbered folder of a model and whether it is a complete version (no hashing).

        A folder without ``saved_model.pb`` or without a manifest (copied by hand, say)
        is reported invalid with the reason; :meth:`versions` leaves it out.

        >>> ModelRegistry(__import__("tempfile").mkdtemp()).scan("fraud")
        ()
        """
        out = [
            _status(int(e.name), e.path, e.is_symlink(), e.is_dir()) for e in self._numbered(name)
        ]
        return tuple(sorted(out, key=lambda s: s.version))

    def versions(self, name: str) -> list[int]:
        """The complete versions of a model, in order (a cheap listing: no file is read).

        >>> ModelRegistry(__import__("tempfile").mkdtemp()).versions("fraud")
        []
        """
        return [s.version for s in self.scan(name) if s.valid]

    def resolve(self, name: str, ref: int | str) -> int:
        """The version number behind a reference: a number, an alias, or ``"latest"``.

        >>> ModelRegistry(__import__("tempfile").mkdtemp()).resolve("fraud", "3")
        3
        """
        if isinstance(ref, str) and _ALIAS_RE.fullmatch(ref):  # aliases start with a letter
            if ref == "latest":
                versions = self.versions(name)
                if not versions:
                    raise VersionNotFoundError(
                        f"expected at least one version of {name!r}; found none. "
                        "Fix: publish a model first."
                    )
                return versions[-1]
            aliases = self.aliases(name)
            if ref not in aliases:
                known = ", ".join(f"{k} -> {v}" for k, v in aliases.items()) or "none"
                raise VersionNotFoundError(
                    f"expected {ref!r} to be an alias of {name!r}; it is not (aliases: {known}). "
                    f"Fix: use a version number, or set the alias with set_alias/promote."
                )
            return aliases[ref]
        try:
            return validate_version(ref)
        except InvalidNameError:
            raise InvalidNameError(
                "expected a version number (a whole number of 1 or more, digits only, no leading "
                "zero, "
                "sign or exponent) or an alias (lowercase, starting with a letter); found "
                f"{ref!r}. "
                "Fix: pass e.g. 2, \"2\" or \"production\"."
            ) from None

    # -- reading a version -------------------------------------------------------------------

    def _read_manifest(self, name: str, version: int) -> tuple[Path, dict[str, Any]]:
        d = self._version_dir(name, version)
        status = _status(version, str(d), d.is_symlink(), d.is_dir())
        if not status.valid:
            raise InvalidVersionError(
                f"expected {name} version {version} to be a complete registry version; it is not: "
                f"{status.reason}. Fix: delete the folder {d} or publish the model again."
            )
        raw = (d / MANIFEST_NAME).read_bytes()
        try:
            data = json.loads(raw.decode("utf-8"))
            _ = data["evaluation"]["metrics"]["tp"], data["files"], data["name"], data["version"]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidVersionError(
                f"expected {d / MANIFEST_NAME} to be a registry manifest; it cannot be read "
                f"({exc}). "
                f"Fix: course-lib registry verify {self.root} {name} {version} shows what changed."
            ) from None
        if not _checksum_ok(data):  # cheap: the manifest's own checksum, no model file is read
            raise InvalidVersionError(
                f"expected {name} version {version}'s {MANIFEST_NAME} to match its own checksum; it "
                "does not: it was edited after publishing, so its metrics cannot be trusted. Fix: "
                f"course-lib registry verify {self.root} {name} {version}, then restore the version "
                "or publish it again."
            )
        return d, data

    def get(self, name: str, ref: int | str) -> VersionInfo:
        """The manifest of a version (or alias) as a :class:`VersionInfo`; nothing is loaded.

        >>> reg.get("fraud", "production").metrics.recall   # doctest: +SKIP
        0.87
        """
        version = self.resolve(name, ref)
        d, data = self._read_manifest(name, version)
        aliases = tuple(k for k, v in self.aliases(name).items() if v == version)
        return _info_from_manifest(data, d, aliases)

    def table(self, name: str) -> VersionTable:
        """All versions of a model side by side: aliases, evaluation set, metrics, size, latency.

        >>> print(ModelRegistry(__import__("tempfile").mkdtemp()).table("fraud"))
        fraud: no versions yet
        """
        aliases = self.aliases(name)
        rows, invalid = [], []
        for s in self.scan(name):
            if not s.valid:
                invalid.append(s)
                continue
            try:
                d, data = self._read_manifest(name, s.version)
            except InvalidVersionError:
                invalid.append(
                    VersionStatus(s.version, False, f"{MANIFEST_NAME} unreadable or changed")
                )
                continue
            rows.append(
                _info_from_manifest(data, d, tuple(k for k, v in aliases.items() if v == s.version))
            )
        return VersionTable(validate_name(name), tuple(rows), tuple(invalid))

    def metrics(self, name: str) -> dict[str, Metrics]:
        """``{"version 1": Metrics, ...}`` for every version; they must share one evaluation set.

        >>> ModelRegistry(__import__("tempfile").mkdtemp()).metrics("fraud")
        {}
        """
        rows = self.table(name).rows
        prints = {(v.eval_name, v.eval_fingerprint[:12]) for v in rows}
        if len(prints) > 1:
            raise IncomparableVersionsError(
                f"expected every version of {name!r} evaluated on the same data; found "
                f"{sorted(prints)}. "
                "Fix: delete or re-evaluate the versions published on other rows."
            )
        return {v.label: v.metrics for v in rows}

    # -- verifying ----------------------------------------------------------------------------

    def verify(self, name: str, ref: int | str) -> VerifyReport:
        """Check every file of a version against its manifest: sha256, size, none missing or extra.

        >>> reg.verify("fraud", 2).ok        # doctest: +SKIP
        True
        """
        version = self.resolve(name, ref)
        d = self._version_dir(name, version)
        problems: list[FileProblem] = []
        if d.is_symlink() or not d.is_dir():
            return VerifyReport(name, version, d, 0, (FileProblem(str(version), "not a folder"),))
        if not (d / _SAVED_MODEL).is_file():
            problems.append(
                FileProblem(
                    _SAVED_MODEL, "missing: TF Serving needs it directly in the version folder"
                )
            )
        mpath = d / MANIFEST_NAME
        if not mpath.is_file():
            problems.append(FileProblem(MANIFEST_NAME, "missing: not a complete registry version"))
            return VerifyReport(name, version, d, 0, tuple(problems))
        raw = mpath.read_bytes()
        try:
            data = json.loads(raw.decode("utf-8"))
            intact = isinstance(data, dict) and _manifest_bytes(data) == raw
        except (UnicodeDecodeError, json.JSONDecodeError):
            data, intact = None, False
        if not intact or not isinstance(data, dict):
            problems.append(
                FileProblem(
                    MANIFEST_NAME, "changed: its content no longer matches its own checksum"
                )
            )
            return VerifyReport(name, version, d, 0, tuple(problems))
        if data.get("name") != name or data.get("version") != version:
            problems.append(
                FileProblem(
                    MANIFEST_NAME,
                    (
                        f"describes {data.get('name')!r} version {data.get('version')}, but sits "
                        "in "
                        f"{name}/{version}: the folder was copied or renamed"
                    ),
                )
            )
        expected: Mapping[str, Mapping[str, Any]] = data.get("files", {})
        files, _dirs, links = _walk(d)
        problems += [
            FileProblem(rel, "a symbolic link: the registry never writes links") for rel in links
        ]
        present = set(files) - {MANIFEST_NAME}
        for rel in sorted(set(expected) - present):
            if rel != _SAVED_MODEL or (d / _SAVED_MODEL).exists():
                problems.append(FileProblem(rel, "missing (listed in the manifest)"))
        for rel in sorted(present - set(expected)):
            problems.append(
                FileProblem(rel, "unexpected: not in the manifest (added after publishing)")
            )
        checked = 0
        for rel in sorted(present & set(expected)):
            rec, p = expected[rel], d / rel
            checked += 1
            if p.stat().st_size != rec.get("size"):
                problems.append(
                    FileProblem(
                        rel,
                        f"size changed ({p.stat().st_size:,} bytes; the manifest says "
                        f"{rec.get('size'):,})",
                    )
                )
            elif _hash_file(p)[0] != rec.get("sha256"):
                problems.append(
                    FileProblem(rel, "content changed (its sha256 differs from the manifest)")
                )
        return VerifyReport(name, version, d, checked + 1, tuple(problems))

    def verify_all(self, name: str) -> tuple[VerifyReport, ...]:
        """:meth:`verify` for every numbered folder of a model (invalid ones included).

        >>> ModelRegistry(__import__("tempfile").mkdtemp()).verify_all("fraud")
        ()
        """
        return tuple(self.verify(name, s.version) for s in self.scan(name))

    # -- loading ------------------------------------------------------------------------------

    def load(self, name: str, ref: int | str, format: str = "savedmodel") -> LoadedModel:
        """Verify a version, then load it (``"savedmodel"``, or ``"keras"`` if it has that file).

        Loading keeps Keras's ``safe_mode`` on: a model with embedded Python code is refused.

        >>> reg.load("fraud", "production").predict(x_test[:2])   # doctest: +SKIP
        array([[0.02], [0.91]], dtype=float32)
        """
        from course_lib import persistence

        version = self.resolve(name, ref)
        self.verify(name, version).raise_if_failed("loading it")
        d = self._version_dir(name, version)
        if format == "savedmodel":
            return persistence.load(d, "savedmodel")
        if format == "keras":
            if not (d / _KERAS_FILE).is_file():
                raise VersionNotFoundError(
                    f"expected a .keras file in {name} version {version}; it has only the "
                    "SavedModel. "
                    "Fix: load it as format='savedmodel', or publish with keras_file=True."
                )
            return persistence.load(d / _KERAS_FILE, "keras", safe_mode=True)
        raise InvalidInputError(f"expected format 'savedmodel' or 'keras'; found {format!r}.")

    def evaluate(
        self, name: str, ref: int | str, eval_set: EvalSet, threshold: float | None = None
    ) -> Metrics:
        """Load a version and compute its metrics on ``eval_set`` (at its recorded threshold).

        >>> reg.evaluate("fraud", 2, EvalSet("fraud test", x_test, y_test)).recall  # doctest: +SKIP
        0.87
        """
        _check_eval_set(eval_set)
        info = self.get(name, ref)
        loaded = self.load(name, info.version)
        t = info.threshold if threshold is None else threshold
        return Metrics.from_predictions(eval_set.y, loaded.predict(eval_set.x), t)

    # -- comparing ----------------------------------------------------------------------------

    def compare(
        self,
        name: str,
        a: int | str,
        b: int | str,
        *,
        tolerance: float = 0.01,
        allow_different_data: bool = False,
    ) -> VersionComparison:
        """Compare two versions on their shared evaluation set: metrics, deltas, size, latency.

        Versions evaluated on different data (different fingerprints) are refused
        (:class:`IncomparableVersionsError`) unless ``allow_different_data=True``, which
        shows them side by side flagged NOT COMPARABLE.

        >>> reg.compare("fraud", 1, 2).verdict          # doctest: +SKIP
        'GOOD: version 2 is improved or stable on every metric compared with version 1 ...'
        """
        tol = _fraction("tolerance", tolerance)
        va, vb = self.get(name, a), self.get(name, b)
        same = va.eval_fingerprint == vb.eval_fingerprint
        if not same and not allow_different_data:
            raise IncomparableVersionsError(
                f"expected {name} versions {va.version} and {vb.version} to be evaluated on the "
                "same data; "
                f"version {va.version} was evaluated on {va.eval_name!r} ({va.eval_rows:,} rows, "
                "fingerprint "
                f"{va.eval_fingerprint[:12]}), version {vb.version} on {vb.eval_name!r} "
                f"({vb.eval_rows:,} rows, "
                f"fingerprint {vb.eval_fingerprint[:12]}). Metrics from different rows are not "
                "comparable: "
                "one version can look better only because its rows were easier. Fix: evaluate "
                "both on the "
                "same EvalSet (reg.evaluate(name, version, eval_set)), or pass "
                "allow_different_data=True "
                "to see them side by side, flagged."
            )
        rows = tuple(
            MetricDelta(k, va.metrics.get(k), vb.metrics.get(k), tol or 0.0) for k in METRIC_NAMES
        )
        return VersionComparison(va, vb, rows, tol or 0.0, same)

    # -- aliases ------------------------------------------------------------------------------

    def _read_aliases(self, name: str) -> dict[str, Any]:
        p = self._model_dir(name) / ALIASES_NAME
        if not p.is_file():
            return {"aliases": {}, "history": {}}
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            aliases = {validate_alias(k): validate_version(v) for k, v in data["aliases"].items()}
            history = {
                validate_alias(k): [validate_version(v) for v in vs]
                for k, vs in data["history"].items()
            }
        except (
            UnicodeDecodeError,
            json.JSONDecodeError,
            KeyError,
            TypeError,
            AttributeError,
            InvalidNameError,
        ) as exc:
            raise RegistryError(
                f"expected {p} to hold the aliases as JSON; it cannot be read ({exc}). "
                "Fix: restore it from a backup, or delete it and set the aliases again."
            ) from None
        return {"aliases": aliases, "history": history}

    def _write_aliases(self, name: str, state: Mapping[str, Any]) -> None:
        body = {
            "aliases": dict(sorted(state["aliases"].items())),
            "history": dict(sorted(state["history"].items())),
            "updated": _now(),
        }
        _atomic_write(
            self._model_dir(name) / ALIASES_NAME,
            _canonical(body),
            crash_point="aliases-temp-written",
        )
        _crash_point("aliases-replaced")

    def aliases(self, name: str) -> dict[str, int]:
        """``{"production": 2, "candidate": 3}``: the aliases of a model.

        >>> ModelRegistry(__import__("tempfile").mkdtemp()).aliases("fraud")
        {}
        """
        return dict(self._read_aliases(name)["aliases"])

    def _move_alias(self, name: str, alias: str, version: int, state: dict[str, Any]) -> int | None:
        old = state["aliases"].get(alias)
        state["aliases"][alias] = version
        history = state["history"].setdefault(alias, [])
        if not history or history[-1] != version:
            history.append(version)
        self._write_aliases(name, state)
        return old

    def set_alias(self, name: str, alias: str, ref: int | str) -> AliasChange:
        """Point an alias at a version (verified first), atomically. No gate: see :meth:`promote`.

        >>> reg.set_alias("fraud", "candidate", 3)      # doctest: +SKIP
        fraud: candidate moved from nothing to version 3
        """
        alias = validate_alias(alias)
        version = self.resolve(name, ref)
        self.verify(name, version).raise_if_failed(f"pointing {alias!r} at it")
        with _locked(self._model_dir(name)):
            state = self._read_aliases(name)
            old = self._move_alias(name, alias, version, state)
        return AliasChange(name, alias, old, version)

    def remove_alias(self, name: str, alias: str) -> AliasChange:
        """Remove an alias (its history is kept).

        >>> reg.remove_alias("fraud", "candidate")       # doctest: +SKIP
        fraud: candidate moved from version 3 to nothing
        """
        alias = validate_alias(alias)
        with _locked(self._model_dir(name)):
            state = self._read_aliases(name)
            if alias not in state["aliases"]:
                raise VersionNotFoundError(
                    f"expected {alias!r} to be an alias of {name!r}; it is not."
                )
            old = state["aliases"].pop(alias)
            self._write_aliases(name, state)
        return AliasChange(name, alias, old, None)

    def check_gate(
        self, name: str, ref: int | str, gate: Gate | None = None, alias: str = "production"
    ) -> GateDecision:
        """Apply a gate to a version without moving anything (a dry run of :meth:`promote`).

        >>> print(reg.check_gate("fraud", 3, Gate(min_recall=0.8)))   # doctest: +SKIP
        fraud version 3 -> production: REFUSED (...)
        """
        alias = validate_alias(alias)
        if gate is not None and not isinstance(gate, Gate):
            raise InvalidInputError(
                f"expected a Gate or None; found {type(gate).__name__}. "
                "Fix: gate=Gate(min_recall=0.8, max_drop=0.01)."
            )
        version = self.resolve(name, ref)
        report = self.verify(name, version)
        results = [RuleResult("files verify", report.ok, report.verdict.split(": ", 1)[1])]
        current_version = self.aliases(name).get(alias)
        manifest_intact = not any(p.path == MANIFEST_NAME for p in report.problems)
        if (
            gate is not None
            and manifest_intact
            and (self._model_dir(name) / str(version) / _SAVED_MODEL).is_file()
        ):
            # The manifest still checks out, so its metrics are what was published: apply
            # every rule, so that a refusal lists all of them, not only the integrity one.
            candidate = self.get(name, version)
            current, unreadable = None, ""
            if current_version is not None:
                try:
                    current = self.get(name, current_version)
                except RegistryError as exc:
                    unreadable = (
                        f"cannot read the current version {current_version} to compare with: {exc}"
                    )
            for r in gate.check(candidate, current):
                drop_rule = r.rule.startswith("no metric drops")
                results.append(
                    RuleResult(r.rule, False, unreadable) if unreadable and drop_rule else r
                )
        return GateDecision(name, version, alias, current_version, tuple(results))

    def promote(
        self, name: str, ref: int | str, gate: Gate | None = None, alias: str = "production"
    ) -> GateDecision:
        """Move ``alias`` (production) to a version that verifies and passes every rule of ``gate``.

        A refusal raises :class:`PromotionRefusedError` whose message and ``.decision``
        list every failed rule; the alias does not move. The alias's history is kept
        for :meth:`rollback`.

        >>> reg.promote("fraud", 2, gate=Gate(min_recall=0.8, max_drop=0.01))  # doctest: +SKIP
        """
        decision = self.check_gate(name, ref, gate, alias)
        if not decision.ok:
            raise PromotionRefusedError(
                f"expected {name} version {decision.version} to pass every rule to become {alias}; "
                f"{len(decision.failures)} failed: "
                + "; ".join(f"{r.rule} ({r.detail})" for r in decision.failures)
                + f". {alias.capitalize()} stays at "
                + (f"version {decision.previous}" if decision.previous else "nothing")
                + ". Fix: for a rule on metrics, size or latency, publish an improved version; "
                "if the "
                "files failed to verify, restore them from a trusted copy.",
                decision,
            )
        with _locked(self._model_dir(name)):
            state = self._read_aliases(name)
            if state["aliases"].get(alias) != decision.previous:
                raise RefusedError(
                    f"expected {alias} to still point at version {decision.previous} while "
                    "promoting; "
                    f"another process moved it to {state['aliases'].get(alias)}. Fix: check again "
                    "and retry."
                )
            self._move_alias(name, alias, decision.version, state)
        return replace(decision, applied=True)

    def rollback(self, name: str, alias: str = "production") -> AliasChange:
        """Move ``alias`` back to the version it pointed to before the current one.

        The target must still exist and verify. Rolling back again goes one step further back.

        >>> reg.rollback("fraud")                         # doctest: +SKIP
        fraud: production moved from version 2 to version 1
        """
        alias = validate_alias(alias)
        with _locked(self._model_dir(name)):
            state = self._read_aliases(name)
            history = state["history"].get(alias, [])
            current = state["aliases"].get(alias)
            if current is None or len(history) < 2:
                raise RollbackRefusedError(
                    f"expected an earlier {alias} version of {name!r} to roll back to; there is "
                    "none "
                    f"(history: {history or 'empty'}). Fix: promote a version instead."
                )
            target = history[-2]
            if target not in self.versions(name):
                raise RollbackRefusedError(
                    f"expected version {target} (the previous {alias}) to exist; it was deleted. "
                    f"Fix: promote another version explicitly."
                )
            report = self.verify(name, target)
            if not report.ok:
                raise RollbackRefusedError(
                    f"expected version {target} (the previous {alias}) to verify before rolling "
                    "back to it; "
                    f"it does not: {'; '.join(str(p) for p in report.problems)}. "
                    f"{alias.capitalize()} stays "
                    f"at version {current}. Fix: restore version {target} from a trusted copy, or "
                    "promote "
                    "another version."
                )
            state["aliases"][alias] = target
            state["history"][alias] = history[:-1]
            self._write_aliases(name, state)
        return AliasChange(name, alias, current, target)

    # -- deleting -----------------------------------------------------------------------------

    def delete(self, name: str, version: int | str) -> None:
        """Delete a version no alias points to. Its number is never given out again.

        >>> reg.delete("fraud", 4)                        # doctest: +SKIP
        """
        v = validate_version(version)
        d = self._version_dir(name, v)
        model_dir = self._model_dir(name)
        with _locked(model_dir):
            using = sorted(k for k, x in self._read_aliases(name)["aliases"].items() if x == v)
            if using:
                raise AliasInUseError(
                    f"expected no alias to point at {name} version {v} before deleting it; "
                    f"{', '.join(using)} {'does' if len(using) == 1 else 'do'}. Fix: move the "
                    "alias first "
                    "(promote another version, or remove_alias)."
                )
            (model_dir / f".deleted-{v}").touch()
            trash = model_dir / f".trash-{v}-{secrets.token_hex(4)}"
            os.rename(d, trash)
            _fsync_dir(model_dir)
        shutil.rmtree(trash, ignore_errors=True)

    def clean_staging(self, name: str, older_than: float = 3600.0) -> int:
        """Remove staging folders left by killed publishes (older than ``older_than`` seconds).

        A staging folder is hidden and never read; this only reclaims disk space.
        Returns how many were removed.

        >>> ModelRegistry(__import__("tempfile").mkdtemp()).clean_staging("fraud")
        0
        """
        d = self._model_dir(name)
        if not d.is_dir():
            return 0
        now, removed = time.time(), 0
        for e in os.scandir(d):
            if (
                e.name.startswith(("..staging-", ".staging-", ".trash-"))
                and now - e.stat(follow_symlinks=False).st_mtime >= older_than
            ):
                shutil.rmtree(e.path, ignore_errors=True) if e.is_dir(
                    follow_symlinks=False
                ) else os.unlink(e.path)
                removed += 1
        return removed

    # -- publishing ---------------------------------------------------------------------------

    def _next_version(self, model_dir: Path) -> int:
        top = 0
        for e in os.scandir(model_dir):
            if _VERSION_RE.fullmatch(e.name):
                top = max(top, int(e.name))
            elif m := _TOMBSTONE_RE.fullmatch(e.name):
                top = max(top, int(m.group(1)))
        return top + 1

    def _staging(self, model_dir: Path) -> Path:
        return model_dir / f".staging-{os.getpid()}-{secrets.token_hex(6)}"

    def publish(
        self,
        model: Any,
        name: str,
        eval_set: EvalSet,
        *,
        metrics: Metrics | None = None,
        threshold: float = 0.5,
        keras_file: bool = False,
        notes: str = "",
        tags: Mapping[str, str] | None = None,
        latency_ms: float | None = None,
    ) -> VersionInfo:
        """Save a Keras model as the next version of ``name``, with its manifest; returns it.

        The metrics are computed on ``eval_set`` at ``threshold`` (or pass ``metrics``
        computed on that set), the latency is the median of 30 calls on one row (or
        pass ``latency_ms``). The SavedModel is written into the version folder itself,
        plus ``model.keras`` when ``keras_file=True``.

        >>> test_set = EvalSet("fraud test", x_test, y_test)                  # doctest: +SKIP
        >>> v = reg.publish(model, "fraud", test_set, notes="first")         # doctest: +SKIP
        >>> v.version, v.path                                                 # doctest: +SKIP
        (1, PosixPath('work/registry/fraud/1'))
        """
        from course_lib import _tf, persistence

        name = validate_name(name)
        _check_eval_set(eval_set)
        keras = _tf.keras()
        if not isinstance(model, keras.Model):
            raise InvalidInputError(
                f"expected a Keras model (keras.Model) to publish; found {type(model).__name__}. "
                "Fix: pass "
                "the trained model, or publish_saved_model(path, ...) for a SavedModel folder."
            )
        if metrics is None:
            metrics = Metrics.from_predictions(
                eval_set.y, _keras_scores(model, eval_set.x), threshold
            )
        if latency_ms is None:
            one = eval_set.x[:1]
            latency = _latency(
                lambda batch: np.asarray(model(batch, training=False)),
                one,
                "keras model(x, training=False), in process",
            )
        else:
            latency = _given_latency(latency_ms)
        model_dir = self._model_dir(name, create=True)
        staging = self._staging(model_dir)
        try:
            persistence.save(model, staging, "savedmodel")
            _crash_point("saved")
            if keras_file:
                persistence.save(model, staging / _KERAS_FILE, "keras")
            return self._commit(
                name, model_dir, staging, eval_set, metrics, latency, notes, tags, keras_file
            )
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def publish_saved_model(
        self,
        path: str | os.PathLike[str],
        name: str,
        eval_set: EvalSet,
        *,
        metrics: Metrics | None = None,
        threshold: float = 0.5,
        notes: str = "",
        tags: Mapping[str, str] | None = None,
        latency_ms: float | None = None,
    ) -> VersionInfo:
        """Publish a SavedModel folder exported elsewhere (copied in, then as :meth:`publish`).

        Without ``metrics`` (or ``latency_ms``) the copy is loaded and evaluated on
        ``eval_set`` (TensorFlow is imported); with both, TensorFlow is not needed.

        >>> reg.publish_saved_model("export/fraud", "fraud", test_set)   # doctest: +SKIP
        """
        name = validate_name(name)
        _check_eval_set(eval_set)
        src = Path(path)
        if not (src / _SAVED_MODEL).is_file():
            raise InvalidInputError(
                f"expected a SavedModel folder (with {_SAVED_MODEL}) at {src}; "
                f"{'it has none' if src.is_dir() else 'there is no folder there'}. Fix: pass the "
                "folder "
                "model.export() wrote."
            )
        model_dir = self._model_dir(name, create=True)
        staging = self._staging(model_dir)
        try:
            staging.mkdir()
            _crash_point("staging-created")
            first = [True]

            def copy(s: str, d: str) -> object:
                out = shutil.copy2(s, d)
                if first[0]:
                    first[0] = False
                    _crash_point("copying")
                return out

            shutil.copytree(src, staging, copy_function=copy, dirs_exist_ok=True)
            _crash_point("saved")
            if metrics is None or latency_ms is None:
                from course_lib import persistence

                loaded = persistence.load(staging, "savedmodel")
                if metrics is None:
                    metrics = Metrics.from_predictions(
                        eval_set.y, loaded.predict(eval_set.x), threshold
                    )
                latency = (
                    _given_latency(latency_ms)
                    if latency_ms is not None
                    else _latency(
                        loaded.predict, eval_set.x[:1], "SavedModel serving_default, in process"
                    )
                )
            else:
                latency = _given_latency(latency_ms)
            return self._commit(
                name, model_dir, staging, eval_set, metrics, latency, notes, tags, False
            )
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def _commit(
        self,
        name: str,
        model_dir: Path,
        staging: Path,
        eval_set: EvalSet,
        metrics: Metrics,
        latency: Mapping[str, Any],
        notes: str,
        tags: Mapping[str, str] | None,
        keras_file: bool,
    ) -> VersionInfo:
        """Hash and fsync the staged files, write the manifest, rename into the next free number."""
        if not isinstance(metrics, Metrics):
            raise InvalidInputError(
                f"expected metrics as a Metrics value; found {type(metrics).__name__}."
            )
        if metrics.total != eval_set.rows:
            raise InvalidInputError(
                f"expected metrics computed on the {eval_set.rows:,} rows of {eval_set.name!r}; "
                "they count "
                f"{metrics.total:,} examples. Fix: compute them on that set, or leave metrics= out."
            )
        if not isinstance(notes, str):
            raise InvalidInputError(f"expected notes to be text; found {type(notes).__name__}.")
        tags = dict(tags or {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise InvalidInputError(f"expected tags as text keys and values; found {tags!r}.")
        files: dict[str, dict[str, Any]] = {}
        for rel in _walk(staging)[0]:
            digest, size = _hash_file(staging / rel, sync=True)
            files[rel] = {"sha256": digest, "size": size}
        for rel in ["", *_walk(staging)[1]]:
            _fsync_dir(staging / rel)
        _crash_point("hashed")
        threshold = metrics.threshold if metrics.threshold is not None else 0.5
        body: dict[str, Any] = {
            "schema": SCHEMA,
            "name": name,
            "created": _now(),
            "evaluation": {
                "name": eval_set.name,
                "fingerprint": eval_set.fingerprint,
                "rows": eval_set.rows,
                "positives": eval_set.positives,
                "threshold": threshold,
                "metrics": metrics.as_dict(),
            },
            "size_bytes": sum(r["size"] for k, r in files.items() if k != _KERAS_FILE),
            "keras_file": _KERAS_FILE if keras_file else None,
            "latency": dict(latency),
            "files": files,
            "libraries": _library_versions(),
            "notes": notes,
            "tags": tags,
        }
        for _attempt in range(10_000):
            version = self._next_version(model_dir)
            body["version"] = version
            _atomic_write(staging / MANIFEST_NAME, _manifest_bytes(body))
            _crash_point("manifest")
            target = model_dir / str(version)
            if target.exists() or (model_dir / f".deleted-{version}").exists():
                continue  # another publisher took it: try the next number
            try:
                os.rename(staging, target)  # atomic; fails if target exists and is not empty
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY) or isinstance(exc, FileExistsError):
                    continue
                raise
            _crash_point("renamed")
            _fsync_dir(model_dir)
            data = json.loads((target / MANIFEST_NAME).read_text(encoding="utf-8"))
            return _info_from_manifest(data, target, ())
        raise RegistryError(
            f"expected to find a free version number for {name!r}; gave up after 10,000 tries."
        )

    # -- serving ------------------------------------------------------------------------------

    def _host_path(self, name: str) -> str:
        p = self.root / name
        return p.as_posix() if p.is_absolute() else f"$PWD/{p.as_posix()}"

    def serving_config(
        self,
        names: str | Sequence[str] | None = None,
        aliases: Sequence[str] = ("production",),
        container_root: str = "/models",
    ) -> str:
        """TF Serving's model config text: each model pinned to its aliased versions, with labels.

        ``model_version_policy { specific { versions: N } }`` makes TF Serving load
        exactly the production version (instead of the highest number), and
        ``version_labels`` lets clients ask for ``/labels/production``.

        >>> print(reg.serving_config("fraud"))              # doctest: +SKIP
        model_config_list {
          config {
            name: "fraud"
        ...
        """
        chosen = [names] if isinstance(names, str) else list(names or self.names())
        entries = []
        for n in chosen:
            current = self.aliases(n)
            labels = {validate_alias(a): current[a] for a in aliases if a in current}
            if not labels:
                raise VersionNotFoundError(
                    f"expected {n!r} to have one of the aliases {list(aliases)} to pin; it has "
                    f"{sorted(current) or 'none'}. Fix: promote a version first."
                )
            entries.append((validate_name(n), f"{container_root.rstrip('/')}/{n}", labels))
        return _serving_config(entries)

    def write_serving_config(
        self, names: str | Sequence[str] | None = None, aliases: Sequence[str] = ("production",)
    ) -> Path:
        """Write :meth:`serving_config` to ``root/models.config`` atomically; returns the path.

        >>> reg.write_serving_config("fraud")               # doctest: +SKIP
        PosixPath('work/registry/models.config')
        """
        path = self.root / CONFIG_NAME
        _atomic_write(path, self.serving_config(names, aliases).encode("utf-8"))
        return path

    def serving(self, name: str, alias: str = "production") -> ServingPlan:
        """How TF Serving would serve ``root/name``: which version, the commands, a pinning config.

        TF Serving knows nothing of manifests or aliases: by default it serves the
        highest numbered folder. The plan says which that is and how to pin the alias.

        >>> print(reg.serving("fraud"))                     # doctest: +SKIP
        TF Serving sees versions 1, 2, 3 of 'fraud' ...
        """
        name = validate_name(name)
        alias = validate_alias(alias)
        statuses = self.scan(name)
        on_disk = tuple(s.version for s in statuses if s.reason != "a file, not a version folder")
        default = max(on_disk) if on_disk else None
        warnings = []
        bad = {s.version: s.reason for s in statuses if not s.valid}
        if default is not None and default in bad:
            warnings.append(
                f"version {default} is not a valid registry version ({bad[default]}); "
                "TF Serving would try to load it and fail"
            )
        pinned = self.aliases(name).get(alias)
        config = self.serving_config(name, (alias,)) if pinned is not None else ""
        return ServingPlan(
            name, self._host_path(name), on_disk, default, alias, pinned, config, tuple(warnings)
        )


# -- helpers used by publish ------------------------------------------------------------------


def _check_eval_set(eval_set: object) -> None:
    if not isinstance(eval_set, EvalSet):
        raise InvalidInputError(
            "expected an EvalSet (named rows with a fingerprint); found "
            f"{type(eval_set).__name__}. "
            'Fix: EvalSet("fraud test", fraud.test.x, fraud.test.y).'
        )


def _keras_scores(model: Any, x: np.ndarray, batch: int = 4096) -> np.ndarray:
    """Scores of a Keras model by direct calls (no tf.function retracing for each new model)."""
    parts = [np.asarray(model(x[i : i + batch], training=False)) for i in range(0, len(x), batch)]
    out = np.concatenate(parts)
    return out.reshape(out.shape[0], -1)[:, -1]


def _latency(fn: Callable[[np.ndarray], Any], one_row: np.ndarray, how: str) -> dict[str, Any]:
    from course_lib.inference import measure_latency

    row = measure_latency(fn, one_row, batch_sizes=(1,), repeats=30, warmup=3).rows[0]
    return {
        "median_ms": row.p50 * 1000,
        "p95_ms": row.p95 * 1000,
        "calls": len(row.seconds),
        "batch_rows": 1,
        "how": how,
    }


def _given_latency(latency_ms: object) -> dict[str, Any]:
    value = _positive("latency_ms", latency_ms, "milliseconds")
    return {"median_ms": value, "how": "given by the publisher"}


# -- teaching helpers -------------------------------------------------------------------------


def flip_byte(path: str | os.PathLike[str], offset: int | None = None) -> int:
    """Change one byte of a file in place (to show that :meth:`ModelRegistry.verify` catches it).

    Returns the offset changed (the middle of the file by default).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "f.bin"
    >>> _ = p.write_bytes(b"abc")
    >>> flip_byte(p), p.read_bytes()
    (1, b'a\\x9dc')
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"expected a file to change at {p}; there is none.")
    size = p.stat().st_size
    at = size // 2 if offset is None else offset
    if isinstance(at, bool) or not isinstance(at, int) or not 0 <= at < size:
        raise InvalidInputError(f"expected an offset from 0 to {size - 1}; found {offset!r}.")
    with open(p, "r+b") as f:
        f.seek(at)
        byte = f.read(1)[0]
        f.seek(at)
        f.write(bytes([byte ^ 0xFF]))
    return at


def tree(path: str | os.PathLike[str], max_depth: int = 3) -> str:
    """The folders and files under ``path`` as an indented tree (hidden entries left out).

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "fraud" / "1").mkdir(parents=True)
    >>> _ = (root / "fraud" / "1" / "saved_model.pb").write_bytes(b"")
    >>> print(tree(root).split("\\n", 1)[1])
    └── fraud/
        └── 1/
            └── saved_model.pb
    """
    root = Path(path)

    def walk(p: Path, prefix: str, depth: int) -> list[str]:
        entries = sorted(
            (e for e in p.iterdir() if not e.name.startswith(".")),
            key=lambda e: (not e.is_dir(), _sort_key(e.name)),
        )
        out = []
        for i, e in enumerate(entries):
            last = i == len(entries) - 1
            branch, slash = ("└── " if last else "├── "), ("/" if e.is_dir() else "")
            out.append(f"{prefix}{branch}{e.name}{slash}")
            if e.is_dir() and depth < max_depth:
                out += walk(e, prefix + ("    " if last else "│   "), depth + 1)
        return out

    return "\n".join([f"{root.as_posix()}/", *walk(root, "", 1)])


def _sort_key(name: str) -> tuple[int, int, str]:
    return (0, int(name), "") if name.isdigit() else (1, 0, name)
