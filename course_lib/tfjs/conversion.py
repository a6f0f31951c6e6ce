"""Conversion to a TF.js graph model with the ``tensorflowjs`` converter, and what it wrote.

>>> from course_lib.tfjs import conversion
>>> conversion.QUANTIZATIONS
(None, 'float16', 'uint16', 'uint8')
>>> conversion.slug("uint8, dense only")
'uint8_dense_only'

:func:`convert` runs the converter (in this process, its log lines caught) from a
SavedModel to a TF.js **graph model**: the path that works with Keras 3. A
``keras.Model`` is first exported with :func:`course_lib.persistence.save`. Weights
can be stored as float32 (the default), float16, uint16 or uint8. The result is written to
a temporary sibling and renamed into place (:func:`course_lib._fs.staged`), with
:data:`~course_lib.tfjs.integrity.RECORD`: the sha256 and size of every file written,
which :func:`~course_lib.tfjs.predict`, :func:`~course_lib.tfjs.run`,
:func:`~course_lib.tfjs.verify` and the browser page check before running the model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import math
import os
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_lib import _checks, _display, _fs, _tf
from course_lib.errors import ConversionError, InvalidInputError
from course_lib.persistence import FileInfo, TensorInfo
from course_lib.tfjs.integrity import RECORD, read_model_json, record_files

__all__ = [
    "CONVERTER_NOISE", "LAYERS_PITFALL", "QUANTIZATIONS", "Conversion", "WeightInfo",
    "caught_output", "check_quantize", "convert", "exported", "input_order", "model_files",
    "read_model_json", "signature", "slug",
]

#: Weight types :func:`convert` accepts: None keeps float32.
QUANTIZATIONS: tuple[str | None, ...] = (None, "float16", "uint16", "uint8")

_SUPPORTED_OPS = (
    "https://github.com/tensorflow/tfjs/blob/master/tfjs-converter/docs/supported_ops.md"
)
#: Why a Keras 3 model written as a TF.js layers model is no way to the browser.
LAYERS_PITFALL = (
    "A Keras 3 model written as a TF.js *layers* model (tensorflowjs_converter "
    "--input_format=keras_keras, or converters.save_keras_model) is written without error, "
    "but TF.js 4.22's tf.loadLayersModel refuses it (\"An InputLayer should be passed either "
    "a batchInputShape or an inputShape\"): Keras 3 changed the layer config that TF.js reads."
)

#: Log lines of TF's graph optimiser (grappler) and the converter that say nothing to a learner.
CONVERTER_NOISE = re.compile(
    _tf.KNOWN_NOISE.pattern
    + r"|Number of eligible GPUs|single_machine\.cc|Starting new session"
    + r"|failed to lookup keras version from the file|this is likely a weight only file"
    + r"|You are saving your model as an HDF5 file"
)


@contextlib.contextmanager
def caught_output() -> Iterator[list[str]]:
    """Catch everything the converter prints into a list of lines, dropping known noise.

    TF's C++ logs go straight to file descriptors 1 and 2; Python prints, absl and
    ``tensorflow`` logger records and warnings are caught at the Python level.

    >>> with caught_output() as lines:
    ...     print("converted")
    >>> lines
    ['converted']
    """
    lines: list[str] = []
    raw: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    records: list[logging.LogRecord] = []
    text = io.StringIO()
    caught_warnings: list[warnings.WarningMessage] = []
    with tempfile.TemporaryFile(mode="w+b") as sink:
        try:
            for fd in (1, 2):
                os.dup2(sink.fileno(), fd)
            with _tf.logs_collected() as logged, contextlib.redirect_stdout(text), \
                    contextlib.redirect_stderr(text), warnings.catch_warnings(record=True) as recorded:
                warnings.simplefilter("always")
                caught_warnings, records = recorded, logged
                yield lines
        finally:
            raw += [f"{r.levelname}: {r.getMessage()}" for r in records]
            for fd, dup in saved.items():
                os.dup2(dup, fd)
                os.close(dup)
            sink.seek(0)
            raw += sink.read().decode(errors="replace").splitlines()
            raw += text.getvalue().splitlines()
            raw += [f"{w.category.__name__}: {w.message}" for w in caught_warnings]
            kept = (x.strip() for x in raw if x.strip() and not CONVERTER_NOISE.search(x))
            lines += list(dict.fromkeys(kept))  # each distinct line once, in order


# -- what a conversion wrote ------------------------------------------------------------------

@dataclass(frozen=True)
class WeightInfo:
    """One weight tensor of a TF.js model: how it is stored and, if quantized, its step size.

    >>> WeightInfo("dense/kernel", (8, 256), "uint8", step=0.002, low=-0.3).size
    2048
    """

    name: str
    shape: tuple[int, ...]
    stored_as: str
    step: float | None = None
    low: float | None = None

    @property
    def size(self) -> int:
        """Number of values."""
        return int(math.prod(self.shape))


@dataclass(frozen=True, repr=False)
class Conversion(_display.Report):
    """What :func:`convert` (or :func:`course_lib.teaching.save_layers_model`) wrote.

    ``size_bytes`` is the model a browser downloads (model.json and the weight shards;
    the record of their sha256, :data:`~course_lib.tfjs.integrity.RECORD`, is listed in
    ``files`` but not counted), ``weight_bytes`` the shards alone.

    >>> done = convert(model, "web/fraud", quantize="float16")
    >>> done.format, done.label, done.ok
    ('graph-model', 'float16', True)
    """

    path: Path
    format: str
    quantize: str | None
    files: tuple[FileInfo, ...]
    weights: tuple[WeightInfo, ...]
    converter_version: str
    seconds: float
    log: tuple[str, ...] = ()
    inputs: tuple[TensorInfo, ...] = ()
    outputs: tuple[TensorInfo, ...] = ()

    @classmethod
    def read(cls, path: Path, quantize: str | None = None, seconds: float = 0.0,
             log: Sequence[str] = (), converter_version: str = "") -> Conversion:
        """The converted model in ``path``, described from its model.json and its files."""
        meta = read_model_json(path)
        inputs, outputs = signature(meta)
        return cls(path=path, format=meta.get("format", "graph-model"), quantize=quantize,
                   files=model_files(path), weights=_weights(meta.get("weightsManifest", [])),
                   converter_version=converter_version, seconds=seconds, log=tuple(log),
                   inputs=tuple(t for _, t in inputs), outputs=tuple(t for _, t in outputs))

    @property
    def label(self) -> str:
        """float32, float16 or uint8 (the weights' storage type)."""
        return self.quantize or "float32"

    @property
    def stored_as(self) -> str:
        """The quantized weight types found: ``float32`` (none), ``uint8``, ``uint8 (partly)``...

        Integer constants of the graph (a concatenation's axis...) are not quantization.
        """
        kinds = sorted({w.stored_as for w in self.weights} & {"float16", "uint8", "uint16"})
        if not kinds:
            return "float32"
        partly = any(w.stored_as == "float32" for w in self.weights)
        return "+".join(kinds) + (" (partly)" if partly else "")

    @property
    def size_bytes(self) -> int:
        """model.json plus every weight shard."""
        return sum(f.size_bytes for f in self.files if f.path != RECORD)

    @property
    def weight_bytes(self) -> int:
        """The weight shards only."""
        return sum(f.size_bytes for f in self.files if f.path.endswith(".bin"))

    @property
    def ok(self) -> bool:
        """A model.json and its weights were written."""
        return any(f.path == "model.json" for f in self.files)

    @property
    def title(self) -> str:  # type: ignore[override]
        by = f" by tensorflowjs {self.converter_version}" if self.converter_version else ""
        head = (f"{self.format} ({self.label} weights) in {self.path.as_posix()}: "
                f"{_display.size(self.size_bytes)} in total, weights "
                f"{_display.size(self.weight_bytes)}, converted in "
                f"{_display.duration(self.seconds)}{by}")
        return head if not self.inputs else f"{head}\n{self.signature_text()}"

    def signature_text(self) -> str:
        """What the graph model takes and returns, as its signature says (rows first, n any).

        >>> print(conversion.signature_text())
        takes features: float32 (n, 8); returns output_0: float32 (n, 1)
        """
        def shown(ts: tuple[TensorInfo, ...]) -> str:
            return ", ".join(f"{t.name}: {t.dtype} {_shape_text(t.shape)}" for t in ts) or "nothing"
        return f"takes {shown(self.inputs)}; returns {shown(self.outputs)}"

    @property
    def verdict(self) -> str:
        if not self.ok:
            return f"FAIL: no model.json in {self.path.as_posix()}"
        shards = _display.plural(sum(f.path.endswith(".bin") for f in self.files), "weight shard")
        return (f"OK: a browser downloads {_display.size(self.size_bytes)} "
                f"(model.json and {shards})")

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Each file written: its size and what it holds."""
        return (["file", "size", "what it holds"],
                [[f.path, _display.size(f.size_bytes), f.role] for f in self.files])

    def weights_table(self) -> str:
        """Each weight tensor: shape, storage type and, for uint8, the step between stored values.

        >>> print(conversion.weights_table())   # the lessons' model converted with uint8 weights
        weight                                        shape    stored as  step     values from .. to
        unknown                                       [1, 8]   uint8      3.92     0.0368 .. 998
        ...scaling.../truediv_recip  [1, 8]   uint8      0.041    0.00158 .. 10.5
        ...dense_0.../Cast/ReadVariableOp  [8, 16]  uint8      0.00532  -0.765 .. 0.59
        ...dense_0.../BiasAdd/ReadVariableOp  [16]     uint8      0.00272  -0.232 .. 0.463
        ...fraud_probability.../Cast/ReadVariableOp  [16, 1]  uint8      0.00597  -0.901 .. 0.621
        ...fraud_probability.../Add/ReadVariableOp  [1]      uint8      exact    -0.0611

        The names are the graph's (``...``: where Keras numbered them); "unknown" is the
        scaling layer's means, a constant that lost its name when the graph was optimised.
        """
        rows = []
        for w in self.weights:
            name = w.name if len(w.name) <= 44 else "..." + w.name[-41:]
            if w.size == 1 and w.low is not None:  # one value: stored exactly as the minimum
                step, span = "exact", f"{w.low:.3g}"
            elif w.step is not None and w.low is not None:
                levels = 255 if w.stored_as == "uint8" else 65535
                step, span = f"{w.step:.3g}", f"{w.low:.3g} .. {w.low + w.step * levels:.3g}"
            else:
                step, span = ("exact", "") if w.stored_as == "float32" else ("3 digits", "")
            rows.append([name, str(list(w.shape)), w.stored_as, step, span])
        return _display.text_table(["weight", "shape", "stored as", "step", "values from .. to"],
                                   rows)


def model_files(root: Path) -> tuple[FileInfo, ...]:
    """Every file of a TF.js model folder, with its size and what it holds."""
    def role(name: str) -> str:
        if name == "model.json":
            return "the model's structure and the list of its weights"
        if name == RECORD:
            return "the sha256 and size of each file, checked before TF.js runs the model"
        return "weights (one shard)" if name.endswith(".bin") else ""
    return tuple(FileInfo(rel, (root / rel).stat().st_size, role(Path(rel).name))
                 for rel in _fs.walk(root)[0])


def _weights(manifest: Sequence[Mapping[str, Any]]) -> tuple[WeightInfo, ...]:
    out = []
    for group in manifest:
        for w in group["weights"]:
            q = w.get("quantization") or {}
            out.append(WeightInfo(name=w["name"], shape=tuple(int(s) for s in w["shape"]),
                                  stored_as=q.get("dtype", w["dtype"]),
                                  step=q.get("scale"), low=q.get("min")))
    return tuple(out)


#: TensorFlow's dtype names in a graph model's signature, as NumPy / Keras spell them.
_DTYPES = {"DT_FLOAT": "float32", "DT_DOUBLE": "float64", "DT_HALF": "float16",
           "DT_INT32": "int32", "DT_INT64": "int64", "DT_INT16": "int16", "DT_INT8": "int8",
           "DT_UINT8": "uint8", "DT_BOOL": "bool", "DT_STRING": "string"}


def _shape_text(shape: tuple[int | None, ...] | None) -> str:
    if shape is None:
        return "(any shape)"
    dims = ["n" if i == 0 and d is None else "any" if d is None else str(d)
            for i, d in enumerate(shape)]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _tensor(key: str, spec: Mapping[str, Any]) -> TensorInfo:
    shape_spec = spec.get("tensorShape") or {}
    shape = None if shape_spec.get("unknownRank") else tuple(
        None if int(d.get("size", -1)) < 0 else int(d["size"]) for d in shape_spec.get("dim", []))
    dtype = _DTYPES.get(str(spec.get("dtype")), str(spec.get("dtype", "float32")).lower())
    return TensorInfo(key.split(":")[0], shape, dtype)  # type: ignore[arg-type]


def _is_resource(spec: Mapping[str, Any]) -> bool:
    """A lookup table's handle: TF.js feeds it itself (from the model's initializer)."""
    return spec.get("dtype") == "DT_RESOURCE" or "resourceId" in spec


def _natural(text: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text)]


def signature(meta: Mapping[str, Any]) -> tuple[tuple[tuple[str, TensorInfo], ...],
                                                 tuple[tuple[str, TensorInfo], ...]]:
    """The inputs and outputs of a graph model's model.json: ``(signature key, TensorInfo)`` pairs.

    Inputs come in the file's order (:func:`convert` writes the Keras model's), outputs in
    the graph's (``Identity``, ``Identity_1``...: the order Keras returns them). A name is
    its key without TF's ``:0`` tensor suffix.

    >>> ins, outs = signature({"signature": {"inputs": {"mean:0": {"dtype": "DT_FLOAT",
    ...     "tensorShape": {"dim": [{"size": "-1"}, {"size": "10"}]}}}, "outputs": {}}})
    >>> key, spec = ins[0]
    >>> key, spec.name, spec.shape, spec.dtype
    ('mean:0', 'mean', (None, 10), 'float32')
    """
    sig = meta.get("signature") or {}
    inputs = tuple((k, _tensor(k, v)) for k, v in (sig.get("inputs") or {}).items()
                   if not _is_resource(v))
    outs = sorted((sig.get("outputs") or {}).items(),
                  key=lambda kv: _natural(str(kv[1].get("name", kv[0]))))
    return inputs, tuple((k, _tensor(k, v)) for k, v in outs)


def slug(text: str) -> str:
    """A folder name for a setting's label: lower case, words joined by ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "model"


