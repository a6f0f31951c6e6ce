"""Lesson 06 in a real browser: JupyterLab in headless Chromium, as a learner uses it.

The module opens ``06_release_check.ipynb`` once (a fresh kernel, outputs cleared,
Run > Run All Cells: two candidates trained and release-checked), then each test works
one widget: the confusion-matrix calculator, which starts on a model that flags nothing
in the test split, and every exercise (:class:`lab_helpers.ExerciseTests`). Expected
texts come from ``course_lib`` (the question bank, the dataset, ``Metrics.from_counts``),
never typed here. Screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import pytest
from lab_helpers import (
    WIDGET_TIMEOUT,
    ExerciseTests,
    RunAllTests,
    code_cell,
    expect_metrics,
    type_number,
)

from course_lib.data import load_fraud
from course_lib.metrics import Metrics

pytestmark = pytest.mark.browser

LESSON = "06_release_check.ipynb"


def flag_nothing() -> dict[str, int]:
    """The counts of a model that flags no row of the fraud test split (the calculator's start)."""
    test = load_fraud().test
    return {"tp": 0, "fp": 0, "fn": test.positives, "tn": len(test) - test.positives}


class TestRunAll(RunAllTests):
    """Every cell ran in order, with no error or stderr output."""


class TestConfusionMatrixCalculator:
    def test_it_starts_on_a_model_that_flags_nothing_and_says_precision_is_undefined(
            self, lesson, artifacts):
        from playwright.sync_api import expect

        cell = code_cell(lesson, "widgets.ConfusionMatrixCalculator(")
        result = cell.locator(".widget-html-content").last
        start = Metrics.from_counts(**flag_nothing())
        expect_metrics(result, start)
        assert start.notes
        for note in start.notes:
            expect(result).to_contain_text(note, timeout=WIDGET_TIMEOUT)
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "06-calculator-start.png"))

    def test_typing_a_candidates_counts_updates_the_four_metrics(self, lesson, artifacts):
        from playwright.sync_api import expect

        start = flag_nothing()
        # A candidate that catches all but 10 frauds and raises 120 false alarms, on the same rows.
        typed = {"tp": start["fn"] - 10, "fn": 10, "fp": 120, "tn": start["tn"] - 120}
        cell = code_cell(lesson, "widgets.ConfusionMatrixCalculator(")
        result = cell.locator(".widget-html-content").last
        for name, value in typed.items():
            type_number(cell, name.upper(), value)
        shown = Metrics.from_counts(**typed)
        expect_metrics(result, shown)
        assert shown.total == sum(start.values()) and not shown.notes
        expect(result).not_to_contain_text("undefined")
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "06-calculator-typed.png"))


class TestExercises(ExerciseTests):
    """Every quiz and check cell of the lesson: wrong, right, Show answer, the progress file."""
