"""Tests of course_lib.widgets: each widget shows what the pure functions return."""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
import pytest
from quiz_helpers import right_key, wrong_key

from course_lib import progress
from course_lib.errors import InvalidInputError, UnknownQuestionError
from course_lib.exercises import answer, grade, question
from course_lib.metrics import Metrics
from course_lib.widgets import ConfusionMatrixCalculator, QuizWidget, ThresholdExplorer, quiz

CHOICE_ID, NUMERIC_ID = "fraud-self-check", "worked-matrix-precision"


pytestmark = pytest.mark.usefixtures("progress_file")  # each test records into its own


class TestQuizWidget:
    def test_multiple_choice_shows_radio_buttons_with_keys_and_nothing_selected(self):
        w = QuizWidget(CHOICE_ID)
        q = question(CHOICE_ID)
        assert isinstance(w.answer, W.RadioButtons)
        assert w.answer.options == tuple((f"{c.key}) {c.text}", c.key) for c in q.choices)
        assert w.answer.value is None

    def test_numeric_shows_text_field_with_placeholder(self):
        w = QuizWidget(NUMERIC_ID)
        assert isinstance(w.answer, W.Text)
        assert w.answer.placeholder == "e.g. 0.75 or 75%"

    def test_layout_is_prompt_answer_buttons_feedback(self):
        w = QuizWidget(CHOICE_ID)
        assert isinstance(w, W.VBox)
        assert list(w.children[:2]) == [w.prompt, w.answer] and w.children[3] is w.feedback
        assert list(w.children[2].children) == [w.check_button, w.show_button]
        assert (w.check_button.description, w.show_button.description) == ("Check", "Show answer")
        assert w.feedback.value == "" and w.last_feedback is None

    def test_prompt_is_the_question_prompt(self):
        w = QuizWidget(CHOICE_ID)
        assert html.escape(question(CHOICE_ID).prompt) in w.prompt.value

    def test_right_choice_graded_correct(self):
        w = QuizWidget(CHOICE_ID)
        w.answer.value = right_key(CHOICE_ID)
        w.check_button.click()
        assert w.last_feedback == grade(CHOICE_ID, right_key(CHOICE_ID))
        assert w.last_feedback.correct
        assert w.feedback.value == w.last_feedback._repr_html_()

    def test_wrong_choice_gets_its_hint_and_another_try(self):
        w = QuizWidget(CHOICE_ID)
        w.answer.value = wrong_key(CHOICE_ID)
        w.check_button.click()
        assert not w.last_feedback.correct
        assert w.feedback.value == grade(CHOICE_ID, wrong_key(CHOICE_ID))._repr_html_()
        assert "Try again." in w.feedback.value

    def test_wrong_choice_shows_no_explanation(self):
        w = QuizWidget(CHOICE_ID)
        w.answer.value = wrong_key(CHOICE_ID)
        w.check_button.click()
        assert html.escape(question(CHOICE_ID).explanation) not in w.feedback.value

    def test_right_choice_shows_the_explanation(self):
        w = QuizWidget(CHOICE_ID)
        w.answer.value = right_key(CHOICE_ID)
        w.check_button.click()
        assert html.escape(question(CHOICE_ID).explanation) in w.feedback.value

    def test_show_answer_button_shows_the_answer_and_explanation(self):
        w = QuizWidget(CHOICE_ID)
        w.show_button.click()
        assert w.shown == answer(CHOICE_ID)
        assert w.feedback.value == w.shown._repr_html_()
        assert f"The answer is ({right_key(CHOICE_ID)})" in w.feedback.value

    def test_answers_are_recorded(self, progress_file):
        w = QuizWidget(CHOICE_ID)
        for key in (wrong_key(CHOICE_ID), right_key(CHOICE_ID)):
            w.answer.value = key
            w.check_button.click()
        r = progress.load(progress_file).records[CHOICE_ID]
        assert (r.attempts, r.done, r.first_try) == (2, True, False)

    def test_right_first_time_is_recorded(self, progress_file):
        w = QuizWidget(NUMERIC_ID)
        w.answer.value = "0.857"
        w.check_button.click()
        assert progress.load(progress_file).records[NUMERIC_ID].first_try

    def test_show_answer_is_recorded(self, progress_file):
        QuizWidget(CHOICE_ID).show_button.click()
        assert progress.load(progress_file).records[CHOICE_ID].shown

    def test_check_without_answer_records_nothing(self, progress_file):
        QuizWidget(CHOICE_ID).check_button.click()
        assert not progress_file.exists()

    def test_numeric_right_answer_as_percentage(self):
        w = QuizWidget(NUMERIC_ID)
        w.answer.value = f"{question(NUMERIC_ID).answer * 100:.1f}%"
        w.check_button.click()
        assert w.last_feedback.correct

    def test_numeric_wrong_answer(self):
        w = QuizWidget(NUMERIC_ID)
        w.answer.value = "0.5"
        w.check_button.click()
        assert not w.last_feedback.correct
        assert w.feedback.value == grade(NUMERIC_ID, "0.5")._repr_html_()

    def test_bad_answer_shows_expected_feedback_instead_of_raising(self):
        w = QuizWidget(NUMERIC_ID)
        w.answer.value = "abc"
        w.check_button.click()
        assert not w.last_feedback.correct
        assert "is not a number" in w.feedback.value

    def test_check_without_selection_asks_for_an_answer(self):
        w = QuizWidget(CHOICE_ID)
        w.check_button.click()
        assert w.last_feedback.message == "Choose an answer first, then press Check."
        assert "Not quite" not in w.feedback.value

    def test_check_with_empty_number_asks_for_one(self):
        w = QuizWidget(NUMERIC_ID)
        w.check_button.click()
        assert w.last_feedback.message == "Type a number first, then press Check."

    def test_second_click_replaces_feedback(self):
        w = QuizWidget(CHOICE_ID)
        w.answer.value = wrong_key(CHOICE_ID)
        w.check_button.click()
        w.answer.value = right_key(CHOICE_ID)
        w.check_button.click()
        assert w.last_feedback.correct
        assert w.feedback.value.count("Correct.") == 1

    def test_accepts_a_question_object(self):
        assert QuizWidget(question(NUMERIC_ID)).question == question(NUMERIC_ID)

    def test_unknown_id_raises_at_construction(self):
        with pytest.raises(UnknownQuestionError, match="fraud-self-check"):
            QuizWidget("fraud-selfcheck")

    def test_wrong_type_raises(self):
        with pytest.raises(InvalidInputError, match="expected a question id or a question"):
            QuizWidget(42)  # type: ignore[arg-type]

    def test_repr_is_short_and_stable(self):
        w = QuizWidget(CHOICE_ID)
        w.answer.value = right_key(CHOICE_ID)
        w.check_button.click()
        assert repr(w) == "QuizWidget('fraud-self-check')"
        assert w._repr_mimebundle_()["text/plain"] == "QuizWidget('fraud-self-check')"

    def test_quiz_function_builds_the_widget(self):
        w = quiz(NUMERIC_ID)
        assert isinstance(w, QuizWidget) and w.question.id == NUMERIC_ID


