"""Parity of a converted model with its source, measured in TF.js, and the size budget.

>>> from course_lib.metrics import Metrics
>>> from course_lib.tfjs import parity
>>> m = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
>>> print(parity.check_budget(parity.Parity.from_metrics("float16", 70_000, m, m)))
PASS float16: size 68.4 KB fits the 100.0 KB budget; every metric within 0.02 of the source model in TF.js

:func:`verify` compares the TF.js metrics with the source model's
(:func:`course_lib.metrics.compare`, 0.02 = the seed's 2 points) and reports the
largest prediction difference; :func:`check_budget` adds the size rule.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import _checks, _display, _tf
from course_lib.errors import InvalidInputError
from course_lib.metrics import Comparison, Metrics, compare
from course_lib.tfjs.conversion import Conversion, slug
from course_lib.tfjs.runtime import NodeRun, model_rows, run

__all__ = [
    "MAX_SIZE_BYTES", "SEED_TOLERANCE", "BudgetResult", "Parity", "check_budget",
    "reference_scores", "verify",
]

#: The seed's rule: after conversion every metric within 1 to 2 points (0.02) of the original.
SEED_TOLERANCE = 0.02
#: Default download budget of the lessons' browser page: 100 KB for model.json and its weights.
MAX_SIZE_BYTES = 100 * 1024
_LABELS = ("source (Python)", "TF.js")


def reference_scores(reference: Any, x: np.ndarray) -> tuple[np.ndarray, float | None]:
    """Scores of the source model (Python) and how long the batch took (None when given).

    ``reference`` is a ``keras.Model``, a SavedModel path, or the scores themselves.

    >>> reference_scores(np.array([0.2, 0.9]), np.zeros((2, 3)))[0].tolist()
    [[0.20000000298023224], [0.8999999761581421]]
    """
    predict_fn: Callable[[np.ndarray], np.ndarray]
    if isinstance(reference, np.ndarray):
        return reference.reshape(reference.shape[0], -1).astype(np.float32), None
    if isinstance(reference, (str, os.PathLike)):
        from course_lib import persistence

        predict_fn = persistence.load(reference).predict
    elif isinstance(reference, _tf.keras().Model):
        def predict_fn(rows: np.ndarray) -> np.ndarray:
            return np.asarray(reference.predict(rows, batch_size=4096, verbose=0))
    else:
        raise InvalidInputError(
            f"expected the source model (keras.Model or SavedModel path) or its scores (a "
            f"NumPy array); found {type(reference).__name__}."
        )
    predict_fn(x[:1])  # warm-up: the first call traces the function
    start = time.perf_counter()
    scores = np.asarray(predict_fn(x))
    return scores.reshape(scores.shape[0], -1).astype(np.float32), time.perf_counter() - start


@dataclass(frozen=True, repr=False)
class Parity(_display.ComparisonReport):
    """The converted model's metrics in TF.js against the source model's, with the verdict.

    The seed's rule: every metric within ``tolerance`` (0.02, i.e. 2 points); ``ok``,
    ``verdict`` and the table are those of ``comparison``.

    >>> m = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
    >>> Parity.from_metrics("float16", 70_000, m, m).verdict
    'OK: every metric within 0.02 of source (Python)'
    """

    label: str
    path: Path
    size_bytes: int
    weight_bytes: int
    before: Metrics
    after: Metrics
    comparison: Comparison
    max_abs_diff: float
    node: NodeRun | None
    reference_seconds: float | None = None

    @classmethod
    def from_metrics(cls, label: str, size_bytes: int, before: Metrics, after: Metrics, *,
                     tolerance: float = SEED_TOLERANCE, max_abs_diff: float = 0.0) -> Parity:
        """A result from known figures (no model): for exercises, what-ifs and tests.

        >>> m = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
        >>> Parity.from_metrics("float16", 70_000, m, m).ok
        True
        """
        return cls(label=label, path=Path(slug(label)), size_bytes=int(size_bytes),
                   weight_bytes=int(size_bytes), before=before, after=after,
                   comparison=compare(before, after, tolerance, labels=_LABELS),
                   max_abs_diff=float(max_abs_diff), node=None)

    @property
    def tolerance(self) -> float:
        """The largest change allowed (0.02 = 2 points)."""
        return max(r.tolerance for r in self.comparison.rows)

    @property
    def title(self) -> str:  # type: ignore[override]
        return (f"{self.label}: {_display.size(self.size_bytes)} (weights "
                f"{_display.size(self.weight_bytes)}), largest prediction difference "
                f"{self.max_abs_diff:.2g}")


def verify(model_dir: str | os.PathLike[str], reference: Any, x: object,
           y: Sequence[int] | np.ndarray, *,
           tolerance: float = SEED_TOLERANCE, threshold: float = 0.5,
           label: str | None = None) -> Parity:
    """Metrics of the TF.js model (run in Node) against the source model on ``(x, y)``.

    ``reference`` is the source: a ``keras.Model``, a SavedModel path, or its scores
    already computed (a NumPy array).

    >>> p = verify("web/fraud_f16", model, fraud.test.x, fraud.test.y)
    >>> p.ok, p.max_abs_diff < 1e-3
    (True, True)
    """
    path = Path(model_dir)
    arr = model_rows(path, x)
    before_scores, seconds = reference_scores(reference, arr)
    node = run(path, arr)
    if before_scores.shape[0] != node.scores.shape[0]:
        raise InvalidInputError(
            f"expected one reference score per row of x: {node.scores.shape[0]} rows but "
            f"{before_scores.shape[0]} scores. Fix: compute the scores on the same rows."
        )
    before = Metrics.from_predictions(y, before_scores[:, -1], threshold)
    after = Metrics.from_predictions(y, node.scores[:, -1], threshold)
    written = Conversion.read(path)
    return Parity(
        label=label or written.stored_as, path=path,
        size_bytes=written.size_bytes, weight_bytes=written.weight_bytes,
        before=before, after=after,
        comparison=compare(before, after, tolerance, labels=_LABELS),
        max_abs_diff=float(np.max(np.abs(node.scores[:, -1] - before_scores[:, -1]))),
        node=node, reference_seconds=seconds,
    )


# -- the size budget --------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class BudgetResult(_display.Report):
    """Pass/fail of one converted model against the metric rule and a size budget.

    >>> m = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
    >>> r = check_budget(Parity.from_metrics("float32", 150_000, m, m))
    >>> r.ok, r.fits, r.metrics_ok
    (False, False, True)
    """

    label: str
    size_bytes: int
    max_size_bytes: int
    fits: bool
    metrics_ok: bool
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Fits the budget and keeps every metric within tolerance."""
        return self.fits and self.metrics_ok

    @property
    def failures(self) -> tuple[str, ...]:
        """The reasons of the rules not met."""
        return tuple(r for r, ok in zip(self.reasons, (self.fits, self.metrics_ok)) if not ok)

    @property
    def verdict(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'} {self.label}: " + "; ".join(self.reasons)


def check_budget(result: Parity, max_size_bytes: int = MAX_SIZE_BYTES) -> BudgetResult:
    """Decide whether a converted model ships: within the size budget and the metric tolerance.

    A pure function of measured results (a :class:`Parity`).

    >>> m = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
    >>> r = check_budget(Parity.from_metrics("float16", 70_000, m, m), max_size_bytes=100 * 1024)
    >>> r.ok, r.reasons[0]
    (True, 'size 68.4 KB fits the 100.0 KB budget')
    """
    limit = _checks.whole("max_size_bytes", max_size_bytes, minimum=1)
    if not isinstance(result, Parity):
        raise InvalidInputError(
            f"expected a Parity result (from tfjs.verify); found {type(result).__name__}."
        )
    fits = result.size_bytes <= limit
    size = (f"size {_display.size(result.size_bytes)} {'fits' if fits else 'exceeds'} the "
            f"{_display.size(limit)} budget")
    if result.ok:
        metric = f"every metric within {result.tolerance:g} of the source model in TF.js"
    else:
        moved = ", ".join(f"{r.name} {r.delta:+.3f}" for r in result.comparison.failures)
        metric = f"metrics moved more than {result.tolerance:g}: {moved}"
    return BudgetResult(label=result.label, size_bytes=result.size_bytes, max_size_bytes=limit,
                        fits=fits, metrics_ok=result.ok, reasons=(size, metric))
