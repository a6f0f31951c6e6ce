"""A converted model run by TF.js inside the learner's own JupyterLab page (an anywidget).

>>> run = BrowserRun("web/fraud", fraud.val.x[:20], model, fraud.val.y[:20])
>>> run
BrowserRun('fraud', 20 rows): open this lesson in JupyterLab to run it in your browser

:class:`BrowserRun` is a widget. Displayed in JupyterLab, its JavaScript (``browser.js``)
asks the kernel for the model; the kernel checks the model's files against their record
(:func:`~course_lib.tfjs.integrity.check_files`, a tampered file is refused) and sends
``model.json``, the weight shards, the rows and the TF.js files the package ships in
``static/`` (``@tensorflow/tfjs``'s ``dist/tf.fesm.min.js``, and for ``wasm``
``@tensorflow/tfjs-backend-wasm``'s ``dist/tf-backend-wasm.es2017.min.js`` with its two
single-thread ``.wasm`` binaries: the page makes Blob URLs of them, so nothing is fetched
from the network). The page then, for each back end it has (``cpu``; ``webgl`` where the
browser offers WebGL; ``wasm`` where it runs WebAssembly, one thread), loads the model,
times the first call, predicts every row, times one-row calls, and sends the predictions
back. The kernel compares them with the source model's (computed once, in Python):
the largest difference, the rows whose class changed, and, with labels, every metric
within :data:`~course_lib.tfjs.parity.SEED_TOLERANCE` (:func:`course_lib.metrics.compare`).

Where no browser runs the widget's JavaScript (``nbconvert --execute``, plain pytest) the
widget stays in its first state and says so. :meth:`BrowserRun.receive` is what the page's
message does, so the Python side is tested without a browser.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from course_lib import _display, _inputs
from course_lib.errors import InvalidInputError, TfjsRuntimeError
from course_lib.metrics import Comparison, Metrics, compare
from course_lib.tfjs.integrity import check_files, read_model_json, shard_paths
from course_lib.tfjs.parity import SEED_TOLERANCE, reference_outputs
from course_lib.tfjs.runtime import graph_signature, node_modules

__all__ = ["BACKENDS", "BUNDLE", "SHIPPED", "WASM_FILES", "BackendResult", "BrowserRun",
           "bundle_path", "wasm_paths"]

#: The back ends the page tries, in order (one at a time: ``tf.setBackend`` is global).
BACKENDS: tuple[str, ...] = ("cpu", "webgl", "wasm")
#: The TF.js bundle, relative to ``@tensorflow/tfjs``; the package ships a copy in ``static/``
#: (``@tensorflow/tfjs`` 4.22.0, Apache-2.0: the licence is in the file's header).
BUNDLE = "dist/tf.fesm.min.js"
SHIPPED = Path(__file__).parent / "static" / "tf.fesm.min.js"
#: The wasm back end for the page, relative to ``@tensorflow/tfjs-backend-wasm``: its build
#: that registers on the ``tf`` it is given (the ES5 build fails beside the ES module), and
#: the plain and SIMD binaries (the threaded one needs a cross-origin-isolated page).
#: The package ships copies in ``static/`` (4.22.0, Apache-2.0; see ``static/README.md``).
WASM_FILES: tuple[str, ...] = ("dist/tf-backend-wasm.es2017.min.js", "dist/tfjs-backend-wasm.wasm",
                               "dist/tfjs-backend-wasm-simd.wasm")
#: One-row calls timed per back end.
SINGLE_ROWS = 20
WAITING = "open this lesson in JupyterLab to run it in your browser"


def bundle_path() -> Path:
    """The TF.js bundle the page imports: the package's copy, else ``node_modules``'s.

    >>> bundle_path().name
    'tf.fesm.min.js'
    """
    shipped = SHIPPED
    if shipped.is_file():
        return shipped
    found = node_modules() / "@tensorflow" / "tfjs" / BUNDLE
    if not found.is_file():
        raise TfjsRuntimeError(
            f"expected the TF.js bundle at {shipped} or {found}; neither exists. "
            "Fix: run `npm ci` in the course folder (make setup), or install the course's wheel."
        )
    return found


def wasm_paths() -> tuple[Path, ...] | None:
    """The wasm back end's script and binaries for the page (:data:`WASM_FILES`): the
    package's copies, else ``node_modules``'s; None when neither has them all.

    >>> [p.name for p in wasm_paths()]
    ['tf-backend-wasm.es2017.min.js', 'tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']
    """
    shipped = tuple(SHIPPED.parent / Path(f).name for f in WASM_FILES)
    if all(p.is_file() for p in shipped):
        return shipped
    try:
        root = node_modules() / "@tensorflow" / "tfjs-backend-wasm"
    except TfjsRuntimeError:
        return None
    found = tuple(root / f for f in WASM_FILES)
    return found if all(p.is_file() for p in found) else None


@dataclass(frozen=True)
class BackendResult:
    """One back end's run in the page: its timings and the parity of its predictions."""

    backend: str
    available: bool
    why: str = ""
    load_seconds: float = 0.0
    first_call_seconds: float = 0.0
    batch_seconds: float = 0.0
    row_seconds: float = 0.0
    rows: int = 0
    max_abs_diff: float = float("nan")
    changed_rows: int = 0
    comparison: Comparison | None = None
    tolerance: float = SEED_TOLERANCE

    @property
    def ok(self) -> bool:
        """Ran, no row changed class, and every metric (with labels) within the tolerance."""
        return self.available and self.changed_rows == 0 and (
            self.comparison is None or self.comparison.ok)

    def __str__(self) -> str:
        if not self.available:
            return f"{self.backend}: not available in this browser ({self.why})"
        metrics = ("" if self.comparison is None else
                   f"; every metric within {self.tolerance:g} of Keras: "
                   f"{'yes' if self.comparison.ok else 'NO'}")
        return (f"{self.backend}: model loaded in {_display.duration(self.load_seconds)}, "
                f"first call {_display.duration(self.first_call_seconds)}, "
                f"{self.rows:,} rows in {_display.duration(self.batch_seconds)}, one row in "
                f"{_display.duration(self.row_seconds)}; largest difference from Keras "
                f"{self.max_abs_diff:.2g}, {self.changed_rows} rows changed class{metrics}")


