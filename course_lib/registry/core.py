"""The registry itself: :class:`ModelRegistry` (paths, listing, reading, verifying, loading,
comparing, aliases, promotion, rollback, deleting; publishing and serving are mixed in
from :mod:`~course_lib.registry.publish` and :mod:`~course_lib.registry.serving`)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from course_lib.errors import InvalidInputError
from course_lib.metrics import METRIC_NAMES, MetricDelta, Metrics
from course_lib.registry.errors import (
    AliasInUseError,
    IncomparableVersionsError,
    InvalidNameError,
    InvalidVersionError,
    PromotionRefusedError,
    RefusedError,
    RegistryError,
    RollbackRefusedError,
    VersionNotFoundError,
)
from course_lib.registry.gate import AliasChange, Gate, GateDecision, RuleResult, _fraction
from course_lib.registry.manifest import (
    EvalSet,
    VersionInfo,
    VersionStatus,
    VersionTable,
    _info_from_manifest,
    _status,
)
from course_lib.registry.names import (
    ALIASES_NAME,
    MANIFEST_NAME,
    MARKER_NAME,
    _ALIAS_RE,
    _KERAS_FILE,
    _NAME_RE,
    _SAVED_MODEL,
    _VERSION_RE,
    validate_alias,
    validate_name,
    validate_version,
)
from course_lib.registry.publish import _Publishing, _check_eval_set
from course_lib.registry.reports import FileProblem, VerifyReport, VersionComparison
from course_lib.registry.serving import _Serving
from course_lib.registry.storage import (
    _atomic_write,
    _canonical,
    _checksum_ok,
    _crash_point,
    _fsync_dir,
    _hash_file,
    _locked,
    _manifest_bytes,
    _now,
    _walk,
)

if TYPE_CHECKING:  # annotations only
    from course_lib.persistence import LoadedModel


class ModelRegistry(_Publishing, _Serving):
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
