"""Model inputs of any structure: one array of any rank, or a dict or list of arrays.

>>> import numpy as np
>>> from course_lib import _inputs
>>> x = {"age": np.array([[30.0], [41.0]]), "city": np.array([["Paris"], ["Lyon"]])}
>>> _inputs.n_rows(x), _inputs.describe(x)
(2, "2 rows; inputs 'age' (2, 1) float64, 'city' (2, 1) <U5")
>>> _inputs.take(x, slice(0, 1))["city"].tolist()
[['Paris']]

A Keras model takes one array (rows first, any rank: tabular rows, images, sequences)
or several inputs as a dict keyed by input name (or a list in input order). Every helper
that takes ``x`` reads it through this module: the same checks, the same messages, and
one way to move inputs between processes (:func:`save` / :func:`load`, an ``.npz`` file).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np

from course_lib import _checks
from course_lib.errors import InvalidInputError

__all__ = ["Inputs", "batches", "check", "describe", "fingerprint", "is_structured", "load",
           "n_rows", "read", "save", "take"]

Inputs = Union[np.ndarray, dict[str, np.ndarray], list[np.ndarray]]


def is_structured(x: object) -> bool:
    """True for several inputs: a dict, or a list/tuple of arrays (not a nested list of rows)."""
    return isinstance(x, Mapping) or (
        isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(v, np.ndarray) for v in x))


def _array(value: object, what: str) -> np.ndarray:
    arr = _checks.array(value, f"{what} as an array (rows first)")  # objects: numbers or text
    if arr.ndim == 0:
        raise InvalidInputError(
            f"expected {what} as rows (an array whose first axis is the examples); found a "
            f"single value {arr.item()!r}. Fix: wrap one example as [value].")
    return arr


def read(x: object) -> Inputs:
    """``x`` as numpy: one array, a dict of arrays, or a list of arrays (rows not yet checked)."""
    if isinstance(x, Mapping):
        if not x:
            raise InvalidInputError("expected at least one input in the dict; found none.")
        return {str(k): _array(v, f"input '{k}'") for k, v in x.items()}
    if is_structured(x):
        return [_array(v, f"input {i}") for i, v in enumerate(x)]  # type: ignore[arg-type]
    return _array(x, "x")


def _parts(x: Inputs) -> list[tuple[str, np.ndarray]]:
    if isinstance(x, dict):
        return list(x.items())
    if isinstance(x, list):
        return [(f"input {i}", v) for i, v in enumerate(x)]
    return [("x", x)]


def n_rows(x: object) -> int:
    """The number of rows, the same in every input.

    >>> n_rows([np.zeros((3, 2)), np.zeros((2, 4))])
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidInputError: expected every input to have the same number of rows; found input 0: 3, input 1: 2. Fix: take every input from the same examples.
    """
    parts = _parts(read(x) if not isinstance(x, (np.ndarray, dict, list)) else x)
    counts = {name: int(arr.shape[0]) for name, arr in parts}
    if len(set(counts.values())) > 1:
        shown = ", ".join(f"{k}: {v}" for k, v in counts.items())
        raise InvalidInputError(
            f"expected every input to have the same number of rows; found {shown}. "
            "Fix: take every input from the same examples.")
    return next(iter(counts.values()))


def take(x: Inputs, index: slice | np.ndarray) -> Inputs:
    """The same rows of every input."""
    if isinstance(x, dict):
        return {k: v[index] for k, v in x.items()}
    if isinstance(x, list):
        return [v[index] for v in x]
    return x[index]


def batches(x: Inputs, size: int) -> Iterator[Inputs]:
    """Consecutive batches of at most ``size`` rows."""
    n = n_rows(x)
    for start in range(0, n, size):
        yield take(x, slice(start, start + size))


def describe(x: Inputs) -> str:
    """Rows, and each input's shape and dtype, in one line."""
    parts = _parts(x)
    if len(parts) == 1 and not isinstance(x, (dict, list)):
        return f"{n_rows(x):,} rows; shape {x.shape} {x.dtype}"
    shown = ", ".join(f"'{k}' {v.shape} {v.dtype}" if isinstance(x, dict) else f"{v.shape} {v.dtype}"
                      for k, v in parts)
    return f"{n_rows(x):,} rows; inputs {shown}"


