"""Inference after loading: latency and throughput, decision thresholds, costs, input checks.

>>> from course_lib import inference
>>> y = [0, 0, 0, 1, 1]
>>> scores = [0.10, 0.40, 0.65, 0.60, 0.90]
>>> result = inference.choose_threshold(y, scores, min_recall=1.0)
>>> result.ok, result.threshold, round(result.metrics.precision, 3)
(True, 0.41, 0.667)
>>> inference.cost_curve(y, scores, miss_cost=100, false_alarm_cost=1).best_threshold
0.6

Four concerns of running a loaded model, each measured rather than assumed, one
submodule each:

* **Speed** (:mod:`~course_lib.inference.latency`): :func:`measure_latency` times a
  prediction function, or the ways :func:`call_styles` gives to run a loaded model, at
  several batch sizes after a warm-up: a :class:`LatencyReport` of p50, p95 and
  throughput, with ``real_time_verdict(max_latency_ms=...)`` and ``plot()``.
* **The decision threshold** (:mod:`~course_lib.inference.thresholds`):
  :func:`choose_threshold` finds the threshold that meets a recall (or precision) target
  with the best value of the other metric, or says why none does (a
  :class:`ThresholdResult` with ``ok=False`` and a ``reason``: no exception, so a lesson
  can show the explanation). :func:`check_threshold` grades a learner's pick.
* **Costs** (:mod:`course_lib.costs`, re-exported here): :func:`cost_curve` weighs missed
  frauds and false alarms by what they cost (``miss_cost``, ``false_alarm_cost``) and
  finds the cheapest threshold, with the cost at every candidate.
* **Inputs** (:mod:`~course_lib.inference.drift`): a saved model checks the *shape* of its
  input, not its *meaning*. :class:`FeatureProfile` records the training features'
  statistics and :meth:`FeatureProfile.check` flags a batch whose columns do not look
  like them (a :class:`FeatureCheckResult`: swapped columns, a different unit or
  preprocessing).

Candidate thresholds are :data:`THRESHOLDS` (0.00, 0.01, ..., 1.00, the steps of the
lesson's threshold slider) unless you pass your own. A score at or above the
threshold counts as positive, as in :meth:`course_lib.metrics.Metrics.from_predictions`.
Lessons show errors without a traceback through :func:`course_lib.errors.attempt`.
"""

from __future__ import annotations

from course_lib._checks import THRESHOLDS
from course_lib.costs import CostCurve, cost_curve
from course_lib.errors import FeatureMismatchError, TargetNotMetError
from course_lib.inference.drift import FeatureCheckResult, FeatureDrift, FeatureProfile
from course_lib.inference.latency import LatencyReport, LatencyRow, call_styles, measure_latency
from course_lib.inference.thresholds import ThresholdResult, check_threshold, choose_threshold

__all__ = [
    "THRESHOLDS",
    "CostCurve",
    "FeatureCheckResult",
    "FeatureDrift",
    "FeatureMismatchError",
    "FeatureProfile",
    "LatencyReport",
    "LatencyRow",
    "TargetNotMetError",
    "ThresholdResult",
    "call_styles",
    "check_threshold",
    "choose_threshold",
    "cost_curve",
    "measure_latency",
]