def _legends(widget) -> int:
    """How many times a widget tree shows the matrix legend."""
    from course_lib.widgets import MATRIX_LEGEND

    own = int(getattr(widget, "value", None) == MATRIX_LEGEND)
    return own + sum(_legends(child) for child in getattr(widget, "children", ()))


class TestConfusionMatrixCalculator:
    def test_the_legend_says_where_each_count_sits(self):
        assert _legends(ConfusionMatrixCalculator()) == 1

    def test_the_legend_can_be_left_out(self):
        assert _legends(ConfusionMatrixCalculator(legend=False)) == 0

    def test_defaults_show_metrics_from_counts(self):
        calc = ConfusionMatrixCalculator()
        expected = Metrics.from_counts(tp=90, fp=15, fn=10, tn=85)
        assert calc.metrics == expected
        assert calc.result.value == expected._repr_html_()

    def test_inputs_are_bounded_int_texts_labelled_by_count(self):
        calc = ConfusionMatrixCalculator()
        for name in ("tp", "fp", "fn", "tn"):
            box = getattr(calc, name)
            assert isinstance(box, W.BoundedIntText)
            assert (box.description, box.min, box.max) == (name.upper(), 0, 10**9)

    def test_setting_values_updates_result_live(self):
        calc = ConfusionMatrixCalculator()
        calc.tp.value, calc.fp.value, calc.fn.value, calc.tn.value = 40, 5, 10, 45
        expected = Metrics.from_counts(tp=40, fp=5, fn=10, tn=45)
        assert calc.metrics == expected
        assert calc.result.value == expected._repr_html_()
        for shown in ("0.889", "0.800", "0.850"):  # precision, recall, accuracy
            assert shown in calc.result.value

    def test_all_zero_shows_friendly_message(self):
        calc = ConfusionMatrixCalculator()
        calc.tp.value = calc.fp.value = calc.fn.value = calc.tn.value = 0
        assert calc.metrics is None
        assert "enter at least one example" in calc.result.value

    def test_back_from_all_zero(self):
        calc = ConfusionMatrixCalculator(tp=0, fp=0, fn=0, tn=0)
        calc.tn.value = 10
        assert calc.metrics == Metrics.from_counts(tp=0, fp=0, fn=0, tn=10)

    def test_zero_division_note_is_shown(self):
        calc = ConfusionMatrixCalculator(tp=0, fp=0, fn=12, tn=988)
        assert "precision is undefined" in calc.result.value

    @pytest.mark.parametrize("bad", [-1, 1.5, "10", True, 10**9 + 1])
    def test_bad_initial_count_raises(self, bad):
        with pytest.raises(InvalidInputError, match="expected fp to be a whole number"):
            ConfusionMatrixCalculator(fp=bad)

    def test_repr_shows_current_counts(self):
        calc = ConfusionMatrixCalculator(tp=40, fp=5, fn=10, tn=45)
        assert repr(calc) == "ConfusionMatrixCalculator(tp=40, fp=5, fn=10, tn=45)"


