"""Every helper on a small model of one task (binary): one test class per helper."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.errors import InvalidInputError


class TestRelease:
    """release_check on the session's fraud model (2-D rows, one input), as lesson 06 calls it."""

    @pytest.fixture(scope="class")
    @classmethod
    def report(cls, fraud, fraud_model, tmp_path_factory):
        from course_lib.release import ReleasePolicy, release_check

        return release_check(fraud_model, fraud, tmp_path_factory.mktemp("rel") / "r",
                             policy=ReleasePolicy(threshold=0.2))

    def test_the_parity_gates_pass_and_report_the_prediction_difference(self, report):
        for gate in report.results[:5]:
            assert gate.ok, (gate.name, gate.detail)
        for gate in report.results[:3] + report.results[4:5]:
            assert "rows changed class" in gate.measured

    def test_the_candidate_is_named_after_the_keras_model(self, report):
        assert report.candidate == "fraud_model" and report.task == "binary"

    def test_the_recall_floor_is_judged_at_the_policys_threshold(self, report):
        gate = report.results[5]
        assert gate.name == "recall floor" and "at threshold 0.20" in gate.measured
        assert report.metrics.threshold == 0.2

    def test_a_regression_rule_is_refused(self, fraud, fraud_model, tmp_path):
        from course_lib.release import ReleasePolicy, release_check

        with pytest.raises(InvalidInputError, match="found max_mae=5.0, a rule for a regression"):
            release_check(fraud_model, fraud, tmp_path, policy=ReleasePolicy(max_mae=5.0))


class TestInference:
    """Latency, thresholds and costs on the binary tabular model."""

    def test_latency_of_every_call_style(self, fraud, fraud_model):
        from course_lib import inference

        report = inference.measure_latency(inference.call_styles(fraud_model), fraud.test.x,
                                           batch_sizes=(1, 100), repeats=3, warmup=1)
        assert report.ok and len(report.rows) == 4

    def test_a_threshold_is_chosen_on_validation_scores(self, fraud, fraud_model):
        from course_lib.inference import choose_threshold

        scores = fraud_model.predict(fraud.val.x, verbose=0)
        assert choose_threshold(fraud.val.y, scores, min_recall=0.8).ok

    def test_a_cost_curve_finds_the_cheapest_threshold(self, fraud, fraud_model):
        from course_lib.costs import cost_curve

        scores = fraud_model.predict(fraud.test.x, verbose=0)
        curve = cost_curve(fraud.test.y, scores, miss_cost=100, false_alarm_cost=1)
        assert curve.best_cost <= curve.cost_at(0.5)

    def test_its_features_are_profiled(self, fraud):
        from course_lib.inference import FeatureProfile

        profile = FeatureProfile.from_data(fraud.train.x, fraud.feature_names)
        assert profile.check(fraud.test.x).ok
