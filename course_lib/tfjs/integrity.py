"""The files of a TF.js model folder: kept inside it, and checked against their recorded sha256.

>>> from course_lib.tfjs import integrity
>>> integrity.RECORD
'files.sha256.json'
>>> print(integrity.check_files("web/fraud").verdict)
OK: model.json and 1 weight shard match files.sha256.json

Two rules, checked by :func:`check_files` before TF.js reads anything (by
:func:`~course_lib.tfjs.predict`, :func:`~course_lib.tfjs.run` and
:func:`~course_lib.tfjs.verify`), and again by the Node runner (``runtime.js``) and the
browser page (``web/predict.js``) on the bytes they actually read:

* **Containment.** model.json and every weight shard it lists must be a regular file
  inside the model folder: an absolute path, a ``..`` step, a URL, a backslash or a
  symbolic link anywhere on the way is refused (:class:`TamperedModelError`). This holds
  with or without a record.
* **The record.** :func:`~course_lib.tfjs.convert` writes :data:`RECORD`, the sha256 and
  size of every file it wrote. A folder whose files differ from it (a changed byte, a
  file missing, a file added) is refused, naming the file, the digest recorded and the
  one found. A folder converted otherwise (``tensorflowjs_converter`` on the command
  line) has no record: it still runs, and the result says that its files were not
  checked; :func:`record_files` writes a record for such a folder once you trust it.

What the record catches: accidents (a copy cut short, a disk error, a file edited or
overwritten by mistake, shards mixed up between two conversions, a flipped byte). What it
does not catch: someone who can write the folder and rewrites the files *and* the record.
A sha256 next to the files is a checksum, not a signature.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from course_lib import _display, _fs
from course_lib.errors import ModelFileError, TamperedModelError

__all__ = ["RECORD", "FileCheck", "RecordedFile", "check_files", "inside", "read_model_json",
           "record_files", "shard_paths"]

#: The record :func:`~course_lib.tfjs.convert` writes beside model.json: sha256 and size of each file.
RECORD = "files.sha256.json"
_KIND = "course_lib TF.js file record"
_HEX = re.compile(r"[0-9a-f]{64}")
_FIX_CONVERT = ("Fix: convert the model again with tfjs.convert(...) (or tensorflowjs_converter), "
                "and take model folders only from sources you trust.")


@dataclass(frozen=True)
class RecordedFile:
    """One file of a model folder: its path inside the folder, sha256 and size."""

    path: str
    sha256: str
    size_bytes: int


def _refuse(message: str) -> TamperedModelError:
    return TamperedModelError(message)


def inside(folder: str | os.PathLike[str], rel: object, what: str = "a file") -> Path:
    """``folder / rel``, refused unless it is a path inside ``folder`` with no symbolic link on it.

    >>> inside("web/fraud", "../../etc/passwd", "a weight shard")
    Traceback (most recent call last):
    ...
    course_lib.errors.TamperedModelError: expected a weight shard inside web/fraud; found '../../etc/passwd', a path that leaves the folder (absolute, '..', a URL or a backslash): nothing outside a model folder is read. Fix: convert the model again with tfjs.convert(...) (or tensorflowjs_converter), and take model folders only from sources you trust.

    The one containment check of the Python side (the Node runner and the page apply the
    same rule). The file need not exist; every folder on the way and the file itself, if
    there, must not be a symbolic link, and the real path must stay under the folder's.
    """
    root = Path(folder)
    text = rel if isinstance(rel, str) else None
    parts = PurePosixPath(text).parts if text else ()
    if (not text or "\\" in text or ":" in text or "\0" in text or text.startswith("/")
            or ".." in parts or not parts):
        raise _refuse(
            f"expected {what} inside {root}; found {rel!r}, a path that leaves the folder "
            "(absolute, '..', a URL or a backslash): nothing outside a model folder is read. "
            f"{_FIX_CONVERT}")
    here = root
    for i, part in enumerate(parts):
        here = here / part
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            break
        except OSError as exc:
            raise ModelFileError(f"expected to read {here}; the system refused ({exc}). Fix: "
                                 "check the folder's permissions.") from exc
        if stat.S_ISLNK(mode):
            shown = PurePosixPath(*parts[:i + 1]).as_posix()
            raise _refuse(
                f"expected {what} {shown} in {root} to be a regular file or folder; it is a "
                f"symbolic link (to {os.readlink(here)}), which could point anywhere. Fix: "
                f"replace the link with a copy of the file (cp --remove-destination), or "
                "convert the model again.")
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(here)]) != real_root:  # pragma: no cover
        raise _refuse(f"expected {what} inside {root}; {text} resolves outside it. {_FIX_CONVERT}")
    return here


def _read_json(file: Path, what: str) -> Any:
    """A JSON file read without following a final symbolic link (``inside`` checked the rest)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(file, flags)
        with os.fdopen(fd, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(
            f"expected {file} to be {what}; it is not readable JSON ({type(exc).__name__}: "
            f"{str(exc)[:120]}). Fix: convert the model again.") from exc


def read_model_json(path: Path) -> dict[str, Any]:
    """The model.json of a TF.js model folder, or a :class:`ModelFileError` that says what to do.

    >>> read_model_json(Path("no/such/folder"))
    Traceback (most recent call last):
    ...
    course_lib.errors.ModelFileError: expected a TF.js model folder with model.json; no/such/folder does not exist. Fix: convert a model first (tfjs.convert(model, path)) and pass the folder it wrote.

    A model.json that is a symbolic link is refused (:class:`TamperedModelError`).
    """
    path = Path(path)
    file = inside(path, "model.json", "the model description")
    if not file.is_file():
        found = sorted(p.name for p in path.iterdir())[:6] if path.is_dir() else None
        where = f"{path} holds {found or 'nothing'}" if path.is_dir() else f"{path} does not exist"
        raise ModelFileError(
            f"expected a TF.js model folder with model.json; {where}. Fix: convert a model "
            "first (tfjs.convert(model, path)) and pass the folder it wrote."
        )
    meta = _read_json(file, "TF.js's JSON model description")
    if not isinstance(meta, dict):
        raise ModelFileError(f"expected {file} to hold a JSON object (TF.js's model description);"
                             f" found {type(meta).__name__}. Fix: convert the model again.")
    return meta


def shard_paths(folder: str | os.PathLike[str], meta: Mapping[str, Any]) -> tuple[str, ...]:
    """The weight shards model.json lists (posix paths inside ``folder``), each checked by :func:`inside`.

    >>> shard_paths("web/fraud", {"weightsManifest": [{"paths": ["./group1-shard1of1.bin"]}]})
    ('group1-shard1of1.bin',)
    """
    manifest = meta.get("weightsManifest", [])
    groups = manifest if isinstance(manifest, list) else [manifest]
    out: list[str] = []
    for group in groups:
        paths = group.get("paths", []) if isinstance(group, Mapping) else [group]
        for p in paths if isinstance(paths, list) else [paths]:
            inside(folder, p, "a weight shard")
            rel = PurePosixPath(str(p)).as_posix()
            if rel not in out:
                out.append(rel)
    return tuple(out)


# -- the record ----------------------------------------------------------------------------------

def _read_record(folder: Path) -> dict[str, RecordedFile] | None:
    file = inside(folder, RECORD, "the file record")
    if not os.path.lexists(file):
        return None
    data = _read_json(file, f"the record of this folder's files ({RECORD})")
    entries = data.get("files") if isinstance(data, dict) and data.get("kind") == _KIND else None
    out: dict[str, RecordedFile] = {}
    for name, entry in (entries.items() if isinstance(entries, dict) else ()):
        ok = (isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
              and _HEX.fullmatch(entry["sha256"]) and type(entry.get("size")) is int)
        if not ok:
            entries = None
            break
        out[str(name)] = RecordedFile(str(name), entry["sha256"], entry["size"])
    if not isinstance(entries, dict) or not out:
        raise _refuse(
            f"expected {file} to be the record tfjs.convert writes (kind {_KIND!r}, a sha256 and "
            "a size per file); it is not. Fix: convert the model again, or if you trust the "
            "files, write a new record with tfjs.record_files(folder).")
    return out


def _found(folder: Path) -> dict[str, RecordedFile]:
    files, _dirs, links = _fs.walk(folder)
    if links:
        inside(folder, links[0], "every file")  # raises: names the link and where it points
    out = {}
    for rel in files:
        if rel != RECORD:
            digest, n = _fs.sha256(folder / rel)
            out[rel] = RecordedFile(rel, digest, n)
    return out


def _short(f: RecordedFile | None) -> str:
    return "nothing" if f is None else f"sha256 {f.sha256[:12]}... ({f.size_bytes:,} bytes)"


@dataclass(frozen=True, repr=False)
class FileCheck(_display.Report):
    """What :func:`check_files` found: every file contained, and matching the record if there is one.

    ``files`` are model.json and its shards (sha256 and size); ``record`` the record's
    entries, or None when the folder has no :data:`RECORD` (then ``recorded`` is False:
    the files were kept inside the folder but not checked against anything).

    >>> check = check_files("web/fraud")
    >>> check.recorded, [f.path for f in check.files]
    (True, ['model.json', 'group1-shard1of1.bin'])
    """

    path: Path
    files: tuple[RecordedFile, ...]
    record: Mapping[str, RecordedFile] | None

    @property
    def recorded(self) -> bool:
        """True when the files were checked against a record (and matched it)."""
        return self.record is not None

    @property
    def ok(self) -> bool:
        """The files were checked against a record and matched (a mismatch raises instead)."""
        return self.recorded

    @property
    def digests(self) -> dict[str, str] | None:
        """The recorded sha256 of model.json and each shard (what the Node runner re-checks)."""
        return None if self.record is None else {f.path: f.sha256 for f in self.files}

    @property
    def note(self) -> str:
        """"" with a record; else one sentence saying the files were not checked."""
        if self.recorded:
            return ""
        return (f"files not checked against a record (no {RECORD} in {self.path.as_posix()}: "
                "tfjs.record_files(folder) writes one)")

    @property
    def verdict(self) -> str:
        shards = _display.plural(len(self.files) - 1, "weight shard")
        if self.recorded:
            return f"OK: model.json and {shards} match {RECORD}"
        return f"NOT CHECKED: model.json and {shards} are inside the folder; {self.note}"

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Each file: size and sha256."""
        return (["file", "size", "sha256"],
                [[f.path, _display.size(f.size_bytes), f.sha256] for f in self.files])


def check_files(folder: str | os.PathLike[str]) -> FileCheck:
    """Refuse a model folder whose files leave it or differ from :data:`RECORD`; else what was checked.

    >>> check_files("web/fraud").recorded
    True

    The one check every entry point runs first (:func:`~course_lib.tfjs.predict`,
    :func:`~course_lib.tfjs.run`, :func:`~course_lib.tfjs.verify`,
    :func:`record_files`): model.json and every shard must be regular files inside the
    folder (:func:`inside`); with a record, every file of the folder must be in it with
    the same sha256 and size, and nothing recorded may be missing. A difference raises
    :class:`~course_lib.errors.TamperedModelError` naming the file, recorded vs found.
    """
    path = Path(folder)
    meta = read_model_json(path)
    shards = shard_paths(path, meta)
    record = _read_record(path)
    found = _found(path) if record is not None else {
        rel: RecordedFile(rel, *_fs.sha256(path / rel))
        for rel in ("model.json", *shards) if (path / rel).is_file()}
    if record is not None:
        for name in sorted(set(record) | set(found)):
            want, got = record.get(name), found.get(name)
            if want is None:
                problem = f"{name} is not in the record (found {_short(got)})"
            elif got is None:
                problem = f"{name} is missing (recorded {_short(want)})"
            elif (want.sha256, want.size_bytes) != (got.sha256, got.size_bytes):
                problem = f"{name} differs: recorded {_short(want)}, found {_short(got)}"
            else:
                continue
            raise _refuse(
                f"expected the files of {path} to be those recorded in {RECORD} when the model "
                f"was written; {problem}. TF.js would compute other scores without an error. "
                "Fix: convert the model again with tfjs.convert(...); if you changed the files "
                "on purpose and trust them, record them anew with tfjs.record_files(folder).")
    missing = [s for s in shards if s not in found]
    if missing:
        raise ModelFileError(
            f"expected the weight shard {missing[0]} that model.json lists in {path}; it is not "
            "there. Fix: copy the whole folder the converter wrote, or convert the model again.")
    return FileCheck(path=path, files=tuple(found[r] for r in ("model.json", *shards)),
                     record=record)


def record_files(folder: str | os.PathLike[str]) -> FileCheck:
    """Write :data:`RECORD` for a model folder (the sha256 and size of each file); what it recorded.

    >>> done = record_files("web/fraud")
    >>> done.recorded, done.verdict
    (True, 'OK: model.json and 1 weight shard match files.sha256.json')

    For a folder you converted yourself (``tensorflowjs_converter``) and trust:
    :func:`~course_lib.tfjs.convert` writes the record itself. Every file of the folder is
    recorded (an existing record is replaced); a shard path that leaves the folder, a
    symbolic link or a missing shard is refused first. The record catches accidents
    (truncation, a flipped byte, a swapped shard), not someone who rewrites the files and
    the record: it is a checksum, not a signature.
    """
    path = Path(folder)
    shards = shard_paths(path, read_model_json(path))
    found = _found(path)
    missing = [s for s in shards if s not in found]
    if missing:
        raise ModelFileError(
            f"expected the weight shard {missing[0]} that model.json lists in {path}; it is not "
            "there, so there is nothing to record. Fix: copy the whole folder the converter "
            "wrote, or convert the model again.")
    body = {"kind": _KIND,
            "note": "sha256 and size of every file of this TF.js model, checked before it "
                    "runs: catches accidents (a changed byte, a missing or extra file), not "
                    "someone who rewrites the files and this record.",
            "files": {f.path: {"sha256": f.sha256, "size": f.size_bytes}
                      for f in found.values()}}
    _fs.write_atomic(path / RECORD, json.dumps(body, indent=1) + "\n")
    return check_files(path)
