"""Helpers that exist to teach, kept apart from the reusable library.

>>> from course_lib import teaching
>>> sorted(teaching.__all__)
['LayersLoad', 'QualityVerdict', 'Standardizer', 'fit_standardizer', 'flip_byte', 'forge_version', 'load_layers_model', 'quality_verdict', 'quiet_tf_logs', 'save_layers_model', 'tree']

They damage a file on purpose (:func:`flip_byte`), forge a registry version as someone who
can write its folder would (:func:`forge_version`), print a folder (:func:`tree`) and keep
scaling outside a model (:class:`Standardizer`, the lesson 01 pitfall), keep TensorFlow's
harmless log lines out of a cell whose raw TensorFlow call prints them (:func:`quiet_tf_logs`,
lesson 02's TF Lite converter and interpreter) and hold a classifier's metrics against the
rule of thumb for a good model after loading (:func:`quality_verdict`, lesson 03). Your own project
will rarely need them; the lessons use them to show a failure for real:
:func:`save_layers_model` writes a Keras 3 model as a TF.js *layers* model, which
:func:`load_layers_model` shows TF.js 4.22 refusing (lesson 05's version-mismatch pitfall).
"""

from __future__ import annotations

import contextlib
import html
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from course_lib import _checks, _display, _fs, _tf
from course_lib.errors import ConversionError, InvalidInputError, ModelFileError
from course_lib.metrics import Metrics

if TYPE_CHECKING:
    from course_lib.tfjs.conversion import Conversion

__all__ = [
    "LayersLoad", "QualityVerdict", "Standardizer", "fit_standardizer", "flip_byte",
    "forge_version", "load_layers_model", "quality_verdict", "quiet_tf_logs",
    "save_layers_model", "tree",
]


#: The warning TF 2.19 gives on creating a ``tf.lite.Interpreter`` (it moves to ai_edge_litert).
TFLITE_MOVE_WARNING = r"\s*Warning: tf\.lite\.Interpreter is deprecated"


@contextlib.contextmanager
def quiet_tf_logs() -> Iterator[None]:
    """Run the block without TensorFlow's known, harmless log lines; anything else still shows.

    The TF Lite converter writes lines such as "Ignored output_format" from C++, the
    interpreter "Created TensorFlow Lite XNNPACK delegate", and TF 2.19 warns that
    ``tf.lite.Interpreter`` moves to the ``ai_edge_litert`` package. None is an error.

    >>> with quiet_tf_logs():
    ...     warnings.warn("    Warning: tf.lite.Interpreter is deprecated and is scheduled")
    """
    with _tf.quiet_native_stderr(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=TFLITE_MOVE_WARNING, category=UserWarning)
        yield


