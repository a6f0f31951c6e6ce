"""What mistakes cost: at each decision threshold, and for each model version.

>>> from course_lib.costs import cost_curve, deployment_costs
>>> from course_lib.metrics import Metrics
>>> cost_curve([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], miss_cost=10, false_alarm_cost=1).best_threshold
0.4
>>> deployment_costs({"v1": Metrics.from_counts(tp=8, fp=2, fn=2, tn=88),
...                   "v2": Metrics.from_counts(tp=9, fp=6, fn=1, tn=84)}, 100, 1).best
('v2',)

A missed fraud (a false negative, FN) and a false alarm (a false positive, FP) cost
different amounts: ``miss_cost`` and ``false_alarm_cost``, in any currency unit. The cost
of a confusion matrix is ``FN x miss_cost + FP x false_alarm_cost``, and
:meth:`Metrics.cost <course_lib.metrics.Metrics.cost>` is the one place that formula is
written; everything here calls it.

* :func:`cost_curve` weighs the mistakes at every candidate threshold of one model's
  scores and finds the cheapest threshold (lesson 03).
* :func:`deployment_costs` weighs the mistakes of several versions evaluated on the same
  rows and names the cheapest version; :func:`break_even_miss_cost` is the cost of a
  missed fraud at which two versions cost the same (lesson 04).
* :func:`metrics_at_thresholds` counts the confusion matrix at every candidate threshold
  from one sort: the counts these costs weigh, also used to choose thresholds and to draw
  the precision/recall trade-off.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_lib import _checks, _display
from course_lib.errors import InvalidInputError
from course_lib.metrics import Metrics

__all__ = [
    "CostCurve", "CostRow", "CostTable", "binary_only", "binary_scores", "break_even_miss_cost",
    "cost_curve", "deployment_costs", "metrics_at_thresholds",
]

#: What to use instead of a binary-only helper, per task found: (what it is, what to do).
_INSTEAD = {
    "threshold": {
        "multiclass": "the predicted class is the argmax. Fix: measure it with "
                      "Metrics.from_predictions(y, scores) (accuracy, macro F1, a row per class)",
        "regression": "there is no class to threshold. Fix: measure the errors with "
                      "Metrics.from_predictions(y, predictions) (MAE, RMSE, R2)",
    },
    "cost": {
        "multiclass": "each kind of mistake is a cell of the confusion matrix. Fix: weigh the "
                      "cells of Metrics.from_predictions(y, scores).confusion_matrix",
        "regression": "its errors are in the target's units. Fix: compare the MAE or RMSE of "
                      "Metrics.from_predictions(y, predictions)",
    },
}
_APPLIES = {"threshold": "a decision threshold applies to a binary classifier's score",
            "cost": "costs of missed positives and false alarms apply to a binary classifier"}


def _found(task: str, y: np.ndarray, s: np.ndarray | None) -> str:
    """The task found, in words: 'this is a 10-class output', 'these are regression targets'."""
    if task == "regression":
        return "these are regression targets (continuous values)"
    if s is not None and s.ndim == 2 and s.shape[1] > 2:
        return f"this is a {s.shape[1]}-class output"
    ids = y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(y.shape[0], -1)[:, 0]
    return f"these labels hold {len(np.unique(ids.astype(str)))} classes"


def binary_only(y_true: object, scores: object = None, *, kind: str = "threshold") -> None:
    """Refuse labels and output of a multi-class or regression model, naming what to use.

    ``kind`` is ``"threshold"`` (deciding on a score) or ``"cost"`` (weighing mistakes);
    labels and output of a binary classifier pass (then checked by each helper).

    >>> binary_only([0, 2, 1], [[.8, .1, .1], [.1, .1, .8], [.2, .7, .1]])
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidInputError: a decision threshold applies to a binary classifier's score; this is a 3-class output: the predicted class is the argmax. Fix: measure it with Metrics.from_predictions(y, scores) (accuracy, macro F1, a row per class).
    """
    y = np.asarray(y_true)
    s = None if scores is None else np.asarray(scores)
    if y.ndim == 0 or y.size == 0 or y.dtype.kind not in "biuf":
        return  # the helper's own checks say what is wrong
    if s is not None and (s.ndim == 0 or s.dtype.kind not in "biuf"):
        s = None
    task = _task(y, s)
    if task != "binary":
        raise InvalidInputError(f"{_APPLIES[kind]}; {_found(task, y, s)}: {_INSTEAD[kind][task]}.")


def _task(y: np.ndarray, s: np.ndarray | None) -> str:
    """'multiclass' or 'regression' when the labels or output say so plainly, else 'binary'."""
    if (s is not None and s.ndim == 2 and s.shape[1] > 2) or (y.ndim == 2 and y.shape[1] > 2):
        return "multiclass"
    flat = y.reshape(y.shape[0], -1)[:, 0].astype(np.float64)
    if not np.isfinite(flat).all():
        return "binary"  # the helper's own checks say what is wrong
    if (flat != np.round(flat)).any():
        return "regression"
    if len(np.unique(flat)) <= 2:
        return "binary"
    out = None if s is None else s.reshape(s.shape[0], -1)[:, -1].astype(np.float64)
    if out is not None and np.isfinite(out).all() and (out != np.round(out)).any() and (
            out.min() < 0 or out.max() > 1):
        return "regression"  # whole-number targets, predictions that are not probabilities
    return "multiclass"


def binary_scores(y_true: object, scores: object, *, kind: str = "threshold",
                  probabilities: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A binary classifier's 0/1 labels and one score per row, validated (see :func:`binary_only`).

    The score of an (n, 2) softmax output is its positive (second) column.

    >>> y, s = binary_scores([0, 1], [[0.9, 0.1], [0.2, 0.8]])
    >>> y.tolist(), s.tolist()
    ([0, 1], [0.1, 0.8])
    """
    binary_only(y_true, scores, kind=kind)
    y = _checks.labels(y_true)
    s = np.asarray(scores) if not isinstance(scores, np.ndarray) else scores
    if s.ndim == 2 and s.shape[1] == 2 and s.dtype.kind in "biuf":
        s = s[:, 1]  # an (n, 2) softmax: the positive class's probability
    return y, _checks.scores(s, y.shape[0], probabilities=probabilities)


