"""Results of checking versions: :class:`VerifyReport` (integrity) and :class:`VersionComparison`.

>>> report = VerifyReport("fraud", 2, Path("reg/fraud/2"), 5, ())
>>> report.ok, report.verdict
(True, 'fraud version 2: OK (5 files match the sha256 and size in the manifest)')

:func:`check_files` compares a version folder with its manifest, file by file; it is what
:meth:`ModelRegistry.verify <course_lib.registry.ModelRegistry.verify>` runs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_lib import _display, _fs
from course_lib.errors import (
    IntegrityError,
    InvalidInputError,
    InvalidVersionError,
    VersionNotFoundError,
)
from course_lib.metrics import AnyMetrics, MetricDelta, compare
from course_lib.registry.evaluation import ERRORS
from course_lib.registry.manifest import VersionInfo, metric_cell
from course_lib.registry.names import MANIFEST_NAME, SAVED_MODEL
from course_lib.registry.schema import MANIFEST_LIMIT, parse_manifest


@dataclass(frozen=True)
class FileProblem:
    """One file of a version that does not match the manifest.

    >>> str(FileProblem("saved_model.pb", "missing"))
    'saved_model.pb: missing'
    """

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True, repr=False)
class VerifyReport(_display.Report):
    """The result of :meth:`ModelRegistry.verify`: ok, or the files that differ.

    >>> print(VerifyReport("fraud", 2, Path("reg/fraud/2"), 5, (FileProblem("a.pb", "missing"),)))
    fraud version 2: FAILED: a.pb: missing
    """

    name: str
    version: int
    path: Path
    files_checked: int
    problems: tuple[FileProblem, ...]

    @property
    def ok(self) -> bool:
        """True when every file matches its sha256 and size and nothing is missing or extra."""
        return not self.problems

    @property
    def failures(self) -> tuple[FileProblem, ...]:
        """The files that differ from the manifest (same as ``problems``)."""
        return self.problems

    @property
    def verdict(self) -> str:
        """One line: OK, or FAILED with the files named."""
        if self.ok:
            return (
                f"{self.name} version {self.version}: OK "
                f"({_display.plural(self.files_checked, 'file')} "
                "match the sha256 and size in the manifest)"
            )
        return f"{self.name} version {self.version}: FAILED: " + "; ".join(
            str(p) for p in self.problems
        )

    def raise_if_failed(self, doing: str) -> VerifyReport:
        """Raise :class:`IntegrityError` (naming the files) unless the version verified.

        The sha256 checksums catch accidents (a disk error, a truncated copy, a flipped
        byte, a swapped file), not a writer who recomputes them: that takes a signature.
        """
        if not self.ok:
            raise IntegrityError(
                f"expected {self.name} version {self.version} to match its manifest before "
                f"{doing}; "
                f"it does not: {'; '.join(str(p) for p in self.problems)}. A file changed after "
                "publishing (a disk error, a truncated copy, a flipped byte, a swapped or edited "
                "file). The sha256 checksums catch such accidents, not a writer who recomputes "
                "them: only a signed version (ModelRegistry(root, signing_key=..., "
                "public_key=...)) shows who wrote it. Fix: restore the version from a trusted "
                "copy, or publish the model again as a new version.",
                report=self,
            )
        return self


def _read_manifest(
    name: str, version: int, d: Path
) -> tuple[dict[str, Any] | None, FileProblem | None]:
    """The parsed manifest of folder ``d`` (None when it cannot be trusted) and its problem."""
    mpath = d / MANIFEST_NAME
    try:  # bounded, never through a link
        raw = _fs.read_file(mpath, MANIFEST_LIMIT, InvalidVersionError)
    except FileNotFoundError:
        return None, FileProblem(MANIFEST_NAME, "missing: not a complete registry version")
    except InvalidVersionError as exc:
        return None, FileProblem(MANIFEST_NAME, str(exc).split("; ", 1)[1].split(". Fix:")[0])
    read = parse_manifest(raw, name, version, exact=True)
    if read.kind == "changed":
        return None, FileProblem(
            MANIFEST_NAME, "changed: its content no longer matches its own checksum"
        )
    if read.kind == "misplaced":
        return read.data, FileProblem(MANIFEST_NAME, read.problem.replace("it describes", "describes"))
    if not read.ok:
        return None, FileProblem(MANIFEST_NAME, f"not a valid manifest: {read.problem}")
    return read.data, None


def folder_problems(data: Mapping[str, Any], files: Mapping[str, Any],
                    dirs: list[str]) -> list[FileProblem]:
    """Folders added to or missing from a version (a manifest before ``folders`` allows the
    parents of its files and SavedModel's ``assets``).

    >>> folder_problems({"folders": ["assets"]}, {}, ["assets", "extra"])
    [FileProblem(path='extra', problem='unexpected folder: not in the manifest (added after publishing)')]
    """
    if "folders" in data:
        allowed = set(data["folders"])
    else:
        allowed = {"assets", "assets.extra"} | {
            "/".join(rel.split("/")[:i]) for rel in files for i in range(1, rel.count("/") + 1)}
    out = [FileProblem(rel, "unexpected folder: not in the manifest (added after publishing)")
           for rel in dirs if rel not in allowed]
    out += [FileProblem(rel, "missing folder (listed in the manifest)")
            for rel in sorted(allowed - set(dirs)) if "folders" in data]
    return out


def check_files(name: str, version: int, d: Path) -> VerifyReport:
    """Compare the folder ``d`` of ``name`` version ``version`` with its manifest, file by file.

    >>> import tempfile
    >>> check_files("fraud", 1, Path(tempfile.mkdtemp())).verdict  # doctest: +ELLIPSIS
    'fraud version 1: FAILED: saved_model.pb: missing: ...; course_manifest.json: missing: ...'

    Every file's size, then its sha256, is checked; files missing from the folder or not
    in the manifest, and symbolic links (never followed), are named. A version another
    process deletes while it is checked is :class:`VersionNotFoundError`, not a file problem.
    """
    try:
        report = _compare_files(name, version, d)
    except FileNotFoundError:
        if os.path.lexists(d):
            raise
    else:
        if os.path.lexists(d):
            return report
    raise VersionNotFoundError(
        f"expected {name} version {version} to exist while being verified; another process "
        "deleted it meanwhile. Fix: pick another version (course-lib registry list ROOT "
        f"{name})."
    )


def _compare_files(name: str, version: int, d: Path) -> VerifyReport:
    if d.is_symlink() or not d.is_dir():
        return VerifyReport(name, version, d, 0, (FileProblem(str(version), "not a folder"),))
    problems: list[FileProblem] = []
    if not (d / SAVED_MODEL).is_file():
        problems.append(
            FileProblem(SAVED_MODEL, "missing: TF Serving needs it directly in the version folder")
        )
    data, problem = _read_manifest(name, version, d)
    problems += [problem] if problem is not None else []
    if data is None:  # nothing in it can be trusted: no file list to compare with
        return VerifyReport(name, version, d, 0, tuple(problems))
    expected: Mapping[str, Mapping[str, Any]] = data.get("files", {})
    files, dirs, links = _fs.walk(d)
    problems += [
        FileProblem(rel, "a symbolic link: the registry never writes links") for rel in links
    ]
    problems += folder_problems(data, expected, dirs)
    present = set(files) - {MANIFEST_NAME}
    for rel in sorted(set(expected) - present):
        if rel != SAVED_MODEL or (d / SAVED_MODEL).exists():
            problems.append(FileProblem(rel, "missing (listed in the manifest)"))
    for rel in sorted(present - set(expected)):
        problems.append(
            FileProblem(rel, "unexpected: not in the manifest (added after publishing)")
        )
    checked = 0
    for rel in sorted(present & set(expected)):
        rec, p = expected[rel], d / rel
        checked += 1
        try:
            found = p.lstat().st_size
            if found != rec.get("size"):
                problems.append(FileProblem(
                    rel, f"size changed ({found:,} bytes; the manifest says {rec['size']:,})"))
            elif _fs.sha256(p)[0] != rec.get("sha256"):
                problems.append(
                    FileProblem(rel, "content changed (its sha256 differs from the manifest)")
                )
        except FileNotFoundError:
            problems.append(FileProblem(rel, "missing (removed while being checked)"))
    return VerifyReport(name, version, d, checked + 1, tuple(problems))


# -- comparing -----------------------------------------------------------------------------


def metric_rows(a: AnyMetrics, b: AnyMetrics, tolerance: float) -> tuple[MetricDelta, ...]:
    """Each metric of the task from ``a`` to ``b`` with its allowed drop (absolute).

    A regression's errors get a tolerance relative to ``a``'s error (0.01 = 1% larger).

    >>> from course_lib.metrics import RegressionMetrics
    >>> a = RegressionMetrics(n=10, mae=40.0, rmse=50.0, r2=0.5, max_error=120.0, worst_row=3)
    >>> [(r.name, r.tolerance) for r in metric_rows(a, a, 0.01)][:2]
    [('mae', 0.4), ('rmse', 0.5)]
    """
    return compare(a, b, tolerance).rows


def worse(row: MetricDelta) -> bool:
    """True when a metric moved the wrong way by more than its tolerance (errors: up)."""
    change = row.delta if row.name in ERRORS else -row.delta
    return change > row.tolerance + 1e-12


@dataclass(frozen=True, repr=False)
class VersionComparison(_display.Report):
    """Two versions of one model on the same evaluation set: metrics, deltas, size, latency.

    >>> comparison = reg.compare("fraud", 1, 2).plot()
    >>> comparison.ok, comparison.figure_
    (True, <Figure size 800x420 with 1 Axes>)

    The verdict is relative to ``a``, not a judgement of ``b`` on its own (that is the
    promotion policy's): NO REGRESSION when ``b`` is improved or stable (within
    ``tolerance``) on every metric of its task, REGRESSION naming the metrics that got worse;
    much larger size without gains is flagged. ``ok`` is True for NO REGRESSION. A regression's errors (MAE, RMSE, largest error) are
    better when lower: a rise beyond the tolerance is a regression. :meth:`plot` draws the
    two confusion matrices (K x K for a multi-class model), or a regression's errors.
    """

    a: VersionInfo
    b: VersionInfo
    rows: tuple[MetricDelta, ...]
    tolerance: float
    same_data: bool

    @property
    def ok(self) -> bool:
        """True when both share their evaluation data and no metric got worse (NO REGRESSION)."""
        return self.same_data and not self.regressions

    @property
    def failures(self) -> tuple[MetricDelta, ...]:
        """The metrics that got worse by more than the tolerance (same as ``regressions``)."""
        return self.regressions

    @property
    def regressions(self) -> tuple[MetricDelta, ...]:
        """The metrics that got worse by more than the tolerance from a to b."""
        return tuple(r for r in self.rows if worse(r))

    @property
    def size_ratio(self) -> float:
        """b's size divided by a's."""
        return self.b.size_bytes / self.a.size_bytes if self.a.size_bytes else math.inf

    def _allowed(self) -> str:
        if self.a.task == "regression":
            return f"no error more than {self.tolerance:.0%} larger, R² no more than " \
                   f"{self.tolerance:g} lower"
        return f"no drop over {self.tolerance:g}"

    @property
    def verdict(self) -> str:
        """NO REGRESSION (improved or stable on every metric) or REGRESSION (which got worse)."""
        a, b = self.a.label, self.b.label
        if not self.same_data:
            return (
                f"NOT COMPARABLE: {a} was evaluated on {self.a.eval_name!r}, {b} on "
                f"{self.b.eval_name!r}; their metrics come from different rows"
            )
        size = ""
        if self.size_ratio >= 1.5:
            size = f"; and {b} is {self.size_ratio:.1f}x the size of {a}"
        if self.regressions:
            f = ".4g" if self.a.task == "regression" else ".3f"
            dropped = ", ".join(f"{r.name} {r.delta:+{f}}" for r in self.regressions)
            allowed = (f"allowed: {self._allowed()}" if self.a.task == "regression"
                       else f"more than {self.tolerance:g}")
            return f"REGRESSION: {b} is worse than {a} on {dropped} ({allowed}){size}"
        return (
            f"NO REGRESSION: {b} is improved or stable on every metric compared with {a} "
            f"({self._allowed()}){size}"
        )

    @property
    def title(self) -> str:  # type: ignore[override]
        """The model and the data both versions were evaluated on."""
        return f"{self.a.name}: {self.data_line()}"

    def table(self) -> tuple[tuple[str, ...], list[list[str]]]:
        """Each metric of the task (and a binary classifier's four counts), size and latency."""
        ma, mb = self.a.metrics, self.b.metrics
        task = self.a.task
        f = "+.4g" if task == "regression" else "+.3f"
        macro = {"precision", "recall", "f1"} if task == "multiclass" else set()
        rows = [[f"macro {r.name}" if r.name in macro else r.name, metric_cell(ma, r.name),
                 metric_cell(mb, r.name), f"{r.delta:{f}}"] for r in self.rows]
        if task == "binary":
            rows += [
                [
                    k.upper(),
                    f"{getattr(ma, k):,}",
                    f"{getattr(mb, k):,}",
                    f"{getattr(mb, k) - getattr(ma, k):+,d}",
                ]
                for k in ("tp", "fp", "fn", "tn")
            ]
        rows.append(
            [
                "size",
                _display.size(self.a.size_bytes),
                _display.size(self.b.size_bytes),
                f"{self.size_ratio:.2f}x",
            ]
        )
        la, lb = self.a.latency_ms, self.b.latency_ms
        rows.append(
            [
                "latency (1 row)",
                _display.milliseconds(la),
                _display.milliseconds(lb),
                "-" if la is None or lb is None else f"{lb - la:+.2f} ms",
            ]
        )
        return ("", self.a.label, self.b.label, "change"), rows

    def data_line(self) -> str:
        """Which rows the two versions were evaluated on (flagged when they differ)."""
        if self.same_data:
            return (
                f"both evaluated on {self.a.eval_name!r} ({self.a.eval_rows:,} rows, fingerprint "
                f"{self.a.eval_fingerprint[:12]})"
            )
        return (
            f"DIFFERENT DATA: {self.a.label} on {self.a.eval_name!r} "
            f"({self.a.eval_fingerprint[:12]}), "
            f"{self.b.label} on {self.b.eval_name!r} ({self.b.eval_fingerprint[:12]})"
        )

    def plot(self, ax: Any = None) -> VersionComparison:
        """Draw both versions side by side into ``ax``; returns the comparison.

        A classifier's two confusion matrices (2 x 2, or K x K with the class names),
        each an inset of ``ax`` (a new figure without it) titled with the version's size
        and latency; a regression's errors as bars. ``ax_`` and ``figure_`` are kept (a
        lesson shows ``.plot().figure_``).
        """
        if ax is not None and not hasattr(ax, "inset_axes"):
            raise InvalidInputError(
                f"expected ax to be a matplotlib Axes; found {type(ax).__name__}. "
                "Fix: pass ax=fig.add_subplot(), or leave it out for a new figure."
            )
        ax = self._axes(ax, 8.0, 4.2)
        ax.set_title(f"{self.a.name}: {self.data_line()}", fontsize="medium")
        if self.a.task == "regression":
            self._plot_errors(ax)
            return self
        ax.set_axis_off()
        for i, v in enumerate((self.a, self.b)):
            inset = ax.inset_axes((0.56 * i, 0.0, 0.44, 0.78))
            size, latency = _display.size(v.size_bytes), _display.milliseconds(v.latency_ms)
            title = f"{v.label}: {size}, {latency}"
            if v.task == "binary":
                from course_lib.plots import plot_confusion_matrix

                plot_confusion_matrix(v.metrics, ax=inset, title=title)
            else:
                _plot_matrix(v.metrics, inset, title)
        return self

    def _plot_errors(self, ax: Any) -> None:
        names = [r.name for r in self.rows if r.name in ERRORS]
        width = 0.38
        for i, v in enumerate((self.a, self.b)):
            xs = [k + (i - 0.5) * width for k in range(len(names))]
            size, latency = _display.size(v.size_bytes), _display.milliseconds(v.latency_ms)
            ax.bar(xs, [v.metrics.get(n) for n in names], width,
                   label=f"{v.label}: {size}, {latency} (R² {v.metrics.get('r2'):.3f})")
        ax.set_xticks(range(len(names)), names)
        ax.set_ylabel("error (the target's units; lower is better)")
        ax.legend(fontsize="small")


def _plot_matrix(metrics: Any, ax: Any, title: str) -> None:
    """A K x K confusion matrix with the class names, and the macro recall and precision."""
    from sklearn.metrics import ConfusionMatrixDisplay

    ConfusionMatrixDisplay(confusion_matrix=metrics.confusion_matrix,
                           display_labels=list(metrics.class_names)).plot(
        ax=ax, colorbar=False, values_format="d")
    small = len(metrics.class_names) > 5
    if small:
        ax.tick_params(labelsize="x-small")
        for text in ax.texts:
            text.set_fontsize("x-small")
    ax.set_title(f"{title}\nmacro recall {metrics.recall:.3f}  precision "
                 f"{metrics.precision:.3f}")
