"""Inference after loading: latency and throughput, decision thresholds, costs, input checks.

>>> import numpy as np
>>> from course_lib import inference
>>> y = [0, 0, 0, 1, 1]
>>> scores = [0.10, 0.40, 0.65, 0.60, 0.90]
>>> choice = inference.choose_threshold(y, scores, min_recall=1.0)
>>> choice.ok, choice.threshold, round(choice.metrics.precision, 3)
(True, 0.41, 0.667)
>>> inference.cost_curve(y, scores, cost_missed_fraud=100, cost_false_alarm=1).best_threshold
0.6

Four concerns of running a loaded model, each measured rather than assumed:

* **Speed**: :func:`measure_latency` times a prediction function (or several:
  :func:`call_styles` gives ``model.predict``, ``model(x, training=False)`` and a
  SavedModel signature) at several batch sizes, after a warm-up, and reports the
  median (p50) and 95th percentile (p95) of the time per call and the throughput
  in rows per second. Single timings lie: the first calls build graphs and fill
  caches, and a shared machine adds noise, so the report keeps every timing.
* **The decision threshold**: :func:`choose_threshold` finds the threshold that
  meets a recall (or precision) target with the best value of the other metric,
  or says why none does (``ok=False`` and a ``reason``: no exception, so a lesson
  can show the explanation). :func:`check_threshold` grades a learner's pick.
* **Costs**: :func:`cost_curve` weighs missed frauds and false alarms by what they
  cost and finds the cheapest threshold, with the cost at every candidate.
* **Inputs**: a saved model checks the *shape* of its input, not its *meaning*.
  :class:`FeatureProfile` records the training features' statistics and
  :meth:`FeatureProfile.check` flags a batch whose columns do not look like them
  (swapped columns, a different unit or preprocessing).

Candidate thresholds are :data:`THRESHOLDS` (0.00, 0.01, ..., 1.00, the steps of the
lesson's threshold slider) unless you pass your own. A score at or above the
threshold counts as positive, as in :meth:`course_lib.metrics.Metrics.from_predictions`.

Lessons show errors without a traceback through :func:`course_lib.errors.attempt`.
"""

from __future__ import annotations

import html
import math
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from course_lib.errors import CourseLibError, InvalidInputError, require
from course_lib.metrics import Metrics, as_labels, as_scores

if TYPE_CHECKING:  # only for annotations: importing them costs nothing at run time
    from matplotlib.figure import Figure

    from course_lib.exercises import Feedback

__all__ = [
    "THRESHOLDS",
    "CostCurve",
    "FeatureCheck",
    "FeatureDrift",
    "FeatureMismatchError",
    "FeatureProfile",
    "LatencyReport",
    "LatencyRow",
    "TargetNotMetError",
    "ThresholdChoice",
    "call_styles",
    "check_threshold",
    "choose_threshold",
    "cost_curve",
    "measure_latency",
]

#: Default candidate thresholds: 0.00, 0.01, ..., 1.00 (rounded, so 0.29 is exactly 0.29).
THRESHOLDS: np.ndarray = np.round(np.linspace(0.0, 1.0, 101), 2)

_CELL = 'style="padding:2px 10px;text-align:right"'
_GREEN, _RED = "#1a7f37", "#b42318"


class FeatureMismatchError(InvalidInputError):
    """Input features that do not match what the model was trained on (columns, order, units)."""


class TargetNotMetError(CourseLibError):
    """A threshold was asked of a :class:`ThresholdChoice` whose target no threshold meets."""


# -- small shared checks ----------------------------------------------------------------

def _is_number(value: object) -> bool:
    return (not isinstance(value, bool) and isinstance(value, numbers.Real)
            and math.isfinite(float(value)))


def _whole(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidInputError(
            f"expected {name} to be a whole number of {minimum} or more; found {value!r}. "
            f"Fix: pass e.g. {name}={max(minimum, 3)}."
        )
    return int(value)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _labels_and_scores(y_true: object, scores: object) -> tuple[np.ndarray, np.ndarray]:
    """Validated 0/1 labels and probability scores as flat arrays."""
    # The metrics' own checks and messages: 0/1 labels, one finite score per label.
    y = as_labels(y_true)
    s = as_scores(scores, y.shape[0])
    if s.min() < 0.0 or s.max() > 1.0:
        raise InvalidInputError(
            f"expected scores between 0 and 1 (probabilities of the positive class); found "
            f"values from {s.min():.4g} to {s.max():.4g}. Fix: pass the model's sigmoid output "
            "(models.predict_scores), not logits or 0-100 percentages."
        )
    return y, s


def _candidates(thresholds: Sequence[float] | np.ndarray | None) -> np.ndarray:
    if thresholds is None:
        return THRESHOLDS
    try:
        grid = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"expected thresholds to be numbers between 0 and 1; could not read them ({exc})."
        ) from exc
    if grid.size == 0 or not np.isfinite(grid).all() or grid.min() < 0 or grid.max() > 1:
        raise InvalidInputError(
            "expected at least one candidate threshold, each a number between 0 and 1; found "
            f"{grid.tolist()[:5]}{'...' if grid.size > 5 else ''}. Fix: leave thresholds=None "
            "for 0.00, 0.01, ..., 1.00."
        )
    return np.unique(grid)


def _counts(y: np.ndarray, s: np.ndarray, grid: np.ndarray) -> tuple[np.ndarray, ...]:
    """TP, FP, FN, TN at each threshold of ``grid`` (score >= threshold is positive), one sort."""
    pos, neg = np.sort(s[y == 1]), np.sort(s[y == 0])
    tp = pos.size - np.searchsorted(pos, grid, side="left")
    fp = neg.size - np.searchsorted(neg, grid, side="left")
    return tp, fp, pos.size - tp, neg.size - fp


