"""The promotion gate: :class:`Gate` rules, their :class:`RuleResult`, the :class:`GateDecision`,
and :class:`AliasChange` (what moving an alias did)."""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path  # noqa: F401 (the doctests use it)

from course_lib.errors import InvalidInputError
from course_lib.metrics import METRIC_NAMES, Metrics  # noqa: F401 (Metrics: the doctests)
from course_lib.registry.formatting import _GREEN, _LEFT, _RED, _kb, _ms, _plural
from course_lib.registry.manifest import VersionInfo


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
