"""Save a model in each format, tell the formats apart, and weights-only checkpoints.

>>> from course_lib.persistence import formats
>>> formats.detect_format("no_such_model.keras")
Traceback (most recent call last):
...
course_lib.errors.ModelFileError: expected a saved model at no_such_model.keras; nothing is there. Fix: check the path (relative paths start from the notebook's folder) or save the model first.
>>> print(formats.save(model, "fraud.keras"))
saved keras to fraud.keras (28.5 KB)
>>> formats.detect_format("fraud.keras")
'keras'

Formats (:data:`FORMATS`): ``"keras"`` (a zip of config and weights), ``"savedmodel"``
(the directory ``model.export`` writes, loaded with ``tf.saved_model.load``) and ``"h5"``
(legacy HDF5). Every save is staged (:func:`course_lib._fs.staged`): a failed save leaves
nothing behind. Loading is :mod:`~course_lib.persistence.loading`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_lib import _display, _fs, _tf
from course_lib.errors import InvalidInputError, ModelFileError

__all__ = [
    "FORMATS", "H5_WARNING", "SUFFIXES", "SaveResult", "check_format", "check_model",
    "detect_format", "error_text", "load_weights", "quiet_logs", "save", "save_weights",
]

FORMATS: tuple[str, ...] = ("keras", "savedmodel", "h5")
#: The file name ending of each format ("" for a SavedModel: a directory).
SUFFIXES: Mapping[str, str] = {"keras": ".keras", "h5": ".h5", "savedmodel": ""}
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

H5_WARNING = (
    "HDF5 (.h5) is Keras's legacy format: it stores the architecture and weights but not "
    "custom objects' code or newer layer options, and TF Serving and the TF.js graph converter "
    "cannot use it. Prefer .keras (Keras) or a SavedModel (serving)."
)


# -- what a model is --------------------------------------------------------------------------

def error_text(exc: BaseException, limit: int = 300) -> str:
    """``TypeName: first line of the message`` (at most ``limit`` characters), for our messages.

    >>> error_text(ValueError("bad shape\\nTraceback..."))
    'ValueError: bad shape'
    """
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:limit] if lines else ''}".rstrip(": ")


def check_model(model: object) -> Any:
    """``model`` if it is a ``keras.Model``; otherwise a clear error."""
    keras = _tf.keras()
    if not isinstance(model, keras.Model):
        raise InvalidInputError(
            f"expected a Keras model (keras.Model); found {type(model).__name__}. "
            "Fix: pass the model you built and trained (keras.Sequential, keras.Model(inputs, "
            "outputs) or a subclass), or persistence.load(path).raw for a loaded one."
        )
    return model


# -- formats ---------------------------------------------------------------------------------

def check_format(format: object) -> str:
    """``format`` if it is one of :data:`FORMATS`.

    >>> check_format("onnx")
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidInputError: expected format to be one of keras, savedmodel, h5; found 'onnx'.
    """
    if format not in FORMATS:
        raise InvalidInputError(
            f"expected format to be one of {', '.join(FORMATS)}; found {format!r}."
        )
    return str(format)


def _format_for_path(path: Path, format: str | None) -> str:
    by_suffix = {".keras": "keras", ".h5": "h5", ".hdf5": "h5"}.get(path.suffix.lower(),
                                                                     "savedmodel")
    if format is None:
        return by_suffix
    if check_format(format) != by_suffix:
        want = SUFFIXES[format] or "no extension (a directory)"
        raise InvalidInputError(
            f"expected a path ending in {want} for format={format!r}; found {path.name!r}. "
            f"Fix: name it e.g. {path.stem + SUFFIXES[format]!r}, or drop format= to let the "
            "extension decide."
        )
    return format


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format of a saved model on disk, from its content: "keras", "savedmodel" or "h5".

    >>> detect_format("fraud.keras")
    'keras'
    """
    p = Path(path)
    if not p.exists():
        raise ModelFileError(
            f"expected a saved model at {p}; nothing is there. Fix: check the path "
            "(relative paths start from the notebook's folder) or save the model first."
        )
    if p.is_dir():
        if (p / "saved_model.pb").is_file():
            return "savedmodel"
        found = sorted(x.name for x in p.iterdir())[:6]
        raise ModelFileError(
            f"expected a SavedModel directory containing saved_model.pb; {p} holds "
            f"{found or 'nothing'}. Fix: pass the directory model.export() wrote (or a "
            "version directory inside it), not its parent."
        )
    if zipfile.is_zipfile(p):
        return "keras"
    with open(p, "rb") as f:
        if f.read(8) == _HDF5_MAGIC:
            return "h5"
    kind = {".keras": "a .keras zip archive", ".h5": "an HDF5 file"}.get(p.suffix, "a model file")
    raise ModelFileError(
        f"expected {kind} at {p}; its content is neither a zip archive nor HDF5 "
        f"({p.stat().st_size} bytes). The file is corrupted or truncated, or not a model. "
        "Fix: save the model again, or restore the file from a trusted copy."
    )


