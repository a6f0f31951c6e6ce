"""Crash-safe disk primitives: fsync, atomic writes, hashing, manifest bytes, locks, crash points.

Crash points are a test hook: ``COURSE_LIB_REGISTRY_CRASH_AT=POINT`` makes the process
kill itself at that point (see :func:`_crash_point`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


_CRASH_ENV = "COURSE_LIB_REGISTRY_CRASH_AT"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _crash_point(point: str) -> None:
    """Test hook: the process kills itself (SIGKILL) here when the environment names this point.

    ``COURSE_LIB_REGISTRY_CRASH_AT=renamed`` makes a publish die right after its rename.
    The reliability tests use it to check every point; it costs one dict lookup otherwise.
    """
    if os.environ.get(_CRASH_ENV) == point:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
        time.sleep(10)  # pragma: no cover (the signal arrives first)


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # pragma: no cover (Windows cannot open directories)
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _hash_file(path: Path, sync: bool = False) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        if sync:
            os.fsync(f.fileno())
    return digest.hexdigest(), size


def _walk(folder: Path) -> tuple[list[str], list[str], list[str]]:
    """Relative posix paths of the files, directories and symlinks under ``folder`` (sorted)."""
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


def _atomic_write(path: Path, data: bytes, crash_point: str | None = None) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new content, never a mix."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if crash_point:
            _crash_point(crash_point)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _canonical(obj: Mapping[str, Any]) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _manifest_bytes(body: Mapping[str, Any]) -> bytes:
    """The manifest as written: canonical JSON with a sha256 of itself (without that field)."""
    content = {k: v for k, v in body.items() if k != "manifest_sha256"}
    return _canonical(
        {**content, "manifest_sha256": hashlib.sha256(_canonical(content)).hexdigest()}
    )


def _checksum_ok(data: Mapping[str, Any]) -> bool:
    """True when a parsed manifest's content still matches its stored sha256 (values, not spacing)."""
    content = {k: v for k, v in data.items() if k != "manifest_sha256"}
    return data.get("manifest_sha256") == hashlib.sha256(_canonical(content)).hexdigest()


def _library_versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for dist in ("tensorflow", "keras", "numpy", "course-lib"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on one model's folder (aliases, deletes); released even on a crash."""
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