def _binary_metrics(label: str, m: object) -> None:
    """Refuse the metrics of another task where the costs of a binary classifier's mistakes apply."""
    task = getattr(m, "task", None)
    if task in ("multiclass", "regression"):
        found = ("a regression's metrics" if task == "regression" else
                 f"the metrics of a {len(m.class_names)}-class model")  # type: ignore[attr-defined]
        raise InvalidInputError(
            f"{_APPLIES['cost']}; found {found} for {label!r}: {_INSTEAD['cost'][task]}.")


def metrics_at_thresholds(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
    thresholds: Sequence[float] | np.ndarray | None = None,
) -> tuple[Metrics, ...]:
    """:class:`~course_lib.metrics.Metrics` at each candidate threshold, counted from one sort.

    Each equals ``Metrics.from_predictions(y_true, scores, t)`` (a score at or above ``t``
    counts as positive), zero-division conventions included, but the scores are sorted
    once instead of being compared again at every threshold. ``thresholds`` defaults to
    :data:`course_lib._checks.THRESHOLDS` (0.00, 0.01, ..., 1.00); a custom grid is sorted
    and deduplicated.

    >>> [m.tp for m in metrics_at_thresholds([0, 1, 1], [0.2, 0.5, 0.9], [0.1, 0.6, 1.0])]
    [2, 1, 0]
    """
    y, s = binary_scores(y_true, scores, kind="threshold", probabilities=False)
    grid = _checks.thresholds(thresholds)
    pos, neg = np.sort(s[y == 1]), np.sort(s[y == 0])
    tp = pos.size - np.searchsorted(pos, grid, side="left")
    fp = neg.size - np.searchsorted(neg, grid, side="left")
    return tuple(Metrics.from_counts(tp=int(a), fp=int(b), fn=int(pos.size - a),
                                     tn=int(neg.size - b)) for a, b in zip(tp, fp, strict=True))


