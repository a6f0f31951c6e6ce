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
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course_lib.errors import InvalidInputError

__all__ = [
    "METRIC_NAMES", "Comparison", "MetricDelta", "Metrics", "as_labels", "as_scores", "compare",
]

#: The four headline metrics, in display order.
METRIC_NAMES: tuple[str, ...] = ("accuracy", "precision", "recall", "f1")


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise InvalidInputError(
                f"expected {name} to be a whole number of examples (0 or more); "
                f"found {value!r} ({type(value).__name__}). Fix: pass a count such as {name}=10."
            )
    if value < 0:
        raise InvalidInputError(
            f"expected {name} to be 0 or more; found {value}. "
            "Fix: counts of a confusion matrix cannot be negative."
        )
    return int(value)


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


def as_labels(y_true: object) -> np.ndarray:
    """Validated 0/1 labels as a 1-D int64 array (an (n, 1) column is flattened).

    >>> as_labels([[1], [0]]).tolist()
    [1, 0]
    """
    try:
        arr = np.asarray(y_true)
    except Exception as exc:  # ragged lists and the like
        raise InvalidInputError(
            f"expected y_true to be a 1-D array of 0/1 labels; could not read it ({exc})."
        ) from exc
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InvalidInputError(
            f"expected y_true to be a 1-D array of 0/1 labels; found shape {arr.shape}. "
            "Fix: pass one label per example, e.g. y_true.ravel()."
        )
    if arr.size == 0:
        raise InvalidInputError(
            "expected at least one example in y_true; found an empty array. "
            "Fix: evaluate on a non-empty set."
        )
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.number):
        raise InvalidInputError(
            f"expected y_true to hold 0/1 labels; found dtype {arr.dtype}. "
            "Fix: encode the positive class as 1 and the negative class as 0."
        )
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        more = f" (and {int(bad.sum()) - 1} more)" if bad.sum() > 1 else ""
        raise InvalidInputError(
            f"expected y_true to hold only 0 and 1; found {arr[bad][0].item()!r}{more}. "
            "Fix: encode the positive class as 1, the negative class as 0."
        )
    return arr.astype(np.int64)


def as_scores(y_score: object, n: int) -> np.ndarray:
    """Validated finite scores, one per label (``n`` of them), as a 1-D float64 array.

    >>> as_scores([[0.2], [0.9]], 2).tolist()
    [0.2, 0.9]
    """
    try:
        arr = np.asarray(y_score, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"expected y_score to be a 1-D array of numbers (probabilities or 0/1 "
            f"predictions); could not read it as numbers ({exc})."
        ) from exc
    if arr.ndim == 2 and arr.shape[1] == 1:  # Keras predict() returns (n, 1)
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InvalidInputError(
            f"expected y_score to be 1-D (one score per example) or (n, 1); found shape "
            f"{arr.shape}. Fix: for a two-column softmax output pass scores[:, 1]."
        )
    if arr.shape[0] != n:
        raise InvalidInputError(
            f"expected one score per label: {n} labels but {arr.shape[0]} scores. "
            "Fix: predict on the same rows you take the labels from."
        )
    if not np.isfinite(arr).all():
        raise InvalidInputError(
            f"expected finite scores; found {int(np.isnan(arr).sum())} NaN and "
            f"{int(np.isinf(arr).sum())} infinite value(s). "
            "Fix: check the model's inputs for NaN (missing values) before predicting."
        )
    return arr


def _check_threshold(threshold: object) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
        raise InvalidInputError(
            f"expected threshold to be a number between 0 and 1; found {threshold!r}."
        )
    t = float(threshold)
    if not 0.0 <= t <= 1.0:
        raise InvalidInputError(
            f"expected threshold between 0 and 1; found {t}. Fix: a score at or above "
            "the threshold counts as positive, so use a value such as 0.5."
        )
    return t


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
        tp, fp, fn, tn = (_check_count(k, v) for k, v in
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

        labels = as_labels(y_true)
        scores = as_scores(y_score, labels.shape[0])
        t = _check_threshold(threshold)
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

    def cost(self, missed_positive: float, false_alarm: float) -> float:
        """What this matrix's mistakes cost: FN x ``missed_positive`` + FP x ``false_alarm``.

        >>> Metrics.from_counts(tp=1, fp=2, fn=3, tn=4).cost(missed_positive=10, false_alarm=1)
        32.0
        """
        return float(self.fn * missed_positive + self.fp * false_alarm)

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
        cell = 'style="padding:2px 10px;text-align:right"'
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


@dataclass(frozen=True)
class Comparison:
    """Before/after metrics side by side with a verdict.

    >>> a = Metrics.from_counts(tp=90, fp=10, fn=10, tn=90)
    >>> b = Metrics.from_counts(tp=70, fp=8, fn=30, tn=92)
    >>> c = compare(a, b, tolerance=0.01)
    >>> c.ok, [r.name for r in c.failures]
    (False, ['accuracy', 'recall', 'f1'])
    """

    before: Metrics
    after: Metrics
    rows: tuple[MetricDelta, ...]
    labels: tuple[str, str] = ("before", "after")

    @property
    def ok(self) -> bool:
        """True when every compared metric moved by at most its tolerance."""
        return all(r.ok for r in self.rows)

    @property
    def failures(self) -> tuple[MetricDelta, ...]:
        """The rows whose change is larger than the tolerance."""
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

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        b, a = self.labels
        width = max(len(b), len(a), 8)
        lines = [f"{'metric':<10} {b:>{width}} {a:>{width}} {'delta':>8}  within"]
        for r in self.rows:
            mark = "yes" if r.ok else "NO"
            lines.append(
                f"{r.name:<10} {r.before:>{width}.3f} {r.after:>{width}.3f} {r.delta:>+8.3f}  {mark}"
            )
        lines.append(self.verdict)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        b, a = (html.escape(x) for x in self.labels)
        cell = 'style="padding:2px 10px;text-align:right"'
        head = (f"<tr><th {cell}>metric</th><th {cell}>{b}</th><th {cell}>{a}</th>"
                f"<th {cell}>delta</th><th {cell}>within tolerance</th></tr>")
        body = "".join(
            f"<tr><th {cell}>{r.name}</th><td {cell}>{r.before:.3f}</td><td {cell}>{r.after:.3f}</td>"
            f"<td {cell}>{r.delta:+.3f}</td><td {cell}>{'yes' if r.ok else '<b>NO</b>'}</td></tr>"
            for r in self.rows
        )
        color = "#1a7f37" if self.ok else "#b42318"
        return (f'<table style="border-collapse:collapse">{head}{body}</table>'
                f'<p style="color:{color};font-weight:bold">{html.escape(self.verdict)}</p>')


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
    for n, t in out.items():
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not math.isfinite(t) or t < 0:
            raise InvalidInputError(
                f"expected the tolerance for {n} to be a number of 0 or more (0.01 = one "
                f"point); found {t!r}."
            )
    return {n: float(t) for n, t in out.items()}


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
