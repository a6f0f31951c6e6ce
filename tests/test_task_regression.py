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


class TestRegistry:
    """The registry on the diabetes regression: published as a Keras model, then its
    SavedModel again; listed, compared, promoted on RMSE and R², rolled back, verified."""

    @pytest.fixture(scope="class")
    @classmethod
    def published(cls, diabetes, diabetes_model, tmp_path_factory):
        from course_lib.registry import EvalSet, ModelRegistry

        reg = ModelRegistry(tmp_path_factory.mktemp("registry") / "registry")
        test_set = EvalSet("diabetes test", diabetes[1].x, diabetes[1].y)
        v1 = reg.publish(diabetes_model, "diabetes", test_set, notes="keras model")
        reg.publish_saved_model(v1.path, "diabetes", test_set, notes="its SavedModel")
        return reg

    @pytest.fixture
    def reg(self, published, tmp_path):
        import shutil

        from course_lib.registry import ModelRegistry

        shutil.copytree(published.root, tmp_path / "registry")
        return ModelRegistry(tmp_path / "registry")

    def test_the_manifest_records_the_task_and_its_metrics(self, published, diabetes,
                                                           diabetes_model):
        from course_lib.metrics import RegressionMetrics

        v = published.get("diabetes", 1)
        expected = RegressionMetrics.from_predictions(
            diabetes[1].y, diabetes_model.predict(diabetes[1].x, verbose=0))
        assert v.task == "regression" and v.threshold is None
        assert v.metrics.n == 92 and v.metrics.rmse == pytest.approx(expected.rmse, rel=1e-5)

    def test_the_savedmodel_scores_what_the_keras_model_scored(self, published):
        a, b = published.get("diabetes", 1).metrics, published.get("diabetes", 2).metrics
        assert b.rmse == pytest.approx(a.rmse, rel=1e-5) and b.r2 == pytest.approx(a.r2, abs=1e-5)

    def test_the_table_shows_the_errors_and_r2(self, published):
        head, rows = published.table("diabetes").table()
        assert head[3:7] == ("mae", "rmse", "r2", "max_error") and len(rows) == 2

    def test_compare_judges_the_errors(self, published):
        c = published.compare("diabetes", 1, 2)
        assert c.ok and [r.name for r in c.rows] == ["mae", "rmse", "r2", "max_error"]
        assert "no error more than 1% larger" in c.verdict and len(c.plot().ax_.patches) == 6

    def test_promoted_with_a_ceiling_on_rmse_and_a_floor_on_r2(self, reg):
        from course_lib.registry import PromotionPolicy

        result = reg.promote("diabetes", 1, PromotionPolicy(max_rmse=80, min_r2=0.2))
        assert result.applied and reg.aliases("diabetes") == {"production": 1}

    def test_refused_by_a_ceiling_it_does_not_meet(self, reg):
        from course_lib.registry import PromotionPolicy, PromotionRefusedError

        with pytest.raises(PromotionRefusedError, match=r"rmse <= 10 \(rmse [\d.]+ > 10\)"):
            reg.promote("diabetes", 1, PromotionPolicy(max_rmse=10))
        assert reg.aliases("diabetes") == {}

    def test_a_rule_of_a_classifier_is_refused(self, reg):
        from course_lib.registry import PromotionPolicy

        with pytest.raises(InvalidInputError, match="a regression: mae.*found recall >= 0.80"):
            reg.promote("diabetes", 1, PromotionPolicy(min_recall=0.8))

    def test_promote_again_with_a_drop_rule_then_roll_back(self, reg):
        from course_lib.registry import PromotionPolicy

        reg.promote("diabetes", 1)
        reg.promote("diabetes", 2, PromotionPolicy(max_drop=0.01))
        change = reg.rollback("diabetes")
        assert (change.old, change.new) == (2, 1) and reg.aliases("diabetes") == {"production": 1}

    def test_every_version_verifies(self, published):
        assert [r.ok for r in published.verify_all("diabetes")] == [True, True]

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

    def test_convert_records_the_signature(self, web):
        assert [str(t) for t in web.inputs] == ["features: float32 (None, 10)"]
        assert [str(t) for t in web.outputs] == ["output_0: float32 (None, 1)"]

    def test_predict_returns_the_values(self, web, diabetes, diabetes_model):
        from course_lib import tfjs

        x = diabetes[1].x
        out = tfjs.predict(web.path, x)
        assert out.shape == (len(x), 1)
        np.testing.assert_allclose(out, diabetes_model.predict(x, verbose=0), rtol=1e-5, atol=1e-3)

    def test_run_reports_every_row(self, web, diabetes):
        from course_lib import tfjs

        r = tfjs.run(web.path, diabetes[1].x)
        assert r.ok and r.rows == len(diabetes[1].x)

    def test_verify_with_targets_compares_the_regression_metrics(self, web, diabetes,
                                                                 diabetes_model):
        from course_lib import tfjs

        parity = tfjs.verify(web.path, diabetes_model, diabetes[1].x, diabetes[1].y)
        assert parity.ok and parity.task == "regression"
        assert [r.name for r in parity.comparison.rows] == ["mae", "rmse", "r2", "max_error"]

    def test_verify_without_targets_judges_the_largest_difference(self, web, diabetes,
                                                                 diabetes_model):
        from course_lib import tfjs

        parity = tfjs.verify(web.path, diabetes_model, diabetes[1].x)
        (rule,) = parity.agreement
        assert parity.ok and rule.measure == "largest difference"
        assert parity.difference.changed is None
        assert rule.allowed == pytest.approx(0.02 * np.std(diabetes_model.predict(
            diabetes[1].x, verbose=0)), rel=1e-3)

    def test_check_budget_passes(self, web, diabetes, diabetes_model):
        from course_lib import tfjs

        parity = tfjs.verify(web.path, diabetes_model, diabetes[1].x, diabetes[1].y)
        assert tfjs.check_budget(parity).ok

    def test_check_budget_without_targets(self, web, diabetes, diabetes_model):
        from course_lib import tfjs

        decision = tfjs.check_budget(tfjs.verify(web.path, diabetes_model, diabetes[1].x))
        assert decision.ok and decision.reasons[1].startswith("predictions within 0.02")

    def test_compare_quantizations(self, diabetes, diabetes_model, tmp_path):
        from course_lib import tfjs

        report = tfjs.compare_quantizations(diabetes_model, diabetes[1].x, diabetes[1].y, tmp_path,
                                            ["float16"])
        assert report.ok and list(report.table()[0][4:7]) == ["mae", "rmse", "r2"]

    def test_a_decision_threshold_is_refused(self, web, diabetes, diabetes_model):
        from course_lib import tfjs

        with pytest.raises(InvalidInputError, match="threshold only for a binary classifier; "
                           "this model's task is regression: a regression predicts values"):
            tfjs.verify(web.path, diabetes_model, diabetes[1].x, diabetes[1].y, threshold=0.5)


