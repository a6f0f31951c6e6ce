"""Helpers for the lesson: damage a file on purpose (:func:`flip_byte`), print a folder (:func:`tree`)."""

from __future__ import annotations

import os
from pathlib import Path

from course_lib.errors import InvalidInputError


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
