"""Load a model of any format and predict with it: every input and output described.

>>> from course_lib.persistence import loading
>>> loaded = loading.load("fraud_savedmodel")
>>> [str(t) for t in loaded.inputs], [str(t) for t in loaded.outputs]
(['features: float32 (None, 8)'], ['output_0: float32 (None, 1)'])
>>> loaded(fraud.test.x[:2]).round(2)
array([[0.13],
       [0.56]], dtype=float32)

A :class:`LoadedModel` takes what the model takes (one array of any rank, a dict of
arrays by input name, a list by position, text where an input is a string), checks it
against the model's inputs first (:func:`course_lib._inputs.check`), and returns one
array, or a dict by output name for a model with several outputs. The same call works for
a ``.keras`` or ``.h5`` file (``keras.models.load_model``) and a SavedModel directory
(``tf.saved_model.load``, its ``serving_default`` signature).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import _checks, _inputs, _tf
from course_lib.errors import (
    CourseLibError, InvalidInputError, ModelFileError, UnknownLayerError, UnsafeModelError,
)
from course_lib.persistence.archives import MAX_UNPACKED_BYTES, check_unpacked
from course_lib.persistence.formats import check_format, detect_format, error_text, quiet_logs

__all__ = ["BATCH_SIZE", "LoadedModel", "TensorInfo", "input_of", "inputs_of", "load",
           "load_savedmodel", "outputs_of", "predict_model"]

#: Rows per call when ``batch_size`` is not given (a SavedModel signature is called per batch).
BATCH_SIZE = 4096


@dataclass(frozen=True)
class TensorInfo:
    """Name, shape (None = any size) and dtype of one input or output.

    >>> spec = TensorInfo("features", (None, 2), "float32")
    >>> print(spec)
    features: float32 (None, 2)
    >>> spec.check([[1, 2]]).dtype
    dtype('float32')
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str

    def __str__(self) -> str:
        return f"{self.name}: {self.dtype} {self.shape}"

    def check(self, x: object) -> Any:
        """``x`` as this input takes it: this shape and dtype, finite numbers (or text)."""
        return _inputs.check(x, [self])


def _info(name: str, shape: Any, dtype: Any) -> TensorInfo:
    return TensorInfo(str(name), tuple(None if d is None else int(d) for d in shape),
                      str(getattr(dtype, "name", dtype)))


def inputs_of(model: Any) -> tuple[TensorInfo, ...]:
    """Every input of a ``keras.Model``, in the model's order."""
    return tuple(_info(t.name, t.shape, t.dtype) for t in model.inputs)


def input_of(model: Any) -> TensorInfo:
    """The first input of a ``keras.Model``."""
    return inputs_of(model)[0]


def outputs_of(model: Any) -> tuple[TensorInfo, ...]:
    """Every output of a ``keras.Model``, named as ``model.predict`` names them."""
    names = list(getattr(model, "output_names", None) or [])
    if len(names) != len(model.outputs):
        names = [f"output_{i}" for i in range(len(model.outputs))]
    return tuple(_info(n, t.shape, t.dtype) for n, t in zip(names, model.outputs))


def _as_dict(x: Any, specs: Sequence[TensorInfo]) -> dict[str, Any]:
    """Checked inputs by input name (a list is in input order)."""
    if isinstance(x, dict):
        return x
    if isinstance(x, list):
        return {s.name: v for s, v in zip(specs, x)}
    return {specs[0].name: x}


def _tensors(x: Any) -> Any:
    """Text inputs as tf.string (Keras refuses NumPy unicode arrays), numbers as they are."""
    if isinstance(x, dict):
        return {k: _tensors(v) for k, v in x.items()}
    if isinstance(x, np.ndarray) and x.dtype.kind in "US":
        return _tf.tf().constant(x)
    return x


def _outputs(out: Any, names: Sequence[str]) -> Any:
    """One array, or a dict by output name."""
    if isinstance(out, Mapping):
        found = {str(k): np.asarray(v) for k, v in out.items()}
        if len(found) == 1:
            return next(iter(found.values()))
        ordered = [n for n in names if n in found] + sorted(set(found) - set(names))
        return {n: found[n] for n in ordered}
    if isinstance(out, (list, tuple)):
        if len(out) == 1:
            return np.asarray(out[0])
        return {n: np.asarray(v) for n, v in zip(names, out)}
    return np.asarray(out)


