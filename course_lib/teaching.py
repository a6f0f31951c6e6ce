"""Helpers that exist to teach, kept apart from the reusable library.

>>> from course_lib import teaching
>>> sorted(teaching.__all__)
['Standardizer', 'fit_standardizer', 'flip_byte', 'tree']

They damage a file on purpose (:func:`flip_byte`), print a folder (:func:`tree`) and keep
scaling outside a model (:class:`Standardizer`, the lesson 01 pitfall). Your own project
will rarely need them; the lessons use them to show a failure for real.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course_lib import _checks
from course_lib.errors import InvalidInputError

__all__ = ["Standardizer", "fit_standardizer", "flip_byte", "tree"]


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
