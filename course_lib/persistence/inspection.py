"""What a saved model holds: its files with sizes and roles, a SavedModel's signatures.

>>> from pathlib import Path
>>> from course_lib.persistence.inspection import FileInfo, ModelInfo
>>> only = FileInfo("fraud.h5", 29_100, "architecture and weights (HDF5)")
>>> info = ModelInfo(Path("fraud.h5"), "h5", (only,))
>>> print(info.table()[1])
[['fraud.h5', '28.4 KB', 'architecture and weights (HDF5)']]
>>> info = inspect("fraud_savedmodel")
>>> info.format, [s.name for s in info.signatures]
('savedmodel', ['serve', 'serving_default'])

:func:`inspect` reads the files without running the model's code (a SavedModel's
signatures come from ``tf.saved_model.load``); :func:`saved_model_cli` runs TensorFlow's
own command-line tool for comparison.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_lib import _display, _fs
from course_lib.errors import CourseLibError, ModelFileError
from course_lib.persistence.formats import detect_format
from course_lib.persistence.loading import TensorInfo, load_savedmodel

__all__ = ["FileInfo", "ModelInfo", "SignatureInfo", "inspect", "saved_model_cli"]


@dataclass(frozen=True)
class FileInfo:
    """One file of a saved model, relative to the model's path."""

    path: str
    size_bytes: int
    role: str = ""


@dataclass(frozen=True)
class SignatureInfo:
    """A SavedModel signature: what ``saved_model_cli show --all`` lists."""

    name: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]

    def lines(self) -> list[str]:
        """The signature as lines of text: its name, then one line per input and output."""
        return ([f"signature '{self.name}':"] + [f"  input  {t}" for t in self.inputs]
                + [f"  output {t}" for t in self.outputs])


_ROLES = {
    "saved_model.pb": "the graph: functions, signatures, the model's structure",
    "fingerprint.pb": "hashes that identify this export",
    "variables/variables.index": "index of the weights (which variable is where)",
    "assets/": "extra files the graph reads (vocabularies); often empty",
    "config.json": "the architecture: layers, their settings, how they connect",
    "metadata.json": "Keras version and save date",
    "model.weights.h5": "the weights",
}

#: The files each format needs to be loaded.
_NEEDED = {"keras": ("config.json", "model.weights.h5"), "savedmodel": ("saved_model.pb",)}


def _role(rel: str) -> str:
    if rel.startswith("variables/variables.data"):
        return "the weights (one or more shards)"
    return _ROLES.get(rel, "")


