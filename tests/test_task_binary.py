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


class TestRegistry:
    """The registry on the fraud model (2-D rows, one input), as lesson 04 uses it: published
    as a Keras model, then its SavedModel again; listed, compared, promoted on recall,
    rolled back, verified."""

    @pytest.fixture(scope="class")
    @classmethod
    def published(cls, fraud, fraud_model, tmp_path_factory):
        from course_lib.registry import EvalSet, ModelRegistry

        reg = ModelRegistry(tmp_path_factory.mktemp("registry") / "registry")
        test_set = EvalSet("fraud test", fraud.test.x, fraud.test.y)
        v1 = reg.publish(fraud_model, "fraud", test_set, notes="keras model")
        reg.publish_saved_model(v1.path, "fraud", test_set, notes="its SavedModel")
        return reg

    @pytest.fixture
    def reg(self, published, tmp_path):
        import shutil

        from course_lib.registry import ModelRegistry

        shutil.copytree(published.root, tmp_path / "registry")
        return ModelRegistry(tmp_path / "registry")

    def test_the_manifest_records_the_task_and_the_counts(self, published, fraud, fraud_model):
        import json

        from course_lib.metrics import Metrics
        from course_lib.registry import MANIFEST_NAME

        v = published.get("fraud", 1)
        scores = fraud_model.predict(fraud.test.x, verbose=0)
        assert v.task == "binary" and v.metrics == Metrics.from_predictions(fraud.test.y, scores)
        evaluation = json.loads((v.path / MANIFEST_NAME).read_text())["evaluation"]
        assert evaluation["task"] == "binary" and evaluation["positives"] == v.metrics.positives
        assert {"tp", "fp", "fn", "tn"} <= set(evaluation["metrics"])

    def test_the_savedmodel_scores_what_the_keras_model_scored(self, published):
        assert published.get("fraud", 2).metrics == published.get("fraud", 1).metrics

    def test_the_table_and_compare_show_the_four_metrics_and_counts(self, published):
        assert published.table("fraud").table()[0] == published.table("fraud").HEAD
        c = published.compare("fraud", 1, 2)
        assert c.ok and [r[0] for r in c.table()[1][:8]] == [
            "accuracy", "precision", "recall", "f1", "TP", "FP", "FN", "TN"]

    def test_promoted_with_the_lessons_options(self, reg):
        from course_lib.registry import PromotionPolicy

        result = reg.promote("fraud", 1, PromotionPolicy(min_accuracy=0.5, max_size_bytes=10**7))
        assert result.applied and reg.aliases("fraud") == {"production": 1}

    def test_refused_by_a_recall_floor_it_does_not_meet(self, reg):
        from course_lib.registry import PromotionPolicy, PromotionRefusedError

        with pytest.raises(PromotionRefusedError, match=r"recall >= 0\.99 \(recall 0\.\d+ <"):
            reg.promote("fraud", 1, PromotionPolicy(min_recall=0.99))
        assert reg.aliases("fraud") == {}

    def test_a_rule_of_a_multiclass_model_is_refused(self, reg):
        from course_lib.registry import PromotionPolicy

        with pytest.raises(InvalidInputError, match="found macro_f1 >= 0.80.*min_f1=0.8"):
            reg.promote("fraud", 1, PromotionPolicy(min_macro_f1=0.8))

    def test_promote_again_with_a_drop_rule_then_roll_back(self, reg):
        from course_lib.registry import PromotionPolicy

        reg.promote("fraud", 1)
        reg.promote("fraud", 2, PromotionPolicy(max_drop=0.01))
        change = reg.rollback("fraud")
        assert (change.old, change.new) == (2, 1) and reg.aliases("fraud") == {"production": 1}

    def test_every_version_verifies(self, published):
        assert [r.ok for r in published.verify_all("fraud")] == [True, True]

    def test_costs_of_the_versions(self, published):
        from course_lib.registry import deployment_costs

        costs = deployment_costs(published.metrics("fraud"), miss_cost=10, false_alarm_cost=1)
        assert [row.label for row in costs.rows] == ["version 1", "version 2"]


class TestTfjs:
    """TF.js on the fraud model: tabular rows in, one probability out."""

    @pytest.fixture(scope="class")
    @classmethod
    def web(cls, fraud_model, tmp_path_factory):
        from course_lib import tfjs

        return tfjs.convert(fraud_model, tmp_path_factory.mktemp("tfjs") / "fraud")

    def test_convert_records_the_signature(self, web, fraud):
        columns = fraud.test.x.shape[1]
        assert [str(t) for t in web.inputs] == [f"features: float32 (None, {columns})"]
        assert [str(t) for t in web.outputs] == ["output_0: float32 (None, 1)"]

    def test_predict_returns_one_probability_per_row(self, web, fraud, fraud_model):
        from course_lib import tfjs

        out = tfjs.predict(web.path, fraud.test.x)
        assert out.shape == (len(fraud.test.y), 1)
        np.testing.assert_allclose(out, fraud_model.predict(fraud.test.x, verbose=0), atol=1e-5)

    def test_run_reports_every_row(self, web, fraud):
        from course_lib import tfjs

        r = tfjs.run(web.path, fraud.test.x)
        assert r.ok and r.rows == len(fraud.test.y)

    def test_verify_with_labels_compares_the_binary_metrics(self, web, fraud, fraud_model):
        from course_lib import tfjs

        parity = tfjs.verify(web.path, fraud_model, fraud.test.x, fraud.test.y)
        assert parity.ok and parity.task == "binary"
        assert [r.name for r in parity.comparison.rows] == ["accuracy", "precision", "recall", "f1"]

    def test_verify_without_labels(self, web, fraud, fraud_model):
        from course_lib import tfjs

        parity = tfjs.verify(web.path, fraud_model, fraud.test.x)
        assert parity.ok and parity.difference.changed == 0

    def test_verify_at_another_threshold(self, web, fraud, fraud_model):
        from course_lib import tfjs

        parity = tfjs.verify(web.path, fraud_model, fraud.test.x, fraud.test.y, threshold=0.3)
        assert parity.ok and parity.after.threshold == 0.3

    def test_check_budget_passes(self, web, fraud, fraud_model):
        from course_lib import tfjs

        assert tfjs.check_budget(tfjs.verify(web.path, fraud_model, fraud.test.x, fraud.test.y)).ok

    def test_compare_quantizations(self, fraud, fraud_model, tmp_path):
        from course_lib import tfjs

        report = tfjs.compare_quantizations(fraud_model, fraud.test.x, fraud.test.y, tmp_path,
                                            [None, "float16"])
        assert report.labels == ["float32", "float16"] and report.result("float32").ok