def _at(y: np.ndarray, s: np.ndarray, threshold: float) -> Metrics:
    return Metrics.from_predictions(y, s, float(threshold))


def _new_figure(width: float, height: float) -> Figure:
    require("matplotlib", "plots")
    from course_lib.plots import new_figure  # one place sets up figure display

    return new_figure(width, height)


# -- latency and throughput ---------------------------------------------------------------

def _duration(seconds: float) -> str:
    """A duration with a unit (the form notebooks/sanitize.cfg recognises)."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


@dataclass(frozen=True)
class LatencyRow:
    """The timings of one prediction method at one batch size, and what follows from them.

    >>> row = LatencyRow("model(x)", 100, (0.002, 0.002, 0.004))
    >>> row.p50, row.throughput
    (0.002, 50000.0)
    """

    method: str
    batch_size: int
    seconds: tuple[float, ...]

    @property
    def p50(self) -> float:
        """Median time per call, in seconds."""
        return float(np.percentile(self.seconds, 50))

    @property
    def p95(self) -> float:
        """95th percentile of the time per call (linear interpolation), in seconds."""
        return float(np.percentile(self.seconds, 95))

    @property
    def spread(self) -> float:
        """p95 / p50: 1.0 when every call took the same time."""
        return self.p95 / self.p50 if self.p50 > 0 else math.inf

    @property
    def throughput(self) -> float:
        """Rows per second at the median: ``batch_size / p50``."""
        return self.batch_size / self.p50 if self.p50 > 0 else math.inf

    @property
    def per_row(self) -> float:
        """Median time per row, in seconds: ``p50 / batch_size``."""
        return self.p50 / self.batch_size


@dataclass(frozen=True)
class LatencyReport:
    """Latency (p50, p95) and throughput per method and batch size, as a table and a plot.

    >>> report = LatencyReport((LatencyRow("f", 1, (0.001, 0.001, 0.002)),), warmup=1, repeats=3)
    >>> report.row("f", 1).throughput
    1000.0
    >>> print(report)  # doctest: +NORMALIZE_WHITESPACE
    method   batch   p50 latency   p95 latency   spread   throughput
    f            1       1.00 ms       1.90 ms     1.9x   1,000 rows/s
    (3 timed calls per cell after 1 warm-up calls; p50 = median, p95 = 95th percentile)
    """

    rows: tuple[LatencyRow, ...]
    warmup: int
    repeats: int

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods measured, in order."""
        return tuple(dict.fromkeys(r.method for r in self.rows))

    @property
    def batch_sizes(self) -> tuple[int, ...]:
        """The batch sizes measured, ascending."""
        return tuple(sorted({r.batch_size for r in self.rows}))

    def row(self, method: str, batch_size: int) -> LatencyRow:
        """The row of one method at one batch size."""
        for r in self.rows:
            if r.method == method and r.batch_size == batch_size:
                return r
        raise InvalidInputError(
            f"expected a measured method and batch size: methods {list(self.methods)}, batch "
            f"sizes {list(self.batch_sizes)}; found {method!r} at {batch_size!r}."
        )

    def as_dicts(self) -> list[dict[str, Any]]:
        """One plain dict per row (seconds and rows/s), e.g. for a DataFrame or JSON."""
        return [{"method": r.method, "batch_size": r.batch_size, "p50_s": r.p50, "p95_s": r.p95,
                 "spread": r.spread, "rows_per_s": r.throughput} for r in self.rows]

    def real_time_verdict(self, budget_seconds: float = 0.010, batch_size: int = 1) -> str:
        """Which methods answer one call of ``batch_size`` rows within a latency budget (at p95).

        >>> r = LatencyReport((LatencyRow("f", 1, (0.001,) * 3),), warmup=0, repeats=3)
        >>> print(r.real_time_verdict(0.010))
        budget: 10.00 ms per call of 1 row, at p95 (19 calls in 20 within it)
          f: p95 1.00 ms, fits
        """
        if not _is_number(budget_seconds) or budget_seconds <= 0:
            raise InvalidInputError(
                f"expected budget_seconds to be a positive number of seconds; found "
                f"{budget_seconds!r}. Fix: 10 ms is budget_seconds=0.010."
            )
        rows = [self.row(m, batch_size) for m in self.methods]
        unit = "row" if batch_size == 1 else "rows"
        lines = [(f"budget: {_duration(budget_seconds)} per call of {batch_size} {unit}, "
                  "at p95 (19 calls in 20 within it)")]
        lines += [(f"  {r.method}: p95 {_duration(r.p95)}, "
                   f"{'fits' if r.p95 <= budget_seconds else 'too slow'}") for r in rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"LatencyReport(methods={list(self.methods)}, "
                f"batch_sizes={list(self.batch_sizes)}, repeats={self.repeats}, "
                f"warmup={self.warmup})")

    def __str__(self) -> str:
        width = max(6, *(len(m) for m in self.methods))
        head = (f"{'method':<{width}}   batch   p50 latency   p95 latency   spread   throughput")
        lines = [head] + [
            f"{r.method:<{width}}   {r.batch_size:>5}   {_duration(r.p50):>11}   "
            f"{_duration(r.p95):>11}   {r.spread:>5.1f}x   {r.throughput:,.0f} rows/s"
            for r in self.rows
        ]
        lines.append(f"({self.repeats} timed calls per cell after {self.warmup} warm-up calls; "
                     "p50 = median, p95 = 95th percentile)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th {_CELL}>{h}</th>" for h in
                       ("method", "batch", "p50 latency", "p95 latency", "spread", "throughput"))
        body = "".join(
            f"<tr><td style='padding:2px 10px'><code>{html.escape(r.method)}</code></td>"
            f"<td {_CELL}>{r.batch_size:,}</td><td {_CELL}>{_duration(r.p50)}</td>"
            f"<td {_CELL}>{_duration(r.p95)}</td><td {_CELL}>{r.spread:.1f}x</td>"
            f"<td {_CELL}>{r.throughput:,.0f} rows/s</td></tr>"
            for r in self.rows
        )
        return (f'<table style="border-collapse:collapse"><tr>{head}</tr>{body}</table>'
                f"<p><em>{self.repeats} timed calls per cell after {self.warmup} warm-up calls; "
                "p50 = median, p95 = 95th percentile.</em></p>")

    def plot(self) -> Figure:
        """Latency per call (p50, bars up to p95) and throughput against batch size, log scales.

        >>> r = LatencyReport((LatencyRow("f", 1, (0.001,) * 3), LatencyRow("f", 10, (0.002,) * 3)),
        ...                   warmup=0, repeats=3)
        >>> [ax.get_ylabel() for ax in r.plot().axes]
        ['time per call (s)', 'rows per second']
        """
        fig = _new_figure(10.0, 4.0)
        left, right = fig.subplots(1, 2)
        for method in self.methods:
            rows = [self.row(method, b) for b in self.batch_sizes]
            sizes = [r.batch_size for r in rows]
            p50 = np.array([r.p50 for r in rows])
            p95 = np.array([r.p95 for r in rows])
            left.errorbar(sizes, p50, yerr=[np.zeros_like(p50), p95 - p50], marker="o",
                          capsize=3, label=method)
            right.plot(sizes, [r.throughput for r in rows], marker="o", label=method)
        left.set(xscale="log", yscale="log", xlabel="batch size (rows per call)",
                 ylabel="time per call (s)", title="Latency per call (p50, bar to p95)")
        right.set(xscale="log", yscale="log", xlabel="batch size (rows per call)",
                  ylabel="rows per second", title="Throughput (rows / p50 time)")
        for ax in (left, right):
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize="small")
        return fig


