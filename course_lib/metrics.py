"""Classification metrics from counts or predictions, and before/after comparison.

>>> from course_lib.metrics import Metrics, compare
>>> m = Metrics.from_counts(tp=90, fp=15, fn=10, tn=85)
>>> f"{m.precision:.3f} {m.recall:.3f} {m.f1:.3f} {m.accuracy:.3f}"
'0.857 0.900 0.878 0.875'
>>> compare(m, m).ok
True

The positive class (label 1) is the one we want to catch: fraud, a tumour,
spam. Conventions for the cases where a ratio has a zero denominator:

* precision is 0.0 when the model flags nothing (TP + FP = 0),
* recall is 0.0 when there is no positive example (TP + FN = 0),
* F1 is 0.0 when precision + recall = 0.

These are scikit-learn's ``zero_division=0.0``; each such case also adds a
line to :attr:`Metrics.notes` so the number is never silently misleading.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_lib import _checks, _display
from course_lib.errors import InvalidInputError

__all__ = ["METRIC_NAMES", "Comparison", "MetricDelta", "Metrics", "compare"]

#: The four headline metrics, in display order.
METRIC_NAMES: tuple[str, ...] = ("accuracy", "precision", "recall", "f1")


def _zero_division_notes(tp: int, fp: int, fn: int, tn: int) -> tuple[str, ...]:
    notes = []
    if tp + fp == 0:
        notes.append(
            "precision is undefined (the model flagged no example as positive); reported as 0.0"
        )
    if tp + fn == 0:
        notes.append(
            "recall is undefined (there is no positive example in the data); reported as 0.0"
        )
    elif tp == 0 and tp + fp > 0:
        notes.append("F1 is 0.0 because no positive example was caught (TP = 0)")
    return tuple(notes)


@dataclass(frozen=True)
class Metrics:
    """Accuracy, precision, recall, F1 and the four counts of a binary classifier.

    >>> m = Metrics.from_predictions([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.7])
    >>> (m.tp, m.fp, m.fn, m.tn), m.accuracy
    ((1, 1, 1, 1), 0.5)

    Build one with :meth:`from_counts` or :meth:`from_predictions`; both give the
    same numbers for the same confusion matrix.
    """

    tp: int
    fp: int
    fn: int
    tn: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    threshold: float | None = field(default=None, compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_counts(cls, *, tp: int, fp: int, fn: int, tn: int) -> Metrics:
        """Metrics of a confusion matrix given by its four counts.

        >>> Metrics.from_counts(tp=40, fp=5, fn=10, tn=45).recall
        0.8
        """
        tp, fp, fn, tn = (_checks.count(k, v) for k, v in
                          (("tp", tp), ("fp", fp), ("fn", fn), ("tn", tn)))
        total = tp + fp + fn + tn
        if total == 0:
            raise InvalidInputError(
                "expected at least one example; found tp = fp = fn = tn = 0. "
                "Fix: enter the counts of a confusion matrix with at least one example."
            )
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        return cls(
            tp=tp, fp=fp, fn=fn, tn=tn,
            accuracy=(tp + tn) / total, precision=precision, recall=recall, f1=f1,
            notes=_zero_division_notes(tp, fp, fn, tn),
        )

    @classmethod
    def from_predictions(
        cls, y_true: Sequence[int] | np.ndarray, y_score: Sequence[float] | np.ndarray,
        threshold: float = 0.5,
    ) -> Metrics:
        """Metrics of scores (or 0/1 predictions) against true 0/1 labels.

        A score at or above ``threshold`` counts as a positive prediction.
        scikit-learn does the arithmetic.

        >>> Metrics.from_predictions([0, 1, 1], [0.1, 0.8, 0.3], threshold=0.25).recall
        1.0
        """
        from sklearn import metrics as skm

        labels = _checks.labels(y_true)
        scores = _checks.scores(y_score, labels.shape[0])
        t = _checks.threshold(threshold)
        pred = (scores >= t).astype(np.int64)
        tn, fp, fn, tp = (int(v) for v in skm.confusion_matrix(labels, pred, labels=[0, 1]).ravel())
        kw: dict[str, Any] = {"zero_division": 0.0}
        return cls(
            tp=tp, fp=fp, fn=fn, tn=tn,
            accuracy=float(skm.accuracy_score(labels, pred)),
            precision=float(skm.precision_score(labels, pred, **kw)),
            recall=float(skm.recall_score(labels, pred, **kw)),
            f1=float(skm.f1_score(labels, pred, **kw)),
            threshold=t,
            notes=_zero_division_notes(tp, fp, fn, tn),
        )

    # -- derived values -------------------------------------------------------------
    @property
    def total(self) -> int:
        """Number of examples."""
        return self.tp + self.fp + self.fn + self.tn

    @property
    def positives(self) -> int:
        """Number of truly positive examples (TP + FN)."""
        return self.tp + self.fn

    @property
    def confusion_matrix(self) -> np.ndarray:
        """The 2x2 matrix in scikit-learn's layout: rows are truth, columns prediction.

        >>> Metrics.from_counts(tp=1, fp=2, fn=3, tn=4).confusion_matrix.tolist()
        [[4, 2], [3, 1]]
        """
        return np.array([[self.tn, self.fp], [self.fn, self.tp]], dtype=np.int64)

    def get(self, name: str) -> float:
        """One metric by name (``accuracy``, ``precision``, ``recall`` or ``f1``)."""
        if name not in METRIC_NAMES:
            raise InvalidInputError(
                f"expected a metric name among {', '.join(METRIC_NAMES)}; found {name!r}."
            )
        return float(getattr(self, name))

    def as_dict(self) -> dict[str, float | int]:
        """Counts and metrics as a plain dict (for JSON, manifests, DataFrames)."""
        out: dict[str, float | int] = {k: getattr(self, k) for k in ("tp", "fp", "fn", "tn")}
        out.update({k: self.get(k) for k in METRIC_NAMES})
        return out

    def cost(self, miss_cost: float, false_alarm_cost: float) -> float:
        """What this matrix's mistakes cost: FN x ``miss_cost`` + FP x ``false_alarm_cost``.

        >>> Metrics.from_counts(tp=1, fp=2, fn=3, tn=4).cost(miss_cost=10, false_alarm_cost=1)
        32.0

        The one definition of a cost: :mod:`course_lib.costs` calls it for every threshold
        and every version.
        """
        return float(self.fn * miss_cost + self.fp * false_alarm_cost)

    def explain(self) -> str:
        """Each metric's formula with this matrix's counts filled in.

        >>> print(Metrics.from_counts(tp=90, fp=15, fn=10, tn=85).explain().splitlines()[1])
        precision = TP / (TP + FP) = 90 / (90 + 15) = 0.857
        """
        t, f, n, tn = self.tp, self.fp, self.fn, self.tn
        return "\n".join([
            f"accuracy  = (TP + TN) / total = ({t} + {tn}) / {self.total} = {self.accuracy:.3f}",
            f"precision = TP / (TP + FP) = {t} / ({t} + {f}) = {self.precision:.3f}",
            f"recall    = TP / (TP + FN) = {t} / ({t} + {n}) = {self.recall:.3f}",
            f"F1        = 2 * precision * recall / (precision + recall) = {self.f1:.3f}",
        ])

    def describe(self, positive: str = "fraud", negative: str = "legitimate") -> str:
        """The metrics in plain words: what was caught, missed and falsely flagged.

        >>> print(Metrics.from_counts(tp=7, fp=10, fn=47, tn=3937).describe())
        accuracy 98.6%, precision 41.2%, recall 13.0%, F1 19.7%: caught 7 of 54 fraud cases (missed 47) and raised 10 false alarms among 3,947 legitimate cases
        """
        return (
            f"accuracy {self.accuracy:.1%}, precision {self.precision:.1%}, "
            f"recall {self.recall:.1%}, F1 {self.f1:.1%}: caught {self.tp:,} of "
            f"{self.positives:,} {positive} cases (missed {self.fn:,}) and raised {self.fp:,} "
            f"false alarms among {self.fp + self.tn:,} {negative} cases"
        )

    # -- display --------------------------------------------------------------------
    def __str__(self) -> str:
        rows = [
            "                 predicted 0   predicted 1",
            f"actual 0 (neg)   TN {self.tn:>8}   FP {self.fp:>8}",
            f"actual 1 (pos)   FN {self.fn:>8}   TP {self.tp:>8}",
            "",
            "  ".join(f"{k} {self.get(k):.3f}" for k in METRIC_NAMES),
        ]
        if self.threshold is not None:
            rows.append(f"threshold {self.threshold:.2f}")
        rows.extend(f"note: {n}" for n in self.notes)
        return "\n".join(rows)

    def _repr_html_(self) -> str:
        cell = _display.CELL
        matrix = (
            '<table style="border-collapse:collapse;margin-right:24px">'
            f'<tr><th></th><th {cell}>predicted 0</th><th {cell}>predicted 1</th></tr>'
            f'<tr><th {cell}>actual 0</th><td {cell}>TN {self.tn}</td><td {cell}>FP {self.fp}</td></tr>'
            f'<tr><th {cell}>actual 1</th><td {cell}>FN {self.fn}</td><td {cell}>TP {self.tp}</td></tr>'
            "</table>"
        )
        values = "".join(
            f"<tr><th {cell}>{k}</th><td {cell}>{self.get(k):.3f}</td></tr>" for k in METRIC_NAMES
        )
        extra = ""
        if self.threshold is not None:
            extra += f"<div>threshold {self.threshold:.2f}</div>"
        extra += "".join(f"<div><em>note: {html.escape(n)}</em></div>" for n in self.notes)
        return (
            '<div style="display:flex;align-items:flex-start">'
            f'{matrix}<table style="border-collapse:collapse">{values}</table></div>{extra}'
        )


@dataclass(frozen=True)
class MetricDelta:
    """One row of a :class:`Comparison`."""

    name: str
    before: float
    after: float
    tolerance: float

    @property
    def delta(self) -> float:
        """after - before."""
        return self.after - self.before

    @property
    def ok(self) -> bool:
        """True when the change is no larger than the tolerance (rounding noise aside)."""
        return abs(self.delta) <= self.tolerance + 1e-12


@dataclass(frozen=True, repr=False)
class Comparison(_display.Report):
    """Before/after metrics side by side with a verdict.

    >>> a = Metrics.from_counts(tp=90, fp=10, fn=10, tn=90)
    >>> b = Metrics.from_counts(tp=70, fp=8, fn=30, tn=92)
    >>> c = compare(a, b, tolerance=0.01)
    >>> c.ok, [r.name for r in c.failures]
    (False, ['accuracy', 'recall', 'f1'])
    >>> print(c)
    metric     before  after   delta  within
    accuracy    0.900  0.810  -0.090  NO
    precision   0.900  0.897  -0.003  yes
    recall      0.900  0.700  -0.200  NO
    f1          0.900  0.787  -0.113  NO
    NOT OK: accuracy -0.090 (allowed ±0.01), recall -0.200 (allowed ±0.01), f1 -0.113 (allowed ±0.01)
    """

    before: Metrics
    after: Metrics
    rows: tuple[MetricDelta, ...]
    labels: tuple[str, str] = ("before", "after")

    @property
    def failures(self) -> tuple[MetricDelta, ...]:
        """The rows whose change is larger than the tolerance (``ok`` when there is none)."""
        return tuple(r for r in self.rows if not r.ok)

    @property
    def verdict(self) -> str:
        """One sentence: OK, or which metrics moved too far."""
        if self.ok:
            tol = max(r.tolerance for r in self.rows)
            return f"OK: every metric within {tol:g} of {self.labels[0]}"
        moved = ", ".join(f"{r.name} {r.delta:+.3f} (allowed ±{r.tolerance:g})" for r in self.failures)
        return f"NOT OK: {moved}"

    def row(self, name: str) -> MetricDelta:
        """The row of one metric."""
        for r in self.rows:
            if r.name == name:
                return r
        raise InvalidInputError(
            f"expected one of the compared metrics {[r.name for r in self.rows]}; found {name!r}."
        )

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Each metric before and after, its change, and whether it is within tolerance."""
        rows = [[r.name, f"{r.before:.3f}", f"{r.after:.3f}", f"{r.delta:+.3f}",
                 "yes" if r.ok else "NO"] for r in self.rows]
        return ["metric", *self.labels, "delta", "within"], rows