@contextlib.contextmanager
def quiet_logs() -> Iterator[list[logging.LogRecord]]:
    """Keras/TF log records collected (the caller explains what matters), Python warnings off.

    Keras warns through absl ("legacy format", "compiled metrics have yet to be built");
    TensorFlow logs "Assets written to: <temporary path>" on export; h5py adds NumPy 2
    copy-keyword warnings.
    """
    with _tf.logs_collected() as records, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield records


# -- saving ------------------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class SaveResult(_display.Report):
    """What :func:`save` wrote: where, in which format, how big, how long it took.

    >>> result = SaveResult(Path("fraud.keras"), "keras", 29_184, 0.02)
    >>> print(result)
    saved keras to fraud.keras (28.5 KB)
    >>> result.ok
    True

    ``ok`` is False when the save came with a warning (``warnings``: a legacy .h5 file).
    """

    path: Path
    format: str
    size_bytes: int
    seconds: float
    warnings: tuple[str, ...] = ()

    @property
    def failures(self) -> tuple[str, ...]:
        """The warnings: a save is ``ok`` when nothing about the saved file needs one."""
        return self.warnings

    @property
    def verdict(self) -> str:
        """Which format went where, and its size (KB: exports are not byte-reproducible)."""
        return f"saved {self.format} to {self.path.name} ({_display.size(self.size_bytes)})"

    def __str__(self) -> str:
        return self.verdict + "".join(f"\nwarning: {w}" for w in self.warnings)

    def _repr_html_(self) -> str:
        return _display.verdict_html(self.verdict, True) + "".join(
            _display.verdict_html(f"warning: {w}", False) for w in self.warnings)


def _write(model: Any, tmp: Path, format: str) -> tuple[str, ...]:
    if format == "savedmodel":
        with quiet_logs():
            model.export(str(tmp), format="tf_saved_model", verbose=False)
        return ()
    if format == "keras":
        model.save(str(tmp))
        return ()
    # legacy HDF5: keep the one warning that matters, explained
    with _tf.compile_config_kept(model), quiet_logs() as records:
        model.save(str(tmp))
    legacy = any("legacy" in r.getMessage() for r in records if r.levelno >= logging.WARNING)
    return (H5_WARNING,) if legacy else ()


def save(model: Any, path: str | os.PathLike[str], format: str | None = None, *,
         overwrite: bool = False) -> SaveResult:
    """Save ``model`` as ``.keras``, a SavedModel directory or legacy ``.h5``.

    The format follows the path (``.keras``, ``.h5``, no extension = SavedModel)
    unless ``format`` says otherwise, in which case they must agree. The model is
    written to a temporary sibling and renamed into place.

    >>> save(model, "fraud.keras").format
    'keras'
    >>> save(model, "fraud_savedmodel").format
    'savedmodel'
    """
    check_model(model)
    target = Path(path)
    fmt = _format_for_path(target, format)
    start = time.perf_counter()
    with _fs.staged(target, overwrite=overwrite, suffix=SUFFIXES[fmt], error=ModelFileError) as tmp:
        notes = _write(model, tmp, fmt)
    seconds = time.perf_counter() - start
    return SaveResult(path=target, format=fmt, size_bytes=_fs.size(target), seconds=seconds,
                      warnings=notes)


# -- weights-only checkpoints ----------------------------------------------------------------------

def save_weights(model: Any, path: str | os.PathLike[str]) -> SaveResult:
    """Save only the weights (``.weights.h5``), the way a training checkpoint often does.

    >>> save_weights(model, "fraud.weights.h5").format
    'weights'
    """
    target = Path(path)
    if not target.name.endswith(".weights.h5"):
        raise InvalidInputError(
            f"expected a path ending in .weights.h5; found {target.name!r}. "
            "Fix: e.g. 'fraud.weights.h5'."
        )
    start = time.perf_counter()
    with _fs.staged(target, suffix=".weights.h5", error=ModelFileError) as tmp:
        model.save_weights(str(tmp))
    return SaveResult(target, "weights", _fs.size(target), time.perf_counter() - start)


def load_weights(model: Any, path: str | os.PathLike[str]) -> tuple[str, ...]:
    """Load a weights checkpoint into ``model``; returns notes on what was NOT restored.

    A freshly built model's optimizer has no state yet, so Keras skips the saved
    optimizer variables (Adam's step count and running averages) and says so in a
    warning; that warning comes back here as a note instead of being printed.

    >>> load_weights(fresh_model, "fraud.weights.h5")   # fresh_model: built, never trained
    ("optimizer state not restored: the saved optimizer variables were skipped ...",)
    """
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(
            f"expected a weights file at {p}; nothing is there. "
            "Fix: save_weights(model, path) first."
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.load_weights(str(p))
        except Exception as exc:
            raise ModelFileError(
                f"expected {p.name} to hold weights for this architecture; Keras could not load "
                f"them ({error_text(exc)}). Fix: build the model "
                "exactly as it was built when the weights were saved."
            ) from exc
    return tuple(
        "optimizer state not restored: the saved optimizer variables were skipped because this "
        "model's optimizer has not been built; training resumes with a fresh optimizer"
        for w in caught if "Skipping variable loading for optimizer" in str(w.message)
    )[:1]