@pytest.fixture
def scored():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    scores = np.clip(0.3 * y + rng.normal(0.35, 0.2, 400), 0.0, 1.0)
    return y, scores


class TestThresholdExplorer:
    def test_initial_result_is_metrics_at_threshold(self, scored):
        ex = ThresholdExplorer(*scored, threshold=0.4)
        expected = Metrics.from_predictions(*scored, threshold=0.4)
        assert ex.metrics == expected
        assert expected._repr_html_() in ex.result.value

    def test_slider_spans_0_to_1_with_step(self, scored):
        ex = ThresholdExplorer(*scored, step=0.05)
        assert isinstance(ex.slider, W.FloatSlider)
        assert (ex.slider.min, ex.slider.max, ex.slider.step, ex.slider.value) == (0, 1, 0.05, 0.5)

    def test_moving_slider_changes_recall_as_metrics_says(self, scored):
        ex = ThresholdExplorer(*scored)
        before = ex.metrics.recall
        ex.slider.value = 0.3
        expected = Metrics.from_predictions(*scored, threshold=0.3)
        assert ex.metrics == expected
        assert ex.metrics.recall > before
        assert f"{expected.recall:.3f}" in ex.result.value

    def test_summary_line_counts_flags_and_catches(self):
        ex = ThresholdExplorer([0, 0, 1, 1, 1], [0.1, 0.6, 0.4, 0.9, 0.7])
        assert "flags 3 of 5 rows; it catches 2 of 3 positives" in ex.result.value

    def test_keras_shaped_scores_are_accepted(self, scored):
        y, scores = scored
        ex = ThresholdExplorer(y, scores.reshape(-1, 1))
        assert ex.metrics == Metrics.from_predictions(y, scores)

    def test_mismatched_lengths_raise(self):
        with pytest.raises(InvalidInputError, match="3 labels but 2 scores"):
            ThresholdExplorer([0, 1, 1], [0.2, 0.9])

    def test_nan_scores_raise(self):
        with pytest.raises(InvalidInputError, match="NaN"):
            ThresholdExplorer([0, 1], [0.2, float("nan")])

    def test_threshold_out_of_range_raises(self, scored):
        with pytest.raises(InvalidInputError, match="threshold between 0 and 1"):
            ThresholdExplorer(*scored, threshold=1.5)

    def test_bad_step_raises(self, scored):
        with pytest.raises(InvalidInputError, match="expected step"):
            ThresholdExplorer(*scored, step=0)

    def test_repr_is_short_and_stable(self, scored):
        assert repr(ThresholdExplorer(*scored, threshold=0.25)) == \
            "ThresholdExplorer(n=400, threshold=0.25)"


