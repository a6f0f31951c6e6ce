"""Convert a model to TensorFlow.js, run it in the real TF.js runtime, check parity.

>>> from course_lib import tfjs
>>> tfjs.QUANTIZATIONS
(None, 'float16', 'uint8')
>>> done = tfjs.convert(model, "web/fraud", quantize="float16")     # doctest: +SKIP
>>> scores = tfjs.predict("web/fraud", fraud.test.x)                # doctest: +SKIP
>>> tfjs.verify("web/fraud", model, fraud.test.x, fraud.test.y).ok  # doctest: +SKIP
True

* :func:`convert` runs the ``tensorflowjs`` converter (in this process, its log
  lines caught) from a SavedModel to a TF.js **graph model**: the path that works
  with Keras 3. A ``keras.Model`` is first exported with
  :func:`course_lib.persistence.save`. Weights can be stored as float32 (the
  default), float16 or uint8.
* :func:`predict` / :func:`run` score rows in the real TF.js runtime:
  ``@tensorflow/tfjs`` in Node, started as a subprocess on
  ``course_lib/tfjs_predict.js``. Features and scores travel through float32
  files, the request through stdin: nothing on the command line. Node's own
  ``file://`` loading needs ``@tensorflow/tfjs-node`` (a native build); the
  script reads ``model.json`` and the weight shards itself.
* :func:`verify` compares the TF.js metrics with the source model's
  (:func:`course_lib.metrics.compare`, 0.02 = the seed's 2 points) and reports
  the largest prediction difference; :func:`gate` adds a size budget;
  :func:`compare_quantizations` does all of it for several weight types.
* :func:`save_layers_model` and :func:`load_layers_model` show the pitfall: a
  Keras 3 model written as a TF.js *layers* model, which TF.js 4.22 refuses.

Where ``@tensorflow/tfjs`` is looked for (:func:`node_modules`): the folder in
``COURSE_LIB_NODE_MODULES`` if set, else the repository checkout's
``node_modules`` (made by ``npm ci``), else each folder of ``NODE_PATH``.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from course_lib import _tf
from course_lib.errors import ConversionError, InvalidInputError, TfjsRuntimeError
from course_lib.metrics import Comparison, Metrics, compare
from course_lib.persistence import FileInfo, ModelFileError
from course_lib.tfjs.runtime import INSTALL_HINT, TFJS_VERSION, find_node_modules, node_modules

__all__ = [
    "BROWSER_BUDGET_BYTES",
    "CONVERTER_NOISE",
    "INTERACTION_BUDGET_SECONDS",
    "QUANTIZATIONS",
    "SEED_TOLERANCE",
    "TFJS_VERSION",
    "Conversion",
    "ConversionError",
    "Gate",
    "LayersLoad",
    "NodeRun",
    "Parity",
    "Quantization",
    "QuantizationReport",
    "TfjsRuntimeError",
    "WeightInfo",
    "compare_quantizations",
    "convert",
    "gate",
    "load_layers_model",
    "find_node_modules",
    "node_modules",
    "predict",
    "run",
    "save_layers_model",
    "verify",
]

#: Weight types :func:`convert` accepts: None keeps float32.
QUANTIZATIONS: tuple[str | None, ...] = (None, "float16", "uint8")
#: The seed's rule: after conversion every metric within 1 to 2 points (0.02) of the original.
SEED_TOLERANCE = 0.02
#: Default download budget of the lessons' browser page: 100 KB for model.json and its weights.
BROWSER_BUDGET_BYTES = 100 * 1024
#: A single-row prediction faster than this feels instantaneous in a web page.
INTERACTION_BUDGET_SECONDS = 0.1
_LABELS = ("source (Python)", "TF.js")

_SCRIPT = Path(__file__).with_name("runtime.js")
_INSTALL = INSTALL_HINT
_SUPPORTED_OPS = (
    "https://github.com/tensorflow/tfjs/blob/master/tfjs-converter/docs/supported_ops.md"
)
_LAYERS_PITFALL = (
    "A Keras 3 model written as a TF.js *layers* model (tensorflowjs_converter "
    "--input_format=keras_keras, or converters.save_keras_model) is written without error, "
    "but TF.js 4.22's tf.loadLayersModel refuses it (\"An InputLayer should be passed either "
    "a batchInputShape or an inputShape\"): Keras 3 changed the layer config that TF.js reads."
)


# -- quiet converter ------------------------------------------------------------------------

#: Log lines of TF's graph optimiser (grappler) and the converter that say nothing to a learner.
CONVERTER_NOISE = re.compile(
    _tf.KNOWN_NOISE.pattern
    + r"|Number of eligible GPUs|single_machine\.cc|Starting new session"
    + r"|failed to lookup keras version from the file|this is likely a weight only file"
    + r"|You are saving your model as an HDF5 file"
)


def _tfjs() -> ModuleType:
    """``tensorflowjs``, imported without noise (it also imports JAX and TF Decision Forests)."""
    # TF-DF greets every importer: on stderr in a terminal, as an HTML block in a notebook.
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    _tf.tf()
    return _tf._import_quietly("tensorflowjs", "tf")


@contextlib.contextmanager
def _caught() -> Iterator[list[str]]:
    """Catch everything the converter prints into a list of lines, dropping known noise.

    TF's C++ logs go straight to file descriptors 1 and 2; Python prints, absl and
    ``tensorflow`` logger records and warnings are caught at the Python level.
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


