"""Results of checking versions: :class:`VerifyReport` (integrity) and :class:`VersionComparison`."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from course_lib.metrics import MetricDelta
from course_lib.registry.errors import IntegrityError
from course_lib.registry.formatting import _GREEN, _RED, _html_table, _kb, _ms, _plural, _text_table
from course_lib.registry.manifest import VersionInfo

if TYPE_CHECKING:  # annotations only
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class FileProblem:
    """One file of a version that does not match the manifest."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True)
class VerifyReport:
    """The result of :meth:`ModelRegistry.verify`: ok, or the files that differ.

    >>> VerifyReport("fraud", 2, Path("reg/fraud/2"), 5, ()).ok
    True
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
    def verdict(self) -> str:
        """One line: OK, or FAILED with the files named."""
        if self.ok:
            return (
                f"{self.name} version {self.version}: OK ({_plural(self.files_checked, 'file')} "
                "match the sha256 and size in the manifest)"
            )
        return f"{self.name} version {self.version}: FAILED: " + "; ".join(
            str(p) for p in self.problems
        )

    def __str__(self) -> str:
        return self.verdict

    def __repr__(self) -> str:
        return self.verdict

    def _repr_html_(self) -> str:
        color = _GREEN if self.ok else _RED
        return f'<p style="color:{color}"><b>{html.escape(self.verdict)}</b></p>'

    def raise_if_failed(self, doing: str) -> VerifyReport:
        """Raise :class:`IntegrityError` (naming the files) unless the version verified."""
        if not self.ok:
            raise IntegrityError(
                f"expected {self.name} version {self.version} to match its manifest before "
                f"{doing}; "
                f"it does not: {'; '.join(str(p) for p in self.problems)}. A file changed after "
                "publishing (disk error, manual edit, tampering). Fix: restore the version from a "
                "trusted copy, or publish the model again as a new version.",
                report=self,
            )
        return self


# -- comparing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionComparison:
    """Two versions of one model on the same evaluation set: metrics, deltas, size, latency.

    The verdict follows the seed's rule: a good new version is improved or stable
    (within ``tolerance``) on every metric; much larger size without gains is flagged.
    """

    a: VersionInfo
    b: VersionInfo
    rows: tuple[MetricDelta, ...]
    tolerance: float
    same_data: bool

    @property
    def regressions(self) -> tuple[MetricDelta, ...]:
        """The metrics that dropped by more than the tolerance from a to b."""
        return tuple(r for r in self.rows if r.delta < -r.tolerance - 1e-12)

    @property
    def size_ratio(self) -> float:
        """b's size divided by a's."""
        return self.b.size_bytes / self.a.size_bytes if self.a.size_bytes else math.inf

    @property
    def verdict(self) -> str:
        """GOOD (improved or stable on every metric) or BAD (which metrics dropped), plus size."""
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
            dropped = ", ".join(f"{r.name} {r.delta:+.3f}" for r in self.regressions)
            return f"BAD: {b} is worse than {a} on {dropped} (more than {self.tolerance:g}){size}"
        return (
            f"GOOD: {b} is improved or stable on every metric compared with {a} "
            f"(no drop over {self.tolerance:g}){size}"
        )

    def _table_rows(self) -> list[list[str]]:
        ma, mb = self.a.metrics, self.b.metrics
        rows = [[r.name, f"{r.before:.3f}", f"{r.after:.3f}", f"{r.delta:+.3f}"] for r in self.rows]
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
            ["size", _kb(self.a.size_bytes), _kb(self.b.size_bytes), f"{self.size_ratio:.2f}x"]
        )
        la, lb = self.a.latency_ms, self.b.latency_ms
        rows.append(
            [
                "latency (1 row)",
                _ms(la),
                _ms(lb),
                "-" if la is None or lb is None else f"{lb - la:+.2f} ms",
            ]
        )
        return rows

    def _data_line(self) -> str:
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

    def __str__(self) -> str:
        head = ("", self.a.label, self.b.label, "change")
        return "\n".join(
            [
                f"{self.a.name}: {self._data_line()}",
                _text_table(head, self._table_rows()),
                self.verdict,
            ]
        )

    def __repr__(self) -> str:
        a, b = self.a, self.b
        return f"VersionComparison({a.name!r}, {a.version}, {b.version}): {self.verdict}"

    def _repr_html_(self) -> str:
        head = ("", self.a.label, self.b.label, "change")
        color = _GREEN if self.verdict.startswith("GOOD") else _RED
        return (
            f"<p>{html.escape(self._data_line())}</p>"
            + _html_table(head, [[html.escape(c) for c in r] for r in self._table_rows()])
            + f'<p style="color:{color};font-weight:bold">{html.escape(self.verdict)}</p>'
        )

    def plot(self) -> Figure:
        """The two confusion matrices side by side, sizes and latencies in the titles."""
        from course_lib.plots import plot_confusion_matrices

        named = {
            f"{v.label}: {_kb(v.size_bytes)}, {_ms(v.latency_ms)}": v.metrics
            for v in (self.a, self.b)
        }
        return plot_confusion_matrices(named, suptitle=f"{self.a.name}: {self._data_line()}")
