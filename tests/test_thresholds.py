"""Tests of course_lib.inference.thresholds: choosing a threshold for a target, grading a pick."""

from __future__ import annotations

import html

import numpy as np
import pytest

from course_lib.errors import InvalidInputError
from course_lib.inference import (
    THRESHOLDS,
    TargetNotMetError,
    ThresholdResult,
    check_threshold,
    choose_threshold,
)
from course_lib.metrics import Metrics


@pytest.fixture(scope="module")
def scored():
    """Seeded labels and probability-like scores with a real but imperfect signal."""
    rng = np.random.default_rng(11)
    y = (rng.random(2000) < 0.05).astype(np.int64)
    scores = np.clip(0.3 * y + rng.beta(2, 6, 2000), 0.0, 1.0)
    return y, scores


def _brute_force(y, scores, keep, objective):
    """The grid threshold a reader would pick by hand: from_predictions at every candidate."""
    grid = [(t, Metrics.from_predictions(y, scores, t)) for t in THRESHOLDS]
    ok = [(t, m) for t, m in grid if keep(m)]
    return max((objective(m) for _, m in ok), default=None), ok


class TestChooseThreshold:
    def test_recall_target_gives_the_best_precision_that_meets_it(self, scored):
        choice = choose_threshold(*scored, min_recall=0.8)
        best, _ = _brute_force(*scored, lambda m: m.recall >= 0.8, lambda m: m.precision)
        assert choice.ok and choice.metrics.recall >= 0.8
        assert choice.metrics.precision == pytest.approx(best)
        assert choice.optimized == "precision"

    def test_recall_ties_go_to_the_lowest_threshold(self, scored):
        choice = choose_threshold(*scored, min_recall=0.8)
        best, ok = _brute_force(*scored, lambda m: m.recall >= 0.8, lambda m: m.precision)
        assert choice.threshold == min(t for t, m in ok if m.precision == pytest.approx(best))

    def test_precision_target_gives_the_best_recall_that_meets_it(self, scored):
        choice = choose_threshold(*scored, min_precision=0.3)
        best, ok = _brute_force(*scored, lambda m: m.precision >= 0.3, lambda m: m.recall)
        assert choice.metrics.precision >= 0.3 and choice.metrics.recall == pytest.approx(best)
        assert choice.threshold == max(t for t, m in ok if m.recall == pytest.approx(best))

    def test_both_targets_give_the_best_f1(self, scored):
        choice = choose_threshold(*scored, min_recall=0.5, min_precision=0.2)
        best, _ = _brute_force(*scored, lambda m: m.recall >= 0.5 and m.precision >= 0.2,
                               lambda m: m.f1)
        assert choice.optimized == "F1" and choice.metrics.f1 == pytest.approx(best)

    def test_metrics_are_from_predictions_at_the_threshold(self, scored):
        choice = choose_threshold(*scored, min_recall=0.9)
        assert choice.metrics == Metrics.from_predictions(*scored, choice.threshold)
        assert choice.metrics.threshold == choice.threshold

    def test_threshold_is_a_clean_grid_value(self, scored):
        assert choose_threshold(*scored, min_recall=0.9).threshold in THRESHOLDS.tolist()

    def test_custom_candidates(self, scored):
        choice = choose_threshold(*scored, min_recall=0.5, thresholds=[0.25, 0.5])
        assert choice.threshold in (0.25, 0.5)

    def test_keras_shaped_scores_are_accepted(self, scored):
        y, s = scored
        flat = choose_threshold(y, s, min_recall=0.9)
        assert choose_threshold(y, s.reshape(-1, 1), min_recall=0.9) == flat

    def test_unreachable_target_is_not_ok_with_the_reason(self, scored):
        choice = choose_threshold(*scored, min_recall=0.9, min_precision=0.9)
        assert not choice.ok and choice.threshold is None and choice.metrics is None
        assert choice.reason.startswith(
            "no threshold from 0.00 to 1.00 gives recall ≥ 0.90 and precision ≥ 0.90 on these "
            "2,000 rows: where recall is at least 0.90")
        assert "Fix: relax the target" in choice.reason

    def test_unreachable_precision_names_the_highest_reached(self):
        choice = choose_threshold([0, 1, 0, 1], [0.9, 0.8, 0.7, 0.6], min_precision=0.9)
        assert not choice.ok
        assert "the highest precision is 0.500 (at threshold 0.00)" in choice.reason

    def test_unreachable_recall_with_custom_candidates(self):
        choice = choose_threshold([0, 1, 1], [0.1, 0.4, 0.9], min_recall=1.0,
                                  thresholds=[0.5, 0.95])
        assert "the highest recall is 0.500 (at threshold 0.50)" in choice.reason

    def test_no_target_raises(self, scored):
        with pytest.raises(InvalidInputError, match="a target: min_recall, min_precision or both"):
            choose_threshold(*scored)

    @pytest.mark.parametrize("bad", [1.5, -0.1, float("nan"), "0.9", True])
    def test_target_outside_0_1_raises(self, scored, bad):
        with pytest.raises(InvalidInputError, match="min_recall to be a fraction between 0 and 1"):
            choose_threshold(*scored, min_recall=bad)

    def test_empty_arrays_raise(self):
        with pytest.raises(InvalidInputError, match="at least one example"):
            choose_threshold([], [], min_recall=0.9)

    def test_mismatched_lengths_raise(self):
        with pytest.raises(InvalidInputError, match="3 labels but 2 scores"):
            choose_threshold([0, 1, 1], [0.2, 0.9], min_recall=0.9)

    @pytest.mark.parametrize("bad", [[0.2, 1.3], [-0.1, 0.5], [2.0, 85.0]])
    def test_scores_outside_0_1_raise(self, bad):
        with pytest.raises(InvalidInputError, match="expected scores between 0 and 1"):
            choose_threshold([0, 1], bad, min_recall=0.9)

    def test_nan_scores_raise(self):
        with pytest.raises(InvalidInputError, match="NaN"):
            choose_threshold([0, 1], [0.2, float("nan")], min_recall=0.9)

    def test_labels_other_than_0_1_raise(self):
        with pytest.raises(InvalidInputError, match="only 0 and 1"):
            choose_threshold([0, 2], [0.2, 0.9], min_recall=0.9)

    def test_no_positive_example_raises(self):
        with pytest.raises(InvalidInputError, match="at least one positive example"):
            choose_threshold([0, 0, 0], [0.2, 0.9, 0.4], min_precision=0.5)

    @pytest.mark.parametrize("bad", [[], [0.5, 1.5], [float("nan")]])
    def test_bad_candidates_raise(self, scored, bad):
        with pytest.raises(InvalidInputError, match="at least one candidate threshold"):
            choose_threshold(*scored, min_recall=0.5, thresholds=bad)


