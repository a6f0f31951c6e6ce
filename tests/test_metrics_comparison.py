"""Tests of course_lib.metrics.comparison: compare() for every task, prediction_difference()."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.errors import InvalidInputError
from course_lib.metrics import (
    Comparison,
    Metrics,
    MulticlassMetrics,
    RegressionMetrics,
    compare,
    prediction_difference,
)


class TestCompare:
    before = Metrics.from_counts(tp=40, fp=5, fn=10, tn=45)

    def test_identical_metrics_are_ok(self):
        c = compare(self.before, self.before)
        assert isinstance(c, Comparison) and c.ok and c.failures == ()

    def test_deltas_are_after_minus_before(self):
        after = Metrics.from_counts(tp=35, fp=5, fn=15, tn=45)
        assert compare(self.before, after).row("recall").delta == pytest.approx(-0.1)

    def test_seed_broken_deployment_is_not_ok(self):
        # lesson 01 seed: 90/85/80/82 before loading, 70/60/50 after
        good = Metrics.from_counts(tp=80, fp=14, fn=20, tn=86)
        bad = Metrics.from_counts(tp=50, fp=33, fn=50, tn=67)
        c = compare(good, bad, tolerance=0.01)
        assert not c.ok and {r.name for r in c.failures} == {"accuracy", "precision", "recall", "f1"}

    def test_change_within_tolerance_is_ok(self):
        after = Metrics.from_counts(tp=39, fp=5, fn=11, tn=45)
        assert compare(self.before, after, tolerance=0.02).ok

    def test_change_just_over_tolerance_is_not_ok(self):
        after = Metrics.from_counts(tp=39, fp=5, fn=11, tn=45)
        assert not compare(self.before, after, tolerance=0.01).ok

    def test_tolerance_per_metric(self):
        after = Metrics.from_counts(tp=38, fp=5, fn=12, tn=45)
        c = compare(self.before, after, tolerance={"recall": 0.05, "accuracy": 0.05,
                                                   "precision": 0.05, "f1": 0.05})
        assert c.ok

    def test_subset_of_metrics(self):
        after = Metrics.from_counts(tp=40, fp=20, fn=10, tn=30)
        assert compare(self.before, after, metrics=["recall"]).ok

    def test_negative_tolerance_is_refused(self):
        with pytest.raises(InvalidInputError, match="0 or more"):
            compare(self.before, self.before, tolerance=-0.1)

    def test_non_metrics_value_is_refused(self):
        with pytest.raises(InvalidInputError, match="after to be a metrics value; found dict"):
            compare(self.before, {"accuracy": 0.9})

    def test_unknown_tolerance_key_is_refused(self):
        with pytest.raises(InvalidInputError, match=r"found \['auc'\]"):
            compare(self.before, self.before, tolerance={"auc": 0.1})

    def test_text_table_names_failing_metric(self):
        after = Metrics.from_counts(tp=30, fp=5, fn=20, tn=45)
        text = str(compare(self.before, after, labels=("saved", "loaded")))
        assert "saved" in text and "loaded" in text and "NOT OK: " in text and "recall -0.200" in text

    def test_a_change_too_small_for_three_places_shows_its_digits(self):
        big = Metrics.from_counts(tp=50, fp=676, fn=4, tn=3271)
        one_miss = Metrics.from_counts(tp=49, fp=676, fn=5, tn=3271)  # accuracy -1/4,001
        _, rows = compare(big, one_miss).table()
        assert {r[0]: r[3] for r in rows}["accuracy"] == "-0.0002"

    def test_float_noise_shows_plus_zero(self):
        from course_lib.metrics import MetricDelta

        assert MetricDelta("loss", 0.174, 0.174 - 2.2e-8, 0.01).cells()[3] == "+0.000"

    def test_an_unchanged_metric_shows_plus_zero(self):
        _, rows = compare(self.before, self.before).table()
        assert {r[3] for r in rows} == {"+0.000"}

    def test_html_table_has_verdict(self):
        page = compare(self.before, self.before)._repr_html_()
        assert "<table" in page and "OK: every metric within 0.01" in page


class TestCompareArguments:
    m = Metrics.from_counts(tp=1, fp=1, fn=1, tn=1)

    def test_empty_metric_list_is_refused(self):
        with pytest.raises(InvalidInputError, match="at least one metric name"):
            compare(self.m, self.m, metrics=[])

    def test_numpy_tolerance_is_accepted(self):
        assert compare(self.m, self.m, tolerance=np.float32(0.01)).ok

    def test_labels_must_be_two(self):
        with pytest.raises(InvalidInputError, match="two labels"):
            compare(self.m, self.m, labels=("a",))

    def test_infinite_score_is_refused(self):
        with pytest.raises(InvalidInputError, match="1 infinite"):
            Metrics.from_predictions([0, 1], [0.1, float("inf")])

    def test_same_matrix_is_equal_whatever_the_threshold(self):
        assert Metrics.from_predictions([1, 0], [0.9, 0.1]) == Metrics.from_counts(tp=1, fp=0, fn=0, tn=1)


class TestCompareTasks:
    def test_multiclass_compares_macro_metrics(self):
        a = MulticlassMetrics.from_predictions([0, 1, 2, 2], [0, 1, 2, 2])
        b = MulticlassMetrics.from_predictions([0, 1, 2, 2], [0, 1, 1, 2])
        assert [r.name for r in compare(a, b).failures] == ["accuracy", "precision", "recall", "f1"]

    def test_regression_tolerance_is_relative_to_the_error(self):
        y = np.arange(1.0, 6.0)
        a = RegressionMetrics.from_predictions(y, y + 0.5)
        b = RegressionMetrics.from_predictions(y, y + 0.504)
        assert compare(a, b, tolerance=0.01).ok

    def test_regression_change_beyond_one_percent_fails(self):
        a = RegressionMetrics.from_predictions([1.0, 2.0], [1.5, 2.5])
        b = RegressionMetrics.from_predictions([1.0, 2.0], [1.6, 2.6])
        assert not compare(a, b, tolerance=0.01).ok

    def test_different_tasks_are_refused(self):
        a = Metrics.from_counts(tp=1, fp=1, fn=1, tn=1)
        b = RegressionMetrics.from_predictions([1.0, 2.0], [1.0, 2.0])
        with pytest.raises(InvalidInputError, match="same task; found binary before and regression after"):
            compare(a, b)

    def test_different_classes_are_refused(self):
        a = MulticlassMetrics.from_predictions(["a", "b", "c"], [0, 1, 2])
        b = MulticlassMetrics.from_predictions(["a", "b", "d"], [0, 1, 2])
        with pytest.raises(InvalidInputError, match="the same classes before and after"):
            compare(a, b)


class TestPredictionDifference:
    def test_identical_outputs_are_ok(self):
        assert prediction_difference(np.ones((3, 2)) / 2, np.ones((3, 2)) / 2).ok

    def test_reports_the_largest_difference(self):
        assert prediction_difference([0.1, 0.5], [0.1, 0.7]).max_abs_diff == pytest.approx(0.2)

    def test_counts_rows_whose_binary_class_changed(self):
        d = prediction_difference([0.1, 0.49, 0.9], [0.1, 0.51, 0.9])
        assert (d.changed, round(d.changed_share, 3)) == (1, 0.333)

    def test_counts_rows_whose_argmax_changed(self):
        d = prediction_difference([[0.6, 0.4], [0.2, 0.8]], [[0.4, 0.6], [0.2, 0.8]])
        assert d.changed == 1

    def test_regression_has_no_class(self):
        assert prediction_difference([10.0, 20.0], [10.0, 20.5], task="regression").changed is None

    def test_several_outputs_as_a_dict(self):
        d = prediction_difference({"a": np.zeros((2, 1)), "b": np.ones((2, 3))},
                                  {"a": np.zeros((2, 1)), "b": np.ones((2, 3)) * 1.1})
        assert d.max_abs_diff == pytest.approx(0.1)

    def test_shapes_must_match(self):
        with pytest.raises(InvalidInputError, match=r"the same shape, rows first; found \(2,\) before and \(3,\)"):
            prediction_difference([0.1, 0.2], [0.1, 0.2, 0.3])

    def test_different_outputs_are_refused(self):
        with pytest.raises(InvalidInputError, match="the same outputs before and after"):
            prediction_difference({"a": [1.0]}, {"b": [1.0]})


class TestCompareLoss:
    def test_loss_is_compared_when_both_sides_have_one(self):
        a = Metrics.from_predictions([0, 1, 1], [0.1, 0.8, 0.6], loss=0.30)
        b = Metrics.from_predictions([0, 1, 1], [0.1, 0.8, 0.6], loss=0.35)
        c = compare(a, b, tolerance=0.01)
        assert [r.name for r in c.failures] == ["loss"]

    def test_loss_on_one_side_only_is_not_compared(self):
        a = Metrics.from_predictions([0, 1, 1], [0.1, 0.8, 0.6], loss=0.30)
        b = Metrics.from_predictions([0, 1, 1], [0.1, 0.8, 0.6])
        assert "loss" not in [r.name for r in compare(a, b).rows]

    def test_a_loss_above_1_is_allowed_a_relative_change(self):
        a = Metrics.from_predictions([0, 1, 1], [0.1, 0.8, 0.6], loss=2.0)
        b = Metrics.from_predictions([0, 1, 1], [0.1, 0.8, 0.6], loss=2.015)
        row = compare(a, b, tolerance=0.01).row("loss")
        assert row.ok and row.tolerance == pytest.approx(0.02)

    def test_a_loss_tolerance_given_by_name_is_absolute(self):
        a = Metrics.from_predictions([0, 1, 1], [0.1, 0.8, 0.6], loss=2.0)
        b = Metrics.from_predictions([0, 1, 1], [0.1, 0.8, 0.6], loss=2.015)
        assert compare(a, b, tolerance={"loss": 0.01}).failures[0].name == "loss"