# -- checks of the arguments and the source ----------------------------------------------------

def check_quantize(quantize: object) -> str | None:
    """``quantize`` if it is one of :data:`QUANTIZATIONS`, else a clear error.

    >>> check_quantize("float16")
    'float16'
    """
    if quantize is None or (isinstance(quantize, str) and quantize in QUANTIZATIONS):
        return quantize  # type: ignore[return-value]
    hint = " (float32 is the default: pass quantize=None)" if quantize == "float32" else ""
    raise InvalidInputError(
        f"expected quantize to be None, 'float16', 'uint16' or 'uint8'; found {quantize!r}"
        f"{hint}. "
        "Fix: None keeps float32 weights, 'float16' and 'uint16' halve them, 'uint8' quarters "
        "them."
    )


def _check_patterns(weights: object) -> tuple[str, ...]:
    patterns = tuple(weights) if isinstance(weights, (list, tuple)) else (weights,)
    if not patterns:
        raise InvalidInputError(
            "expected weights to be a name pattern or a list of them, such as '*' or "
            "['*/dense_*']; found an empty list. Fix: use '*' for every weight."
        )
    return tuple(_checks.text("weights", p, example="*/dense_*") for p in patterns)


def _saved_model_dir(source: Path) -> Path:
    if not source.exists():
        raise ConversionError(
            f"expected a SavedModel directory at {source}; nothing is there. Fix: check the path "
            "(relative paths start from the notebook's folder), or export the model first with "
            "persistence.save(model, 'fraud_savedmodel'), or pass the keras.Model itself."
        )
    if source.is_file():
        kind = {".keras": "a .keras file", ".h5": "an HDF5 file", ".hdf5": "an HDF5 file"}.get(
            source.suffix.lower(), "a file")
        raise ConversionError(
            f"expected a SavedModel directory; {source} is {kind}. Converting a Keras file gives a "
            f"TF.js layers model, and {LAYERS_PITFALL} Fix: load it and pass the model "
            "(convert(persistence.load(path).raw, out_dir)), or export a SavedModel and pass "
            "its directory: convert() writes a graph model, which TF.js loads."
        )
    if not (source / "saved_model.pb").is_file():
        found = sorted(p.name for p in source.iterdir())[:6]
        raise ConversionError(
            f"expected a SavedModel directory containing saved_model.pb; {source} holds "
            f"{found or 'nothing'}. Fix: pass the directory model.export() or "
            "persistence.save(model, 'dir') wrote (not its parent), or the keras.Model itself."
        )
    return source


