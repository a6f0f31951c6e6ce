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
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_lib import _checks, _display, _fs, _tf
from course_lib.persistence.formats import load

__all__ = ["TFLiteResult", "to_tflite"]


@dataclass(frozen=True, repr=False)
class TFLiteResult(_display.Report):
    """A SavedModel converted to TF Lite, and how its predictions compare with the SavedModel's.

    ``ok`` when the largest difference is at most ``tolerance``.
    """

    path: Path
    size_bytes: int
    max_abs_diff: float
    tolerance: float = 1e-5

    @property
    def ok(self) -> bool:
        """True when TF Lite predicts what the SavedModel predicts, within ``tolerance``."""
        return self.max_abs_diff <= self.tolerance

    @property
    def verdict(self) -> str:
        """The file, its size and the largest prediction difference."""
        what = (f"TF Lite model {self.path.name}: {_display.size(self.size_bytes)}, largest "
                f"prediction difference from the SavedModel {self.max_abs_diff:.1e}")
        if self.ok:
            return f"OK: {what} (at most {self.tolerance:g})"
        return f"NOT OK: {what}, more than {self.tolerance:g}"


def to_tflite(savedmodel: str | os.PathLike[str], out: str | os.PathLike[str], x: np.ndarray, *,
              tolerance: float = 1e-5) -> TFLiteResult:
    """Convert a SavedModel with the TF Lite converter, run both on ``x`` and compare.

    >>> print(to_tflite("fraud_savedmodel", "fraud.tflite", fraud.test.x))
    OK: TF Lite model fraud.tflite: 2.9 KB, largest prediction difference from the SavedModel ... (at most 1e-05)
    """
    src, dst = Path(savedmodel), Path(out)
    tolerance = _checks.number("tolerance", tolerance, minimum=0, example=1e-5)
    source = load(src, format="savedmodel")
    arr = source.input.check(x)
    tf = _tf.tf()
    with _tf.quiet_native_stderr(), warnings.catch_warnings():
        # tf.lite.Interpreter warns that it moves to the ai_edge_litert package in TF 2.20.
        warnings.simplefilter("ignore", UserWarning)
        payload = tf.lite.TFLiteConverter.from_saved_model(str(src)).convert()
        dst.parent.mkdir(parents=True, exist_ok=True)
        _fs.write_atomic(dst, payload)
        runner = tf.lite.Interpreter(model_content=payload).get_signature_runner("serving_default")
        scores = np.concatenate([runner(**{source.input.name: arr[i:i + 1]})["output_0"]
                                 for i in range(len(arr))])
    diff = float(np.max(np.abs(scores - source.predict(arr))))
    return TFLiteResult(path=dst, size_bytes=len(payload), max_abs_diff=diff, tolerance=tolerance)
