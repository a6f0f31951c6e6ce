"""Promotion: the rules of a :class:`PromotionPolicy`, each :class:`RuleResult`, the
:class:`PromotionResult`, and :class:`AliasChange` (what moving an alias did).

>>> policy = PromotionPolicy(min_recall=0.8, max_size_bytes=100_000)
>>> print(policy)
recall >= 0.80; size <= 97.7 KB
>>> r = PromotionResult("fraud", 2, "production", 1, (RuleResult("recall >= 0.80", True, "0.9"),))
>>> r.ok, r.verdict
(True, 'fraud version 2 -> production: passes the gate (1 rule passed; production was version 1)')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path  # noqa: F401 (the doctests use it)

from course_lib import _checks, _display
from course_lib.errors import InvalidInputError
from course_lib.metrics import METRIC_NAMES, Metrics  # noqa: F401 (Metrics: the doctests)
from course_lib.registry.manifest import VersionInfo


def fraction(name: str, value: object, example: float = 0.8) -> float | None:
    """None, or a number from 0 to 1 (0.8 = 80%).

    >>> fraction("min_recall", 0.8), fraction("min_recall", None)
    (0.8, None)
    """
    if value is None:
        return None
    return _checks.number(name, value, minimum=0, maximum=1, example=example)


@dataclass(frozen=True)
class RuleResult:
    """One rule of a :class:`PromotionPolicy` applied to a version.

    >>> RuleResult("size <= 97.7 KB", False, "size 120.0 KB is larger")
    FAIL  size <= 97.7 KB: size 120.0 KB is larger
    """

    rule: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.rule}: {self.detail}"

    def __repr__(self) -> str:
        return str(self)


@dataclass(frozen=True, repr=False)
class PromotionResult(_display.Report):
    """Every rule of a policy applied to a candidate, and whether the alias moved.

    >>> r = PromotionResult("fraud", 3, "production", 2,
    ...                     (RuleResult("files verify", True, "OK"),
    ...                      RuleResult("recall >= 0.80", False, "recall 0.526 < 0.80")))
    >>> print(r)
    result  rule            detail
    ok      files verify    OK
    FAIL    recall >= 0.80  recall 0.526 < 0.80
    fraud version 3 -> production: REFUSED (1 of 2 rules failed; production was version 2)
    """

    name: str
    version: int
    alias: str
    previous: int | None
    results: tuple[RuleResult, ...]
    applied: bool = False

    @property
    def failures(self) -> tuple[RuleResult, ...]:
        """The rules that failed (all of them, not just the first)."""
        return tuple(r for r in self.results if not r.ok)

    @property
    def ok(self) -> bool:
        """True when every rule passed."""
        return not self.failures

    @property
    def verdict(self) -> str:
        """One line: PROMOTED / passes the gate / REFUSED with the count of failed rules."""
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
        passed = _display.plural(len(self.results), "rule")
        if self.applied:
            return f"{head}: PROMOTED ({passed} passed; {was})"
        return f"{head}: passes the gate ({passed} passed; {was})"

    def table(self) -> tuple[tuple[str, ...], list[list[str]]]:
        """Each rule, ok or FAIL, and what was measured."""
        return ("result", "rule", "detail"), [
            ["ok" if r.ok else "FAIL", r.rule, r.detail] for r in self.results
        ]


@dataclass(frozen=True)
class PromotionPolicy:
    """The rules a version must pass to be promoted: minimum metrics, largest drop, size, latency.

    >>> policy = PromotionPolicy(min_recall=0.8, max_drop=0.01, max_size_bytes=100_000,
    ...                          max_latency_ms=50)
    >>> print(policy)
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
            fraction(k, getattr(self, k))
        if isinstance(self.max_drop, Mapping):
            for k, v in self.max_drop.items():
                if k not in METRIC_NAMES:
                    raise InvalidInputError(
                        f"expected max_drop keys among {list(METRIC_NAMES)}; found {k!r}."
                    )
                fraction(f"max_drop[{k!r}]", v, example=0.01)
        else:
            fraction("max_drop", self.max_drop, example=0.01)
        if self.max_size_bytes is not None:
            _checks.number("max_size_bytes", self.max_size_bytes, positive=True, unit="bytes",
                           example=100_000)
        if self.max_latency_ms is not None:
            _checks.number("max_latency_ms", self.max_latency_ms, positive=True,
                           unit="milliseconds", example=50)

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
            parts.append(f"size <= {_display.size(self.max_size_bytes)}")
        if self.max_latency_ms is not None:
            parts.append(f"latency <= {self.max_latency_ms:g} ms")
        return "; ".join(parts) or "no rules (only the integrity check)"

    def check(self, candidate: VersionInfo, current: VersionInfo | None) -> tuple[RuleResult, ...]:
        """Apply every rule to ``candidate`` against ``current`` (the alias's version now, or None).

        >>> m = Metrics.from_counts(tp=80, fp=20, fn=15, tn=85)
        >>> v = VersionInfo("fraud", 1, Path("r/fraud/1"), "", "test", "ab", 200, 0.5, m, 50_000,
        ...                 0.4, {}, {})
        >>> [r.ok for r in PromotionPolicy(min_recall=0.9, max_size_bytes=60_000).check(v, None)]
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
                    f"size <= {_display.size(self.max_size_bytes)}",
                    ok,
                    f"size {_display.size(candidate.size_bytes)}" + ("" if ok else " is larger"),
                )
            )
        if self.max_latency_ms is not None:
            lat = candidate.latency_ms
            ok = lat is not None and lat <= self.max_latency_ms
            detail = (
                "no latency recorded: publish with a measured latency"
                if lat is None
                else f"latency {_display.milliseconds(lat)}" + ("" if ok else " is slower")
            )
            out.append(RuleResult(f"latency <= {self.max_latency_ms:g} ms", ok, detail))
        return tuple(out)


@dataclass(frozen=True, repr=False)
class AliasChange(_display.Report):
    """An alias moved from one version to another (what :meth:`ModelRegistry.rollback` returns).

    >>> AliasChange("fraud", "production", 2, 1)
    fraud: production moved from version 2 to version 1
    """

    name: str
    alias: str
    old: int | None
    new: int | None

    #: True: the alias moved (a move that cannot be made raises instead).
    ok = True

    @property
    def verdict(self) -> str:
        """``"fraud: production moved from version 2 to version 1"``."""
        old = f"version {self.old}" if self.old else "nothing"
        new = f"version {self.new}" if self.new else "nothing"
        return f"{self.name}: {self.alias} moved from {old} to {new}"
