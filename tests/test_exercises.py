"""Tests of course_lib.exercises: the question bank, grading and feedback."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from course_lib.errors import CourseLibError, InvalidInputError, UnknownQuestionError
from course_lib.exercises import (
    Choice,
    Feedback,
    MultipleChoice,
    Numeric,
    check,
    grade,
    load_bank,
    question,
    questions,
    template_values,
)
from course_lib.metrics import Metrics

LESSON_00 = [
    "fraud-self-check",
    "seed-matrix-precision",
    "seed-matrix-recall",
    "seed-matrix-f1",
    "seed-matrix-accuracy",
    "which-metric-fraud",
    "threshold-direction",
    "accuracy-paradox-baseline",
]
SEED = Metrics.from_counts(tp=90, fp=15, fn=10, tn=85)  # the loading-and-inference seed
BAD_NUMBERS = [None, "", "   ", "abc", math.nan, math.inf, -math.inf, "nan", "inf",
               True, False, np.bool_(True), [0.857], {"a": 1}, object(), 10**400]
BAD_KEYS = [None, "", "e", "ab", 1, 0.5, True, ["b"]]


def write_bank(tmp_path: Path, questions_: list, **top: object) -> Path:
    data = {"lesson": "07", "questions": questions_, **top}
    path = tmp_path / "07_bad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def mc(**overrides: object) -> dict:
    q = {"id": "q", "type": "multiple_choice", "prompt": "Pick.", "explanation": "Because.",
         "choices": [{"key": "a", "text": "A", "correct": True, "feedback": "Yes."},
                     {"key": "b", "text": "B", "correct": False, "feedback": "No."}]}
    return {**q, **overrides}


def numeric(**overrides: object) -> dict:
    q = {"id": "n", "type": "numeric", "prompt": "How much?", "explanation": "So much.",
         "from_counts": {"tp": 1, "fp": 1, "fn": 1, "tn": 1}, "metric": "recall",
         "tolerance": 0.01}
    return {**q, **overrides}


class TestQuestions:
    def test_lists_lesson_00_in_bank_order(self):
        assert questions("00") == LESSON_00

    def test_without_lesson_lists_every_id(self):
        assert questions()[: len(LESSON_00)] == LESSON_00

    def test_lesson_without_questions_is_refused_naming_the_lessons(self):
        with pytest.raises(InvalidInputError,
                           match=r"no questions in lesson 99\. Lessons with questions: '00', "):
            questions("99")

    def test_lesson_number_is_padded(self):
        assert questions(" 0") == LESSON_00

    def test_bad_lesson_raises(self):
        with pytest.raises(CourseLibError, match="expected a lesson number such as '00'"):
            questions("metrics")


class TestQuestion:
    def test_returns_typed_question(self):
        q = question("fraud-self-check")
        assert isinstance(q, MultipleChoice) and q.lesson == "00"
        assert all(isinstance(c, Choice) for c in q.choices)

    def test_self_check_prompt_figures_come_from_counts(self):
        assert "98% accuracy but only 12% recall" in question("fraud-self-check").prompt

    def test_unknown_id_suggests_close_match(self):
        with pytest.raises(UnknownQuestionError, match="Did you mean 'fraud-self-check'"):
            question("fraud-self-chek")

    def test_unknown_id_says_how_to_list_ids(self):
        with pytest.raises(UnknownQuestionError, match=r"questions\(\) lists every id"):
            question("no-such-question-at-all")

    def test_unknown_id_is_a_key_error_too(self):
        with pytest.raises(KeyError):
            question("nope")


class TestSeedMatrixAnswers:
    @pytest.mark.parametrize("metric, seed_figure", [
        ("precision", 0.857), ("recall", 0.900), ("f1", 0.878), ("accuracy", 0.875)])
    def test_answer_comes_from_metrics_library(self, metric, seed_figure):
        q = question(f"seed-matrix-{metric}")
        assert isinstance(q, Numeric)
        assert q.answer == SEED.get(metric)
        assert q.answer == pytest.approx(seed_figure, abs=0.0005)
        assert q.tolerance == 0.005

    def test_explanation_shows_the_library_formula(self):
        assert "90 / (90 + 15) = 0.857" in question("seed-matrix-precision").explanation

    def test_baseline_accuracy_is_computed_from_counts(self):
        q = question("accuracy-paradox-baseline")
        assert q.answer == Metrics.from_counts(tp=0, fp=0, fn=12, tn=988).accuracy == 0.988
        assert "1.2% are fraud" in q.prompt


class TestGradeMultipleChoice:
    def test_right_answer_explains_recall_and_share_missed(self):
        fb = grade("fraud-self-check", "b")
        missed = 1 - Metrics.from_counts(tp=12, fp=12, fn=88, tn=4888).recall
        assert fb.correct
        assert "recall" in fb.message.lower()
        assert f"{missed:.0%} of frauds are missed: 88 of every 100" in fb.message

    def test_wrong_answer_explains_why_and_gives_answer(self):
        fb = grade("fraud-self-check", "a")
        assert not fb.correct
        assert "flags nothing scores 98%" in fb.message
        assert "The answer is (b)" in fb.message and "88%" in fb.message

    def test_key_is_case_and_space_insensitive(self):
        assert grade("which-metric-fraud", "  C ").correct

    def test_accepts_question_object(self):
        assert grade(question("threshold-direction"), "b").correct

    @pytest.mark.parametrize("answer", BAD_KEYS)
    def test_bad_key_is_wrong_with_expected_message(self, answer):
        fb = grade("fraud-self-check", answer)
        assert not fb.correct
        assert fb.message.startswith("Expected one of a, b, c, d; got ")

    def test_bad_key_message_quotes_the_answer(self):
        assert grade("fraud-self-check", "e").message == "Expected one of a, b, c, d; got 'e'."


class TestGradeNumeric:
    @pytest.mark.parametrize("answer", [
        0.857, "0.857", " 0.857 ", "85.7%", " 85.7 % ", np.float32(0.857), 0.86, 0.8525])
    def test_accepts_forms_of_right_answer(self, answer):
        assert grade("seed-matrix-precision", answer).correct

    def test_accepts_numpy_integer(self):
        q = Numeric("i", "00", "How many?", 90.0, 0.0, "TP.")
        assert grade(q, np.int64(90)).correct

    def test_tolerance_is_absolute(self):
        assert not grade("seed-matrix-precision", 0.851).correct

    def test_wrong_answer_gives_answer_and_explanation(self):
        fb = grade("seed-matrix-precision", 0.9)
        assert not fb.correct
        assert "not within 0.005 of the answer, 0.857" in fb.message
        assert "TP / (TP + FP)" in fb.message

    def test_percentage_without_sign_gets_hint(self):
        fb = grade("seed-matrix-precision", 85.7)
        assert not fb.correct
        assert fb.message == "85.7 looks like a percentage: write 0.857 or 85.7%."

    @pytest.mark.parametrize("answer", BAD_NUMBERS, ids=repr)
    def test_bad_answer_is_wrong_with_expected_message(self, answer):
        fb = grade("seed-matrix-precision", answer)
        assert not fb.correct
        assert fb.message.startswith("Expected a number such as 0.75 (or 75%); got ")

    def test_decimal_comma_gets_hint(self):
        assert "decimal point" in grade("seed-matrix-precision", "0,857").message

    def test_unit_appears_in_expected_message(self):
        q = Numeric("size", "00", "Size?", 12.0, 0.5, "Given.", unit="MB")
        assert grade(q, "big").message == "Expected a number in MB such as 12.5; got 'big'."

    def test_non_question_raises(self):
        with pytest.raises(CourseLibError, match="expected a question id or a Question"):
            grade(42, "b")  # type: ignore[arg-type]


class TestCheck:
    def test_checks_by_id(self):
        assert check("fraud-self-check", "b") == grade("fraud-self-check", "b")

    def test_unknown_id_raises(self):
        with pytest.raises(UnknownQuestionError, match="Did you mean 'seed-matrix-f1'"):
            check("seed-matrix-f", 0.878)


class TestFeedback:
    def test_str_of_correct(self):
        assert str(Feedback(True, "Recall is 0.9.", "q")) == "Correct. Recall is 0.9."

    def test_str_of_wrong(self):
        fb = Feedback(False, "Expected one of a, b.", "q")
        assert str(fb) == "Not quite. Expected one of a, b."

    def test_html_is_green_when_correct(self):
        assert "#1a7f37" in Feedback(True, "ok", "q")._repr_html_()

    def test_html_is_red_and_escaped_when_wrong(self):
        html = Feedback(False, "got '<script>' & more", "q")._repr_html_()
        assert "#b42318" in html
        assert "&lt;script&gt;" in html and "&amp; more" in html and "<script>" not in html


class TestTemplateValues:
    def test_missed_share_is_one_minus_recall(self):
        v = template_values(Metrics.from_counts(tp=12, fp=12, fn=88, tn=4888))
        assert v["missed_share"] == pytest.approx(1 - v["recall"])

    def test_baseline_accuracy_is_share_of_negatives(self):
        assert template_values(SEED)["baseline_accuracy"] == 100 / 200


class TestLoadBank:
    def test_loads_a_valid_file(self, tmp_path):
        bank = load_bank(write_bank(tmp_path, [mc(), numeric()]))
        assert [q.id for q in bank] == ["q", "n"] and bank[1].answer == 0.5

    def test_fills_templates_from_named_matrix(self, tmp_path):
        path = write_bank(tmp_path, [numeric(from_counts="m", prompt="TP={tp}, F1 {f1:.2f}?")],
                          matrices={"m": {"tp": 3, "fp": 1, "fn": 1, "tn": 5}})
        assert load_bank(path)[0].prompt == "TP=3, F1 0.75?"

    def test_invalid_json_names_file(self, tmp_path):
        path = tmp_path / "07_broken.json"
        path.write_text("{not json", encoding="utf-8")
        with pytest.raises(CourseLibError, match=r"07_broken\.json: could not read it as JSON"):
            load_bank(path)

    def test_duplicate_ids_rejected(self, tmp_path):
        with pytest.raises(CourseLibError, match="07_bad.json: question ids must be unique; rep"):
            load_bank(write_bank(tmp_path, [mc(), mc()]))

    def test_two_correct_choices_rejected(self, tmp_path):
        choices = [{"key": k, "text": k, "correct": True, "feedback": "."} for k in "ab"]
        with pytest.raises(CourseLibError, match="question 'q': expected exactly one correct"):
            load_bank(write_bank(tmp_path, [mc(choices=choices)]))

    def test_negative_tolerance_rejected(self, tmp_path):
        with pytest.raises(CourseLibError, match="'tolerance' to be a finite number of 0 or more"):
            load_bank(write_bank(tmp_path, [numeric(tolerance=-0.1)]))

    def test_unknown_placeholder_rejected(self, tmp_path):
        with pytest.raises(CourseLibError, match="'explanation' has a placeholder that cannot"):
            load_bank(write_bank(tmp_path, [numeric(explanation="It is {precsion:.3f}.")]))

    def test_answer_and_metric_together_rejected(self, tmp_path):
        with pytest.raises(CourseLibError, match="either a literal 'answer'"):
            load_bank(write_bank(tmp_path, [numeric(answer=0.5)]))

    def test_bad_counts_rejected(self, tmp_path):
        bad = numeric(from_counts={"tp": -1, "fp": 0, "fn": 0, "tn": 1})
        with pytest.raises(CourseLibError, match="from_counts: expected tp to be 0 or more"):
            load_bank(write_bank(tmp_path, [bad]))

    def test_unknown_key_rejected(self, tmp_path):
        with pytest.raises(CourseLibError, match=r"unknown key\(s\) \['tolerence'\]"):
            load_bank(write_bank(tmp_path, [numeric(tolerence=0.1)]))

    def test_unknown_type_rejected(self, tmp_path):
        with pytest.raises(CourseLibError, match="expected 'type' to be one of multiple_choice"):
            load_bank(write_bank(tmp_path, [mc(type=["numeric"])]))

    def test_missing_lesson_rejected(self, tmp_path):
        with pytest.raises(CourseLibError, match="expected 'lesson' to be two digits"):
            load_bank(write_bank(tmp_path, [mc()], lesson="zero"))

    def test_packaged_bank_has_unique_ids_and_lesson_files(self):
        ids = questions()
        assert len(ids) == len(set(ids))
        folder = Path(__file__).parents[1] / "course_lib" / "questions"
        assert all(f.name[:2].isdigit() for f in folder.glob("*.json"))


def test_import_does_not_load_bank_or_sklearn():
    import subprocess
    import sys

    code = ("import sys, course_lib, course_lib.exercises as e; "
            "print(e._bank.cache_info().currsize, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "False"]