class TestParityChecker:
    def test_the_legend_is_shown_once_for_both_matrices(self):
        from course_lib.widgets import ParityChecker

        assert _legends(ParityChecker()) == 1

    def test_identical_matrices_are_ok(self):
        from course_lib.widgets import ParityChecker

        assert ParityChecker(before=(40, 5, 10, 45), after=(40, 5, 10, 45)).comparison.ok

    def test_changing_predictions_updates_the_verdict(self):
        from course_lib.widgets import ParityChecker

        p = ParityChecker(before=(40, 5, 10, 45), after=(40, 5, 10, 45))
        p.after.tp.value, p.after.fn.value = 30, 20  # the same 50 positives, 10 more missed
        assert not p.comparison.ok and "NOT OK" in p.verdict.value
        assert p.comparison.row("recall").delta == pytest.approx(30 / 50 - 0.8)

    def test_different_totals_are_flagged_as_different_data(self):
        from course_lib.widgets import ParityChecker

        p = ParityChecker(before=(40, 5, 10, 45), after=(80, 10, 20, 90))
        assert p.comparison is None and not p.same_data
        assert "DIFFERENT DATA" in p.verdict.value and "before counts 100 rows" in p.verdict.value

    def test_same_total_but_other_positives_is_different_data(self):
        from course_lib.widgets import ParityChecker

        p = ParityChecker(before=(40, 5, 10, 45), after=(40, 5, 10, 45))
        p.after.tp.value, p.after.tn.value = 45, 40  # 100 rows, but 55 positives
        assert p.comparison is None and "DIFFERENT DATA" in p.verdict.value

    def test_back_to_the_same_data_compares_again(self):
        from course_lib.widgets import ParityChecker

        p = ParityChecker(before=(40, 5, 10, 45), after=(40, 5, 10, 46))
        p.after.tn.value = 45
        assert p.same_data and p.comparison.ok

    def test_tolerance_is_applied(self):
        from course_lib.widgets import ParityChecker

        p = ParityChecker(before=(40, 5, 10, 45), after=(39, 5, 11, 45))
        assert not p.comparison.ok
        p.tolerance.value = 0.05
        assert p.comparison.ok and "OK: every metric within 0.05" in p.verdict.value

    def test_empty_side_shows_a_message(self):
        from course_lib.widgets import ParityChecker

        p = ParityChecker()
        for box in (p.before.tp, p.before.fp, p.before.fn, p.before.tn):
            box.value = 0
        assert p.comparison is None and "at least one example" in p.verdict.value

    def test_repr_is_stable(self):
        from course_lib.widgets import ParityChecker

        assert repr(ParityChecker()) == "ParityChecker(tolerance=0.01)"


@pytest.fixture
def costly():
    """Scores where the cheapest threshold moves with the costs (seeded, 600 rows)."""
    rng = np.random.default_rng(7)
    y = (rng.random(600) < 0.1).astype(int)
    scores = np.clip(0.35 * y + rng.beta(2, 5, 600), 0.0, 1.0)
    return y, scores


