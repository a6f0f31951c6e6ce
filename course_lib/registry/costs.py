"""Which version to deploy: the cost of each version's mistakes, and the break-even cost."""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

from course_lib.errors import InvalidInputError
from course_lib.metrics import Metrics
from course_lib.registry.formatting import _html_table, _text_table


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