def _money(x: float) -> str:
    """A cost: whole amounts without decimals, others with two."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def _formula(m: Metrics, miss_cost: float, false_alarm_cost: float) -> str:
    """``FN x miss_cost + FP x false_alarm_cost`` with the numbers filled in."""
    return f"{m.fn:,} x {_money(miss_cost)} + {m.fp:,} x {_money(false_alarm_cost)}"


def _mistakes(positive: str) -> tuple[str, str, str]:
    """The table columns of the two mistakes and their cost, in the positive class's words."""
    return (f"missed {positive}s", "false alarms", "cost")


# -- one model, every threshold -------------------------------------------------------------

@dataclass(frozen=True, eq=False, repr=False)
class CostCurve(_display.Report):
    """The cost of the mistakes at every candidate threshold, and the cheapest threshold.

    Cost = missed frauds (FN) x ``miss_cost`` + false alarms (FP) x ``false_alarm_cost``;
    the *expected* cost is that divided by the number of rows.

    >>> c = cost_curve([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], miss_cost=10, false_alarm_cost=1)
    >>> c.best_threshold, c.best_cost, c.cost_at(0.5)
    (0.4, 1.0, 11.0)
    >>> print(c)
    costs on 4 rows, a missed positive costing 10 and a false alarm 1:
    threshold      missed positives  false alarms  cost            total  per row
    cheapest 0.40                 0             1  0 x 10 + 1 x 1      1    0.250
    default 0.50                  1             1  1 x 10 + 1 x 1     11    2.750
    cheapest threshold 0.40: total cost 1, against 11 at the default 0.50
    """

    thresholds: np.ndarray
    metrics: tuple[Metrics, ...]
    miss_cost: float
    false_alarm_cost: float
    _y: np.ndarray = field(repr=False)
    _scores: np.ndarray = field(repr=False)
    positive: str = "positive"

    @property
    def n_rows(self) -> int:
        """Number of rows the costs are counted on."""
        return int(self._y.size)

    @property
    def fn(self) -> np.ndarray:
        """Missed frauds (false negatives) at each candidate threshold."""
        return np.array([m.fn for m in self.metrics])

    @property
    def fp(self) -> np.ndarray:
        """False alarms (false positives) at each candidate threshold."""
        return np.array([m.fp for m in self.metrics])

    @property
    def costs(self) -> np.ndarray:
        """Total cost at each candidate threshold (:meth:`Metrics.cost` of each matrix)."""
        return np.array([m.cost(miss_cost=self.miss_cost, false_alarm_cost=self.false_alarm_cost)
                         for m in self.metrics])

    @property
    def expected_costs(self) -> np.ndarray:
        """Cost per row (per row) at each candidate threshold."""
        return self.costs / self.n_rows

    @property
    def best_index(self) -> int:
        """Index of the cheapest threshold (ties: the highest threshold, fewest flags)."""
        costs = self.costs
        return int(np.flatnonzero(np.isclose(costs, costs.min(), rtol=1e-12, atol=0))[-1])

    @property
    def best_threshold(self) -> float:
        """The threshold with the lowest cost."""
        return float(self.thresholds[self.best_index])

    @property
    def best_cost(self) -> float:
        """Total cost at the best threshold."""
        return float(self.costs[self.best_index])

    @property
    def best_metrics(self) -> Metrics:
        """Metrics at the best threshold."""
        return self.metrics_at(self.best_threshold)

    def metrics_at(self, threshold: float) -> Metrics:
        """Metrics at any threshold between 0 and 1.

        >>> c = cost_curve([0, 1], [0.2, 0.8], miss_cost=1, false_alarm_cost=1)
        >>> c.metrics_at(0.1).fp
        1
        """
        return Metrics.from_predictions(self._y, self._scores, float(threshold))

    def cost_at(self, threshold: float) -> float:
        """Total cost at any threshold between 0 and 1.

        >>> cost_curve([0, 1], [0.2, 0.8], miss_cost=100, false_alarm_cost=1).cost_at(0.9)
        100.0
        """
        return self.metrics_at(threshold).cost(miss_cost=self.miss_cost,
                                               false_alarm_cost=self.false_alarm_cost)

    def cost_line(self, threshold: float, label: str = "threshold") -> str:
        """The cost at one threshold, spelled out.

        >>> c = cost_curve([0, 1], [0.2, 0.8], miss_cost=100, false_alarm_cost=1)
        >>> c.cost_line(0.1, "flag both")
        'flag both 0.10: 0 missed positives x 100 + 1 false alarm x 1 = 1 (0.500 per row)'
        """
        m = self.metrics_at(threshold)
        cost = m.cost(miss_cost=self.miss_cost, false_alarm_cost=self.false_alarm_cost)
        return (f"{label} {threshold:.2f}: {_display.plural(m.fn, f'missed {self.positive}')} x "
                f"{_money(self.miss_cost)} + {_display.plural(m.fp, 'false alarm')} x "
                f"{_money(self.false_alarm_cost)} = {_money(cost)} "
                f"({cost / self.n_rows:,.3f} per row)")

    def describe(self, default: float = 0.5) -> str:
        """The cheapest threshold and its cost, next to the cost at ``default`` (0.5).

        >>> c = cost_curve([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], miss_cost=10, false_alarm_cost=1)
        >>> print(c.describe())  # doctest: +NORMALIZE_WHITESPACE
        cheapest threshold 0.40: 0 missed positives x 10 + 1 false alarm x 1 = 1
            (0.250 per row)
        default threshold 0.50: 1 missed positive x 10 + 1 false alarm x 1 = 11
            (2.750 per row)
        """
        return "\n".join([self.cost_line(self.best_threshold, "cheapest threshold"),
                          self.cost_line(default, "default threshold")])

    # -- the report: title, table, verdict, figure -----------------------------------------

    @property
    def title(self) -> str:  # type: ignore[override]
        return (f"costs on {self.n_rows:,} rows, a missed {self.positive} costing "
                f"{_money(self.miss_cost)} and a false alarm {_money(self.false_alarm_cost)}:")

    @property
    def ok(self) -> bool:
        """Always True: every curve has a cheapest threshold (the verdict names it)."""
        return True

    @property
    def verdict(self) -> str:
        """The cheapest threshold and its total cost, next to the default 0.50's."""
        best, default = self.best_threshold, self.cost_at(0.5)
        if best == 0.5:
            return f"cheapest threshold 0.50 (the default): total cost {_money(self.best_cost)}"
        return (f"cheapest threshold {best:.2f}: total cost {_money(self.best_cost)}, "
                f"against {_money(default)} at the default 0.50")

    def table(self) -> tuple[list[str], list[list[str]]]:
        """The cheapest and the default threshold: mistakes, their cost, per row."""
        rows = []
        for label, t in (("cheapest", self.best_threshold), ("default", 0.5)):
            m = self.metrics_at(t)
            cost = m.cost(miss_cost=self.miss_cost, false_alarm_cost=self.false_alarm_cost)
            rows.append([f"{label} {t:.2f}", f"{m.fn:,}", f"{m.fp:,}",
                         _formula(m, self.miss_cost, self.false_alarm_cost), _money(cost),
                         f"{cost / self.n_rows:,.3f}"])
        return ["threshold", *_mistakes(self.positive), "total", "per row"], rows

    def __repr__(self) -> str:
        return (f"CostCurve(n_rows={self.n_rows}, miss_cost={self.miss_cost:g}, "
                f"false_alarm_cost={self.false_alarm_cost:g}, "
                f"best_threshold={self.best_threshold:.2f})")

    def _repr_html_(self) -> str:
        return super()._repr_html_() + self.best_metrics._repr_html_()

    def plot(self, ax: Any = None) -> CostCurve:
        """Expected cost per row against the threshold, the cheapest one marked.

        >>> c = cost_curve([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], miss_cost=10, false_alarm_cost=1)
        >>> [line.get_label() for line in c.plot().ax_.get_lines()]
        ['expected cost per row', 'cheapest 0.40', 'default 0.50']
        """
        ax = self._axes(ax, 6.4, 4.0)
        ax.plot(self.thresholds, self.expected_costs, label="expected cost per row")
        ax.axvline(self.best_threshold, color="tab:green", linestyle="--",
                   label=f"cheapest {self.best_threshold:.2f}")
        ax.axvline(0.5, color="grey", linestyle=":", label="default 0.50")
        ax.set(xlim=(0.0, 1.0), xlabel="decision threshold (score >= threshold)",
               ylabel="cost per row",
               title=f"Missed fraud {_money(self.miss_cost)}, "
                     f"false alarm {_money(self.false_alarm_cost)}")
        ax.set_ylim(bottom=0.0)
        ax.grid(alpha=0.3)
        ax.legend()
        return self