class TestCostExplorer:
    def test_initial_result_is_the_cost_curve_at_the_given_costs(self, costly):
        from course_lib.costs import cost_curve
        from course_lib.widgets import CostExplorer

        ex = CostExplorer(*costly, miss_cost=500, false_alarm_cost=5)
        expected = cost_curve(*costly, miss_cost=500, false_alarm_cost=5)
        assert ex.curve.best_threshold == expected.best_threshold
        assert ex.result.value == expected._repr_html_()

    def test_sliders_hold_the_given_costs_exactly(self, costly):
        from course_lib.widgets import CostExplorer

        ex = CostExplorer(*costly, miss_cost=500, false_alarm_cost=20)
        assert isinstance(ex.miss_cost, W.SelectionSlider)
        assert (ex.miss_cost.value, ex.false_alarm_cost.value) == (500, 20)
        assert (ex.miss_cost.label, ex.false_alarm_cost.label) == ("500", "20")
        assert list(ex.children)[1:] == [ex.miss_cost, ex.false_alarm_cost, ex.result]

    def test_a_cost_off_the_steps_is_held_too(self, costly):
        from course_lib.widgets import CostExplorer

        ex = CostExplorer(*costly, miss_cost=9460, false_alarm_cost=0.37)
        assert (ex.miss_cost.value, ex.false_alarm_cost.value) == (9460, 0.37)
        assert ex.miss_cost.label == "9,460"

    def test_steps_are_round_and_span_the_range(self):
        from course_lib.widgets import COST_RANGE, COST_STEPS

        assert (COST_STEPS[0], COST_STEPS[-1]) == COST_RANGE and len(COST_STEPS) == 61
        assert {1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0} <= set(COST_STEPS)

    def test_moving_a_slider_step_by_step(self, costly):
        from course_lib.widgets import CostExplorer

        ex = CostExplorer(*costly, miss_cost=500, false_alarm_cost=5)
        ex.miss_cost.index += 1
        assert ex.miss_cost.value == 600 and ex.curve.miss_cost == 600

    def test_dearer_false_alarms_raise_the_cheapest_threshold(self, costly):
        from course_lib.widgets import CostExplorer

        ex = CostExplorer(*costly, miss_cost=500, false_alarm_cost=5)
        before = ex.curve.best_threshold
        ex.false_alarm_cost.value = 200
        assert ex.curve.best_threshold > before
        assert ex.curve.false_alarm_cost == 200

    def test_dearer_missed_frauds_lower_the_cheapest_threshold(self, costly):
        from course_lib.widgets import CostExplorer

        ex = CostExplorer(*costly, miss_cost=50, false_alarm_cost=5)
        before = ex.curve.best_threshold
        ex.miss_cost.value = 5000
        assert ex.curve.best_threshold < before

    def test_result_shows_the_confusion_matrix_at_the_cheapest_threshold(self, costly):
        from course_lib.widgets import CostExplorer

        ex = CostExplorer(*costly)
        ex.miss_cost.value = 1000
        assert ex.curve.best_metrics._repr_html_() in ex.result.value
        assert f"cheapest threshold {ex.curve.best_threshold:.2f}" in ex.result.value

    @pytest.mark.parametrize("bad", [-1.0, float("nan"), "500", True])
    def test_bad_cost_raises(self, costly, bad):
        from course_lib.widgets import CostExplorer

        with pytest.raises(InvalidInputError, match="expected miss_cost to be a cost of 0 or more"):
            CostExplorer(*costly, miss_cost=bad)

    def test_cost_outside_the_slider_range_raises(self, costly):
        from course_lib.widgets import CostExplorer

        with pytest.raises(InvalidInputError, match="expected false_alarm_cost between 0.1 and 100,000"):
            CostExplorer(*costly, false_alarm_cost=0)

    def test_mismatched_lengths_raise(self):
        from course_lib.widgets import CostExplorer

        with pytest.raises(InvalidInputError, match="3 labels but 2 scores"):
            CostExplorer([0, 1, 1], [0.2, 0.9])

    def test_repr_is_short_and_stable(self, costly):
        from course_lib.widgets import CostExplorer

        assert repr(CostExplorer(*costly, miss_cost=500, false_alarm_cost=5)) == \
            "CostExplorer(n=600, miss_cost=500, false_alarm_cost=5)"


