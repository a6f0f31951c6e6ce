"""How fast a loaded model answers: latency (p50, p95) and throughput per method and batch size.

>>> import numpy as np
>>> from course_lib.inference import measure_latency
>>> report = measure_latency(lambda b: b.sum(axis=1), np.ones((100, 8)), batch_sizes=(1, 100))
>>> report.methods, report.batch_sizes
(('predict',), (1, 100))

:func:`measure_latency` times a prediction function (or several: :func:`call_styles`
gives ``model.predict``, ``model(x, training=False)`` and a SavedModel signature) at
several batch sizes, after a warm-up, and reports the median (p50) and 95th percentile
(p95) of the time per call and the throughput in rows per second. Single timings lie:
the first calls build graphs and fill caches, and a shared machine adds noise, so the
report keeps every timing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from course_lib import _checks, _display, _inputs
from course_lib.errors import CourseLibError, InvalidInputError

__all__ = ["DEFAULT_BATCH_SIZES", "LatencyReport", "LatencyRow", "call_styles", "measure_latency"]


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


@dataclass(frozen=True, repr=False)
class LatencyReport(_display.Report):
    """Latency (p50, p95) and throughput per method and batch size, as a table and a plot.

    >>> report = LatencyReport((LatencyRow("f", 1, (0.001, 0.001, 0.002)),), warmup=1, repeats=3)
    >>> report.row("f", 1).throughput
    1000.0
    >>> print(report)
    method  batch  p50 latency  p95 latency  spread  throughput
    f           1      1.00 ms      1.90 ms    1.9x  1,000 rows/s
    (3 timed calls per cell after 1 warm-up calls; p50 = median, p95 = 95th percentile)
    """

    rows: tuple[LatencyRow, ...]
    warmup: int
    repeats: int
    note: str = ""

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

    def real_time_verdict(self, max_latency_ms: float = 10.0, batch_size: int = 1) -> str:
        """Which methods answer one call of ``batch_size`` rows within a latency budget (at p95).

        >>> r = LatencyReport((LatencyRow("f", 1, (0.001,) * 3),), warmup=0, repeats=3)
        >>> print(r.real_time_verdict(max_latency_ms=10.0))
        budget: 10.00 ms per call of 1 row, at p95 (19 calls in 20 within it)
          f: p95 1.00 ms, fits
        """
        limit = _checks.number("max_latency_ms", max_latency_ms, positive=True, unit="ms",
                               example=10.0)
        rows = [self.row(m, batch_size) for m in self.methods]
        lines = [(f"budget: {_display.milliseconds(limit)} per call of "
                  f"{_display.plural(batch_size, 'row')}, at p95 (19 calls in 20 within it)")]
        lines += [(f"  {r.method}: p95 {_display.duration(r.p95)}, "
                   f"{'fits' if r.p95 <= limit / 1000 else 'too slow'}") for r in rows]
        return "\n".join(lines)

    # -- the report: table, verdict, figure ------------------------------------------------

    @property
    def ok(self) -> bool:
        """True when every method was timed at every batch size (a complete table).

        A latency report measures; it passes no judgement on speed (for that, see
        :meth:`real_time_verdict`).
        """
        return len(self.rows) == len(self.methods) * len(self.batch_sizes) > 0

    @property
    def verdict(self) -> str:
        """How the timings were taken (calls per cell, warm-up) and what p50 and p95 mean."""
        done = (f"{self.repeats} timed calls per cell after {self.warmup} warm-up calls; "
                "p50 = median, p95 = 95th percentile")
        if self.note:
            done = f"{done}; {self.note}"
        if not self.ok:
            return f"NOT every method at every batch size: {done}"
        return f"({done})"

    def table(self) -> tuple[list[str], list[list[str]]]:
        """One row per method and batch size: p50, p95, spread and throughput."""
        rows = [[r.method, f"{r.batch_size:,}", _display.duration(r.p50),
                 _display.duration(r.p95), f"{r.spread:.1f}x", f"{r.throughput:,.0f} rows/s"]
                for r in self.rows]
        return ["method", "batch", "p50 latency", "p95 latency", "spread", "throughput"], rows

    def __repr__(self) -> str:
        return (f"LatencyReport(methods={list(self.methods)}, "
                f"batch_sizes={list(self.batch_sizes)}, repeats={self.repeats}, "
                f"warmup={self.warmup})")

    def plot(self, ax: Any = None) -> LatencyReport:
        """Latency per call (p50, bars up to p95) and throughput against batch size, log scales.

        Without ``ax``: a new figure with the two side by side. With ``ax``: a pair of
        axes (latency, throughput), or one axes whose twin on the right holds the
        throughput (dashed).

        >>> r = LatencyReport((LatencyRow("f", 1, (0.001,) * 3), LatencyRow("f", 10, (0.002,) * 3)),
        ...                   warmup=0, repeats=3)
        >>> [ax.get_ylabel() for ax in r.plot().figure_.axes]
        ['time per call (s)', 'rows per second']
        """
        if ax is None:
            from course_lib.plots import new_figure

            left, right = new_figure(10.0, 4.0).subplots(1, 2)
            twin = False
        elif isinstance(ax, (list, tuple, np.ndarray)):
            left, right = ax
            twin = False
        else:
            left, right, twin = ax, ax.twinx(), True
        self._axes(left)
        for i, method in enumerate(self.methods):
            rows = [r for b in self.batch_sizes for r in self.rows
                    if r.method == method and r.batch_size == b]
            sizes = [r.batch_size for r in rows]
            p50 = np.array([r.p50 for r in rows])
            p95 = np.array([r.p95 for r in rows])
            color = f"C{i}"
            left.errorbar(sizes, p50, yerr=[np.zeros_like(p50), p95 - p50], marker="o",
                          capsize=3, label=method, color=color)
            right.plot(sizes, [r.throughput for r in rows], "--" if twin else "-", marker="o",
                       label=method, color=color)
        left.set(xscale="log", yscale="log", xlabel="batch size (rows per call)",
                 ylabel="time per call (s)",
                 title=("Latency (solid, bar to p95) and throughput (dashed)" if twin
                        else "Latency per call (p50, bar to p95)"))
        right.set(xscale="log", yscale="log", ylabel="rows per second")
        if not twin:
            right.set(xlabel="batch size (rows per call)", title="Throughput (rows / p50 time)")
            left.legend(fontsize="small")
        for a in (left, right):
            a.grid(alpha=0.3, which="both")
        right.legend(fontsize="small")
        return self


#: The batch sizes :func:`measure_latency` times when given none (capped by the rows of x).
DEFAULT_BATCH_SIZES: tuple[int, ...] = (1, 10, 100, 1000)


def _batch_sizes(batch_sizes: Sequence[int] | None, n_rows: int) -> tuple[list[int], str]:
    """The sorted batch sizes to time, and a note when the defaults were capped by the rows."""
    if batch_sizes is None:
        capped = [b for b in DEFAULT_BATCH_SIZES if b > n_rows]
        sizes = sorted({min(b, n_rows) for b in DEFAULT_BATCH_SIZES})
        note = "" if not capped else (
            f"batch sizes capped at the {_display.plural(n_rows, 'row')} of x "
            f"(default {', '.join(map(str, DEFAULT_BATCH_SIZES))})")
        return sizes, note
    if (isinstance(batch_sizes, (str, bytes)) or not isinstance(batch_sizes, Sequence)
            or not batch_sizes):
        raise InvalidInputError(
            f"expected batch_sizes to be a non-empty list of whole numbers; found {batch_sizes!r}. "
            "Fix: batch_sizes=(1, 10, 100, 1000)."
        )
    sizes = sorted({_checks.whole("each batch size", b, 1) for b in batch_sizes})
    if sizes[-1] > n_rows:
        raise InvalidInputError(
            f"expected x to have at least {sizes[-1]} rows for a batch of {sizes[-1]}; found "
            f"{n_rows}. Fix: pass more rows, smaller batch sizes, or leave batch_sizes out "
            "(the defaults are capped by the rows)."
        )
    return sizes, ""


def _methods(predict: object) -> dict[str, Callable[[np.ndarray], Any]]:
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
    return methods


def _time(name: str, fn: Callable[[Any], Any], batch: _inputs.Inputs, warmup: int,
          repeats: int, timer: Callable[[], float]) -> LatencyRow:
    """``warmup`` untimed calls, then ``repeats`` timed ones; a failure names the method."""
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
            f"expected {name!r} to predict on a batch of {_batch_shape(batch)}; it failed "
            f"with {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}. "
            "Fix: call it once by hand on x[:1] to see what it needs."
        ) from exc
    return LatencyRow(name, _inputs.n_rows(batch), tuple(float(s) for s in seconds))


def _batch_shape(batch: _inputs.Inputs) -> str:
    """``shape (1, 8)`` for one array, else the inputs' shapes."""
    if isinstance(batch, np.ndarray):
        return f"shape {batch.shape}"
    return _inputs.describe(batch).split("; ", 1)[1]


