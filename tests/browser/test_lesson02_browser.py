"""Lesson 02 in a real browser: JupyterLab in headless Chromium, as a learner uses it.

The module opens ``02_savedmodel_format.ipynb`` once (a fresh kernel, outputs cleared,
Run > Run All Cells), then each test works one widget with the keyboard and mouse: the
confusion-matrix calculator of the worked example and every exercise
(:class:`lab_helpers.ExerciseTests`). Expected texts come from ``course_lib`` (the question
bank, ``Metrics.from_counts``) and the counts the lesson's cell passes, never typed here.
Screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import json

import pytest
from lab_helpers import (
    NOTEBOOKS,
    WIDGET_TIMEOUT,
    ExerciseTests,
    RunAllTests,
    code_cell,
    expect_metrics,
    html_text,
    type_number,
)

from course_lib.metrics import Metrics
from course_lib.widgets import ConfusionMatrixCalculator

pytestmark = pytest.mark.browser

LESSON = "02_savedmodel_format.ipynb"
CALCULATOR = "widgets.ConfusionMatrixCalculator"
COUNTS = ("tp", "fp", "fn", "tn")


def stored_repr(source: str) -> str:
    """The text the stored lesson shows for the code cell containing ``source`` (its widget's repr)."""
    cells = [c for c in json.loads((NOTEBOOKS / LESSON).read_text())["cells"]
             if c["cell_type"] == "code" and source in "".join(c["source"])]
    assert len(cells) == 1, f"expected one code cell with {source!r} in {LESSON}, found {len(cells)}"
    return "".join(next(o["data"]["text/plain"] for o in cells[0]["outputs"] if "data" in o))


class TestRunAll(RunAllTests):
    """Every cell ran in order, with no error or stderr output."""


class TestConfusionMatrixCalculator:
    def test_it_starts_on_the_counts_the_lesson_gives(self, lesson, artifacts):
        cell = code_cell(lesson, f"{CALCULATOR}(")
        cell.scroll_into_view_if_needed()
        shown = {k: int(cell.get_by_label(k.upper(), exact=True).input_value()) for k in COUNTS}
        assert repr(ConfusionMatrixCalculator(**shown)) == stored_repr(f"{CALCULATOR}(")
        expect_metrics(cell.locator(".widget-html-content").last, Metrics.from_counts(**shown))
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "02-calculator-as-run.png"))

    def test_typing_the_counts_updates_the_four_metrics(self, lesson, artifacts):
        cell = code_cell(lesson, f"{CALCULATOR}(")
        typed = {"tp": 38, "fp": 7, "fn": 12, "tn": 143}
        for k in COUNTS:
            type_number(cell, k.upper(), typed[k])
        expect_metrics(cell.locator(".widget-html-content").last, Metrics.from_counts(**typed))
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "02-calculator-typed.png"))

    def test_four_zero_counts_ask_for_an_example(self, lesson):
        from playwright.sync_api import expect

        cell = code_cell(lesson, f"{CALCULATOR}(")
        for k in COUNTS:
            type_number(cell, k.upper(), 0)
        empty = ConfusionMatrixCalculator(**dict.fromkeys(COUNTS, 0))
        expect(cell.locator(".widget-html-content").last).to_contain_text(
            html_text(empty.result.value), timeout=WIDGET_TIMEOUT)


class TestExercises(ExerciseTests):
    """Every quiz and check cell of the lesson: wrong, right, Show answer, the progress file."""
