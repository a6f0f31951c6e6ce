"""TF Lite: convert a SavedModel for phones and small devices, and check its predictions.

>>> from pathlib import Path
>>> from course_lib.persistence.tflite import TFLiteResult
>>> print(TFLiteResult(Path("fraud.tflite"), 2_970, 1.2e-07))
OK: TF Lite model fraud.tflite: 2.9 KB, largest prediction difference from the SavedModel 1.2e-07 (at most 1e-05)
>>> to_tflite("fraud_savedmodel", "fraud.tflite", fraud.test.x).ok
True
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import _checks, _display, _fs, _inputs, _tf
from course_lib.errors import ConversionError, InvalidInputError
from course_lib.metrics import prediction_difference
from course_lib.persistence.formats import error_text
from course_lib.persistence.loading import load

__all__ = ["TFLiteResult", "to_tflite"]


@dataclass(frozen=True, repr=False)
class TFLiteResult(_display.Report):
    """A SavedModel converted to TF Lite, and how its predictions compare with the SavedModel's.

    ``ok`` when the largest difference is at most ``tolerance`` (relative to ``scale``, the
    largest SavedModel output, when that exceeds 1) and no row changed class (``changed``,
    None when not counted).
    """

    path: Path
    size_bytes: int
    max_abs_diff: float
    tolerance: float = 1e-5
    changed: int | None = None
    scale: float = 1.0

    @property
    def allowed(self) -> float:
        """The largest difference allowed: ``tolerance``, times ``scale`` above 1."""
        return self.tolerance * max(1.0, self.scale)

    @property
    def ok(self) -> bool:
        """True when TF Lite predicts what the SavedModel predicts, within ``allowed``."""
        return self.max_abs_diff <= self.allowed and not self.changed

    @property
    def verdict(self) -> str:
        """The file, its size and the largest prediction difference."""
        what = (f"TF Lite model {self.path.name}: {_display.size(self.size_bytes)}, largest "
                f"prediction difference from the SavedModel {self.max_abs_diff:.1e}")
        classes = f", {self.changed:,} rows changed class" if self.changed else ""
        if self.ok:
            return f"OK: {what} (at most {self.allowed:.2g})"
        if self.max_abs_diff <= self.allowed:
            return f"NOT OK: {what}{classes}"
        return f"NOT OK: {what}, more than {self.allowed:.2g}{classes}"


def _ops(text: str) -> str:
    found = re.search(r"TF Select ops: ([^\n]+)", text) or re.search(r"'(tf\.\w+)' op", text)
    return f" (operations TF Lite lacks: {found.group(1).strip()})" if found else ""


def _convert(src: Path) -> bytes:
    tf = _tf.tf()
    try:
        return tf.lite.TFLiteConverter.from_saved_model(str(src)).convert()
    except Exception as exc:
        text = str(exc)
        raise ConversionError(
            f"expected the TF Lite converter to convert {src.name}; it could not"
            f"{_ops(text)}: {error_text(exc)}. "
            "Fix: build the model from layers TF Lite supports, or convert it yourself with "
            "converter.target_spec.supported_ops including tf.lite.OpsSet.SELECT_TF_OPS "
            "(TF Select: a bigger runtime on the device)."
        ) from exc


def _run(payload: bytes, x: Any, specs: Any, names: list[str], src: Path) -> Any:
    """The TF Lite signature runner on every row of ``x`` (one row per call)."""
    tf = _tf.tf()
    try:
        runner = tf.lite.Interpreter(model_content=payload).get_signature_runner("serving_default")
        parts = []
        for i in range(_inputs.n_rows(x)):
            row = _inputs.take(x, slice(i, i + 1))
            feed = row if isinstance(row, dict) else (
                {s.name: v for s, v in zip(specs, row)} if isinstance(row, list)
                else {specs[0].name: row})
            parts.append(runner(**feed))
    except Exception as exc:
        raise ConversionError(
            f"expected the TF Lite model converted from {src.name} to run; the interpreter "
            f"failed ({error_text(exc)}). Fix: check that "
            "every operation of the model is a TF Lite builtin (no TF Select ops)."
        ) from exc
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if len(out) == 1:
        return next(iter(out.values()))
    return {n: out[n] for n in names if n in out}


def to_tflite(savedmodel: str | os.PathLike[str], out: str | os.PathLike[str], x: object, *,
              tolerance: float = 1e-5, task: str | None = None,
              threshold: float = 0.5, converted: bytes | None = None) -> TFLiteResult:
    """Convert a SavedModel with the TF Lite converter, run both on ``x`` and compare.

    ``x`` is what the model takes: one array of any rank, or a dict of arrays by input
    name (text inputs too, where the model's lookup converts). ``task`` and ``threshold``
    decide which rows changed class (see :func:`~course_lib.metrics.prediction_difference`).
    A model TF Lite cannot convert or run gets a :class:`~course_lib.errors.ConversionError`
    naming the operations it lacks.

    >>> print(to_tflite("fraud_savedmodel", "fraud.tflite", fraud.test.x))
    OK: TF Lite model fraud.tflite: 2.9 KB, largest prediction difference from the SavedModel ... (at most 1e-05)

    ``converted`` is a TF Lite model you already made from this SavedModel (the bytes
    ``tf.lite.TFLiteConverter.from_saved_model(...).convert()`` returns): it is run, compared
    and written to ``out`` the same way, without converting again.
    """
    src, dst = Path(savedmodel), Path(out)
    tolerance = _checks.number("tolerance", tolerance, minimum=0, example=1e-5)
    if converted is not None and not (isinstance(converted, (bytes, bytearray)) and converted):
        raise InvalidInputError(
            f"expected converted to be the bytes of a TF Lite model; found "
            f"{type(converted).__name__} {converted!r:.40}. "
            "Fix: converted=tf.lite.TFLiteConverter.from_saved_model(path).convert(), or leave it out.")
    source = load(src, format="savedmodel")
    xs = _inputs.check(x, source.inputs)
    reference = source.predict(xs)
    with _tf.quiet_native_stderr(), warnings.catch_warnings():
        # tf.lite.Interpreter warns that it moves to the ai_edge_litert package in TF 2.20.
        warnings.simplefilter("ignore", UserWarning)
        payload = _convert(src) if converted is None else bytes(converted)
        scores = _run(payload, xs, source.inputs, [t.name for t in source.outputs], src)
        dst.parent.mkdir(parents=True, exist_ok=True)
        _fs.write_atomic(dst, payload)
    parts = reference.values() if isinstance(reference, dict) else [reference]
    scale = max(float(np.max(np.abs(p))) for p in parts)
    diff = prediction_difference(reference, scores, task=task, threshold=threshold,
                                 tolerance=tolerance * max(1.0, scale))
    return TFLiteResult(path=dst, size_bytes=len(payload), max_abs_diff=diff.max_abs_diff,
                        tolerance=tolerance, changed=diff.changed, scale=scale)
