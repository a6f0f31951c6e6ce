"""Matplotlib figures: confusion matrices side by side, precision/recall against threshold, size.

>>> from course_lib.metrics import Metrics
>>> from course_lib.plots import plot_confusion_matrices
>>> plot_confusion_matrices({"v1": Metrics.from_counts(tp=90, fp=15, fn=10, tn=85)})
<Figure size 400x380 with 1 Axes>

Every figure is a ``matplotlib.figure.Figure`` built without pyplot (and at a
fixed dpi of 100): nothing is kept in pyplot's global list of figures, so a
notebook cell ending with the call shows the figure exactly once, and its text
form is the stable line above. Inside IPython the PNG display of figures is
switched on if no backend did it yet (a fresh kernel that never loaded pyplot's
backend would otherwise show only that line).
The numbers come from :class:`course_lib.metrics.Metrics`; this module only draws.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from course_lib import _checks, _display
from course_lib.costs import metrics_at_thresholds
from course_lib.errors import InvalidInputError, require
from course_lib.metrics import Metrics

require("matplotlib", "plots")

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = [
    "new_figure", "plot_confusion_matrices", "plot_confusion_matrix", "plot_size_tradeoff",
    "plot_threshold_tradeoff",
]


def new_figure(width: float, height: float) -> Figure:
    """A pyplot-free Figure at a fixed dpi that a notebook shows exactly once.

    >>> new_figure(4.0, 3.0)
    <Figure size 400x300 with 0 Axes>
    """
    _enable_ipython_display()
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _enable_ipython_display() -> None:
    """Register IPython's PNG formatter for Figure, as the inline backend does, if none is."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    formatters = shell.display_formatter.formatters
    for mime in ("image/png", "image/svg+xml", "image/jpeg", "application/pdf"):
        try:
            formatters[mime].lookup_by_type(Figure)
            return  # a backend (or the user) already chose how figures display
        except (KeyError, TypeError):
            pass
    from IPython.core.pylabtools import print_figure

    formatters["image/png"].for_type(
        Figure, partial(print_figure, fmt="png", base64=True, bbox_inches="tight"))


def _check_metrics(name: str, value: object) -> Metrics:
    if not isinstance(value, Metrics):
        raise InvalidInputError(
            f"expected {name} to be a Metrics value; found {type(value).__name__}. "
            "Fix: build it with Metrics.from_predictions(...) or Metrics.from_counts(...)."
        )
    return value


def _check_labels(labels: Sequence[str]) -> tuple[str, str]:
    if isinstance(labels, str) or len(labels) != 2 or not all(isinstance(x, str) for x in labels):
        raise InvalidInputError(
            f"expected labels to be two names (negative class, positive class); found {labels!r}. "
            'Fix: pass labels=("legit", "fraud").'
        )
    return (labels[0], labels[1])