def cost_curve(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, *,
    miss_cost: float, false_alarm_cost: float,
    thresholds: Sequence[float] | np.ndarray | None = None, positive: str = "positive",
) -> CostCurve:
    """The cost of missed frauds and false alarms at each candidate threshold.

    The cheapest threshold (:attr:`CostCurve.best_threshold`) minimises the expected
    cost; with costs that differ a lot it is far from 0.5.

    >>> c = cost_curve([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], miss_cost=1, false_alarm_cost=10)
    >>> c.best_threshold
    0.9

    Costs must be 0 or more and not both 0; scores must be probabilities in [0, 1].
    """
    y, s = binary_scores(y_true, scores, kind="cost")
    miss = _checks.cost("miss_cost", miss_cost)
    alarm = _checks.cost("false_alarm_cost", false_alarm_cost)
    if miss == 0 and alarm == 0:
        raise InvalidInputError(
            "expected at least one cost above 0; found both 0, so every threshold costs nothing. "
            "Fix: e.g. miss_cost=500, false_alarm_cost=5."
        )
    grid = _checks.thresholds(thresholds)
    return CostCurve(thresholds=grid, metrics=metrics_at_thresholds(y, s, grid), miss_cost=miss,
                     false_alarm_cost=alarm, _y=y, _scores=s,
                     positive=_checks.text("positive", positive, example="fraud"))


