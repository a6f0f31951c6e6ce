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
import hashlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from course_lib import _fs

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


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on one model's folder (aliases, deletes); released even on a crash.

    >>> import tempfile, pathlib
    >>> with locked(pathlib.Path(tempfile.mkdtemp())):
    ...     pass   # another process entering here waits
    """
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover (Windows: no advisory locks; single writer assumed)
            fcntl = None  # type: ignore[assignment]
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