# -- conversion ----------------------------------------------------------------------------

@dataclass(frozen=True)
class WeightInfo:
    """One weight tensor of a TF.js model: how it is stored and, if quantized, its step size."""

    name: str
    shape: tuple[int, ...]
    stored_as: str
    step: float | None = None
    low: float | None = None

    @property
    def size(self) -> int:
        """Number of values."""
        return int(math.prod(self.shape))


@dataclass(frozen=True)
class Conversion:
    """What :func:`convert` (or :func:`save_layers_model`) wrote.

    ``size_bytes`` is what a browser downloads (model.json and the weight shards),
    ``weight_bytes`` the shards alone.
    """

    path: Path
    format: str
    quantize: str | None
    files: tuple[FileInfo, ...]
    weights: tuple[WeightInfo, ...]
    converter_version: str
    seconds: float
    log: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """float32, float16 or uint8 (the weights' storage type)."""
        return self.quantize or "float32"

    def __repr__(self) -> str:
        return (f"Conversion({self.path.as_posix()!r}, format={self.format!r}, "
                f"weights={self.label!r}, size_bytes={self.size_bytes})")

    @property
    def size_bytes(self) -> int:
        """model.json plus every weight shard."""
        return sum(f.size_bytes for f in self.files)

    @property
    def weight_bytes(self) -> int:
        """The weight shards only."""
        return sum(f.size_bytes for f in self.files if f.path.endswith(".bin"))

    def __str__(self) -> str:
        head = (f"{self.format} ({self.label} weights) in {self.path.as_posix()}: "
                f"{_kb(self.size_bytes)} in total, weights {_kb(self.weight_bytes)}, "
                f"converted in {self.seconds:.2f} s by tensorflowjs {self.converter_version}")
        lines = [head]
        lines += [f"  {f.path:<24} {_kb(f.size_bytes):>10}  {f.role}" for f in self.files]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cell = 'style="padding:2px 10px;text-align:right"'
        rows = "".join(f"<tr><td><code>{html.escape(f.path)}</code></td>"
                       f"<td {cell}>{_kb(f.size_bytes)}</td><td>{html.escape(f.role)}</td></tr>"
                       for f in self.files)
        return (f"<p><b>{html.escape(self.format)}</b> ({self.label} weights) in "
                f"<code>{html.escape(self.path.as_posix())}</code>: {_kb(self.size_bytes)} in "
                f"total, weights {_kb(self.weight_bytes)}; tensorflowjs "
                f"{html.escape(self.converter_version)}</p>"
                f"<table><tr><th>file</th><th>size</th><th>what it holds</th></tr>{rows}</table>")

    def weights_table(self) -> str:
        """Each weight tensor: shape, storage type and, for uint8, the step between stored values.

        >>> print(conversion.weights_table())   # doctest: +SKIP
        weight                                   shape       stored as        step
        ...
        """
        lines = [f"{'weight':<44} {'shape':<11} {'stored as':<9} {'step':>9}  values from .. to"]
        for w in self.weights:
            name = w.name if len(w.name) <= 44 else "..." + w.name[-41:]
            if w.size == 1 and w.low is not None:  # one value: stored exactly as the minimum
                step, span = "exact", f"{w.low:.3g}"
            elif w.step is not None and w.low is not None:
                levels = 255 if w.stored_as == "uint8" else 65535
                step, span = f"{w.step:.3g}", f"{w.low:.3g} .. {w.low + w.step * levels:.3g}"
            else:
                step, span = ("exact", "") if w.stored_as == "float32" else ("3 digits", "")
            lines.append(f"{name:<44} {list(w.shape)!s:<11} {w.stored_as:<9} {step:>9}  {span}")
        return "\n".join(lines)


def _kb(n: int) -> str:
    return f"{n} bytes" if n < 1024 else f"{n / 1024:.1f} KB"


def _check_quantize(quantize: object) -> str | None:
    if quantize is None or (isinstance(quantize, str) and quantize in QUANTIZATIONS):
        return quantize  # type: ignore[return-value]
    hint = " (float32 is the default: pass quantize=None)" if quantize == "float32" else ""
    raise InvalidInputError(
        f"expected quantize to be None, 'float16' or 'uint8'; found {quantize!r}{hint}. "
        "Fix: None keeps float32 weights, 'float16' halves them, 'uint8' quarters them."
    )


def _check_patterns(weights: str | Sequence[str]) -> tuple[str, ...]:
    patterns = (weights,) if isinstance(weights, str) else tuple(weights)
    if not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise InvalidInputError(
            f"expected weights to be a name pattern or a list of them, such as '*' or "
            f"['*/dense_*']; found {weights!r}."
        )
    return patterns


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
            f"TF.js layers model, and {_LAYERS_PITFALL} Fix: load it and pass the model "
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


def _files(root: Path) -> tuple[FileInfo, ...]:
    def role(name: str) -> str:
        if name == "model.json":
            return "the model's structure and the list of its weights"
        return "weights (one shard)" if name.endswith(".bin") else ""
    return tuple(FileInfo(f.relative_to(root).as_posix(), f.stat().st_size, role(f.name))
                 for f in sorted(root.rglob("*")) if f.is_file())


