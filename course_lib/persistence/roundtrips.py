"""Round trips: save a model, load it back, and check that nothing changed.

>>> from course_lib.persistence.roundtrips import FormatRow, FormatsReport
>>> report = FormatsReport((FormatRow("keras", 29_184, 0.02, 0.05, 0.0, True, "Keras"),), 0.01)
>>> report.ok, report.verdict
(True, 'OK: every format gives the same metrics after loading (within 0.01)')
>>> rt = roundtrip(model, fraud.test.x, fraud.test.y, format="savedmodel")
>>> rt.ok, rt.max_abs_diff < 1e-6
(True, True)

:func:`roundtrip` checks one format: metrics before saving and after loading (within a
tolerance) and the largest difference between the predictions. :func:`compare_formats`
does it for every format and puts size, timings and consumers side by side.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import _checks, _display
from course_lib.errors import InvalidInputError
from course_lib.metrics import Comparison, Metrics, compare
from course_lib.persistence.formats import (
    FORMATS, SUFFIXES, check_format, check_model, input_of, load, save,
)

__all__ = ["CONSUMERS", "FormatRow", "FormatsReport", "RoundTripResult", "compare_formats",
           "roundtrip"]

#: Who can consume each format, and where the course shows it.
CONSUMERS: Mapping[str, str] = {
    "keras": "Keras load_model (resume training: optimizer state included)",
    "savedmodel": "tf.saved_model.load, TF Serving (lesson 04), the TF.js converter (lesson 05), "
                  "the TF Lite converter (to_tflite)",
    "h5": "Keras load_model (legacy; no TF Serving, no TF.js graph conversion)",
}


@dataclass(frozen=True, repr=False)
class RoundTripResult(_display.ComparisonReport):
    """Metrics before saving and after loading, the largest prediction difference, the verdict.

    >>> rt = roundtrip(model, fraud.test.x, fraud.test.y)
    >>> print(rt)
    keras: 28.5 KB, saved in ..., loaded in ..., largest prediction difference 0.00e+00
    metric     before saving  after loading   delta  within
    accuracy           0.830          0.830  +0.000  yes
    precision          0.069          0.069  +0.000  yes
    recall             0.926          0.926  +0.000  yes
    f1                 0.128          0.128  +0.000  yes
    OK: every metric within 0.01 of before saving
    """

    format: str
    path: Path
    size_bytes: int
    before: Metrics
    after: Metrics
    comparison: Comparison
    max_abs_diff: float
    save_seconds: float
    load_seconds: float

    @property
    def title(self) -> str:  # type: ignore[override]
        return (f"{self.format}: {_display.size(self.size_bytes)}, saved in "
                f"{_display.duration(self.save_seconds)}, loaded in "
                f"{_display.duration(self.load_seconds)}, largest prediction difference "
                f"{self.max_abs_diff:.2e}")


def roundtrip(model: Any, x: np.ndarray, y: np.ndarray, format: str = "keras", *,
              tolerance: float = 0.01, threshold: float = 0.5,
              directory: str | os.PathLike[str] | None = None) -> RoundTripResult:
    """Save ``model``, load it back, and compare metrics and predictions on ``(x, y)``.

    The seed's criterion: every metric within ``tolerance`` (0.01) and predictions
    identical or within float tolerance. The file goes to ``directory`` (a new
    temporary folder by default), named after the model.

    >>> rt = roundtrip(model, fraud.test.x, fraud.test.y, format="savedmodel")
    >>> rt.ok, rt.max_abs_diff < 1e-6   # the exported graph computes in another order
    (True, True)
    """
    check_format(format)
    x = input_of(check_model(model)).check(x)
    tolerance = _checks.number("tolerance", tolerance, minimum=0, example=0.01)
    threshold = _checks.threshold(threshold)
    base = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="roundtrip-"))
    target = base / f"{model.name}{SUFFIXES[format]}"
    before_scores = np.asarray(model.predict(x, verbose=0))
    before = Metrics.from_predictions(y, before_scores, threshold)
    saved = save(model, target, format, overwrite=True)
    start = time.perf_counter()
    loaded = load(target)
    load_seconds = time.perf_counter() - start
    after_scores = loaded.predict(x)
    after = Metrics.from_predictions(y, after_scores, threshold)
    diff = float(np.max(np.abs(after_scores.reshape(-1) - before_scores.reshape(-1))))
    return RoundTripResult(
        format=format, path=target, size_bytes=saved.size_bytes, before=before, after=after,
        comparison=compare(before, after, tolerance, labels=("before saving", "after loading")),
        max_abs_diff=diff, save_seconds=saved.seconds, load_seconds=load_seconds,
    )


@dataclass(frozen=True)
class FormatRow:
    """One format's measurements in :func:`compare_formats`."""

    format: str
    size_bytes: int
    save_seconds: float
    load_seconds: float
    max_abs_diff: float
    ok: bool
    consumers: str