def _tolerances(tolerance: float | Mapping[str, float], names: Sequence[str]) -> dict[str, float]:
    if isinstance(tolerance, Mapping):
        unknown = set(tolerance) - set(names)
        if unknown:
            raise InvalidInputError(
                f"expected tolerances for metrics among {list(names)}; found {sorted(unknown)}."
            )
        out = {n: tolerance.get(n, 0.0) for n in names}
    else:
        out = {n: tolerance for n in names}
    return {n: _checks.number(f"the tolerance for {n}", t, minimum=0, example=0.01)
            for n, t in out.items()}


def compare(
    before: Metrics, after: Metrics, tolerance: float | Mapping[str, float] = 0.01, *,
    metrics: Sequence[str] = METRIC_NAMES, labels: tuple[str, str] = ("before", "after"),
) -> Comparison:
    """Compare two :class:`Metrics`: per-metric deltas and an ``ok`` verdict.

    ``tolerance`` is the largest change allowed, as a fraction (0.01 = one point),
    for every metric or per metric as a dict.

    >>> before = Metrics.from_counts(tp=40, fp=5, fn=10, tn=45)
    >>> after = Metrics.from_counts(tp=39, fp=5, fn=11, tn=45)
    >>> print(compare(before, after, tolerance=0.02).verdict)
    OK: every metric within 0.02 of before
    """
    for name, value in (("before", before), ("after", after)):
        if not isinstance(value, Metrics):
            raise InvalidInputError(
                f"expected {name} to be a Metrics value; found {type(value).__name__}. "
                "Fix: build it with Metrics.from_predictions(...) or Metrics.from_counts(...)."
            )
    names = list(metrics)
    if not names:
        raise InvalidInputError(
            f"expected at least one metric name to compare among {list(METRIC_NAMES)}; found none."
        )
    if len(labels) != 2:
        raise InvalidInputError(
            f"expected two labels (for before and after); found {len(labels)}: {labels!r}."
        )
    for n in names:
        if n not in METRIC_NAMES:
            raise InvalidInputError(
                f"expected metric names among {list(METRIC_NAMES)}; found {n!r}."
            )
    tol = _tolerances(tolerance, names)
    rows = tuple(MetricDelta(n, before.get(n), after.get(n), tol[n]) for n in names)
    return Comparison(before=before, after=after, rows=rows, labels=tuple(labels))  # type: ignore[arg-type]