class TestPersistence:
    """Persistence on the fraud model (2-D rows, one sigmoid output)."""

    @pytest.fixture(scope="class")
    @classmethod
    def saved(cls, fraud_model, tmp_path_factory):
        from course_lib import persistence

        root = tmp_path_factory.mktemp("persistence")
        return {fmt: persistence.save(fraud_model, root / name).path for fmt, name in
                (("keras", "fraud.keras"), ("savedmodel", "fraud"), ("h5", "fraud.h5"))}

    @pytest.fixture(scope="class")
    @classmethod
    def service(cls):
        from course_lib.persistence import ServingProcess

        with ServingProcess() as running:  # one fresh interpreter for the module
            yield running

    @pytest.mark.parametrize("fmt", ["keras", "savedmodel", "h5"])
    def test_every_format_predicts_what_the_model_predicts(
            self, fraud, fraud_model, saved, fmt):
        from course_lib import persistence

        x = fraud.test.x
        loaded = persistence.load(saved[fmt])
        np.testing.assert_allclose(loaded.predict(x, verbose=0),
                                   fraud_model.predict(x, verbose=0), atol=1e-6)

    def test_the_loaded_model_describes_its_inputs_and_outputs(self, saved):
        from course_lib import persistence

        loaded = persistence.load(saved["savedmodel"])
        assert [str(t) for t in loaded.inputs] == ["features: float32 (None, 8)"]
        assert [str(t) for t in loaded.outputs] == ["output_0: float32 (None, 1)"]

    def test_evaluate_gives_the_task_metrics(self, fraud, saved):
        from course_lib import persistence

        x, y = fraud.test.x, fraud.test.y
        metrics = persistence.load(saved["keras"]).evaluate(x, y)
        assert type(metrics).__name__ == "Metrics" and metrics.task == "binary"

    def test_roundtrip_with_labels_compares_the_task_metrics(
            self, fraud, fraud_model, tmp_path):
        from course_lib import persistence

        x, y = fraud.test.x, fraud.test.y
        rt = persistence.roundtrip(fraud_model, x, y, "savedmodel", directory=tmp_path)
        assert rt.ok, str(rt)
        assert rt.task == "binary"
        assert [r.name for r in rt.comparison.rows] == ["accuracy", "precision", "recall", "f1"]

    def test_roundtrip_without_labels_compares_the_predictions(
            self, fraud, fraud_model, tmp_path):
        from course_lib import persistence

        x = fraud.test.x
        rt = persistence.roundtrip(fraud_model, x, format="keras", directory=tmp_path)
        assert rt.ok and rt.comparison is None and rt.difference.n_rows == 4001
        assert rt.changed == 0

    def test_compare_formats_shows_the_task_metrics(self, fraud, fraud_model, tmp_path):
        from course_lib import persistence

        x, y = fraud.test.x, fraud.test.y
        report = persistence.compare_formats(fraud_model, x, y, tmp_path)
        assert report.ok, str(report)
        assert [r.format for r in report.rows] == ["keras", "savedmodel", "h5"]
        headers = report.table()[0]
        assert all(name in headers for name in ["accuracy", "precision", "recall", "f1"])

    def test_a_serving_process_predicts_what_the_model_predicts(
            self, fraud, fraud_model, saved, service):
        x = fraud.test.x
        np.testing.assert_allclose(service.predict(saved["savedmodel"], x),
                                   fraud_model.predict(x, verbose=0), atol=1e-6)

    def test_predict_in_subprocess_carries_the_inputs_and_outputs(
            self, fraud, fraud_model, saved, service, monkeypatch):
        import contextlib

        from course_lib import persistence
        from course_lib.persistence import serving

        # the class's one service stands in for the new interpreter (one per test module)
        monkeypatch.setattr(serving, "ServingProcess",
                            lambda *args, **kwargs: contextlib.nullcontext(service))
        x = fraud.test.x
        np.testing.assert_allclose(persistence.predict_in_subprocess(saved["keras"], x),
                                   fraud_model.predict(x, verbose=0), atol=1e-6)

    def test_tf_lite_predicts_what_the_savedmodel_predicts(self, fraud, saved, tmp_path):
        from course_lib import persistence

        x = fraud.test.x
        result = persistence.to_tflite(saved["savedmodel"], tmp_path / "m.tflite", x[:200],
                                       tolerance=1e-5)
        assert result.ok, str(result)
