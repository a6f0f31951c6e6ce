"""Tests of course_lib.exercises: the question bank, grading and feedback."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from quiz_helpers import right_key, wrong_key

from course_lib import progress
from course_lib.errors import CourseLibError, InvalidInputError, UnknownQuestionError
from course_lib.exercises import (
    Answer,
    Choice,
    Feedback,
    MultipleChoice,
    Numeric,
    answer,
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
    "worked-matrix-precision",
    "worked-matrix-recall",
    "worked-matrix-f1",
    "worked-matrix-accuracy",
    "which-metric-fraud",
    "threshold-direction",
    "accuracy-paradox-baseline",
]
WORKED = Metrics.from_counts(tp=90, fp=15, fn=10, tn=85)  # lesson 00's worked example
PLACEHOLDERS = [..., None, "", "   "]
BAD_NUMBERS = ["abc", math.nan, math.inf, -math.inf, "nan", "inf",
               True, False, np.bool_(True), [0.857], {"a": 1},
               pytest.param(object(), id="object"), 10**400]  # an id that is the same on every worker
BAD_KEYS = ["e", "ab", 1, 0.5, True, ["b"]]
BANK = [question(qid) for qid in questions()]
CHOICE_QUESTIONS = [q for q in BANK if isinstance(q, MultipleChoice)]
NUMERIC_QUESTIONS = [q for q in BANK if isinstance(q, Numeric)]


pytestmark = pytest.mark.usefixtures("progress_file")  # each test records into its own


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


class TestWorkedMatrixAnswers:
    @pytest.mark.parametrize("metric, worked_figure", [
        ("precision", 0.857), ("recall", 0.900), ("f1", 0.878), ("accuracy", 0.875)])
    def test_answer_comes_from_metrics_library(self, metric, worked_figure):
        q = question(f"worked-matrix-{metric}")
        assert isinstance(q, Numeric)
        assert q.answer == WORKED.get(metric)
        assert q.answer == pytest.approx(worked_figure, abs=0.0005)
        assert q.tolerance == 0.005

    def test_explanation_shows_the_library_formula(self):
        assert "90 / (90 + 15) = 0.857" in question("worked-matrix-precision").explanation

    def test_baseline_accuracy_is_computed_from_counts(self):
        q = question("accuracy-paradox-baseline")
        assert q.answer == Metrics.from_counts(tp=0, fp=0, fn=12, tn=988).accuracy == 0.988
        assert "1.2% are fraud" in q.prompt


class TestGradeMultipleChoice:
    def test_right_answer_explains_recall_and_share_missed(self):
        fb = grade("fraud-self-check", right_key("fraud-self-check"))
        missed = 1 - Metrics.from_counts(tp=12, fp=12, fn=88, tn=4888).recall
        assert fb.correct and fb.graded
        assert "recall" in fb.message.lower()
        assert f"{missed:.0%} of frauds are missed: 88 of every 100" in fb.message

    def test_wrong_answer_gets_its_hint_and_try_again(self):
        fb = grade("fraud-self-check", "a")
        assert not fb.correct and fb.graded
        assert "never flags fraud is already 98% accurate" in fb.message
        assert fb.message.endswith("Try again.")

    def test_wrong_answer_keeps_the_explanation_and_the_right_choice(self):
        q = question("fraud-self-check")
        right = next(c for c in q.choices if c.correct)
        message = grade(q, wrong_key(q.id)).message
        assert q.explanation not in message and right.text not in message
        assert f"({right.key})" not in message and "answer is" not in message.lower()

    def test_right_feedback_does_not_repeat_the_verdict(self):
        assert not grade("which-metric-fraud", right_key("which-metric-fraud")).message.startswith(
            "Right")

    def test_key_is_case_and_space_insensitive(self):
        assert grade("which-metric-fraud", f"  {right_key('which-metric-fraud').upper()} ").correct

    def test_accepts_question_object(self):
        q = question("threshold-direction")
        assert grade(q, right_key(q.id)).correct

    @pytest.mark.parametrize("answer_", BAD_KEYS, ids=repr)
    def test_bad_key_is_not_graded_and_names_the_letters(self, answer_):
        fb = grade("fraud-self-check", answer_)
        assert not fb.correct and not fb.graded
        assert fb.message.startswith("Answer with the letter of one choice, a, b, c or d; ")

    def test_bad_key_message_quotes_the_answer(self):
        assert grade("fraud-self-check", "e").message == \
            "Answer with the letter of one choice, a, b, c or d; 'e' is not one of them."


class TestPlaceholder:
    @pytest.mark.parametrize("answer_", PLACEHOLDERS, ids=repr)
    def test_placeholder_says_how_to_answer(self, answer_):
        fb = check("fraud-self-check", answer_)
        assert not fb.correct and not fb.graded
        assert str(fb) == f'Replace ... with your answer, e.g. check("fraud-self-check", ' \
                          f'"{wrong_key("fraud-self-check")}").'

    def test_one_argument_is_the_placeholder(self):
        assert check("worked-matrix-f1") == check("worked-matrix-f1", ...)

    @pytest.mark.parametrize("q", CHOICE_QUESTIONS, ids=lambda q: q.id)
    def test_example_key_is_never_the_right_one(self, q):
        example = grade(q, ...).message.split(", e.g. ")[1]
        assert example == f'check("{q.id}", "{wrong_key(q.id)}").'
        assert not grade(q, wrong_key(q.id)).correct

    @pytest.mark.parametrize("q", NUMERIC_QUESTIONS, ids=lambda q: q.id)
    def test_example_number_is_never_the_answer(self, q):
        example = grade(q, ...).message.rsplit(", ", 1)[1].rstrip(").")
        assert grade(q, float(example)).graded and not grade(q, float(example)).correct

    def test_placeholder_is_not_recorded(self, progress_file):
        check("fraud-self-check", ...)
        check("fraud-self-check", None)
        assert not progress_file.exists()

    def test_html_is_neutral(self):
        html = grade("fraud-self-check", ...)._repr_html_()
        assert "Not quite" not in html and "#57606a" in html


class TestGradeNumeric:
    @pytest.mark.parametrize("answer_", [
        0.857, "0.857", " 0.857 ", "85.7%", " 85.7 % ", np.float32(0.857), 0.86, 0.8525])
    def test_accepts_forms_of_right_answer(self, answer_):
        assert grade("worked-matrix-precision", answer_).correct

    def test_accepts_numpy_integer(self):
        q = Numeric("i", "00", "How many?", 90.0, 0.0, "TP.")
        assert grade(q, np.int64(90)).correct

    def test_tolerance_is_absolute(self):
        assert not grade("worked-matrix-precision", 0.851).correct

    def test_too_high_names_the_formula_not_the_number(self):
        fb = grade("worked-matrix-precision", 0.95)
        assert not fb.correct and fb.graded
        assert fb.message == ("0.95 is too high. Precision = TP / (TP + FP): put in the counts "
                              "from the question. Try again.")

    def test_too_low(self):
        assert grade("worked-matrix-f1", 0.5).message.startswith("0.5 is too low. F1 = 2·TP / ")

    def test_another_metric_of_the_matrix_is_named(self):
        fb = grade("worked-matrix-precision", WORKED.recall)
        assert "That is the recall of these counts (TP / (TP + FN)); the question asks for " \
               "the precision: TP / (TP + FP)." in fb.message

    @pytest.mark.parametrize("q", NUMERIC_QUESTIONS, ids=lambda q: q.id)
    def test_wrong_number_never_shows_the_answer_or_explanation(self, q):
        for wrong in (q.answer + 0.1, q.answer - 0.1):
            message = grade(q, wrong).message
            assert f"{q.answer:.3f}" not in message and q.explanation not in message

    def test_literal_answer_says_only_high_or_low(self):
        q = Numeric("size", "00", "Size?", 12.0, 0.5, "Given.", unit="MB")
        assert grade(q, 20).message == "20 MB is too high. Try again."

    def test_percentage_without_sign_gets_hint_and_is_not_graded(self):
        fb = grade("worked-matrix-precision", 85.7)
        assert not fb.correct and not fb.graded
        assert fb.message == "85.7 looks like a percentage: write 0.857 or 85.7%."

    @pytest.mark.parametrize("answer_", BAD_NUMBERS, ids=repr)
    def test_bad_answer_is_not_graded_with_expected_message(self, answer_):
        fb = grade("worked-matrix-precision", answer_)
        assert not fb.correct and not fb.graded
        assert fb.message.startswith("Answer with a number, such as 0.5 (or 50%); ")

    def test_decimal_comma_gets_hint(self):
        assert "decimal point" in grade("worked-matrix-precision", "0,857").message

    def test_unit_appears_in_expected_message(self):
        q = Numeric("size", "00", "Size?", 12.0, 0.5, "Given.", unit="MB")
        assert grade(q, "big").message == "Answer with a number in MB, such as 0.5; 'big' is not a number."

    def test_non_question_raises(self):
        with pytest.raises(CourseLibError, match="expected a question id or a Question"):
            grade(42, "b")  # type: ignore[arg-type]


class TestCheck:
    def test_checks_by_id(self):
        key = right_key("fraud-self-check")
        assert check("fraud-self-check", key) == grade("fraud-self-check", key)

    def test_wrong_answer_says_how_to_see_the_answer(self):
        assert check("fraud-self-check", "a").message.endswith(
            'Try again, or see the answer with answer("fraud-self-check").')

    def test_records_a_graded_answer(self, progress_file):
        check("fraud-self-check", "a")
        check("fraud-self-check", right_key("fraud-self-check"))
        r = progress.load(progress_file).records["fraud-self-check"]
        assert (r.lesson, r.attempts, r.done, r.first_try) == ("00", 2, True, False)

    def test_unreadable_answer_is_not_recorded(self, progress_file):
        check("fraud-self-check", "z")
        assert not progress_file.exists()

    def test_unknown_id_raises(self):
        with pytest.raises(UnknownQuestionError, match="Did you mean 'worked-matrix-f1'"):
            check("worked-matrix-f", 0.878)

    @pytest.mark.parametrize("old, new", [("seed-matrix-f1", "worked-matrix-f1"),
                                          ("l04-seed-v1-precision", "l04-worked-v1-precision"),
                                          ("l05-seed-recall", "l05-worked-recall")])
    def test_old_id_names_the_new_one(self, old, new):
        with pytest.raises(UnknownQuestionError, match=f'old name of "{new}". Fix: use the new '
                                                       f'id, e.g. check\\("{new}", ...\\)'):
            check(old, 0.5)


class TestAnswer:
    def test_choice_answer_quotes_the_right_choice_then_explains(self):
        q = question("which-metric-fraud")
        shown = answer(q.id)
        assert isinstance(shown, Answer)
        assert str(shown) == f'The answer is ({right_key(q.id)}): "Recall". {q.explanation}'

    def test_numeric_answer_is_rounded_to_the_tolerance(self):
        assert str(answer("worked-matrix-precision")).startswith("The answer is 0.857. Precision")

    def test_shown_answer_is_noted_and_spoils_the_first_try(self, progress_file):
        answer("fraud-self-check")
        check("fraud-self-check", right_key("fraud-self-check"))
        r = progress.load(progress_file).records["fraud-self-check"]
        assert (r.shown, r.done, r.first_try) == (True, True, False)

    def test_html_escapes_the_message(self):
        assert "&quot;Recall&quot;" in answer("which-metric-fraud")._repr_html_()


class TestBank:
    """Rules over the whole bank: what a learner reads, and where the right answers are."""

    def test_no_key_holds_more_than_a_third_of_the_right_answers(self):
        keys = [right_key(q.id) for q in CHOICE_QUESTIONS]
        counts = {k: keys.count(k) for k in sorted(set(keys))}
        assert max(counts.values()) <= len(keys) / 3, counts

    @pytest.mark.parametrize("q", CHOICE_QUESTIONS, ids=lambda q: q.id)
    def test_keys_are_letters_in_order(self, q):
        assert [c.key for c in q.choices] == list("abcd"[: len(q.choices)])

    @pytest.mark.parametrize("q", BANK, ids=lambda q: q.id)
    def test_no_authoring_words(self, q):
        texts = [q.id, q.prompt, q.explanation]
        if isinstance(q, MultipleChoice):
            texts += [t for c in q.choices for t in (c.text, c.feedback)]
        for text in texts:
            assert "seed" not in text.lower() and "lesson text" not in text.lower(), text

    def test_no_authoring_words_in_matrix_names(self):
        folder = Path(__file__).parents[1] / "course_lib" / "questions"
        for f in folder.glob("*.json"):
            data = json.loads(f.read_text(encoding="utf-8"))
            assert not [m for m in data.get("matrices", {}) if "seed" in m], f.name

    @pytest.mark.parametrize("q", CHOICE_QUESTIONS, ids=lambda q: q.id)
    def test_no_hint_gives_the_right_choice_away(self, q):
        right = next(c for c in q.choices if c.correct)
        for c in q.choices:
            if not c.correct:
                assert right.text not in c.feedback and "answer is" not in c.feedback.lower()
                assert f"({right.key})" not in c.feedback


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
        assert template_values(WORKED)["baseline_accuracy"] == 100 / 200


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
