"""What a model predicts, read from its labels and output: binary, multi-class or regression.

>>> from course_lib.metrics.tasks import detect_task
>>> detect_task([0, 1, 1], [0.2, 0.7, 0.9])
'binary'
>>> detect_task([0, 2, 1], [[0.8, 0.1, 0.1], [0.1, 0.2, 0.7], [0.3, 0.6, 0.1]])
'multiclass'
>>> detect_task([151.0, 75.0, 141.0], [140.2, 80.1, 150.3])
'regression'

Labels may be 0/1, integer class ids, one-hot rows or class names; a binary model's
output may be one probability per row, an (n, 1) column or an (n, 2) softmax. These
functions turn them into one form per task, with messages that say what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from course_lib import _checks
from course_lib.errors import InvalidInputError

__all__ = ["TASKS", "class_ids", "detect_task", "predicted_classes", "probabilities",
           "regression_values"]

#: The tasks the library measures.
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")


def _read(value: object, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise InvalidInputError(f"expected {what} as an array; could not read it ({exc}).") from exc
    if arr.ndim == 0 or arr.shape[0] == 0:
        raise InvalidInputError(
            f"expected at least one example in {what}; found shape {arr.shape}. "
            "Fix: evaluate on a non-empty set."
        )
    return arr


def _is_one_hot(arr: np.ndarray) -> bool:
    return (arr.ndim == 2 and arr.shape[1] >= 2 and np.issubdtype(arr.dtype, np.number)
            and bool(np.isin(arr, (0, 1)).all()) and bool((arr.sum(axis=1) == 1).all()))


def _whole_numbers(arr: np.ndarray) -> bool:
    if arr.dtype == bool or np.issubdtype(arr.dtype, np.integer):
        return True
    return (np.issubdtype(arr.dtype, np.floating) and bool(np.isfinite(arr).all())
            and bool((arr == np.round(arr)).all()))


def check_task(task: object) -> str:
    """``task`` if it is one of :data:`TASKS`.

    >>> check_task("regression")
    'regression'
    """
    if task not in TASKS:
        raise InvalidInputError(
            f"expected task to be one of {', '.join(TASKS)} (or None to detect it); found {task!r}."
        )
    return str(task)


def detect_task(y_true: object, y_score: object = None) -> str:
    """The task of labels and (optionally) model output.

    Class names, one-hot rows and whole-number labels with a matching output are
    classification; fractional targets, or whole numbers with a fractional one-column
    output that is not a probability, are regression. Pass ``task=`` where a helper
    takes it to decide yourself (e.g. a regression on counts).

    >>> detect_task(["cat", "dog", "cat"])
    'binary'
    """
    y = _read(y_true, "y_true")
    s = None if y_score is None else _read(y_score, "the model's output")
    if s is not None and s.ndim == 2 and s.shape[1] >= 3:
        return "multiclass"
    if _is_one_hot(y):
        return "binary" if y.shape[1] == 2 else "multiclass"
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.dtype.kind in "USO":
        return "binary" if len(np.unique(y.astype(str))) <= 2 else "multiclass"
    if y.dtype == bool:
        return "binary"
    if not _whole_numbers(y):
        return "regression"
    distinct = np.unique(y)
    if s is not None and s.ndim == 2 and s.shape[1] == 2:
        return "binary"
    probs = s is not None and np.issubdtype(s.dtype, np.number) and bool(
        np.isfinite(s).all()) and s.min() >= 0 and s.max() <= 1
    if s is None or probs:
        if len(distinct) <= 2 and (s is None or not _whole_numbers(s) or set(distinct.tolist()) <= {0, 1}):
            return "binary"
    if s is None or _whole_numbers(s.reshape(s.shape[0], -1)[:, 0]):
        return "multiclass" if distinct.min() >= 0 else "regression"
    return "regression"


def class_ids(y_true: object, class_names: Sequence[str] | None = None,
              n_classes: int | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer class ids (0..K-1) of labels and the class names.

    Labels may be ids, one-hot rows or names (sorted, unless ``class_names`` gives the order).

    >>> ids, names = class_ids(["dog", "cat", "dog"])
    >>> ids.tolist(), names
    ([1, 0, 1], ('cat', 'dog'))
    >>> class_ids([[0, 0, 1], [1, 0, 0]])[0].tolist()
    [2, 0]
    """
    y = _read(y_true, "y_true")
    if _is_one_hot(y):
        y = y.argmax(axis=1)
    elif y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise InvalidInputError(
            f"expected y_true as one label per row (class ids or names) or one-hot rows; found "
            f"shape {y.shape}. Fix: pass y.argmax(axis=1) for probability rows."
        )
    names = None if class_names is None else tuple(str(c) for c in class_names)
    if y.dtype.kind in "USO":
        text = y.astype(str)
        names = names or tuple(sorted(set(text.tolist())))
        unknown = sorted(set(text.tolist()) - set(names))
        if unknown:
            raise InvalidInputError(
                f"expected labels among the class names {list(names)}; found {unknown[:3]}. "
                "Fix: pass every class in class_names."
            )
        index = {n: i for i, n in enumerate(names)}
        return np.array([index[t] for t in text], dtype=np.int64), names
    if y.dtype == bool:
        y = y.astype(np.int64)
    if not _whole_numbers(y) or (y.size and y.min() < 0):
        raise InvalidInputError(
            f"expected class ids (whole numbers from 0) or class names as labels; found values "
            f"such as {y[:3].tolist()}. Fix: for a regression pass task='regression'."
        )
    ids = y.astype(np.int64)
    k = max(int(ids.max()) + 1, n_classes or 0, len(names or ()))
    if names is not None and len(names) < k:
        raise InvalidInputError(
            f"expected a name for each of the {k} classes; found {len(names)} class names."
        )
    return ids, names or tuple(str(i) for i in range(k))


