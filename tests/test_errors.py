"""Tests of course_lib.errors: the hierarchy, require() and attempt()."""

from __future__ import annotations

import pytest

from course_lib.errors import (
    Attempt,
    CourseLibError,
    InvalidInputError,
    MissingDependencyError,
    UnknownQuestionError,
    attempt,
    require,
)
from course_lib.exercises import question


class TestHierarchy:
    @pytest.mark.parametrize("cls", [InvalidInputError, MissingDependencyError, UnknownQuestionError])
    def test_every_error_is_a_course_lib_error(self, cls):
        assert issubclass(cls, CourseLibError)

    def test_unknown_question_message_is_not_quoted(self):
        assert str(UnknownQuestionError("no such id")) == "no such id"


class TestRequire:
    def test_returns_the_module(self):
        assert require("json", "core").__name__ == "json"

    def test_missing_module_names_the_extra(self):
        with pytest.raises(MissingDependencyError, match=r"pip install 'course-lib\[plots\]'"):
            require("no_such_module_xyz", "plots")


class TestAttempt:
    def test_returns_the_value(self):
        result = attempt(sorted, [3, 1, 2])
        assert result.ok and result.value == [1, 2, 3] and result.message == ""

    def test_catches_a_course_error_with_its_message(self):
        result = attempt(question, "no-such-id")
        assert not result.ok and isinstance(result.error, UnknownQuestionError)
        assert result.message.startswith("UnknownQuestionError: expected the id of a question")

    def test_other_errors_propagate(self):
        with pytest.raises(ZeroDivisionError):
            attempt(lambda: 1 / 0)

    def test_keyword_arguments_are_passed(self):
        assert attempt(dict, a=1).value == {"a": 1}

    def test_repr_and_html_show_the_error_without_a_traceback(self):
        result = attempt(question, "no-such-id")
        assert repr(result) == result.message
        assert "Traceback" not in result._repr_html_() and "UnknownQuestionError" in result._repr_html_()

    def test_success_repr_shows_the_value(self):
        assert repr(Attempt(value=3)) == "succeeded: 3"

    def test_not_callable_is_refused(self):
        with pytest.raises(InvalidInputError, match="expected a function to call; found int"):
            attempt(42)
