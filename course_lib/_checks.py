"""Validation shared by every module: labels, scores, feature arrays, numbers, thresholds, costs.

>>> from course_lib import _checks
>>> _checks.labels([[1], [0]]).tolist()
[1, 0]
>>> _checks.number("tolerance", 0.02, minimum=0)
0.02
>>> _checks.features([[1.0, 2.0]]).shape
(1, 2)

Each check returns the clean value or raises :class:`~course_lib.errors.InvalidInputError`
with a message that says what was expected, what was found and how to fix it.
A module that needs a check calls it from here; none writes its own.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from course_lib.errors import InvalidInputError

__all__ = [
    "array", "cost", "count", "features", "in_range", "is_number", "labels", "number", "rows",
    "scores", "text", "threshold", "thresholds", "whole",
]

#: Candidate decision thresholds: 0.00, 0.01, ..., 1.00 (rounded, so 0.07 prints as 0.07).
THRESHOLDS: np.ndarray = np.round(np.linspace(0.0, 1.0, 101), 2)


def is_number(value: object) -> bool:
    """True for a finite real number that is not a bool.

    >>> is_number(3), is_number(True), is_number(float("nan"))
    (True, False, False)
    """
    return (not isinstance(value, bool) and isinstance(value, numbers.Real)
            and math.isfinite(float(value)))


def number(name: str, value: object, *, minimum: float | None = None,
           maximum: float | None = None, positive: bool = False, unit: str = "",
           example: object = None) -> float:
    """A finite real number within ``[minimum, maximum]`` (``positive``: above 0).

    >>> number("budget", 0, positive=True)
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidInputError: expected budget to be a number above 0; found 0. Fix: pass e.g. budget=1.
    """
    ok = is_number(value)
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = ((minimum is None or v >= minimum) and (maximum is None or v <= maximum)
              and (not positive or v > 0))
    if not ok:
        if positive:
            want = "a number above 0"
        elif minimum is not None and maximum is not None:
            want = f"a number between {minimum:g} and {maximum:g}"
        elif minimum is not None:
            want = f"a number of {minimum:g} or more"
        elif maximum is not None:
            want = f"a number of at most {maximum:g}"
        else:
            want = "a finite number"
        suffix = f" {unit}" if unit else ""
        shown = example if example is not None else (minimum if minimum else 1)
        fix = f"{name}={shown}" if name.isidentifier() else f"{shown}"
        raise InvalidInputError(
            f"expected {name} to be {want}{suffix}; found {value!r}. Fix: pass e.g. {fix}."
        )
    return float(value)  # type: ignore[arg-type]


def whole(name: str, value: object, minimum: int = 0) -> int:
    """A whole number of ``minimum`` or more (bools refused).

    >>> whole("repeats", 3, minimum=1)
    3
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidInputError(
            f"expected {name} to be a whole number of {minimum} or more; found {value!r}. "
            f"Fix: pass e.g. {name}={max(minimum, 3)}."
        )
    return int(value)


def count(name: str, value: object) -> int:
    """A count of examples in a confusion matrix: a whole number of 0 or more (10.0 is 10).

    >>> count("tp", 10.0)
    10
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise InvalidInputError(
                f"expected {name} to be a whole number of examples (0 or more); "
                f"found {value!r} ({type(value).__name__}). Fix: pass a count such as {name}=10."
            )
    if value < 0:
        raise InvalidInputError(
            f"expected {name} to be 0 or more; found {value}. "
            "Fix: counts of a confusion matrix cannot be negative."
        )
    return int(value)


def text(name: str, value: object, *, max_length: int = 200, example: str = "") -> str:
    """A short, non-empty text.

    >>> text("label", "float16")
    'float16'
    """
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        fix = f" Fix: e.g. {name}={example!r}." if example else ""
        raise InvalidInputError(
            f"expected {name} to be a short non-empty text (at most {max_length} characters); "
            f"found {value!r}.{fix}"
        )
    return value


def threshold(value: object, name: str = "threshold") -> float:
    """A decision threshold between 0 and 1 (a score at or above it counts as positive).

    >>> threshold(0.5)
    0.5
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise InvalidInputError(
            f"expected {name} to be a number between 0 and 1; found {value!r}."
        )
    t = float(value)
    if not 0.0 <= t <= 1.0:
        raise InvalidInputError(
            f"expected {name} between 0 and 1; found {t}. Fix: a score at or above "
            "the threshold counts as positive, so use a value such as 0.5."
        )
    return t