@dataclass(frozen=True, repr=False)
class QualityVerdict(_display.Report):
    """A binary classifier's metrics against "85%+ accuracy, balanced precision and recall".

    >>> print(quality_verdict(Metrics.from_counts(tp=90, fp=15, fn=10, tn=85)))
    rule                          measured        result
    accuracy >= 0.85              0.875           yes
    |precision - recall| <= 0.05  0.857 vs 0.900  yes
    GOOD: accuracy 0.875, precision 0.857 and recall 0.900 balanced

    ``failures`` names each rule missed; the verdict says, with a low precision, how many
    negatives are flagged for each positive caught.
    """

    metrics: Metrics
    min_accuracy: float = 0.85
    max_gap: float = 0.05

    @property
    def gap(self) -> float:
        """|precision - recall|."""
        return abs(self.metrics.precision - self.metrics.recall)

    @property
    def failures(self) -> tuple[str, ...]:
        """Each rule missed, with the measured value."""
        m, out = self.metrics, []
        if m.accuracy < self.min_accuracy - 1e-12:
            out.append(f"accuracy {m.accuracy:.3f} < {self.min_accuracy:g}")
        if self.gap > self.max_gap + 1e-12:
            out.append(f"precision {m.precision:.3f} and recall {m.recall:.3f} are not balanced "
                       f"(gap {self.gap:.3f} > {self.max_gap:g})")
        return tuple(out)

    @property
    def verdict(self) -> str:
        """GOOD, or NOT GOOD with each rule missed and what a low precision costs."""
        m = self.metrics
        if self.ok:
            return (f"GOOD: accuracy {m.accuracy:.3f}, precision {m.precision:.3f} and recall "
                    f"{m.recall:.3f} balanced")
        cost = ""
        if m.tp and m.precision < m.recall:
            per = m.fp / m.tp  # below 10 with a decimal: 0.6 per catch is not 0 per catch
            shown = f"{per:.0f}" if per >= 10 else f"{per:.1f}"
            cost = f": {m.fp:,} false alarms for {m.tp:,} positives caught, {shown} per catch"
        return "NOT GOOD: " + "; ".join(self.failures) + cost

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Each rule, the value measured and whether it holds."""
        m = self.metrics
        acc_ok = m.accuracy >= self.min_accuracy - 1e-12
        gap_ok = self.gap <= self.max_gap + 1e-12
        return (["rule", "measured", "result"],
                [[f"accuracy >= {self.min_accuracy:g}", f"{m.accuracy:.3f}",
                  "yes" if acc_ok else "NO"],
                 [f"|precision - recall| <= {self.max_gap:g}",
                  f"{m.precision:.3f} vs {m.recall:.3f}", "yes" if gap_ok else "NO"]])


def quality_verdict(metrics: Metrics, *, min_accuracy: float = 0.85,
                    max_gap: float = 0.05) -> QualityVerdict:
    """Hold a binary classifier's metrics against the loading lesson's rule of a good model.

    "85%+ accuracy, balanced precision and recall": ``min_accuracy`` 0.85, and balanced
    read as lesson 04's gate reads it, ``|precision - recall| <= max_gap`` (0.05).

    >>> quality_verdict(Metrics.from_counts(tp=51, fp=1_175, fn=3, tn=2_772)).verdict
    'NOT GOOD: accuracy 0.706 < 0.85; precision 0.042 and recall 0.944 are not balanced (gap 0.903 > 0.05): 1,175 false alarms for 51 positives caught, 23 per catch'
    """
    if not isinstance(metrics, Metrics):
        raise InvalidInputError(
            f"expected a binary classifier's Metrics; found {type(metrics).__name__}. "
            "Fix: Metrics.from_predictions(y, scores) of a model with one sigmoid output.")
    min_accuracy = _checks.number("min_accuracy", min_accuracy, minimum=0, maximum=1,
                                  example=0.85)
    max_gap = _checks.number("max_gap", max_gap, minimum=0, maximum=1, example=0.05)
    return QualityVerdict(metrics, min_accuracy, max_gap)


def flip_byte(path: str | os.PathLike[str], offset: int | None = None) -> int:
    """Change one byte of a file in place (to show that :meth:`ModelRegistry.verify` catches it).

    Returns the offset changed (the middle of the file by default).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "f.bin"
    >>> _ = p.write_bytes(b"abc")
    >>> flip_byte(p), p.read_bytes()
    (1, b'a\\x9dc')
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"expected a file to change at {p}; there is none.")
    size = p.stat().st_size
    at = size // 2 if offset is None else offset
    if isinstance(at, bool) or not isinstance(at, int) or not 0 <= at < size:
        raise InvalidInputError(f"expected an offset from 0 to {size - 1}; found {offset!r}.")
    with open(p, "r+b") as f:
        f.seek(at)
        byte = f.read(1)[0]
        f.seek(at)
        f.write(bytes([byte ^ 0xFF]))
    return at


