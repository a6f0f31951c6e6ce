"""Metrics of a classifier with several classes: a K x K matrix, macro averages, one row per class.

>>> from course_lib.metrics import MulticlassMetrics
>>> m = MulticlassMetrics.from_predictions([0, 1, 2, 2], [0, 1, 1, 2], class_names=["a", "b", "c"])
>>> m.accuracy, round(m.recall, 3), m.confusion_matrix.tolist()
(0.75, 0.833, [[1, 0, 0], [0, 1, 0], [0, 1, 1]])

Macro averages weigh every class alike, so a rare class that is never caught pulls
recall down even when accuracy looks fine: the same lesson as fraud, with K classes.
scikit-learn does the arithmetic (``zero_division=0.0``, with a note).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from course_lib import _display
from course_lib.errors import InvalidInputError
from course_lib.metrics.tasks import class_ids, predicted_classes

__all__ = ["MULTICLASS_METRICS", "MulticlassMetrics"]

#: The headline metrics of a multi-class model (precision, recall, F1: macro averages).
MULTICLASS_METRICS: tuple[str, ...] = ("accuracy", "precision", "recall", "f1")


@dataclass(frozen=True, repr=False)
class MulticlassMetrics:
    """Accuracy, macro precision, recall and F1, and the K x K confusion matrix.

    ``confusion_matrix[i, j]`` counts rows of true class ``i`` predicted as class ``j``
    (scikit-learn's layout). ``per_class`` gives each class's precision, recall, F1 and
    support (its number of true rows).

    >>> m = MulticlassMetrics.from_predictions(["cat", "dog", "owl"], [[.8, .1, .1], [.2, .7, .1], [.5, .2, .3]])
    >>> m.class_names, m.per_class[2]
    (('cat', 'dog', 'owl'), ('owl', 0.0, 0.0, 0.0, 1))
    """

    confusion_matrix: np.ndarray = field(compare=False)
    class_names: tuple[str, ...]
    accuracy: float
    precision: float
    recall: float
    f1: float
    per_class: tuple[tuple[str, float, float, float, int], ...]
    notes: tuple[str, ...] = field(default=(), compare=False)

    task = "multiclass"
    names = MULTICLASS_METRICS

    @classmethod
    def from_predictions(cls, y_true: object, y_score: object, *,
                         class_names: Sequence[str] | None = None) -> MulticlassMetrics:
        """Metrics of class probabilities (n, K) or predicted class ids against the true labels.

        Labels may be class ids, one-hot rows or class names.
        """
        from sklearn import metrics as skm

        s = np.asarray(y_score)
        k = s.shape[1] if s.ndim == 2 and s.shape[1] > 1 else None
        y, names = class_ids(y_true, class_names, n_classes=k)
        k = len(names)
        pred = predicted_classes(y_score, y.shape[0], k)
        if pred.max(initial=0) >= k:
            raise InvalidInputError(
                f"expected predicted classes among the {k} classes {list(names)}; found class "
                f"{int(pred.max())}. Fix: pass class_names for every class the model outputs."
            )
        ids = list(range(k))
        kw = {"labels": ids, "zero_division": 0.0}
        p, r, f, support = skm.precision_recall_fscore_support(y, pred, **kw)
        macro = skm.precision_recall_fscore_support(y, pred, average="macro", **kw)
        rows = tuple((names[i], float(p[i]), float(r[i]), float(f[i]), int(support[i]))
                     for i in ids)
        notes = tuple(f"class {names[i]!r} has no true row here: its recall counts as 0.0"
                      for i in ids if support[i] == 0)
        notes += tuple(f"class {names[i]!r} is never predicted: its precision counts as 0.0"
                       for i in ids if support[i] and not (pred == i).any())
        return cls(confusion_matrix=skm.confusion_matrix(y, pred, labels=ids),
                   class_names=names, accuracy=float(skm.accuracy_score(y, pred)),
                   precision=float(macro[0]), recall=float(macro[1]), f1=float(macro[2]),
                   per_class=rows, notes=notes)

    @property
    def total(self) -> int:
        """Number of rows."""
        return int(self.confusion_matrix.sum())

    def get(self, name: str) -> float:
        """One metric by name (``accuracy``, ``precision``, ``recall``, ``f1``; also ``macro_f1``...)."""
        key = name.removeprefix("macro_")
        if key not in self.names:
            raise InvalidInputError(
                f"expected a metric name among {', '.join(self.names)}; found {name!r}.")
        return float(getattr(self, key))

    def as_dict(self) -> dict[str, object]:
        """Metrics, class names and the matrix as plain values (JSON, manifests)."""
        return {"task": self.task, **{n: self.get(n) for n in self.names},
                "class_names": list(self.class_names),
                "confusion_matrix": self.confusion_matrix.tolist()}

    def describe(self) -> str:
        """The metrics in plain words, with the class caught least often.

        >>> print(MulticlassMetrics.from_predictions([0, 0, 1, 2], [0, 0, 1, 1]).describe())
        accuracy 75.0%, macro precision 50.0%, macro recall 66.7%, macro F1 55.6% over 3 classes: class '2' is caught least often (recall 0.0%, 0 of 1)
        """
        worst = min(self.per_class, key=lambda row: (row[2], -row[4]))
        caught = round(worst[2] * worst[4])
        return (f"accuracy {self.accuracy:.1%}, macro precision {self.precision:.1%}, macro "
                f"recall {self.recall:.1%}, macro F1 {self.f1:.1%} over {len(self.class_names)} "
                f"classes: class {worst[0]!r} is caught least often (recall {worst[2]:.1%}, "
                f"{caught} of {worst[4]})")

    def table(self) -> tuple[list[str], list[list[str]]]:
        """One row per class: precision, recall, F1 and support."""
        return (["class", "precision", "recall", "f1", "support"],
                [[n, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", f"{s:,}"] for n, p, r, f, s in self.per_class])

    def __str__(self) -> str:
        lines = [_display.text_table(*self.table()), "",
                 "  ".join(f"{k} {self.get(k):.3f}" for k in self.names) + " (macro averages)"]
        return "\n".join(lines + [f"note: {n}" for n in self.notes])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        notes = "".join(f"<div><em>note: {html.escape(n)}</em></div>" for n in self.notes)
        return (_display.html_table(*self.table())
                + "<p>" + ", ".join(f"{k} {self.get(k):.3f}" for k in self.names)
                + " (macro averages)</p>" + notes)