@dataclass(frozen=True, repr=False)
class FormatsReport(_display.Report):
    """Size, save/load time, prediction difference and metric verdict of each format.

    >>> rows = (FormatRow("keras", 29_184, 0.02, 0.05, 0.0, True, "Keras load_model"),
    ...         FormatRow("h5", 29_100, 0.01, 0.02, 0.3, False, "legacy"))
    >>> print(FormatsReport(rows, tolerance=0.01))
    format     size  largest prediction difference  every metric within 0.01  who can consume it
    keras   28.5 KB                        0.0e+00  yes                       Keras load_model
    h5      28.4 KB                        3.0e-01  NO                        legacy
    keras: saved in 20.00 ms, loaded in 50.00 ms
    h5: saved in 10.00 ms, loaded in 20.00 ms
    NOT OK: the metrics changed after loading for h5 (tolerance 0.01)
    """

    rows: tuple[FormatRow, ...]
    tolerance: float
    roundtrips: Mapping[str, RoundTripResult] = field(default_factory=dict)

    @property
    def failures(self) -> tuple[FormatRow, ...]:
        """The formats whose metrics changed after loading (``ok`` when there is none)."""
        return tuple(r for r in self.rows if not r.ok)

    @property
    def verdict(self) -> str:
        """OK, or which formats changed the metrics."""
        changed = ", ".join(r.format for r in self.failures)
        if changed:
            return (f"NOT OK: the metrics changed after loading for {changed} "
                    f"(tolerance {self.tolerance:g})")
        return f"OK: every format gives the same metrics after loading (within {self.tolerance:g})"

    def table(self) -> tuple[list[str], list[list[str]]]:
        """One row per format: size, save and load times, difference, verdict, consumers."""
        headers = ["format", "size", "save", "load", "largest prediction difference",
                   f"every metric within {self.tolerance:g}", "who can consume it"]
        rows = [[r.format, _display.size(r.size_bytes), _display.duration(r.save_seconds),
                 _display.duration(r.load_seconds), f"{r.max_abs_diff:.1e}",
                 "yes" if r.ok else "NO", r.consumers] for r in self.rows]
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


def compare_formats(model: Any, x: np.ndarray, y: np.ndarray, directory: str | os.PathLike[str], *,
                    formats: Sequence[str] = FORMATS, tolerance: float = 0.01) -> FormatsReport:
    """Round-trip ``model`` through every format and put the results side by side.

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
    trips = {f: roundtrip(model, x, y, f, tolerance=tolerance, directory=directory)
             for f in formats}
    rows = tuple(FormatRow(f, t.size_bytes, t.save_seconds, t.load_seconds, t.max_abs_diff, t.ok,
                           CONSUMERS[f]) for f, t in trips.items())
    return FormatsReport(rows=rows, tolerance=tolerance, roundtrips=trips)
