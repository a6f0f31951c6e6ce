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
from course_lib.metrics import Metrics  # noqa: F401 (the doctests)
from course_lib.registry.evaluation import (
    ALL_METRICS,
    ERRORS,
    TASK_METRICS,
    TASK_WORDS,
    task_metric_names,
)
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


#: A rule each task can hold (for messages).
EXAMPLE_RULES = {"binary": "min_f1=0.8", "multiclass": "min_macro_f1=0.8",
                 "regression": "max_rmse=60"}
#: The keyword arguments of a policy that are not floors or ceilings of a metric.
OTHER_RULES = ("max_gap", "max_drop", "max_size_bytes", "max_latency_ms")
#: The two metrics ``max_gap`` keeps close, per task (a regression has none).
GAP_METRICS = {"binary": ("precision", "recall"),
               "multiclass": ("macro_precision", "macro_recall")}


def _bound(key: str, metric: str, value: object) -> float:
    """A floor or ceiling checked for its metric: a fraction, R² (at most 1), or an error (>= 0)."""
    if metric in ERRORS:
        return _checks.number(key, value, minimum=0, example=50)
    if metric == "r2":
        return _checks.number(key, value, maximum=1, example=0.5)
    return fraction(key, value)  # type: ignore[return-value]


def _shown(metric: str, value: float) -> str:
    return f"{value:g}" if metric in ERRORS or metric == "r2" else f"{value:.2f}"


def _measured(metric: str, value: float) -> str:
    return f"{value:.4g}" if metric in ERRORS or metric == "r2" else f"{value:.3f}"