def _weights(manifest: Sequence[Mapping[str, Any]]) -> tuple[WeightInfo, ...]:
    out = []
    for group in manifest:
        for w in group["weights"]:
            q = w.get("quantization") or {}
            out.append(WeightInfo(name=w["name"], shape=tuple(int(s) for s in w["shape"]),
                                  stored_as=q.get("dtype", w["dtype"]),
                                  step=q.get("scale"), low=q.get("min")))
    return tuple(out)


def _read_model_json(path: Path) -> dict[str, Any]:
    file = path / "model.json"
    if not file.is_file():
        found = sorted(p.name for p in path.iterdir())[:6] if path.is_dir() else None
        where = f"{path} holds {found or 'nothing'}" if path.is_dir() else f"{path} does not exist"
        raise ModelFileError(
            f"expected a TF.js model folder with model.json; {where}. Fix: convert a model "
            "first (tfjs.convert(model, path)) and pass the folder it wrote."
        )
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(
            f"expected {file} to be TF.js's JSON model description; it is not readable JSON "
            f"({exc}). Fix: convert the model again."
        ) from exc


def _describe(out: Path, quantize: str | None, seconds: float, log: Sequence[str],
              version: str) -> Conversion:
    meta = _read_model_json(out)
    return Conversion(path=out, format=meta.get("format", "graph-model"), quantize=quantize,
                      files=_files(out), weights=_weights(meta.get("weightsManifest", [])),
                      converter_version=version, seconds=seconds, log=tuple(log))