def check(x: object, specs: Sequence[Any] | None = None) -> Inputs:
    """Validated inputs: at least one row, the same rows in every input, each as its spec says.

    The one check of model inputs (Keras, SavedModel, the serving process, TF.js): numbers
    within the range of the input's dtype (:func:`course_lib._checks.in_range`), finite
    after the cast, text where the model looks values up.

    ``specs`` are the model's inputs, each with ``name``, ``shape`` (rows first, None for any
    size) and ``dtype`` (``"string"`` for text inputs); None checks numbers of any rank.
    A dict is matched to the specs by name, a list by position.

    >>> from types import SimpleNamespace as Spec
    >>> check({"a": [[1.0]]}, [Spec(name="a", shape=(None, 1), dtype="float32"),
    ...                         Spec(name="b", shape=(None, 1), dtype="float32")])
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidInputError: expected the model's inputs 'a', 'b'; found 'a' (missing 'b'). Fix: pass a dict with one array per input name.
    """
    data = read(x)
    _checks.rows(n_rows(data), "x")
    if specs is None:
        return _each(data, lambda name, arr: _one(arr, name, None, None))
    specs = list(specs)
    names = [s.name for s in specs]
    if len(specs) == 1 and not isinstance(data, (dict, list)):
        return _one(data, specs[0].name, specs[0].shape, specs[0].dtype)
    if isinstance(data, dict):
        if set(data) != set(names):
            missing, extra = sorted(set(names) - set(data)), sorted(set(data) - set(names))
            found = ", ".join(f"'{k}'" for k in data)
            why = "; ".join(p for p in (f"missing {', '.join(map(repr, missing))}" if missing else "",
                                       f"unknown {', '.join(map(repr, extra))}" if extra else "") if p)
            raise InvalidInputError(
                f"expected the model's inputs {', '.join(map(repr, names))}; found {found} ({why}). "
                "Fix: pass a dict with one array per input name.")
        by_name = {s.name: s for s in specs}
        return {k: _one(v, k, by_name[k].shape, by_name[k].dtype) for k, v in data.items()}
    if not isinstance(data, list) or len(data) != len(specs):
        got = len(data) if isinstance(data, list) else 1
        raise InvalidInputError(
            f"expected {len(specs)} inputs ({', '.join(map(repr, names))}); found {got}. "
            "Fix: pass a dict with one array per input name.")
    return [_one(v, s.name, s.shape, s.dtype) for v, s in zip(data, specs)]


def _each(data: Inputs, fn: Any) -> Inputs:
    if isinstance(data, dict):
        return {k: fn(k, v) for k, v in data.items()}
    if isinstance(data, list):
        return [fn(f"input {i}", v) for i, v in enumerate(data)]
    return fn("", data)


def _one(arr: np.ndarray, name: str, shape: Sequence[int | None] | None, dtype: object) -> np.ndarray:
    kind = str(dtype or "")
    if "string" in kind or (dtype is None and arr.dtype.kind in "US"):
        if arr.dtype.kind not in "US":
            raise InvalidInputError(
                f"expected text for input '{name}' (the model looks its values up); found dtype "
                f"{arr.dtype}. Fix: pass the raw strings, as in training.")
        _checks.rows(arr.shape[0], f"input '{name}'")
        return arr.astype(str)
    want = None if shape is None else tuple(shape)
    np_dtype = np.float32 if not kind or "float" in kind else np.dtype(kind.replace("tf.", ""))
    return _checks.features(arr, name=name if name not in ("", "x") else "",
                            shape=want if want is not None else None, dtype=np_dtype)


def fingerprint(x: Inputs) -> str:
    """A sha256 over every input's name, shape, dtype and values (float inputs as float32).

    >>> fingerprint(np.zeros((2, 2))) == fingerprint(np.zeros((2, 2), dtype=np.float64))
    True
    """
    digest = hashlib.sha256()
    for name, arr in _parts(x):
        a = arr.astype(np.float32) if arr.dtype.kind in "fiub" else arr.astype(str)
        digest.update(f"{name}|{a.shape}|{a.dtype}|".encode())
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()


def save(path: Path, x: Inputs) -> None:
    """Write inputs to an ``.npz`` file that :func:`load` reads back with the same structure."""
    if isinstance(x, dict):
        arrays = {f"dict:{k}": v for k, v in x.items()}
    elif isinstance(x, list):
        arrays = {f"list:{i:04d}": v for i, v in enumerate(x)}
    else:
        arrays = {"array": x}
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load(path: Path) -> Inputs:
    """Inputs written by :func:`save` (never unpickles: text is stored as unicode arrays)."""
    with np.load(path, allow_pickle=False) as data:
        keys = list(data.keys())
        if keys == ["array"]:
            return data["array"]
        if all(k.startswith("dict:") for k in keys):
            return {k[5:]: data[k] for k in keys}
        return [data[k] for k in sorted(keys)]