def forge_version(version_dir: str | os.PathLike[str], *, recall: float | None = None) -> str:
    """Forge a registry version as anyone who can write its folder could (lesson 04).

    Replaces the weights (``variables/variables.data-...``: every byte inverted, a stand-in
    for the forger's own weights), optionally makes the manifest claim a binary classifier's
    ``recall`` (missed positives counted as caught), then recomputes the weights' sha256 and
    size and the manifest's own checksum, with the registry's public rules. Checksums do not
    see it; a signature does. Returns what was changed, in words.

    >>> import tempfile
    >>> from course_lib.metrics import Metrics
    >>> from course_lib.registry import EvalSet, ModelRegistry
    >>> src = Path(tempfile.mkdtemp())
    >>> (src / "variables").mkdir()
    >>> _ = (src / "saved_model.pb").write_bytes(b"graph")
    >>> _ = (src / "variables" / "variables.data-00000-of-00001").write_bytes(b"weights")
    >>> reg = ModelRegistry(tempfile.mkdtemp())
    >>> rows, counts = EvalSet("toy", [[0.0]] * 4, [0, 1, 1, 0]), dict(tp=1, fp=0, fn=1, tn=2)
    >>> v = reg.publish_saved_model(src, "toy", rows, metrics=Metrics.from_counts(**counts),
    ...                             latency_ms=1.0)
    >>> print(forge_version(v.path, recall=1.0))
    replaced the weights (variables/variables.data-00000-of-00001, 7 bytes); the manifest now claims recall 1.000 (it was 0.500); recomputed the weights' sha256 and the manifest's checksum
    >>> reg.verify("toy", 1).ok                 # the checksums cannot tell
    True
    """
    import json

    from course_lib.metrics import Metrics
    from course_lib.registry.evaluation import metrics_record
    from course_lib.registry.names import MANIFEST_NAME
    from course_lib.registry.storage import manifest_bytes

    d = Path(version_dir)
    try:
        manifest = json.loads((d / MANIFEST_NAME).read_text(encoding="utf-8"))
        files, evaluation = manifest["files"], manifest["evaluation"]
    except (OSError, ValueError, KeyError, TypeError):
        raise InvalidInputError(
            f"expected a registry version folder (with a readable {MANIFEST_NAME}) at {d}; "
            "there is none. Fix: pass reg.path(name, version)."
        ) from None
    weights = sorted(rel for rel in files if rel.startswith("variables/variables.data"))
    if not weights or not (d / weights[0]).is_file():
        raise InvalidInputError(
            f"expected SavedModel weights (variables/variables.data-...) in {d}; found none. "
            "Fix: pass the folder of a version published by the registry."
        )
    rel, said = weights[0], ""
    if recall is not None:  # checked before anything is written
        target = _checks.number("recall", recall, minimum=0, maximum=1, example=0.95)
        if (evaluation.get("task") or "binary") != "binary":
            raise InvalidInputError(
                f"expected a binary classifier's version to forge a recall; found task "
                f"{evaluation.get('task')!r}. Fix: leave recall= out, or forge a binary version."
            )
        m = evaluation["metrics"]
        positives = int(m["tp"]) + int(m["fn"])
        tp = min(positives, int(np.ceil(target * positives - 1e-9)))
        was = Metrics.from_counts(tp=m["tp"], fp=m["fp"], fn=m["fn"], tn=m["tn"])
        now = Metrics.from_counts(tp=tp, fp=m["fp"], fn=positives - tp, tn=m["tn"])
        evaluation["metrics"] = {**m, **metrics_record(now)}
        said = f"; the manifest now claims recall {now.recall:.3f} (it was {was.recall:.3f})"
    inverted = np.bitwise_xor(np.fromfile(d / rel, dtype=np.uint8), 0xFF).tobytes()
    (d / rel).write_bytes(inverted)
    digest, size = _fs.sha256(d / rel)
    files[rel] = {**files[rel], "sha256": digest, "size": size}
    (d / MANIFEST_NAME).write_bytes(manifest_bytes(manifest))
    return (f"replaced the weights ({rel}, {_display.size(size)}){said}; recomputed the "
            "weights' sha256 and the manifest's checksum")


def tree(path: str | os.PathLike[str], max_depth: int = 3) -> str:
    """The folders and files under ``path`` as an indented tree (hidden entries left out).

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "fraud" / "1").mkdir(parents=True)
    >>> _ = (root / "fraud" / "1" / "saved_model.pb").write_bytes(b"")
    >>> print(tree(root).split("\\n", 1)[1])
    └── fraud/
        └── 1/
            └── saved_model.pb
    """
    root = Path(path)

    def walk(p: Path, prefix: str, depth: int) -> list[str]:
        entries = sorted(
            (e for e in p.iterdir() if not e.name.startswith(".")),
            key=lambda e: (not e.is_dir(), _sort_key(e.name)),
        )
        out = []
        for i, e in enumerate(entries):
            last = i == len(entries) - 1
            branch, slash = ("└── " if last else "├── "), ("/" if e.is_dir() else "")
            out.append(f"{prefix}{branch}{e.name}{slash}")
            if e.is_dir() and depth < max_depth:
                out += walk(e, prefix + ("    " if last else "│   "), depth + 1)
        return out

    return "\n".join([f"{root.as_posix()}/", *walk(root, "", 1)])


def _sort_key(name: str) -> tuple[int, int, str]:
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


@dataclass(frozen=True)
class Standardizer:
    """Scaling kept OUTSIDE the model: ``(x - mean) / std`` with the training rows' statistics.

    >>> scale = fit_standardizer(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> scale(np.array([[2.0, 20.0]])).tolist()
    [[0.0, 0.0]]

    Lesson 01 uses it to show the pitfall: a model trained on scaled inputs
    gets raw inputs once deployed unless every caller re-applies this object.
    """

    mean: np.ndarray
    std: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        arr = _checks.features(x, shape=(None, self.mean.shape[0]))
        return ((arr - self.mean) / self.std).astype(np.float32)


