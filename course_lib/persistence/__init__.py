"""Save and load models in each format, inspect what was written, check round trips.

>>> from course_lib import persistence
>>> persistence.FORMATS
('keras', 'savedmodel', 'h5')
>>> saved = persistence.save(model, "fraud.keras")
>>> loaded = persistence.load("fraud.keras")
>>> loaded.predict(x_test)[:2].round(2)
array([[0.13],
       [0.56]], dtype=float32)
>>> persistence.roundtrip(model, x_test, format="savedmodel").ok   # no labels: the predictions
True

Formats (``FORMATS``):

* ``"keras"``: the native Keras 3 archive (``.keras``, a zip of config + weights).
* ``"savedmodel"``: a TensorFlow SavedModel directory written by ``model.export``,
  what TF Serving, TF Lite and the TF.js converter consume. Keras 3's
  ``load_model`` refuses it; :func:`load` uses ``tf.saved_model.load`` instead.
* ``"h5"``: the legacy HDF5 file; Keras still reads and writes it but warns.

Every save writes to a temporary sibling and renames it into place, so a failed
save never leaves a half-written model behind. Loading keeps Keras's
``safe_mode`` on: loading a model runs its code, so only load files you trust.

Any Keras model: binary, multi-class or regression; inputs of any rank, one or several
(a dict by input name), text inputs where the model looks them up; one or several outputs.

One submodule per part: :mod:`~course_lib.persistence.formats` (save, weights
checkpoints), :mod:`~course_lib.persistence.loading` (load, :class:`LoadedModel`:
predict, evaluate), :mod:`~course_lib.persistence.archives` (what a file may unpack to,
``max_unpacked_bytes``), :mod:`~course_lib.persistence.inspection` (files, signatures,
``saved_model_cli``), :mod:`~course_lib.persistence.roundtrips` (round trips, the formats
side by side), :mod:`~course_lib.persistence.serving` (a fresh process) and
:mod:`~course_lib.persistence.tflite`. Every name is importable from here.
"""

from __future__ import annotations

# CourseLibError too, for `except persistence.CourseLibError` (not in __all__: see errors).
from course_lib.errors import CourseLibError as CourseLibError
from course_lib.errors import (
    ArchiveTooLargeError, ModelFileError, UnknownLayerError, UnsafeModelError,
)
from course_lib.persistence.archives import MAX_UNPACKED_BYTES
from course_lib.persistence.formats import (
    FORMATS, H5_WARNING, SaveResult, detect_format, load_weights, save, save_weights,
)
from course_lib.persistence.inspection import (
    FileInfo, ModelInfo, SignatureInfo, inspect, saved_model_cli,
)
from course_lib.persistence.loading import LoadedModel, TensorInfo, load
from course_lib.persistence.roundtrips import (
    CONSUMERS, FormatRow, FormatsReport, RoundTripResult, compare_formats, model_loss,
    roundtrip,
)
from course_lib.persistence.serving import ServingProcess, predict_in_subprocess
from course_lib.persistence.tflite import TFLiteResult, to_tflite

__all__ = [
    "CONSUMERS",
    "FORMATS",
    "H5_WARNING",
    "MAX_UNPACKED_BYTES",
    "ArchiveTooLargeError",
    "FileInfo",
    "FormatRow",
    "FormatsReport",
    "LoadedModel",
    "ModelFileError",
    "ModelInfo",
    "RoundTripResult",
    "SaveResult",
    "ServingProcess",
    "SignatureInfo",
    "TFLiteResult",
    "TensorInfo",
    "UnknownLayerError",
    "UnsafeModelError",
    "compare_formats",
    "detect_format",
    "inspect",
    "load",
    "load_weights",
    "model_loss",
    "predict_in_subprocess",
    "roundtrip",
    "save",
    "save_weights",
    "saved_model_cli",
    "to_tflite",
]
