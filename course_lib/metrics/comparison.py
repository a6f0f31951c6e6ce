"""Before and after, side by side: metrics within a tolerance, and predictions that moved.

>>> from course_lib.metrics import Metrics, compare, prediction_difference
>>> m = Metrics.from_counts(tp=90, fp=15, fn=10, tn=85)
>>> compare(m, m).ok
True
>>> prediction_difference([0.2, 0.9], [0.2, 0.4]).verdict
'NOT OK: predictions differ by up to 0.5; 1 of 2 rows changed class'

:func:`compare` judges two sets of metrics of the same task; :func:`compare_loss` is its rule
for a model's loss (also what :func:`~course_lib.persistence.roundtrip` applies to the compiled
loss of any task); :func:`prediction_difference` needs no labels at all: "did saving change
anything" is a question about outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Union

import numpy as np

from course_lib import _checks, _display
from course_lib.errors import InvalidInputError
from course_lib.metrics.binary import Metrics
from course_lib.metrics.multiclass import MulticlassMetrics
from course_lib.metrics.regression import RegressionMetrics
from course_lib.metrics.tasks import check_task

__all__ = ["Comparison", "MetricDelta", "PredictionDiff", "compare", "compare_loss",
           "prediction_difference"]

AnyMetrics = Union[Metrics, MulticlassMetrics, RegressionMetrics]
#: Regression errors are in the target's units: their tolerance is relative to the error itself.
RELATIVE_METRICS = frozenset({"mae", "rmse", "max_error"})


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

    def cells(self, f: str = ".3f") -> list[str]:
        """The table row: name, before, after, the change, within ("yes"/"NO"), numbers in ``f``.

        >>> MetricDelta("accuracy", 0.8302, 0.83, 0.01).cells()  # too small for 3 places
        ['accuracy', '0.830', '0.830', '-0.0002', 'yes']
        >>> MetricDelta("loss", 0.174, 0.174 + 1.5e-8, 0.01).cells()[3]  # float noise
        '+0.000'
        """
        change = f"{self.delta:+{f}}"
        if float(change) == 0:  # a fourth place for a change it hides; float noise stays +0.000
            small = round(self.delta, 4)
            change = f"{small:+.4f}" if small else f"{0:+{f}}"
        return [self.name, f"{self.before:{f}}", f"{self.after:{f}}", change,
                "yes" if self.ok else "NO"]


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

    before: AnyMetrics
    after: AnyMetrics
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
            tols = {r.tolerance for r in self.rows}
            within = f"{tols.pop():g}" if len(tols) == 1 else "its tolerance"
            return f"OK: every metric within {within} of {self.labels[0]}"
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
        f = ".4g" if self.before.task == "regression" else ".3f"
        return ["metric", *self.labels, "delta", "within"], [r.cells(f) for r in self.rows]


def compare_loss(before: float, after: float, tolerance: float = 0.01) -> MetricDelta:
    """A model's loss before and after: allowed to move by ``tolerance``, relative above 1.

    >>> compare_loss(0.377, 0.380).ok   # within 0.01
    True
    >>> compare_loss(2500.0, 2510.0).tolerance   # a regression's MSE: 1% of the loss
    25.0

    A loss is in no fixed unit (a log loss is about 0.1-1, a mean squared error in the
    target's units squared): the change allowed is ``tolerance`` while the loss before is at
    most 1, and ``tolerance`` times the loss above that. The one rule for a loss:
    :func:`compare` uses it for the ``loss`` row of two :class:`~course_lib.metrics.Metrics`
    given ``loss=``, :func:`~course_lib.persistence.roundtrip` for the compiled loss.
    """
    tolerance = _checks.number("tolerance", tolerance, minimum=0, example=0.01)
    before, after = float(before), float(after)  # a NaN after loading is a failed row, not an error
    return MetricDelta("loss", before, after, tolerance * max(1.0, abs(before)))


def _tolerances(tolerance: float | Mapping[str, float], names: Sequence[str],
                before: AnyMetrics) -> dict[str, float]:
    """Absolute tolerances: a regression error's is relative to the error before."""
    if isinstance(tolerance, Mapping):
        unknown = set(tolerance) - set(names)
        if unknown:
            raise InvalidInputError(
                f"expected tolerances for metrics among {list(names)}; found {sorted(unknown)}."
            )
        out = {n: tolerance.get(n, 0.0) for n in names}
    else:
        out = {n: tolerance for n in names}
    checked = {n: _checks.number(f"the tolerance for {n}", t, minimum=0, example=0.01)
               for n, t in out.items()}
    if before.task == "regression" and not isinstance(tolerance, Mapping):
        return {n: t * abs(before.get(n)) if n in RELATIVE_METRICS else t
                for n, t in checked.items()}
    return checked


def compare(
    before: AnyMetrics, after: AnyMetrics, tolerance: float | Mapping[str, float] = 0.01, *,
    metrics: Sequence[str] | None = None, labels: tuple[str, str] = ("before", "after"),
) -> Comparison:
    """Compare two sets of metrics of the same task: per-metric deltas and an ``ok`` verdict.

    ``tolerance`` is the largest change allowed for every metric, or per metric as a dict.
    For classifiers it is a fraction (0.01 = one point); a loss both sides were given
    (``Metrics.from_predictions(..., loss=...)``) is compared too, by :func:`compare_loss`
    (relative to the loss above 1). For a regression a single number is relative for the
    errors (0.01 = 1% of MAE, RMSE and the largest error before) and absolute for R²; a dict
    gives absolute tolerances (in the target's units, and for the loss too).

    >>> before = Metrics.from_counts(tp=40, fp=5, fn=10, tn=45)
    >>> after = Metrics.from_counts(tp=39, fp=5, fn=11, tn=45)
    >>> print(compare(before, after, tolerance=0.02).verdict)
    OK: every metric within 0.02 of before
    >>> a = RegressionMetrics.from_predictions([1.0, 2.0, 3.0], [1.1, 2.1, 2.9])
    >>> b = RegressionMetrics.from_predictions([1.0, 2.0, 3.0], [1.1, 2.1, 2.5])
    >>> compare(a, b).failures[0].name
    'mae'
    """
    for name, value in (("before", before), ("after", after)):
        if not isinstance(value, (Metrics, MulticlassMetrics, RegressionMetrics)):
            raise InvalidInputError(
                f"expected {name} to be a metrics value; found {type(value).__name__}. "
                "Fix: build it with Metrics.from_predictions(...) or Metrics.from_counts(...)."
            )
    if before.task != after.task:
        raise InvalidInputError(
            f"expected two metrics of the same task; found {before.task} before and "
            f"{after.task} after. Fix: measure both models on the same labels."
        )
    if before.task == "multiclass" and before.class_names != after.class_names:
        raise InvalidInputError(
            f"expected the same classes before and after; found {list(before.class_names)} and "
            f"{list(after.class_names)}. Fix: pass the same class_names to both."
        )
    # A metric only one side has (a loss given for one of them) is not compared.
    names = ([n for n in before.names if n in after.names] if metrics is None
             else list(metrics))
    if not names:
        raise InvalidInputError(
            f"expected at least one metric name to compare among {list(before.names)}; found none."
        )
    if len(labels) != 2:
        raise InvalidInputError(
            f"expected two labels (for before and after); found {len(labels)}: {labels!r}."
        )
    for n in names:
        if n not in before.names:
            raise InvalidInputError(
                f"expected metric names among {list(before.names)}; found {n!r}."
            )
    tol = _tolerances(tolerance, names, before)
    rows = tuple(
        compare_loss(before.get(n), after.get(n), tol[n])
        if n == "loss" and not isinstance(tolerance, Mapping)
        else MetricDelta(n, before.get(n), after.get(n), tol[n]) for n in names)
    return Comparison(before=before, after=after, rows=rows, labels=tuple(labels))  # type: ignore[arg-type]


def _outputs(value: object, what: str) -> dict[str, np.ndarray]:
    if isinstance(value, Mapping):
        return {str(k): np.asarray(v, dtype=np.float64) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and value and all(np.ndim(v) >= 1 for v in value) \
            and len({np.shape(v)[0] for v in value}) == 1 and any(np.ndim(v) > 1 for v in value):
        return {f"output {i}": np.asarray(v, dtype=np.float64) for i, v in enumerate(value)}
    try:
        return {"output": np.asarray(value, dtype=np.float64)}
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"expected {what} as an array of numbers (or a dict of them, one per output); could "
            f"not read it ({exc})."
        ) from exc


def _classes(out: np.ndarray, task: str, threshold: float) -> np.ndarray | None:
    flat = out.reshape(out.shape[0], -1)
    if task == "multiclass" or (task != "regression" and flat.shape[1] > 1):
        return flat.argmax(axis=1)
    if task == "binary":
        return (flat[:, -1] >= threshold).astype(np.int64)
    return None


@dataclass(frozen=True, repr=False)
class PredictionDiff(_display.Report):
    """How far two models' outputs on the same rows are apart, without labels.

    ``max_abs_diff`` is the largest absolute difference over every output value;
    ``changed`` the number of rows whose predicted class differs (classifiers only).
    """

    n_rows: int
    max_abs_diff: float
    changed: int | None
    tolerance: float
    task: str | None
    labels: tuple[str, str] = ("before", "after")

    @property
    def changed_share(self) -> float | None:
        """The share of rows whose predicted class changed (None for a regression)."""
        return None if self.changed is None else self.changed / self.n_rows

    @property
    def failures(self) -> tuple[str, ...]:
        """What moved: outputs beyond the tolerance, rows that changed class."""
        out = []
        if self.max_abs_diff > self.tolerance:
            out.append(f"predictions differ by up to {self.max_abs_diff:.3g}")
        if self.changed:
            out.append(f"{self.changed:,} of {self.n_rows:,} rows changed class")
        return tuple(out)

    @property
    def verdict(self) -> str:
        """OK with the largest difference, or what moved."""
        if self.failures:
            return "NOT OK: " + "; ".join(self.failures)
        classes = "" if self.changed is None else "; no row changed class"
        return (f"OK: {self.labels[1]} predicts what {self.labels[0]} predicted on "
                f"{self.n_rows:,} rows (largest difference {self.max_abs_diff:.1e}, within "
                f"{self.tolerance:g}{classes})")


def prediction_difference(before: object, after: object, *, task: str | None = None,
                          threshold: float = 0.5, tolerance: float = 1e-5,
                          labels: tuple[str, str] = ("before", "after")) -> PredictionDiff:
    """The difference between two models' outputs on the same rows (no labels needed).

    Outputs are arrays of any shape with rows first, or dicts of them (one per output).
    The predicted class is the argmax of a multi-column output, or a score at or above
    ``threshold`` for one column (``task="binary"``, the default for one column of values
    within [0, 1]); a regression (``task="regression"``) has no class to change.

    >>> prediction_difference([[0.1, 0.9], [0.6, 0.4]], [[0.1, 0.9], [0.6, 0.4]]).ok
    True
    >>> prediction_difference([1.5, 2.0], [1.5, 2.1], task="regression").failures
    ('predictions differ by up to 0.1',)
    """
    a, b = _outputs(before, "before"), _outputs(after, "after")
    if set(a) != set(b):
        raise InvalidInputError(
            f"expected the same outputs before and after; found {sorted(a)} and {sorted(b)}.")
    for k in a:
        if a[k].shape != b[k].shape or a[k].ndim == 0:
            raise InvalidInputError(
                f"expected outputs of the same shape, rows first; found {a[k].shape} before and "
                f"{b[k].shape} after{'' if len(a) == 1 else f' for {k}'}. Fix: predict on the "
                "same rows with both models."
            )
    if task is not None:
        check_task(task)
    n = next(iter(a.values())).shape[0]
    diff = max(float(np.max(np.abs(a[k] - b[k]))) if a[k].size else 0.0 for k in a)
    changed = None
    for k in a:
        kind = task
        if kind is None:
            flat = a[k].reshape(n, -1)
            kind = "multiclass" if flat.shape[1] > 1 else (
                "binary" if flat.size and flat.min() >= 0 and flat.max() <= 1 else "regression")
        ca, cb = _classes(a[k], kind, threshold), _classes(b[k], kind, threshold)
        if ca is not None:
            changed = (changed or 0) + int((ca != cb).sum())
    return PredictionDiff(n_rows=n, max_abs_diff=diff, changed=changed,
                          tolerance=_checks.number("tolerance", tolerance, minimum=0),
                          task=task, labels=tuple(labels))  # type: ignore[arg-type]
