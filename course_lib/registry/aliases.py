"""Aliases and promotion: ``aliases.json`` (read, replaced whole under a lock), set and remove
an alias, check and apply a :class:`~course_lib.registry.PromotionPolicy`, roll back
(mixed into :class:`~course_lib.registry.ModelRegistry`).

>>> reg.aliases("fraud")                      # a registry with versions 1 to 3 of "fraud"
{'production': 1}
>>> reg.promote("fraud", 2, policy=PromotionPolicy(min_recall=0.8)).verdict
'fraud version 2 -> production: PROMOTED (2 rules passed; production was version 1)'
>>> reg.rollback("fraud")
fraud: production moved from version 2 to version 1

Every change of ``aliases.json`` happens under the model folder's lock and replaces the
file whole (temporary file, fsync, rename): a reader sees the old aliases or the new.
The file also keeps each alias's history, which :meth:`AliasMethods.rollback` walks back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from course_lib import _fs
from course_lib.errors import (
    InvalidInputError,
    PromotionRefusedError,
    RefusedError,
    RegistryError,
    RollbackRefusedError,
    VersionNotFoundError,
)
from course_lib.registry import signing  # signed alias files (optional keys)
from course_lib.registry.names import (
    ALIASES_NAME,
    MANIFEST_NAME,
    SAVED_MODEL,
    validate_alias,
)
from course_lib.registry.policy import AliasChange, PromotionPolicy, PromotionResult, RuleResult
from course_lib.registry.schema import ALIASES_LIMIT, read_aliases_state
from course_lib.registry.storage import canonical, crash_point, locked, now, write_atomic


class AliasMethods:
    """The alias and promotion methods of :class:`~course_lib.registry.ModelRegistry` (a mixin).

    >>> AliasMethods.promote.__name__
    'promote'

    They use its ``_model_dir``, :meth:`resolve`, :meth:`verify`, :meth:`get` and
    :meth:`versions`.
    """

    def _published_dir(self, name: str) -> Any:
        """The model's folder; a clear error when the model was never published here."""
        d = self._model_dir(name)
        if not d.is_dir():
            known = ", ".join(self.names()) or "none"
            raise VersionNotFoundError(
                f"expected a model named {name!r} in {self.root}; nothing was ever published "
                f"under that name (models: {known}). Fix: check the name, or publish the model "
                "first."
            )
        return d

    def _read_aliases(self, name: str) -> dict[str, Any]:
        p = self._model_dir(name) / ALIASES_NAME
        try:  # bounded, never through a link; a folder or a crafted file is refused
            raw = _fs.read_file(p, ALIASES_LIMIT, RegistryError)
        except FileNotFoundError:
            return {"aliases": {}, "history": {}}
        state, why = read_aliases_state(raw)
        if state is None:
            raise RegistryError(
                f"expected {p} to hold the aliases as JSON; it cannot be read ({why}). "
                "Fix: restore it from a backup, or delete it and set the aliases again."
            )
        signing.check_aliases(self, name, p, raw)  # with a public key: signed by its key
        return state

    def _write_aliases(self, name: str, state: Mapping[str, Any]) -> None:
        body = {
            "aliases": dict(sorted(state["aliases"].items())),
            "history": dict(sorted(state["history"].items())),
            "updated": now(),
        }
        body = signing.seal_aliases(self, name, body)  # with a signing key: signed
        write_atomic(
            self._model_dir(name) / ALIASES_NAME, canonical(body), crash_at="aliases-temp-written"
        )
        crash_point("aliases-replaced")

    def aliases(self, name: str) -> dict[str, int]:
        """``{"production": 2, "candidate": 3}``: the aliases of a model.

        >>> import tempfile
        >>> from course_lib.registry import ModelRegistry
        >>> ModelRegistry(tempfile.mkdtemp()).aliases("fraud")
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

    def _still_there(self, name: str, version: int, alias: str) -> None:
        """Under the lock, before ``alias`` moves: the version still exists, is complete and
        its manifest holds (cheap: no model file is hashed; that was done before the lock)."""
        try:
            self._read_manifest(name, version)
        except VersionNotFoundError:
            raise VersionNotFoundError(
                f"expected {name} version {version} to exist while pointing {alias!r} at it; "
                f"another process deleted it meanwhile, so {alias!r} did not move. Fix: pick "
                f"another version (course-lib registry list {self.root} {name})."
            ) from None

    def set_alias(self, name: str, alias: str, ref: int | str) -> AliasChange:
        """Point an alias at a version (verified first), atomically. No policy: see :meth:`promote`.

        >>> reg.set_alias("fraud", "candidate", 3)
        fraud: candidate moved from nothing to version 3
        """
        alias = validate_alias(alias)
        version = self.resolve(name, ref)
        self.verify(name, version).raise_if_failed(f"pointing {alias!r} at it")
        with locked(self._model_dir(name)):
            self._still_there(name, version, alias)
            state = self._read_aliases(name)
            old = self._move_alias(name, alias, version, state)
        return AliasChange(name, alias, old, version)

    def remove_alias(self, name: str, alias: str) -> AliasChange:
        """Remove an alias (its history is kept).

        >>> reg.set_alias("fraud", "candidate", 3)
        fraud: candidate moved from nothing to version 3
        >>> reg.remove_alias("fraud", "candidate")
        fraud: candidate moved from version 3 to nothing
        """
        alias = validate_alias(alias)
        with locked(self._published_dir(name)):
            state = self._read_aliases(name)
            if alias not in state["aliases"]:
                raise VersionNotFoundError(
                    f"expected {alias!r} to be an alias of {name!r}; it is not."
                )
            old = state["aliases"].pop(alias)
            self._write_aliases(name, state)
        return AliasChange(name, alias, old, None)

    def check_gate(self, name: str, ref: int | str, policy: PromotionPolicy | None = None,
                   alias: str = "production") -> PromotionResult:
        """Apply a policy to a version without moving anything (a dry run of :meth:`promote`).

        >>> print(reg.check_gate("fraud", 3, PromotionPolicy(min_recall=0.8)))
        result  rule            detail
        ok      files verify    OK (5 files match the sha256 and size in the manifest); checksums only: they catch accidents, not someone who recomputes them
        FAIL    recall >= 0.80  recall 0.741 < 0.80
        fraud version 3 -> production: REFUSED (1 of 2 rules failed; production was version 1)
        """
        alias = validate_alias(alias)
        if policy is not None and not isinstance(policy, PromotionPolicy):
            raise InvalidInputError(
                f"expected a PromotionPolicy or None; found {type(policy).__name__}. "
                "Fix: policy=PromotionPolicy(min_recall=0.8, max_drop=0.01)."
            )
        version = self.resolve(name, ref)
        report = self.verify(name, version)
        signing.refuse_unsigned(report, "applying the promotion policy to it")  # public key
        results = [RuleResult("files verify", report.ok, report.verdict.split(": ", 1)[1])]
        current_version = self.aliases(name).get(alias)
        manifest_intact = not any(p.path == MANIFEST_NAME for p in report.problems)
        if (
            policy is not None
            and manifest_intact
            and (self._model_dir(name) / str(version) / SAVED_MODEL).is_file()
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
            for r in policy.check(candidate, current):
                drop_rule = r.rule.startswith("no metric drops")
                results.append(
                    RuleResult(r.rule, False, unreadable) if unreadable and drop_rule else r
                )
        return PromotionResult(name, version, alias, current_version, tuple(results))

    def promote(self, name: str, ref: int | str, policy: PromotionPolicy | None = None,
                alias: str = "production") -> PromotionResult:
        """Move ``alias`` (production) to a version that verifies and passes every rule of a policy.

        A refusal raises :class:`PromotionRefusedError` whose message and ``.result``
        list every failed rule; the alias does not move. The alias's history is kept
        for :meth:`rollback`.

        >>> reg.promote("fraud", 2, policy=PromotionPolicy(min_recall=0.8))
        result  rule            detail
        ok      files verify    OK (6 files match the sha256 and size in the manifest); checksums only: they catch accidents, not someone who recomputes them
        ok      recall >= 0.80  recall 1.000
        fraud version 2 -> production: PROMOTED (2 rules passed; production was version 1)
        """
        result = self.check_gate(name, ref, policy, alias)
        if not result.ok:
            raise PromotionRefusedError(
                f"expected {name} version {result.version} to pass every rule to become {alias}; "
                f"{len(result.failures)} failed: "
                + "; ".join(f"{r.rule} ({r.detail})" for r in result.failures)
                + f". {alias.capitalize()} stays at "
                + (f"version {result.previous}" if result.previous else "nothing")
                + ". Fix: for a rule on metrics, size or latency, publish an improved version; "
                "if the "
                "files failed to verify, restore them from a trusted copy.",
                result,
            )
        with locked(self._model_dir(name)):
            state = self._read_aliases(name)
            if state["aliases"].get(alias) != result.previous:
                raise RefusedError(
                    f"expected {alias} to still point at version {result.previous} while "
                    "promoting; "
                    f"another process moved it to {state['aliases'].get(alias)}. Fix: check again "
                    "and retry."
                )
            self._still_there(name, result.version, alias)
            self._move_alias(name, alias, result.version, state)
        return replace(result, applied=True)

    def rollback(self, name: str, alias: str = "production") -> AliasChange:
        """Move ``alias`` back to the version it pointed to before the current one.

        The target must still exist and verify. Rolling back again goes one step further back.

        >>> reg.promote("fraud", 2).verdict
        'fraud version 2 -> production: PROMOTED (1 rule passed; production was version 1)'
        >>> reg.rollback("fraud")
        fraud: production moved from version 2 to version 1
        """
        alias = validate_alias(alias)
        with locked(self._published_dir(name)):
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

