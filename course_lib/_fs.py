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

**The disk refusing.** A full disk, a used-up quota, a read-only file system, a missing
permission or a too long path is raised as :class:`~course_lib.errors.StorageError` (an
``OSError`` too) naming what failed, what the errno means and the fix; the temporary
file or folder of the attempt is removed first (:func:`disk`).

**Leftovers.** Every temporary name carries its writer's process id and host
(:func:`owner_tag`, e.g. ``.aliases.json.4242@vm-1a2b3c4d.tmp``). A process killed mid-write
leaves it behind; the next write beside it removes every leftover whose process no longer
exists, never one of a live process (:func:`remove_leftovers`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import socket
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from course_lib.errors import InvalidInputError, StorageError

__all__ = [
    "copy_file",
    "copy_tree",
    "disk",
    "fsync_dir",
    "owner_of",
    "owner_tag",
    "process_alive",
    "read_file",
    "refused_errno",
    "remove",
    "remove_leftovers",
    "scandir",
    "sha256",
    "size",
    "staged",
    "storage_error",
    "walk",
    "write_atomic",
]

#: Open flags that refuse a symbolic link in the last component (0 where the OS has none).
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

#: What each errno the disk can refuse with means, and what to do about it.
REFUSALS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space is left on the device",
                   "free some space on that disk (df -h shows it), or write to another folder"),
    errno.EROFS: ("the file system is read-only",
                  "write to a folder on a writable disk (or remount this one read-write)"),
    errno.EACCES: ("permission denied",
                   "check the folder's owner and permissions (ls -ld), or use a folder you own"),
    errno.EPERM: ("the operation is not permitted",
                  "check the folder's owner and permissions (ls -ld), or use a folder you own"),
    errno.ENAMETOOLONG: ("a file name or path is too long",
                         "use a shorter folder path (or a shorter name)"),
}
if hasattr(errno, "EDQUOT"):
    REFUSALS[errno.EDQUOT] = ("the disk quota of this user is used up",
                              "free some space within your quota, or write to another folder")


def refused_errno(exc: BaseException) -> int | None:
    """The errno of a disk refusal behind ``exc`` (None when it is something else).

    An ``OSError`` carries it; TensorFlow's and h5py's writers raise their own classes
    (``ResourceExhaustedError``, ``RuntimeError``) whose text names it instead.

    >>> refused_errno(OSError(errno.EROFS, "Read-only file system")) == errno.EROFS
    True
    >>> refused_errno(RuntimeError("...tempstate123; No space left on device [Op:SaveV2]"))
    28
    >>> refused_errno(RuntimeError("file write failed: errno = 28, error message = ..."))
    28
    >>> refused_errno(ValueError("bad shape")) is None
    True
    """
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.errno if exc.errno in REFUSALS else None
    text = str(exc)
    found = re.search(r"\berrno\s*=\s*(\d+)", text)
    if found and int(found.group(1)) in REFUSALS:
        return int(found.group(1))
    return next((code for code in REFUSALS if os.strerror(code) in text), None)


def storage_error(exc: BaseException, doing: str) -> StorageError | None:
    """The :class:`StorageError` for an error the disk refused with (None for others).

    >>> print(storage_error(OSError(errno.ENOSPC, "No space left on device"), "write a.json"))
    expected to write a.json; the disk refused: no space is left on the device ([Errno 28] No space left on device). Nothing half-written was kept. Fix: free some space on that disk (df -h shows it), or write to another folder.
    >>> storage_error(OSError(errno.ENOENT, "No such file"), "read a.json") is None
    True
    """
    code = None if isinstance(exc, StorageError) else refused_errno(exc)
    if code is None:
        return None
    meaning, fix = REFUSALS[code]
    strerror = exc.strerror if isinstance(exc, OSError) and exc.strerror else os.strerror(code)
    err = StorageError(
        f"expected to {doing}; the disk refused: {meaning} ([Errno {code}] "
        f"{strerror}). Nothing half-written was kept. Fix: {fix}."
    )
    err.errno = code
    return err