def _copy(batch: _inputs.Inputs) -> _inputs.Inputs:
    """The batch in contiguous memory (slicing is not timed)."""
    if isinstance(batch, dict):
        return {k: np.ascontiguousarray(v) for k, v in batch.items()}
    if isinstance(batch, list):
        return [np.ascontiguousarray(v) for v in batch]
    return np.ascontiguousarray(batch)


def measure_latency(
    predict: Callable[[Any], Any] | Mapping[str, Callable[[Any], Any]],
    x: object,
    batch_sizes: Sequence[int] | None = None,
    repeats: int = 20,
    warmup: int = 3,
    *,
    timer: Callable[[], float] = time.perf_counter,
) -> LatencyReport:
    """Time ``predict`` on the first rows of ``x`` at each batch size, after a warm-up.

    ``predict`` is one function (reported as ``"predict"``) or a mapping of names to
    functions; each gets a batch of ``x`` (the same structure: one array of any rank, or
    a dict or list of arrays for a model with several inputs) and should return the
    predictions in the form the application uses (so converting them is part of the
    time). For every method and batch size: ``warmup`` untimed calls, then ``repeats``
    timed ones.

    >>> report = measure_latency(lambda b: b.sum(axis=1), np.ones((100, 8)), batch_sizes=(1, 100))
    >>> report.methods, report.batch_sizes, len(report.row("predict", 100).seconds)
    (('predict',), (1, 100), 20)

    ``batch_sizes`` defaults to :data:`DEFAULT_BATCH_SIZES` (1, 10, 100, 1000), each capped
    by the rows of ``x`` (the report's verdict notes it); a batch size you give that is
    larger than the rows is refused.

    >>> measure_latency(len, np.ones((397, 8, 8, 1)), repeats=3).batch_sizes
    (1, 10, 100, 397)

    ``timer`` returns the current time in seconds (``time.perf_counter``; tests pass a
    fake clock). Throughput is ``batch_size / p50``.
    """
    methods = _methods(predict)
    data = _inputs.read(x)
    n = _inputs.n_rows(data)
    if n == 0:
        raise InvalidInputError(
            f"expected x to hold at least one row to predict on; found {_inputs.describe(data)}. "
            "Fix: pass the rows the model predicts on (e.g. the test split's x)."
        )
    sizes, note = _batch_sizes(batch_sizes, n)
    repeats = _checks.whole("repeats", repeats, 3)
    warmup = _checks.whole("warmup", warmup, 0)
    batches = {b: _copy(_inputs.take(data, slice(0, b))) for b in sizes}  # slicing is not timed
    rows = [_time(name, fn, batches[b], warmup, repeats, timer)
            for name, fn in methods.items() for b in sizes]
    return LatencyReport(rows=tuple(rows), warmup=warmup, repeats=repeats, note=note)