# -- several versions, one threshold each -----------------------------------------------------

@dataclass(frozen=True)
class CostRow:
    """The cost of one version's mistakes: missed frauds (FN) and false alarms (FP).

    >>> CostRow("v1", Metrics.from_counts(tp=1, fp=2, fn=3, tn=4), 32.0).per_1000
    3200.0
    """

    label: str
    metrics: Metrics
    total: float

    @property
    def per_1000(self) -> float:
        """Cost per 1,000 rows."""
        return 1000 * self.total / self.metrics.total


@dataclass(frozen=True, repr=False)
class CostTable(_display.Report):
    """Mistake costs of several versions on the same rows, and the cheapest one.

    >>> t = deployment_costs({"v1": Metrics.from_counts(tp=80, fp=20, fn=15, tn=85),
    ...                       "v2": Metrics.from_counts(tp=85, fp=15, fn=10, tn=90)},
    ...                      miss_cost=100, false_alarm_cost=5)
    >>> t.best, [r.total for r in t.rows]
    (('v2',), [1600.0, 1075.0])
    >>> print(t)
    version  missed positives  false alarms  cost               total  per 1,000 rows
    v1                     15            20  15 x 100 + 20 x 5  1,600         8,000.0
    v2                     10            15  10 x 100 + 15 x 5  1,075         5,375.0
    Deploy v2: at these costs (a missed positive costs 100, a false alarm 5) its mistakes cost least
    >>> t.ok, "<b>v2</b>" in t._repr_html_(), "<b>v1</b>" in t._repr_html_()
    (True, True, False)
    >>> deployment_costs({"a": t.rows[0].metrics, "b": t.rows[0].metrics}, 1, 1).ok  # a tie
    False
    """

    rows: tuple[CostRow, ...]
    miss_cost: float
    false_alarm_cost: float
    positive: str = "positive"

    @property
    def best(self) -> tuple[str, ...]:
        """The label(s) of the cheapest version (several on a tie)."""
        low = min(r.total for r in self.rows)
        return tuple(
            r.label for r in self.rows if math.isclose(r.total, low, rel_tol=1e-12, abs_tol=1e-9)
        )

    @property
    def ok(self) -> bool:
        """True when one version is the cheapest (False on a tie: the costs do not decide)."""
        return len(self.best) == 1

    @property
    def verdict(self) -> str:
        """Which version to deploy at these costs."""
        best = self.best
        costs = (f"a missed {self.positive} costs {_money(self.miss_cost)}, a false alarm "
                 f"{_money(self.false_alarm_cost)}")
        if len(best) > 1:
            return f"At these costs ({costs}) {' and '.join(best)} cost the same: a tie"
        return f"Deploy {best[0]}: at these costs ({costs}) its mistakes cost least"

    def table(self) -> tuple[list[str], list[list[str]]]:
        """One row per version: its mistakes, their cost, the total and per 1,000 rows."""
        rows = [[r.label, f"{r.metrics.fn:,}", f"{r.metrics.fp:,}",
                 _formula(r.metrics, self.miss_cost, self.false_alarm_cost),
                 _money(r.total), f"{r.per_1000:,.1f}"] for r in self.rows]
        return ["version", *_mistakes(self.positive), "total", "per 1,000 rows"], rows

    def _repr_html_(self) -> str:
        import html

        headers, rows = self.table()
        best = set(self.best)
        cells = [[f"<b>{html.escape(c)}</b>" if r.label in best else html.escape(c) for c in row]
                 for r, row in zip(self.rows, rows, strict=True)]
        return (_display.html_table(headers, cells, escape=False)
                + _display.verdict_html(self.verdict, self.ok))


