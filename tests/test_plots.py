"""Tests of course_lib.plots: the figures hold the numbers course_lib.metrics computes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from course_lib._checks import THRESHOLDS
from course_lib.errors import InvalidInputError
from course_lib.metrics import Metrics
from course_lib.plots import (
    plot_confusion_matrices,
    plot_confusion_matrix,
    plot_size_tradeoff,
    plot_threshold_tradeoff,
)

SEED = Metrics.from_counts(tp=90, fp=15, fn=10, tn=85)
FRAUD = Metrics.from_counts(tp=12, fp=2, fn=88, tn=4898)


def cell_texts(ax: Axes) -> list[list[str]]:
    """The four cell texts, as a 2x2 grid indexed [row][column] by their positions."""
    grid = [["", ""], ["", ""]]
    for text in ax.texts:
        col, row = text.get_position()
        grid[int(row)][int(col)] = text.get_text()
    return grid


@pytest.fixture
def scored():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 500)
    scores = np.clip(0.35 * y + rng.normal(0.35, 0.2, 500), 0.0, 1.0)
    return y, scores


class TestPlotConfusionMatrix:
    def test_cells_hold_the_counts_in_sklearn_layout(self):
        ax = plot_confusion_matrix(FRAUD)
        assert cell_texts(ax) == [["4898", "2"], ["88", "12"]]

    def test_title_has_name_recall_and_precision(self):
        ax = plot_confusion_matrix(SEED, title="v1")
        assert ax.get_title() == "v1\nrecall 0.900  precision 0.857"

    def test_axis_labels_are_the_class_names(self):
        ax = plot_confusion_matrix(SEED, labels=("ham", "spam"))
        assert [t.get_text() for t in ax.get_xticklabels()] == ["ham", "spam"]
        assert [t.get_text() for t in ax.get_yticklabels()] == ["ham", "spam"]

    def test_new_figure_is_not_registered_with_pyplot(self):
        plt.close("all")
        ax = plot_confusion_matrix(SEED)
        assert isinstance(ax.figure, Figure)
        assert plt.get_fignums() == []

    def test_draws_on_given_axes_without_colorbar(self):
        fig = Figure()
        ax = fig.subplots()
        assert plot_confusion_matrix(SEED, ax=ax) is ax
        assert len(fig.axes) == 1

    def test_non_metrics_raises(self):
        with pytest.raises(InvalidInputError, match="expected metrics to be a Metrics value"):
            plot_confusion_matrix([[85, 15], [10, 90]])  # type: ignore[arg-type]

    def test_bad_labels_raise(self):
        with pytest.raises(InvalidInputError, match="expected labels to be two names"):
            plot_confusion_matrix(SEED, labels=("only one",))


class TestPlotConfusionMatrices:
    def test_one_axes_per_entry_with_its_title(self):
        fig = plot_confusion_matrices({"Keras": SEED, "TF.js": FRAUD, "v3": SEED})
        assert len(fig.axes) == 3
        assert [ax.get_title().splitlines()[0] for ax in fig.axes] == ["Keras", "TF.js", "v3"]

    def test_axes_are_side_by_side_in_one_row(self):
        fig = plot_confusion_matrices({"before": SEED, "after": FRAUD})
        fig.draw_without_rendering()
        left, right = (ax.get_position() for ax in fig.axes)
        assert left.x1 <= right.x0
        assert left.y0 == pytest.approx(right.y0)

    def test_each_axes_holds_its_own_counts(self):
        fig = plot_confusion_matrices({"before": SEED, "after": FRAUD})
        assert cell_texts(fig.axes[0]) == [["85", "15"], ["10", "90"]]
        assert cell_texts(fig.axes[1]) == [["4898", "2"], ["88", "12"]]

    def test_text_form_is_stable(self):
        fig = plot_confusion_matrices({"before": SEED, "after": FRAUD})
        assert repr(fig) == "<Figure size 800x380 with 2 Axes>"

    def test_suptitle(self):
        fig = plot_confusion_matrices({"before": SEED}, suptitle="Save and load")
        assert fig.get_suptitle() == "Save and load"

    def test_returns_a_figure_outside_pyplot(self):
        plt.close("all")
        assert isinstance(plot_confusion_matrices({"v1": SEED}), Figure)
        assert plt.get_fignums() == []

    def test_empty_mapping_raises(self):
        with pytest.raises(InvalidInputError, match="non-empty mapping"):
            plot_confusion_matrices({})

    def test_list_instead_of_mapping_raises(self):
        with pytest.raises(InvalidInputError, match="non-empty mapping"):
            plot_confusion_matrices([SEED])  # type: ignore[arg-type]

    def test_non_metrics_value_raises_and_names_the_key(self):
        with pytest.raises(InvalidInputError, match="the value for 'after'"):
            plot_confusion_matrices({"before": SEED, "after": 0.98})  # type: ignore[dict-item]


class TestPlotThresholdTradeoff:
    def lines(self, fig: Figure) -> dict[str, object]:
        return {line.get_label(): line for line in fig.axes[0].get_lines()}

    @pytest.mark.parametrize("index", [0, 10, 35, 50, 77, 100])
    def test_curves_match_metrics_from_predictions(self, scored, index):
        y, scores = scored
        lines = self.lines(plot_threshold_tradeoff(y, scores))
        t = THRESHOLDS[index]
        expected = Metrics.from_predictions(y, scores, threshold=t)
        for name in ("precision", "recall", "accuracy"):
            x, values = lines[name].get_data()
            assert x[index] == t
            assert values[index] == pytest.approx(expected.get(name), abs=1e-12)

    def test_grid_is_101_thresholds_from_0_to_1(self, scored):
        x, _ = self.lines(plot_threshold_tradeoff(*scored))["recall"].get_data()
        assert len(x) == 101 and x[0] == 0.0 and x[-1] == 1.0

    def test_nothing_flagged_gives_precision_zero_like_metrics(self):
        lines = self.lines(plot_threshold_tradeoff([0, 1, 1], [0.2, 0.5, 0.7]))
        assert lines["precision"].get_ydata()[-1] == 0.0  # threshold 1.0 flags nothing

    def test_vertical_line_at_threshold(self, scored):
        lines = self.lines(plot_threshold_tradeoff(*scored, threshold=0.42))
        assert list(lines["threshold 0.42"].get_xdata()) == [0.42, 0.42]

    def test_no_vertical_line_without_threshold(self, scored):
        labels = list(self.lines(plot_threshold_tradeoff(*scored)))
        assert labels == ["precision", "recall", "accuracy"]

    def test_keras_shaped_scores_are_accepted(self, scored):
        y, scores = scored
        fig = plot_threshold_tradeoff(y, scores.reshape(-1, 1))
        expected = Metrics.from_predictions(y, scores, threshold=THRESHOLDS[50])
        assert self.lines(fig)["recall"].get_ydata()[50] == pytest.approx(expected.recall)

    def test_mismatched_lengths_raise(self):
        with pytest.raises(InvalidInputError, match="3 labels but 2 scores"):
            plot_threshold_tradeoff([0, 1, 1], [0.2, 0.9])

    def test_labels_other_than_0_1_raise(self):
        with pytest.raises(InvalidInputError, match="only 0 and 1"):
            plot_threshold_tradeoff([0, 2], [0.2, 0.9])

    def test_threshold_out_of_range_raises(self, scored):
        with pytest.raises(InvalidInputError, match="threshold between 0 and 1"):
            plot_threshold_tradeoff(*scored, threshold=50)


    def test_legend_is_beside_the_axes_not_over_the_curves(self, scored):
        fig = plot_threshold_tradeoff(*scored, threshold=0.5)
        fig.canvas.draw()
        ax = fig.axes[0]
        legend = ax.get_legend().get_window_extent()
        assert legend.x0 >= ax.get_window_extent().x1


def _parity(label, size_bytes, after, max_abs_diff=1e-7):
    from course_lib.tfjs import Parity

    source = Metrics.from_counts(tp=47, fp=546, fn=7, tn=3400)
    return Parity.from_metrics(label, size_bytes, source, after, max_abs_diff=max_abs_diff)


SOURCE = Metrics.from_counts(tp=47, fp=546, fn=7, tn=3400)
SETTINGS = [
    _parity("float32", 147_000, SOURCE),
    _parity("float16", 76_900, SOURCE, 6e-4),
    _parity("uint8", 42_000, Metrics.from_counts(tp=38, fp=220, fn=16, tn=3726), 0.96),
    _parity("uint8, dense only", 41_900, Metrics.from_counts(tp=47, fp=545, fn=7, tn=3401), 5e-3),
]


class TestPlotSizeTradeoff:
    def test_every_setting_has_its_own_named_row(self):
        fig = plot_size_tradeoff(SETTINGS, max_size_bytes=100 * 1024)
        names = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        assert names == ["float32", "float16", "uint8", "uint8, dense only"]

    def test_panels_size_three_metrics_and_the_difference(self):
        fig = plot_size_tradeoff(SETTINGS, max_size_bytes=100 * 1024)
        titles = [ax.get_title().splitlines()[0] for ax in fig.axes]
        assert titles == ["size (KB)", "accuracy", "precision", "recall", "largest |TF.js - source|"]

    def test_no_two_markers_share_a_place_in_a_panel(self):
        fig = plot_size_tradeoff(SETTINGS, max_size_bytes=100 * 1024)
        for ax in fig.axes[1:]:
            places = [tuple(np.round(line.get_xydata()[0], 6)) for line in ax.get_lines()
                      if line.get_marker() == "o"]
            assert len(places) == len(SETTINGS) == len(set(places))

    def test_a_metric_outside_its_band_is_red_inside_green(self):
        fig = plot_size_tradeoff(SETTINGS, max_size_bytes=100 * 1024)
        recall = [line for line in fig.axes[3].get_lines() if line.get_marker() == "o"]
        assert [line.get_color() for line in recall] == ["C2", "C2", "C3", "C2"]

    def test_bars_over_the_budget_are_red(self):
        fig = plot_size_tradeoff(SETTINGS, max_size_bytes=100 * 1024)
        colours = [matplotlib.colors.to_hex(b.get_facecolor(), keep_alpha=False)
                   for b in fig.axes[0].patches]
        assert colours[0] == matplotlib.colors.to_hex("C3") and colours[1] == matplotlib.colors.to_hex("C2")

    def test_without_labels_the_rows_that_changed_class(self):
        from dataclasses import replace

        from course_lib.tfjs.parity import Agreement

        rule = Agreement("output_0", "rows that changed class", 0.005, 0.02, "2 of 400 rows")
        unlabelled = [replace(r, before=None, after=None, comparison=None, agreement=(rule,))
                      for r in SETTINGS[:2]]
        fig = plot_size_tradeoff(unlabelled, max_size_bytes=100 * 1024)
        assert fig.axes[1].get_title().startswith("rows that changed class (%)")

    def test_no_result_is_refused(self):
        with pytest.raises(InvalidInputError, match="at least one TF.js result"):
            plot_size_tradeoff([], max_size_bytes=100 * 1024)