def _batch_size(batch_size: object) -> int:
    if batch_size is None:
        return BATCH_SIZE
    return _checks.whole("batch_size", batch_size, minimum=1)


def _failed(exc: Exception, x: Any) -> CourseLibError:
    return CourseLibError(
        f"expected the model to predict on {_inputs.describe(x)}; TensorFlow failed "
        f"({error_text(exc)}). Fix: compare the inputs' shapes and dtypes with loaded.inputs, "
        "and pass them as in training."
    )


def predict_model(model: Any, x: object, *, batch_size: int | None = None, verbose: Any = 0,
                  **keras_kwargs: Any) -> Any:
    """``model.predict`` on checked inputs: one array, or a dict by output name.

    >>> predict_model(model, fraud.test.x[:2]).shape
    (2, 1)
    """
    specs = inputs_of(model)
    checked = _inputs.check(x, specs)
    size = _batch_size(batch_size)
    feed = _tensors(_as_dict(checked, specs) if len(specs) > 1 else checked)
    try:
        out = model.predict(feed, batch_size=size, verbose=verbose, **keras_kwargs)
    except TypeError:
        raise
    except Exception as exc:
        raise _failed(exc, checked) from exc
    return _outputs(out, [t.name for t in outputs_of(model)])


@dataclass(repr=False)
class LoadedModel:
    """A loaded model of any format with one way to predict: :meth:`predict` (or call it).

    >>> loaded = load("fraud_savedmodel")
    >>> loaded
    LoadedModel(format='savedmodel', path='fraud_savedmodel', input=features: float32 (None, 8), output=output_0: float32 (None, 1))
    >>> loaded.evaluate(fraud.test.x, fraud.test.y).recall > 0.8
    True

    ``inputs`` and ``outputs`` describe every tensor (``input``: the only input of a
    one-input model). ``raw`` is what the loader returned (a ``keras.Model``, or the
    object of ``tf.saved_model.load``) for anything beyond prediction.
    """

    path: Path
    format: str
    raw: Any
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    signature: Any = field(default=None)  # a SavedModel's serving_default

    @property
    def input(self) -> TensorInfo:
        """The input of a one-input model (a model with several: see ``inputs``)."""
        if len(self.inputs) != 1:
            raise InvalidInputError(
                f"expected a model with one input for .input; this one has {len(self.inputs)} "
                f"({', '.join(t.name for t in self.inputs)}). Fix: use .inputs.")
        return self.inputs[0]

    def __repr__(self) -> str:
        def shown(word: str, specs: tuple[TensorInfo, ...]) -> str:
            if len(specs) == 1:
                return f"{word}={specs[0]}"
            return f"{word}s=[{', '.join(map(str, specs))}]"

        return (f"LoadedModel(format={self.format!r}, path='{self.path}', "
                f"{shown('input', self.inputs)}, {shown('output', self.outputs)})")

    def predict(self, x: object, batch_size: int | None = None, verbose: Any = 0,
                **keras_kwargs: Any) -> Any:
        """The model's output for the rows of ``x`` (checked against the inputs first).

        ``x`` is one array (rows first, any rank), a dict of arrays by input name or a list
        in input order. The result is one array, or a dict by output name when the model has
        several outputs. ``batch_size`` (rows per call, 4096 unless given), ``verbose`` and
        the other keywords of ``keras.Model.predict`` go to Keras; a SavedModel's signature
        takes ``batch_size`` only (``verbose`` is accepted and prints nothing).

        >>> load("fraud_savedmodel").predict(fraud.test.x, batch_size=1024, verbose=0).shape
        (4001, 1)
        """
        if self.format != "savedmodel":
            return predict_model(self.raw, x, batch_size=batch_size, verbose=verbose,
                                 **keras_kwargs)
        if keras_kwargs:
            raise InvalidInputError(
                f"expected only batch_size= and verbose= for a SavedModel's predict; found "
                f"{', '.join(sorted(keras_kwargs))}. Those belong to keras.Model.predict: "
                "load a .keras file for them.")
        checked = _inputs.check(x, self.inputs)
        size = _batch_size(batch_size)
        tf = _tf.tf()
        names = [t.name for t in self.outputs]
        parts = []
        try:
            for batch in _inputs.batches(checked, size):
                feed = _as_dict(batch, self.inputs)
                out = self.signature(**{k: tf.constant(v) for k, v in feed.items()})
                parts.append({k: v.numpy() for k, v in out.items()})
        except Exception as exc:
            raise _failed(exc, checked) from exc
        return _outputs({n: np.concatenate([p[n] for p in parts]) for n in parts[0]}, names)

    def __call__(self, x: object, **kwargs: Any) -> Any:
        """The same as :meth:`predict`: ``loaded(x)``."""
        return self.predict(x, **kwargs)

    def evaluate(self, x: object, y: object, *, threshold: float = 0.5, task: str | None = None,
                 class_names: Sequence[str] | None = None, batch_size: int | None = None) -> Any:
        """The task's metrics on ``(x, y)``: :meth:`Metrics.from_predictions` of the predictions.

        The task comes from the labels and the output, or ``task=`` ("binary",
        "multiclass", "regression"); ``threshold`` applies to a binary classifier.

        >>> load("fraud.keras").evaluate(fraud.test.x, fraud.test.y).task
        'binary'
        """
        from course_lib.metrics import Metrics

        out = self.predict(x, batch_size=batch_size)
        if isinstance(out, dict):
            raise InvalidInputError(
                f"expected a model with one output to evaluate; this one has {len(out)} "
                f"({', '.join(out)}). Fix: measure one output, e.g. Metrics.from_predictions("
                f"y, loaded.predict(x)[{next(iter(out))!r}]).")
        return Metrics.from_predictions(y, out, threshold, task=task, class_names=class_names)


