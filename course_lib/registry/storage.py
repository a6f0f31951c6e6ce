"""The registry's own disk rules: manifest bytes and their checksum, locks, crash points.

>>> import json
>>> from course_lib.registry.storage import checksum_ok, manifest_bytes
>>> data = json.loads(manifest_bytes({"name": "fraud", "version": 1}))
>>> checksum_ok(data), checksum_ok({**data, "version": 2})
(True, False)

The generic primitives (fsync, staged and atomic writes, hashing, walking a folder) are
:mod:`course_lib._fs`. Crash points are a test hook: ``COURSE_LIB_REGISTRY_CRASH_AT=POINT``
makes the process kill itself at that point (see :func:`crash_point`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import signal
import stat
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from course_lib import _fs
from course_lib.errors import RegistryError
from course_lib.registry.names import ALIASES_NAME

CRASH_ENV = "COURSE_LIB_REGISTRY_CRASH_AT"


def now() -> str:
    """The current UTC time, to the second, in ISO 8601 (``2025-01-31T12:00:00+00:00``).

    >>> now().endswith("+00:00")
    True
    """
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def crash_point(point: str) -> None:
    """Test hook: the process kills itself (SIGKILL) here when the environment names this point.

    >>> crash_point("renamed")   # COURSE_LIB_REGISTRY_CRASH_AT is not set: nothing happens

    ``COURSE_LIB_REGISTRY_CRASH_AT=renamed`` makes a publish die right after its rename.
    The reliability tests use it to check every point; it costs one dict lookup otherwise.
    """
    if os.environ.get(CRASH_ENV) == point:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
        time.sleep(10)  # pragma: no cover (the signal arrives first)


def write_atomic(path: Path, data: bytes | str, crash_at: str | None = None) -> None:
    """:func:`course_lib._fs.write_atomic`, with a crash point between the fsync and the rename.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "aliases.json"
    >>> write_atomic(path, "{}", crash_at="aliases-temp-written")
    >>> path.read_text()
    '{}'
    """
    hook = (lambda: crash_point(crash_at)) if crash_at else None
    _fs.write_atomic(path, data, before_rename=hook)


def canonical(obj: Mapping[str, Any]) -> bytes:
    """JSON with sorted keys and a final newline: the same content gives the same bytes.

    >>> canonical({"b": 1, "a": 2}) == canonical({"a": 2, "b": 1})
    True
    """
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def manifest_bytes(body: Mapping[str, Any]) -> bytes:
    """The manifest as written: canonical JSON with a sha256 of itself (without that field).

    >>> sorted(json.loads(manifest_bytes({"name": "fraud"})))
    ['manifest_sha256', 'name']
    """
    content = {k: v for k, v in body.items() if k != "manifest_sha256"}
    return canonical({**content, "manifest_sha256": hashlib.sha256(canonical(content)).hexdigest()})


def checksum_ok(data: Mapping[str, Any]) -> bool:
    """True when a parsed manifest's content still matches its own sha256 (values, not spaces).

    >>> checksum_ok({"name": "fraud", "manifest_sha256": "0" * 64})
    False
    """
    content = {k: v for k, v in data.items() if k != "manifest_sha256"}
    return data.get("manifest_sha256") == hashlib.sha256(canonical(content)).hexdigest()


def library_versions() -> dict[str, str]:
    """The versions of Python, TensorFlow, Keras, NumPy and course-lib (for the manifest).

    >>> sorted(library_versions())
    ['course-lib', 'keras', 'numpy', 'python', 'tensorflow']
    """
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for dist in ("tensorflow", "keras", "numpy", "course-lib"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


#: Temporary names a registry writer leaves when it is killed (each carries its PID@HOST;
#: ``..staging-`` is a save's own staging inside a publish's).
LEFTOVERS = (".staging-", "..staging-", ".trash-", f".{ALIASES_NAME}.")


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on one model's folder (aliases, deletes); released even on a crash.

    >>> import tempfile, pathlib
    >>> with locked(pathlib.Path(tempfile.mkdtemp())):
    ...     pass   # another process entering here waits

    Neither the folder nor its ``.lock`` file may be a symbolic link (a planted link
    would make the lock create a file elsewhere). Once the lock is held, the leftovers of
    writers that no longer run (staging folders, trash, temporary alias files) are removed:
    every write cleans up after the killed ones.
    """
    with _fs.disk(f"lock the model folder {folder}"):
        try:
            dfd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _fs.NOFOLLOW)
            try:
                fd = os.open(".lock", os.O_RDWR | os.O_CREAT | _fs.NOFOLLOW
                             | getattr(os, "O_CLOEXEC", 0), 0o644, dir_fd=dfd)
            finally:
                os.close(dfd)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR):
                raise
            raise RegistryError(
                f"expected {folder} and its .lock file to be what the registry wrote; one of "
                "them is a symbolic link, and the registry never follows a link (it would "
                "write outside the registry). Fix: delete the link (rm, not rm -r), then retry."
            ) from None
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover (Windows: no advisory locks; single writer assumed)
            fcntl = None  # type: ignore[assignment]
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        _fs.remove_leftovers(folder, LEFTOVERS)
        yield
    finally:
        os.close(fd)


def tombstone(folder: Path, version: int) -> None:
    """Mark ``version`` as deleted (``.deleted-N``: the number is never given out again).

    Created without following a link; an existing regular tombstone is kept.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> tombstone(folder, 3); tombstone(folder, 3)
    >>> sorted(p.name for p in folder.iterdir())
    ['.deleted-3']
    """
    path = folder / f".deleted-{version}"
    with _fs.disk(f"mark {path} as deleted"):
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _fs.NOFOLLOW, 0o644))
        except FileExistsError:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                raise RegistryError(
                    f"expected {path} to be the registry's mark of a deleted version; it is a "
                    "symbolic link or a folder someone put there. Fix: delete it, then retry."
                ) from None
