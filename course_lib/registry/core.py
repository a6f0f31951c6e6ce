"""The registry itself: :class:`ModelRegistry` (paths, listing, reading, verifying, loading,
comparing, deleting; publishing, aliases and promotion, and serving are mixed in from
:mod:`~course_lib.registry.publish`, :mod:`~course_lib.registry.aliases` and
:mod:`~course_lib.registry.serving`).

>>> import tempfile
>>> reg = ModelRegistry(tempfile.mkdtemp())
>>> reg.names(), reg.versions("fraud"), reg.table("fraud").verdict
([], [], 'fraud: no versions yet')
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from course_lib import _fs
from course_lib.errors import (
    AliasInUseError,
    IncomparableVersionsError,
    IntegrityError,
    InvalidInputError,
    InvalidNameError,
    InvalidVersionError,
    RegistryError,
    VersionNotFoundError,
)
from course_lib.metrics import AnyMetrics
from course_lib.registry import signing  # signed versions and alias files (optional keys)
from course_lib.registry.aliases import AliasMethods
from course_lib.registry.evaluation import (
    TASK_WORDS,
    EvalSet,
    check_eval_set,
    measure,
    single_output,
)
from course_lib.registry.manifest import (
    VersionInfo,
    VersionStatus,
    VersionTable,
    info_from_manifest,
    status,
)
from course_lib.registry.names import (
    ALIAS_RE,
    KERAS_FILE,
    MANIFEST_NAME,
    MARKER_NAME,
    NAME_RE,
    VERSION_RE,
    validate_name,
    validate_version,
)
from course_lib.registry.policy import fraction
from course_lib.registry.publish import PublishingMethods
from course_lib.registry.reports import VerifyReport, VersionComparison, check_files, metric_rows
from course_lib.registry.schema import MANIFEST_LIMIT, parse_manifest
from course_lib.registry.serving import ServingMethods
from course_lib.registry.storage import LEFTOVERS, locked, tombstone

if TYPE_CHECKING:  # annotations only
    from course_lib.persistence import LoadedModel


class ModelRegistry(PublishingMethods, AliasMethods, ServingMethods):
    """Numbered model versions under ``root/NAME/VERSION/``, TF Serving's layout.

    >>> import tempfile
    >>> reg = ModelRegistry(tempfile.mkdtemp())
    >>> reg.names(), reg.aliases("fraud")
    ([], {})

    ``root`` is created (with a small marker file) unless ``create=False``, which
    requires an existing folder (what the command line uses).

    Signing (optional, :mod:`~course_lib.registry.signing`): with ``signing_key`` (a
    private key PEM file, see :func:`~course_lib.registry.signing.make_keys`) every published
    version and every change of the aliases is signed (``public_key`` must come with it: a
    registry that signs checks what it reads first); with ``public_key``, :meth:`verify`,
    :meth:`load`, :meth:`promote`, :meth:`set_alias` and :meth:`rollback` refuse whatever
    that key did not sign (:class:`~course_lib.errors.SignatureError`), and reading the
    aliases checks their signature. Without a public key only the sha256 checksums are
    checked: they catch accidents (a flipped byte, a truncated file), not a writer who
    recomputes them.

    In the examples of the methods, ``reg`` is a registry in ``work/registry`` holding
    versions 1 (a small model), 2 (a bigger one, better on every metric) and 3 (trained
    too briefly: recall 0.37) of "fraud", with production at version 1.
    """

    def __init__(self, root: str | os.PathLike[str], *, create: bool = True,
                 signing_key: str | os.PathLike[str] | None = None,
                 public_key: str | os.PathLike[str] | None = None) -> None:
        signing.use_keys(self, signing_key, public_key)  # checked before anything is created
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
            with _fs.disk(f"create the registry folder {self.root}"):
                self.root.mkdir(parents=True)
                _fs.write_atomic(self.root / MARKER_NAME,
                                 "course-lib model registry (TF Serving layout)\n")
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
        if path.is_symlink():  # never followed, even to a place inside the root
            raise InvalidNameError(
                f"expected every registry path to stay inside {self.root} as a real folder or "
                f"file; {path} is a symbolic link (to {os.readlink(path)}), and the registry "
                "never follows links. Fix: remove the link (rm, not rm -r); the registry only "
                "holds what it wrote."
            )
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
            with _fs.disk(f"create the model folder {d}"):
                d.mkdir(exist_ok=True)
        if d.exists() or d.is_symlink():
            self._inside(d)
        return d

    def path(self, name: str, ref: int | str) -> Path:
        """The folder of a version (or of the version an alias points to).

        >>> reg.path("fraud", 2), reg.path("fraud", "production")
        (PosixPath('work/registry/fraud/2'), PosixPath('work/registry/fraud/1'))
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
            for e in _fs.scandir(self.root)
            if NAME_RE.fullmatch(e.name) and e.is_dir(follow_symlinks=False)
        )

    def _numbered(self, name: str) -> list[os.DirEntry[str]]:
        d = self._model_dir(name)
        if not d.is_dir():
            return []
        return [e for e in _fs.scandir(d) if VERSION_RE.fullmatch(e.name)]

    def scan(self, name: str) -> tuple[VersionStatus, ...]:
        """Every numbered folder of a model and whether it is a complete version (no hashing).

        A folder without ``saved_model.pb`` or without a manifest (copied by hand, say)
        is reported invalid with the reason; :meth:`versions` leaves it out.

        >>> ModelRegistry(__import__("tempfile").mkdtemp()).scan("fraud")
        ()
        """
        out = [
            status(int(e.name), e.path, e.is_symlink(), e.is_dir()) for e in self._numbered(name)
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
        if isinstance(ref, str) and ALIAS_RE.fullmatch(ref):  # aliases start with a letter
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
        folder = status(version, str(d), d.is_symlink(), d.is_dir())
        if not folder.valid:
            raise InvalidVersionError(
                f"expected {name} version {version} to be a complete registry version; it is not: "
                f"{folder.reason}. Fix: delete the folder {d} or publish the model again."
            )
        try:
            raw = _fs.read_file(d / MANIFEST_NAME, MANIFEST_LIMIT, InvalidVersionError)
        except FileNotFoundError:
            raise VersionNotFoundError(
                f"expected {name} version {version} in {self.root}; it was deleted while being "
                f"read. Fix: pick another version (course-lib registry list {self.root} {name})."
            ) from None
        # cheap: the manifest's own checksum and fields, no model file is read
        read = parse_manifest(raw, name, version)
        if read.kind == "changed":
            raise IntegrityError(
                f"expected {name} version {version}'s {MANIFEST_NAME} to match its own checksum; it "
                "does not: it was edited after publishing, so its metrics cannot be trusted. Fix: "
                f"course-lib registry verify {self.root} {name} {version}, then restore the version "
                "or publish it again."
            )
        if not read.ok:
            raise InvalidVersionError(
                f"expected {d / MANIFEST_NAME} to be the manifest of {name} version {version}; "
                f"it is not: {read.problem}. Fix: course-lib registry verify {self.root} {name} "
                f"{version} shows what changed; restore the folder or delete it."
            )
        assert read.data is not None
        return d, read.data

    def get(self, name: str, ref: int | str) -> VersionInfo:
        """The manifest of a version (or alias) as a :class:`VersionInfo`; nothing is loaded.

        >>> info = reg.get("fraud", "production")
        >>> info.version, info.aliases, round(info.metrics.recall, 3)
        (1, ('production',), 1.0)
        """
        version = self.resolve(name, ref)
        d, data = self._read_manifest(name, version)
        aliases = tuple(k for k, v in self.aliases(name).items() if v == version)
        return info_from_manifest(data, d, aliases)

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
            except (InvalidVersionError, IntegrityError, VersionNotFoundError) as exc:
                why = str(exc).split("; ", 1)[1].split(". Fix:")[0]
                invalid.append(VersionStatus(
                    s.version, False, f"{MANIFEST_NAME} unreadable or changed: {why}"))
                continue
            rows.append(
                info_from_manifest(data, d, tuple(k for k, v in aliases.items() if v == s.version))
            )
        return VersionTable(validate_name(name), tuple(rows), tuple(invalid))

    def metrics(self, name: str) -> dict[str, AnyMetrics]:
        """``{"version 1": Metrics, ...}`` for every version; they must share one evaluation set.

        Each value is the metrics of the version's task (all versions must share it).

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
        tasks = sorted({v.task for v in rows})
        if len(tasks) > 1:
            raise IncomparableVersionsError(
                f"expected every version of {name!r} to measure one task; found {tasks}. "
                "Fix: publish models of different tasks under different names."
            )
        return {v.label: v.metrics for v in rows}

    # -- verifying ----------------------------------------------------------------------------

    def verify(self, name: str, ref: int | str) -> VerifyReport:
        """Check every file of a version against its manifest: sha256, size, none missing or extra.

        >>> reg.verify("fraud", 2).ok
        True
        """
        version = self.resolve(name, ref)
        report = check_files(name, version, self._version_dir(name, version))
        return signing.checked(self, report)  # and the signature, with a public key

    def verify_all(self, name: str) -> tuple[VerifyReport, ...]:
        """:meth:`verify` for every numbered folder of a model (invalid ones included).

        A model that was never published is a :class:`VersionNotFoundError`.

        >>> reg.verify_all("fraud")[0].ok
        True
        """
        self._published_dir(name)
        return tuple(self.verify(name, s.version) for s in self.scan(name))

    # -- loading ------------------------------------------------------------------------------

    def load(self, name: str, ref: int | str, format: str = "savedmodel") -> LoadedModel:
        """Verify a version, then load it (``"savedmodel"``, or ``"keras"`` if it has that file).

        Loading keeps Keras's ``safe_mode`` on: a model with embedded Python code is refused.

        >>> reg.load("fraud", "production").predict(x_test[:2]).round(2)
        array([[0.49],
               [0.74]], dtype=float32)
        """
        from course_lib import persistence

        version = self.resolve(name, ref)
        self.verify(name, version).raise_if_failed("loading it")
        d = self._version_dir(name, version)
        if format == "savedmodel":
            return persistence.load(d, "savedmodel")
        if format == "keras":
            if not (d / KERAS_FILE).is_file():
                raise VersionNotFoundError(
                    f"expected a .keras file in {name} version {version}; it has only the "
                    "SavedModel. "
                    "Fix: load it as format='savedmodel', or publish with keras_file=True."
                )
            return persistence.load(d / KERAS_FILE, "keras", safe_mode=True)
        raise InvalidInputError(f"expected format 'savedmodel' or 'keras'; found {format!r}.")

    def evaluate(
        self, name: str, ref: int | str, eval_set: EvalSet, threshold: float | None = None
    ) -> AnyMetrics:
        """Load a version and compute its metrics on ``eval_set`` (a binary classifier's at
        its recorded threshold), for the task the version was published with.

        >>> round(reg.evaluate("fraud", 2, EvalSet("fraud test", x_test, y_test)).recall, 3)
        1.0
        """
        check_eval_set(eval_set)
        info = self.get(name, ref)
        if eval_set.task is not None and eval_set.task != info.task:
            raise InvalidInputError(
                f"expected an evaluation set of {TASK_WORDS[info.task]} ({name} version "
                f"{info.version}'s task); found task={eval_set.task!r}. Fix: leave task= out, or "
                "evaluate a version of that task."
            )
        loaded = self.load(name, info.version)
        t = (info.threshold if info.threshold is not None else 0.5) if threshold is None \
            else threshold
        out = single_output(loaded.predict(eval_set.x), f"{name} version {info.version}")
        return measure(eval_set, out, t, task=info.task)

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

        The metrics are those of the versions' task (a binary classifier's four metrics
        and counts, a multi-class one's accuracy and macro averages, a regression's errors
        and R²). ``tolerance`` is the largest drop still called stable: in points for a
        classifier (0.01), relative for a regression's errors (0.01 = 1% larger) and in
        points for its R². Versions of different tasks, or evaluated on different data
        (different fingerprints), are refused (:class:`IncomparableVersionsError`); the
        latter unless ``allow_different_data=True``, which shows them side by side flagged
        NOT COMPARABLE.

        >>> reg.compare("fraud", 1, 2).verdict
        'NO REGRESSION: version 2 is improved or stable on every metric compared with version 1 ...'
        """
        tol = fraction("tolerance", tolerance, example=0.01)
        va, vb = self.get(name, a), self.get(name, b)
        classes = [v.metrics.class_names if v.task == "multiclass" else None for v in (va, vb)]
        if va.task != vb.task or classes[0] != classes[1]:
            what = (f"version {va.version} is {TASK_WORDS[va.task]}, version {vb.version} "
                    f"{TASK_WORDS[vb.task]}" if va.task != vb.task else
                    f"version {va.version} has the classes {list(va.metrics.class_names)}, "
                    f"version {vb.version} {list(vb.metrics.class_names)}")
            raise IncomparableVersionsError(
                f"expected {name} versions {va.version} and {vb.version} to measure the same "
                f"task; {what}: their metrics are not the same quantities. Fix: compare "
                "versions of one task (publish models of different tasks under different names)."
            )
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
        rows = metric_rows(va.metrics, vb.metrics, tol or 0.0)
        return VersionComparison(va, vb, rows, tol or 0.0, same)

    # -- deleting -----------------------------------------------------------------------------

    def delete(self, name: str, version: int | str) -> None:
        """Delete a version no alias points to. Its number is never given out again.

        >>> reg.delete("fraud", 3)
        >>> reg.versions("fraud")
        [1, 2]
        """
        v = validate_version(version)
        d = self._version_dir(name, v)
        model_dir = self._model_dir(name)
        with locked(model_dir):
            if not os.path.lexists(d):  # another process deleted it while this one waited
                raise VersionNotFoundError(
                    f"expected {name} version {v} to exist; another process deleted it just now."
                    f" Fix: nothing to do (course-lib registry list {self.root} {name})."
                )
            using = sorted(k for k, x in self._read_aliases(name)["aliases"].items() if x == v)
            if using:
                raise AliasInUseError(
                    f"expected no alias to point at {name} version {v} before deleting it; "
                    f"{', '.join(using)} {'does' if len(using) == 1 else 'do'}. Fix: move the "
                    "alias first "
                    "(promote another version, or remove_alias)."
                )
            tombstone(model_dir, v)
            trash = model_dir / f".trash-{v}-{_fs.owner_tag()}-{secrets.token_hex(4)}"
            with _fs.disk(f"move {d} out of the way to delete it"):
                os.rename(d, trash)
            _fs.fsync_dir(model_dir)
        with contextlib.suppress(OSError):  # what stays is removed by the next write
            _fs.remove(trash)

    def clean_staging(self, name: str, older_than: float | None = None) -> int:
        """Remove what killed writers left in a model's folder; returns how many entries.

        Staging folders, trash of deletes and temporary alias files are hidden and never
        read. Each is named with its writer's process (``.staging-PID@HOST-...``), and every
        write (publish, alias change, delete) already removes those whose process no longer
        exists, never one of a live process: this does the same on demand. ``older_than``
        (seconds) also removes older ones of any writer, live or not, and those of older
        registries whose names carry no process.

        >>> ModelRegistry(__import__("tempfile").mkdtemp()).clean_staging("fraud")
        0
        """
        d = self._model_dir(name)
        if not d.is_dir():
            return 0
        removed = len(_fs.remove_leftovers(d, LEFTOVERS))
        if older_than is None:
            return removed
        now = time.time()
        for e in _fs.scandir(d):
            if (e.name.startswith(LEFTOVERS + ("..staging-",))
                    and now - e.stat(follow_symlinks=False).st_mtime >= older_than):
                with contextlib.suppress(OSError):
                    _fs.remove(Path(e.path))
                    removed += 1
        return removed
