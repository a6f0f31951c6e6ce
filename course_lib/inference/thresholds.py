"""The decision threshold: the one that meets a recall or precision target, and grading a pick.

>>> from course_lib.inference import choose_threshold
>>> result = choose_threshold([0, 0, 0, 1, 1], [0.10, 0.40, 0.65, 0.60, 0.90], min_recall=1.0)
>>> result.ok, result.threshold, round(result.metrics.precision, 3)
(True, 0.41, 0.667)

:func:`choose_threshold` finds the threshold that meets a recall (or precision) target
with the best value of the other metric, or says why none does (``ok=False`` and a
``reason``: no exception, so a lesson can show the explanation).
:func:`check_threshold` grades a learner's pick. Candidate thresholds are
:data:`~course_lib._checks.THRESHOLDS` (0.00, 0.01, ..., 1.00, the steps of the lesson's
threshold slider) unless you pass your own. A score at or above the threshold counts as
positive, as in :meth:`course_lib.metrics.Metrics.from_predictions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from course_lib import _checks, _display
from course_lib.costs import binary_scores, metrics_at_thresholds
from course_lib.errors import InvalidInputError, TargetNotMetError
from course_lib.metrics import Metrics

if TYPE_CHECKING:  # only for annotations: importing it costs nothing at run time
    from course_lib.exercises import Feedback

__all__ = ["ThresholdResult", "check_threshold", "choose_threshold"]


def _labels_and_scores(y_true: object, scores: object) -> tuple[np.ndarray, np.ndarray]:
    """Validated 0/1 labels and probability scores as flat arrays (a binary classifier's only)."""
    return binary_scores(y_true, scores, kind="threshold")


def _target(name: str, value: object) -> float | None:
    if value is None:
        return None
    if not _checks.is_number(value) or not 0.0 <= float(value) <= 1.0:  # type: ignore[arg-type]
        raise InvalidInputError(
            f"expected {name} to be a fraction between 0 and 1; found {value!r}. "
            f"Fix: 90% is {name}=0.9."
        )
    return float(value)  # type: ignore[arg-type]


def _targets_text(min_recall: float | None, min_precision: float | None) -> str:
    parts = []
    if min_recall is not None:
        parts.append(f"recall ≥ {min_recall:.2f}")
    if min_precision is not None:
        parts.append(f"precision ≥ {min_precision:.2f}")
    return " and ".join(parts)


@dataclass(frozen=True, repr=False)
class ThresholdResult(_display.Report):
    """The threshold that meets a target, with its metrics; or ``ok=False`` and the reason.

    >>> r = choose_threshold([0, 1, 1], [0.2, 0.3, 0.9], min_precision=0.99)
    >>> r.ok, r.threshold
    (True, 0.3)
    >>> unmet = choose_threshold([0, 1], [0.9, 0.1], min_precision=0.99)
    >>> print(unmet.reason)  # doctest: +ELLIPSIS
    no threshold from 0.00 to 1.00 gives precision ≥ 0.99 on these 2 rows: the highest ...
    """

    threshold: float | None
    metrics: Metrics | None
    min_recall: float | None
    min_precision: float | None
    optimized: str
    reason: str
    n_rows: int

    @property
    def ok(self) -> bool:
        """True when a candidate threshold meets the target."""
        return self.threshold is not None

    @property
    def target(self) -> str:
        """The target in words, e.g. ``recall ≥ 0.90``."""
        return _targets_text(self.min_recall, self.min_precision)

    def meets(self, metrics: Metrics) -> bool:
        """Whether ``metrics`` (e.g. on the test rows) still meet this result's target.

        >>> r = choose_threshold([0, 1, 1], [0.2, 0.3, 0.9], min_recall=1.0)
        >>> r.meets(Metrics.from_counts(tp=1, fp=0, fn=1, tn=3))
        False
        """
        if not isinstance(metrics, Metrics):
            raise InvalidInputError(
                f"expected a Metrics value; found {type(metrics).__name__}. "
                "Fix: result.meets(result.apply(y_test, test_scores))."
            )
        return ((self.min_recall is None or metrics.recall >= self.min_recall - 1e-12)
                and (self.min_precision is None or metrics.precision >= self.min_precision - 1e-12))

    def raise_if_unmet(self) -> ThresholdResult:
        """Return self when a threshold was found, else raise :class:`TargetNotMetError`.

        >>> choose_threshold([0, 1], [0.2, 0.8], min_recall=0.9).raise_if_unmet().threshold
        0.21
        """
        if not self.ok:
            raise TargetNotMetError(self.reason)
        return self

    def apply(self, y_true: Sequence[int] | np.ndarray,
              scores: Sequence[float] | np.ndarray) -> Metrics:
        """Metrics of the chosen threshold on other rows (choose on validation, report on test).

        >>> r = choose_threshold([0, 1, 1], [0.2, 0.3, 0.9], min_recall=1.0)
        >>> r.apply([0, 1, 1, 0], [0.1, 0.2, 0.8, 0.4]).recall
        0.5
        """
        self.raise_if_unmet()
        y, s = _labels_and_scores(y_true, scores)
        return Metrics.from_predictions(y, s, self.threshold)  # type: ignore[arg-type]

    @property
    def verdict(self) -> str:
        """``OK: threshold ... gives ...`` with its metrics, or ``NOT MET:`` and the reason."""
        if not self.ok:
            return f"NOT MET: {self.reason}"
        m = self.metrics
        assert m is not None and self.threshold is not None
        return (f"OK: threshold {self.threshold:.2f} gives {self.target} with the best "
                f"{self.optimized}: recall {m.recall:.3f}, precision {m.precision:.3f} on these "
                f"{self.n_rows:,} rows ({m.tp:,} of {m.positives:,} positives caught, "
                f"{_display.plural(m.fp, 'false alarm')})")

    def _repr_html_(self) -> str:
        html = _display.verdict_html(self.verdict, self.ok)
        return html + self.metrics._repr_html_() if self.metrics is not None else html


def _why_not(n: int, grid: np.ndarray, recall: np.ndarray, precision: np.ndarray,
             min_recall: float | None, min_precision: float | None) -> str:
    span = f"no threshold from {grid[0]:.2f} to {grid[-1]:.2f} gives " \
           f"{_targets_text(min_recall, min_precision)} on these {n:,} rows: "
    fix = (" Fix: relax the target, or improve the model (moving the threshold only trades "
           "precision against recall).")
    if min_recall is not None and min_precision is not None:
        reach = recall >= min_recall - 1e-12
        if not reach.any():
            i = int(np.argmax(recall))
            return span + f"recall never reaches {min_recall:.2f} (highest {recall[i]:.3f} at " \
                          f"{grid[i]:.2f})." + fix
        i = int(np.flatnonzero(reach)[np.argmax(precision[reach])])
        return (span + f"where recall is at least {min_recall:.2f}, precision is at most "
                f"{precision[i]:.3f} (at threshold {grid[i]:.2f})." + fix)
    name, values = ("recall", recall) if min_recall is not None else ("precision", precision)
    i = int(np.argmax(values))
    return span + f"the highest {name} is {values[i]:.3f} (at threshold {grid[i]:.2f})." + fix


def choose_threshold(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, *,
    min_recall: float | None = None, min_precision: float | None = None,
    thresholds: Sequence[float] | np.ndarray | None = None,
) -> ThresholdResult:
    """The threshold that meets a recall and/or precision target with the best other metric.

    >>> y, s = [0, 0, 1, 0, 1, 1], [0.1, 0.3, 0.35, 0.5, 0.7, 0.9]
    >>> r = choose_threshold(y, s, min_recall=0.6)
    >>> r.threshold, r.metrics.recall, r.metrics.precision
    (0.51, 0.6666666666666666, 1.0)

    * ``min_recall`` only: the best precision among thresholds with recall ≥ target;
    * ``min_precision`` only: the best recall among thresholds with precision ≥ target;
    * both: the best F1 among thresholds meeting both.

    Thresholds that tie (the same counts on these rows) are resolved towards a
    margin for the target: the lowest of them for a recall target, the highest for a
    precision-only target. Choose on validation rows, then report on test rows with
    :meth:`ThresholdResult.apply`.

    When no candidate threshold meets the target, the result has ``ok=False``,
    ``threshold=None`` and a ``reason`` saying what is reachable: no exception, so a
    notebook shows the explanation (call :meth:`~ThresholdResult.raise_if_unmet` to
    fail instead). Bad input (empty or mismatched arrays, scores outside [0, 1], a
    target outside [0, 1], no positive example) raises :class:`InvalidInputError`.
    """
    y, s = _labels_and_scores(y_true, scores)
    r_target, p_target = _target("min_recall", min_recall), _target("min_precision", min_precision)
    if r_target is None and p_target is None:
        raise InvalidInputError(
            "expected a target: min_recall, min_precision or both; found neither. "
            "Fix: choose_threshold(y_val, val_scores, min_recall=0.9)."
        )
    if not (y == 1).any():
        raise InvalidInputError(
            f"expected at least one positive example (label 1) among the {y.size:,} rows to "
            "measure recall and precision; found none. Fix: choose on a larger validation set."
        )
    grid = _checks.thresholds(thresholds)
    at = metrics_at_thresholds(y, s, grid)
    recall = np.array([m.recall for m in at])
    precision = np.array([m.precision for m in at])
    meets = np.ones(grid.size, dtype=bool)
    if r_target is not None:
        meets &= recall >= r_target - 1e-12
    if p_target is not None:
        meets &= precision >= p_target - 1e-12
    if r_target is not None and p_target is not None:
        optimized, objective = "F1", np.array([m.f1 for m in at])
    elif r_target is not None:
        optimized, objective = "precision", precision
    else:
        optimized, objective = "recall", recall
    common = {"min_recall": r_target, "min_precision": p_target, "optimized": optimized,
              "n_rows": int(y.size)}
    if not meets.any():
        reason = _why_not(int(y.size), grid, recall, precision, r_target, p_target)
        return ThresholdResult(threshold=None, metrics=None, reason=reason, **common)
    candidates = np.flatnonzero(meets)
    best = objective[candidates].max()
    tied = candidates[np.isclose(objective[candidates], best, rtol=0, atol=1e-12)]
    i = int(tied[0] if r_target is not None else tied[-1])  # the margin side of the target
    t = float(grid[i])
    return ThresholdResult(threshold=t, metrics=Metrics.from_predictions(y, s, t), reason="",
                           **common)


def _parse_threshold(value: object) -> float | str:
    """A threshold from a learner's answer (number or text), or a message saying what to give."""
    expected = f"Expected a threshold between 0 and 1, such as 0.35; got {value!r}."
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return expected
    if not _checks.is_number(value) or not 0.0 <= float(value) <= 1.0:  # type: ignore[arg-type]
        return expected
    return float(value)  # type: ignore[arg-type]


def _objective(m: Metrics, name: str) -> float:
    return m.f1 if name == "F1" else m.get(name)


def check_threshold(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: object, *,
    min_recall: float | None = None, min_precision: float | None = None,
    question_id: str = "l03-threshold-for-recall",
) -> Feedback:
    """Grade a learner's threshold: does it meet the target, and is it the best one that does?

    >>> y, s = [0, 0, 1, 0, 1, 1], [0.1, 0.3, 0.35, 0.5, 0.7, 0.9]
    >>> check_threshold(y, s, 0.6, min_recall=0.6).correct
    True
    >>> print(check_threshold(y, s, 0.8, min_recall=0.6).message)  # doctest: +ELLIPSIS
    At threshold 0.80 recall is 0.333, below the target 0.60: lower the threshold ...

    Correct means: the target is met and the other metric is as good as
    :func:`choose_threshold`'s (any threshold giving the same counts is as good).
    Never raises on the answer; bad data or targets raise :class:`InvalidInputError`.
    """
    from course_lib.exercises import Feedback

    best = choose_threshold(y_true, scores, min_recall=min_recall, min_precision=min_precision)
    value = _parse_threshold(threshold)
    if isinstance(value, str):
        return Feedback(False, value, question_id)
    y, s = _labels_and_scores(y_true, scores)
    m = Metrics.from_predictions(y, s, value)
    ways = (("recall", best.min_recall, "lower the threshold to flag more"),
            ("precision", best.min_precision, "raise the threshold to flag fewer"))
    for name, target, way in ways:
        if target is not None and m.get(name) < target - 1e-12:
            tail = (f" No threshold meets the target here: {best.reason}" if not best.ok else
                    " transactions.")
            return Feedback(False, f"At threshold {value:.2f} {name} is {m.get(name):.3f}, below "
                            f"the target {target:.2f}: {way}{tail}", question_id)
    if not best.ok:  # the pick met every target only in the learner's own threshold
        return Feedback(False, best.reason, question_id)
    assert best.metrics is not None and best.threshold is not None
    got, want = _objective(m, best.optimized), _objective(best.metrics, best.optimized)
    if got >= want - 1e-12:
        return Feedback(True, f"Threshold {value:.2f} meets {best.target} with the best "
                        f"{best.optimized} reachable ({got:.3f}): recall {m.recall:.3f}, "
                        f"precision {m.precision:.3f}.", question_id)
    return Feedback(False, f"Threshold {value:.2f} meets {best.target}, but its {best.optimized} "
                    f"is {got:.3f}; threshold {best.threshold:.2f} also meets it with "
                    f"{best.optimized} {want:.3f}. Try a threshold closer to it.", question_id)
