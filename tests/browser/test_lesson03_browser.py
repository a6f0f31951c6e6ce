"""Lesson 03 in a real browser: JupyterLab in headless Chromium, as a learner uses it.

The module opens ``03_loading_and_inference.ipynb`` once (a fresh kernel, outputs cleared,
Run > Run All Cells), then each test works one widget with the mouse: the threshold slider
of the ThresholdExplorer, the two cost sliders of the CostExplorer, and every exercise
(:class:`lab_helpers.ExerciseTests`). Both explorers are built on the validation scores of
the SavedModel the lesson exports; the tests load that same folder from the server's copy
of the lessons and compute what the widgets should show with ``course_lib``
(``Metrics.from_predictions``, ``costs.cost_curve``), never with numbers typed here.
Screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from lab_helpers import (
    WIDGET_TIMEOUT,
    ExerciseTests,
    RunAllTests,
    cell_kwargs,
    code_cell,
    drag_slider,
    expect_metrics,
    shown_table,
    slider,
)

from course_lib.costs import CostCurve, cost_curve
from course_lib.data import load_fraud
from course_lib.metrics import Metrics

pytestmark = pytest.mark.browser

LESSON = "03_loading_and_inference.ipynb"
COSTS = "widgets.CostExplorer"
#: The SavedModel the lesson exports (cell ``model.export(work / "fraud_savedmodel")``).
SAVEDMODEL = Path("work") / "03" / "fraud_savedmodel"


@pytest.fixture(scope="module")
def val_scores(lesson: Any, lab_server: Any) -> np.ndarray:
    """The explorers' scores: the lesson's SavedModel, as it saved it, on the validation rows."""
    from course_lib import persistence

    return persistence.load(lab_server.root / SAVEDMODEL).predict(load_fraud().val.x)


def curve_at(scores: np.ndarray, miss_cost: float, false_alarm_cost: float) -> CostCurve:
    """What the CostExplorer computes at these costs (the lesson's ``positive``)."""
    return cost_curve(load_fraud().val.y, scores, miss_cost=miss_cost,
                      false_alarm_cost=false_alarm_cost, positive=cell_kwargs(LESSON, COSTS)["positive"])


def cost_sliders(cell: Any) -> tuple[Any, Any]:
    """The CostExplorer's two sliders: the cost of a missed fraud, of a false alarm."""
    return slider(cell, f"missed {cell_kwargs(LESSON, COSTS)['positive']}"), slider(cell, "false alarm")


def readout_cost(widget: Any) -> float:
    """The cost a slider's readout shows (``2,500`` reads 2500.0)."""
    return float(widget.locator(".widget-readout").inner_text().strip().replace(",", ""))


def expect_curve(result: Any, curve: CostCurve) -> None:
    """``result`` shows ``curve`` as its HTML does: title, table, verdict, cheapest matrix."""
    from playwright.sync_api import expect

    expect(result).to_contain_text(curve.title, timeout=WIDGET_TIMEOUT)
    expect(result).to_contain_text(curve.verdict)
    assert shown_table(result) == curve.table()
    expect_metrics(result, curve.best_metrics)


class TestRunAll(RunAllTests):
    """Every cell ran in order, with no error or stderr output."""


class TestThresholdExplorer:
    def test_at_first_it_shows_the_metrics_at_the_cells_threshold(self, lesson, artifacts, val_scores):
        from playwright.sync_api import expect

        start = cell_kwargs(LESSON, "widgets.ThresholdExplorer")["threshold"]
        cell = code_cell(lesson, "widgets.ThresholdExplorer(")
        result = cell.locator(".widget-html-content", has_text="At threshold")
        expect(result).to_contain_text(f"At threshold {start:.2f} ", timeout=WIDGET_TIMEOUT)
        expect_metrics(result, Metrics.from_predictions(load_fraud().val.y, val_scores, start))
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "03-threshold-before.png"))

    def test_dragging_the_threshold_up_shows_the_metrics_there(self, lesson, artifacts, val_scores):
        from playwright.sync_api import expect

        val = load_fraud().val
        cell = code_cell(lesson, "widgets.ThresholdExplorer(")
        result = cell.locator(".widget-html-content", has_text="At threshold")
        start = cell_kwargs(LESSON, "widgets.ThresholdExplorer")["threshold"]
        moved = drag_slider(lesson, slider(cell, "threshold"), 0.8)
        expect(result).to_contain_text(f"At threshold {moved} ", timeout=WIDGET_TIMEOUT)
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "03-threshold-moved.png"))

        after = Metrics.from_predictions(val.y, val_scores, float(moved))
        expect_metrics(result, after)
        before = Metrics.from_predictions(val.y, val_scores, start)
        assert float(moved) > start and after.tp + after.fp < before.tp + before.fp
        expect(result).to_contain_text(
            f"flags {after.tp + after.fp:,} of {len(val):,} rows; it catches {after.tp:,} of "
            f"{int(val.y.sum()):,} frauds")


class TestCostExplorer:
    def test_at_first_the_sliders_hold_the_costs_the_cell_passed(self, lesson, artifacts):
        given = cell_kwargs(LESSON, COSTS)
        cell = code_cell(lesson, f"{COSTS}(")
        miss, alarm = cost_sliders(cell)
        assert (readout_cost(miss), readout_cost(alarm)) == (given["miss_cost"], given["false_alarm_cost"])
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "03-costs-before.png"))

    def test_at_first_it_shows_the_cost_curve_at_the_cells_costs(self, lesson, val_scores):
        given = cell_kwargs(LESSON, COSTS)
        cell = code_cell(lesson, f"{COSTS}(")
        expect_curve(cell.locator(".widget-html-content").last,
                     curve_at(val_scores, given["miss_cost"], given["false_alarm_cost"]))

    def test_a_dearer_missed_fraud_never_raises_the_cheapest_threshold(self, lesson, artifacts, val_scores):
        from course_lib.widgets import COST_STEPS

        cell = code_cell(lesson, f"{COSTS}(")
        result = cell.locator(".widget-html-content").last
        miss, alarm = cost_sliders(cell)
        before = curve_at(val_scores, readout_cost(miss), readout_cost(alarm))
        drag_slider(lesson, miss, 0.9)
        cost = readout_cost(miss)
        after = curve_at(val_scores, cost, readout_cost(alarm))
        expect_curve(result, after)
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "03-costs-miss-dragged.png"))
        assert cost in COST_STEPS and cost > before.miss_cost
        assert after.best_threshold <= before.best_threshold

    def test_a_dearer_false_alarm_never_lowers_the_cheapest_threshold(self, lesson, artifacts, val_scores):
        from course_lib.widgets import COST_STEPS

        cell = code_cell(lesson, f"{COSTS}(")
        result = cell.locator(".widget-html-content").last
        miss, alarm = cost_sliders(cell)
        before = curve_at(val_scores, readout_cost(miss), readout_cost(alarm))
        drag_slider(lesson, alarm, 0.8)
        cost = readout_cost(alarm)
        after = curve_at(val_scores, readout_cost(miss), cost)
        expect_curve(result, after)
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "03-costs-alarm-dragged.png"))
        assert cost in COST_STEPS and cost > before.false_alarm_cost
        assert after.best_threshold >= before.best_threshold


class TestExercises(ExerciseTests):
    """Every quiz and check cell of the lesson: wrong, right, Show answer, the progress file."""