@dataclass(frozen=True, repr=False)
class ModelInfo(_display.Report):
    """What :func:`inspect` found: the files with sizes and, for a SavedModel, its signatures.

    >>> info = ModelInfo(Path("m.keras"), "keras", (FileInfo("config.json", 2_000),))
    >>> info.ok, info.verdict
    (False, 'NOT OK: a keras model needs model.weights.h5, which is missing')

    ``ok`` when the files the format needs are there and a SavedModel has the
    ``serving_default`` signature that TF Serving and the converters call.
    """

    path: Path
    format: str
    files: tuple[FileInfo, ...]
    signatures: tuple[SignatureInfo, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    disk_bytes: int | None = None

    @property
    def size_bytes(self) -> int:
        """Total size of the files (a .keras archive's contents uncompressed: see disk_bytes)."""
        return sum(f.size_bytes for f in self.files)

    @property
    def title(self) -> str:  # type: ignore[override]
        disk = "" if self.disk_bytes is None else f", {_display.size(self.disk_bytes)} on disk"
        return f"{self.path.name} ({self.format}{disk})"

    @property
    def failures(self) -> tuple[str, ...]:
        """What the model lacks: a needed file, or the serving signature."""
        present = {f.path for f in self.files}
        missing = tuple(f"{name}, which is missing" for name in _NEEDED.get(self.format, ())
                        if name not in present)
        names = [s.name for s in self.signatures]
        if self.format == "savedmodel" and "serving_default" not in names:
            missing += (f"a 'serving_default' signature; found {names}",)
        return missing

    @property
    def verdict(self) -> str:
        """OK, or what is missing."""
        if self.failures:
            return f"NOT OK: a {self.format} model needs " + "; ".join(self.failures)
        n = _display.plural(len(self.files), "file")
        if self.format == "savedmodel":
            return f"OK: {n}, with the 'serving_default' signature that servers call"
        return f"OK: {n}, with the architecture and the weights"

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Each file, its size and what it holds."""
        return (["file", "size", "what it holds"],
                [[f.path, _display.size(f.size_bytes), f.role] for f in self.files])

    def _notes(self) -> list[str]:
        return [f"{k}: {v}" for k, v in self.metadata.items()]

    def __str__(self) -> str:
        lines = [self.title, _display.text_table(*self.table())]
        lines += [line for s in self.signatures for line in s.lines()] + self._notes()
        return "\n".join([*lines, self.verdict])

    def _repr_html_(self) -> str:
        sigs = "".join(
            f"<p>signature <b>{html.escape(s.name)}</b>: "
            + ", ".join(f"input <code>{html.escape(str(t))}</code>" for t in s.inputs) + "; "
            + ", ".join(f"output <code>{html.escape(str(t))}</code>" for t in s.outputs) + "</p>"
            for s in self.signatures)
        notes = "".join(f"<div>{html.escape(n)}</div>" for n in self._notes())
        return (f"<p><b>{html.escape(self.title)}</b></p>" + _display.html_table(*self.table())
                + sigs + notes + _display.verdict_html(self.verdict, self.ok))


def _tensor_infos(structure: Any) -> tuple[TensorInfo, ...]:
    items = structure.items() if isinstance(structure, Mapping) else enumerate(structure)
    return tuple(TensorInfo(str(k), tuple(v.shape.as_list()), v.dtype.name)
                 for k, v in sorted(items))


def _savedmodel_files(p: Path) -> tuple[FileInfo, ...]:
    files, dirs, links = _fs.walk(p)
    empty = [d + "/" for d in dirs if not any((p / d).iterdir())]
    rows = [FileInfo(rel, (p / rel).stat().st_size, _role(rel)) for rel in files]
    rows += [FileInfo(rel, 0, _role(rel)) for rel in empty]
    rows += [FileInfo(rel, 0, "a symbolic link (not followed)") for rel in links]
    return tuple(sorted(rows, key=lambda f: f.path.rstrip("/").split("/")))


def inspect(path: str | os.PathLike[str]) -> ModelInfo:
    """List a saved model's files with sizes; for a SavedModel also its signatures.

    >>> print(inspect("fraud_savedmodel"))
    fraud_savedmodel (savedmodel, ... KB on disk)
    file                                          size  what it holds
    assets/                                    0 bytes  extra files the graph reads (vocabularies); often empty
    fingerprint.pb                           ... bytes  hashes that identify this export
    saved_model.pb                             40.9 KB  the graph: functions, signatures, the model's structure
    variables/variables.data-00000-of-00001     2.7 KB  the weights (one or more shards)
    variables/variables.index                720 bytes  index of the weights (which variable is where)
    signature 'serve':
      input  features: float32 (None, 8)
      output output_0: float32 (None, 1)
    signature 'serving_default':
      input  features: float32 (None, 8)
      output output_0: float32 (None, 1)
    OK: 5 files, with the 'serving_default' signature that servers call

    (``...``: the fingerprint's size, and so the total, changes a little from one export to
    the next.)
    """
    p = Path(path)
    fmt = detect_format(p)
    if fmt == "keras":
        with zipfile.ZipFile(p) as archive:
            files = tuple(FileInfo(i.filename, i.file_size, _role(i.filename))
                          for i in archive.infolist())
            names = archive.namelist()
            meta = json.loads(archive.read("metadata.json")) if "metadata.json" in names else {}
        return ModelInfo(path=p, format=fmt, files=files, metadata=meta, disk_bytes=_fs.size(p))
    if fmt == "h5":
        only = FileInfo(p.name, p.stat().st_size, "architecture and weights (HDF5)")
        return ModelInfo(path=p, format=fmt, files=(only,), disk_bytes=_fs.size(p))
    obj = load_savedmodel(p)
    sigs = tuple(
        SignatureInfo(name, _tensor_infos(fn.structured_input_signature[1]),
                      _tensor_infos(fn.structured_outputs))
        for name, fn in sorted(obj.signatures.items())
    )
    return ModelInfo(path=p, format=fmt, files=_savedmodel_files(p), signatures=sigs,
                     disk_bytes=_fs.size(p))


def saved_model_cli(path: str | os.PathLike[str], *args: str) -> str:
    """Run TensorFlow's real ``saved_model_cli show --dir PATH --all`` and return what it prints.

    >>> print(saved_model_cli("fraud_savedmodel"))
    MetaGraphDef with tag-set: 'serve' contains the following SignatureDefs:
    ...
    signature_def['serving_default']:
      The given SavedModel SignatureDef contains the following input(s):
        inputs['features'] tensor_info:
            dtype: DT_FLOAT
            shape: (-1, 8)
            name: serving_default_features:0
    ...
    """
    p = Path(path)
    fmt = detect_format(p)
    if fmt != "savedmodel":
        raise ModelFileError(f"expected a SavedModel directory; {p} is a {fmt} model.")
    exe = Path(sys.executable).parent / "saved_model_cli"
    if not exe.is_file():
        raise CourseLibError(
            f"expected TensorFlow's saved_model_cli next to Python ({exe}); it is not there. "
            "Fix: pip install 'course-lib[tf]'."
        )
    cmd = [str(exe), "show", "--dir", str(p), *(args or ("--all",))]
    # PYTHONHASHSEED: the tool prints the ops as a Python set; a fixed seed fixes their order.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise CourseLibError(
            f"expected saved_model_cli to succeed; it failed: {done.stderr.strip()[-500:]}")
    return done.stdout.strip()
