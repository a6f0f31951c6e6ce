"""Metrics of a binary classifier: the four counts, accuracy, precision, recall, F1.

>>> from course_lib.metrics import Metrics
>>> m = Metrics.from_counts(tp=90, fp=15, fn=10, tn=85)
>>> f"{m.precision:.3f} {m.recall:.3f} {m.f1:.3f} {m.accuracy:.3f}"
'0.857 0.900 0.878 0.875'

The positive class (label 1) is the one we want to catch: fraud, a tumour,
spam. Conventions for the cases where a ratio has a zero denominator:

* precision is 0.0 when the model flags nothing (TP + FP = 0),
* recall is 0.0 when there is no positive example (TP + FN = 0),
* F1 is 0.0 when precision + recall = 0.

These are scikit-learn's ``zero_division=0.0``; each such case also adds a
line to :attr:`Metrics.notes` so the number is never silently misleading.

A model's **loss** (the value its training minimised) is not computed from the four
counts: pass the one Keras reports, ``loss=model.evaluate(x, y, return_dict=True)["loss"]``,
and it is shown beside the other metrics and compared by
:func:`~course_lib.metrics.comparison.compare_loss` (within the tolerance, relative above 1).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from course_lib import _checks, _display
from course_lib.errors import InvalidInputError
from course_lib.metrics.multiclass import MulticlassMetrics
from course_lib.metrics.regression import RegressionMetrics
from course_lib.metrics.tasks import check_task, class_ids, detect_task, probabilities

__all__ = ["METRIC_NAMES", "Metrics", "binary_labels"]

#: The four headline metrics of a binary classifier, in display order.
METRIC_NAMES: tuple[str, ...] = ("accuracy", "precision", "recall", "f1")


def binary_labels(y_true: object, class_names: Sequence[str] | None = None
                  ) -> tuple[np.ndarray, tuple[str, str]]:
    """0/1 labels (1 = the positive class) and the two class names (negative, positive).

    Labels may be 0/1, booleans, one-hot rows of two columns or two class names (the
    second of ``class_names``, or the second in sorted order, is the positive class).

    >>> ids, names = binary_labels(["benign", "malignant", "benign"], ["benign", "malignant"])
    >>> ids.tolist(), names
    ([0, 1, 0], ('benign', 'malignant'))
    """
    raw = np.asarray(y_true)
    if raw.dtype.kind in "USO" and class_names is None:
        found = sorted(set(raw.astype(str).ravel().tolist()))[:3]
        raise InvalidInputError(
            f"expected class_names=(negative, positive) with text labels, to say which class "
            f"is the positive one; found labels {found} and no class_names. "
            f"Fix: e.g. class_names={tuple(found[:2])!r}."
        )
    ids, names = class_ids(y_true, class_names, n_classes=2)
    if len(names) > 2:
        found = sorted(set(ids.tolist()))
        raise InvalidInputError(
            f"expected y_true to hold only 0 and 1 (two classes); found {found[2] if len(found) > 2 else found[-1]!r}"
            f"{f' (and {len(found) - 3} more)' if len(found) > 3 else ''}. Fix: encode the positive "
            "class as 1, the negative class as 0, or pass task='multiclass'."
        )
    if names == ("0", "1"):
        names = ("negative", "positive")
    return ids, (names[0], names[1])


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
    class_names: tuple[str, str] = field(default=("negative", "positive"), compare=False)
    loss: float | None = field(default=None, compare=False)

    task = "binary"

    @property
    def names(self) -> tuple[str, ...]:
        """The metrics this value holds: :data:`METRIC_NAMES`, then ``loss`` when it has one.

        >>> Metrics.from_predictions([0, 1], [0.2, 0.9], loss=0.16).names
        ('accuracy', 'precision', 'recall', 'f1', 'loss')
        """
        return METRIC_NAMES + (("loss",) if self.loss is not None else ())

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
        cls, y_true: object, y_score: object, threshold: float = 0.5, *,
        task: str | None = None, class_names: Sequence[str] | None = None,
        loss: float | None = None,
    ) -> Union[Metrics, MulticlassMetrics, RegressionMetrics]:
        """The metrics of a model's output against the true labels, for the model's task.

        The task is read from the labels and the output (see
        :func:`~course_lib.metrics.tasks.detect_task`) or given as ``task=``: a binary
        classifier gives :class:`Metrics`, a multi-class one
        :class:`~course_lib.metrics.MulticlassMetrics`, a regression
        :class:`~course_lib.metrics.RegressionMetrics`. For a binary classifier a score at or
        above ``threshold`` counts as a positive prediction; its output may be one
        probability per row, an (n, 1) column or an (n, 2) softmax. scikit-learn does the
        arithmetic. ``loss`` is the model's own loss on the same rows (from
        ``model.evaluate``), kept beside the metrics (binary classifiers) and compared by
        :func:`~course_lib.metrics.compare` when both sides have one.

        >>> Metrics.from_predictions([0, 1, 1], [0.1, 0.8, 0.3], threshold=0.25).recall
        1.0
        >>> Metrics.from_predictions([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]).recall
        0.5
        >>> Metrics.from_predictions([2.0, 3.5], [2.5, 3.0]).mae
        0.5
        """
        from sklearn import metrics as skm

        task = detect_task(y_true, y_score) if task is None else check_task(task)
        if loss is not None:
            if task != "binary":
                raise InvalidInputError(
                    f"expected loss= only for a binary classifier's metrics; found a {task} task. "
                    "Fix: report the loss from model.evaluate beside these metrics.")
            loss = _checks.number("loss", loss, minimum=0, example=0.3)
        if task == "multiclass":
            return MulticlassMetrics.from_predictions(y_true, y_score, class_names=class_names)
        if task == "regression":
            return RegressionMetrics.from_predictions(y_true, y_score)
        labels, names = binary_labels(y_true, class_names)
        scores = probabilities(y_score, labels.shape[0], 2)[:, 1]
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
            class_names=names,
            loss=loss,
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
        """One metric by name (``accuracy``, ``precision``, ``recall``, ``f1``; ``loss`` if given)."""
        if name not in self.names:
            raise InvalidInputError(
                f"expected a metric name among {', '.join(self.names)}; found {name!r}."
                + (" Fix: pass loss= to Metrics.from_predictions." if name == "loss" else "")
            )
        return float(getattr(self, name))

    def as_dict(self) -> dict[str, float | int]:
        """Counts and metrics as a plain dict (for JSON, manifests, DataFrames)."""
        out: dict[str, float | int] = {k: getattr(self, k) for k in ("tp", "fp", "fn", "tn")}
        out.update({k: self.get(k) for k in self.names})
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

    def describe(self, positive: str | None = None, negative: str | None = None) -> str:
        """The metrics in plain words: what was caught, missed and falsely flagged.

        The classes are named by ``positive``/``negative``, else by the class names the
        labels gave (e.g. "malignant"/"benign"), else "positive"/"negative".

        >>> print(Metrics.from_counts(tp=7, fp=10, fn=47, tn=3937).describe("fraud", "legitimate"))
        accuracy 98.6%, precision 41.2%, recall 13.0%, F1 19.7%: caught 7 of 54 fraud cases (missed 47) and raised 10 false alarms among 3,947 legitimate cases
        """
        negative = negative or self.class_names[0]
        positive = positive or self.class_names[1]
        return (
            ("" if self.loss is None else f"loss {self.loss:.3f}, ")
            + f"accuracy {self.accuracy:.1%}, precision {self.precision:.1%}, "
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
            "  ".join(f"{k} {self.get(k):.3f}" for k in self.names),
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
            f"<tr><th {cell}>{k}</th><td {cell}>{self.get(k):.3f}</td></tr>" for k in self.names
        )
        extra = ""
        if self.threshold is not None:
            extra += f"<div>threshold {self.threshold:.2f}</div>"
        extra += "".join(f"<div><em>note: {html.escape(n)}</em></div>" for n in self.notes)
        return (
            '<div style="display:flex;align-items:flex-start">'
            f'{matrix}<table style="border-collapse:collapse">{values}</table></div>{extra}'
        )