def _conversion_error(exc: Exception, source: Path) -> ConversionError:
    text = str(exc).strip()
    if "Unsupported Ops" in text:
        ops = ", ".join(sorted(x.strip() for x in text.splitlines()[-1].split(",") if x.strip()))
        return ConversionError(
            f"expected every TensorFlow op in {source.name} to exist in TF.js; these do not: "
            f"{ops}. TF.js would fail at load time, so the converter refused. Fix: rewrite that "
            f"part of the model with supported ops (list: {_SUPPORTED_OPS}), or compute it "
            "outside the model."
        )
    if "Signature" in text and "does not exist" in text:
        return ConversionError(
            f"expected a 'serving_default' signature in {source}; the converter said: "
            f"{text.splitlines()[0]} Fix: export with model.export(dir) or "
            "persistence.save(model, dir)."
        )
    first = text.splitlines()[0] if text else type(exc).__name__
    return ConversionError(
        f"expected the tensorflowjs converter to convert {source}; it failed with "
        f"{type(exc).__name__}: {first} Fix: check that the directory is a complete SavedModel "
        "(export it again), then retry."
    )


@contextlib.contextmanager
def exported(source: Any, near: Path) -> Iterator[Path]:
    """The SavedModel directory of ``source``: the path itself, or a temporary export of a model.

    The export goes to a hidden folder inside ``near`` and is deleted after the block.
    """
    if isinstance(source, (str, os.PathLike)):
        yield _saved_model_dir(Path(source))
        return
    keras = _tf.keras()
    if not isinstance(source, keras.Model):
        raise InvalidInputError(
            f"expected a keras.Model or the path of a SavedModel directory; found "
            f"{type(source).__name__}. Fix: pass the trained model, or the folder "
            "persistence.save(model, 'fraud_savedmodel') wrote."
        )
    from course_lib import persistence

    near.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=near) as export:
        yield persistence.save(source, Path(export) / "savedmodel").path


