"""What only the diabetes regression does (one linear output, errors in the target's units); what
every kind of model does alike, and the binary-only helpers refusing it, are in tests/test_tasks.py."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.errors import InvalidInputError


class TestRelease:
    """release_check on the diabetes regression, with its test Split."""

    @pytest.fixture(scope="class")
    @classmethod
    def report(cls, diabetes_release):
        """The session's report (the repository's conftest.py), shared with tests/test_tasks.py."""
        return diabetes_release

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
    """Its tabular features can be profiled."""

    def test_its_tabular_features_can_be_profiled(self, diabetes):
        from course_lib.inference import FeatureProfile

        assert FeatureProfile.from_data(diabetes[0].x).check(diabetes[1].x).n_rows == 92


class TestRegistry:
    """The registry on the diabetes regression: published as a Keras model, then its
    SavedModel again; compared on its errors."""

    @pytest.fixture(scope="class")
    @classmethod
    def published(cls, diabetes, diabetes_model, tmp_path_factory):
        from course_lib.registry import EvalSet, ModelRegistry

        reg = ModelRegistry(tmp_path_factory.mktemp("registry") / "registry")
        test_set = EvalSet("diabetes test", diabetes[1].x, diabetes[1].y)
        v1 = reg.publish(diabetes_model, "diabetes", test_set, notes="keras model")
        reg.publish_saved_model(v1.path, "diabetes", test_set, notes="its SavedModel")
        return reg

    def test_compare_judges_the_errors(self, published):
        c = published.compare("diabetes", 1, 2)
        assert "no error more than 1% larger" in c.verdict and len(c.plot().ax_.patches) == 6

    def test_costs_of_mistakes_are_for_classifiers(self, published):
        from course_lib.registry import deployment_costs

        with pytest.raises(InvalidInputError, match="regression"):
            deployment_costs(published.metrics("diabetes"), miss_cost=10, false_alarm_cost=1)


class TestTfjs:
    """TF.js on the diabetes regression: ten features in, one value out."""

    @pytest.fixture(scope="class")
    @classmethod
    def web(cls, diabetes_model, tmp_path_factory):
        from course_lib import tfjs

        return tfjs.convert(diabetes_model, tmp_path_factory.mktemp("tfjs") / "diabetes")

    def test_verify_without_targets_allows_a_share_of_the_predictions_spread(
            self, web, diabetes, diabetes_model):
        from course_lib import tfjs

        parity = tfjs.verify(web.path, diabetes_model, diabetes[1].x)
        (rule,) = parity.agreement
        assert rule.measure == "largest difference"
        assert rule.allowed == pytest.approx(0.02 * np.std(diabetes_model.predict(
            diabetes[1].x, verbose=0)), rel=1e-3)

    def test_check_budget_without_targets(self, web, diabetes, diabetes_model):
        from course_lib import tfjs

        decision = tfjs.check_budget(tfjs.verify(web.path, diabetes_model, diabetes[1].x))
        assert decision.ok and decision.reasons[1].startswith("predictions within 0.02")

    def test_a_decision_threshold_is_refused(self, web, diabetes, diabetes_model):
        from course_lib import tfjs

        with pytest.raises(InvalidInputError, match="threshold only for a binary classifier; "
                           "this model's task is regression: a regression predicts values"):
            tfjs.verify(web.path, diabetes_model, diabetes[1].x, diabetes[1].y, threshold=0.5)


class TestPersistence:
    def test_its_h5_needs_compile_false_and_says_so(self, diabetes_model, tmp_path):
        from course_lib import persistence
        from course_lib.errors import ModelFileError

        saved = persistence.save(diabetes_model, tmp_path / "diabetes.h5").path
        with pytest.raises(ModelFileError, match="loss, metrics, optimizer.*compile=False"):
            persistence.load(saved)  # loss="mse": Keras 3 cannot read it back from HDF5
