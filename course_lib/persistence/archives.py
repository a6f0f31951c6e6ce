"""How much a model file may unpack to, checked before Keras opens it.

>>> from course_lib.persistence import archives
>>> archives.unpacked_bytes("fraud.keras") < 100_000
True
>>> archives.check_unpacked("fraud.keras", max_unpacked_bytes=1_000)
Traceback (most recent call last):
...
course_lib.errors.ArchiveTooLargeError: expected fraud.keras to unpack to at most 1000 bytes (max_unpacked_bytes); it would unpack to ... KB, as its members declare ...

A ``.keras`` file is a zip: a few megabytes of zeros can declare gigabytes of weights,
and Keras unpacks them all into memory (twice: the arrays, then the variables). The bound
(:data:`MAX_UNPACKED_BYTES`, 1 GiB: forty thousand times the course's models, and what a
laptop with 8 GB can load next to TensorFlow and a notebook) counts:

* the sizes the zip's central directory declares for its members;
* the data each compressed member really inflates to, read once without keeping it, so a
  member whose declared size lies is refused too (a stored member cannot hold more than
  its bytes on disk);
* the arrays each HDF5 file inside (``model.weights.h5``), or a legacy ``.h5`` model,
  declares: shape x item size of every dataset, as h5py reads them from the file's
  metadata (a dataset that was never written still reads back at its full size).

``max_unpacked_bytes=None`` lifts the bound, for a big model you trust.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any

from course_lib import _checks, _display
from course_lib.errors import ArchiveTooLargeError, ModelFileError

__all__ = ["MAX_UNPACKED_BYTES", "check_unpacked", "h5_bytes", "unpacked_bytes"]

#: The default bound of :func:`check_unpacked` and ``persistence.load``: 1 GiB.
MAX_UNPACKED_BYTES = 1 << 30
_CHUNK = 1 << 20


def _bound(value: object) -> int | None:
    if value is None:
        return None
    return _checks.whole("max_unpacked_bytes", value, minimum=1)


def _too_large(path: Path, limit: int, found: str, detail: str) -> ArchiveTooLargeError:
    return ArchiveTooLargeError(
        f"expected {path.name} to unpack to at most {_display.size(limit)} (max_unpacked_bytes); "
        f"it would unpack to {found}{detail}. A small file that unpacks to far more is a zip "
        "bomb, or a model larger than this machine should load unasked. Fix: for a file you "
        "trust, pass max_unpacked_bytes=None (no bound) or a larger bound.")


def h5_bytes(file: str | os.PathLike[str] | IO[bytes]) -> int:
    """The bytes every dataset of an HDF5 file holds once read: the sum of shape x item size.

    Read from the file's metadata (no data is read).

    >>> h5_bytes("fraud.h5") < 100_000
    True
    """
    import h5py

    total = 0

    def add(_name: str, obj: Any) -> None:
        nonlocal total
        if isinstance(obj, h5py.Dataset):
            total += int(obj.size) * int(obj.dtype.itemsize)

    with h5py.File(file, "r") as h5:
        h5.visititems(add)
    return total


def _inflated(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> int:
    """The bytes a member really inflates to, counted up to ``cap`` + 1 (nothing kept)."""
    if info.compress_type == zipfile.ZIP_STORED:
        return info.compress_size  # stored: the data is exactly its bytes on disk
    if info.compress_type != zipfile.ZIP_DEFLATED:  # bzip2, lzma: zipfile's reader counts
        count = 0
        with zf.open(info) as member:
            while count <= cap and (chunk := member.read(_CHUNK)):
                count += len(chunk)
        return count
    with open(path, "rb") as f:  # deflate: inflate the raw stream ourselves, whatever it declares
        f.seek(info.header_offset)
        header = f.read(zipfile.sizeFileHeader)
        skip = int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
        f.seek(info.header_offset + zipfile.sizeFileHeader + skip)
        inflate, left, count = zlib.decompressobj(-15), info.compress_size, 0
        while left > 0 and count <= cap:
            raw = f.read(min(_CHUNK, left))
            if not raw:
                break
            left -= len(raw)
            count += len(inflate.decompress(raw, _CHUNK))
            while inflate.unconsumed_tail and count <= cap:
                count += len(inflate.decompress(inflate.unconsumed_tail, _CHUNK))
    return count


def _zip_bytes(path: Path, limit: int | None) -> int:
    """The most a zip unpacks to: its members' declared sizes, or the arrays its HDF5 declares."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFileError(
            f"expected {path.name} to be a readable zip archive (.keras); it is not ({exc}). "
            "Fix: save the model again, or restore a trusted copy.") from exc
    with zf:
        infos = zf.infolist()
        declared = sum(i.file_size for i in infos)
        if limit is not None and declared > limit:
            biggest = max(infos, key=lambda i: i.file_size)
            raise _too_large(path, limit, f"{_display.size(declared)}, as its members declare",
                             f" ({biggest.filename}: {_display.size(biggest.file_size)})")
        for info in infos if limit is not None else ():
            try:
                real = _inflated(path, zf, info, info.file_size)
            except (zlib.error, zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
                raise ModelFileError(
                    f"expected {path.name}'s member {info.filename} to be readable compressed "
                    f"data; it is not ({type(exc).__name__}: {exc}). The file is corrupted, "
                    "encrypted or not a Keras archive. Fix: save the model again, or restore a "
                    "trusted copy.") from exc
            if real > info.file_size:
                raise _too_large(path, limit, f"more than the {_display.size(info.file_size)} "
                                 f"its member {info.filename} declares", " (its declared size lies)")
        arrays = 0
        for info in infos:
            if info.filename.endswith(".h5"):
                try:
                    with zf.open(info) as member:
                        arrays += h5_bytes(member)
                except (OSError, ValueError, zipfile.BadZipFile):
                    continue  # not HDF5 after all: Keras will say what is wrong with it
        if limit is not None and arrays > limit:
            raise _too_large(path, limit, _display.size(arrays), " once its weights are read (the "
                             "arrays its HDF5 declares: shape x item size)")
        return max(declared, arrays)


def unpacked_bytes(path: str | os.PathLike[str]) -> int:
    """What a ``.keras`` or ``.h5`` file unpacks to: its members, and the arrays its HDF5 declares.

    >>> unpacked_bytes("fraud.keras") > 20_000
    True
    """
    p = Path(path)
    if zipfile.is_zipfile(p):
        return _zip_bytes(p, None)
    return h5_bytes(p)


def check_unpacked(path: str | os.PathLike[str], *,
                   max_unpacked_bytes: int | None = MAX_UNPACKED_BYTES) -> int:
    """``path``'s unpacked size, refused (:class:`ArchiveTooLargeError`) above the bound.

    ``None`` lifts the bound (nothing is read beyond what Keras reads itself).

    >>> check_unpacked("fraud.keras", max_unpacked_bytes=None)
    0
    """
    limit = _bound(max_unpacked_bytes)
    if limit is None:
        return 0
    p = Path(path)
    if zipfile.is_zipfile(p):
        return _zip_bytes(p, limit)
    try:
        total = h5_bytes(p)
    except (OSError, ValueError):
        return 0  # not readable as HDF5: Keras will say what is wrong with the file
    if total > limit:
        raise _too_large(p, limit, _display.size(total), " (the sum of its datasets' shape x "
                         "item size)")
    return total
