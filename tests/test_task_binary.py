"""What only the binary fraud model does (2-D rows, one sigmoid output); what every kind of
model does alike is tested once per model in tests/test_tasks.py."""

from __future__ import annotations

import pytest

from course_lib.errors import InvalidInputError


class TestRelease:
    """release_check on the session's fraud model (2-D rows, one input), as lesson 06 calls it."""

    @pytest.fixture(scope="class")
    @classmethod
    def report(cls, fraud_release):
        """The session's report (the repository's conftest.py), shared with tests/test_tasks.py."""
        return fraud_release

    def test_the_recall_floor_is_judged_at_the_policys_threshold(self, report):
        gate = report.results[5]
        assert gate.name == "recall floor" and "at threshold 0.20" in gate.measured
        assert report.metrics.threshold == 0.2

    def test_a_regression_rule_is_refused(self, fraud, fraud_model, tmp_path):
        from course_lib.release import ReleasePolicy, release_check

        with pytest.raises(InvalidInputError, match="found max_mae=5.0, a rule for a regression"):
            release_check(fraud_model, fraud, tmp_path, policy=ReleasePolicy(max_mae=5.0))


class TestInference:
    """Thresholds, costs and feature profiles on the binary tabular model."""

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


class TestRegistry:
    """The registry on the fraud model, as lesson 04 uses it: published as a Keras model,
    then its SavedModel again."""

    @pytest.fixture(scope="class")
    @classmethod
    def published(cls, fraud, fraud_model, tmp_path_factory):
        from course_lib.registry import EvalSet, ModelRegistry

        reg = ModelRegistry(tmp_path_factory.mktemp("registry") / "registry")
        test_set = EvalSet("fraud test", fraud.test.x, fraud.test.y)
        v1 = reg.publish(fraud_model, "fraud", test_set, notes="keras model")
        reg.publish_saved_model(v1.path, "fraud", test_set, notes="its SavedModel")
        return reg

    def test_the_manifest_records_the_positives_and_the_counts(self, published):
        import json

        from course_lib.registry import MANIFEST_NAME

        v = published.get("fraud", 1)
        evaluation = json.loads((v.path / MANIFEST_NAME).read_text())["evaluation"]
        assert evaluation["task"] == "binary" and evaluation["positives"] == v.metrics.positives
        assert {"tp", "fp", "fn", "tn"} <= set(evaluation["metrics"])

    def test_the_table_has_the_binary_columns(self, published):
        assert published.table("fraud").table()[0] == published.table("fraud").HEAD

    def test_costs_of_the_versions(self, published):
        from course_lib.registry import deployment_costs

        costs = deployment_costs(published.metrics("fraud"), miss_cost=10, false_alarm_cost=1)
        assert [row.label for row in costs.rows] == ["version 1", "version 2"]


class TestTfjs:
    """TF.js on the fraud model: tabular rows in, one probability out."""

    def test_verify_at_another_threshold(self, fraud, fraud_model, tmp_path):
        from course_lib import tfjs

        web = tfjs.convert(fraud_model, tmp_path / "fraud")
        parity = tfjs.verify(web.path, fraud_model, fraud.test.x, fraud.test.y, threshold=0.3)
        assert parity.ok and parity.after.threshold == 0.3

    def test_compare_quantizations_names_each_setting(self, fraud, fraud_model, tmp_path):
        from course_lib import tfjs

        report = tfjs.compare_quantizations(fraud_model, fraud.test.x, fraud.test.y, tmp_path,
                                            [None, "float16"])
        assert report.labels == ["float32", "float16"] and report.result("float32").ok
