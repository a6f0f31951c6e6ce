"""Helpers of the tests that answer exercises (test_exercises, test_widgets, the browser tests)."""

from __future__ import annotations

from course_lib.exercises import MultipleChoice, question


def right_key(question_id: str) -> str:
    """The key of the correct choice of a multiple-choice question."""
    return next(c.key for c in question(question_id).choices if c.correct)


def wrong_key(question_id: str) -> str:
    """The key of the first wrong choice of a multiple-choice question."""
    return next(c.key for c in question(question_id).choices if not c.correct)


def right_answer(question_id: str) -> str:
    """What a learner types or picks to answer right: a choice's key, or the number itself."""
    q = question(question_id)
    return right_key(question_id) if isinstance(q, MultipleChoice) else f"{q.answer:g}"


def wrong_answer(question_id: str) -> str:
    """A wrong answer: the first wrong key, or a number well outside the tolerance."""
    q = question(question_id)
    if isinstance(q, MultipleChoice):
        return wrong_key(question_id)
    if 0 <= q.answer <= 1:  # a fraction: stay a fraction, 0.3 away
        return f"{q.answer - 0.3 if q.answer >= 0.5 else q.answer + 0.3:.3f}"
    return f"{2 * q.answer + 10 * q.tolerance + 1:g}"
