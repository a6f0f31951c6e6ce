"""Custom Keras layers of the lessons, registered with Keras when this module is imported.

>>> from course_lib import layers
>>> layers.LogScale(columns=(0, 2)).get_config()["columns"]
[0, 2]

Importing this module imports TensorFlow. A process that loads a saved model
using ``LogScale`` must import it first (``persistence.predict_in_subprocess(...,
imports=["course_lib.layers"])``): registration happens by running the
decorator, and a fresh process has not run it. ``UnregisteredLogScale`` does the
same computation but was never registered: lesson 01's pitfall.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from course_lib import _tf

keras = _tf.keras()

__all__ = ["SKEWED_COLUMNS", "LogScale", "UnregisteredLogScale", "column_mask"]

#: Columns of the fraud data with a long right tail: amount and distance_km.
SKEWED_COLUMNS = (0, 2)


def column_mask(width: int, columns: Sequence[int]) -> np.ndarray:
    """1.0 for the given columns, 0.0 elsewhere.

    >>> column_mask(4, (0, 2)).tolist()
    [1.0, 0.0, 1.0, 0.0]
    """
    return np.isin(np.arange(width), columns).astype(np.float32)


@keras.saving.register_keras_serializable(package="course_lib", name="LogScale")
class LogScale(keras.layers.Layer):
    """``log(1 + x)`` on the skewed columns, the other columns unchanged."""

    def __init__(self, columns: Sequence[int] = SKEWED_COLUMNS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns = tuple(int(c) for c in columns)

    def build(self, input_shape: Sequence[int | None]) -> None:
        self._mask = column_mask(int(input_shape[-1]), self.columns)

    def call(self, x: Any) -> Any:
        ops = keras.ops
        return self._mask * ops.log1p(ops.maximum(x, 0.0)) + (1.0 - self._mask) * x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "columns": list(self.columns)}


class UnregisteredLogScale(LogScale):
    """The same layer, never registered with Keras: a saved model using it cannot be loaded."""
