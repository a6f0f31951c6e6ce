"""The real TF.js runtime: ``@tensorflow/tfjs`` in Node, found, started and asked for scores.

>>> from course_lib.tfjs import runtime
>>> runtime.find_node_modules({"COURSE_LIB_NODE_MODULES": "/srv/js/node_modules"})
PosixPath('/srv/js/node_modules')
>>> runtime.SCRIPT.name
'runtime.js'

:func:`predict` / :func:`run` run a converted model in ``@tensorflow/tfjs`` in Node,
started as a subprocess on ``course_lib/tfjs/runtime.js`` (:data:`SCRIPT`), on inputs of
any rank, one or several (a dict by input name), and return every output. The inputs
are checked against the graph model's signature here, before Node starts; each input
and each output travels through a file of raw values (its dtype and shape in the
request), the request through stdin: nothing on the command line.
Node's own ``file://`` loading needs ``@tensorflow/tfjs-node`` (a native build); the
script reads ``model.json`` and the weight shards itself, and opens no path that
resolves outside the model folder (no absolute path, no ``..``, no symbolic link).
Before Node starts, :func:`course_lib.tfjs.integrity.check_files` checks the same and
compares the files with the record :func:`~course_lib.tfjs.convert` wrote
(``files.sha256.json``); Node then re-checks the sha256 of the very bytes it reads.
A folder without a record runs, and the result says its files were not checked.

The back end (``backend=``, :data:`BACKENDS`): ``"auto"`` (the default) runs on
WebAssembly (``@tensorflow/tfjs-backend-wasm``, which ``package.json`` installs beside
``@tensorflow/tfjs``; its ``.wasm`` binaries are read from that package's folder on disk)
and falls back to the pure-JavaScript ``cpu`` back end when wasm does not load, with a note
saying why; ``"wasm"`` runs on WebAssembly or raises :class:`TfjsRuntimeError`; ``"cpu"``
runs on the pure-JavaScript back end. :class:`NodeRun` says which one ran.

Where ``@tensorflow/tfjs`` is looked for (:func:`find_node_modules`): the folder in
``COURSE_LIB_NODE_MODULES`` if set, else the repository checkout's ``node_modules``
(made by ``npm ci``), else each folder of ``NODE_PATH`` that holds it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import _checks, _display, _inputs
from course_lib.errors import (
    InvalidInputError,
    ModelFileError,
    TamperedModelError,
    TfjsRuntimeError,
)
from course_lib.persistence import TensorInfo
from course_lib.tfjs import integrity
from course_lib.tfjs.conversion import read_model_json, signature

__all__ = [
    "BACKENDS", "INSTALL_HINT", "INTERACTION_BUDGET_SECONDS", "NODE_MODULES_VARIABLE", "SCRIPT",
    "TFJS_VERSION", "GraphSignature", "NodeRun", "call_node", "find_node_modules",
    "graph_signature", "model_inputs", "node_modules", "predict", "run",
]

#: The TF.js runtime version package.json installs (@tensorflow/tfjs and its wasm back end).
TFJS_VERSION = "4.22.0"
#: The back ends a Node run can ask for: "auto" is wasm when it loads, else cpu (with a note).
BACKENDS: tuple[str, ...] = ("auto", "wasm", "cpu")
#: The environment variable that names the node_modules folder to use.
NODE_MODULES_VARIABLE = "COURSE_LIB_NODE_MODULES"
#: A single-row prediction faster than this feels instantaneous in a web page.
INTERACTION_BUDGET_SECONDS = 0.1
#: The Node script that runs a model in TF.js (reads one JSON request on stdin).
SCRIPT = Path(__file__).with_name("runtime.js")
#: How to install the runtime, appended to every "not found" message.
INSTALL_HINT = (
    "Fix: run `npm ci` in the course repository (make setup does it), or run "
    f"`npm install @tensorflow/tfjs@{TFJS_VERSION} @tensorflow/tfjs-backend-wasm@{TFJS_VERSION}` "
    "in a folder of your choice and set "
    f"{NODE_MODULES_VARIABLE} to that folder's node_modules."
)


def _has_tfjs(folder: Path) -> bool:
    return (folder / "@tensorflow" / "tfjs" / "package.json").is_file()


def _checkout_node_modules() -> Path:
    """The repository checkout's node_modules (course_lib/tfjs/runtime.py -> the checkout)."""
    return Path(__file__).resolve().parents[2] / "node_modules"