class TestPersistence:
    """Persistence on the diabetes regression (one linear output; its .h5 needs compile=False)."""

    @pytest.fixture(scope="class")
    @classmethod
    def saved(cls, diabetes_model, tmp_path_factory):
        from course_lib import persistence

        root = tmp_path_factory.mktemp("persistence")
        return {fmt: persistence.save(diabetes_model, root / name).path for fmt, name in
                (("keras", "diabetes.keras"), ("savedmodel", "diabetes"), ("h5", "diabetes.h5"))}

    @pytest.fixture(scope="class")
    @classmethod
    def service(cls):
        from course_lib.persistence import ServingProcess

        with ServingProcess() as running:  # one fresh interpreter for the module
            yield running

    @pytest.mark.parametrize("fmt", ["keras", "savedmodel", "h5"])
    def test_every_format_predicts_what_the_model_predicts(
            self, diabetes, diabetes_model, saved, fmt):
        from course_lib import persistence

        x = diabetes[1].x
        loaded = persistence.load(saved[fmt], compile=fmt != "h5")
        np.testing.assert_allclose(loaded.predict(x, verbose=0),
                                   diabetes_model.predict(x, verbose=0), rtol=1e-5)

    def test_the_loaded_model_describes_its_inputs_and_outputs(self, saved):
        from course_lib import persistence

        loaded = persistence.load(saved["savedmodel"])
        assert [str(t) for t in loaded.inputs] == ["features: float32 (None, 10)"]
        assert [str(t) for t in loaded.outputs] == ["output_0: float32 (None, 1)"]

    def test_evaluate_gives_the_task_metrics(self, diabetes, saved):
        from course_lib import persistence

        x, y = diabetes[1].x, diabetes[1].y
        metrics = persistence.load(saved["keras"]).evaluate(x, y)
        assert type(metrics).__name__ == "RegressionMetrics" and metrics.task == "regression"

    def test_roundtrip_with_labels_compares_the_task_metrics(
            self, diabetes, diabetes_model, tmp_path):
        from course_lib import persistence

        x, y = diabetes[1].x, diabetes[1].y
        rt = persistence.roundtrip(diabetes_model, x, y, "savedmodel", directory=tmp_path)
        assert rt.ok, str(rt)
        assert rt.task == "regression"
        assert [r.name for r in rt.comparison.rows] == ["mae", "rmse", "r2", "max_error"]

    def test_roundtrip_without_labels_compares_the_predictions(
            self, diabetes, diabetes_model, tmp_path):
        from course_lib import persistence

        x = diabetes[1].x
        rt = persistence.roundtrip(diabetes_model, x, format="keras", directory=tmp_path)
        assert rt.ok and rt.comparison is None and rt.difference.n_rows == 92
        assert rt.changed is None

    def test_compare_formats_shows_the_task_metrics(self, diabetes, diabetes_model, tmp_path):
        from course_lib import persistence

        x, y = diabetes[1].x, diabetes[1].y
        report = persistence.compare_formats(diabetes_model, x, y, tmp_path, compile=False)
        assert report.ok, str(report)
        assert [r.format for r in report.rows] == ["keras", "savedmodel", "h5"]
        headers = report.table()[0]
        assert all(name in headers for name in ["mae", "rmse", "r2", "max_error"])

    def test_its_h5_needs_compile_false_and_says_so(self, saved):
        from course_lib import persistence
        from course_lib.errors import ModelFileError

        with pytest.raises(ModelFileError, match="loss, metrics, optimizer.*compile=False"):
            persistence.load(saved["h5"])  # loss="mse": Keras 3 cannot read it back from HDF5

    def test_a_serving_process_predicts_what_the_model_predicts(
            self, diabetes, diabetes_model, saved, service):
        x = diabetes[1].x
        np.testing.assert_allclose(service.predict(saved["savedmodel"], x),
                                   diabetes_model.predict(x, verbose=0), rtol=1e-5)

    def test_predict_in_subprocess_carries_the_inputs_and_outputs(
            self, diabetes, diabetes_model, saved, service, monkeypatch):
        import contextlib

        from course_lib import persistence
        from course_lib.persistence import serving

        # the class's one service stands in for the new interpreter (one per test module)
        monkeypatch.setattr(serving, "ServingProcess",
                            lambda *args, **kwargs: contextlib.nullcontext(service))
        x = diabetes[1].x
        np.testing.assert_allclose(persistence.predict_in_subprocess(saved["keras"], x),
                                   diabetes_model.predict(x, verbose=0), rtol=1e-5)

    def test_tf_lite_predicts_what_the_savedmodel_predicts(self, diabetes, saved, tmp_path):
        from course_lib import persistence

        x = diabetes[1].x
        result = persistence.to_tflite(saved["savedmodel"], tmp_path / "m.tflite", x,
                                       task="regression")
        assert result.ok, str(result)
