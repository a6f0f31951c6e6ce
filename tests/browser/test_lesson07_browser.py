"""Lesson 07 in a real browser: JupyterLab in headless Chromium, as a learner uses it.

The module opens ``07_bring_your_own_model.ipynb`` once (a fresh kernel, outputs cleared,
Run > Run All Cells: it trains a small CNN on the digits and a regressor on the diabetes
data, saves, reloads, converts and release-checks both), then works every exercise
(:class:`lab_helpers.ExerciseTests`): each quiz answered wrong, right and with Show
answer, each ``check("id", ...)`` cell run wrong then right. Expected texts come from
``course_lib`` (the question bank), never typed here. Screenshots go to
``test-artifacts/browser/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lab_helpers
import pytest
from lab_helpers import STATE, STDERR, ExerciseTests, run_all_cells

pytestmark = pytest.mark.browser

LESSON = "07_bring_your_own_model.ipynb"
#: Two models trained, saved in three formats, served, converted and release-checked.
RUN_ALL_TIMEOUT = 900_000


@pytest.fixture(scope="module")
def lesson(lab_server: Any, lab_page: Any, artifacts: Path) -> Iterator[Any]:
    """Lesson 07 open in JupyterLab, every cell run top to bottom in a fresh kernel."""
    with pytest.MonkeyPatch.context() as patch:  # this lesson trains two models: more time
        patch.setattr(lab_helpers, "RUN_ALL_TIMEOUT", max(RUN_ALL_TIMEOUT, lab_helpers.RUN_ALL_TIMEOUT))
        page = run_all_cells(lab_server, lab_page, LESSON, artifacts)
    page.screenshot(path=str(artifacts / "07-after-run-all.png"))
    yield page


class TestRunAll:
    def test_every_code_cell_ran_in_order(self, lesson):
        prompts = lesson.evaluate(STATE)["prompts"]
        assert prompts == [f"[{i}]:" for i in range(1, len(prompts) + 1)]

    def test_no_error_or_stderr_output(self, lesson):
        shown = lesson.locator(STDERR)
        assert shown.count() == 0, [shown.nth(i).inner_text()[:500] for i in range(shown.count())]


class TestExercises(ExerciseTests):
    """Every quiz and check cell of the lesson: wrong, right, Show answer, the progress file."""