def find_node_modules(environ: Mapping[str, str] | None = None,
                      checkout: Path | None = None) -> Path | None:
    """The ``node_modules`` folder the lessons use for ``@tensorflow/tfjs`` (None when none is known).

    >>> find_node_modules({"COURSE_LIB_NODE_MODULES": "/srv/js/node_modules"})
    PosixPath('/srv/js/node_modules')

    ``COURSE_LIB_NODE_MODULES`` when set (even if the folder is wrong: the check then
    says so), else the repository checkout's ``node_modules`` (``checkout``, by default
    the one beside ``course_lib/``), else a ``NODE_PATH`` folder that holds
    ``@tensorflow/tfjs``. The one lookup: :func:`node_modules` and the instructor's
    environment check both use it.
    """
    environ = os.environ if environ is None else environ
    explicit = environ.get(NODE_MODULES_VARIABLE)
    if explicit:
        return Path(explicit).expanduser()
    checkout = _checkout_node_modules() if checkout is None else Path(checkout)
    if checkout.is_dir():
        return checkout
    for p in environ.get("NODE_PATH", "").split(os.pathsep):
        if p and _has_tfjs(Path(p)):
            return Path(p)
    return None


def node_modules() -> Path:
    """The ``node_modules`` folder that holds ``@tensorflow/tfjs`` (resolved), or a clear error.

    :func:`find_node_modules`, then a check that ``@tensorflow/tfjs`` is really there.

    >>> node_modules().name
    'node_modules'
    """
    found = find_node_modules()
    explicit = os.environ.get(NODE_MODULES_VARIABLE)
    if found is None:
        looked = ", ".join(str(c) for c in [_checkout_node_modules(), *(
            Path(p) for p in os.environ.get("NODE_PATH", "").split(os.pathsep) if p)])
        raise TfjsRuntimeError(
            f"expected the TF.js runtime @tensorflow/tfjs in a node_modules folder; looked in "
            f"{looked} and NODE_PATH, and {NODE_MODULES_VARIABLE} is not set. {INSTALL_HINT}"
        )
    if not _has_tfjs(found):
        where = f"{NODE_MODULES_VARIABLE}={explicit}" if explicit else str(found)
        raise TfjsRuntimeError(
            f"expected @tensorflow/tfjs in {where} (a folder @tensorflow/tfjs with its "
            f"package.json); it is not there. {INSTALL_HINT}"
        )
    return found.resolve()


# -- starting Node ----------------------------------------------------------------------------

def _node() -> str:
    found = shutil.which("node")
    if found is None:
        raise TfjsRuntimeError(
            "expected Node.js (20 or later) on the PATH to run the TF.js runtime; `node` was not "
            "found. Fix: install Node 20 (https://nodejs.org, or your package manager: "
            "apt install nodejs), then run `npm ci` in the course repository."
        )
    return found