def plot_confusion_matrix(
    metrics: Metrics, *, ax: Axes | None = None, title: str | None = None,
    labels: Sequence[str] = ("legit", "fraud"),
) -> Axes:
    """Draw one confusion matrix (rows: truth, columns: prediction) with its recall and precision.

    >>> m = Metrics.from_counts(tp=40, fp=5, fn=10, tn=45)
    >>> ax = plot_confusion_matrix(m, title="v1")
    >>> [t.get_text() for t in ax.texts], ax.get_title()
    (['45', '5', '10', '40'], 'v1\\nrecall 0.800  precision 0.889')

    Without ``ax`` a new figure (not registered with pyplot) is made; ``ax.figure`` is it.
    A notebook cell ending with this call shows the Axes' text only: to see the
    drawing, end the cell with ``ax.figure`` or use :func:`plot_confusion_matrices`.
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    metrics = _check_metrics("metrics", metrics)
    labels = _check_labels(labels)
    if ax is None:
        ax = new_figure(4.0, 3.8).subplots()
    ConfusionMatrixDisplay(confusion_matrix=metrics.confusion_matrix, display_labels=labels).plot(
        ax=ax, colorbar=False, values_format="d"
    )
    summary = f"recall {metrics.recall:.3f}  precision {metrics.precision:.3f}"
    ax.set_title(summary if title is None else f"{title}\n{summary}")
    return ax


def plot_confusion_matrices(
    named: Mapping[str, Metrics], *, labels: Sequence[str] = ("legit", "fraud"),
    suptitle: str | None = None,
) -> Figure:
    """Draw confusion matrices side by side in one row (before/after, v1/v2, ...).

    >>> before = Metrics.from_counts(tp=90, fp=15, fn=10, tn=85)
    >>> after = Metrics.from_counts(tp=88, fp=15, fn=12, tn=85)
    >>> fig = plot_confusion_matrices({"Keras": before, "TF.js": after})
    >>> [ax.get_title().splitlines()[0] for ax in fig.axes]
    ['Keras', 'TF.js']
    """
    if not isinstance(named, Mapping) or not named:
        raise InvalidInputError(
            f"expected a non-empty mapping of names to Metrics; found {named!r}. "
            'Fix: pass e.g. {"before": m1, "after": m2}.'
        )
    items = [(str(k), _check_metrics(f"the value for {k!r}", v)) for k, v in named.items()]
    labels = _check_labels(labels)
    fig = new_figure(4.0 * len(items), 3.8)
    axes = fig.subplots(1, len(items), squeeze=False)[0]
    for ax, (name, metrics) in zip(axes, items, strict=True):
        plot_confusion_matrix(metrics, ax=ax, title=name, labels=labels)
    if suptitle is not None:
        fig.suptitle(suptitle)
    return fig


def _tradeoff_curves(y_true: object, scores: object) -> dict[str, np.ndarray]:
    """Accuracy, precision and recall at every threshold of ``_checks.THRESHOLDS``.

    Counts come from one sort (:func:`course_lib.costs.metrics_at_thresholds`, fast for
    any size), so every point equals ``Metrics.from_predictions`` at that threshold,
    zero-division conventions included. (sklearn's ``precision_recall_curve`` would use
    precision 1.0 where nothing is flagged, evaluates only at the distinct scores, and
    has no accuracy.)
    """
    grid = metrics_at_thresholds(y_true, scores, _checks.THRESHOLDS)  # type: ignore[arg-type]
    return {name: np.array([m.get(name) for m in grid])
            for name in ("precision", "recall", "accuracy")}


def plot_threshold_tradeoff(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, *,
    threshold: float | None = None,
) -> Figure:
    """Plot precision, recall and accuracy against the decision threshold (0.00 to 1.00).

    >>> fig = plot_threshold_tradeoff([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], threshold=0.5)
    >>> ax = fig.axes[0]
    >>> [line.get_label() for line in ax.get_lines()]
    ['precision', 'recall', 'accuracy', 'threshold 0.50']
    >>> float(ax.get_lines()[1].get_ydata()[50])  # recall at threshold 0.50
    0.5

    A score at or above the threshold counts as positive, as in ``Metrics.from_predictions``.
    """
    curves = _tradeoff_curves(y_true, scores)
    if threshold is not None:
        threshold = _checks.threshold(threshold)
    fig = new_figure(7.6, 4.0)
    ax = fig.subplots()
    for name, style in (("precision", "-"), ("recall", "-"), ("accuracy", "--")):
        ax.plot(_checks.THRESHOLDS, curves[name], style, label=name)
    if threshold is not None:
        ax.axvline(threshold, color="grey", linestyle=":", label=f"threshold {threshold:.2f}")
    ax.set(xlim=(0.0, 1.0), ylim=(0.0, 1.02), xlabel="decision threshold (score >= threshold)",
           ylabel="value", title="Precision, recall and accuracy against the threshold")
    ax.grid(alpha=0.3)
    # Beside the axes, never over a curve (the curves cross every corner of the plot).
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    return fig


# -- size against the metrics, one row per converted setting ----------------------------------

_WITHIN, _OUTSIDE = "C2", "C3"  # green: within what is allowed; red: not


def _size_panel(ax: Axes, rows: Sequence[Any], max_size_bytes: int) -> None:
    sizes = [r.size_bytes / 1024 for r in rows]
    fits = [r.size_bytes <= max_size_bytes for r in rows]
    ax.barh(range(len(rows)), sizes, color=[_WITHIN if f else _OUTSIDE for f in fits], alpha=0.7)
    ax.axvline(max_size_bytes / 1024, color="grey", ls="--", lw=1)
    for i, (r, kb) in enumerate(zip(rows, sizes)):
        ax.annotate(_display.size(r.size_bytes), (kb, i), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set_xlim(0, max(*sizes, max_size_bytes / 1024) * 1.45)
    ax.set_title(f"size (KB)\ndashed: budget {_display.size(max_size_bytes)}", fontsize=9)


def _dot_panel(ax: Axes, values: Sequence[float], low: float, high: float, title: str,
               shown: Sequence[str], centre: float | None = None) -> None:
    """One dot per row, green inside the band [low, high] and red outside, its value beside it."""
    ax.axvspan(low, high, color="grey", alpha=0.18, lw=0)
    if centre is not None:
        ax.axvline(centre, color="grey", lw=1)
    for i, (v, text) in enumerate(zip(values, shown)):
        inside = low - 1e-12 <= v <= high + 1e-12
        ax.plot([v], [i], "o", ms=7, color=_WITHIN if inside else _OUTSIDE)
        ax.annotate(text, (v, i), xytext=(0, 7), textcoords="offset points", ha="center",
                    fontsize=7.5)
    span = max(max(values), high) - min(min(values), low)
    pad = span * 0.25 or 0.05
    ax.set_xlim(min(min(values), low) - pad, max(max(values), high) + pad)
    ax.set_title(title, fontsize=9)


def plot_size_tradeoff(results: Sequence[Any], *, max_size_bytes: int,
                       ax: Any = None) -> Figure:
    """Each converted setting's size, metrics and prediction difference: one row per setting.

    ``results`` are TF.js parity results (:class:`course_lib.tfjs.Parity`: the
    ``results`` of a quantization report, and any setting verified on its own), all
    measured on the same rows. Every setting has its own row, named on the left, so no
    two markers share a place; each metric has its own panel with its allowed band
    (the source's value ± the tolerance) in grey, a dot green inside it and red outside.
    Without labels the metric panels become the first output's rule (rows that changed
    class). A regression's errors are shown relative to the source's (band 1 ± tolerance).
    ``ax``: a place in an existing figure, split into the panels (None: a new figure).

    >>> from course_lib.metrics import Metrics
    >>> from course_lib.tfjs import Parity
    >>> src = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
    >>> low = Metrics.from_counts(tp=35, fp=3, fn=15, tn=47)
    >>> fig = plot_size_tradeoff([Parity.from_metrics("float32", 150_000, src, src),
    ...                           Parity.from_metrics("uint8, dense only", 40_000, src, low)],
    ...                          max_size_bytes=100 * 1024)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['float32', 'uint8, dense only']
    """
    rows = list(results)
    if not rows:
        raise InvalidInputError(
            "expected at least one TF.js result to plot; found none. "
            "Fix: pass report.results (and any result of tfjs.verify).")
    limit = _checks.whole("max_size_bytes", max_size_bytes, minimum=1)
    first = rows[0]
    panels: list[tuple[list[float], float, float, str, list[str], float | None]] = []
    if first.before is None:
        rule = first.agreement[0]
        scale = 100.0 if rule.shares else 1.0
        values = [r.agreement[0].value * scale for r in rows]
        panels.append((values, 0.0, rule.allowed * scale,
                       f"{rule.measure}{' (%)' if rule.shares else ''}\nband: allowed",
                       [rule.shown(r.agreement[0].value) for r in rows], None))
    else:
        regression = first.before.task == "regression"
        for name in (["mae", "rmse"] if regression else list(first.before.names[:3])):
            ref, tol = first.before.get(name), first.tolerance
            got = [r.after.get(name) if r.after is not None else float("nan") for r in rows]
            if regression:
                values = [g / ref if ref else g for g in got]
                panels.append((values, 1 - tol, 1 + tol, f"{name} / the source's\nband: 1 ± {tol:g}",
                               [f"{v:.3g}" for v in values], 1.0))
            else:
                panels.append((got, ref - tol, ref + tol, f"{name}\nband: source {ref:.3f} ± {tol:g}",
                               [f"{v:.3f}" for v in got], ref))
    if ax is None:
        fig = new_figure(2.4 * (len(panels) + 2), 1.3 + 0.5 * len(rows))
        axes = fig.subplots(1, len(panels) + 2, sharey=True)
    else:  # the given axes' place, split into one panel per measure
        fig, spec = ax.figure, ax.get_subplotspec().subgridspec(1, len(panels) + 2)
        ax.set_axis_off()  # its place holds the panels
        axes = [fig.add_subplot(spec[0, 0])]
        axes += [fig.add_subplot(spec[0, i], sharey=axes[0]) for i in range(1, len(panels) + 2)]
    _size_panel(axes[0], rows, limit)
    for ax, panel in zip(axes[1:-1], panels):
        _dot_panel(ax, *panel)
    diffs = [max(r.max_abs_diff, 1e-9) for r in rows]
    last = axes[-1]
    for i, d in enumerate(diffs):
        last.plot([d], [i], "o", ms=7, color="C0")
        last.annotate(f"{d:.2g}", (d, i), xytext=(0, 7), textcoords="offset points", ha="center",
                      fontsize=7.5)
    last.set_xscale("log")
    last.set_xlim(min(diffs) / 10, max(diffs) * 10)
    last.set_title("largest |TF.js - source|\n(any output value)", fontsize=9)
    axes[0].set_yticks(range(len(rows)), [r.label for r in rows])
    axes[0].set_ylim(len(rows) - 0.4, -0.6)  # first setting on top, room for the values above dots
    for ax in axes:
        ax.tick_params(labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    return fig