def fit_standardizer(train_x: np.ndarray) -> Standardizer:
    """Learn per-column mean and standard deviation from the training rows.

    >>> fit_standardizer(np.array([[0.0], [2.0]])).std.tolist()
    [1.0]
    """
    x = _checks.features(train_x, "train_x")
    std = x.std(axis=0)
    return Standardizer(mean=x.mean(axis=0), std=np.where(std > 0, std, 1.0).astype(np.float32))


# -- the TF.js layers-model pitfall (lesson 05) -------------------------------------------------

def save_layers_model(model: Any, out_dir: str | os.PathLike[str], *,
                      overwrite: bool = False) -> Conversion:
    """Write a Keras model as a TF.js *layers* model (``converters.save_keras_model``).

    With Keras 3 this succeeds but TF.js cannot load the result: see
    :func:`load_layers_model`. Use :func:`course_lib.tfjs.convert` (a graph model) instead.

    >>> save_layers_model(model, "web/fraud_layers").format
    'layers-model'
    """
    from course_lib.tfjs.conversion import Conversion, caught_output

    keras = _tf.keras()
    if not isinstance(model, keras.Model):
        raise InvalidInputError(
            f"expected a keras.Model; found {type(model).__name__}. Fix: pass the trained model."
        )
    target = Path(out_dir)
    tfjs = _tf.tensorflowjs()
    start = time.perf_counter()
    with _fs.staged(target, overwrite=overwrite, error=ConversionError) as tmp:
        with caught_output() as log, _tf.compile_config_kept(model):
            tfjs.converters.save_keras_model(model, str(tmp))
        seconds = time.perf_counter() - start
    return Conversion.read(target, None, seconds, log, tfjs.__version__)


@dataclass(frozen=True, repr=False)
class LayersLoad(_display.Report):
    """The outcome of asking TF.js to load a layers model: ``ok``, or TF.js's error and why.

    >>> refused = LayersLoad(Path("web/fraud_layers"), False, "An InputLayer should be passed",
    ...                      "4.22.0", "3.15.1", "Why: a version mismatch.")
    >>> print(refused)
    FAIL: TF.js 4.22.0 could not load the layers model in web/fraud_layers (written by Keras 3.15.1):
      An InputLayer should be passed
    Why: a version mismatch.
    """

    path: Path
    loaded: bool
    error: str
    tfjs_version: str
    keras_version: str
    diagnosis: str

    @property
    def ok(self) -> bool:
        """TF.js loaded the model."""
        return self.loaded

    @property
    def verdict(self) -> str:
        if self.ok:
            return (f"OK: TF.js {self.tfjs_version} loaded the layers model in "
                    f"{self.path.as_posix()}")
        return (f"FAIL: TF.js {self.tfjs_version} could not load the layers model in "
                f"{self.path.as_posix()} (written by Keras {self.keras_version})")

    def __str__(self) -> str:
        if self.ok:
            return self.verdict
        lines = [f"{self.verdict}:", f"  {self.error}"]
        return "\n".join(lines + [self.diagnosis] if self.diagnosis else lines)

    def _repr_html_(self) -> str:
        if self.ok:
            return _display.verdict_html(self.verdict, True)
        return (_display.verdict_html(self.verdict, False)
                + f"<pre>{html.escape(self.error)}</pre><p>{html.escape(self.diagnosis)}</p>")


def _diagnose(meta: dict[str, Any]) -> tuple[str, str]:
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

    >>> print(load_layers_model("web/fraud_layers"))
    FAIL: TF.js 4.22.0 could not load the layers model in web/fraud_layers (written by Keras 3.15.1):
      An InputLayer should be passed either a `batchInputShape` or an `inputShape`.
    ...
    """
    from course_lib.tfjs.conversion import read_model_json
    from course_lib.tfjs.runtime import call_node

    path = Path(model_dir)
    meta = read_model_json(path)
    if meta.get("format") != "layers-model":
        raise ModelFileError(
            f"expected a TF.js layers model in {path}; found format {meta.get('format')!r}. "
            "Fix: for a graph model use tfjs.predict(...)."
        )
    answer = call_node({"action": "load_layers", "model_dir": str(path.resolve())}, timeout)
    version, why = _diagnose(meta)
    return LayersLoad(path=path, loaded=bool(answer["ok"]), error=answer.get("error", ""),
                      tfjs_version=answer.get("tfjs_version", ""), keras_version=version,
                      diagnosis=why if not answer["ok"] else "")