def call_node(request: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run :data:`SCRIPT` with ``request`` on stdin; its JSON answer (``ok`` or not).

    The answer gets ``wall_seconds`` (Node's start included). A runtime that cannot
    start (no Node, no ``@tensorflow/tfjs``) raises :class:`TfjsRuntimeError`.
    """
    timeout = _checks.number("timeout", timeout, positive=True, unit="seconds", example=300)
    node = _node()
    request = {**request, "node_modules": str(node_modules())}
    start = time.perf_counter()
    try:
        done = subprocess.run([node, str(SCRIPT)], input=json.dumps(request), capture_output=True,
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
            f"the runtime. {INSTALL_HINT}"
        ) from None
    answer["wall_seconds"] = wall
    if not answer.get("ok") and answer.get("stage") == "tampered":
        raise TamperedModelError(
            f"{answer.get('error')} Fix: convert the model again with tfjs.convert(...), and "
            "take model folders only from sources you trust.")
    if not answer.get("ok") and answer.get("stage") == "backend":
        raise TfjsRuntimeError(
            f"expected TF.js to run on the wasm back end (backend='wasm'); "
            f"{answer.get('error')}. Fix: run `npm ci` in the course repository (it installs "
            f"@tensorflow/tfjs-backend-wasm {TFJS_VERSION}), or pass backend='auto' to fall "
            "back to the cpu back end.")
    if not answer.get("ok") and answer.get("stage") in ("require", "request", "runtime"):
        raise TfjsRuntimeError(
            f"expected the TF.js runtime to start; it failed: {answer.get('error')} {INSTALL_HINT}")
    return answer


# -- the model's signature -------------------------------------------------------------------

@dataclass(frozen=True)
class GraphSignature:
    """What a graph model takes and returns: its inputs and outputs with their signature keys.

    ``inputs`` and ``outputs`` are :class:`~course_lib.persistence.TensorInfo` (name, shape
    with None for any size, dtype); ``keys`` the names TF.js knows them by in model.json.

    >>> sig = graph_signature("web/fraud")
    >>> [str(t) for t in sig.inputs], [t.name for t in sig.outputs]
    (['features: float32 (None, 8)'], ['output_0'])
    """

    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    keys: Mapping[str, str]

    @property
    def input_names(self) -> list[str]:
        """The inputs' names, in order (the order a list of inputs is matched in)."""
        return [t.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        """The outputs' names, in order."""
        return [t.name for t in self.outputs]


def graph_signature(model_dir: str | os.PathLike[str]) -> GraphSignature:
    """The signature in a graph model's model.json (at least one input and one output)."""
    path = Path(model_dir)
    meta = read_model_json(path)
    if meta.get("format") != "graph-model":
        raise ModelFileError(
            f"expected a TF.js graph model in {path}; found format {meta.get('format')!r}. "
            "Fix: convert a SavedModel with tfjs.convert(...), which writes a graph model."
        )
    ins, outs = signature(meta)
    if not ins or not outs:
        raise ModelFileError(
            f"expected a graph model whose model.json lists its inputs and outputs (a "
            f"signature); {path} lists {len(ins)} inputs and {len(outs)} outputs. Fix: convert "
            "the SavedModel's serving_default signature with tfjs.convert(...)."
        )
    keys = {t.name: k for k, t in (*ins, *outs)}
    return GraphSignature(tuple(t for _, t in ins), tuple(t for _, t in outs), keys)


def model_inputs(model_dir: str | os.PathLike[str], x: object) -> _inputs.Inputs:
    """``x`` checked against the graph model's inputs (names, shapes, dtypes, finite values).

    One array for a one-input model; a dict by input name (or a list in the signature's
    order) for several. A mismatch names the input, the shape expected and the one found.

    >>> model_inputs("web/fraud", np.zeros((2, 3)))
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidInputError: expected input 'features' of shape (n, 8): 8 values on axis 1; found 3 (shape (2, 3)). Fix: build the rows with the training columns, in the same order.
    """
    return _inputs.check(x, graph_signature(model_dir).inputs)


def _by_name(sig: GraphSignature, x: _inputs.Inputs) -> dict[str, np.ndarray]:
    if isinstance(x, dict):
        return {name: x[name] for name in sig.input_names}
    if isinstance(x, list):
        return dict(zip(sig.input_names, x))
    return {sig.input_names[0]: x}


# -- predictions ------------------------------------------------------------------------------

#: How each dtype travels to Node: the file's NumPy type and TF.js's dtype.
_WIRE = {"f": ("<f4", "float32"), "i": ("<i4", "int32"), "u": ("<i4", "int32"),
         "b": ("u1", "bool")}


def _write_input(file: Path, arr: np.ndarray) -> str:
    """Write one input for runtime.js; the TF.js dtype it is read as."""
    if arr.dtype.kind in "US":
        file.write_text(json.dumps(arr.astype(str).reshape(-1).tolist()), encoding="utf-8")
        return "string"
    wire, dtype = _WIRE[arr.dtype.kind]
    np.ascontiguousarray(arr, dtype=wire).tofile(file)
    return dtype


def _read_output(file: Path, shape: list[int], dtype: str) -> np.ndarray:
    if dtype == "string":
        return np.asarray(json.loads(file.read_text(encoding="utf-8")), dtype=str).reshape(shape)
    wire = {"float32": "<f4", "int32": "<i4", "bool": "u1"}.get(dtype, "<f4")
    out = np.fromfile(file, dtype=wire).reshape(shape)
    return out.astype(bool) if dtype == "bool" else out


@dataclass(frozen=True, repr=False)
class NodeRun(_display.Report):
    """The outputs of the TF.js runtime in Node, with where the time went.

    ``outputs`` holds every output by name (in the signature's order); ``predictions`` is
    what :func:`predict` returns: the one output's array (its full shape), or the dict
    when the model has several. ``wall_seconds`` includes starting Node and loading TF.js;
    ``predict_seconds`` is the batch prediction alone (after a one-row warm-up, as an app
    does once), ``row_seconds`` a single-row prediction (the median of five, on the last
    rows): the latency a user feels.
    ``files`` is what was checked of the model's files before (see
    :func:`~course_lib.tfjs.integrity.check_files`): without a record, the verdict says so.
    ``backend`` is the back end TF.js ran on (``wasm`` or ``cpu``), ``backend_asked`` what
    was asked for (see :data:`BACKENDS`) and ``backend_note``, when ``auto`` fell back to
    ``cpu``, why wasm did not load (the verdict shows it).

    >>> r = run("web/fraud", fraud.test.x)
    >>> r.ok, r.rows, list(r.outputs)
    (True, 4001, ['output_0'])
    """

    outputs: Mapping[str, np.ndarray]
    rows: int
    wall_seconds: float
    load_seconds: float
    predict_seconds: float
    row_seconds: float
    tfjs_version: str
    node_version: str
    backend: str
    files: integrity.FileCheck | None = None
    backend_asked: str = "auto"
    backend_note: str = ""

    @property
    def predictions(self) -> np.ndarray | dict[str, np.ndarray]:
        """The one output's array, or a dict of every output by name."""
        if len(self.outputs) == 1:
            return next(iter(self.outputs.values()))
        return dict(self.outputs)

    @property
    def ok(self) -> bool:
        """Every output value is finite (text outputs aside)."""
        return all(bool(np.isfinite(v).all()) for v in self.outputs.values()
                   if v.dtype.kind == "f")

    @property
    def verdict(self) -> str:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in self.outputs.items())
        line = (f"TF.js {self.tfjs_version} in Node {self.node_version} ({self.backend_text}): "
                f"model loaded in {_display.duration(self.load_seconds)}, {self.rows:,} rows "
                f"predicted in {_display.duration(self.predict_seconds)}, one row in "
                f"{_display.duration(self.row_seconds)}; {_display.duration(self.wall_seconds)} "
                "in all, with Node's start")
        if len(self.outputs) > 1:
            line += f"; outputs {shapes}"
        if self.files is not None and not self.files.recorded:
            line += f"; {self.files.note}"
        if self.backend_note:
            line += (f"; wasm was not used: {self.backend_note}, so the slower pure-JavaScript "
                     "cpu back end ran. Fix: run `npm ci` in the course repository (make setup)")
        return line if self.ok else f"FAIL: NaN or infinite outputs from {line}"

    @property
    def backend_text(self) -> str:
        """The back end that ran, as the verdict shows it ("wasm backend", "cpu backend, as asked")."""
        asked = ", as asked" if self.backend_asked == self.backend else ""
        return f"{self.backend} backend{asked}"


def _backend(backend: object) -> str:
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise InvalidInputError(
            f"expected backend to be one of {', '.join(map(repr, BACKENDS))}; found "
            f"{backend!r}. Fix: pass backend='auto' (wasm when it loads, else cpu), 'wasm' or "
            "'cpu'.")
    return backend


def run(model_dir: str | os.PathLike[str], x: object, *, timeout: float = 300,
        backend: str = "auto") -> NodeRun:
    """Predict ``x`` with the converted model in the real TF.js runtime (Node), with timings.

    ``x`` is what the Keras model takes: one array of any rank (rows first), or for a model
    with several inputs a dict by input name (or a list in the signature's order). It is
    checked here, before Node starts, and so are the model's files
    (:func:`~course_lib.tfjs.integrity.check_files`: inside the folder, and as recorded
    when it was converted; a difference raises :class:`~course_lib.errors.TamperedModelError`).
    ``backend``: ``"auto"`` (wasm when it loads, else cpu with a note), ``"wasm"`` or ``"cpu"``.

    >>> r = run("web/fraud", fraud.test.x)
    >>> r.predictions.shape, r.tfjs_version, r.backend
    ((4001, 1), '4.22.0', 'wasm')
    >>> run("web/fraud", fraud.test.x, backend="cpu").backend_text
    'cpu backend, as asked'
    """
    timeout = _checks.number("timeout", timeout, positive=True, unit="seconds", example=300)
    backend = _backend(backend)
    path = Path(model_dir)
    files = integrity.check_files(path)
    sig = graph_signature(path)
    named = _by_name(sig, _inputs.check(x, sig.inputs))
    rows = _inputs.n_rows(list(named.values()))
    with tempfile.TemporaryDirectory(prefix="tfjs-") as tmp:
        inputs = []
        for i, (name, arr) in enumerate(named.items()):
            file = Path(tmp) / f"input{i}.bin"
            inputs.append({"key": sig.keys[name], "file": str(file),
                           "dtype": _write_input(file, arr), "shape": [int(d) for d in arr.shape]})
        outputs = [{"key": sig.keys[t.name], "file": str(Path(tmp) / f"output{i}.bin")}
                   for i, t in enumerate(sig.outputs)]
        request = {"action": "predict", "model_dir": str(path.resolve()), "inputs": inputs,
                   "outputs": outputs, "files": files.digests, "backend": backend}
        answer = call_node(request, timeout)
        if not answer["ok"]:
            error, stage = answer.get("error", ""), answer.get("stage")
            if stage == "load":
                raise ModelFileError(
                    f"expected TF.js to load the model in {path}; it failed: {error} Fix: "
                    "convert the model again with tfjs.convert(...)."
                )
            raise TfjsRuntimeError(
                f"expected TF.js to run the model in {path} on {_inputs.describe(_listed(named))}; "
                f"it failed ({stage}): {error} Fix: if TF.js lacks an op the model uses, rewrite "
                "that part with supported ops; otherwise report it with the model."
            )
        found = {spec.name: _read_output(Path(request_out["file"]), out["shape"], out["dtype"])
                 for spec, request_out, out in zip(sig.outputs, outputs, answer["outputs"])}
    return NodeRun(outputs=found, rows=rows, wall_seconds=answer["wall_seconds"],
                   load_seconds=answer["load_ms"] / 1000,
                   predict_seconds=answer["predict_ms"] / 1000,
                   row_seconds=answer["row_ms"] / 1000, tfjs_version=answer["tfjs_version"],
                   node_version=answer["node_version"], backend=answer["backend"], files=files,
                   backend_asked=answer.get("backend_asked", backend),
                   backend_note=answer.get("backend_note", ""))


def _listed(named: dict[str, np.ndarray]) -> _inputs.Inputs:
    return named if len(named) > 1 else next(iter(named.values()))


def predict(model_dir: str | os.PathLike[str], x: object, *, timeout: float = 300,
            backend: str = "auto") -> np.ndarray | dict[str, np.ndarray]:
    """What the converted model outputs for ``x``, computed by TF.js in Node.

    One array with the output's full shape ((n, 1) for one score, (n, 10) for ten class
    probabilities...), or a dict by output name when the model has several outputs.

    >>> predict("web/fraud", fraud.test.x[:2]).round(2)
    array([[0.13],
           [0.56]], dtype=float32)
    """
    return run(model_dir, x, timeout=timeout, backend=backend).predictions