def measure_latency(
    predict: Callable[[np.ndarray], Any] | Mapping[str, Callable[[np.ndarray], Any]],
    x: np.ndarray,
    batch_sizes: Sequence[int] = (1, 10, 100, 1000),
    repeats: int = 20,
    warmup: int = 3,
    *,
    timer: Callable[[], float] = time.perf_counter,
) -> LatencyReport:
    """Time ``predict`` on the first rows of ``x`` at each batch size, after a warm-up.

    ``predict`` is one function (reported as ``"predict"``) or a mapping of names to
    functions; each gets a NumPy batch and should return the predictions in the form
    the application uses (so converting them is part of the time). For every
    method and batch size: ``warmup`` untimed calls, then ``repeats`` timed ones.

    >>> report = measure_latency(lambda b: b.sum(axis=1), np.ones((100, 8)), batch_sizes=(1, 100))
    >>> report.methods, report.batch_sizes, len(report.row("predict", 100).seconds)
    (('predict',), (1, 100), 20)

    ``timer`` returns the current time in seconds (``time.perf_counter``; tests pass a
    fake clock). Throughput is ``batch_size / p50``.
    """
    methods = dict(predict) if isinstance(predict, Mapping) else {"predict": predict}
    if not methods:
        raise InvalidInputError(
            "expected at least one prediction function; found an empty mapping. "
            'Fix: pass a function, or {"name": function, ...}.'
        )
    for name, fn in methods.items():
        if not callable(fn):
            raise InvalidInputError(
                f"expected {name!r} to be a function taking a batch of rows; found "
                f"{type(fn).__name__}. Fix: pass e.g. lambda batch: model(batch, training=False)."
            )
    try:
        arr = np.asarray(x)
    except Exception as exc:
        raise InvalidInputError(
            f"expected x to be an array of rows; could not read it ({exc})."
        ) from exc
    if arr.ndim < 1 or arr.shape[0] == 0:
        raise InvalidInputError(
            f"expected x to hold at least one row to predict on; found shape {arr.shape}. "
            "Fix: pass e.g. fraud.test.x."
        )
    if (isinstance(batch_sizes, (str, bytes)) or not isinstance(batch_sizes, Sequence)
            or not batch_sizes):
        raise InvalidInputError(
            f"expected batch_sizes to be a non-empty list of whole numbers; found {batch_sizes!r}. "
            "Fix: batch_sizes=(1, 10, 100, 1000)."
        )
    sizes = sorted({_whole("each batch size", b, 1) for b in batch_sizes})
    if sizes[-1] > arr.shape[0]:
        raise InvalidInputError(
            f"expected x to have at least {sizes[-1]} rows for a batch of {sizes[-1]}; found "
            f"{arr.shape[0]}. Fix: pass more rows or smaller batch sizes."
        )
    repeats = _whole("repeats", repeats, 3)
    warmup = _whole("warmup", warmup, 0)
    batches = {b: np.ascontiguousarray(arr[:b]) for b in sizes}  # slicing is not timed
    rows = []
    for name, fn in methods.items():
        for b in sizes:
            batch = batches[b]
            try:
                for _ in range(warmup):
                    fn(batch)
                seconds = []
                for _ in range(repeats):
                    start = timer()
                    fn(batch)
                    seconds.append(timer() - start)
            except CourseLibError:
                raise
            except Exception as exc:
                raise InvalidInputError(
                    f"expected {name!r} to predict on a batch of shape {batch.shape}; it failed "
                    f"with {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}. "
                    "Fix: call it once by hand on x[:1] to see what it needs."
                ) from exc
            rows.append(LatencyRow(name, b, tuple(float(s) for s in seconds)))
    return LatencyReport(rows=tuple(rows), warmup=warmup, repeats=repeats)


