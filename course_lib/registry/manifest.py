"""What a manifest records: a version (:class:`VersionInfo`), the cheap validity check of a
numbered folder (:class:`VersionStatus`) and the version table (:class:`VersionTable`).

>>> v = VersionInfo("fraud", 1, Path("r/fraud/1"), "", "toy test", "ab" * 32, 200, 0.5,
...                 Metrics.from_counts(tp=80, fp=20, fn=15, tn=85), 50_000, 1.0, {}, {})
>>> v.task, VersionTable.head_of([v])[3:7]
('binary', ('accuracy', 'precision', 'recall', 'f1'))

The evaluation set and the metrics of each task are :mod:`course_lib.registry.evaluation`.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_lib import _display
from course_lib.metrics import AnyMetrics, Metrics
from course_lib.registry.evaluation import (  # noqa: F401 (EvalSet, fingerprint: as before)
    TASK_WORDS,
    EvalSet,
    fingerprint,
    metrics_from_record,
)
from course_lib.registry.names import KERAS_FILE, MANIFEST_NAME, SAVED_MODEL


def metrics_line(m: AnyMetrics) -> str:
    """A version's metrics in one line (with the counts of a binary classifier).

    >>> print(metrics_line(Metrics.from_counts(tp=80, fp=20, fn=15, tn=85)))
    accuracy 0.825  precision 0.800  recall 0.842  f1 0.821  (TP 80, FP 20, FN 15, TN 85)
    """
    if isinstance(m, Metrics):
        return ("  ".join(f"{k} {m.get(k):.3f}" for k in m.names)
                + f"  (TP {m.tp}, FP {m.fp}, FN {m.fn}, TN {m.tn})")
    if m.task == "multiclass":
        return ("  ".join(f"{k} {m.get(k):.3f}" for k in m.names)
                + f"  (precision, recall, f1: macro averages over {len(m.class_names)} classes)")
    return "  ".join(f"{k} {m.get(k):.4g}" for k in m.names) + "  (errors in the target's units)"


def metric_cell(m: AnyMetrics, name: str) -> str:
    """One metric as a table shows it ("-" when the version's task does not record it)."""
    if name not in m.names:
        return "-"
    return f"{m.get(name):.4g}" if m.task == "regression" else f"{m.get(name):.3f}"


# -- what a version holds -------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class VersionInfo:
    """One published version as its manifest describes it (plus its current aliases).

    >>> v = VersionInfo("fraud", 1, Path("r/fraud/1"), "", "toy test", "ab" * 32, 200, 0.5,
    ...                 Metrics.from_counts(tp=80, fp=20, fn=15, tn=85), 50_000, 1.0, {}, {})
    >>> v.heading
    'fraud version 1'
    >>> print(str(v).splitlines()[3])
      size 48.8 KB (SavedModel, 0 files), latency 1.00 ms per call on 1 row

    Metrics are those of the named evaluation set (``eval_name``, ``eval_fingerprint``),
    for the model's task (:class:`~course_lib.metrics.Metrics` of a binary classifier at
    ``threshold``, :class:`~course_lib.metrics.MulticlassMetrics` or
    :class:`~course_lib.metrics.RegressionMetrics`, whose ``threshold`` is None); ``size_bytes`` is the SavedModel's size (without the manifest and
    the optional ``.keras`` file); ``latency_ms`` the median time of one call on one row.
    It is only made from a manifest that matches its own checksum: a record, not a verdict
    (:meth:`ModelRegistry.verify` judges a version's files).
    """

    name: str
    version: int
    path: Path
    created: str
    eval_name: str
    eval_fingerprint: str
    eval_rows: int
    threshold: float | None
    metrics: AnyMetrics
    size_bytes: int
    latency_ms: float | None
    files: Mapping[str, Mapping[str, Any]]
    libraries: Mapping[str, str]
    notes: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    keras_file: str | None = None
    latency: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def task(self) -> str:
        """``"binary"``, ``"multiclass"`` or ``"regression"``: the task its metrics measure."""
        return self.metrics.task

    @property
    def label(self) -> str:
        """``"version N"``."""
        return f"version {self.version}"

    @property
    def heading(self) -> str:
        """``"fraud version 2 (production)"``: the version and its aliases."""
        aliases = f" ({', '.join(self.aliases)})" if self.aliases else ""
        return f"{self.name} version {self.version}{aliases}"

    def summary_lines(self) -> list[str]:
        """The heading, then evaluation, metrics, size and latency, notes and tags."""
        tags = ", ".join(f"{k}={v}" for k, v in self.tags.items())
        how = (f"threshold {self.threshold:.2f}" if self.task == "binary"
               and self.threshold is not None else TASK_WORDS[self.task])
        lines = [
            self.heading,
            (
                f"  evaluated on {self.eval_name!r}: {self.eval_rows:,} rows, fingerprint "
                f"{self.eval_fingerprint[:12]}, {how}"
            ),
            "  " + metrics_line(self.metrics),
            (
                f"  size {_display.size(self.size_bytes)} (SavedModel, "
                f"{_display.plural(len(self.model_files), 'file')}), "
                f"latency {_display.milliseconds(self.latency_ms)} per call on 1 row"
            ),
        ]
        if self.notes:
            lines.append(f"  notes: {self.notes}")
        if tags:
            lines.append(f"  tags: {tags}")
        return lines

    @property
    def model_files(self) -> tuple[str, ...]:
        """The SavedModel's files (the manifest's file list without the optional .keras file)."""
        return tuple(f for f in self.files if f != KERAS_FILE)

    def __str__(self) -> str:
        return "\n".join(self.summary_lines())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        lines = self.summary_lines()
        return (
            f"<p><b>{html.escape(lines[0])}</b></p><ul>"
            + "".join(f"<li>{html.escape(x.strip())}</li>" for x in lines[1:])
            + "</ul>"
        )

    def details(self) -> str:
        """Everything in the manifest (for ``course-lib registry show``): time, libraries, files,
        and a multi-class model's row per class."""
        lines = self.summary_lines()
        lines.insert(1, f"  created {self.created}, at {self.path}")
        if self.task == "multiclass":
            lines.append("  per class:")
            lines += ["    " + line for line in _display.text_table(*self.metrics.table())
                      .splitlines()]
        lines.append("  written by " + ", ".join(f"{k} {v}" for k, v in self.libraries.items()))
        if self.latency:
            lines.append("  latency: " + ", ".join(f"{k} {v}" for k, v in self.latency.items()))
        lines.append("  files:")
        lines += ["    " + line for line in self.describe_files().splitlines()]
        return "\n".join(lines)

    def describe_files(self, exact: bool = True) -> str:
        """The manifest's files with their size and the start of their sha256.

        ``exact=False`` rounds sizes to 0.1 KB and leaves the digests out: TensorFlow's
        export is not byte-for-byte reproducible (the same weights give other bytes on
        another run), so a lesson that is re-run shows what stays the same.

        >>> v = VersionInfo("fraud", 1, Path("r/fraud/1"), "", "t", "ab", 2, 0.5,
        ...                 Metrics.from_counts(tp=1, fp=0, fn=0, tn=1), 3, None,
        ...                 {"saved_model.pb": {"sha256": "0123456789abcdef" * 4, "size": 3}}, {})
        >>> print(v.describe_files())
        file            size  sha256
        saved_model.pb     3  0123456789abcdef...
        >>> print(v.describe_files(exact=False).splitlines()[1])
        saved_model.pb  0.0 KB
        """
        if not exact:
            # KB even below 1 KB: fingerprint.pb (~60 bytes) moves by a few bytes between exports
            rows = [[rel, _display.size(rec["size"]) if rec["size"] >= 1024
                     else f"{rec['size'] / 1024:.1f} KB"] for rel, rec in self.files.items()]
            return _display.text_table(("file", "size"), rows) + (
                f"\n(the manifest holds each file's exact size in bytes and its sha256: "
                f"course-lib registry show ROOT {self.name} {self.version})"
            )
        rows = [
            [rel, f"{rec['size']:,}", rec["sha256"][:16] + "..."] for rel, rec in self.files.items()
        ]
        return _display.text_table(("file", "size", "sha256"), rows)


def info_from_manifest(
    data: Mapping[str, Any], path: Path, aliases: tuple[str, ...]
) -> VersionInfo:
    """The :class:`VersionInfo` of a parsed manifest found at ``path`` (any task; a manifest
    without a task is a binary classifier's, as every manifest was before tasks)."""
    ev = data["evaluation"]
    metrics = metrics_from_record(ev)
    threshold = ev.get("threshold")
    latency = data.get("latency") or {}
    return VersionInfo(
        name=data["name"],
        version=int(data["version"]),
        path=path,
        created=data["created"],
        eval_name=ev["name"],
        eval_fingerprint=ev["fingerprint"],
        eval_rows=int(ev["rows"]),
        threshold=None if threshold is None else float(threshold),
        metrics=metrics,
        size_bytes=int(data["size_bytes"]),
        latency_ms=latency.get("median_ms"),
        files=data["files"],
        libraries=data["libraries"],
        notes=data.get("notes", ""),
        tags=data.get("tags", {}),
        keras_file=data.get("keras_file"),
        latency=latency,
        aliases=aliases,
    )


@dataclass(frozen=True)
class VersionStatus:
    """A numbered folder and whether it is a complete registry version (cheap check, no hashing).

    >>> VersionStatus(3, False, "no saved_model.pb").valid
    False
    """

    version: int
    valid: bool
    reason: str = ""


@dataclass(frozen=True, repr=False)
class VersionTable(_display.Report):
    """The versions of one model side by side (what ``course-lib registry list`` prints).

    >>> print(VersionTable("fraud", (), (VersionStatus(1, False, "no saved_model.pb"),)))
    fraud: no valid version; INVALID: 1 (no saved_model.pb)

    ``ok`` is False when a numbered folder is not a complete version (``invalid``).
    """

    name: str
    rows: tuple[VersionInfo, ...]
    invalid: tuple[VersionStatus, ...] = ()

    #: The columns of a binary classifier's versions (each task shows its own metrics).
    HEAD = (
        "version",
        "aliases",
        "evaluated on",
        "accuracy",
        "precision",
        "recall",
        "f1",
        "size",
        "latency",
        "notes",
    )

    @staticmethod
    def head_of(rows: Sequence[VersionInfo]) -> tuple[str, ...]:
        """The columns for these versions: their task's metrics (and the task when they differ)."""
        tasks = list(dict.fromkeys(v.task for v in rows))
        metrics = dict.fromkeys(n for v in rows for n in v.metrics.names)  # in order, once each
        return ("version", "aliases", "evaluated on", *(("task",) if len(tasks) > 1 else ()),
                *metrics, "size", "latency", "notes")

    @property
    def failures(self) -> tuple[VersionStatus, ...]:
        """The numbered folders that are not complete versions (``invalid``)."""
        return self.invalid

    @property
    def ok(self) -> bool:
        """True when every numbered folder is a complete version."""
        return not self.failures

    @property
    def verdict(self) -> str:
        """How many versions, and the invalid folders with their reason."""
        if not self.rows and not self.invalid:
            return f"{self.name}: no versions yet"
        head = (f"{self.name}: {_display.plural(len(self.rows), 'version')}" if self.rows
                else f"{self.name}: no valid version")
        bad = "; ".join(f"{s.version} ({s.reason})" for s in self.invalid)
        return head + (f"; INVALID: {bad}" if bad else "")

    def table(self) -> tuple[tuple[str, ...], list[list[str]]] | None:
        """One row per valid version: aliases, evaluation set, its task's metrics, size, latency."""
        if not self.rows:
            return None
        head = self.head_of(self.rows)
        return head, [self.cells(v, head) for v in self.rows]

    @staticmethod
    def cells(v: VersionInfo, head: Sequence[str] = HEAD) -> list[str]:
        """The table's cells of one version, for the columns ``head``."""
        known = {
            "version": str(v.version),
            "aliases": ", ".join(v.aliases) or "-",
            "evaluated on": v.eval_name,
            "task": v.task,
            "size": _display.size(v.size_bytes),
            "latency": _display.milliseconds(v.latency_ms),
            "notes": v.notes or "-",
        }
        return [known[c] if c in known else metric_cell(v.metrics, c) for c in head]


def status(version: int, path: str, is_link: bool, is_dir: bool) -> VersionStatus:
    """Whether a numbered folder is a complete version: two stat calls, nothing read.

    >>> status(1, "no/such/folder", False, True).reason
    'no saved_model.pb: not a SavedModel TF Serving can load'
    """
    if is_link:
        return VersionStatus(version, False, "a symbolic link, not a folder the registry wrote")
    if not is_dir:
        return VersionStatus(version, False, "a file, not a version folder")
    if not os.path.exists(os.path.join(path, SAVED_MODEL)):
        return VersionStatus(
            version, False, f"no {SAVED_MODEL}: not a SavedModel TF Serving can load"
        )
    if not os.path.exists(os.path.join(path, MANIFEST_NAME)):
        return VersionStatus(version, False, f"no {MANIFEST_NAME}: not published by the registry")
    return VersionStatus(version, True)
