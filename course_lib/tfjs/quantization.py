"""The same model converted with several weight types, each measured in TF.js.

>>> from course_lib.tfjs import quantization
>>> quantization.Quantization("uint8", weights=("*/dense_*",), label="uint8, dense only").name
'uint8, dense only'

:func:`compare_quantizations` converts a model once per setting (float32, float16,
uint8, or a :class:`Quantization` limited to some weights), verifies each in TF.js
against the source model's scores (computed once) and returns a
:class:`QuantizationReport`: one row per setting, the size budget, the timings and
a figure of size against metrics (:meth:`QuantizationReport.plot`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import _checks, _display
from course_lib.errors import InvalidInputError
from course_lib.tfjs.conversion import (
    QUANTIZATIONS,
    Conversion,
    check_quantize,
    convert,
    exported,
    slug,
)
from course_lib.tfjs.parity import (
    MAX_SIZE_BYTES,
    SEED_TOLERANCE,
    BudgetResult,
    Parity,
    check_budget,
    reference_scores,
    verify,
)
from course_lib.tfjs.runtime import INTERACTION_BUDGET_SECONDS, model_rows

__all__ = ["Quantization", "QuantizationReport", "compare_quantizations"]


@dataclass(frozen=True)
class Quantization:
    """A weight storage setting for :func:`compare_quantizations`.

    >>> Quantization("uint8", weights=("*/dense_*",), label="uint8, dense only").name
    'uint8, dense only'
    >>> Quantization(None).name
    'float32'
    """

    dtype: str | None
    weights: tuple[str, ...] = ("*",)
    label: str = ""

    @property
    def name(self) -> str:
        """The label, or the weight type."""
        return self.label or self.dtype or "float32"


_HEAD = ("weights", "total size", "weight files", "accuracy", "precision", "recall",
         "largest change", "largest diff", "metrics ok", "fits budget", "verdict")
_MARKERS = "osD^vP*X"


@dataclass(frozen=True, repr=False)
class QuantizationReport(_display.Report):
    """The same model converted with several weight types, each measured in TF.js.

    ``ok`` when at least one setting passes both rules (:func:`check_budget`).

    >>> from course_lib.metrics import Metrics
    >>> m = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
    >>> one = Parity.from_metrics("float16", 70_000, m, m)
    >>> r = QuantizationReport((one,), (), max_size_bytes=100 * 1024, reference_seconds=None)
    >>> r.ok, r.verdict
    (True, 'PASS: float16 keeps every metric and fits 100.0 KB')
    """

    results: tuple[Parity, ...]
    conversions: tuple[Conversion, ...]
    max_size_bytes: int
    reference_seconds: float | None

    @property
    def labels(self) -> list[str]:
        """The settings, in order."""
        return [r.label for r in self.results]

    def result(self, label: str) -> Parity:
        """The measured result of one setting."""
        for r in self.results:
            if r.label == label:
                return r
        raise InvalidInputError(f"expected one of {self.labels}; found {label!r}.")

    def budget_results(self, max_size_bytes: int | None = None) -> list[BudgetResult]:
        """:func:`check_budget` of every setting (the report's budget unless one is given)."""
        limit = self.max_size_bytes if max_size_bytes is None else max_size_bytes
        return [check_budget(r, limit) for r in self.results]

    @property
    def ok(self) -> bool:
        """At least one setting keeps every metric and fits the budget."""
        return any(b.ok for b in self.budget_results())

    @property
    def failures(self) -> tuple[BudgetResult, ...]:
        """The settings that break a rule."""
        return tuple(b for b in self.budget_results() if not b.ok)

    @property
    def verdict(self) -> str:
        passing = [b.label for b in self.budget_results() if b.ok]
        limit = _display.size(self.max_size_bytes)
        if not passing:
            return f"FAIL: no setting keeps every metric and fits {limit}"
        if len(passing) == 1:
            return f"PASS: {passing[0]} keeps every metric and fits {limit}"
        return f"PASS: {', '.join(passing)} keep every metric and fit {limit}"

    @property
    def title(self) -> str:  # type: ignore[override]
        if not self.results:
            return "no settings measured"
        b = self.results[0].before
        return (f"source model (Python): accuracy {b.accuracy:.3f}, precision {b.precision:.3f}, "
                f"recall {b.recall:.3f}; rule: every metric within "
                f"{self.results[0].tolerance:g}, size within {_display.size(self.max_size_bytes)}")

    def table(self) -> tuple[Sequence[str], list[list[str]]]:
        """One row per setting: sizes, metrics in TF.js, the largest change, both rules."""
        rows = []
        for r, g in zip(self.results, self.budget_results()):
            a = r.after
            worst = max(r.comparison.rows, key=lambda row: abs(row.delta))
            rows.append([r.label, _display.size(r.size_bytes), _display.size(r.weight_bytes),
                         f"{a.accuracy:.3f}", f"{a.precision:.3f}", f"{a.recall:.3f}",
                         f"{worst.name} {worst.delta * 100:+.1f} pts" if worst.delta else "none",
                         f"{r.max_abs_diff:.2g}", "yes" if r.ok else "NO",
                         "yes" if g.fits else "NO", "PASS" if g.ok else "FAIL"])
        return _HEAD, rows

    def timing(self) -> str:
        """TF.js in Node against Python for the same rows, and the one-row latency verdict.

        >>> print(report.timing())
        Python (TensorFlow, this process): 4,001 rows in ...
        TF.js in Node, float32: 4,001 rows in ..., one row in ..., model loaded in ...; ... with Node's start
        TF.js in Node, float16: 4,001 rows in ...
        TF.js in Node, uint8: 4,001 rows in ...
        one transaction scored within the 100.00 ms interaction budget by every setting: yes
        """
        runs = [(x.label, x.node) for x in self.results if x.node is not None]
        if not runs:
            return "no timings: these results were not measured in TF.js"
        lines = []
        if self.reference_seconds is not None:
            lines.append(f"Python (TensorFlow, this process): {runs[0][1].rows:,} rows in "
                         f"{_display.duration(self.reference_seconds)}")
        for label, t in runs:
            lines.append(f"TF.js in Node, {label}: {t.rows:,} rows in "
                         f"{_display.duration(t.predict_seconds)}, one row in "
                         f"{_display.duration(t.row_seconds)}, model loaded in "
                         f"{_display.duration(t.load_seconds)}; "
                         f"{_display.duration(t.wall_seconds)} with Node's start")
        fast = max(t.row_seconds for _, t in runs) <= INTERACTION_BUDGET_SECONDS
        lines.append(f"one transaction scored within the "
                     f"{_display.duration(INTERACTION_BUDGET_SECONDS)} "
                     f"interaction budget by every setting: {'yes' if fast else 'NO'}")
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> QuantizationReport:
        """Size against accuracy, precision, recall (left) and the largest score difference (right).

        ``ax``: None (a new figure with both panels), two Axes (left, right), or one
        Axes (the metrics panel only). Returns the report; the axes are in ``axes_``.

        >>> report.plot().figure_
        <Figure size 1000x400 with 2 Axes>
        """
        if ax is None:
            from course_lib import plots

            left, right = plots.new_figure(10, 4).subplots(1, 2)
        elif isinstance(ax, (list, tuple, np.ndarray)):
            left, right = ax
        else:
            left, right = ax, None
        self._axes(left)
        object.__setattr__(self, "axes_", (left,) if right is None else (left, right))
        self._metrics_panel(left)
        if right is not None:
            self._difference_panel(right)
        return self

    def _style(self, i: int, color: str) -> dict[str, Any]:
        return {"marker": _MARKERS[i % len(_MARKERS)], "color": color, "ls": "",
                "mfc": "none" if i % 2 else color}

    def _size_axis(self, ax: Any, sizes: Sequence[float]) -> None:
        ax.axvline(self.max_size_bytes / 1024, color="grey", ls="--", lw=1)
        ax.set_xlabel(f"total size (KB); dashed line: budget {_display.size(self.max_size_bytes)}")
        ax.set_xlim(0, max(max(sizes), self.max_size_bytes / 1024) * 1.25)

    def _metrics_panel(self, ax: Any) -> None:
        from matplotlib.lines import Line2D

        sizes = [r.size_bytes / 1024 for r in self.results]
        before, tol = self.results[0].before, self.results[0].tolerance
        metric_handles = []
        for name, color in (("accuracy", "C0"), ("precision", "C1"), ("recall", "C2")):
            ref = before.get(name)
            ax.axhspan(ref - tol, ref + tol, color=color, alpha=0.15, lw=0)
            for i, (r, s) in enumerate(zip(self.results, sizes)):
                ax.plot([s], [r.after.get(name)], ms=8, **self._style(i, color))
            metric_handles.append(Line2D([], [], color=color, lw=6, alpha=0.4,
                                         label=f"{name}: source ± {tol:g}"))
        setting_handles = [Line2D([], [], label=r.label, **self._style(i, "k"))
                           for i, r in enumerate(self.results)]
        self._size_axis(ax, sizes)
        ax.set_ylabel("metric measured in TF.js")
        ax.set_ylim(0, 1.05)
        ax.add_artist(ax.legend(handles=metric_handles, fontsize=8, loc="center left"))
        ax.legend(handles=setting_handles, fontsize=8, loc="center right")
        ax.set_title("metrics against size (bands: allowed range)")

    def _difference_panel(self, ax: Any) -> None:
        sizes = [r.size_bytes / 1024 for r in self.results]
        for i, (r, s) in enumerate(zip(self.results, sizes)):
            ax.plot([s], [max(r.max_abs_diff, 1e-9)], ms=8, **self._style(i, "C3"))
            ax.annotate(r.label, (s, max(r.max_abs_diff, 1e-9)), xytext=(8, -3),
                        textcoords="offset points", fontsize=8)
        ax.set_yscale("log")
        self._size_axis(ax, sizes)
        ax.set_ylabel("largest |TF.js score - source score|")
        ax.set_title("prediction difference against size")


def compare_quantizations(
    source: Any, x: object, y: Sequence[int] | np.ndarray, out_dir: str | os.PathLike[str],
    quantizations: Sequence[str | None | Quantization] = QUANTIZATIONS, *,
    max_size_bytes: int = MAX_SIZE_BYTES, tolerance: float = SEED_TOLERANCE,
    threshold: float = 0.5,
) -> QuantizationReport:
    """Convert ``source`` with each weight setting (into ``out_dir/<setting>/``), verify each.

    >>> report = compare_quantizations(model, fraud.test.x, fraud.test.y, "web")
    >>> report.labels
    ['float32', 'float16', 'uint8']
    """
    limit = _checks.whole("max_size_bytes", max_size_bytes, minimum=1)
    settings = [q if isinstance(q, Quantization) else Quantization(check_quantize(q))
                for q in quantizations]
    names = [s.name for s in settings]
    if not settings or len(set(names)) != len(names):
        raise InvalidInputError(
            f"expected at least one setting, each with its own name; found {names}. "
            "Fix: give repeated weight types distinct labels: "
            "Quantization('uint8', ..., label='...')."
        )
    root = Path(out_dir)
    with exported(source, root) as src:
        conversions = [convert(src, root / slug(s.name), s.dtype, weights=s.weights,
                               overwrite=True) for s in settings]
        arr = model_rows(conversions[0].path, x)
        reference = src if isinstance(source, (str, os.PathLike)) else source
        scores, seconds = reference_scores(reference, arr)
    results = tuple(verify(c.path, scores, arr, y, tolerance=tolerance, threshold=threshold,
                           label=s.name) for c, s in zip(conversions, settings))
    return QuantizationReport(results=results, conversions=tuple(conversions),
                              max_size_bytes=limit, reference_seconds=seconds)
