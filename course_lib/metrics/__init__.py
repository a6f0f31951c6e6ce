"""Metrics of any Keras model's task, and before/after comparison.

>>> from course_lib.metrics import Metrics, compare
>>> m = Metrics.from_counts(tp=90, fp=15, fn=10, tn=85)
>>> f"{m.precision:.3f} {m.recall:.3f} {m.f1:.3f} {m.accuracy:.3f}"
'0.857 0.900 0.878 0.875'
>>> compare(m, m).ok
True
>>> type(Metrics.from_predictions([0, 2, 1], [[.7, .2, .1], [.1, .1, .8], [.2, .6, .2]])).__name__
'MulticlassMetrics'

:meth:`Metrics.from_predictions` reads the task from the labels and the model's output
(or takes ``task=``) and returns the metrics of that task:

* ``binary``: :class:`Metrics` (the four counts, accuracy, precision, recall, F1),
* ``multiclass``: :class:`MulticlassMetrics` (K x K matrix, macro averages, one row per class),
* ``regression``: :class:`RegressionMetrics` (MAE, RMSE, R², the largest error).

:func:`compare` judges two of them with a tolerance; :func:`prediction_difference`
compares two models' outputs with no labels at all.
"""

from __future__ import annotations

from course_lib.metrics.binary import METRIC_NAMES, Metrics, binary_labels
from course_lib.metrics.comparison import (
    AnyMetrics,
    Comparison,
    MetricDelta,
    PredictionDiff,
    compare,
    prediction_difference,
)
from course_lib.metrics.multiclass import MULTICLASS_METRICS, MulticlassMetrics
from course_lib.metrics.regression import REGRESSION_METRICS, RegressionMetrics
from course_lib.metrics.tasks import TASKS, check_task, detect_task

__all__ = [
    "METRIC_NAMES", "MULTICLASS_METRICS", "REGRESSION_METRICS", "TASKS", "AnyMetrics",
    "Comparison", "MetricDelta", "Metrics", "MulticlassMetrics", "PredictionDiff",
    "RegressionMetrics", "binary_labels", "check_task", "compare", "detect_task",
    "prediction_difference",
]