def _keras_error(exc: Exception, path: Path) -> CourseLibError:
    text = str(exc)
    if "Lambda" in text and "safe_mode" in text:
        return UnsafeModelError(
            f"expected a model without embedded Python code; {path.name} contains a Lambda "
            "layer, whose code would run on load, so safe mode refused it. Fix: replace the "
            "Lambda with a registered custom layer (keras.saving.register_keras_serializable), "
            "or, only for a file you made yourself, load(path, safe_mode=False)."
        )
    missing = re.search(r"Could not locate (?:class|function) '([^']+)'|Unknown layer: '?([\w>]+)",
                        text)
    if missing:
        name = missing.group(1) or missing.group(2)
        return UnknownLayerError(
            f"expected every layer class in {path.name} to be known to Keras; found '{name}', "
            "which is not registered in this process. Fix: import the module that defines it, "
            "decorated with @keras.saving.register_keras_serializable(), before loading (or "
            "pass custom_objects={'Name': Class})."
        )
    return ModelFileError(
        f"expected {path.name} to be a readable model file; Keras could not load it "
        f"({error_text(exc)}). The file may be "
        "corrupted, truncated or written by an incompatible version. Fix: save the model "
        "again, or restore a trusted copy."
    )


def _compile_error(exc: Exception, path: Path) -> ModelFileError:
    return ModelFileError(
        f"expected Keras to restore the training configuration (loss, metrics, optimizer) "
        f"saved in {path.name}; it could not ({error_text(exc)}). "
        "The architecture and the weights load fine: legacy files name losses and metrics "
        "in ways Keras 3 no longer reads (\"mse\"). Fix: load(path, compile=False) to predict, "
        "and model.compile(...) again before training further."
    )


def load_savedmodel(path: Path) -> Any:
    """``tf.saved_model.load(path)``, with a clear error for a damaged SavedModel."""
    tf = _tf.tf()
    try:
        return tf.saved_model.load(str(path))
    except Exception as exc:
        raise ModelFileError(
            f"expected a readable SavedModel at {path}; TensorFlow could not load it "
            f"({error_text(exc)}). A file inside it is corrupted "
            "or missing. Fix: export the model again, or restore a trusted copy."
        ) from exc


def _number_suffix(name: str) -> tuple[int, str]:
    match = re.search(r"(\d+)$", name)
    return (int(match.group(1)) if match else -1, name)


