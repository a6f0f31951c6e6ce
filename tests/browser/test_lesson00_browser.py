"""Lesson 00 in a real browser: JupyterLab in headless Chromium, as a learner uses it.

The module opens ``00_metrics_that_matter.ipynb`` once (a fresh kernel, outputs cleared,
Run > Run All Cells), then each test works one widget with the mouse: the threshold
slider of the ThresholdExplorer, the confusion-matrix calculator, and every exercise
(:class:`lab_helpers.ExerciseTests`). Expected texts come from
``course_lib`` (the question bank, the dataset), never typed here. Screenshots go to
``test-artifacts/browser/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from lab_helpers import (
    WIDGET_TIMEOUT,
    ExerciseTests,
    RunAllTests,
    code_cell,
    drag_slider,
    expect_metrics,
    slider,
    type_number,
)

from course_lib.metrics import Metrics

pytestmark = pytest.mark.browser

LESSON = "00_metrics_that_matter.ipynb"
_SUMMARY = re.compile(r"At threshold (\d\.\d\d) the model flags ([\d,]+) of ([\d,]+) rows; "
                      r"it catches ([\d,]+) of ([\d,]+) frauds")


@dataclass(frozen=True)
class Summary:
    """The ThresholdExplorer's sentence, parsed."""

    threshold: str
    flagged: int
    total: int
    caught: int
    frauds: int

    @classmethod
    def of(cls, text: str) -> Summary:
        m = _SUMMARY.search(text)
        assert m, f"no threshold summary in {text!r}"
        t, *counts = m.groups()
        return cls(t, *(int(c.replace(",", "")) for c in counts))


class TestRunAll(RunAllTests):
    """Every cell ran in order, with no error or stderr output."""


class TestThresholdExplorer:
    def test_moving_the_slider_updates_the_metrics(self, lesson, artifacts):
        from playwright.sync_api import expect

        from course_lib.data import load_fraud

        cell = code_cell(lesson, "widgets.ThresholdExplorer(")
        outputs = cell.locator(".jp-OutputArea")
        result = cell.locator(".widget-html-content", has_text="At threshold")
        expect(result).to_contain_text("At threshold 0.50 ", timeout=WIDGET_TIMEOUT)
        before = Summary.of(result.inner_text())
        outputs.screenshot(path=str(artifacts / "00-threshold-before.png"))

        moved = drag_slider(lesson, slider(cell, "threshold"), 0.8)
        expect(result).to_contain_text(f"At threshold {moved} ", timeout=WIDGET_TIMEOUT)
        after = Summary.of(result.inner_text())
        outputs.screenshot(path=str(artifacts / "00-threshold-moved.png"))

        val = load_fraud().val
        assert float(moved) > 0.5
        assert (after.total, after.frauds) == (before.total, before.frauds) == (len(val), int(val.y.sum()))
        assert after.flagged < before.flagged and after.caught <= before.caught
        matrix = result.inner_text()
        assert f"TP {after.caught}" in matrix and f"FP {after.flagged - after.caught}" in matrix
        assert f"threshold {moved}" in matrix


class TestConfusionMatrixCalculator:
    def test_typing_the_counts_updates_the_four_metrics(self, lesson, artifacts):
        cell = code_cell(lesson, "widgets.ConfusionMatrixCalculator(")
        result = cell.locator(".widget-html-content").last
        expect_metrics(result, Metrics.from_counts(tp=50, fp=0, fn=50, tn=900))  # as stored
        for label, value in (("TP", 90), ("FP", 15), ("FN", 10), ("TN", 885)):
            type_number(cell, label, value)
        expect_metrics(result, Metrics.from_counts(tp=90, fp=15, fn=10, tn=885))
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "00-calculator-typed.png"))

    def test_four_zero_counts_ask_for_an_example(self, lesson):
        from playwright.sync_api import expect

        cell = code_cell(lesson, "widgets.ConfusionMatrixCalculator(")
        for label in ("TP", "FP", "FN", "TN"):
            type_number(cell, label, 0)
        expect(cell.locator(".widget-html-content").last).to_contain_text(
            "All four counts are 0", timeout=WIDGET_TIMEOUT)


class TestExercises(ExerciseTests):
    """Every quiz and check cell of the lesson: wrong, right, Show answer, the progress file."""