def probabilities(y_score: object, n: int, n_classes: int | None = None) -> np.ndarray:
    """Class probabilities as an (n, K) array; a binary output (n,), (n, 1) becomes (n, 2).

    >>> probabilities([0.2, 0.9], 2).tolist()
    [[0.8, 0.2], [0.09999999999999998, 0.9]]
    """
    s = _read(y_score, "the model's output")
    try:
        s = s.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"expected the model's output as numbers; could not read it ({exc}).") from exc
    if s.ndim == 1 or (s.ndim == 2 and s.shape[1] == 1):
        p = _checks.scores(s, n, "the model's output", probabilities=True)
        s = np.stack([1 - p, p], axis=1)
    if s.ndim != 2 or s.shape[0] != n:
        raise InvalidInputError(
            f"expected one row of class probabilities per label ({n} rows); found shape {s.shape}. "
            "Fix: predict on the same rows you take the labels from."
        )
    if n_classes is not None and s.shape[1] != n_classes:
        raise InvalidInputError(
            f"expected {n_classes} class probabilities per row; found {s.shape[1]}. "
            "Fix: pass class_names for every class the model outputs."
        )
    if not np.isfinite(s).all():
        raise InvalidInputError(
            "expected finite model output; found NaN or infinity. "
            "Fix: check the model's inputs for NaN (missing values) before predicting."
        )
    return s


def predicted_classes(y_score: object, n: int, n_classes: int) -> np.ndarray:
    """Predicted class ids: the argmax of probability rows, or the ids themselves.

    >>> predicted_classes([[0.1, 0.7, 0.2]], 1, 3).tolist()
    [1]
    """
    s = _read(y_score, "the model's output")
    if s.ndim == 2 and s.shape[1] > 1:
        return probabilities(s, n, n_classes).argmax(axis=1)
    ids, _ = class_ids(s, n_classes=n_classes)
    if ids.shape[0] != n:
        raise InvalidInputError(
            f"expected one prediction per label: {n} labels but {ids.shape[0]} predictions. "
            "Fix: predict on the same rows you take the labels from."
        )
    return ids


def regression_values(values: object, what: str, n: int | None = None) -> np.ndarray:
    """A regression's targets or predictions as a finite 1-D float array.

    >>> regression_values([[1.5], [2.0]], "y_pred").tolist()
    [1.5, 2.0]
    """
    arr = _read(values, what)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InvalidInputError(
            f"expected {what} as one number per row; found shape {arr.shape}. "
            "Fix: a model with several outputs is measured one output at a time."
        )
    return _checks.scores(arr, arr.shape[0] if n is None else n, what)