@contextlib.contextmanager
def disk(doing: str) -> Iterator[None]:
    """Turn the disk's refusals inside the block into :class:`StorageError` (``doing``: what).

    Whatever class the writer raised (an ``OSError``, TensorFlow's ``ResourceExhaustedError``,
    h5py's ``RuntimeError``), a refusal named by its errno becomes a ``StorageError``;
    any other error passes unchanged.

    >>> with disk("write report.md"):
    ...     raise OSError(errno.EROFS, "Read-only file system")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    course_lib.errors.StorageError: expected to write report.md; the disk refused: the file system is read-only ...
    """
    try:
        yield
    except Exception as exc:
        err = storage_error(exc, doing)
        if err is None:
            raise
        raise err from exc


# -- who wrote a temporary name ------------------------------------------------------------------

OWNER_RE = re.compile(r"[.-]([0-9]{1,10})@([A-Za-z0-9]{0,32})-")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32]


def owner_tag() -> str:
    """``PID@HOST`` of this process: part of every temporary name it writes.

    >>> owner_tag() == f"{os.getpid()}@{_host()}"
    True
    """
    return f"{os.getpid()}@{_host()}"


def owner_of(name: str) -> tuple[int, str] | None:
    """The process id and host in a temporary name (None when it carries none).

    >>> owner_of(".staging-4242@vm-1a2b3c"), owner_of(".staging-1-abc")
    ((4242, 'vm'), None)
    """
    m = OWNER_RE.search(name)
    return (int(m.group(1)), m.group(2)) if m else None


def process_alive(pid: int) -> bool:
    """True unless no process ``pid`` exists here (``os.kill(pid, 0)``; unsure means alive).

    >>> process_alive(os.getpid())
    True
    """
    if os.name != "posix" or pid <= 0:  # pragma: no cover (Windows: kill would terminate it)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by another user
        return True
    return True


def remove_leftovers(folder: Path, prefixes: tuple[str, ...]) -> list[str]:
    """Remove the entries of ``folder`` named with a prefix whose writer (this host) is dead.

    Returns the names removed. Best effort: an entry that cannot be removed stays for the
    next write; a live process's entry, or one without an owner tag, is never touched.

    >>> import tempfile
    >>> remove_leftovers(Path(tempfile.mkdtemp()), (".staging-",))
    []
    """
    removed, host = [], _host()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for e in entries:
        owner = owner_of(e.name) if e.name.startswith(prefixes) else None
        if owner is None or owner[1] != host or owner[0] == os.getpid():
            continue
        if not process_alive(owner[0]):
            with contextlib.suppress(OSError):
                remove(Path(e.path))
                removed.append(e.name)
    return sorted(removed)


# -- reading without following links -------------------------------------------------------------

def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename inside it) to disk."""
    if os.name != "posix":  # pragma: no cover (Windows cannot open directories)
        return
    with disk(f"flush the folder {path} to disk"):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_file(path: Path, limit: int, error: type[Exception] = InvalidInputError) -> bytes:
    """The bytes of a regular file, never following a symbolic link, at most ``limit`` bytes.

    A link, a folder or another kind of entry, or a file over ``limit``, raises ``error``;
    a missing file raises ``FileNotFoundError``.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.json"
    >>> _ = p.write_text("{}")
    >>> read_file(p, 10)
    b'{}'
    """
    path = Path(path)
    try:
        with disk(f"read {path}"):
            fd = os.open(path, os.O_RDONLY | NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK) or path.is_symlink():
            raise error(
                f"expected {path} to be a regular file; it is a symbolic link, and links are "
                "never followed (its target lies elsewhere). Fix: replace the link with the "
                "file itself, or restore the folder from a trusted copy."
            ) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise error(
                f"expected {path} to be a regular file; it is {kind}. Fix: remove it and "
                "restore the file from a trusted copy."
            )
        if info.st_size > limit:
            raise error(
                f"expected {path} to be at most {limit:,} bytes; it has {info.st_size:,}, far "
                "more than this kind of file ever holds. Fix: restore it from a trusted copy."
            )
        with disk(f"read {path}"), os.fdopen(os.dup(fd), "rb") as f:
            return f.read(limit + 1)[:limit]
    finally:
        os.close(fd)


def sha256(path: Path, *, sync: bool = False) -> tuple[str, int]:
    """The sha256 hex digest of a file and its size in bytes; ``sync`` also fsyncs it.

    A symbolic link is not followed (``OSError`` ELOOP).
    """
    digest, n = hashlib.sha256(), 0
    with disk(f"read {path}"):
        fd = os.open(path, os.O_RDONLY | NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                n += len(chunk)
            if sync:
                os.fsync(f.fileno())
    return digest.hexdigest(), n


def scandir(folder: Path) -> list[os.DirEntry[str]]:
    """The entries of a folder (a refusal of the disk is a :class:`StorageError`)."""
    with disk(f"list the folder {folder}"):
        return list(os.scandir(folder))


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
    """Delete a file or a folder tree, if it exists (a symbolic link itself, not its target)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


