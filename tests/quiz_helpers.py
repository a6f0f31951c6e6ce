"""Helpers of the tests that answer exercises (tests/test_exercises.py, tests/test_widgets.py)."""

from __future__ import annotations

from course_lib.exercises import question


def right_key(question_id: str) -> str:
    """The key of the correct choice of a multiple-choice question."""
    return next(c.key for c in question(question_id).choices if c.correct)


def wrong_key(question_id: str) -> str:
    """The key of the first wrong choice of a multiple-choice question."""
    return next(c.key for c in question(question_id).choices if not c.correct)
