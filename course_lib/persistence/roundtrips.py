"""Round trips: save a model, load it back, and check that nothing changed.

>>> from course_lib.persistence.roundtrips import FormatRow, FormatsReport
>>> report = FormatsReport((FormatRow("keras", 29_184, 0.02, 0.05, 0.0, True, "Keras"),), 0.01)
>>> report.ok, report.verdict
(True, 'OK: every format gives the same predictions after loading (within 1e-05)')
>>> rt = roundtrip(model, fraud.test.x, fraud.test.y, format="savedmodel")
>>> rt.ok, rt.max_abs_diff < 1e-6
(True, True)

:func:`roundtrip` checks one format on any Keras model (binary, multi-class, regression; one
input or a dict of them; one output or several): the predictions before saving and after
loading (:func:`~course_lib.metrics.prediction_difference`: the largest difference, the rows
whose predicted class changed) and, given labels, the task's metrics within a tolerance
(:func:`~course_lib.metrics.compare`) and the model's compiled loss (:func:`model_loss`,
judged by :func:`~course_lib.metrics.comparison.compare_loss`, the rule ``compare`` applies to
a loss).
:func:`compare_formats` does it for every format and puts size, timings, metrics, loss and
consumers side by side.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import _checks, _display, _inputs, _tf
from course_lib.errors import InvalidInputError
from course_lib.metrics import (
    AnyMetrics,
    Comparison,
    MetricDelta,
    Metrics,
    PredictionDiff,
    check_task,
    compare,
    prediction_difference,
)
from course_lib.metrics.comparison import compare_loss
from course_lib.persistence.formats import FORMATS, SUFFIXES, check_format, check_model, save
from course_lib.persistence.loading import inputs_of, load, predict_model

__all__ = ["CONSUMERS", "OUTPUT_TOLERANCE", "FormatRow", "FormatsReport", "RoundTripResult",
           "compare_formats", "model_loss", "roundtrip"]

#: Who can consume each format, and where the course shows it.
CONSUMERS: Mapping[str, str] = {
    "keras": "Keras load_model (resume training: optimizer state included)",
    "savedmodel": "tf.saved_model.load, TF Serving (lesson 04), the TF.js converter (lesson 05), "
                  "the TF Lite converter (to_tflite)",
    "h5": "Keras load_model (legacy; no TF Serving, no TF.js graph conversion)",
}

#: The largest change allowed in an output value after loading, relative to the largest
#: output when that exceeds 1 (float32 keeps about 7 significant digits; an exported graph
#: may add in another order).
OUTPUT_TOLERANCE = 1e-5


@dataclass(frozen=True, repr=False)
class RoundTripResult(_display.Report):
    """The predictions (and, given labels, the metrics) before saving and after loading.

    >>> rt = roundtrip(model, fraud.test.x, fraud.test.y)
    >>> print(rt)
    keras: 28.5 KB, saved in ..., loaded in ..., largest prediction difference 0.00e+00
    metric     before saving  after loading   delta  within
    accuracy           0.953          0.953  +0.000  yes
    precision          0.222          0.222  +0.000  yes
    recall             0.981          0.981  +0.000  yes
    f1                 0.362          0.362  +0.000  yes
    loss               0.174          0.174  +0.000  yes
    OK: every metric within 0.01 of before saving, the loss too; predictions within 1e-05, no row changed class

    ``ok`` when the outputs moved no more than the output tolerance (``difference``, a
    :class:`~course_lib.metrics.PredictionDiff`) and, with labels, every metric stayed within
    its tolerance (``comparison``; ``before``, ``after`` and ``comparison`` are None without
    labels), the model's compiled loss too (``loss``, a
    :class:`~course_lib.metrics.MetricDelta` from
    :func:`~course_lib.metrics.comparison.compare_loss`; None without labels or a compiled loss).
    """

    format: str
    path: Path
    size_bytes: int
    before: AnyMetrics | None
    after: AnyMetrics | None
    comparison: Comparison | None
    max_abs_diff: float
    save_seconds: float
    load_seconds: float
    difference: PredictionDiff | None = None
    loss: MetricDelta | None = None

    @property
    def title(self) -> str:  # type: ignore[override]
        return (f"{self.format}: {_display.size(self.size_bytes)}, saved in "
                f"{_display.duration(self.save_seconds)}, loaded in "
                f"{_display.duration(self.load_seconds)}, largest prediction difference "
                f"{self.max_abs_diff:.2e}")

    @property
    def task(self) -> str | None:
        """The task measured ("binary", "multiclass", "regression"), when known."""
        return self.before.task if self.before is not None else (
            self.difference.task if self.difference is not None else None)

    @property
    def changed(self) -> int | None:
        """Rows whose predicted class changed (None for a regression or when not measured)."""
        return None if self.difference is None else self.difference.changed

    @property
    def failures(self) -> tuple[Any, ...]:
        """The metrics (and the loss) that moved beyond their tolerance, then the predictions."""
        loss = () if self.loss is None or self.loss.ok else (self.loss,)
        return (tuple(self.comparison.failures if self.comparison is not None else ()) + loss
                + tuple(self.difference.failures if self.difference is not None else ()))

    @property
    def verdict(self) -> str:
        """OK (metrics, loss and predictions), or what moved."""
        checks = [c for c in (self.comparison, self.difference) if c is not None]
        moved = [c.verdict.removeprefix("NOT OK: ") for c in checks if not c.ok]
        if self.loss is not None and not self.loss.ok:
            at = 0 if self.comparison is None or self.comparison.ok else 1
            moved.insert(at, f"loss {self.loss.delta:+.3g} (allowed ±{self.loss.tolerance:.3g})")
        if moved:
            return "NOT OK: " + "; ".join(moved)
        if self.comparison is None or self.difference is None:
            return checks[0].verdict if checks else "OK: nothing was compared"
        classes = "" if self.difference.changed is None else ", no row changed class"
        within = f"{self.difference.tolerance:.2g}"
        loss = "" if self.loss is None else ", the loss too"
        return f"{self.comparison.verdict}{loss}; predictions within {within}{classes}"

    def table(self) -> tuple[list[str], list[list[str]]] | None:
        """Each metric (and the loss) before saving and after loading (with labels), else none."""
        if self.comparison is None:
            return None
        headers, rows = self.comparison.table()
        if self.loss is not None:
            rows.append(self.loss.cells())
        return headers, rows


def _output_index(name: str) -> int | None:
    match = re.fullmatch(r"output_(\d+)", name)
    return int(match.group(1)) if match else None


def _aligned(before: Any, after: Any) -> Any:
    """``after`` keyed like ``before`` (a SavedModel names a list of outputs output_0, output_1...)."""
    if not isinstance(before, dict) or not isinstance(after, dict) or set(before) == set(after):
        return after
    index = {_output_index(k): v for k, v in after.items()}
    if len(after) == len(before) and set(index) == set(range(len(before))):
        return {name: index[i] for i, name in enumerate(before)}
    raise InvalidInputError(
        f"expected the loaded model to have the outputs {sorted(before)}; found {sorted(after)}. "
        "Fix: save the model again; if it was exported by another tool, compare the outputs "
        "yourself with metrics.prediction_difference.")


def _largest(out: Any) -> float:
    parts = out.values() if isinstance(out, dict) else [out]
    return max((float(np.max(np.abs(p))) for p in parts if np.size(p)), default=0.0)


def _measure(y: object, out: Any, threshold: float, task: str | None,
             class_names: Sequence[str] | None) -> AnyMetrics:
    if isinstance(out, dict):
        raise InvalidInputError(
            f"expected a model with one output to measure metrics on labels; this one has "
            f"{len(out)} ({', '.join(out)}). Fix: pass y=None to compare every output's "
            "predictions before and after.")
    return Metrics.from_predictions(y, out, threshold, task=task, class_names=class_names)


def model_loss(model: Any, y: object, out: Any) -> float | None:
    """The loss ``model`` was compiled with, of the outputs ``out`` on the labels ``y``.

    :func:`roundtrip` allows it to move by its ``tolerance``, relative to the loss when that
    exceeds 1 (:func:`~course_lib.metrics.comparison.compare_loss`). None when the model has
    no compiled loss (or one per output), ``out`` is a dict of outputs, or the labels are not
    numbers. The mean over the rows, as ``model.evaluate`` reports it (without sample
    weights).

    >>> round(model_loss(model, fraud.test.y, np.asarray(model(fraud.test.x))), 3)
    0.174
    """
    loss = getattr(model, "loss", None)
    truth = np.asarray(y)
    if loss is None or isinstance(loss, (list, tuple, dict)) or isinstance(out, dict) \
            or truth.dtype.kind not in "biuf":
        return None
    pred = np.asarray(out, dtype=np.float32)
    if truth.size == pred.size:
        truth = truth.reshape(pred.shape)
    value = _tf.keras().losses.get(loss)(truth.astype(np.float32), pred)
    return float(np.mean(np.asarray(value)))


def roundtrip(model: Any, x: object, y: object = None, format: str = "keras", *,
              task: str | None = None, tolerance: float = 0.01,
              output_tolerance: float = OUTPUT_TOLERANCE, threshold: float = 0.5,
              class_names: Sequence[str] | None = None, compile: bool = True,
              directory: str | os.PathLike[str] | None = None) -> RoundTripResult:
    """Save ``model``, load it back, and compare predictions (and, given ``y``, metrics) on ``x``.

    ``x`` is what the model takes: one array of any rank, or a dict of arrays by input name.
    Always measured: the prediction difference (largest absolute difference, rows whose
    predicted class changed), within ``output_tolerance`` (1e-5, relative to the largest
    output when that exceeds 1). With labels ``y`` the task's metrics (task from the labels
    and the output, or ``task=``) must also stay within ``tolerance`` (0.01; see
    :func:`~course_lib.metrics.compare`), and the model's compiled loss within ``tolerance``,
    relative to the loss above 1 (:func:`~course_lib.metrics.comparison.compare_loss`: a
    regression's MSE is in squared units). ``threshold`` is a binary classifier's;
    ``compile`` goes to :func:`~course_lib.persistence.load`. The file goes to ``directory``
    (a new temporary folder by default), named after the model.

    >>> rt = roundtrip(model, fraud.test.x, fraud.test.y, format="savedmodel")
    >>> rt.ok, rt.max_abs_diff < 1e-6   # the exported graph computes in another order
    (True, True)
    >>> roundtrip(model, fraud.test.x, format="h5").verdict   # no labels: the predictions only
    'OK: after loading predicts what before saving predicted on 4,001 rows (largest difference 0.0e+00, within 1e-05; no row changed class)'
    """
    check_format(format)
    xs = _inputs.check(x, inputs_of(check_model(model)))
    tolerance = _checks.number("tolerance", tolerance, minimum=0, example=0.01)
    output_tolerance = _checks.number("output_tolerance", output_tolerance, minimum=0,
                                      example=1e-5)
    threshold = _checks.threshold(threshold)
    task = None if task is None else check_task(task)
    before_out = predict_model(model, xs)
    before = None if y is None else _measure(y, before_out, threshold, task, class_names)
    base = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="roundtrip-"))
    target = base / f"{model.name}{SUFFIXES[format]}"
    saved = save(model, target, format, overwrite=True)
    start = time.perf_counter()
    loaded = load(target, compile=compile)
    load_seconds = time.perf_counter() - start
    after_out = _aligned(before_out, loaded.predict(xs))
    after = None if y is None else _measure(y, after_out, threshold, task, class_names)
    labels = ("before saving", "after loading")
    diff = prediction_difference(
        before_out, after_out, task=task or (before.task if before is not None else None),
        threshold=threshold, tolerance=output_tolerance * max(1.0, _largest(before_out)),
        labels=labels)
    comparison = None if before is None or after is None else compare(
        before, after, tolerance, labels=labels)
    loss_before, loss_after = (None, None) if y is None else (
        model_loss(model, y, before_out), model_loss(model, y, after_out))
    loss = None if loss_before is None or loss_after is None else compare_loss(
        loss_before, loss_after, tolerance)
    return RoundTripResult(
        format=format, path=target, size_bytes=saved.size_bytes, before=before, after=after,
        comparison=comparison, max_abs_diff=diff.max_abs_diff, save_seconds=saved.seconds,
        load_seconds=load_seconds, difference=diff, loss=loss,
    )


@dataclass(frozen=True)
class FormatRow:
    """One format's measurements in :func:`compare_formats` (``metrics``, ``loss``: after loading)."""

    format: str
    size_bytes: int
    save_seconds: float
    load_seconds: float
    max_abs_diff: float
    ok: bool
    consumers: str
    changed: int | None = None
    metrics: AnyMetrics | None = None
    loss: float | None = None


@dataclass(frozen=True, repr=False)
class FormatsReport(_display.Report):
    """Size, save/load time, prediction difference, metrics and verdict of each format.

    >>> rows = (FormatRow("keras", 29_184, 0.02, 0.05, 0.0, True, "Keras load_model", 0),
    ...         FormatRow("h5", 29_100, 0.01, 0.02, 0.3, False, "legacy", 12))
    >>> print(FormatsReport(rows, tolerance=0.01))
    format     size  largest prediction difference  rows changed class  same after loading  who can consume it
    keras   28.5 KB                        0.0e+00                   0  yes                 Keras load_model
    h5      28.4 KB                        3.0e-01                  12  NO                  legacy
    keras: saved in 20.00 ms, loaded in 50.00 ms
    h5: saved in 10.00 ms, loaded in 20.00 ms
    NOT OK: h5 changed after loading (largest prediction difference 3.0e-01, 12 rows changed class)

    With labels each row also shows the task's metrics after loading, and the loss when the
    model was compiled with one.
    """

    rows: tuple[FormatRow, ...]
    tolerance: float
    roundtrips: Mapping[str, RoundTripResult] = field(default_factory=dict)
    output_tolerance: float = OUTPUT_TOLERANCE

    @property
    def failures(self) -> tuple[FormatRow, ...]:
        """The formats whose predictions or metrics changed after loading."""
        return tuple(r for r in self.rows if not r.ok)

    def _why(self, row: FormatRow) -> str:
        rt = self.roundtrips.get(row.format)
        if rt is not None:
            return f"{row.format} changed after loading: {rt.verdict.removeprefix('NOT OK: ')}"
        classes = "" if not row.changed else f", {row.changed:,} rows changed class"
        return (f"{row.format} changed after loading (largest prediction difference "
                f"{row.max_abs_diff:.1e}{classes})")

    @property
    def verdict(self) -> str:
        """OK, or which formats changed and how."""
        if self.failures:
            return "NOT OK: " + "; ".join(self._why(r) for r in self.failures)
        if any(r.metrics is not None for r in self.rows):
            return (f"OK: every format gives the same metrics (within {self.tolerance:g}) and "
                    f"predictions (within {self.output_tolerance:g}) after loading")
        return ("OK: every format gives the same predictions after loading "
                f"(within {self.output_tolerance:g})")

    def table(self) -> tuple[list[str], list[list[str]]]:
        """One row per format: size, times, difference, class changes, metrics, verdict, consumers."""
        headers = ["format", "size", "save", "load", "largest prediction difference"]
        rows = [[r.format, _display.size(r.size_bytes), _display.duration(r.save_seconds),
                 _display.duration(r.load_seconds), f"{r.max_abs_diff:.1e}"] for r in self.rows]
        if any(r.changed is not None for r in self.rows):
            headers.append("rows changed class")
            for cells, r in zip(rows, self.rows):
                cells.append("" if r.changed is None else f"{r.changed:,}")
        measured = next((r.metrics for r in self.rows if r.metrics is not None), None)
        if measured is not None:
            fmt = ".4g" if measured.task == "regression" else ".3f"
            headers += list(measured.names)
            for cells, r in zip(rows, self.rows):
                cells += [("" if r.metrics is None else f"{r.metrics.get(n):{fmt}}")
                          for n in measured.names]
        if any(r.loss is not None for r in self.rows):
            headers.append("loss")
            for cells, r in zip(rows, self.rows):
                cells.append("" if r.loss is None else f"{r.loss:.3f}")
        headers += ["same after loading", "who can consume it"]
        for cells, r in zip(rows, self.rows):
            cells += ["yes" if r.ok else "NO", r.consumers]
        return headers, rows

    def __str__(self) -> str:
        # Timings differ in width from run to run ("9.80 ms", "110.20 ms"): padded into
        # columns they would shift the whole table, so the text gives them one line each.
        headers, rows = self.table()
        keep = [i for i, h in enumerate(headers) if h not in ("save", "load")]
        timings = [f"{r.format}: saved in {_display.duration(r.save_seconds)}, loaded in "
                   f"{_display.duration(r.load_seconds)}" for r in self.rows]
        table = _display.text_table([headers[i] for i in keep],
                                    [[r[i] for i in keep] for r in rows])
        return "\n".join([table, *timings, self.verdict])


def compare_formats(model: Any, x: object, y: object = None,
                    directory: str | os.PathLike[str] | None = None, *,
                    formats: Sequence[str] = FORMATS, task: str | None = None,
                    tolerance: float = 0.01, output_tolerance: float = OUTPUT_TOLERANCE,
                    threshold: float = 0.5, compile: bool = True) -> FormatsReport:
    """Round-trip ``model`` through every format (:func:`roundtrip`), the results side by side.

    Without labels the formats are judged by their predictions only; with ``y`` by the
    task's metrics too. ``directory`` holds the files (a new temporary folder by default).

    >>> report = compare_formats(model, fraud.test.x, fraud.test.y, "work")
    >>> [r.format for r in report.rows]
    ['keras', 'savedmodel', 'h5']
    """
    if isinstance(formats, str) or not formats:
        raise InvalidInputError(
            f"expected formats to be a list of formats from {', '.join(FORMATS)}; found "
            f"{formats!r}. Fix: e.g. formats=['keras', 'savedmodel']."
        )
    for f in formats:
        check_format(f)
    folder = directory if directory is not None else tempfile.mkdtemp(prefix="formats-")
    trips = {f: roundtrip(model, x, y, f, task=task, tolerance=tolerance,
                          output_tolerance=output_tolerance, threshold=threshold,
                          compile=compile, directory=folder) for f in formats}
    rows = tuple(FormatRow(f, t.size_bytes, t.save_seconds, t.load_seconds, t.max_abs_diff, t.ok,
                           CONSUMERS[f], t.changed, t.after,
                           None if t.loss is None else t.loss.after) for f, t in trips.items())
    return FormatsReport(rows=rows, tolerance=tolerance, roundtrips=trips,
                         output_tolerance=output_tolerance)
