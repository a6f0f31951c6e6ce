"""The real TF.js runtime: ``@tensorflow/tfjs`` in Node, found, started and asked for scores.

>>> from course_lib.tfjs import runtime
>>> runtime.find_node_modules({"COURSE_LIB_NODE_MODULES": "/srv/js/node_modules"})
PosixPath('/srv/js/node_modules')
>>> runtime.SCRIPT.name
'runtime.js'

:func:`predict` / :func:`run` score rows in ``@tensorflow/tfjs`` in Node, started as a
subprocess on ``course_lib/tfjs/runtime.js`` (:data:`SCRIPT`). Features and scores
travel through float32 files, the request through stdin: nothing on the command line.
Node's own ``file://`` loading needs ``@tensorflow/tfjs-node`` (a native build); the
script reads ``model.json`` and the weight shards itself.

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

from course_lib import _checks, _display
from course_lib.errors import InvalidInputError, ModelFileError, TfjsRuntimeError
from course_lib.tfjs.conversion import read_model_json

__all__ = [
    "INSTALL_HINT", "INTERACTION_BUDGET_SECONDS", "NODE_MODULES_VARIABLE", "SCRIPT",
    "TFJS_VERSION", "GraphInput", "NodeRun", "call_node", "find_node_modules", "graph_input",
    "model_rows", "node_modules", "predict", "run",
]

#: The TF.js runtime version package.json installs.
TFJS_VERSION = "4.22.0"
#: The environment variable that names the node_modules folder to use.
NODE_MODULES_VARIABLE = "COURSE_LIB_NODE_MODULES"
#: A single-row prediction faster than this feels instantaneous in a web page.
INTERACTION_BUDGET_SECONDS = 0.1
#: The Node script that runs a model in TF.js (reads one JSON request on stdin).
SCRIPT = Path(__file__).with_name("runtime.js")
#: How to install the runtime, appended to every "not found" message.
INSTALL_HINT = (
    "Fix: run `npm ci` in the course repository (make setup does it), or run "
    f"`npm install @tensorflow/tfjs@{TFJS_VERSION}` in a folder of your choice and set "
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
    if not answer.get("ok") and answer.get("stage") in ("require", "request", "runtime"):
        raise TfjsRuntimeError(
            f"expected the TF.js runtime to start; it failed: {answer.get('error')} {INSTALL_HINT}")
    return answer


# -- the model's input ------------------------------------------------------------------------

@dataclass(frozen=True)
class GraphInput:
    """The one input of a graph model: its name and shape (None for any size).

    >>> GraphInput("features", (None, 3)).shape
    (None, 3)
    """

    name: str
    shape: tuple[int | None, ...]


def graph_input(path: Path) -> GraphInput:
    """The input signature in a graph model's model.json (one input, or a clear error)."""
    meta = read_model_json(path)
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
    return GraphInput(name, tuple(None if d < 0 else d for d in dims))


def model_rows(model_dir: str | os.PathLike[str], x: object) -> np.ndarray:
    """``x`` checked against the graph model's input (shape, finite) as little-endian float32."""
    sig = graph_input(Path(model_dir))
    arr = _checks.features(x, shape=sig.shape, name=sig.name)
    return np.ascontiguousarray(arr, dtype="<f4")


# -- predictions ------------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class NodeRun(_display.Report):
    """Scores from the TF.js runtime in Node, with where the time went.

    ``wall_seconds`` includes starting Node and loading TF.js; ``predict_seconds``
    is the batch prediction alone (after a one-row warm-up, as an app does once),
    ``row_seconds`` one more single-row prediction: the latency a user feels.

    >>> r = run("web/fraud", fraud.test.x)
    >>> r.ok, r.rows
    (True, 4001)
    """

    scores: np.ndarray
    rows: int
    wall_seconds: float
    load_seconds: float
    predict_seconds: float
    row_seconds: float
    tfjs_version: str
    node_version: str
    backend: str

    @property
    def ok(self) -> bool:
        """Every score is a finite number."""
        return bool(np.isfinite(self.scores).all())

    @property
    def verdict(self) -> str:
        line = (f"TF.js {self.tfjs_version} in Node {self.node_version} ({self.backend} backend): "
                f"model loaded in {_display.duration(self.load_seconds)}, {self.rows:,} rows "
                f"predicted in {_display.duration(self.predict_seconds)}, one row in "
                f"{_display.duration(self.row_seconds)}; {_display.duration(self.wall_seconds)} "
                "in all, with Node's start")
        return line if self.ok else f"FAIL: NaN or infinite scores from {line}"


def run(model_dir: str | os.PathLike[str], x: object, *, timeout: float = 300) -> NodeRun:
    """Predict ``x`` with the converted model in the real TF.js runtime (Node), with timings.

    >>> r = run("web/fraud", fraud.test.x)
    >>> r.scores.shape, r.tfjs_version
    ((4001, 1), '4.22.0')
    """
    path = Path(model_dir)
    arr = model_rows(path, x)
    with tempfile.TemporaryDirectory(prefix="tfjs-") as tmp:
        src, dst = Path(tmp) / "x.f32", Path(tmp) / "scores.f32"
        arr.tofile(src)
        request = {"action": "predict", "model_dir": str(path.resolve()), "input": str(src),
                   "shape": list(arr.shape), "output": str(dst)}
        answer = call_node(request, timeout)
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

    >>> predict("web/fraud", fraud.test.x[:2]).round(2)
    array([[0.12],
           [0.06]], dtype=float32)
    """
    return run(model_dir, x, timeout=timeout).scores
