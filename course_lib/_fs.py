"""Files on disk: staged writes (temporary sibling, fsync, rename), folder walks, sizes, sha256.

>>> import tempfile, pathlib
>>> from course_lib import _fs
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _fs.write_atomic(folder / "report.md", "# ok\\n")
>>> (folder / "report.md").read_text()
'# ok\\n'
>>> with _fs.staged(folder / "model") as tmp:
...     tmp.mkdir()
...     _ = (tmp / "weights.bin").write_bytes(b"1234")
>>> _fs.size(folder / "model")
4

A reader sees the old content or the new, never half of it: every module that writes a
result (a saved model, a conversion, a report, a registry version) writes it here.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from course_lib.errors import InvalidInputError

__all__ = ["fsync_dir", "remove", "sha256", "size", "staged", "walk", "write_atomic"]


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename inside it) to disk."""
    if os.name != "posix":  # pragma: no cover (Windows cannot open directories)
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256(path: Path, *, sync: bool = False) -> tuple[str, int]:
    """The sha256 hex digest of a file and its size in bytes; ``sync`` also fsyncs it."""
    digest, n = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            n += len(chunk)
        if sync:
            os.fsync(f.fileno())
    return digest.hexdigest(), n


def walk(folder: Path) -> tuple[list[str], list[str], list[str]]:
    """Relative posix paths of the files, folders and symlinks under ``folder`` (sorted).

    Symlinks are listed, never followed.
    """
    files, dirs, links = [], [], []
    for here, subdirs, names in os.walk(folder, followlinks=False):
        base = Path(here)
        for d in list(subdirs):
            rel = (base / d).relative_to(folder).as_posix()
            if (base / d).is_symlink():
                links.append(rel)
                subdirs.remove(d)
            else:
                dirs.append(rel)
        for n in names:
            p = base / n
            rel = p.relative_to(folder).as_posix()
            (links if p.is_symlink() else files).append(rel)
    return sorted(files), sorted(dirs), sorted(links)


def size(path: Path) -> int:
    """Bytes of a file, or of every file under a folder (symlinks not followed)."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        return sum((path / rel).stat().st_size for rel in walk(path)[0])
    return path.stat().st_size


def remove(path: Path) -> None:
    """Delete a file or a folder tree, if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def write_atomic(path: Path, data: bytes | str, *, before_rename: object = None) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new content, never a mix.

    ``before_rename`` is called (with no argument) after the fsync, before the rename:
    the registry's crash-point test hook.
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        if callable(before_rename):
            before_rename()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


@contextlib.contextmanager
def staged(target: Path, *, overwrite: bool = True, suffix: str = "",
           error: type[Exception] = InvalidInputError) -> Iterator[Path]:
    """A temporary sibling path of ``target``; renamed onto ``target`` when the block succeeds.

    The block writes a file or folder at the yielded path (``model`` plus ``suffix`` inside
    a hidden staging folder beside ``target``). On success the old ``target``, if any, is
    replaced; on any failure nothing of the attempt is left. ``overwrite=False`` refuses an
    existing target with ``error``.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise error(
            f"expected {target} not to exist yet; it does. Fix: pass overwrite=True to replace "
            "it, or choose another name."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        tmp = staging / f"model{suffix}"
        yield tmp
        if tmp.is_dir():
            for here, _dirs, names in os.walk(tmp):
                for n in names:
                    with open(Path(here) / n, "rb") as f:
                        os.fsync(f.fileno())
        elif tmp.exists():
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        if target.exists() or target.is_symlink():
            remove(target)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
