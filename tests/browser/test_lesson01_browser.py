"""Lesson 01 in a real browser: JupyterLab in headless Chromium, as a learner uses it.

The module opens ``01_why_persistence.ipynb`` once (a fresh kernel, outputs cleared,
Run > Run All Cells), then each test works one widget with the keyboard and mouse: the
ParityChecker (its before and after matrices and its tolerance field) and every exercise
(:class:`lab_helpers.ExerciseTests`). Expected texts come from ``course_lib`` (the question
bank, ``Metrics.from_counts``, ``compare``, the ParityChecker's own verdict for the same
counts, the dataset), never typed here. Screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

from typing import Any

import pytest
from lab_helpers import (
    WIDGET_TIMEOUT,
    ExerciseTests,
    RunAllTests,
    code_cell,
    expect_metrics,
    html_text,
    type_number,
    widget_box,
)

from course_lib.metrics import Metrics, compare

pytestmark = pytest.mark.browser

LESSON = "01_why_persistence.ipynb"
COUNTS = ("tp", "fp", "fn", "tn")


def shown_counts(side: Any) -> dict[str, int]:
    """The four counts a ParityChecker column's fields hold, as the page shows them."""
    return {k: int(side.get_by_label(k.upper(), exact=True).input_value()) for k in COUNTS}


def enter_counts(side: Any, counts: dict[str, int]) -> None:
    """Type each count into a ParityChecker column, as a learner would."""
    for k in COUNTS:
        type_number(side, k.upper(), counts[k])


def expected_verdict(before: dict[str, int], after: dict[str, int], tolerance: float) -> str:
    """The verdict line course_lib's ParityChecker shows for these counts and tolerance."""
    from course_lib.widgets import ParityChecker

    checker = ParityChecker(before=tuple(before[k] for k in COUNTS),  # type: ignore[arg-type]
                            after=tuple(after[k] for k in COUNTS), tolerance=tolerance)
    if checker.comparison is not None:
        return str(checker.comparison.verdict)
    return html_text(checker.verdict.value)


def one_fraud_missed(counts: dict[str, int]) -> dict[str, int]:
    """The same rows with one fraud caught before now missed (TP - 1, FN + 1)."""
    assert counts["tp"] > 0, f"the model caught no fraud: {counts}"
    return {**counts, "tp": counts["tp"] - 1, "fn": counts["fn"] + 1}


class TestRunAll(RunAllTests):
    """Every cell ran in order, with no error or stderr output."""


class TestParityChecker:
    @pytest.fixture
    def checker(self, lesson: Any) -> tuple[Any, Any, Any, Any]:
        """The checker's cell, its before and after columns and its verdict box."""
        cell = code_cell(lesson, "widgets.ParityChecker(")
        cell.scroll_into_view_if_needed()
        verdict = cell.locator(".widget-html-content").last
        return cell, widget_box(cell, "before"), widget_box(cell, "after"), verdict

    def test_it_starts_on_the_test_rows_before_saving_and_deployed(self, checker, artifacts):
        from course_lib.data import load_fraud

        cell, before, after, _ = checker
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "01-parity-as-run.png"))
        test = load_fraud().test
        for side in (before, after):
            counts = shown_counts(side)
            assert (sum(counts.values()), counts["tp"] + counts["fn"]) == (len(test), int(test.y.sum()))
            expect_metrics(side, Metrics.from_counts(**counts))

    def test_the_verdict_is_compare_of_the_two_matrices(self, checker):
        from playwright.sync_api import expect

        _, before, after, verdict = checker
        shown = compare(Metrics.from_counts(**shown_counts(before)),
                        Metrics.from_counts(**shown_counts(after)), tolerance=0.01)
        expect(verdict).to_contain_text(shown.verdict, timeout=WIDGET_TIMEOUT)

    def test_the_verdict_flips_as_the_tolerance_crosses_the_gap(self, checker, artifacts):
        from playwright.sync_api import expect

        cell, before, after, verdict = checker
        counts = shown_counts(before)
        enter_counts(after, counts)
        moved = one_fraud_missed(counts)
        enter_counts(after, moved)
        gap = max(abs(r.delta) for r in compare(Metrics.from_counts(**counts),
                                                 Metrics.from_counts(**moved)).rows)
        for tolerance, head in ((f"{gap / 2:.3f}", "NOT OK"), (f"{gap * 1.5:.3f}", "OK")):
            type_number(cell, "tolerance", float(tolerance))
            expect(verdict).to_contain_text(
                expected_verdict(counts, moved, float(tolerance)), timeout=WIDGET_TIMEOUT)
            assert verdict.inner_text().strip().splitlines()[-1].startswith(f"{head}:")
            cell.locator(".jp-OutputArea").screenshot(
                path=str(artifacts / f"01-parity-tolerance-{head.replace(' ', '-').lower()}.png"))

    def test_a_different_number_of_rows_is_called_different_data(self, checker, artifacts):
        from playwright.sync_api import expect

        cell, before, after, verdict = checker
        counts = shown_counts(before)
        more = {**counts, "tn": counts["tn"] + 1}
        enter_counts(after, more)
        expect(verdict).to_contain_text(expected_verdict(counts, more, 0.01), timeout=WIDGET_TIMEOUT)
        assert "within" not in verdict.inner_text()
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "01-parity-different-data.png"))

    def test_an_empty_side_asks_for_an_example(self, checker):
        from playwright.sync_api import expect

        _, before, after, verdict = checker
        counts = shown_counts(before)
        enter_counts(after, dict.fromkeys(COUNTS, 0))
        expect(verdict).to_contain_text(
            expected_verdict(counts, dict.fromkeys(COUNTS, 0), 0.01), timeout=WIDGET_TIMEOUT)


class TestExercises(ExerciseTests):
    """Every quiz and check cell of the lesson: wrong, right, Show answer, the progress file."""