class TestThresholdResult:
    def test_apply_gives_metrics_on_other_rows(self, scored):
        y, s = scored
        choice = choose_threshold(y[:1000], s[:1000], min_recall=0.8)
        expected = Metrics.from_predictions(y[1000:], s[1000:], choice.threshold)
        assert choice.apply(y[1000:], s[1000:]) == expected

    def test_meets_checks_every_target(self, scored):
        choice = choose_threshold(*scored, min_recall=0.5, min_precision=0.2)
        assert choice.meets(Metrics.from_counts(tp=6, fp=4, fn=4, tn=86))
        assert not choice.meets(Metrics.from_counts(tp=6, fp=30, fn=4, tn=60))

    def test_meets_needs_metrics(self, scored):
        with pytest.raises(InvalidInputError, match="expected a Metrics value"):
            choose_threshold(*scored, min_recall=0.5).meets(0.9)

    def test_unmet_choice_cannot_be_applied(self, scored):
        choice = choose_threshold(*scored, min_recall=0.95, min_precision=0.95)
        with pytest.raises(TargetNotMetError, match="no threshold from 0.00 to 1.00"):
            choice.apply(*scored)

    def test_raise_if_unmet_returns_a_met_choice(self, scored):
        choice = choose_threshold(*scored, min_recall=0.5)
        assert choice.raise_if_unmet() is choice

    def test_text_and_html_say_ok_or_why_not(self, scored):
        met = choose_threshold(*scored, min_recall=0.8)
        unmet = choose_threshold(*scored, min_recall=0.95, min_precision=0.95)
        assert str(met).startswith(
            f"OK: threshold {met.threshold:.2f} gives recall ≥ 0.80 with the best precision")
        assert met.metrics._repr_html_() in met._repr_html_()
        assert str(unmet) == f"NOT MET: {unmet.reason}"
        assert html.escape(f"NOT MET: {unmet.reason}") in unmet._repr_html_()

    def test_report_has_ok_and_verdict(self, scored):
        met = choose_threshold(*scored, min_recall=0.8)
        unmet = choose_threshold(*scored, min_recall=0.95, min_precision=0.95)
        assert (met.ok, unmet.ok) == (True, False)
        assert str(met) == met.verdict and str(unmet) == unmet.verdict
        assert isinstance(met, ThresholdResult) and met.verdict in met._repr_html_()


