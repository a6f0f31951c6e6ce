"""Matplotlib figures: confusion matrices side by side, precision/recall against threshold.

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

import numpy as np

from course_lib import _checks
from course_lib.costs import metrics_at_thresholds
from course_lib.errors import InvalidInputError, require
from course_lib.metrics import Metrics

require("matplotlib", "plots")

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = [
    "new_figure", "plot_confusion_matrices", "plot_confusion_matrix", "plot_threshold_tradeoff",
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
    fig = new_figure(6.4, 4.0)
    ax = fig.subplots()
    for name, style in (("precision", "-"), ("recall", "-"), ("accuracy", "--")):
        ax.plot(_checks.THRESHOLDS, curves[name], style, label=name)
    if threshold is not None:
        ax.axvline(threshold, color="grey", linestyle=":", label=f"threshold {threshold:.2f}")
    ax.set(xlim=(0.0, 1.0), ylim=(0.0, 1.02), xlabel="decision threshold (score >= threshold)",
           ylabel="value", title="Precision, recall and accuracy against the threshold")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    return fig