def thresholds(values: Sequence[float] | np.ndarray | None) -> np.ndarray:
    """Sorted unique candidate thresholds in [0, 1]; ``None`` is :data:`THRESHOLDS`.

    >>> thresholds([0.5, 0.2, 0.5]).tolist()
    [0.2, 0.5]
    """
    if values is None:
        return THRESHOLDS
    try:
        grid = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"expected thresholds to be numbers between 0 and 1; could not read them ({exc})."
        ) from exc
    if grid.size == 0 or not np.isfinite(grid).all() or grid.min() < 0 or grid.max() > 1:
        raise InvalidInputError(
            "expected at least one candidate threshold, each a number between 0 and 1; found "
            f"{grid.tolist()[:5]}{'...' if grid.size > 5 else ''}. Fix: leave thresholds=None "
            "for 0.00, 0.01, ..., 1.00."
        )
    return np.unique(grid)


def cost(name: str, value: object) -> float:
    """The cost of one mistake: a number of 0 or more.

    >>> cost("miss_cost", 100)
    100.0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < math.inf:
        raise InvalidInputError(
            f"expected {name} to be a cost of 0 or more; found {value!r}. "
            f"Fix: pass e.g. {name}=100."
        )
    return float(value)


def array(value: object, expected: str) -> np.ndarray:
    """``value`` as a NumPy array; Python objects as numbers (or text) when they all are.

    ``expected`` says what was expected, for the message (ragged rows, a None among numbers).

    >>> array(np.array([[1, 2.5]], dtype=object), "x").dtype
    dtype('float64')
    >>> array([[1.0, 2.0], [3.0]], "x as rows of numbers")
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidInputError: expected x as rows of numbers; could not read it (setting an array element with a sequence. ...). Fix: give every row the same number of values.
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise InvalidInputError(
            f"expected {expected}; could not read it ({exc}). Fix: give every row the same "
            "number of values.") from exc
    if arr.dtype != object:
        return arr
    flat = arr.reshape(-1)
    if all(isinstance(v, str) for v in flat):
        return arr.astype(str)
    if all(isinstance(v, bytes) for v in flat):
        return np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[str])(arr)
    if any(isinstance(v, str) for v in flat):  # text with a gap: name what is not text
        odd = [v for v in flat if not isinstance(v, str)][:1]
    else:
        odd = [v for v in flat if isinstance(v, bool) or not isinstance(v, numbers.Real)][:1]
    if not odd:
        return arr.astype(np.float64)
    shown = f"{odd[0]!r} ({type(odd[0]).__name__})"
    raise InvalidInputError(
        f"expected {expected}: every value a number (or every value a text); found {shown} "
        "among Python objects. Fix: fill or drop missing values (None), and convert the column "
        "to numbers (or to text) before predicting.")


def rows(n: int, what: str = "x") -> int:
    """``n`` rows of model input, refused when there are none (a model predicts on rows).

    >>> rows(0, "input 'features'")
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidInputError: expected at least one row in input 'features'; found 0. Fix: pass one row per example (rows first), e.g. x[:1] for one example.
    """
    if n == 0:
        raise InvalidInputError(
            f"expected at least one row in {what}; found 0. Fix: pass one row per example "
            "(rows first), e.g. x[:1] for one example.")
    return n


