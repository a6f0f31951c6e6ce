"""Every helper on a small model of one task (regression): one test class per helper."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.errors import InvalidInputError


class TestRelease:
    """release_check on the diabetes regression, with its test Split."""

    @pytest.fixture(scope="class")
    @classmethod
    def report(cls, diabetes, diabetes_model, tmp_path_factory):
        from course_lib.release import release_check

        return release_check(diabetes_model, diabetes[1], tmp_path_factory.mktemp("rel") / "r")

    def test_the_task_is_regression(self, report):
        assert report.task == "regression" and report.metrics.task == "regression"

    def test_every_parity_gate_passes_on_the_prediction_difference(self, report):
        for gate in report.results[:5]:
            assert gate.ok, (gate.name, gate.detail)
        assert "changed class" not in report.results[0].measured
        assert report.results[0].measured.startswith("largest prediction difference ")

    def test_without_a_rule_the_quality_gate_is_skipped_and_says_why(self, report):
        gate = report.results[5]
        assert gate.skipped and gate.row()[2] == "SKIPPED"
        assert "no quality rule for a regression" in gate.detail and "max_rmse" in gate.detail

    def test_the_verdict_names_the_skipped_gate(self, report):
        assert report.ok and report.verdict.endswith("1 skipped (quality rule)")

    def test_an_rmse_ceiling_is_the_quality_gate(self, diabetes, diabetes_model, tmp_path):
        from course_lib.release import ReleasePolicy, release_check

        report = release_check(diabetes_model, diabetes[1], tmp_path / "r", name="progression",
                               policy=ReleasePolicy(max_rmse=1.0))
        gate = report.results[5]
        assert gate.name == "RMSE ceiling" and gate.limit == "<= 1" and not gate.ok
        assert report.candidate == "progression" and [g.name for g in report.failures] == ["RMSE ceiling"]

    def test_a_recall_floor_is_refused(self, diabetes, diabetes_model, tmp_path):
        from course_lib.release import ReleasePolicy, release_check

        with pytest.raises(InvalidInputError, match="found min_recall=0.9, a rule for a binary"):
            release_check(diabetes_model, diabetes[1], tmp_path, policy=ReleasePolicy(min_recall=0.9))


class TestInference:
    """Latency of the regression model, and the binary-only helpers refused clearly."""

    def test_latency_with_batch_sizes_capped_by_the_test_rows(self, diabetes, diabetes_model):
        from course_lib import inference

        report = inference.measure_latency(inference.call_styles(diabetes_model), diabetes[1].x,
                                           repeats=3, warmup=1)
        assert report.batch_sizes == (1, 10, 92) and "capped at the 92 rows" in report.verdict

    def test_choosing_a_threshold_says_there_is_no_class(self, diabetes, diabetes_model):
        from course_lib.inference import choose_threshold

        pred = diabetes_model.predict(diabetes[1].x, verbose=0)
        with pytest.raises(InvalidInputError, match="these are regression targets .*no class to "
                                                    "threshold"):
            choose_threshold(diabetes[1].y, pred, min_recall=0.9)

    def test_grading_a_threshold_is_refused(self, diabetes, diabetes_model):
        from course_lib.inference import check_threshold

        pred = diabetes_model.predict(diabetes[1].x, verbose=0)
        with pytest.raises(InvalidInputError, match="regression targets"):
            check_threshold(diabetes[1].y, pred, 0.5, min_recall=0.9)

    def test_a_cost_curve_is_refused(self, diabetes, diabetes_model):
        from course_lib.costs import cost_curve

        pred = diabetes_model.predict(diabetes[1].x, verbose=0)
        with pytest.raises(InvalidInputError, match="errors are in the target's units"):
            cost_curve(diabetes[1].y, pred, miss_cost=10, false_alarm_cost=1)

    def test_deployment_costs_refuse_its_metrics(self, diabetes, diabetes_model):
        from course_lib.costs import deployment_costs
        from course_lib.metrics import Metrics

        m = Metrics.from_predictions(diabetes[1].y, diabetes_model.predict(diabetes[1].x, verbose=0))
        with pytest.raises(InvalidInputError, match="found a regression's metrics"):
            deployment_costs({"v1": m}, 10, 1)

    def test_its_tabular_features_can_be_profiled(self, diabetes):
        from course_lib.inference import FeatureProfile

        assert FeatureProfile.from_data(diabetes[0].x).check(diabetes[1].x).n_rows == 92