def input_order(source: Any) -> list[str] | None:
    """The input names of a Keras model (or of a Keras SavedModel's ``serve``), in its order.

    None when the order is unknown (a SavedModel without Keras's ``serve`` endpoint, or
    inputs taken as a dict).
    """
    if isinstance(source, (str, os.PathLike)):
        tf = _tf.tf()
        with caught_output():
            serve = getattr(tf.saved_model.load(str(source)), "serve", None)
        specs = getattr(serve, "input_signature", None)
        if not specs:
            return None
        flat = specs[0] if len(specs) == 1 and isinstance(specs[0], (list, tuple)) else specs
        if not all(hasattr(s, "name") and s.name for s in flat):
            return None
        return [str(s.name) for s in flat]
    return [str(t.name).split(":")[0] for t in source.inputs]


def _write_input_order(folder: Path, order: Sequence[str] | None) -> None:
    """Rewrite model.json so the signature lists the inputs in the Keras model's order.

    The converter writes them in no particular order, and TF.js matches a list of tensors
    (``model.predict([a, b])``) to that order: two inputs of the same shape would be
    silently swapped.
    """
    file = folder / "model.json"
    meta = json.loads(file.read_text(encoding="utf-8"))
    inputs = (meta.get("signature") or {}).get("inputs") or {}
    by_name = {k.split(":")[0]: k for k, v in inputs.items() if not _is_resource(v)}
    if len(by_name) < 2 or not order or set(by_name) != set(order) or list(by_name) == list(order):
        return
    rest = {k: v for k, v in inputs.items() if _is_resource(v)}
    meta["signature"]["inputs"] = {**{by_name[n]: inputs[by_name[n]] for n in order}, **rest}
    file.write_text(json.dumps(meta), encoding="utf-8")


