"""What a version is evaluated on and what it scores: :class:`EvalSet` (named rows of any
input structure and their labels, with a fingerprint), the model's output on them, the
metrics of the model's task, and those metrics as a manifest records them.

>>> s = EvalSet("toy", [[0.0, 1.0], [1.0, 0.0]], [0, 1])
>>> s.rows, s.positives, s.fingerprint == fingerprint([[0, 1], [1, 0]], [0, 1])
(2, 1, True)
>>> images = EvalSet("images", np.zeros((3, 8, 8, 1)), [0, 7, 9])
>>> images.rows, images.positives, images.describe()
(3, None, '3 rows; shape (3, 8, 8, 1) float32; labels: 3 distinct values (0, 7, 9)')

A binary, multi-class or regression model is measured on its own task (read from the
labels and the model's output, or ``task=``): :func:`measure` gives :class:`Metrics`,
:class:`MulticlassMetrics` or :class:`RegressionMetrics`, :func:`metrics_record` writes
them into a manifest and :func:`metrics_from_record` reads them back into the same class
(a manifest written before tasks existed holds a binary classifier's counts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import numpy as np

from course_lib import _inputs
from course_lib.errors import InvalidInputError
from course_lib.metrics import (
    METRIC_NAMES,
    MULTICLASS_METRICS,
    REGRESSION_METRICS,
    AnyMetrics,
    Metrics,
    MulticlassMetrics,
    RegressionMetrics,
    binary_labels,
    check_task,
    detect_task,
)
from course_lib.metrics.tasks import class_ids, regression_values
from course_lib.registry.names import SCHEMA

#: The metrics a manifest records for each task (what a policy rule may name).
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "binary": METRIC_NAMES,
    "multiclass": (*MULTICLASS_METRICS, "macro_precision", "macro_recall", "macro_f1"),
    "regression": REGRESSION_METRICS,
}
#: Every metric name a rule may name, in display order.
ALL_METRICS: tuple[str, ...] = ("recall", "precision", "accuracy", "f1", "macro_precision",
                                "macro_recall", "macro_f1", "mae", "rmse", "r2", "max_error")
#: Errors in the target's units: lower is better, and a drop allowance is relative to them.
ERRORS = frozenset({"mae", "rmse", "max_error"})
#: How a task is named in messages.
TASK_WORDS = {"binary": "a binary classifier", "multiclass": "a multi-class classifier",
              "regression": "a regression"}


def fingerprint(x: object, y: object) -> str:
    """A sha256 of an evaluation set's inputs and labels (every input, with names and shapes).

    Two versions are only compared when their evaluation sets have the same fingerprint.
    One numeric array with whole-number labels (a classifier's test set) is digested as
    the registry always did (x as float32, y as int64), so versions published before keep
    comparing with new ones; several inputs, text, or fractional targets are digested
    with :func:`course_lib._inputs.fingerprint`.

    >>> a = fingerprint([[1.0, 2.0]], [1])
    >>> same = fingerprint(np.array([[1, 2]], dtype="float64"), [1])
    >>> a == same, a == fingerprint([[1.0, 2.5]], [1])
    (True, False)
    >>> fingerprint([[1.0]], [151.0]) == fingerprint([[1.0]], [151.5])
    False
    """
    xs = _inputs.read(x)
    ys = np.asarray(y)
    whole = ys.dtype == bool or np.issubdtype(ys.dtype, np.integer) or (
        np.issubdtype(ys.dtype, np.floating) and bool(np.isfinite(ys).all())
        and bool((ys == np.round(ys)).all()))
    if isinstance(xs, np.ndarray) and xs.dtype.kind in "biuf" and whole:
        xa = np.ascontiguousarray(xs.astype(np.float32))
        ya = np.ascontiguousarray(ys.reshape(-1).astype(np.int64))
        digest = hashlib.sha256(f"{SCHEMA} x{xa.shape} y{ya.shape}\n".encode())
        digest.update(xa.tobytes())
        digest.update(ya.tobytes())
        return digest.hexdigest()
    if ys.dtype.kind in "biuf":
        ya, kind = np.ascontiguousarray(ys.astype(np.float64)), "float64"
    else:
        ya, kind = np.ascontiguousarray(ys.astype(str)), "text"
    digest = hashlib.sha256(
        f"{SCHEMA} inputs {_inputs.fingerprint(xs)} y{ya.shape} {kind}\n".encode())
    digest.update(ya.tobytes())
    return digest.hexdigest()


class EvalSet:
    """A named evaluation set: inputs of any structure, labels of any task, and a fingerprint.

    >>> EvalSet("toy", [[0.0, 1.0], [1.0, 0.0]], [0, 1])
    EvalSet('toy', rows=2, positives=1, fingerprint='05aa6d16f701')
    >>> EvalSet("scores", {"a": np.zeros((2, 3)), "b": np.ones((2, 1))}, [1.5, 2.25])
    EvalSet('scores', rows=2, inputs 'a' (2, 3) float32, 'b' (2, 1) float32, fingerprint='68d7fdfcfd9d')

    ``x`` is what the model takes: one array of any rank (rows first), or a dict (by input
    name) or list of arrays. ``y`` holds one label per row: 0/1, booleans, class ids,
    one-hot rows, class names (``class_names`` gives their order; for a binary task the
    second is the positive class) or numbers for a regression. ``task`` ("binary",
    "multiclass", "regression") is read from the labels and the model's output when the
    set is used, unless given. The fingerprint covers every input and the labels and
    travels into every manifest: versions evaluated on different rows are refused by
    :meth:`ModelRegistry.compare` and by the promotion policy's drop rule.
    """

    def __init__(self, name: str, x: object, y: object, *, task: str | None = None,
                 class_names: Sequence[str] | None = None) -> None:
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InvalidInputError(
                f"expected the evaluation set's name to be a short non-empty text; found {name!r}. "
                'Fix: name it after its rows, e.g. EvalSet("test", x_test, y_test).'
            )
        xs = _inputs.check(x)
        rows = _inputs.n_rows(xs)
        labels = _labels(y)
        if labels.shape[0] != rows:
            raise InvalidInputError(
                f"expected one label per row: x has {rows} rows but y has {labels.shape[0]} "
                "labels. Fix: take x and y from the same split, e.g. x_test and y_test."
            )
        self.task = None if task is None else check_task(task)
        self.class_names = None if class_names is None else tuple(str(c) for c in class_names)
        labelled = self.task or detect_task(labels)  # from the labels alone: a first check
        _check_labels(labels, labelled, self.class_names)
        self._positives = (int(binary_labels(labels, self.class_names)[0].sum())
                           if labelled == "binary" else None)
        self.name = name
        self.x = xs
        self.y = labels
        self.fingerprint = fingerprint(xs, labels)

    @property
    def rows(self) -> int:
        """Number of rows."""
        return _inputs.n_rows(self.x)

    @property
    def positives(self) -> int | None:
        """Number of rows of the positive class (label 1), or None when the labels are not binary."""
        return self._positives

    def first_row(self) -> _inputs.Inputs:
        """The first row of every input (what latency is measured on)."""
        return _inputs.take(self.x, slice(0, 1))

    def describe(self) -> str:
        """Rows, inputs and labels in one line."""
        values = np.unique(self.y.astype(str) if self.y.dtype.kind in "USO" else self.y)
        shown = ", ".join(str(v) for v in values[:3].tolist()) + (", ..." if len(values) > 3 else "")
        task = f"{self.task}; " if self.task else ""
        return (f"{_inputs.describe(self.x)}; labels: {task}{len(values):,} distinct values "
                f"({shown})")

    def __repr__(self) -> str:
        positives = self.positives
        if positives is not None:
            shown = f"positives={positives}"
        else:
            described = _inputs.describe(self.x).split("; ", 1)[1]
            shown = f"{self.task}, {described}" if self.task else described
        return f"EvalSet({self.name!r}, rows={self.rows}, {shown}, fingerprint={self.fingerprint[:12]!r})"


def _labels(y: object) -> np.ndarray:
    try:
        arr = np.asarray(y)
    except Exception as exc:  # ragged lists and the like
        raise InvalidInputError(f"expected y as one label per row; could not read it ({exc}).") \
            from exc
    if arr.dtype == object:
        arr = arr.astype(str)
    if arr.ndim == 0 or arr.shape[0] == 0 or arr.ndim > 2:
        raise InvalidInputError(
            f"expected y as one label per row (a 1-D array, or one-hot rows); found shape "
            f"{arr.shape}. Fix: pass the labels of the rows in x, e.g. y_test.")
    if arr.dtype.kind in "biuf" and not np.isfinite(arr.astype(np.float64)).all():
        raise InvalidInputError(
            "expected finite labels in y; found NaN or infinity. Fix: drop the rows without a "
            "label.")
    return arr


def _check_labels(y: np.ndarray, task: str, class_names: tuple[str, ...] | None) -> None:
    if task == "binary":
        binary_labels(y, class_names)
    elif task == "multiclass":
        class_ids(y, class_names)
    else:
        regression_values(y, "y")


def check_eval_set(eval_set: object) -> EvalSet:
    """``eval_set`` if it is an :class:`EvalSet`; a clear error otherwise.

    >>> check_eval_set(EvalSet("toy", [[0.0]], [1])).rows
    1
    """
    if not isinstance(eval_set, EvalSet):
        raise InvalidInputError(
            "expected an EvalSet (named rows with a fingerprint); found "
            f"{type(eval_set).__name__}. "
            'Fix: EvalSet("test", x_test, y_test).'
        )
    return eval_set


# -- the model's output -----------------------------------------------------------------------


def single_output(out: object, where: str) -> np.ndarray:
    """The one output of a model's prediction (an array, or a dict or list of one array).

    >>> single_output({"digit": np.zeros((2, 10))}, "the model").shape
    (2, 10)
    >>> single_output({"a": np.zeros(2), "b": np.zeros(2)}, "the model")
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidInputError: expected the model to have one output to measure; found 2 ('a', 'b'). Fix: compute the metrics of the output that matters and pass them, e.g. metrics=Metrics.from_predictions(y, model.predict(x)['a']), or publish a model with that one output.
    """
    if isinstance(out, Mapping):
        names, parts = [repr(str(k)) for k in out], list(out.values())
    elif isinstance(out, (list, tuple)) and out and all(hasattr(p, "shape") for p in out):
        names, parts = [str(i) for i in range(len(out))], list(out)  # a list of outputs
    else:
        return np.asarray(out)
    if len(parts) != 1:
        raise InvalidInputError(
            f"expected {where} to have one output to measure; found {len(parts)} "
            f"({', '.join(names)}). Fix: compute the metrics of the output that matters and pass "
            f"them, e.g. metrics=Metrics.from_predictions(y, model.predict(x)[{names[0]}]), or "
            "publish a model with that one output."
        )
    return np.asarray(parts[0])


def model_specs(model: Any) -> list[SimpleNamespace] | None:
    """A Keras model's inputs as specs for :func:`course_lib._inputs.check` (None if unknown)."""
    try:
        tensors = list(model.inputs or ())
    except (AttributeError, ValueError):
        return None
    if not tensors:
        return None
    return [SimpleNamespace(name=getattr(t, "name", f"input {i}"), shape=tuple(t.shape),
                            dtype=str(getattr(t, "dtype", "float32")))
            for i, t in enumerate(tensors)]


def keras_inputs(model: Any, x: object) -> _inputs.Inputs:
    """``x`` checked against a Keras model's inputs (names, shapes, dtypes), as a call takes it."""
    return _inputs.check(x, model_specs(model))


def keras_output(model: Any, x: object, batch_size: int = 4096) -> np.ndarray:
    """A Keras model's single output on every row of ``x``, by direct calls in batches.

    ``x`` is checked against the model's inputs first (names, shapes, dtypes).
    """
    xs = keras_inputs(model, x)
    parts = [single_output(model(batch, training=False), "the model")
             for batch in _inputs.batches(xs, batch_size)]
    return np.concatenate([np.asarray(p) for p in parts])


# -- metrics of the task ------------------------------------------------------------------------


def measure(eval_set: EvalSet, output: object, threshold: float = 0.5, *,
            task: str | None = None) -> AnyMetrics:
    """The metrics of a model's output on ``eval_set``, for ``task``, else the set's task, else
    the one its labels and the output show.

    >>> s = EvalSet("toy", [[0.0], [1.0], [2.0]], [0, 2, 1])
    >>> type(measure(s, [[0.8, 0.1, 0.1], [0.1, 0.2, 0.7], [0.2, 0.6, 0.2]])).__name__
    'MulticlassMetrics'
    """
    out = single_output(output, "the model")
    if out.ndim == 0 or out.shape[0] != eval_set.rows:
        raise InvalidInputError(
            f"expected one prediction per row of {eval_set.name!r} ({eval_set.rows:,}); found "
            f"output of shape {out.shape}. Fix: predict on the set's rows.")
    task = task or eval_set.task or detect_task(eval_set.y, out)
    return Metrics.from_predictions(eval_set.y, out, threshold, task=task,
                                    class_names=eval_set.class_names)


def metric_value(metrics: AnyMetrics, name: str) -> float:
    """One metric of a version, by a name its task records (``macro_f1`` for multi-class...)."""
    if name not in TASK_METRICS[metrics.task]:
        raise KeyError(name)
    return metrics.get(name)


def task_metric_names(task: str) -> str:
    """``"accuracy, precision, recall, f1"``: the metrics a task records (for messages)."""
    return ", ".join(TASK_METRICS[task])


def metrics_record(metrics: AnyMetrics) -> dict[str, Any]:
    """The metrics as the manifest records them (a binary classifier's as they always were).

    >>> metrics_record(Metrics.from_counts(tp=1, fp=0, fn=0, tn=1))["tp"]
    1
    """
    record: dict[str, Any] = dict(metrics.as_dict())
    if isinstance(metrics, MulticlassMetrics):
        record["per_class"] = [list(row) for row in metrics.per_class]
        record["notes"] = list(metrics.notes)
    return record


def metrics_from_record(evaluation: Mapping[str, Any]) -> AnyMetrics:
    """The metrics of a manifest's ``evaluation`` record, as the class that wrote them.

    A record without ``task`` (written before tasks existed) is a binary classifier's.

    >>> record = {"threshold": 0.5, "metrics": {"tp": 1, "fp": 0, "fn": 0, "tn": 1}}
    >>> metrics_from_record(record).accuracy
    1.0
    """
    m = evaluation["metrics"]
    task = evaluation.get("task") or m.get("task") or "binary"
    if task == "binary":
        metrics = Metrics.from_counts(tp=m["tp"], fp=m["fp"], fn=m["fn"], tn=m["tn"])
        names = evaluation.get("class_names")
        return replace(metrics, threshold=float(evaluation["threshold"]),
                       **({"class_names": tuple(names)} if names else {}))
    if task == "multiclass":
        return MulticlassMetrics(
            confusion_matrix=np.asarray(m["confusion_matrix"], dtype=np.int64),
            class_names=tuple(str(c) for c in m["class_names"]),
            accuracy=float(m["accuracy"]), precision=float(m["precision"]),
            recall=float(m["recall"]), f1=float(m["f1"]),
            per_class=tuple((str(n), float(p), float(r), float(f), int(s))
                            for n, p, r, f, s in m["per_class"]),
            notes=tuple(m.get("notes", ())))
    if task == "regression":
        return RegressionMetrics(n=int(m["n"]), mae=float(m["mae"]), rmse=float(m["rmse"]),
                                 r2=float(m["r2"]), max_error=float(m["max_error"]),
                                 worst_row=int(m["worst_row"]))
    raise ValueError(f"unknown task {task!r}")


def check_metrics(metrics: object, eval_set: EvalSet) -> AnyMetrics:
    """Given metrics, if they are metrics of ``eval_set``'s rows (and of its task, when it has one)."""
    if not isinstance(metrics, (Metrics, MulticlassMetrics, RegressionMetrics)):
        raise InvalidInputError(
            f"expected metrics as a metrics value (Metrics.from_predictions); found "
            f"{type(metrics).__name__}."
        )
    if metrics.total != eval_set.rows:
        raise InvalidInputError(
            f"expected metrics computed on the {eval_set.rows:,} rows of {eval_set.name!r}; "
            "they count "
            f"{metrics.total:,} examples. Fix: compute them on that set, or leave metrics= out."
        )
    if eval_set.task is not None and metrics.task != eval_set.task:
        raise InvalidInputError(
            f"expected metrics of {TASK_WORDS[eval_set.task]} (the task of {eval_set.name!r}); "
            f"found the metrics of {TASK_WORDS[metrics.task]}. Fix: compute them with "
            f"task={eval_set.task!r}, or leave metrics= out."
        )
    return metrics