def in_range(raw: np.ndarray, dtype: type | np.dtype, what: str = "x") -> np.ndarray:
    """``raw`` if its finite values fit the model input's ``dtype`` (float32: |x| <= 3.4028235e38).

    A value beyond it would become infinity (or wrap around, for an integer input) in the
    cast, and the model would score it without a word.

    >>> in_range(np.array([1e39]), np.float32)
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidInputError: expected values within float32's range (|x| <= 3.4028235e+38) in x, the model input's dtype; found 1e+39 (1 value beyond it). Fix: scale the features (standardize them, or change their unit), or look for a parsing error in the data.
    """
    target = np.dtype(dtype)
    if raw.dtype.kind not in "biuf" or target.kind not in "iuf" or raw.size == 0:
        return raw
    if target.kind == "f":
        top = float(np.finfo(target).max)
        low, high, span = -top, top, f"|x| <= {top:.8g}"
    else:
        info = np.iinfo(target)
        low, high, span = float(info.min), float(info.max), f"{info.min} to {info.max}"
    values = raw.astype(np.float64, copy=False)
    if values.dtype.kind == "f" and raw.dtype.kind == "f":
        values = values[np.isfinite(values)]  # NaN and infinity: said by the finite check
    outside = (values < low) | (values > high)
    if outside.any():
        worst = values[outside][np.argmax(np.abs(values[outside]))]
        n = int(outside.sum())
        raise InvalidInputError(
            f"expected values within {target.name}'s range ({span}) in {what}, the model "
            f"input's dtype; found {worst:g} ({n} value{'s' if n != 1 else ''} beyond it). "
            "Fix: scale the features (standardize them, or change their unit), or look for a "
            "parsing error in the data.")
    return raw


def labels(y_true: object, what: str = "y_true") -> np.ndarray:
    """Validated 0/1 labels as a 1-D int64 array (an (n, 1) column is flattened).

    >>> labels([True, False]).tolist()
    [1, 0]
    """
    arr = array(y_true, f"{what} to be a 1-D array of 0/1 labels")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InvalidInputError(
            f"expected {what} to be a 1-D array of 0/1 labels; found shape {arr.shape}. "
            f"Fix: pass one label per example, e.g. {what}.ravel()."
        )
    if arr.size == 0:
        raise InvalidInputError(
            f"expected at least one example in {what}; found an empty array. "
            "Fix: evaluate on a non-empty set."
        )
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.number):
        raise InvalidInputError(
            f"expected {what} to hold 0/1 labels; found dtype {arr.dtype}. "
            "Fix: encode the positive class as 1 and the negative class as 0."
        )
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        more = f" (and {int(bad.sum()) - 1} more)" if bad.sum() > 1 else ""
        raise InvalidInputError(
            f"expected {what} to hold only 0 and 1; found {arr[bad][0].item()!r}{more}. "
            "Fix: encode the positive class as 1, the negative class as 0."
        )
    return arr.astype(np.int64)


def scores(y_score: object, n: int, what: str = "y_score", *,
           probabilities: bool = False) -> np.ndarray:
    """Validated finite scores, one per label (``n`` of them), as a 1-D float64 array.

    ``probabilities=True`` also requires every score to lie in [0, 1].

    >>> scores([[0.2], [0.9]], 2).tolist()
    [0.2, 0.9]
    """
    try:
        arr = np.asarray(y_score, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"expected {what} to be a 1-D array of numbers (probabilities or 0/1 "
            f"predictions); could not read it as numbers ({exc})."
        ) from exc
    if arr.ndim == 2 and arr.shape[1] == 1:  # Keras predict() returns (n, 1)
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InvalidInputError(
            f"expected {what} to be 1-D (one score per example) or (n, 1); found shape "
            f"{arr.shape}. Fix: measure a model with several output columns with "
            "Metrics.from_predictions, which reads its task from them."
        )
    if arr.shape[0] != n:
        raise InvalidInputError(
            f"expected one score per label: {n} labels but {arr.shape[0]} scores. "
            "Fix: predict on the same rows you take the labels from."
        )
    if not np.isfinite(arr).all():
        raise InvalidInputError(
            f"expected finite scores; found {int(np.isnan(arr).sum())} NaN and "
            f"{int(np.isinf(arr).sum())} infinite value(s). "
            "Fix: check the model's inputs for NaN (missing values) before predicting."
        )
    if probabilities and (arr.min() < 0.0 or arr.max() > 1.0):
        raise InvalidInputError(
            f"expected scores between 0 and 1 (probabilities of the positive class); found "
            f"values from {arr.min():.4g} to {arr.max():.4g}. Fix: pass the model's sigmoid "
            "output, not logits or 0-100 percentages."
        )
    return arr