def _savedmodel_specs(obj: Any, sig: Any) -> tuple[tuple[TensorInfo, ...], tuple[TensorInfo, ...]]:
    """The signature's inputs (in the model's order where the export kept it) and outputs."""
    _args, kwargs = sig.structured_input_signature
    specs = dict(kwargs)
    order = list(specs)
    try:  # model.export also writes `serve`, whose arguments keep the model's input order
        positional = obj.serve.concrete_functions[0].structured_input_signature[0]
        names = [s.name for s in _tf.tf().nest.flatten(positional)]
        if sorted(names) == sorted(order):
            order = names
    except Exception:  # noqa: BLE001, S110 (another exporter: the signature's own order)
        pass
    inputs = tuple(_info(n, specs[n].shape.as_list(), specs[n].dtype) for n in order)
    outs = sig.structured_outputs
    outputs = tuple(_info(n, outs[n].shape.as_list(), outs[n].dtype)
                    for n in sorted(outs, key=_number_suffix))
    return inputs, outputs


def load(path: str | os.PathLike[str], format: str | None = None, *, safe_mode: bool = True,
         compile: bool = True, custom_objects: Mapping[str, Any] | None = None,
         max_unpacked_bytes: int | None = MAX_UNPACKED_BYTES) -> LoadedModel:
    """Load a model saved in any of :data:`~course_lib.persistence.FORMATS`, detecting the format.

    ``format`` is an expectation: a SavedModel passed where ``"keras"`` is expected
    (or the reverse) is refused with the way out. ``safe_mode`` and ``compile`` go to
    ``keras.models.load_model`` (``compile=False``: the architecture and weights only, for a
    legacy file whose loss Keras 3 cannot read); a SavedModel has neither.

    ``max_unpacked_bytes`` (1 GiB unless given; ``None``: no bound) bounds what a ``.keras``
    or ``.h5`` file may unpack to, checked before Keras opens it
    (:mod:`~course_lib.persistence.archives`): a small file that declares gigabytes of
    weights is refused with :class:`~course_lib.errors.ArchiveTooLargeError`.

    >>> loaded = load("fraud.keras")
    >>> loaded.format, loaded.input.shape
    ('keras', (None, 8))
    >>> load("fraud.h5", compile=False).raw.compiled
    False
    """
    p = Path(path)
    found = detect_format(p)
    if max_unpacked_bytes is not None:
        _checks.whole("max_unpacked_bytes", max_unpacked_bytes, minimum=1)
    if format is not None and check_format(format) != found:
        how = {"savedmodel": "load(path) without format=, or keras.layers.TFSMLayer(path)",
               "keras": "load(path) without format=", "h5": "load(path) without format="}[found]
        raise ModelFileError(
            f"expected a {format} model at {p}; found a {found} model. Fix: {how}.")
    if found == "savedmodel":
        obj = load_savedmodel(p)
        if "serving_default" not in obj.signatures:
            raise ModelFileError(
                f"expected a 'serving_default' signature in {p}; found {list(obj.signatures)}. "
                "Fix: export with model.export(path), which writes it."
            )
        sig = obj.signatures["serving_default"]
        inputs, outputs = _savedmodel_specs(obj, sig)
        return LoadedModel(path=p, format=found, raw=obj, inputs=inputs, outputs=outputs,
                           signature=sig)
    check_unpacked(p, max_unpacked_bytes=max_unpacked_bytes)  # before Keras unpacks anything
    keras = _tf.keras()

    def keras_load(with_compile: bool) -> Any:
        with quiet_logs():  # H5: "compiled metrics have yet to be built" is noise here
            return keras.models.load_model(str(p), safe_mode=safe_mode, compile=with_compile,
                                           custom_objects=custom_objects)

    try:
        model = keras_load(bool(compile))
    except Exception as exc:
        if compile:
            try:  # the same file without its training configuration: is that the problem?
                keras_load(False)
            except Exception:  # noqa: BLE001 (the file itself is the problem: say what)
                raise _keras_error(exc, p) from exc
            raise _compile_error(exc, p) from exc
        raise _keras_error(exc, p) from exc
    return LoadedModel(path=p, format=found, raw=model, inputs=inputs_of(model),
                       outputs=outputs_of(model))