def call_styles(
    model: Any, savedmodel: Any = None,
) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """The ways to run a loaded model on a batch, as functions for :func:`measure_latency`.

    * ``"model.predict"``: Keras's batch loop (one call = the whole batch, no progress bar);
    * ``"model(x, training=False)"``: calling the Keras model directly, eagerly;
    * ``"SavedModel signature"``: the exported graph's ``serving_default`` function,
      what TF Serving runs (only when ``savedmodel`` is given).

    ``model`` is a ``keras.Model`` or a :class:`~course_lib.persistence.LoadedModel` of a
    ``.keras``/``.h5`` file; ``savedmodel`` a ``LoadedModel`` of a SavedModel directory.
    Each function returns the scores as a NumPy array of shape (rows, 1).

    >>> keras_model, savedmodel = load("fraud.keras"), load("fraud_sm")   # doctest: +SKIP
    >>> list(call_styles(keras_model, savedmodel))                        # doctest: +SKIP
    ['model.predict', 'model(x, training=False)', 'SavedModel signature']
    """
    from course_lib import _tf
    from course_lib.persistence import LoadedModel

    keras = _tf.keras()
    raw = model.raw if isinstance(model, LoadedModel) else model
    if not isinstance(raw, keras.Model):
        raise InvalidInputError(
            f"expected a Keras model (or persistence.load of a .keras/.h5 file); found "
            f"{type(raw).__name__}. Fix: pass a SavedModel as savedmodel=, next to the Keras model."
        )
    styles: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "model.predict": lambda b: raw.predict(b, batch_size=len(b), verbose=0),
        "model(x, training=False)": lambda b: raw(b, training=False).numpy(),
    }
    if savedmodel is not None:
        if not isinstance(savedmodel, LoadedModel) or savedmodel.format != "savedmodel":
            raise InvalidInputError(
                f"expected savedmodel to be persistence.load(...) of a SavedModel directory; found "
                f"{getattr(savedmodel, 'format', type(savedmodel).__name__)!r}. "
                'Fix: persistence.load("fraud_savedmodel").'
            )
        tf = _tf.tf()
        signature = savedmodel.raw.signatures["serving_default"]
        name = savedmodel.input.name
        (output,) = sorted(signature.structured_outputs)[:1]
        styles["SavedModel signature"] = \
            lambda b: signature(**{name: tf.constant(b)})[output].numpy()
    return styles


# -- choosing a threshold ---------------------------------------------------------------------

def _target(name: str, value: object) -> float | None:
    if value is None:
        return None
    if not _is_number(value) or not 0.0 <= float(value) <= 1.0:  # type: ignore[arg-type]
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