def _sorted_attrs(value: Any) -> Any:
    """``value`` with every "attr" map of the graph's nodes in key order (the rest as is)."""
    if isinstance(value, dict):
        return {k: (dict(sorted((a, _sorted_attrs(v)) for a, v in value[k].items()))
                    if k == "attr" and isinstance(value[k], dict) else _sorted_attrs(value[k]))
                for k in value}
    if isinstance(value, list):
        return [_sorted_attrs(v) for v in value]
    return value


def _write_sorted_attrs(folder: Path) -> None:
    """Rewrite model.json with each node's attributes in key order.

    The converter writes them in the order of a protobuf map, which changes from one process
    to the next: the same model gave a model.json of the same size but other bytes, and so a
    gzip download a few bytes larger or smaller each run. Sorted, the same model gives the
    same file. Only the order of the attributes changes, nothing TF.js reads.
    """
    file = folder / "model.json"
    meta = json.loads(file.read_text(encoding="utf-8"))
    if "modelTopology" in meta:
        meta["modelTopology"] = _sorted_attrs(meta["modelTopology"])
        file.write_text(json.dumps(meta), encoding="utf-8")


# -- the conversion -------------------------------------------------------------------------

def convert(source: Any, out_dir: str | os.PathLike[str], quantize: str | None = None, *,
            weights: str | Sequence[str] = "*", overwrite: bool = False) -> Conversion:
    """Convert a Keras model or a SavedModel directory to a TF.js graph model in ``out_dir``.

    ``quantize`` stores the weights as float16, uint16 or uint8 (None keeps float32);
    ``weights`` limits it to the weights whose names match these patterns
    (``fnmatch``, e.g. ``"*/dense_*"``). The model is written to a temporary
    sibling and renamed into place, with :data:`~course_lib.tfjs.integrity.RECORD`
    (the sha256 and size of every file written: it catches a changed, missing or
    added file, not someone who rewrites the files and the record).

    >>> done = convert(model, "web/fraud_uint8", quantize="uint8")
    >>> done.format, done.label
    ('graph-model', 'uint8')
    """
    q = check_quantize(quantize)
    patterns = _check_patterns(weights)
    target = Path(out_dir)
    start = time.perf_counter()
    with exported(source, target.parent) as src, \
            _fs.staged(target, overwrite=overwrite, error=ConversionError) as tmp:
        tfjs = _tf.tensorflowjs()
        from tensorflowjs.converters import tf_saved_model_conversion_v2 as v2

        dtype_map = {q: list(patterns)} if q else None
        with caught_output() as log:
            try:
                v2.convert_tf_saved_model(str(src), str(tmp), quantization_dtype_map=dtype_map)
            except Exception as exc:  # any converter failure becomes a ConversionError
                raise _conversion_error(exc, src) from exc
        _write_sorted_attrs(tmp)
        if len(Conversion.read(tmp).inputs) > 1:
            _write_input_order(tmp, input_order(source if isinstance(source, _tf.keras().Model)
                                                else src))
        done = Conversion.read(tmp, q, log=log, converter_version=tfjs.__version__)
        if q and not any(w.stored_as == q for w in done.weights):
            names = ", ".join(w.name for w in done.weights[:4])
            raise ConversionError(
                f"expected weights={list(patterns)} to match some weight names to store as {q}; "
                f"none matched, so nothing would be quantized. The weights are named: {names}... "
                "Fix: use '*' for every weight, or a pattern such as '*/dense_*'."
            )
        record_files(tmp)
    return dataclasses.replace(done, path=target, files=model_files(target),
                               seconds=time.perf_counter() - start)
