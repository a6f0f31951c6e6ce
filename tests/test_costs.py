"""Tests of course_lib.costs: the cost of mistakes at each threshold and for each version."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib._checks import THRESHOLDS
from course_lib.costs import CostCurve, cost_curve, metrics_at_thresholds
from course_lib.errors import InvalidInputError
from course_lib.metrics import Metrics


@pytest.fixture(scope="module")
def scored():
    """Seeded labels and probability-like scores with a real but imperfect signal."""
    rng = np.random.default_rng(11)
    y = (rng.random(2000) < 0.05).astype(np.int64)
    scores = np.clip(0.3 * y + rng.beta(2, 6, 2000), 0.0, 1.0)
    return y, scores


class TestMetricsAtThresholds:
    def test_each_equals_metrics_from_predictions(self, scored):
        grid = metrics_at_thresholds(*scored)
        assert len(grid) == len(THRESHOLDS)
        for i in (0, 13, 40, 50, 77, 100):
            assert grid[i] == Metrics.from_predictions(*scored, THRESHOLDS[i])

    def test_custom_grid_is_sorted_and_deduplicated(self):
        grid = metrics_at_thresholds([0, 1, 1], [0.2, 0.5, 0.9], [1.0, 0.1, 0.6, 0.6])
        assert [m.tp for m in grid] == [2, 1, 0]

    def test_bad_input_raises(self):
        with pytest.raises(InvalidInputError, match="3 labels but 2 scores"):
            metrics_at_thresholds([0, 1, 1], [0.2, 0.9])


class TestCostCurve:
    def test_costs_are_fn_and_fp_weighted(self, scored):
        curve = cost_curve(*scored, miss_cost=100, false_alarm_cost=3)
        i = int(np.flatnonzero(THRESHOLDS == 0.4)[0])
        m = Metrics.from_predictions(*scored, 0.4)
        assert (curve.fn[i], curve.fp[i]) == (m.fn, m.fp)
        assert curve.costs[i] == m.fn * 100 + m.fp * 3
        assert curve.expected_costs[i] == pytest.approx(curve.costs[i] / 2000)

    def test_costs_are_metrics_cost_at_each_threshold(self, scored):
        curve = cost_curve(*scored, miss_cost=100, false_alarm_cost=3)
        expected = [m.cost(miss_cost=100, false_alarm_cost=3) for m in curve.metrics]
        np.testing.assert_array_equal(curve.costs, expected)

    def test_best_threshold_minimises_the_cost(self, scored):
        curve = cost_curve(*scored, miss_cost=100, false_alarm_cost=3)
        by_hand = min(curve.cost_at(t) for t in THRESHOLDS)
        assert curve.best_cost == by_hand == curve.cost_at(curve.best_threshold)
        assert curve.best_metrics == Metrics.from_predictions(*scored, curve.best_threshold)

    def test_ties_go_to_the_highest_threshold(self):
        curve = cost_curve([0, 1], [0.2, 0.8], miss_cost=1, false_alarm_cost=1)
        assert curve.best_threshold == 0.8  # every threshold in (0.2, 0.8] costs 0

    def test_dearer_false_alarms_move_the_best_threshold_up(self, scored):
        cheap = cost_curve(*scored, miss_cost=100, false_alarm_cost=1).best_threshold
        dear = cost_curve(*scored, miss_cost=100, false_alarm_cost=50).best_threshold
        assert dear > cheap

    def test_a_zero_cost_is_allowed(self, scored):
        curve = cost_curve(*scored, miss_cost=1, false_alarm_cost=0)
        assert curve.best_metrics.fn == 0

    def test_custom_thresholds(self, scored):
        curve = cost_curve(*scored, miss_cost=100, false_alarm_cost=3, thresholds=[0.6, 0.3])
        assert curve.thresholds.tolist() == [0.3, 0.6] and curve.best_threshold in (0.3, 0.6)

    def test_describe_compares_with_the_default_threshold(self):
        curve = cost_curve([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], miss_cost=10, false_alarm_cost=1,
                           positive="fraud")
        assert curve.describe().splitlines() == [
            ("cheapest threshold 0.40: 0 missed frauds x 10 + 1 false alarm x 1 = 1 "
             "(0.250 per row)"),
            ("default threshold 0.50: 1 missed fraud x 10 + 1 false alarm x 1 = 11 "
             "(2.750 per row)"),
        ]

    def test_mistakes_are_named_after_the_positive_class(self):
        curve = cost_curve([0, 1], [0.2, 0.8], miss_cost=10, false_alarm_cost=1)
        assert curve.cost_line(0.5).startswith("threshold 0.50: 0 missed positives x 10")

    def test_text_and_html(self, scored):
        curve = cost_curve(*scored, miss_cost=500, false_alarm_cost=2.5, positive="fraud")
        assert str(curve).startswith(
            "costs on 2,000 rows, a missed fraud costing 500 and a false alarm 2.50:")
        assert curve.best_metrics._repr_html_() in curve._repr_html_()

    def test_report_has_a_table_of_the_cheapest_and_default_and_a_verdict(self):
        curve = cost_curve([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], miss_cost=10, false_alarm_cost=1)
        headers, rows = curve.table()
        assert headers[0] == "threshold" and [r[0] for r in rows] == ["cheapest 0.40",
                                                                      "default 0.50"]
        assert rows[1][3:5] == ["1 x 10 + 1 x 1", "11"]
        assert curve.ok is True
        assert curve.verdict == ("cheapest threshold 0.40: total cost 1, "
                                 "against 11 at the default 0.50")
        assert str(curve).splitlines()[-1] == curve.verdict
        assert curve.verdict in curve._repr_html_()

    def test_verdict_when_the_default_is_the_cheapest(self):
        curve = cost_curve([0, 1], [0.1, 0.9], miss_cost=1, false_alarm_cost=1,
                           thresholds=[0.5])
        assert curve.verdict == "cheapest threshold 0.50 (the default): total cost 0"

    def test_repr_is_short(self):
        curve = cost_curve([0, 1], [0.2, 0.8], miss_cost=100, false_alarm_cost=2.5)
        assert repr(curve) == ("CostCurve(n_rows=2, miss_cost=100, false_alarm_cost=2.5, "
                               "best_threshold=0.80)")

    def test_plot_draws_the_expected_cost(self, scored):
        curve = cost_curve(*scored, miss_cost=500, false_alarm_cost=5)
        assert curve.plot() is curve
        line = curve.ax_.get_lines()[0]
        np.testing.assert_allclose(line.get_ydata(), curve.expected_costs)

    def test_plot_draws_into_the_given_axes(self, scored):
        from matplotlib.figure import Figure

        ax = Figure().subplots()
        curve = cost_curve(*scored, miss_cost=500, false_alarm_cost=5)
        assert curve.plot(ax) is curve and curve.ax_ is ax and curve.figure_ is ax.figure
        assert [line.get_label() for line in ax.get_lines()][1:] == [
            f"cheapest {curve.best_threshold:.2f}", "default 0.50"]

    @pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "5", None])
    def test_bad_cost_raises(self, scored, bad):
        with pytest.raises(InvalidInputError, match="false_alarm_cost to be a cost of 0 or more"):
            cost_curve(*scored, miss_cost=500, false_alarm_cost=bad)

    def test_negative_miss_cost_raises(self, scored):
        expected = r"miss_cost to be a cost of 0 or more; found -5"
        with pytest.raises(InvalidInputError, match=expected):
            cost_curve(*scored, miss_cost=-500, false_alarm_cost=5)

    def test_both_costs_zero_raise(self, scored):
        with pytest.raises(InvalidInputError, match="at least one cost above 0"):
            cost_curve(*scored, miss_cost=0, false_alarm_cost=0)

    def test_mismatched_lengths_raise(self):
        with pytest.raises(InvalidInputError, match="3 labels but 2 scores"):
            cost_curve([0, 1, 1], [0.2, 0.9], miss_cost=5, false_alarm_cost=1)

    def test_scores_outside_0_1_raise(self):
        with pytest.raises(InvalidInputError, match="expected scores between 0 and 1"):
            cost_curve([0, 1], [-2.0, 3.0], miss_cost=5, false_alarm_cost=1)

    def test_empty_arrays_raise(self):
        with pytest.raises(InvalidInputError, match="at least one example"):
            cost_curve([], [], miss_cost=5, false_alarm_cost=1)

    def test_the_curve_is_a_report(self):
        from course_lib._display import Report

        assert issubclass(CostCurve, Report)


# -- deployment costs of registry versions (lesson 04) ------------------------------------------

from course_lib.costs import break_even_miss_cost, deployment_costs  # noqa: E402

SEED_V1 = Metrics.from_counts(tp=80, fp=20, fn=15, tn=85)  # the seed's two versions
SEED_V2 = Metrics.from_counts(tp=85, fp=15, fn=10, tn=90)
WORSE_RECALL = Metrics.from_counts(tp=50, fp=2, fn=45, tn=103)  # higher precision, lower recall
MORE_ACCURATE = Metrics.from_counts(tp=80, fp=1, fn=15, tn=104)  # fewer mistakes, lower recall


class TestDeploymentCosts:
    def test_cheapest_version_at_given_costs(self):
        t = deployment_costs({"v1": SEED_V1, "v2": SEED_V2, "v3": MORE_ACCURATE}, 1, 1)
        assert t.best == ("v3",)  # equal costs: fewest mistakes = highest accuracy
        assert deployment_costs({"v2": SEED_V2, "v3": MORE_ACCURATE}, 100, 1).best == ("v2",)

    def test_tie_is_reported(self):
        t = deployment_costs({"a": SEED_V1, "b": SEED_V1}, 3, 1)
        assert t.best == ("a", "b") and "tie" in t.verdict

    def test_the_verdict_writes_costs_as_the_table_does(self):
        t = deployment_costs({"v1": SEED_V1, "v2": SEED_V2}, 1_000_000, 2.5)
        assert "costs 1,000,000, a false alarm 2.50" in t.verdict

    def test_a_fractional_total_is_not_rounded_to_zero(self):
        one_alarm = Metrics.from_counts(tp=1, fp=1, fn=0, tn=1)
        _, rows = deployment_costs({"a": one_alarm}, 1, 0.5).table()
        assert rows[0][4] == "0.50"

    def test_metrics_on_different_rows_refused(self):
        with pytest.raises(InvalidInputError, match="same rows"):
            deployment_costs({"a": SEED_V1, "b": Metrics.from_counts(tp=1, fp=1, fn=1, tn=1)}, 1, 1)

    def test_negative_cost_refused(self):
        with pytest.raises(InvalidInputError, match="miss_cost to be a cost of 0 or more"):
            deployment_costs({"a": SEED_V1}, -1, 1)

    def test_the_registry_re_exports_it(self):
        from course_lib import registry

        assert registry.deployment_costs is deployment_costs


class TestBreakEvenMissCost:
    def test_costs_are_equal_there(self):
        cost = break_even_miss_cost(SEED_V2, WORSE_RECALL)
        at = deployment_costs({"v2": SEED_V2, "v3": WORSE_RECALL}, cost, 1)
        assert at.rows[0].total == pytest.approx(at.rows[1].total)

    def test_none_when_both_miss_as_many(self):
        assert break_even_miss_cost(SEED_V1, SEED_V1) is None


# -- binary classifiers only ------------------------------------------------------------------

_RNG = np.random.default_rng(3)
TEN_CLASS = (_RNG.integers(0, 10, 40), _RNG.dirichlet(np.ones(10), 40))
TARGETS = (np.linspace(25.0, 340.0, 40).round(), np.linspace(30.0, 330.0, 40) + 0.5)


class TestBinaryOnly:
    def test_a_cost_curve_of_a_multiclass_output_names_the_task(self):
        with pytest.raises(InvalidInputError, match="apply to a binary classifier; this is a "
                                                    "10-class output: each kind of mistake"):
            cost_curve(*TEN_CLASS, miss_cost=10, false_alarm_cost=1)

    def test_a_cost_curve_of_regression_targets_says_errors_are_in_their_units(self):
        with pytest.raises(InvalidInputError, match="these are regression targets .*target's units"):
            cost_curve(*TARGETS, miss_cost=10, false_alarm_cost=1)

    def test_counts_at_thresholds_refuse_class_ids_of_ten_classes(self):
        with pytest.raises(InvalidInputError, match="these labels hold 10 classes: the predicted "
                                                    "class is the argmax"):
            metrics_at_thresholds(TEN_CLASS[0], TEN_CLASS[1].argmax(axis=1))

    def test_deployment_costs_refuse_multiclass_metrics(self):
        m = Metrics.from_predictions(*TEN_CLASS)
        with pytest.raises(InvalidInputError, match="found the metrics of a 10-class model for 'v1'"):
            deployment_costs({"v1": m}, 10, 1)

    def test_deployment_costs_refuse_regression_metrics(self):
        with pytest.raises(InvalidInputError, match="found a regression's metrics for 'v1'"):
            deployment_costs({"v1": Metrics.from_predictions(*TARGETS)}, 10, 1)

    def test_break_even_refuses_regression_metrics(self):
        m = Metrics.from_predictions(*TARGETS)
        with pytest.raises(InvalidInputError, match="found a regression's metrics for 'a'"):
            break_even_miss_cost(m, m)

    def test_a_two_column_softmax_is_a_binary_output(self):
        y = np.array([0, 0, 1, 1])
        p = np.array([0.1, 0.6, 0.4, 0.9])
        softmax = np.stack([1 - p, p], axis=1)
        assert cost_curve(y, softmax, miss_cost=10, false_alarm_cost=1).best_threshold == \
            cost_curve(y, p, miss_cost=10, false_alarm_cost=1).best_threshold

    def test_scores_outside_zero_one_are_still_called_scores(self):
        with pytest.raises(InvalidInputError, match="expected scores between 0 and 1"):
            cost_curve([0, 1], [1.5, 0.2], miss_cost=1, false_alarm_cost=1)