@dataclass(frozen=True)
class ThresholdChoice:
    """The threshold that meets a target, with its metrics; or ``ok=False`` and the reason.

    >>> c = choose_threshold([0, 1, 1], [0.2, 0.3, 0.9], min_precision=0.99)
    >>> c.ok, c.threshold
    (True, 0.3)
    >>> print(choose_threshold([0, 1], [0.9, 0.1], min_precision=0.99).reason)  # doctest: +ELLIPSIS
    no threshold from 0.00 to 1.00 gives precision ≥ 0.99 on these 2 rows: the highest precision ...
    """

    ok: bool
    threshold: float | None
    metrics: Metrics | None
    min_recall: float | None
    min_precision: float | None
    optimized: str
    reason: str
    n_rows: int

    @property
    def target(self) -> str:
        """The target in words, e.g. ``recall ≥ 0.90``."""
        return _targets_text(self.min_recall, self.min_precision)

    def meets(self, metrics: Metrics) -> bool:
        """Whether ``metrics`` (e.g. on the test rows) still meet this choice's target.

        >>> c = choose_threshold([0, 1, 1], [0.2, 0.3, 0.9], min_recall=1.0)
        >>> c.meets(Metrics.from_counts(tp=1, fp=0, fn=1, tn=3))
        False
        """
        if not isinstance(metrics, Metrics):
            raise InvalidInputError(
                f"expected a Metrics value; found {type(metrics).__name__}. "
                "Fix: choice.meets(choice.apply(y_test, test_scores))."
            )
        return ((self.min_recall is None or metrics.recall >= self.min_recall - 1e-12)
                and (self.min_precision is None or metrics.precision >= self.min_precision - 1e-12))

    def raise_if_unmet(self) -> ThresholdChoice:
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

        >>> c = choose_threshold([0, 1, 1], [0.2, 0.3, 0.9], min_recall=1.0)
        >>> c.apply([0, 1, 1, 0], [0.1, 0.2, 0.8, 0.4]).recall
        0.5
        """
        self.raise_if_unmet()
        y, s = _labels_and_scores(y_true, scores)
        return _at(y, s, self.threshold)  # type: ignore[arg-type]

    def _sentence(self) -> str:
        m = self.metrics
        assert m is not None and self.threshold is not None
        return (f"threshold {self.threshold:.2f} gives {self.target} with the best "
                f"{self.optimized}: recall {m.recall:.3f}, precision {m.precision:.3f} on these "
                f"{self.n_rows:,} rows "
                f"({m.tp:,} of {m.positives:,} positives caught, {_plural(m.fp, 'false alarm')})")

    def __str__(self) -> str:
        if not self.ok:
            return f"NOT MET: {self.reason}"
        return f"OK: {self._sentence()}"

    def _repr_html_(self) -> str:
        if not self.ok:
            return (f'<p style="color:{_RED}"><b>Target not met.</b> '
                    f"{html.escape(self.reason)}</p>")
        assert self.metrics is not None
        return (f'<p style="color:{_GREEN}"><b>OK:</b> {html.escape(self._sentence())}.</p>'
                + self.metrics._repr_html_())


def _why_not(y_pos: int, n: int, grid: np.ndarray, recall: np.ndarray, precision: np.ndarray,
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
) -> ThresholdChoice:
    """The threshold that meets a recall and/or precision target with the best other metric.

    * ``min_recall`` only: the best precision among thresholds with recall ≥ target;
    * ``min_precision`` only: the best recall among thresholds with precision ≥ target;
    * both: the best F1 among thresholds meeting both.

    Thresholds that tie (the same counts on these rows) are resolved towards a
    margin for the target: the lowest of them for a recall target, the highest for a
    precision-only target. Choose on validation rows, then report on test rows with
    :meth:`ThresholdChoice.apply`.

    >>> y, s = [0, 0, 1, 0, 1, 1], [0.1, 0.3, 0.35, 0.5, 0.7, 0.9]
    >>> c = choose_threshold(y, s, min_recall=0.6)
    >>> c.threshold, c.metrics.recall, c.metrics.precision
    (0.51, 0.6666666666666666, 1.0)

    When no candidate threshold meets the target, the result has ``ok=False``,
    ``threshold=None`` and a ``reason`` saying what is reachable: no exception, so a
    notebook shows the explanation (call :meth:`~ThresholdChoice.raise_if_unmet` to
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
    grid = _candidates(thresholds)
    tp, fp, fn, _tn = _counts(y, s, grid)
    recall = tp / (tp + fn)
    precision = np.divide(tp, tp + fp, out=np.zeros(grid.size), where=(tp + fp) > 0)
    meets = np.ones(grid.size, dtype=bool)
    if r_target is not None:
        meets &= recall >= r_target - 1e-12
    if p_target is not None:
        meets &= precision >= p_target - 1e-12
    if r_target is not None and p_target is not None:
        optimized, objective = "F1", 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    elif r_target is not None:
        optimized, objective = "precision", precision
    else:
        optimized, objective = "recall", recall
    common = {"min_recall": r_target, "min_precision": p_target, "optimized": optimized,
              "n_rows": int(y.size)}
    if not meets.any():
        reason = _why_not(int(y.sum()), int(y.size), grid, recall, precision, r_target, p_target)
        return ThresholdChoice(ok=False, threshold=None, metrics=None, reason=reason, **common)
    candidates = np.flatnonzero(meets)
    best = objective[candidates].max()
    tied = candidates[np.isclose(objective[candidates], best, rtol=0, atol=1e-12)]
    i = int(tied[0] if r_target is not None else tied[-1])  # the margin side of the target
    t = float(grid[i])
    return ThresholdChoice(ok=True, threshold=t, metrics=_at(y, s, t), reason="", **common)


def _parse_threshold(value: object) -> float | str:
    """A threshold from a learner's answer (number or text), or a message saying what to give."""
    expected = f"Expected a threshold between 0 and 1, such as 0.35; got {value!r}."
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return expected
    if not _is_number(value) or not 0.0 <= float(value) <= 1.0:  # type: ignore[arg-type]
        return expected
    return float(value)  # type: ignore[arg-type]


def check_threshold(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: object, *,
    min_recall: float | None = None, min_precision: float | None = None,
    question_id: str = "l03-threshold-for-recall",
) -> Feedback:
    """Grade a learner's threshold: does it meet the target, and is it the best one that does?

    Correct means: the target is met and the other metric is as good as
    :func:`choose_threshold`'s (any threshold giving the same counts is as good).
    Never raises on the answer; bad data or targets raise :class:`InvalidInputError`.

    >>> y, s = [0, 0, 1, 0, 1, 1], [0.1, 0.3, 0.35, 0.5, 0.7, 0.9]
    >>> check_threshold(y, s, 0.6, min_recall=0.6).correct
    True
    >>> print(check_threshold(y, s, 0.8, min_recall=0.6).message)  # doctest: +ELLIPSIS
    At threshold 0.80 recall is 0.333, below the target 0.60: lower the threshold ...
    """
    from course_lib.exercises import Feedback

    best = choose_threshold(y_true, scores, min_recall=min_recall, min_precision=min_precision)
    value = _parse_threshold(threshold)
    if isinstance(value, str):
        return Feedback(False, value, question_id)
    y, s = _labels_and_scores(y_true, scores)
    m = _at(y, s, value)
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


def _objective(m: Metrics, name: str) -> float:
    return m.f1 if name == "F1" else m.get(name)


# -- costs --------------------------------------------------------------------------------------

def _money(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def _cost(name: str, value: object) -> float:
    if not _is_number(value) or float(value) < 0:  # type: ignore[arg-type]
        raise InvalidInputError(
            f"expected {name} to be a cost of 0 or more (in any currency unit); found {value!r}. "
            f"Fix: e.g. {name}=500 (costs are positive: a saving is not a cost)."
        )
    return float(value)  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class CostCurve:
    """The cost of the mistakes at every candidate threshold, and the cheapest threshold.

    Cost = missed frauds (FN) x ``cost_missed_fraud`` + false alarms (FP) x
    ``cost_false_alarm``; the *expected* cost is that divided by the number of rows.

    >>> c = cost_curve([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], cost_missed_fraud=10, cost_false_alarm=1)
    >>> c.best_threshold, c.best_cost, c.cost_at(0.5)
    (0.4, 1.0, 11.0)
    """

    thresholds: np.ndarray
    fn: np.ndarray
    fp: np.ndarray
    cost_missed_fraud: float
    cost_false_alarm: float
    _y: np.ndarray = field(repr=False)
    _scores: np.ndarray = field(repr=False)

    @property
    def n_rows(self) -> int:
        """Number of rows the costs are counted on."""
        return int(self._y.size)

    @property
    def costs(self) -> np.ndarray:
        """Total cost at each candidate threshold."""
        return self.fn * self.cost_missed_fraud + self.fp * self.cost_false_alarm

    @property
    def expected_costs(self) -> np.ndarray:
        """Cost per row (per transaction) at each candidate threshold."""
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

        >>> c = cost_curve([0, 1], [0.2, 0.8], cost_missed_fraud=1, cost_false_alarm=1)
        >>> c.metrics_at(0.1).fp
        1
        """
        return _at(self._y, self._scores, threshold)

    def cost_at(self, threshold: float) -> float:
        """Total cost at any threshold between 0 and 1.

        >>> cost_curve([0, 1], [0.2, 0.8], cost_missed_fraud=100, cost_false_alarm=1).cost_at(0.9)
        100.0
        """
        return self.metrics_at(threshold).cost(self.cost_missed_fraud, self.cost_false_alarm)

    def cost_line(self, threshold: float, label: str = "threshold") -> str:
        """The cost at one threshold, spelled out.

        >>> c = cost_curve([0, 1], [0.2, 0.8], cost_missed_fraud=100, cost_false_alarm=1)
        >>> c.cost_line(0.1, "flag both")
        'flag both 0.10: 0 missed frauds x 100 + 1 false alarm x 1 = 1 (0.500 per transaction)'
        """
        m = self.metrics_at(threshold)
        cost = m.cost(self.cost_missed_fraud, self.cost_false_alarm)
        return (f"{label} {threshold:.2f}: {_plural(m.fn, 'missed fraud')} x "
                f"{_money(self.cost_missed_fraud)} + {_plural(m.fp, 'false alarm')} x "
                f"{_money(self.cost_false_alarm)} = {_money(cost)} "
                f"({cost / self.n_rows:,.3f} per transaction)")

    def describe(self, default: float = 0.5) -> str:
        """The cheapest threshold and its cost, next to the cost at ``default`` (0.5).

        >>> c = cost_curve([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9],
        ...                cost_missed_fraud=10, cost_false_alarm=1)
        >>> print(c.describe())  # doctest: +NORMALIZE_WHITESPACE
        cheapest threshold 0.40: 0 missed frauds x 10 + 1 false alarm x 1 = 1
            (0.250 per transaction)
        default threshold 0.50: 1 missed fraud x 10 + 1 false alarm x 1 = 11
            (2.750 per transaction)
        """
        return "\n".join([self.cost_line(self.best_threshold, "cheapest threshold"),
                          self.cost_line(default, "default threshold")])

    def __repr__(self) -> str:
        return (f"CostCurve(n_rows={self.n_rows}, cost_missed_fraud={self.cost_missed_fraud:g}, "
                f"cost_false_alarm={self.cost_false_alarm:g}, "
                f"best_threshold={self.best_threshold:.2f})")

    def __str__(self) -> str:
        return (f"costs on {self.n_rows:,} rows, a missed fraud costing "
                f"{_money(self.cost_missed_fraud)} and a false alarm "
                f"{_money(self.cost_false_alarm)}:\n{self.describe()}")

    def _repr_html_(self) -> str:
        lines = "".join(f"<li>{html.escape(line)}</li>" for line in self.describe().splitlines())
        return (f"<p>Costs on {self.n_rows:,} rows: a missed fraud costs "
                f"<b>{_money(self.cost_missed_fraud)}</b>, a false alarm "
                f"<b>{_money(self.cost_false_alarm)}</b>.</p><ul>{lines}</ul>"
                + self.best_metrics._repr_html_())

    def plot(self) -> Figure:
        """Expected cost per transaction against the threshold, the cheapest one marked.

        >>> c = cost_curve([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9],
        ...                cost_missed_fraud=10, cost_false_alarm=1)
        >>> [line.get_label() for line in c.plot().axes[0].get_lines()]
        ['expected cost per transaction', 'cheapest 0.40', 'default 0.50']
        """
        fig = _new_figure(6.4, 4.0)
        ax = fig.subplots()
        ax.plot(self.thresholds, self.expected_costs, label="expected cost per transaction")
        ax.axvline(self.best_threshold, color="tab:green", linestyle="--",
                   label=f"cheapest {self.best_threshold:.2f}")
        ax.axvline(0.5, color="grey", linestyle=":", label="default 0.50")
        ax.set(xlim=(0.0, 1.0), xlabel="decision threshold (score >= threshold)",
               ylabel="cost per transaction",
               title=f"Missed fraud {_money(self.cost_missed_fraud)}, "
                     f"false alarm {_money(self.cost_false_alarm)}")
        ax.set_ylim(bottom=0.0)
        ax.grid(alpha=0.3)
        ax.legend()
        return fig


def cost_curve(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, *,
    cost_missed_fraud: float, cost_false_alarm: float,
    thresholds: Sequence[float] | np.ndarray | None = None,
) -> CostCurve:
    """The cost of missed frauds and false alarms at each candidate threshold.

    The cheapest threshold (:attr:`CostCurve.best_threshold`) minimises the expected
    cost; with costs that differ a lot it is far from 0.5.

    >>> c = cost_curve([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], cost_missed_fraud=1, cost_false_alarm=10)
    >>> c.best_threshold
    0.9

    Costs must be 0 or more and not both 0; scores must be probabilities in [0, 1].
    """
    y, s = _labels_and_scores(y_true, scores)
    missed = _cost("cost_missed_fraud", cost_missed_fraud)
    alarm = _cost("cost_false_alarm", cost_false_alarm)
    if missed == 0 and alarm == 0:
        raise InvalidInputError(
            "expected at least one cost above 0; found both 0, so every threshold costs nothing. "
            "Fix: e.g. cost_missed_fraud=500, cost_false_alarm=5."
        )
    grid = _candidates(thresholds)
    _tp, fp, fn, _tn = _counts(y, s, grid)
    return CostCurve(thresholds=grid, fn=fn, fp=fp, cost_missed_fraud=missed,
                     cost_false_alarm=alarm, _y=y, _scores=s)


# -- do the inputs look like the training data? ----------------------------------------------

def _features(x: object, what: str, n_columns: int | None = None,
              names: Sequence[str] = ()) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"expected {what} to be a 2-D array of numbers; could not read it ({exc})."
        ) from exc
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise InvalidInputError(
            f"expected {what} as a 2-D array (rows x features) with at least one row; found shape "
            f"{arr.shape}. Fix: pass e.g. fraud.test.x."
        )
    if n_columns is not None and arr.shape[1] != n_columns:
        raise FeatureMismatchError(
            f"expected {n_columns} columns ({', '.join(names)}); found {arr.shape[1]}. "
            "Fix: build the rows with the training columns, in the same order."
        )
    if not np.isfinite(arr).all():
        raise InvalidInputError(
            f"expected finite values in {what}; found NaN or infinity. "
            "Fix: fill or drop missing values."
        )
    return arr


@dataclass(frozen=True)
class FeatureDrift:
    """How one column of a batch compares with the same column in the training data.

    >>> p = FeatureProfile.from_data([[0.0], [2.0]] * 20, ["amount"])
    >>> drift = p.check([[2.0], [4.0]] * 20, max_outside=1.0).rows[0]
    >>> drift.name, drift.shift, drift.outside, drift.ok
    ('amount', 2.0, 0.5, False)

    ``shift`` is (batch mean - training mean) / training standard deviation;
    ``outside`` the share of the batch's values outside the training range.
    """

    name: str
    train_mean: float
    train_std: float
    mean: float
    shift: float
    outside: float
    looks_like: str | None
    ok: bool


@dataclass(frozen=True)
class FeatureCheck:
    """Per-column comparison of a batch with the training data, and the verdict.

    >>> profile = FeatureProfile.from_data([[0.0, 10.0], [1.0, 20.0]] * 20, ["a", "b"])
    >>> check = profile.check([[10.0, 0.0], [20.0, 1.0]] * 20)
    >>> check.ok, [(d.name, d.looks_like) for d in check.problems]
    (False, [('a', 'b'), ('b', 'a')])
    """

    rows: tuple[FeatureDrift, ...]
    n_rows: int
    tolerance: float
    max_outside: float

    @property
    def ok(self) -> bool:
        """True when every column looks like its training counterpart."""
        return all(r.ok for r in self.rows)

    @property
    def problems(self) -> tuple[FeatureDrift, ...]:
        """The columns that do not."""
        return tuple(r for r in self.rows if not r.ok)

    @property
    def verdict(self) -> str:
        """One sentence: OK, or which columns differ and what they look like."""
        if self.ok:
            return (f"OK: every column's mean is within {self.tolerance:g} training standard "
                    f"deviations of its training mean, with at most {self.max_outside:.0%} of "
                    "values outside the training range")
        parts = [r.name + (f" (looks like {r.looks_like})" if r.looks_like else "")
                 for r in self.problems]
        swapped = any(r.looks_like for r in self.problems)
        hint = ("swapped columns: check the column order" if swapped
                else "check the units and the preprocessing")
        verb = "differs" if len(parts) == 1 else "differ"
        return f"NOT OK: {', '.join(parts)} {verb} from the training data; {hint}"

    def raise_if_not_ok(self) -> FeatureCheck:
        """Return self when the batch looks right, else raise :class:`FeatureMismatchError`.

        >>> p = FeatureProfile.from_data([[0.0], [1.0]] * 20)
        >>> p.check([[0.0], [1.0]] * 20).raise_if_not_ok().ok
        True
        """
        if not self.ok:
            raise FeatureMismatchError(
                f"expected features like the training data; {self.verdict}. Fix: build the rows "
                "exactly as in training (same columns, order, units and preprocessing)."
            )
        return self

    def __repr__(self) -> str:
        names = [r.name for r in self.problems]
        return f"FeatureCheck(ok={self.ok}, n_rows={self.n_rows}, problems={names})"

    def __str__(self) -> str:
        width = max(7, *(len(r.name) for r in self.rows))
        lines = [(f"{'feature':<{width}}  {'train mean':>11}  {'batch mean':>11}  "
                  f"{'shift (std)':>11}  {'outside range':>13}  verdict")]
        for r in self.rows:
            like = f": looks like {r.looks_like}" if r.looks_like else ""
            verdict = "ok" if r.ok else "DIFFERS" + like
            lines.append(f"{r.name:<{width}}  {r.train_mean:>11.4g}  {r.mean:>11.4g}  "
                         f"{r.shift:>+11.2f}  {r.outside:>13.1%}  {verdict}")
        lines.append(self.verdict)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th {_CELL}>{h}</th>" for h in
                       ("feature", "train mean", "batch mean", "shift (train std)",
                        "outside train range", "verdict"))
        body = "".join(
            f"<tr><th {_CELL}>{html.escape(r.name)}</th><td {_CELL}>{r.train_mean:.4g}</td>"
            f"<td {_CELL}>{r.mean:.4g}</td><td {_CELL}>{r.shift:+.2f}</td>"
            f"<td {_CELL}>{r.outside:.1%}</td>"
            f"<td {_CELL}>{'ok' if r.ok else '<b>DIFFERS</b>'}"
            f"{': looks like ' + html.escape(r.looks_like) if r.looks_like else ''}</td></tr>"
            for r in self.rows
        )
        color = _GREEN if self.ok else _RED
        return (f'<table style="border-collapse:collapse"><tr>{head}</tr>{body}</table>'
                f'<p style="color:{color};font-weight:bold">{html.escape(self.verdict)}</p>')


@dataclass(frozen=True, eq=False)
class FeatureProfile:
    """Per-column statistics of the training features, to check batches against at inference.

    A model's input signature checks the *number* of columns; it cannot see two
    columns swapped or an amount sent in cents instead of euros. Their statistics can.

    >>> profile = FeatureProfile.from_data([[1.0, 100.0], [3.0, 300.0]] * 20, ["a", "b"])
    >>> profile.names, profile.mean.tolist()
    (('a', 'b'), [2.0, 200.0])
    """

    names: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n_rows: int

    @classmethod
    def from_data(cls, x: object, names: Sequence[str] | None = None) -> FeatureProfile:
        """Record mean, standard deviation, minimum and maximum of each training column.

        >>> FeatureProfile.from_data([[0.0], [2.0]]).names
        ('feature_0',)
        """
        arr = _features(x, "the training features")
        if names is None:
            names = [f"feature_{i}" for i in range(arr.shape[1])]
        names = tuple(str(n) for n in names)
        if len(names) != arr.shape[1] or len(set(names)) != len(names):
            raise InvalidInputError(
                f"expected one unique name per column ({arr.shape[1]}); found {len(names)} names "
                f"{list(names)[:8]}. Fix: pass e.g. fraud.feature_names."
            )
        return cls(names=names, mean=arr.mean(axis=0), std=arr.std(axis=0), low=arr.min(axis=0),
                   high=arr.max(axis=0), n_rows=int(arr.shape[0]))

    def check(self, x: object, *, tolerance: float = 0.5, max_outside: float = 0.01,
              min_rows: int = 30) -> FeatureCheck:
        """Compare a batch with the training data, column by column.

        A column differs when its mean is more than ``tolerance`` training standard
        deviations from the training mean, or when more than ``max_outside`` of its
        values fall outside the training range. For a column that differs, the
        training column whose mean and spread it resembles most is named
        (``looks_like``) when it is another column: the mark of swapped columns.

        Statistics need a batch: at least ``min_rows`` rows (for single requests,
        collect the last few hundred and check them together). A wrong number of
        columns raises :class:`FeatureMismatchError`.

        >>> p = FeatureProfile.from_data([[0.0], [1.0]] * 20)
        >>> p.check([[100.0], [101.0]] * 20).verdict
        'NOT OK: feature_0 differs from the training data; check the units and the preprocessing'
        """
        arr = _features(x, "the batch", len(self.names), self.names)
        if not _is_number(tolerance) or tolerance <= 0:
            raise InvalidInputError(f"expected tolerance to be a positive number of standard "
                                    f"deviations; found {tolerance!r}. Fix: tolerance=0.5.")
        if not _is_number(max_outside) or not 0 <= max_outside <= 1:
            raise InvalidInputError(f"expected max_outside to be a fraction between 0 and 1; found "
                                    f"{max_outside!r}. Fix: max_outside=0.01.")
        min_rows = _whole("min_rows", min_rows, 1)
        if arr.shape[0] < min_rows:
            raise InvalidInputError(
                f"expected at least {min_rows} rows to compare statistics; found {arr.shape[0]}. "
                "Fix: check a batch (e.g. the last few hundred requests), not single rows."
            )
        mean, std = arr.mean(axis=0), arr.std(axis=0)
        shift = _scaled(mean - self.mean, self.std)
        outside = ((arr < self.low) | (arr > self.high)).mean(axis=0)
        rows = []
        for i, name in enumerate(self.names):
            ok = abs(shift[i]) <= tolerance and outside[i] <= max_outside
            like = None if ok else self._resembles(mean[i], std[i], i, tolerance)
            rows.append(FeatureDrift(name, float(self.mean[i]), float(self.std[i]), float(mean[i]),
                                     float(shift[i]), float(outside[i]), like, bool(ok)))
        return FeatureCheck(rows=tuple(rows), n_rows=int(arr.shape[0]), tolerance=float(tolerance),
                            max_outside=float(max_outside))

    def _resembles(self, mean: float, std: float, column: int, tolerance: float) -> str | None:
        """The other training column with this mean and spread, if one is close enough."""
        distance = (np.abs(_scaled(mean - self.mean, self.std))
                    + np.abs(np.log((std + 1e-12) / (self.std + 1e-12))))
        j = int(np.argmin(distance))
        return self.names[j] if j != column and distance[j] <= tolerance else None


def _scaled(diff: np.ndarray | float, std: np.ndarray) -> np.ndarray:
    """``diff / std``, with 0 for no difference and inf for a difference on a constant column."""
    diff = np.broadcast_to(np.asarray(diff, dtype=np.float64), std.shape)
    safe = np.where(std > 0, std, 1.0)
    return np.where(std > 0, diff / safe, np.where(diff == 0, 0.0, np.inf))