def _one_output(model_dir: Path) -> tuple[str, tuple[int | None, ...]]:
    sig = graph_signature(model_dir)
    if len(sig.inputs) != 1 or len(sig.outputs) != 1:
        raise InvalidInputError(
            f"expected a graph model with one input and one output for the browser run; "
            f"{model_dir} has {len(sig.inputs)} inputs and {len(sig.outputs)} outputs. "
            "Fix: use tfjs.verify (in Node) for models with several inputs or outputs."
        )
    return sig.output_names[0], sig.inputs[0].shape or ()


class BrowserRun(anywidget.AnyWidget):  # type: ignore[misc]
    """Run a converted graph model in this page's TF.js and compare it with the source model.

    ``reference``: the source ``keras.Model`` (or a SavedModel path, or its outputs);
    ``y``: labels for the metrics (None compares the outputs only). ``results`` holds one
    :class:`BackendResult` per back end once the page has sent its predictions.
    """

    _esm = Path(__file__).with_name("browser.js")
    model_name = traitlets.Unicode("").tag(sync=True)
    n_rows = traitlets.Int(0).tag(sync=True)
    backends = traitlets.List(traitlets.Unicode()).tag(sync=True)
    waiting = traitlets.Unicode(WAITING).tag(sync=True)
    #: One line per back end, set by the kernel when the page's predictions arrive.
    lines = traitlets.List(traitlets.Unicode()).tag(sync=True)
    verdict = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, model_dir: str | os.PathLike[str], x: object, reference: Any,
                 y: object = None, *, backends: tuple[str, ...] = BACKENDS,
                 tolerance: float = SEED_TOLERANCE, threshold: float = 0.5) -> None:
        path = Path(model_dir)
        self._files = check_files(path)  # refuses a tampered folder before anything else
        self._output, _shape = _one_output(path)
        sig = graph_signature(path)
        data = _inputs.check(x, sig.inputs)
        if not isinstance(data, np.ndarray):
            raise InvalidInputError("expected one array of rows for a one-input model.")
        self._x = np.ascontiguousarray(data, dtype="<f4")
        outs, _ = reference_outputs(reference, data, sig.output_names)
        self._reference = np.asarray(outs[self._output], dtype=np.float64).reshape(len(data), -1)
        self._y = None if y is None else np.asarray(y).reshape(-1)
        if self._y is not None and len(self._y) != len(data):
            raise InvalidInputError(f"expected {len(data):,} labels, one per row; found "
                                    f"{len(self._y):,}.")
        unknown = [b for b in backends if b not in BACKENDS]
        if unknown or not backends:
            raise InvalidInputError(f"expected back ends among {list(BACKENDS)}; found "
                                    f"{list(backends)}.")
        self._path, self._tolerance, self._threshold = path, tolerance, threshold
        self.results: dict[str, BackendResult] = {}
        super().__init__(model_name=path.name, n_rows=len(data), backends=list(backends))
        self.on_msg(self._on_message)

    def __repr__(self) -> str:
        state = WAITING if not self.results else f"{len(self.results)} back ends measured"
        return f"BrowserRun({self.model_name!r}, {self.n_rows:,} rows): {state}"

    @property
    def ok(self) -> bool:
        """Every back end that ran kept parity (and at least one ran)."""
        ran = [r for r in self.results.values() if r.available]
        return bool(ran) and all(r.ok for r in ran)

    def payload(self, with_bundle: bool = True,
                with_wasm: bool = True) -> tuple[dict[str, Any], list[bytes]]:
        """What the kernel sends the page: the model, the rows, and the TF.js files it lacks.

        ``content["parts"]`` names the buffers in order: ``shards`` and ``rows``, then
        ``tf`` (the bundle) unless the page has it, then ``wasm_js``, ``wasm`` and
        ``wasm_simd`` when ``wasm`` is asked for and the page has not loaded it yet.
        ``content["wasm_missing"]`` says why the wasm files could not be sent ("" if sent).
        """
        meta = read_model_json(self._path)
        shards = b"".join((self._path / rel).read_bytes()
                          for rel in shard_paths(self._path, meta))
        content: dict[str, Any] = {
            "type": "model", "model_json": meta, "shape": list(self._x.shape),
            "backends": list(self.backends), "single_rows": SINGLE_ROWS,
            "note": self._files.note, "wasm_missing": ""}
        parts, buffers = ["shards", "rows"], [shards, self._x.tobytes()]
        if with_bundle:
            parts.append("tf")
            buffers.append(bundle_path().read_bytes())
        if with_wasm and "wasm" in self.backends:
            wasm = wasm_paths()
            if wasm is None:
                content["wasm_missing"] = (
                    "@tensorflow/tfjs-backend-wasm is not shipped with this course_lib, nor "
                    "installed in node_modules (npm ci installs it)")
            else:
                parts += ["wasm_js", "wasm", "wasm_simd"]
                buffers += [p.read_bytes() for p in wasm]
        content["parts"] = parts
        return content, buffers

    def _on_message(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        try:
            if content.get("type") == "ready":
                body, data = self.payload(with_bundle=not content.get("has_tf", False),
                                          with_wasm=not content.get("has_wasm", False))
                self.send(body, data)
            elif content.get("type") == "result":
                self.receive(content, buffers[0] if buffers else None)
            elif content.get("type") == "error":
                self.error = str(content.get("message", "the page reported an error"))
        except Exception as exc:  # noqa: BLE001 - shown in the widget: a callback's traceback is lost
            self.error = f"{type(exc).__name__}: {exc}"

    def receive(self, content: dict[str, Any], predictions: Any = None) -> BackendResult:
        """One back end's message from the page: its timings, and its predictions (float32)."""
        backend = str(content.get("backend", ""))
        if backend not in self.backends:
            raise InvalidInputError(f"expected a result for one of {list(self.backends)}; "
                                    f"found {backend!r}.")
        if not content.get("available", False):
            result = BackendResult(backend, False, str(content.get("why", "")))
        else:
            result = self._judge(backend, content, predictions)
        self.results[backend] = result
        self.lines = [str(self.results[b]) for b in self.backends if b in self.results]
        ran = [r for r in self.results.values() if r.available]
        if len(self.results) == len(self.backends):
            self.verdict = (("OK" if self.ok else "FAIL") + f": {len(ran)} of "
                            f"{len(self.backends)} back ends ran in this page; parity with Keras "
                            f"{'kept' if self.ok else 'broken'} on every one that ran")
        return result

    def _judge(self, backend: str, content: dict[str, Any], predictions: Any) -> BackendResult:
        if predictions is None:
            raise InvalidInputError(f"expected the {backend} predictions with its result.")
        raw = predictions.tobytes() if hasattr(predictions, "tobytes") else bytes(predictions)
        scores = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        if scores.size != self._reference.size:
            raise InvalidInputError(f"expected {self._reference.size:,} predictions from "
                                    f"{backend}; found {scores.size:,}.")
        scores = scores.reshape(self._reference.shape)
        t = self._threshold
        changed = int(((scores >= t) != (self._reference >= t)).any(axis=1).sum())
        comparison = None
        if self._y is not None and self._reference.shape[1] == 1:
            before = Metrics.from_predictions(self._y, self._reference[:, 0], threshold=t)
            after = Metrics.from_predictions(self._y, scores[:, 0], threshold=t)
            comparison = compare(before, after, self._tolerance, labels=("Keras", backend))
        ms = {k: float(content.get(k, 0.0)) / 1000 for k in
              ("load_ms", "first_ms", "batch_ms", "row_ms")}
        return BackendResult(backend, True, load_seconds=ms["load_ms"],
                             first_call_seconds=ms["first_ms"], batch_seconds=ms["batch_ms"],
                             row_seconds=ms["row_ms"], rows=int(scores.shape[0]),
                             max_abs_diff=float(np.abs(scores - self._reference).max()),
                             changed_rows=changed, comparison=comparison,
                             tolerance=self._tolerance)