def features(x: object, what: str = "x", *, shape: Sequence[int | None] | None = (None, None),
             dtype: type | np.dtype = np.float32, name: str = "",
             error: type[InvalidInputError] = InvalidInputError,
             columns: Sequence[str] = ()) -> np.ndarray:
    """Validated model input: numbers, at least one row, the expected shape, finite after the cast.

    ``shape`` is the expected shape with ``None`` for any size, rows first: ``(None, None)``
    is any 2-D array, ``(None, 30)`` exactly 30 columns, ``None`` any rank. ``error`` is the
    class raised for a wrong number of columns (e.g. ``FeatureMismatchError``), ``columns``
    their names for the message.

    >>> features([[1, 2], [3, 4]], shape=(None, 2)).dtype
    dtype('float32')
    >>> features([[1e300]])
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidInputError: expected values within float32's range (|x| <= 3.4028235e+38) in x, the model input's dtype; found 1e+300 (1 value beyond it). ...

    Every model input goes through here (through :func:`course_lib._inputs.check`): Keras,
    SavedModel, the serving process and TF.js refuse the same rows the same way.
    """
    label = f"input '{name}'" if name else what
    raw = array(x, f"{label} to be an array of numbers")
    if raw.dtype.kind not in "biuf":
        raise InvalidInputError(
            f"expected numbers in {label}; found dtype {raw.dtype}. "
            "Fix: convert the features to numbers (the model's preprocessing expects raw "
            "numeric columns)."
        )
    if shape is not None:
        want = tuple(shape)
        if raw.ndim >= 1:
            rows(raw.shape[0], label)
        if raw.ndim != len(want):
            shown = "(rows x features)" if len(want) == 2 else \
                "(n, " + ", ".join("any" if w is None else str(w) for w in want[1:]) + ")"
            raise InvalidInputError(
                f"expected {label} as a {len(want)}-D array {shown} with at least one row; "
                f"found shape {raw.shape}. Fix: pass one row per example, with the columns the "
                "model was trained on, in the same order."
            )
        for i, (w, a) in enumerate(zip(want[1:], raw.shape[1:]), start=1):
            if w is not None and w != a:
                named = f" ({', '.join(columns)})" if columns else ""
                raise error(
                    f"expected {label} of shape (n, "
                    + ", ".join("any" if v is None else str(v) for v in want[1:])
                    + f"): {w} values on axis {i}{named}; found {a} (shape {raw.shape}). Fix: build "
                    "the rows with the training columns, in the same order."
                )
    elif raw.ndim == 0:
        raise InvalidInputError(
            f"expected {label} to hold rows (rows first); found the single value {raw.item()!r}. "
            "Fix: wrap one example as [value]."
        )
    else:
        rows(raw.shape[0], label)
    in_range(raw, dtype, label)
    with np.errstate(over="ignore", invalid="ignore"):
        arr = raw.astype(dtype, copy=False)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise InvalidInputError(
            f"expected finite values in {label}; found NaN or infinity. "
            "Fix: fill or drop missing values (NaN) before predicting."
        )
    return arr