class TestCheckThreshold:
    def test_the_best_threshold_is_correct(self, scored):
        best = choose_threshold(*scored, min_recall=0.8).threshold
        feedback = check_threshold(*scored, best, min_recall=0.8)
        assert feedback.correct and "with the best precision reachable" in feedback.message

    def test_a_threshold_with_the_same_counts_is_as_good(self):
        y, s = [0, 0, 1, 0, 1, 1], [0.1, 0.3, 0.35, 0.5, 0.7, 0.9]
        assert check_threshold(y, s, 0.51, min_recall=0.6).correct
        assert check_threshold(y, s, "0.69", min_recall=0.6).correct

    def test_below_the_recall_target_says_lower_the_threshold(self, scored):
        feedback = check_threshold(*scored, 0.99, min_recall=0.8)
        assert not feedback.correct
        assert "below the target 0.80: lower the threshold" in feedback.message

    def test_below_the_precision_target_says_raise_the_threshold(self, scored):
        feedback = check_threshold(*scored, 0.0, min_precision=0.3)
        assert "below the target 0.30: raise the threshold" in feedback.message

    def test_meeting_the_target_suboptimally_points_to_the_best(self, scored):
        best = choose_threshold(*scored, min_recall=0.8)
        feedback = check_threshold(*scored, 0.0, min_recall=0.8)
        assert not feedback.correct
        assert f"threshold {best.threshold:.2f} also meets it" in feedback.message

    @pytest.mark.parametrize("answer", ["abc", 1.5, None, True, float("nan")])
    def test_unreadable_answer_is_feedback_not_an_error(self, scored, answer):
        feedback = check_threshold(*scored, answer, min_recall=0.8)
        assert not feedback.correct
        assert feedback.message.startswith("Expected a threshold between 0 and 1")

    def test_unreachable_target_is_explained(self, scored):
        feedback = check_threshold(*scored, 0.5, min_recall=0.95, min_precision=0.95)
        assert not feedback.correct and "No threshold meets the target here" in feedback.message

    def test_feedback_carries_the_question_id(self, scored):
        feedback = check_threshold(*scored, 0.5, min_recall=0.8)
        assert feedback.question_id == "l03-threshold-for-recall"


# -- binary classifiers only ------------------------------------------------------------------

_RNG = np.random.default_rng(5)
TEN_CLASS = (_RNG.integers(0, 10, 40), _RNG.dirichlet(np.ones(10), 40))
TARGETS = (np.linspace(25.0, 340.0, 40).round(), np.linspace(30.0, 330.0, 40) + 0.5)


class TestBinaryOnly:
    def test_choosing_for_a_ten_class_output_says_the_class_is_the_argmax(self):
        with pytest.raises(InvalidInputError, match="a decision threshold applies to a binary "
                           "classifier's score; this is a 10-class output: the predicted class "
                           "is the argmax"):
            choose_threshold(*TEN_CLASS, min_recall=0.8)

    def test_choosing_for_a_regression_says_there_is_no_class(self):
        with pytest.raises(InvalidInputError, match="regression targets .*no class to threshold"):
            choose_threshold(*TARGETS, min_recall=0.8)

    def test_grading_a_pick_for_a_ten_class_output_is_refused(self):
        with pytest.raises(InvalidInputError, match="10-class output"):
            check_threshold(*TEN_CLASS, 0.5, min_recall=0.8)

    def test_grading_a_pick_for_a_regression_is_refused(self):
        with pytest.raises(InvalidInputError, match="regression targets"):
            check_threshold(*TARGETS, 0.5, min_recall=0.8)

    def test_the_refusal_names_what_to_use_instead(self):
        with pytest.raises(InvalidInputError, match=r"Fix: measure the errors with "
                                                    r"Metrics.from_predictions\(y, predictions\)"):
            choose_threshold(*TARGETS, min_recall=0.8)

    def test_a_two_column_softmax_is_read_as_its_positive_column(self):
        y, p = [0, 0, 1, 1], np.array([0.1, 0.4, 0.6, 0.9])
        softmax = np.stack([1 - p, p], axis=1)
        assert choose_threshold(y, softmax, min_recall=1.0).threshold == \
            choose_threshold(y, p, min_recall=1.0).threshold

    def test_zero_one_labels_with_bad_labels_keep_the_label_message(self):
        with pytest.raises(InvalidInputError, match="expected y_true to hold only 0 and 1"):
            choose_threshold([0, 2], [0.1, 0.9], min_recall=0.5)