@contextlib.contextmanager
def _staging(out_dir: Path, overwrite: bool) -> Iterator[Path]:
    """A temporary sibling of ``out_dir``, renamed into place when the block succeeds."""
    if out_dir.exists() and not overwrite:
        raise ConversionError(
            f"expected {out_dir} not to exist yet; it does. Fix: pass overwrite=True to replace "
            "it, or choose another folder."
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        yield staging / "model"
        if out_dir.exists():
            shutil.rmtree(out_dir) if out_dir.is_dir() else out_dir.unlink()
        os.replace(staging / "model", out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def _saved_model(source: Any, near: Path) -> Iterator[Path]:
    """The SavedModel directory of ``source``: the path itself, or a temporary export of a model."""
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


def convert(source: Any, out_dir: str | os.PathLike[str], quantize: str | None = None, *,
            weights: str | Sequence[str] = "*", overwrite: bool = False) -> Conversion:
    """Convert a Keras model or a SavedModel directory to a TF.js graph model in ``out_dir``.

    ``quantize`` stores the weights as float16 or uint8 (None keeps float32);
    ``weights`` limits it to the weights whose names match these patterns
    (``fnmatch``, e.g. ``"*/dense_*"``). The model is written to a temporary
    sibling and renamed into place.

    >>> done = convert(model, "web/fraud_uint8", quantize="uint8")   # doctest: +SKIP
    >>> done.format, done.label                                      # doctest: +SKIP
    ('graph-model', 'uint8')
    """
    q = _check_quantize(quantize)
    patterns = _check_patterns(weights)
    target = Path(out_dir)
    start = time.perf_counter()
    with _saved_model(source, target.parent) as src, _staging(target, overwrite) as tmp:
        tfjs = _tfjs()
        from tensorflowjs.converters import tf_saved_model_conversion_v2 as v2

        dtype_map = {q: list(patterns)} if q else None
        with _caught() as log:
            try:
                v2.convert_tf_saved_model(str(src), str(tmp), quantization_dtype_map=dtype_map)
            except Exception as exc:  # any converter failure becomes a ConversionError
                raise _conversion_error(exc, src) from exc
        done = _describe(tmp, q, time.perf_counter() - start, log, tfjs.__version__)
        if q and not any(w.stored_as == q for w in done.weights):
            names = ", ".join(w.name for w in done.weights[:4])
            raise ConversionError(
                f"expected weights={list(patterns)} to match some weight names to store as {q}; "
                f"none matched, so nothing would be quantized. The weights are named: {names}... "
                "Fix: use '*' for every weight, or a pattern such as '*/dense_*'."
            )
    return Conversion(path=target, format=done.format, quantize=q, files=_files(target),
                      weights=done.weights, converter_version=done.converter_version,
                      seconds=time.perf_counter() - start, log=done.log)


def save_layers_model(model: Any, out_dir: str | os.PathLike[str], *,
                      overwrite: bool = False) -> Conversion:
    """Write a Keras model as a TF.js *layers* model (``converters.save_keras_model``).

    With Keras 3 this succeeds but TF.js cannot load the result: see
    :func:`load_layers_model`. Use :func:`convert` (a graph model) instead.

    >>> save_layers_model(model, "web/fraud_layers").format         # doctest: +SKIP
    'layers-model'
    """
    keras = _tf.keras()
    if not isinstance(model, keras.Model):
        raise InvalidInputError(
            f"expected a keras.Model; found {type(model).__name__}. Fix: pass the trained model."
        )
    target = Path(out_dir)
    tfjs = _tfjs()
    start = time.perf_counter()
    with _staging(target, overwrite) as tmp:
        with _caught() as log:
            tfjs.converters.save_keras_model(model, str(tmp))
        done = _describe(tmp, None, time.perf_counter() - start, log, tfjs.__version__)
    return Conversion(path=target, format=done.format, quantize=None, files=_files(target),
                      weights=done.weights, converter_version=done.converter_version,
                      seconds=done.seconds, log=done.log)


# -- the TF.js runtime in Node --------------------------------------------------------------

def _node() -> str:
    found = shutil.which("node")
    if found is None:
        raise TfjsRuntimeError(
            "expected Node.js (20 or later) on the PATH to run the TF.js runtime; `node` was not "
            "found. Fix: install Node 20 (https://nodejs.org, or your package manager: "
            "apt install nodejs), then run `npm ci` in the course repository."
        )
    return found


def _call_node(request: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run the TF.js script with ``request`` on stdin; its JSON answer (``ok`` or not)."""
    node = _node()
    request = {**request, "node_modules": str(node_modules())}
    start = time.perf_counter()
    try:
        done = subprocess.run([node, str(_SCRIPT)], input=json.dumps(request), capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise TfjsRuntimeError(
            f"expected the TF.js runtime to answer within {timeout:g} s; it did not. "
            "Fix: pass a larger timeout= or fewer rows."
        ) from exc
    wall = time.perf_counter() - start
    answer_line = (done.stdout.strip().splitlines() or [""])[-1]
    try:
        answer = json.loads(answer_line)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise TfjsRuntimeError(
            f"expected an answer from the TF.js script; Node exited with code "
            f"{done.returncode}: {last} Fix: check `node --version` (20 or later) and reinstall "
            f"the runtime. {_INSTALL}"
        ) from None
    answer["wall_seconds"] = wall
    if not answer.get("ok") and answer.get("stage") in ("require", "request", "runtime"):
        raise TfjsRuntimeError(
            f"expected the TF.js runtime to start; it failed: {answer.get('error')} {_INSTALL}")
    return answer


@dataclass(frozen=True)
class NodeRun:
    """Scores from the TF.js runtime in Node, with where the time went.

    ``wall_seconds`` includes starting Node and loading TF.js; ``predict_seconds``
    is the batch prediction alone (after a one-row warm-up, as an app does once),
    ``row_seconds`` one more single-row prediction: the latency a user feels.
    """

    scores: np.ndarray = field(repr=False)
    rows: int
    wall_seconds: float
    load_seconds: float
    predict_seconds: float
    row_seconds: float
    tfjs_version: str
    node_version: str
    backend: str

    def __repr__(self) -> str:
        return (f"NodeRun(rows={self.rows}, tfjs_version={self.tfjs_version!r}, "
                f"backend={self.backend!r})")

    def __str__(self) -> str:
        return (f"TF.js {self.tfjs_version} in Node {self.node_version} ({self.backend} backend): "
                f"model loaded in {_ms(self.load_seconds)}, {self.rows:,} rows predicted in "
                f"{_ms(self.predict_seconds)}, one row in {_ms(self.row_seconds)}; "
                f"{self.wall_seconds:.2f} s in all, with Node's start")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


@dataclass(frozen=True)
class _Signature:
    name: str
    shape: tuple[int | None, ...]


def _graph_input(path: Path) -> _Signature:
    meta = _read_model_json(path)
    if meta.get("format") != "graph-model":
        raise ModelFileError(
            f"expected a TF.js graph model in {path}; found format {meta.get('format')!r}. "
            "Fix: convert a SavedModel with tfjs.convert(...), which writes a graph model."
        )
    inputs = (meta.get("signature") or {}).get("inputs") or {}
    if len(inputs) != 1:
        raise ModelFileError(
            f"expected a graph model with one input; {path} has {len(inputs)} "
            f"({', '.join(inputs) or 'no signature'}). Fix: predict() handles single-input models."
        )
    (name, spec), = inputs.items()
    dims = [int(d.get("size", -1)) for d in spec.get("tensorShape", {}).get("dim", [])]
    return _Signature(name, tuple(None if d < 0 else d for d in dims))


def _check_rows(x: object, sig: _Signature) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise InvalidInputError(
            f"expected a 2-D array of numbers; could not read it ({exc}).") from exc
    if arr.dtype.kind not in "biuf":
        raise InvalidInputError(
            f"expected numbers for input '{sig.name}'; found dtype {arr.dtype}. "
            "Fix: convert the features to numbers."
        )
    want = sig.shape
    if arr.ndim != len(want) or arr.shape[0] == 0 or any(
            w is not None and w != a for w, a in zip(want[1:], arr.shape[1:])):
        shown = "(n, " + ", ".join(str(w) for w in want[1:]) + ")"
        raise InvalidInputError(
            f"expected input '{sig.name}' of shape {shown} with at least one row; found "
            f"{arr.shape}. Fix: pass one row per example with the columns the model was trained "
            "on, in order."
        )
    if not np.isfinite(arr).all():
        raise InvalidInputError(
            f"expected finite values for input '{sig.name}'; found NaN or infinity. "
            "Fix: fill or drop missing values before predicting."
        )
    return np.ascontiguousarray(arr, dtype="<f4")


def run(model_dir: str | os.PathLike[str], x: object, *, timeout: float = 300) -> NodeRun:
    """Predict ``x`` with the converted model in the real TF.js runtime (Node), with timings.

    >>> r = run("web/fraud", fraud.test.x)                           # doctest: +SKIP
    >>> r.scores.shape, r.tfjs_version                               # doctest: +SKIP
    ((4001, 1), '4.22.0')
    """
    path = Path(model_dir)
    sig = _graph_input(path)
    arr = _check_rows(x, sig)
    with tempfile.TemporaryDirectory(prefix="tfjs-") as tmp:
        src, dst = Path(tmp) / "x.f32", Path(tmp) / "scores.f32"
        arr.tofile(src)
        request = {"action": "predict", "model_dir": str(path.resolve()), "input": str(src),
                   "shape": list(arr.shape), "output": str(dst)}
        answer = _call_node(request, timeout)
        if not answer["ok"]:
            error, stage = answer.get("error", ""), answer.get("stage")
            if stage == "predict" and "shape" in error:
                raise InvalidInputError(
                    f"expected input that fits the model in {path}; TF.js said: {error} "
                    "Fix: pass rows with the model's columns.")
            raise ModelFileError(
                f"expected TF.js to {'load' if stage == 'load' else 'run'} the model in {path}; it "
                f"failed: {error} Fix: convert the model again with tfjs.convert(...)."
            )
        scores = np.fromfile(dst, dtype="<f4").reshape(answer["output_shape"])
    return NodeRun(scores=scores, rows=int(arr.shape[0]), wall_seconds=answer["wall_seconds"],
                   load_seconds=answer["load_ms"] / 1000,
                   predict_seconds=answer["predict_ms"] / 1000,
                   row_seconds=answer["row_ms"] / 1000, tfjs_version=answer["tfjs_version"],
                   node_version=answer["node_version"], backend=answer["backend"])


def predict(model_dir: str | os.PathLike[str], x: object, *, timeout: float = 300) -> np.ndarray:
    """Scores of the rows of ``x`` from the converted model, computed by TF.js in Node.

    >>> predict("web/fraud", fraud.test.x[:2])                       # doctest: +SKIP
    array([[0.01], [0.93]], dtype=float32)
    """
    return run(model_dir, x, timeout=timeout).scores


@dataclass(frozen=True)
class LayersLoad:
    """The outcome of asking TF.js to load a layers model: ``ok``, or TF.js's error and why."""

    path: Path
    ok: bool
    error: str
    tfjs_version: str
    keras_version: str
    diagnosis: str

    def __repr__(self) -> str:
        return f"LayersLoad({self.path.as_posix()!r}, ok={self.ok})"

    def __str__(self) -> str:
        if self.ok:
            return f"TF.js {self.tfjs_version} loaded the layers model in {self.path.as_posix()}"
        return (f"TF.js {self.tfjs_version} could not load the layers model in "
                f"{self.path.as_posix()} (written by Keras {self.keras_version}):\n"
                f"  {self.error}\n{self.diagnosis}")


def _diagnose(meta: Mapping[str, Any]) -> tuple[str, str]:
    topology = meta.get("modelTopology") or {}
    version = str(topology.get("keras_version", "unknown"))
    layers = ((topology.get("model_config") or {}).get("config") or {}).get("layers") or []
    inputs = [layer.get("config", {}) for layer in layers
              if layer.get("class_name") == "InputLayer"]
    if inputs and "batch_shape" in inputs[0] and "batch_input_shape" not in inputs[0]:
        return version, (
            f"Why: Keras {version} stores the input shape of an InputLayer as 'batch_shape'; "
            f"TF.js's layers API reads the Keras 2 name 'batch_input_shape'. A version mismatch "
            "between the library that wrote the file and the one that reads it.")
    return version, ""


def load_layers_model(model_dir: str | os.PathLike[str], *, timeout: float = 120) -> LayersLoad:
    """Ask TF.js (``tf.loadLayersModel`` in Node) to load a layers model: the outcome, no traceback.

    >>> print(load_layers_model("web/fraud_layers"))                 # doctest: +SKIP
    TF.js 4.22.0 could not load the layers model in web/fraud_layers (written by Keras 3.15.1):
      An InputLayer should be passed either a `batchInputShape` or an `inputShape`.
    ...
    """
    path = Path(model_dir)
    meta = _read_model_json(path)
    if meta.get("format") != "layers-model":
        raise ModelFileError(
            f"expected a TF.js layers model in {path}; found format {meta.get('format')!r}. "
            "Fix: for a graph model use tfjs.predict(...)."
        )
    answer = _call_node({"action": "load_layers", "model_dir": str(path.resolve())}, timeout)
    version, why = _diagnose(meta)
    return LayersLoad(path=path, ok=bool(answer["ok"]), error=answer.get("error", ""),
                      tfjs_version=answer.get("tfjs_version", ""), keras_version=version,
                      diagnosis=why if not answer["ok"] else "")


# -- parity ----------------------------------------------------------------------------------

def _reference_scores(reference: Any, x: np.ndarray) -> tuple[np.ndarray, float | None]:
    """Scores of the source model (Python) and how long the batch took (None when given)."""
    predict_fn: Callable[[np.ndarray], np.ndarray]
    if isinstance(reference, np.ndarray):
        return reference.reshape(reference.shape[0], -1).astype(np.float32), None
    if isinstance(reference, (str, os.PathLike)):
        from course_lib import persistence

        predict_fn = persistence.load(reference).predict
    elif isinstance(reference, _tf.keras().Model):
        def predict_fn(rows: np.ndarray) -> np.ndarray:
            return np.asarray(reference.predict(rows, batch_size=4096, verbose=0))
    else:
        raise InvalidInputError(
            f"expected the source model (keras.Model or SavedModel path) or its scores (a "
            f"NumPy array); found {type(reference).__name__}."
        )
    predict_fn(x[:1])  # warm-up: the first call traces the function
    start = time.perf_counter()
    scores = np.asarray(predict_fn(x))
    return scores.reshape(scores.shape[0], -1).astype(np.float32), time.perf_counter() - start


@dataclass(frozen=True)
class Parity:
    """The converted model's metrics in TF.js against the source model's, with the verdict.

    The seed's rule: every metric within ``tolerance`` (0.02, i.e. 2 points).
    """

    label: str
    path: Path
    size_bytes: int
    weight_bytes: int
    before: Metrics
    after: Metrics
    comparison: Comparison
    max_abs_diff: float
    node: NodeRun | None
    reference_seconds: float | None = None

    @classmethod
    def from_metrics(cls, label: str, size_bytes: int, before: Metrics, after: Metrics, *,
                     tolerance: float = SEED_TOLERANCE, max_abs_diff: float = 0.0) -> Parity:
        """A result from known figures (no model): for exercises, what-ifs and tests.

        >>> m = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
        >>> Parity.from_metrics("float16", 70_000, m, m).ok
        True
        """
        return cls(label=label, path=Path(_slug(label)), size_bytes=int(size_bytes),
                   weight_bytes=int(size_bytes), before=before, after=after,
                   comparison=compare(before, after, tolerance, labels=_LABELS),
                   max_abs_diff=float(max_abs_diff), node=None)

    @property
    def ok(self) -> bool:
        """Every metric within tolerance."""
        return self.comparison.ok

    @property
    def tolerance(self) -> float:
        """The largest change allowed (0.02 = 2 points)."""
        return max(r.tolerance for r in self.comparison.rows)

    def __repr__(self) -> str:
        return f"Parity({self.label!r}, ok={self.ok}, size_bytes={self.size_bytes})"

    def __str__(self) -> str:
        return (f"{self.label}: {_kb(self.size_bytes)} (weights {_kb(self.weight_bytes)}), largest "
                f"prediction difference {self.max_abs_diff:.2g}\n{self.comparison}")

    def _repr_html_(self) -> str:
        return (f"<p><b>{html.escape(self.label)}</b>: {_kb(self.size_bytes)} (weights "
                f"{_kb(self.weight_bytes)}), largest prediction difference "
                f"{self.max_abs_diff:.2g}</p>"
                + self.comparison._repr_html_())


def _label_of(path: Path) -> str:
    weights = _weights(_read_model_json(path).get("weightsManifest", []))
    kinds = sorted({w.stored_as for w in weights} - {"float32"})
    if not kinds:
        return "float32"
    partly = any(w.stored_as == "float32" for w in weights)
    return "+".join(kinds) + (" (partly)" if partly else "")


def verify(model_dir: str | os.PathLike[str], reference: Any, x: object,
           y: Sequence[int] | np.ndarray, *,
           tolerance: float = SEED_TOLERANCE, threshold: float = 0.5,
           label: str | None = None) -> Parity:
    """Metrics of the TF.js model (run in Node) against the source model on ``(x, y)``.

    ``reference`` is the source: a ``keras.Model``, a SavedModel path, or its scores
    already computed (a NumPy array).

    >>> p = verify("web/fraud_f16", model, fraud.test.x, fraud.test.y)   # doctest: +SKIP
    >>> p.ok, p.max_abs_diff < 1e-3                                     # doctest: +SKIP
    (True, True)
    """
    path = Path(model_dir)
    sig = _graph_input(path)
    arr = _check_rows(x, sig)
    before_scores, seconds = _reference_scores(reference, arr)
    node = run(path, arr)
    if before_scores.shape[0] != node.scores.shape[0]:
        raise InvalidInputError(
            f"expected one reference score per row of x: {node.scores.shape[0]} rows but "
            f"{before_scores.shape[0]} scores. Fix: compute the scores on the same rows."
        )
    before = Metrics.from_predictions(y, before_scores[:, -1], threshold)
    after = Metrics.from_predictions(y, node.scores[:, -1], threshold)
    files = _files(path)
    return Parity(
        label=label or _label_of(path), path=path,
        size_bytes=sum(f.size_bytes for f in files),
        weight_bytes=sum(f.size_bytes for f in files if f.path.endswith(".bin")),
        before=before, after=after,
        comparison=compare(before, after, tolerance, labels=_LABELS),
        max_abs_diff=float(np.max(np.abs(node.scores[:, -1] - before_scores[:, -1]))),
        node=node, reference_seconds=seconds,
    )


# -- the gate: metrics and size --------------------------------------------------------------

@dataclass(frozen=True)
class Gate:
    """Pass/fail of one converted model against the metric rule and a size budget."""

    label: str
    size_bytes: int
    budget_bytes: int
    fits: bool
    metrics_ok: bool
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Fits the budget and keeps every metric within tolerance."""
        return self.fits and self.metrics_ok

    def __repr__(self) -> str:
        return f"Gate({self.label!r}, ok={self.ok}, fits={self.fits}, metrics_ok={self.metrics_ok})"

    def __str__(self) -> str:
        head = "PASS" if self.ok else "FAIL"
        return f"{head} {self.label}: " + "; ".join(self.reasons)

    def _repr_html_(self) -> str:
        color = "#1a7f37" if self.ok else "#b42318"
        items = "".join(f"<li>{html.escape(r)}</li>" for r in self.reasons)
        return (f'<p style="color:{color};font-weight:bold">{"PASS" if self.ok else "FAIL"}: '
                f"{html.escape(self.label)}</p><ul>{items}</ul>")


def gate(result: Parity, budget_bytes: int = BROWSER_BUDGET_BYTES) -> Gate:
    """Decide whether a converted model ships: within the size budget and the metric tolerance.

    A pure function of measured results (a :class:`Parity`).

    >>> m = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
    >>> g = gate(Parity.from_metrics("float16", 70_000, m, m), budget_bytes=100 * 1024)
    >>> g.ok, g.reasons[0]
    (True, 'size 68.4 KB fits the 100.0 KB budget')
    """
    if isinstance(budget_bytes, bool) or not isinstance(budget_bytes, (int, np.integer)) \
            or budget_bytes <= 0:
        raise InvalidInputError(
            f"expected budget_bytes to be a positive whole number of bytes; found "
            f"{budget_bytes!r}. Fix: e.g. budget_bytes=100 * 1024 for 100 KB."
        )
    if not isinstance(result, Parity):
        raise InvalidInputError(
            f"expected a Parity result (from tfjs.verify); found {type(result).__name__}."
        )
    fits = result.size_bytes <= budget_bytes
    size = (f"size {_kb(result.size_bytes)} {'fits' if fits else 'exceeds'} the "
            f"{_kb(int(budget_bytes))} budget")
    if result.ok:
        metric = f"every metric within {result.tolerance:g} of the source model in TF.js"
    else:
        moved = ", ".join(f"{r.name} {r.delta:+.3f}" for r in result.comparison.failures)
        metric = f"metrics moved more than {result.tolerance:g}: {moved}"
    return Gate(label=result.label, size_bytes=result.size_bytes, budget_bytes=int(budget_bytes),
                fits=fits, metrics_ok=result.ok, reasons=(size, metric))


# -- several quantizations -------------------------------------------------------------------

@dataclass(frozen=True)
class Quantization:
    """A weight storage setting for :func:`compare_quantizations`.

    >>> Quantization("uint8", weights=("*/dense_*",), label="uint8, dense only").name
    'uint8, dense only'
    >>> Quantization(None).name
    'float32'
    """

    dtype: str | None
    weights: tuple[str, ...] = ("*",)
    label: str = ""

    @property
    def name(self) -> str:
        """The label, or the weight type."""
        return self.label or self.dtype or "float32"


@dataclass(frozen=True)
class QuantizationReport:
    """The same model converted with several weight types, each measured in TF.js."""

    results: tuple[Parity, ...]
    conversions: tuple[Conversion, ...]
    budget_bytes: int
    reference_seconds: float | None

    @property
    def labels(self) -> list[str]:
        """The settings, in order."""
        return [r.label for r in self.results]

    def __repr__(self) -> str:
        return f"QuantizationReport({self.labels}, budget_bytes={self.budget_bytes})"

    def result(self, label: str) -> Parity:
        """The measured result of one setting."""
        for r in self.results:
            if r.label == label:
                return r
        raise InvalidInputError(f"expected one of {self.labels}; found {label!r}.")

    def gates(self, budget_bytes: int | None = None) -> list[Gate]:
        """:func:`gate` of every setting (the report's budget unless one is given)."""
        return [gate(r, self.budget_bytes if budget_bytes is None else budget_bytes)
                for r in self.results]

    def _rows(self) -> list[tuple[str, ...]]:
        rows: list[tuple[str, ...]] = []
        for r, g in zip(self.results, self.gates()):
            a = r.after
            worst = max(r.comparison.rows, key=lambda row: abs(row.delta))
            rows.append((r.label, _kb(r.size_bytes), _kb(r.weight_bytes), f"{a.accuracy:.3f}",
                         f"{a.precision:.3f}", f"{a.recall:.3f}",
                         f"{worst.name} {worst.delta * 100:+.1f} pts" if worst.delta else "none",
                         f"{r.max_abs_diff:.2g}",
                         "yes" if r.ok else "NO", "yes" if g.fits else "NO",
                         "PASS" if g.ok else "FAIL"))
        return rows

    _HEAD = ("weights", "total size", "weight files", "accuracy", "precision", "recall",
             "largest change", "largest diff", "metrics ok", "fits budget", "verdict")

    def __str__(self) -> str:
        b = self.results[0].before
        head = (f"source model (Python): accuracy {b.accuracy:.3f}, precision {b.precision:.3f}, "
                f"recall {b.recall:.3f}; rule: every metric within "
                f"{self.results[0].tolerance:g}, size within {_kb(self.budget_bytes)}")
        lines = [head]
        rows = [self._HEAD, *self._rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(self._HEAD))]
        lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                            enumerate(zip(row, widths))) for row in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        cell = 'style="padding:2px 8px;text-align:right"'
        b = self.results[0].before
        head = "".join(f"<th {cell}>{h}</th>" for h in self._HEAD)
        body = "".join("<tr>" + "".join(f"<td {cell}>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in self._rows())
        return (f"<p>source model (Python): accuracy {b.accuracy:.3f}, precision "
                f"{b.precision:.3f}, recall {b.recall:.3f}. Rule: every metric within "
                f"{self.results[0].tolerance:g} (TF.js vs source), total size within "
                f"{_kb(self.budget_bytes)}.</p>"
                f'<table style="border-collapse:collapse"><tr>{head}</tr>{body}</table>')

    def timing(self) -> str:
        """TF.js in Node against Python for the same rows, and the one-row latency verdict.

        >>> print(report.timing())                                   # doctest: +SKIP
        Python (TensorFlow, this process): 4,000 rows in 61.2 ms
        ...
        """
        runs = [(x.label, x.node) for x in self.results if x.node is not None]
        if not runs:
            return "no timings: these results were not measured in TF.js"
        lines = []
        if self.reference_seconds is not None:
            lines.append(f"Python (TensorFlow, this process): {runs[0][1].rows:,} rows in "
                         f"{_ms(self.reference_seconds)}")
        for label, t in runs:
            lines.append(f"TF.js in Node, {label}: {t.rows:,} rows in {_ms(t.predict_seconds)}, "
                         f"one row in {_ms(t.row_seconds)}, model loaded in "
                         f"{_ms(t.load_seconds)}; {t.wall_seconds:.2f} s with Node's start")
        fast = max(t.row_seconds for _, t in runs) <= INTERACTION_BUDGET_SECONDS
        lines.append(f"one transaction scored within the {_ms(INTERACTION_BUDGET_SECONDS)} "
                     f"interaction budget by every setting: {'yes' if fast else 'NO'}")
        return "\n".join(lines)

    def plot(self) -> Any:
        """Size against accuracy, precision, recall (left) and the largest score difference (right).

        >>> report.plot()                                            # doctest: +SKIP
        <Figure size 1000x380 with 2 Axes>
        """
        from matplotlib.lines import Line2D

        from course_lib import plots

        fig = plots.new_figure(10, 4)
        left, right = fig.subplots(1, 2)
        sizes = [r.size_bytes / 1024 for r in self.results]
        markers = "osD^vP*X"
        before, tol = self.results[0].before, self.results[0].tolerance
        metric_handles = []
        for name, color in (("accuracy", "C0"), ("precision", "C1"), ("recall", "C2")):
            ref = before.get(name)
            left.axhspan(ref - tol, ref + tol, color=color, alpha=0.15, lw=0)
            for i, (r, s) in enumerate(zip(self.results, sizes)):
                left.plot([s], [r.after.get(name)], markers[i % len(markers)], color=color,
                          mfc="none" if i % 2 else color, ms=8)
            metric_handles.append(Line2D([], [], color=color, lw=6, alpha=0.4,
                                         label=f"{name}: source ± {tol:g}"))
        setting_handles = [Line2D([], [], marker=markers[i % len(markers)], color="k", ls="",
                                  mfc="none" if i % 2 else "k", label=r.label)
                           for i, r in enumerate(self.results)]
        for i, (r, s) in enumerate(zip(self.results, sizes)):
            right.plot([s], [max(r.max_abs_diff, 1e-9)], markers[i % len(markers)], color="C3",
                       mfc="none" if i % 2 else "C3", ms=8)
            right.annotate(r.label, (s, max(r.max_abs_diff, 1e-9)), xytext=(8, -3),
                           textcoords="offset points", fontsize=8)
        right.set_yscale("log")
        for ax in (left, right):
            ax.axvline(self.budget_bytes / 1024, color="grey", ls="--", lw=1)
            ax.set_xlabel(f"total size (KB); dashed line: budget {_kb(self.budget_bytes)}")
            ax.set_xlim(0, max(max(sizes), self.budget_bytes / 1024) * 1.25)
        left.set_ylabel("metric measured in TF.js")
        left.set_ylim(0, 1.05)
        first = left.legend(handles=metric_handles, fontsize=8, loc="center left")
        left.add_artist(first)
        left.legend(handles=setting_handles, fontsize=8, loc="center right")
        left.set_title("metrics against size (bands: allowed range)")
        right.set_ylabel("largest |TF.js score - source score|")
        right.set_title("prediction difference against size")
        return fig


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "model"


def compare_quantizations(
    source: Any, x: object, y: Sequence[int] | np.ndarray, out_dir: str | os.PathLike[str],
    quantizations: Sequence[str | None | Quantization] = QUANTIZATIONS, *,
    budget_bytes: int = BROWSER_BUDGET_BYTES, tolerance: float = SEED_TOLERANCE,
    threshold: float = 0.5,
) -> QuantizationReport:
    """Convert ``source`` with each weight setting (into ``out_dir/<setting>/``), verify each.

    >>> report = compare_quantizations(model, fraud.test.x, fraud.test.y, "web")  # doctest: +SKIP
    >>> report.labels                                                             # doctest: +SKIP
    ['float32', 'float16', 'uint8']
    """
    settings = [q if isinstance(q, Quantization) else Quantization(_check_quantize(q))
                for q in quantizations]
    names = [s.name for s in settings]
    if not settings or len(set(names)) != len(names):
        raise InvalidInputError(
            f"expected at least one setting, each with its own name; found {names}. "
            "Fix: give repeated weight types distinct labels: "
            "Quantization('uint8', ..., label='...')."
        )
    root = Path(out_dir)
    with _saved_model(source, root) as src:
        conversions = [convert(src, root / _slug(s.name), s.dtype, weights=s.weights,
                               overwrite=True) for s in settings]
        arr = _check_rows(x, _graph_input(conversions[0].path))
        reference = src if isinstance(source, (str, os.PathLike)) else source
        scores, seconds = _reference_scores(reference, arr)
    results = tuple(verify(c.path, scores, arr, y, tolerance=tolerance, threshold=threshold,
                           label=s.name) for c, s in zip(conversions, settings))
    return QuantizationReport(results=results, conversions=tuple(conversions),
                              budget_bytes=int(budget_bytes), reference_seconds=seconds)