class TestQuantizationChooser:
    SOURCE = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
    WORSE = Metrics.from_counts(tp=38, fp=3, fn=12, tn=47)  # recall 0.90 -> 0.76

    def results(self):
        from course_lib.tfjs import Parity

        s = self.SOURCE
        return [Parity.from_metrics("float32", 140_000, s, s),
                Parity.from_metrics("float16", 70_000, s, s),
                Parity.from_metrics("uint8", 40_000, s, self.WORSE)]

    def test_shows_the_budget_result_of_the_chosen_setting(self):
        from course_lib.tfjs import check_budget
        from course_lib.widgets import QuantizationChooser

        chooser = QuantizationChooser(self.results(), weights="float16")
        assert chooser.result.value == check_budget(self.results()[1], 100 * 1024)._repr_html_()
        assert chooser.budget_result == check_budget(self.results()[1], 100 * 1024)

    def test_raising_the_budget_lets_float32_pass(self):
        from course_lib.widgets import QuantizationChooser

        chooser = QuantizationChooser(self.results())
        assert not chooser.budget_result.ok
        chooser.budget.value = 150
        assert chooser.budget_result.ok and chooser.max_size_bytes == 150 * 1024

    def test_small_model_with_moved_metrics_fails(self):
        from course_lib.widgets import QuantizationChooser

        chooser = QuantizationChooser(self.results(), weights="uint8")
        assert (chooser.budget_result.fits, chooser.budget_result.metrics_ok) == (True, False)

    def test_summary_lists_the_settings_that_pass(self):
        from course_lib.widgets import QuantizationChooser

        chooser = QuantizationChooser(self.results(), max_size_bytes=100 * 1024)
        assert "pass both checks: float16." in chooser.summary.value

    def test_accepts_a_report(self):
        from course_lib.tfjs import QuantizationReport
        from course_lib.widgets import QuantizationChooser

        report = QuantizationReport(results=tuple(self.results()), conversions=(),
                                    max_size_bytes=100 * 1024, reference_seconds=None)
        assert QuantizationChooser(report).choice.options == ("float32", "float16", "uint8")

    def test_other_input_is_refused(self):
        from course_lib.widgets import QuantizationChooser

        with pytest.raises(InvalidInputError, match="QuantizationReport or a list of Parity"):
            QuantizationChooser([self.SOURCE])

    @pytest.mark.parametrize("budget", [0, 4 * 1024, 10_000 * 1024, 50.5 * 1024, True, 100_000])
    def test_budget_outside_the_slider_is_refused(self, budget):
        from course_lib.widgets import QuantizationChooser

        with pytest.raises(InvalidInputError,
                           match=r"max_size_bytes to be a whole number of KB \(a multiple of 1024 "
                                 r"bytes\) from 5 \* 1024 to"):
            QuantizationChooser(self.results(), max_size_bytes=budget)

    def test_unknown_setting_is_refused(self):
        from course_lib.widgets import QuantizationChooser

        with pytest.raises(InvalidInputError, match="weights among .* found 'int4'"):
            QuantizationChooser(self.results(), weights="int4")

    def test_repr_is_short_and_stable(self):
        from course_lib.widgets import QuantizationChooser

        assert repr(QuantizationChooser(self.results(), max_size_bytes=80 * 1024, weights="uint8")) == \
            "QuantizationChooser(weights='uint8', max_size_bytes=81920)"


class TestDeploymentCostExplorer:
    SEED = {"v1": Metrics.from_counts(tp=80, fp=20, fn=15, tn=85),
            "v2": Metrics.from_counts(tp=85, fp=15, fn=10, tn=90),
            "v3": Metrics.from_counts(tp=80, fp=1, fn=15, tn=104)}

    def test_shows_the_registry_cost_table(self):
        from course_lib.costs import deployment_costs
        from course_lib.widgets import DeploymentCostExplorer

        ex = DeploymentCostExplorer(self.SEED, miss_cost=100, false_alarm_cost=1)
        assert ex.table == deployment_costs(self.SEED, 100, 1)
        assert ex.result.value == ex.table._repr_html_() and "Deploy v2" in ex.result.value

    def test_equal_costs_pick_the_most_accurate_version(self):
        from course_lib.widgets import DeploymentCostExplorer

        ex = DeploymentCostExplorer(self.SEED)
        ex.miss_cost.value = 1.0
        assert ex.table.best == ("v3",) and "Deploy v3" in ex.result.value

    def test_bad_cost_raises(self):
        from course_lib.widgets import DeploymentCostExplorer

        with pytest.raises(InvalidInputError, match="miss_cost to be a cost of 0 or more"):
            DeploymentCostExplorer(self.SEED, miss_cost=-5)

    def test_versions_on_different_rows_raise(self):
        from course_lib.widgets import DeploymentCostExplorer

        with pytest.raises(InvalidInputError, match="same rows"):
            DeploymentCostExplorer({"a": self.SEED["v1"], "b": Metrics.from_counts(tp=1, fp=0, fn=0, tn=1)})

    def test_repr_is_short_and_stable(self):
        from course_lib.widgets import DeploymentCostExplorer

        assert repr(DeploymentCostExplorer(self.SEED)) == \
            "DeploymentCostExplorer(versions=['v1', 'v2', 'v3'], miss_cost=100, false_alarm_cost=1)"
