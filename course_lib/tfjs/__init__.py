"""Convert a model to TensorFlow.js, run it in the real TF.js runtime, check parity.

>>> from course_lib import tfjs
>>> tfjs.QUANTIZATIONS
(None, 'float16', 'uint16', 'uint8')
>>> done = tfjs.convert(model, "web/fraud", quantize="float16")
>>> print(done.signature_text())
takes features: float32 (n, 8); returns output_0: float32 (n, 1)
>>> scores = tfjs.predict("web/fraud", fraud.test.x)
>>> tfjs.verify("web/fraud", model, fraud.test.x, fraud.test.y).ok
True

Any Keras model goes through: binary, multi-class or regression; inputs of any rank, one
or several (a dict by input name); one or several outputs (a dict by output name).

One submodule per step:

* :mod:`~course_lib.tfjs.conversion`: :func:`convert` runs the ``tensorflowjs``
  converter (in this process, its log lines caught) from a SavedModel to a TF.js
  **graph model**: the path that works with Keras 3. A ``keras.Model`` is first
  exported with :func:`course_lib.persistence.save`. Weights can be stored as
  float32 (the default), float16 or uint8. The :class:`Conversion` records the graph's
  inputs and outputs (names, shapes, dtypes), the inputs in the Keras model's order.
* :mod:`~course_lib.tfjs.integrity`: :func:`check_files` keeps every file TF.js reads
  inside the model folder (no ``..``, absolute path or symbolic link) and compares it
  with :data:`RECORD` (``files.sha256.json``, the sha256 and size of every file
  :func:`convert` wrote); :func:`predict`, :func:`run`, :func:`verify`, the Node runner
  and the browser page refuse a difference (:class:`~course_lib.errors.TamperedModelError`).
  :func:`record_files` writes the record for a folder converted otherwise
  (``tensorflowjs_converter``); without one the files are kept inside the folder but not
  checked, and the result says so. The record catches accidents (truncation, a flipped
  byte, a swapped shard), not someone who rewrites the files and the record.
* :mod:`~course_lib.tfjs.runtime`: :func:`predict` / :func:`run` run the model in the
  real TF.js runtime: ``@tensorflow/tfjs`` in Node, started as a subprocess on
  ``course_lib/tfjs/runtime.js``, on inputs checked against the graph's signature
  first; :func:`find_node_modules` is where it is looked for.
* :mod:`~course_lib.tfjs.parity`: :func:`verify` compares the TF.js outputs with the
  source model's (rows whose class changed, the largest difference) and, with labels,
  the task's metrics (:func:`course_lib.metrics.compare`, 0.02 = the seed's 2 points);
  :func:`check_budget` adds a size budget.
* :mod:`~course_lib.tfjs.quantization`: :func:`compare_quantizations` does all of it
  for several weight types.
* :mod:`~course_lib.tfjs.browser`: :class:`BrowserRun` (an anywidget, imported on first
  use) runs the model with TF.js inside the learner's JupyterLab page, on the back ends
  the browser has, and compares its predictions with the source model's in the kernel.
* :func:`save_layers_model` and :func:`load_layers_model` (from
  :mod:`course_lib.teaching`) show the pitfall: a Keras 3 model written as a TF.js
  *layers* model, which TF.js 4.22 refuses.

Where ``@tensorflow/tfjs`` is looked for (:func:`node_modules`): the folder in
``COURSE_LIB_NODE_MODULES`` if set, else the repository checkout's
``node_modules`` (made by ``npm ci``), else each folder of ``NODE_PATH``.
"""

from __future__ import annotations

import os

from course_lib.errors import ConversionError, TfjsRuntimeError
from course_lib.teaching import LayersLoad, load_layers_model, save_layers_model
from course_lib.tfjs.conversion import (
    CONVERTER_NOISE,
    QUANTIZATIONS,
    Conversion,
    WeightInfo,
    caught_output,
    convert,
)
from course_lib.tfjs.integrity import RECORD, FileCheck, check_files, record_files
from course_lib.tfjs.parity import (
    MAX_SIZE_BYTES,
    SEED_TOLERANCE,
    Agreement,
    BudgetResult,
    Parity,
    check_budget,
    verify,
)
from course_lib.tfjs.quantization import (
    Quantization,
    QuantizationReport,
    compare_quantizations,
    download_bytes,
)
from course_lib.tfjs.runtime import (
    INTERACTION_BUDGET_SECONDS,
    TFJS_VERSION,
    GraphSignature,
    NodeRun,
    find_node_modules,
    graph_signature,
    node_modules,
    predict,
    run,
)

# TF-DF (which tensorflowjs imports) shows an HTML banner in notebooks unless told not to.
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")

__all__ = [
    "CONVERTER_NOISE",
    "INTERACTION_BUDGET_SECONDS",
    "MAX_SIZE_BYTES",
    "QUANTIZATIONS",
    "RECORD",
    "SEED_TOLERANCE",
    "TFJS_VERSION",
    "Agreement",
    "BrowserRun",
    "BudgetResult",
    "Conversion",
    "ConversionError",
    "FileCheck",
    "GraphSignature",
    "LayersLoad",
    "NodeRun",
    "Parity",
    "Quantization",
    "QuantizationReport",
    "TfjsRuntimeError",
    "WeightInfo",
    "caught_output",
    "check_budget",
    "check_files",
    "compare_quantizations",
    "convert",
    "download_bytes",
    "find_node_modules",
    "graph_signature",
    "load_layers_model",
    "node_modules",
    "predict",
    "record_files",
    "run",
    "save_layers_model",
    "verify",
]


def __getattr__(name: str) -> object:
    """:class:`BrowserRun` on first use (it imports anywidget and ipywidgets)."""
    if name == "BrowserRun":
        from course_lib.tfjs.browser import BrowserRun

        return BrowserRun
    raise AttributeError(f"module 'course_lib.tfjs' has no attribute {name!r}")