# -- copying --------------------------------------------------------------------------------------

def copy_file(src: Path, dst: Path) -> None:
    """Copy one regular file with its times and mode (never through a symbolic link)."""
    shutil.copy2(src, dst, follow_symlinks=False)


def copy_tree(src: Path, dst: Path, *, skip: Callable[[str], bool] = lambda rel: False,
              after_each: Callable[[str], None] = lambda rel: None,
              error: type[Exception] = InvalidInputError) -> list[str]:
    """Copy the folder ``src`` into ``dst`` (created), refusing symbolic links and special files.

    ``skip(rel)`` leaves a file out; ``after_each(rel)`` runs after each file copied.
    Returns the files copied. A link (to a file, a folder or itself) or a device or pipe
    raises ``error`` before anything is copied: its content lies outside ``src``.

    >>> import tempfile
    >>> a, b = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp()) / "copy"
    >>> _ = (a / "x.bin").write_bytes(b"1")
    >>> copy_tree(a, b)
    ['x.bin']
    """
    src, dst = Path(src), Path(dst)
    files, dirs, links = walk(src)
    special = [rel for rel in files if not stat.S_ISREG(os.lstat(src / rel).st_mode)]
    if links or special:
        what = ([f"{rel} (a symbolic link)" for rel in links]
                + [f"{rel} (not a regular file)" for rel in special])
        raise error(
            f"expected {src} to hold only regular files and folders; it holds "
            f"{', '.join(what[:5])}{' ...' if len(what) > 5 else ''}. A link's content lies "
            "outside the folder and is never copied in. Fix: replace each link with a copy of "
            "its file (cp -L), or remove it, then try again."
        )
    copied = []
    with disk(f"copy {src} to {dst}"):
        dst.mkdir(exist_ok=True)
        for rel in dirs:
            (dst / rel).mkdir(exist_ok=True)
        for rel in files:
            if skip(rel):
                continue
            copy_file(src / rel, dst / rel)
            copied.append(rel)
            after_each(rel)
    return copied


# -- writing ----------------------------------------------------------------------------------------

def write_atomic(path: Path, data: bytes | str, *, before_rename: object = None) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new content, never a mix.

    ``before_rename`` is called (with no argument) after the fsync, before the rename:
    the registry's crash-point test hook. The temporary file is named with this process
    (``.NAME.PID@HOST-RANDOM.tmp``); those of dead writers beside it are removed first.
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    remove_leftovers(path.parent, (f".{path.name}.",))
    tmp = path.with_name(f".{path.name}.{owner_tag()}-{secrets.token_hex(4)}.tmp")
    with disk(f"write {path}"):
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o644)
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
    a hidden staging folder beside ``target``, named with this process). On success the
    old ``target``, if any, is replaced; on any failure nothing of the attempt is left.
    ``overwrite=False`` refuses an existing target with ``error``. A full or read-only
    disk, inside the block or while renaming, is a :class:`StorageError`.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise error(
            f"expected {target} not to exist yet; it does. Fix: pass overwrite=True to replace "
            "it, or choose another name."
        )
    with disk(f"write {target}"):
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(target.parent, (f".{target.name}.",))
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.{owner_tag()}-",
                                        dir=target.parent))
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
