"""Tests of course_lib.inference: latency reports, threshold choice, costs, feature checks.

No assertion here depends on how fast anything runs: latency is measured with a
fake clock, and the speed relations the lesson claims are printed by
benchmarks/bench_inference.py.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from course_lib import data, inference
from course_lib.errors import InvalidInputError
from course_lib.inference import (
    THRESHOLDS,
    FeatureMismatchError,
    FeatureProfile,
    LatencyReport,
    LatencyRow,
    TargetNotMetError,
    check_threshold,
    choose_threshold,
    cost_curve,
    measure_latency,
)
from course_lib.metrics import Metrics


class FakeClock:
    """A timer whose successive calls differ by the given steps (cycled)."""

    def __init__(self, *steps: float) -> None:
        self.now, self.steps = 0.0, itertools.cycle(steps)

    def __call__(self) -> float:
        self.now += next(self.steps)
        return self.now


@pytest.fixture
def scored():
    """Seeded labels and probability-like scores with a real but imperfect signal."""
    rng = np.random.default_rng(11)
    y = (rng.random(2000) < 0.05).astype(np.int64)
    scores = np.clip(0.3 * y + rng.beta(2, 6, 2000), 0.0, 1.0)
    return y, scores


@pytest.fixture(scope="module")
def fraud():
    return data.load_fraud()


# -- latency ------------------------------------------------------------------------------------

class TestLatencyRow:
    def test_percentiles_are_numpys(self):
        row = LatencyRow("f", 10, (0.001, 0.002, 0.003, 0.004, 0.010))
        assert row.p50 == pytest.approx(np.percentile(row.seconds, 50))
        assert row.p95 == pytest.approx(np.percentile(row.seconds, 95))

    def test_throughput_is_rows_over_median_time(self):
        row = LatencyRow("f", 250, (0.5, 0.5, 2.0))
        assert row.throughput == pytest.approx(250 / 0.5)

    def test_per_row_and_spread(self):
        row = LatencyRow("f", 4, (0.002, 0.002, 0.004))
        assert row.per_row == pytest.approx(0.0005)
        assert row.spread == pytest.approx(row.p95 / row.p50)


class TestMeasureLatency:
    def test_one_row_per_method_and_batch_size(self):
        report = measure_latency({"a": len, "b": len}, np.zeros((50, 3)), batch_sizes=(1, 10, 50),
                                 repeats=4, warmup=1)
        assert report.methods == ("a", "b")
        assert report.batch_sizes == (1, 10, 50)
        assert [(r.method, r.batch_size) for r in report.rows] == [
            ("a", 1), ("a", 10), ("a", 50), ("b", 1), ("b", 10), ("b", 50)]
        assert all(len(r.seconds) == 4 for r in report.rows)

    def test_a_single_function_is_named_predict(self):
        report = measure_latency(len, np.zeros((5, 2)), batch_sizes=(1,), repeats=3)
        assert report.methods == ("predict",)

    def test_warm_up_calls_come_first_and_are_not_timed(self):
        calls = []
        clock = FakeClock(1.0)
        report = measure_latency(lambda b: calls.append(clock.now), np.zeros((4, 2)),
                                 batch_sizes=(2,), repeats=3, warmup=2, timer=clock)
        assert len(calls) == 2 + 3
        assert calls[:2] == [0.0, 0.0]  # the clock is only read around timed calls
        assert report.warmup == 2 and report.repeats == 3

    def test_batches_are_the_first_rows(self):
        seen = []
        x = np.arange(20.0).reshape(10, 2)
        measure_latency(lambda b: seen.append(b.copy()), x, batch_sizes=(3,), repeats=3, warmup=0)
        np.testing.assert_array_equal(seen[0], x[:3])

    def test_timings_come_from_the_timer(self):
        clock = FakeClock(0.0, 0.002)  # start at t, stop 2 ms later
        report = measure_latency(len, np.zeros((100, 1)), batch_sizes=(1, 100), repeats=5,
                                 timer=clock)
        for r in report.rows:
            assert r.seconds == pytest.approx((0.002,) * 5)
        assert report.row("predict", 100).throughput == pytest.approx(100 / 0.002)

    def test_batch_sizes_are_sorted_and_deduplicated(self):
        report = measure_latency(len, np.zeros((10, 1)), batch_sizes=[10, 1, 10], repeats=3)
        assert report.batch_sizes == (1, 10)

    def test_empty_x_raises(self):
        with pytest.raises(InvalidInputError, match="at least one row"):
            measure_latency(len, np.zeros((0, 8)))

    def test_batch_larger_than_x_raises(self):
        with pytest.raises(InvalidInputError, match="1000 rows for a batch of 1000; found 10"):
            measure_latency(len, np.zeros((10, 8)), batch_sizes=(1, 1000))

    @pytest.mark.parametrize("bad", [0, -5, 1.5, True, "10"])
    def test_bad_batch_size_raises(self, bad):
        with pytest.raises(InvalidInputError, match="batch size to be a whole number of 1 or more"):
            measure_latency(len, np.zeros((10, 8)), batch_sizes=(1, bad))

    @pytest.mark.parametrize("bad", [(), "10", 5])
    def test_batch_sizes_not_a_list_raises(self, bad):
        with pytest.raises(InvalidInputError, match="batch_sizes to be a non-empty list"):
            measure_latency(len, np.zeros((10, 8)), batch_sizes=bad)

    def test_too_few_repeats_raise(self):
        with pytest.raises(InvalidInputError, match="repeats to be a whole number of 3 or more"):
            measure_latency(len, np.zeros((10, 8)), batch_sizes=(1,), repeats=1)

    def test_negative_warmup_raises(self):
        with pytest.raises(InvalidInputError, match="warmup to be a whole number of 0 or more"):
            measure_latency(len, np.zeros((10, 8)), batch_sizes=(1,), warmup=-1)

    def test_not_callable_raises(self):
        with pytest.raises(InvalidInputError, match="expected 'fast' to be a function"):
            measure_latency({"fast": 3}, np.zeros((10, 8)), batch_sizes=(1,))

    def test_empty_mapping_raises(self):
        with pytest.raises(InvalidInputError, match="at least one prediction function"):
            measure_latency({}, np.zeros((10, 8)))

    def test_failing_function_is_reported_with_its_name_and_batch(self):
        def broken(batch):
            raise ValueError("wrong dtype")

        expected = r"'slow' to predict on a batch of shape \(1, 8\).*wrong dtype"
        with pytest.raises(InvalidInputError, match=expected):
            measure_latency({"slow": broken}, np.zeros((10, 8)), batch_sizes=(1,))


@pytest.fixture
def report():
    rows = []
    for method, base in (("predict", 0.050), ("call", 0.002)):
        for b in (1, 100):
            rows.append(LatencyRow(method, b, (base, base, base * 1.5)))
    return LatencyReport(tuple(rows), warmup=3, repeats=3)


class TestLatencyReport:
    def test_row_lookup(self, report):
        assert report.row("call", 100).batch_size == 100

    def test_unknown_row_raises_naming_what_was_measured(self, report):
        expected = r"methods \['predict', 'call'\], batch sizes \[1, 100\]"
        with pytest.raises(InvalidInputError, match=expected):
            report.row("call", 10)

    def test_text_table_has_units_and_every_row(self, report):
        text = str(report)
        assert text.count("\n") == len(report.rows) + 1
        assert "50.00 ms" in text and "2.00 ms" in text and "50,000 rows/s" in text
        assert "3 timed calls per cell after 3 warm-up calls" in text

    def test_repr_is_short(self, report):
        assert repr(report) == ("LatencyReport(methods=['predict', 'call'], batch_sizes=[1, 100], "
                                "repeats=3, warmup=3)")

    def test_html_table_has_every_row(self, report):
        assert report._repr_html_().count("<tr>") == len(report.rows) + 1

    def test_microseconds_are_shown_with_their_unit(self):
        r = LatencyReport((LatencyRow("sig", 1, (0.00019,) * 3),), warmup=0, repeats=3)
        assert "190 µs" in str(r)

    def test_as_dicts(self, report):
        first, row = report.as_dicts()[0], report.rows[0]
        assert first == {"method": "predict", "batch_size": 1, "p50_s": 0.05,
                         "p95_s": pytest.approx(row.p95), "spread": pytest.approx(row.spread),
                         "rows_per_s": pytest.approx(20.0)}

    def test_real_time_verdict_uses_p95_against_the_budget(self, report):
        text = report.real_time_verdict(0.010)
        assert "predict: p95" in text and "too slow" in text.splitlines()[1]
        assert text.splitlines()[2].endswith("fits")

    @pytest.mark.parametrize("bad", [0, -1, float("nan"), "10ms"])
    def test_bad_budget_raises(self, report, bad):
        with pytest.raises(InvalidInputError, match="budget_seconds to be a positive number"):
            report.real_time_verdict(bad)

    def test_plot_has_latency_and_throughput_on_log_axes(self, report):
        fig = report.plot()
        left, right = fig.axes
        assert (left.get_xscale(), left.get_yscale(), right.get_yscale()) == ("log", "log", "log")
        assert [t.get_text() for t in right.get_legend().get_texts()] == ["predict", "call"]
        np.testing.assert_allclose(right.get_lines()[1].get_ydata(),
                                   [report.row("call", b).throughput for b in (1, 100)])


@pytest.fixture(scope="module")
def loaded(fraud, tmp_path_factory):
    """Needs TensorFlow: one small untrained model, saved once (weights do not matter here)."""
    from course_lib import models, persistence

    model = models.build_fraud_model(fraud.train.x)
    folder = tmp_path_factory.mktemp("styles")
    persistence.save(model, folder / "fraud.keras")
    persistence.save(model, folder / "fraud_savedmodel")
    return persistence.load(folder / "fraud.keras"), persistence.load(folder / "fraud_savedmodel")


class TestCallStyles:
    def test_three_styles_with_a_savedmodel(self, loaded):
        assert list(inference.call_styles(*loaded)) == [
            "model.predict", "model(x, training=False)", "SavedModel signature"]

    def test_two_styles_without(self, loaded):
        assert list(inference.call_styles(loaded[0])) == ["model.predict",
                                                          "model(x, training=False)"]

    def test_every_style_gives_the_same_scores(self, loaded, fraud):
        batch = fraud.test.x[:50]
        expected = loaded[0].predict(batch)
        for name, fn in inference.call_styles(*loaded).items():
            out = fn(batch)
            assert isinstance(out, np.ndarray) and out.shape == (50, 1), name
            np.testing.assert_allclose(out, expected, atol=1e-6, err_msg=name)

    def test_a_keras_model_works_as_well_as_a_loaded_one(self, loaded):
        assert list(inference.call_styles(loaded[0].raw)) == ["model.predict",
                                                              "model(x, training=False)"]

    def test_styles_feed_measure_latency(self, loaded, fraud):
        report = measure_latency(inference.call_styles(*loaded), fraud.test.x, batch_sizes=(1, 8),
                                 repeats=3, warmup=1)
        assert len(report.rows) == 6 and all(r.p50 > 0 for r in report.rows)

    def test_not_a_keras_model_raises(self, loaded):
        with pytest.raises(InvalidInputError, match="expected a Keras model"):
            inference.call_styles(loaded[1])

    def test_savedmodel_of_the_wrong_kind_raises(self, loaded):
        with pytest.raises(InvalidInputError, match="savedmodel to be persistence.load"):
            inference.call_styles(loaded[0], loaded[0])


# -- thresholds ----------------------------------------------------------------------------------

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


class TestThresholdChoice:
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
        assert "Target not met." in unmet._repr_html_()


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


# -- costs ----------------------------------------------------------------------------------------

class TestCostCurve:
    def test_costs_are_fn_and_fp_weighted(self, scored):
        curve = cost_curve(*scored, cost_missed_fraud=100, cost_false_alarm=3)
        i = int(np.flatnonzero(THRESHOLDS == 0.4)[0])
        m = Metrics.from_predictions(*scored, 0.4)
        assert (curve.fn[i], curve.fp[i]) == (m.fn, m.fp)
        assert curve.costs[i] == m.fn * 100 + m.fp * 3
        assert curve.expected_costs[i] == pytest.approx(curve.costs[i] / 2000)

    def test_best_threshold_minimises_the_cost(self, scored):
        curve = cost_curve(*scored, cost_missed_fraud=100, cost_false_alarm=3)
        by_hand = min(curve.cost_at(t) for t in THRESHOLDS)
        assert curve.best_cost == by_hand == curve.cost_at(curve.best_threshold)
        assert curve.best_metrics == Metrics.from_predictions(*scored, curve.best_threshold)

    def test_ties_go_to_the_highest_threshold(self):
        curve = cost_curve([0, 1], [0.2, 0.8], cost_missed_fraud=1, cost_false_alarm=1)
        assert curve.best_threshold == 0.8  # every threshold in (0.2, 0.8] costs 0

    def test_dearer_false_alarms_move_the_best_threshold_up(self, scored):
        cheap = cost_curve(*scored, cost_missed_fraud=100, cost_false_alarm=1).best_threshold
        dear = cost_curve(*scored, cost_missed_fraud=100, cost_false_alarm=50).best_threshold
        assert dear > cheap

    def test_a_zero_cost_is_allowed(self, scored):
        curve = cost_curve(*scored, cost_missed_fraud=1, cost_false_alarm=0)
        assert curve.best_metrics.fn == 0

    def test_describe_compares_with_the_default_threshold(self):
        curve = cost_curve([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], cost_missed_fraud=10,
                           cost_false_alarm=1)
        assert curve.describe().splitlines() == [
            ("cheapest threshold 0.40: 0 missed frauds x 10 + 1 false alarm x 1 = 1 "
             "(0.250 per transaction)"),
            ("default threshold 0.50: 1 missed fraud x 10 + 1 false alarm x 1 = 11 "
             "(2.750 per transaction)"),
        ]

    def test_text_and_html(self, scored):
        curve = cost_curve(*scored, cost_missed_fraud=500, cost_false_alarm=2.5)
        assert str(curve).startswith(
            "costs on 2,000 rows, a missed fraud costing 500 and a false alarm 2.50:")
        assert curve.best_metrics._repr_html_() in curve._repr_html_()

    def test_repr_is_short(self):
        curve = cost_curve([0, 1], [0.2, 0.8], cost_missed_fraud=100, cost_false_alarm=2.5)
        assert repr(curve) == ("CostCurve(n_rows=2, cost_missed_fraud=100, cost_false_alarm=2.5, "
                               "best_threshold=0.80)")

    def test_plot_draws_the_expected_cost(self, scored):
        curve = cost_curve(*scored, cost_missed_fraud=500, cost_false_alarm=5)
        line = curve.plot().axes[0].get_lines()[0]
        np.testing.assert_allclose(line.get_ydata(), curve.expected_costs)

    @pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "5", None])
    def test_bad_cost_raises(self, scored, bad):
        with pytest.raises(InvalidInputError, match="cost_false_alarm to be a cost of 0 or more"):
            cost_curve(*scored, cost_missed_fraud=500, cost_false_alarm=bad)

    def test_negative_missed_fraud_cost_raises(self, scored):
        expected = r"cost_missed_fraud to be a cost of 0 or more \(in any currency unit\); found -5"
        with pytest.raises(InvalidInputError, match=expected):
            cost_curve(*scored, cost_missed_fraud=-500, cost_false_alarm=5)

    def test_both_costs_zero_raise(self, scored):
        with pytest.raises(InvalidInputError, match="at least one cost above 0"):
            cost_curve(*scored, cost_missed_fraud=0, cost_false_alarm=0)

    def test_mismatched_lengths_raise(self):
        with pytest.raises(InvalidInputError, match="3 labels but 2 scores"):
            cost_curve([0, 1, 1], [0.2, 0.9], cost_missed_fraud=5, cost_false_alarm=1)

    def test_scores_outside_0_1_raise(self):
        with pytest.raises(InvalidInputError, match="expected scores between 0 and 1"):
            cost_curve([0, 1], [-2.0, 3.0], cost_missed_fraud=5, cost_false_alarm=1)

    def test_empty_arrays_raise(self):
        with pytest.raises(InvalidInputError, match="at least one example"):
            cost_curve([], [], cost_missed_fraud=5, cost_false_alarm=1)


# -- feature checks -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def profile(fraud):
    return FeatureProfile.from_data(fraud.train.x, fraud.feature_names)


class TestFeatureProfile:
    def test_records_training_statistics(self, fraud, profile):
        assert profile.names == fraud.feature_names and profile.n_rows == len(fraud.train)
        np.testing.assert_allclose(profile.mean, fraud.train.x.astype(np.float64).mean(axis=0))
        np.testing.assert_allclose(profile.high, fraud.train.x.max(axis=0))

    def test_default_names(self):
        assert FeatureProfile.from_data(np.zeros((3, 2))).names == ("feature_0", "feature_1")

    def test_wrong_number_of_names_raises(self):
        with pytest.raises(InvalidInputError, match="one unique name per column"):
            FeatureProfile.from_data(np.zeros((3, 2)), ["a"])

    def test_empty_data_raises(self):
        with pytest.raises(InvalidInputError, match="at least one row"):
            FeatureProfile.from_data(np.zeros((0, 2)))


class TestFeatureProfileCheck:
    def test_test_rows_look_like_training_rows(self, fraud, profile):
        check = profile.check(fraud.test.x)
        assert check.ok and check.problems == () and check.verdict.startswith("OK")

    def test_swapped_columns_are_caught_and_named(self, fraud, profile):
        swapped = fraud.test.x[:, [2, 1, 0, 3, 4, 5, 6, 7]]  # amount <-> distance_km
        check = profile.check(swapped)
        assert not check.ok
        assert [(d.name, d.looks_like) for d in check.problems] == [
            ("amount", "distance_km"), ("distance_km", "amount")]
        assert "swapped columns: check the column order" in check.verdict

    def test_swapped_binary_flags_are_caught(self, fraud, profile):
        swapped = fraud.test.x[:, [0, 1, 2, 3, 4, 6, 5, 7]]  # foreign <-> card_present
        problems = profile.check(swapped).problems
        assert [d.looks_like for d in problems] == ["card_present", "foreign"]

    def test_a_changed_unit_is_caught_without_a_lookalike(self, fraud, profile):
        cents = fraud.test.x.copy()
        cents[:, 0] *= 100  # amount in cents instead of euros
        check = profile.check(cents)
        (drift,) = check.problems
        assert drift.name == "amount" and drift.looks_like is None and drift.outside > 0.5
        assert check.verdict == ("NOT OK: amount differs from the training data; "
                                 "check the units and the preprocessing")

    def test_shift_is_in_training_standard_deviations(self):
        p = FeatureProfile.from_data([[0.0], [2.0]] * 20)  # mean 1, std 1
        assert p.check([[3.0], [5.0]] * 20, max_outside=1.0).rows[0].shift == pytest.approx(3.0)

    def test_constant_training_column(self):
        p = FeatureProfile.from_data([[1.0, 0.0], [1.0, 1.0]] * 20)
        assert p.check([[1.0, 0.0], [1.0, 1.0]] * 20).ok
        assert p.check([[2.0, 0.0], [2.0, 1.0]] * 20).problems[0].shift == np.inf

    def test_wrong_number_of_columns_raises(self, fraud, profile):
        with pytest.raises(FeatureMismatchError, match="expected 8 columns .*found 7"):
            profile.check(fraud.test.x[:, :7])

    def test_too_few_rows_raise(self, fraud, profile):
        with pytest.raises(InvalidInputError, match="30 rows to compare statistics; found 1"):
            profile.check(fraud.test.x[:1])

    def test_nan_raises(self, profile):
        x = np.zeros((40, 8))
        x[3, 2] = np.nan
        with pytest.raises(InvalidInputError, match="finite values"):
            profile.check(x)

    @pytest.mark.parametrize("kw", [{"tolerance": 0}, {"max_outside": 2}, {"min_rows": 0}])
    def test_bad_settings_raise(self, fraud, profile, kw):
        with pytest.raises(InvalidInputError, match="expected (tolerance|max_outside|min_rows)"):
            profile.check(fraud.test.x, **kw)

    def test_raise_if_not_ok(self, fraud, profile):
        assert profile.check(fraud.test.x).raise_if_not_ok().ok
        with pytest.raises(FeatureMismatchError, match="amount .looks like distance_km."):
            profile.check(fraud.test.x[:, [2, 1, 0, 3, 4, 5, 6, 7]]).raise_if_not_ok()

    def test_repr_names_the_problems(self, fraud, profile):
        assert repr(profile.check(fraud.test.x[:, [2, 1, 0, 3, 4, 5, 6, 7]])) == \
            "FeatureCheck(ok=False, n_rows=4001, problems=['amount', 'distance_km'])"

    def test_text_and_html_have_a_row_per_feature(self, fraud, profile):
        check = profile.check(fraud.test.x)
        assert len(str(check).splitlines()) == 1 + 8 + 1
        assert check._repr_html_().count("<tr>") == 1 + 8


