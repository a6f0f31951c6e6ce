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

import pytest
from lab_helpers import ExerciseTests, RunAllTests

pytestmark = pytest.mark.browser

LESSON = "07_bring_your_own_model.ipynb"
#: Two models trained, saved in three formats, served, converted and release-checked.
RUN_ALL_TIMEOUT = 600_000


class TestRunAll(RunAllTests):
    """Every cell ran in order, with no error or stderr output."""


class TestExercises(ExerciseTests):
    """Every quiz and check cell of the lesson: wrong, right, Show answer, the progress file."""