@dataclass(frozen=True, init=False, repr=False)
class PromotionPolicy:
    """The rules a version must pass to be promoted: floors and ceilings on metrics, largest
    drop, size, latency.

    >>> policy = PromotionPolicy(min_recall=0.8, max_drop=0.01, max_size_bytes=100_000,
    ...                          max_latency_ms=50)
    >>> print(policy)
    recall >= 0.80; no metric more than 0.01 below production; size <= 97.7 KB; latency <= 50 ms
    >>> print(PromotionPolicy({"min_macro_f1": 0.8}), "|", PromotionPolicy(max_rmse=60, min_r2=0.3))
    macro_f1 >= 0.80 | rmse <= 60; r2 >= 0.3

    A floor is ``min_<metric>``, a ceiling ``max_<metric>``, on any metric a manifest
    records: a classifier's ``accuracy``, ``precision``, ``recall``, ``f1`` (macro averages
    for a multi-class model, also named ``macro_precision``, ``macro_recall``,
    ``macro_f1``), a regression's ``mae``, ``rmse``, ``max_error`` (in the target's units)
    and ``r2``; as keyword arguments or a mapping. A rule on a metric the version's task
    does not record is refused when the policy is checked against that version.

    ``max_gap`` asks for precision and recall to be **balanced**: ``|precision - recall|``
    at most this much (macro averages for a multi-class model; a regression has neither).

    >>> print(PromotionPolicy(min_precision=0.8, min_recall=0.8, max_gap=0.05))
    recall >= 0.80; precision >= 0.80; |precision - recall| <= 0.05

    ``max_drop`` is the largest allowed drop of any metric of the task against the version
    the alias points to now, as a fraction (0.01 = one point; for a regression's errors,
    relative: 0.05 = 5% larger), or a dict per metric. It also requires both versions to
    measure the same task on the same data. Every rule is checked; a refusal lists every
    one that failed. The registry adds one more rule itself: the files must verify.
    """

    minimums: Mapping[str, float]
    maximums: Mapping[str, float]
    max_gap: float | None
    max_drop: float | Mapping[str, float] | None
    max_size_bytes: int | None
    max_latency_ms: float | None

    def __init__(self, rules: Mapping[str, object] | None = None, /, *,
                 max_gap: float | None = None,
                 max_drop: float | Mapping[str, float] | None = None,
                 max_size_bytes: int | None = None, max_latency_ms: float | None = None,
                 **metric_rules: float | None) -> None:
        if rules is not None and not isinstance(rules, Mapping):
            raise InvalidInputError(
                f"expected the rules as a mapping of names to values; found "
                f"{type(rules).__name__}. Fix: PromotionPolicy({{'min_macro_f1': 0.8}}) or "
                "PromotionPolicy(min_macro_f1=0.8)."
            )
        given = dict(rules or {})
        twice = sorted(set(given) & set(metric_rules))
        if twice:
            raise InvalidInputError(
                f"expected each rule once; found {', '.join(twice)} in the mapping and as a "
                "keyword argument. Fix: give it once."
            )
        given.update(metric_rules)
        other = {"max_gap": max_gap, "max_drop": max_drop, "max_size_bytes": max_size_bytes,
                 "max_latency_ms": max_latency_ms}
        for key in OTHER_RULES:
            if key in given:
                if other[key] is not None:
                    raise InvalidInputError(f"expected {key} once; found it twice. Fix: give it once.")
                other[key] = given.pop(key)  # type: ignore[assignment]
        bounds: dict[str, dict[str, float]] = {"min": {}, "max": {}}
        for key, value in given.items():
            kind, _, metric = str(key).partition("_")
            if kind not in bounds or metric not in ALL_METRICS:
                raise InvalidInputError(
                    f"expected rules named min_<metric> or max_<metric>, with a metric among "
                    f"{', '.join(ALL_METRICS)} (or {', '.join(OTHER_RULES)}); found {key!r}. "
                    "Fix: e.g. min_recall=0.8, min_macro_f1=0.8, max_rmse=60."
                )
            if value is not None:
                bounds[kind][metric] = _bound(key, metric, value)
        order = {m: i for i, m in enumerate(ALL_METRICS)}
        bounds = {kind: dict(sorted(rules.items(), key=lambda kv: order[kv[0]]))
                  for kind, rules in bounds.items()}
        drop = other["max_drop"]
        if isinstance(drop, Mapping):
            for k, v in drop.items():
                if k not in ALL_METRICS:
                    raise InvalidInputError(
                        f"expected max_drop keys among {list(ALL_METRICS)}; found {k!r}."
                    )
                fraction(f"max_drop[{k!r}]", v, example=0.01)
            drop = dict(drop)
        else:
            fraction("max_drop", drop, example=0.01)
        fraction("max_gap", other["max_gap"], example=0.05)
        if other["max_size_bytes"] is not None:
            _checks.number("max_size_bytes", other["max_size_bytes"], positive=True,
                           unit="bytes", example=100_000)
        if other["max_latency_ms"] is not None:
            _checks.number("max_latency_ms", other["max_latency_ms"], positive=True,
                           unit="milliseconds", example=50)
        for name, value in (("minimums", bounds["min"]), ("maximums", bounds["max"]),
                            ("max_gap", fraction("max_gap", other["max_gap"])),
                            ("max_drop", drop), ("max_size_bytes", other["max_size_bytes"]),
                            ("max_latency_ms", other["max_latency_ms"])):
            object.__setattr__(self, name, value)

    def __getattr__(self, key: str) -> float | None:
        """``policy.min_recall``, ``policy.max_rmse``: a floor or ceiling, or None."""
        kind, _, metric = key.partition("_")
        if kind in ("min", "max") and metric in ALL_METRICS:
            return (self.minimums if kind == "min" else self.maximums).get(metric)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r}")

    def __repr__(self) -> str:
        args = [f"min_{k}={v!r}" for k, v in self.minimums.items()]
        args += [f"max_{k}={v!r}" for k, v in self.maximums.items()]
        args += [f"{k}={getattr(self, k)!r}" for k in OTHER_RULES if getattr(self, k) is not None]
        return f"PromotionPolicy({', '.join(args)})"

    def _drops(self, task: str) -> dict[str, float]:
        if self.max_drop is None:
            return {}
        if isinstance(self.max_drop, Mapping):
            return {k: float(v) for k, v in self.max_drop.items()}
        return {k: float(self.max_drop) for k in TASK_METRICS[task] if "macro_" not in k}

    def _bounds(self) -> list[tuple[str, str, float]]:
        """(metric, ">=" or "<=", value) of every floor and ceiling, in display order."""
        rules = [(k, ">=", v) for k, v in self.minimums.items()]
        rules += [(k, "<=", v) for k, v in self.maximums.items()]
        order = {m: i for i, m in enumerate(ALL_METRICS)}
        return sorted(rules, key=lambda r: (order[r[0]], r[1] == "<="))

    def __str__(self) -> str:
        parts = [f"{k} {op} {_shown(k, v)}" for k, op, v in self._bounds()]
        if self.max_gap is not None:
            parts.append(f"|precision - recall| <= {self.max_gap:g}")
        if isinstance(self.max_drop, Mapping):
            parts.append(
                "no drop below production beyond "
                + ", ".join(f"{k} {v:g}" for k, v in self.max_drop.items())
            )
        elif self.max_drop is not None:
            parts.append(f"no metric more than {self.max_drop:g} below production")
        if self.max_size_bytes is not None:
            parts.append(f"size <= {_display.size(self.max_size_bytes)}")
        if self.max_latency_ms is not None:
            parts.append(f"latency <= {self.max_latency_ms:g} ms")
        return "; ".join(parts) or "no rules (only the integrity check)"

    def check_task(self, version: VersionInfo) -> None:
        """Refuse the policy for ``version`` if a rule names a metric its task does not record.

        >>> m = Metrics.from_counts(tp=80, fp=20, fn=15, tn=85)
        >>> v = VersionInfo("fraud", 1, Path("r/fraud/1"), "", "test", "ab", 200, 0.5, m, 50_000,
        ...                 0.4, {}, {})
        >>> PromotionPolicy(max_rmse=60).check_task(v)
        Traceback (most recent call last):
        ...
        course_lib.errors.InvalidInputError: expected the policy's rules to name metrics that fraud version 1 records (a binary classifier: accuracy, precision, recall, f1); found rmse <= 60. Fix: a rule on accuracy, precision, recall or f1 (e.g. min_f1=0.8), or check this policy against a regression.
        """
        task = version.task
        known = TASK_METRICS[task]
        wrong = [f"{k} {op} {_shown(k, v)}" for k, op, v in self._bounds() if k not in known]
        if isinstance(self.max_drop, Mapping):
            wrong += [f"max_drop[{k!r}]" for k in self.max_drop if k not in known]
        if self.max_gap is not None and task not in GAP_METRICS:
            wrong.append(f"|precision - recall| <= {self.max_gap:g}")
        if not wrong:
            return
        names = [k for k in known if "macro_" not in k]
        others = sorted({t for t, ms in TASK_METRICS.items() for k, _, _ in self._bounds()
                         if k in ms and k not in known} - {task})
        elsewhere = f", or check this policy against {' or '.join(TASK_WORDS[t] for t in others)}" \
            if others else ""
        raise InvalidInputError(
            f"expected the policy's rules to name metrics that {version.name} version "
            f"{version.version} records ({TASK_WORDS[task]}: {task_metric_names(task)}); found "
            f"{', '.join(wrong)}. Fix: a rule on {', '.join(names[:-1])} or {names[-1]} (e.g. "
            f"{EXAMPLE_RULES[task]}){elsewhere}."
        )

    def check(self, candidate: VersionInfo, current: VersionInfo | None) -> tuple[RuleResult, ...]:
        """Apply every rule to ``candidate`` against ``current`` (the alias's version now, or None).

        >>> m = Metrics.from_counts(tp=80, fp=20, fn=15, tn=85)
        >>> v = VersionInfo("fraud", 1, Path("r/fraud/1"), "", "test", "ab", 200, 0.5, m, 50_000,
        ...                 0.4, {}, {})
        >>> [r.ok for r in PromotionPolicy(min_recall=0.9, max_size_bytes=60_000).check(v, None)]
        [False, True]
        """
        self.check_task(candidate)
        out = []
        for k, op, bound in self._bounds():
            value = candidate.metrics.get(k)
            ok = value >= bound - 1e-12 if op == ">=" else value <= bound + 1e-12
            worse = "<" if op == ">=" else ">"
            out.append(RuleResult(f"{k} {op} {_shown(k, bound)}", ok,
                                  f"{k} {_measured(k, value)}"
                                  + ("" if ok else f" {worse} {_shown(k, bound)}")))
        if self.max_gap is not None:
            out.append(self._gap_rule(candidate))
        drops = self._drops(candidate.task)
        if drops:
            out.append(self._drop_rule(candidate, current, drops))
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

    def _gap_rule(self, candidate: VersionInfo) -> RuleResult:
        """|precision - recall| <= max_gap: the two are balanced."""
        assert self.max_gap is not None
        p_name, r_name = GAP_METRICS[candidate.task]
        p, r = candidate.metrics.get(p_name), candidate.metrics.get(r_name)
        gap = abs(p - r)
        ok = gap <= self.max_gap + 1e-12
        return RuleResult(f"|precision - recall| <= {self.max_gap:g}", ok,
                          f"precision {p:.3f}, recall {r:.3f}: gap {gap:.3f}"
                          + ("" if ok else f" > {self.max_gap:g}"))

    @staticmethod
    def _drop_rule(candidate: VersionInfo, current: VersionInfo | None,
                   drops: Mapping[str, float]) -> RuleResult:
        rule = "no metric drops too far below the current version"
        if current is None:
            return RuleResult(rule, True, "no current version to compare with (first promotion)")
        if current.task != candidate.task:
            return RuleResult(rule, False, (
                f"cannot compare: version {current.version} is {TASK_WORDS[current.task]}, "
                f"version {candidate.version} {TASK_WORDS[candidate.task]}; their metrics are "
                "not the same quantities"))
        if current.eval_fingerprint != candidate.eval_fingerprint:
            return RuleResult(rule, False, (
                f"cannot compare: version {current.version} was evaluated on "
                f"{current.eval_name!r} ({current.eval_fingerprint[:12]}), version "
                f"{candidate.version} on {candidate.eval_name!r} "
                f"({candidate.eval_fingerprint[:12]}); evaluate both on the same set"))
        moved = {k: candidate.metrics.get(k) - current.metrics.get(k) for k in drops}
        allowed = {k: drops[k] * abs(current.metrics.get(k)) if k in ERRORS else drops[k]
                   for k in drops}
        bad = [k for k in drops
               if (moved[k] if k in ERRORS else -moved[k]) > allowed[k] + 1e-12]

        def shown(k: str) -> str:
            if k in ERRORS:
                return f"{k} {moved[k]:+.4g}" + (
                    f" (allowed +{allowed[k]:.4g}, {drops[k]:.0%})" if k in bad else "")
            f = "+.4g" if k == "r2" else "+.3f"
            return f"{k} {moved[k]:{f}}" + (f" (allowed -{drops[k]:g})" if k in bad else "")

        return RuleResult(f"{rule} (version {current.version})", not bad,
                          ", ".join(shown(k) for k in drops))


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