def call_styles(
    model: Any, savedmodel: Any = None,
) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """The ways to run a loaded model on a batch, as functions for :func:`measure_latency`.

    >>> from course_lib.persistence import load
    >>> keras_model, savedmodel = load("fraud.keras"), load("fraud_savedmodel")
    >>> list(call_styles(keras_model, savedmodel))
    ['model.predict', 'model(x, training=False)', 'SavedModel signature']

    * ``"model.predict"``: Keras's batch loop (one call = the whole batch, no progress bar);
    * ``"model(x, training=False)"``: calling the Keras model directly, eagerly;
    * ``"SavedModel signature"``: the exported graph's ``serving_default`` function,
      what TF Serving runs (only when ``savedmodel`` is given).

    ``model`` is a ``keras.Model`` or a :class:`~course_lib.persistence.LoadedModel` of a
    ``.keras``/``.h5`` file; ``savedmodel`` a ``LoadedModel`` of a SavedModel directory.
    Each function takes a batch of any input structure (an array, or a dict or list of arrays
    for several inputs) and returns the output as NumPy: one array (rows first) or, for a
    model with several outputs, a dict of them.
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
    styles: dict[str, Callable[[Any], Any]] = {
        "model.predict": lambda b: raw.predict(b, batch_size=_inputs.n_rows(b), verbose=0),
        "model(x, training=False)": lambda b: _numpy(raw(b, training=False)),
    }
    if savedmodel is not None:
        if not isinstance(savedmodel, LoadedModel) or savedmodel.format != "savedmodel":
            raise InvalidInputError(
                f"expected savedmodel to be persistence.load(...) of a SavedModel directory; found "
                f"{getattr(savedmodel, 'format', type(savedmodel).__name__)!r}. "
                'Fix: persistence.load("fraud_savedmodel").'
            )
        styles["SavedModel signature"] = _signature_call(
            savedmodel.raw.signatures["serving_default"], [t.name.split(":")[0] for t in raw.inputs])
    return styles


def _numpy(out: Any) -> Any:
    """A model's output as NumPy: one array, or a dict (list) of them for several outputs."""
    if isinstance(out, Mapping):
        return {k: np.asarray(v) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return [np.asarray(v) for v in out]
    return np.asarray(out)


def _signature_call(signature: Any, keras_names: Sequence[str]) -> Callable[[Any], Any]:
    """A function feeding a batch (array, dict or list) to a SavedModel signature by input name.

    One output comes back as an array, several as a dict keyed by output name.
    """
    from course_lib import _tf

    tf = _tf.tf()
    names = list(signature.structured_input_signature[1])
    ordered = [n for n in keras_names if n in names] if set(keras_names) == set(names) else names
    outputs = sorted(signature.structured_outputs)

    def call(b: Any) -> Any:
        if isinstance(b, Mapping):
            feed = {k: tf.constant(v) for k, v in b.items()}
        elif isinstance(b, list):
            feed = {k: tf.constant(v) for k, v in zip(ordered, b)}
        else:
            feed = {names[0]: tf.constant(b)}
        out = signature(**feed)
        return out[outputs[0]].numpy() if len(outputs) == 1 else \
            {k: out[k].numpy() for k in outputs}

    return call