def deployment_costs(
    versions: Mapping[str, Metrics], miss_cost: float, false_alarm_cost: float, *,
    positive: str = "positive",
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
    miss = _checks.cost("miss_cost", miss_cost)
    alarm = _checks.cost("false_alarm_cost", false_alarm_cost)
    for label, m in versions.items():
        _binary_metrics(str(label), m)
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
        tuple(CostRow(str(k), m, m.cost(miss_cost=miss, false_alarm_cost=alarm))
              for k, m in versions.items()),
        miss,
        alarm,
        _checks.text("positive", positive, example="fraud"),
    )


def break_even_miss_cost(a: Metrics, b: Metrics, false_alarm_cost: float = 1.0) -> float | None:
    """The cost of a missed fraud at which ``a`` and ``b`` cost the same (None if never).

    Above it, the version that misses fewer frauds is cheaper.

    >>> break_even_miss_cost(Metrics.from_counts(tp=85, fp=500, fn=15, tn=3400),
    ...                      Metrics.from_counts(tp=60, fp=10, fn=40, tn=3890))
    19.6
    """
    alarm = _checks.cost("false_alarm_cost", false_alarm_cost)
    _binary_metrics("a", a)
    _binary_metrics("b", b)
    if a.fn == b.fn:
        return None
    # A version's cost is linear in the miss cost c: (its false alarms' cost) + c x FN.
    alarms_a, alarms_b = (m.cost(miss_cost=0, false_alarm_cost=alarm) for m in (a, b))
    value = (alarms_b - alarms_a) / (a.fn - b.fn)
    return float(value) if value > 0 else None
