"""Every helper on a small model of one task (multiclass): one test class per helper."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.errors import InvalidInputError


class TestRelease:
    """release_check on the 10-class Conv2D (images (n, 8, 8, 1)), with (x, y) of the test rows."""

    @pytest.fixture(scope="class")
    @classmethod
    def report(cls, digits, digits_model, tmp_path_factory):
        from course_lib.release import ReleasePolicy, release_check

        policy = ReleasePolicy(min_macro_f1=0.5, min_accuracy=0.999)
        _train, test = digits
        return release_check(digits_model, (test.x, test.y), tmp_path_factory.mktemp("rel") / "r",
                             policy=policy)

    def test_the_task_is_read_from_labels_and_output(self, report):
        assert report.task == "multiclass" and report.candidate == "digits"

    def test_every_parity_gate_passes_and_counts_changed_classes(self, report):
        for gate in report.results[:5]:
            assert gate.ok, (gate.name, gate.detail)
        assert report.results[0].measured.endswith("0 of 397 rows changed class")

    def test_the_quality_gate_holds_the_multiclass_rules(self, report):
        gate = report.results[5]
        assert gate.name == "macro F1 and accuracy floors" and gate.limit == ">= 0.50, >= 1.00"
        assert not gate.ok and gate.measured.startswith("macro F1 0.")

    def test_the_report_fails_only_on_its_quality_rule(self, report):
        assert [g.name for g in report.failures] == ["macro F1 and accuracy floors"]

    def test_the_registry_records_the_multiclass_metrics(self, report):
        assert report.results[3].ok and report.metrics.task == "multiclass"

    def test_a_binary_threshold_is_refused(self, digits, digits_model, tmp_path):
        from course_lib.release import ReleasePolicy, release_check

        with pytest.raises(InvalidInputError, match="no decision threshold for a multi-class model"):
            release_check(digits_model, digits[1], tmp_path, policy=ReleasePolicy(threshold=0.3))


class TestInference:
    """Latency of the image model, and the binary-only helpers refused clearly."""

    def test_latency_of_every_call_style_with_capped_batch_sizes(self, digits, digits_model):
        from course_lib import inference

        report = inference.measure_latency(inference.call_styles(digits_model), digits[1].x,
                                           repeats=3, warmup=1)
        assert report.batch_sizes == (1, 10, 100, 397) and "capped" in report.verdict
        assert len(report.rows) == 8

    def test_the_savedmodel_signature_gives_the_model_output(self, digits, digits_model, tmp_path):
        from course_lib import inference, persistence

        persistence.save(digits_model, tmp_path / "sm")
        styles = inference.call_styles(digits_model, persistence.load(tmp_path / "sm"))
        batch = digits[1].x[:5]
        np.testing.assert_allclose(styles["SavedModel signature"](batch),
                                   digits_model(batch, training=False), atol=1e-5)

    def test_choosing_a_threshold_says_the_class_is_the_argmax(self, digits, digits_model):
        from course_lib.inference import choose_threshold

        scores = digits_model.predict(digits[1].x, verbose=0)
        with pytest.raises(InvalidInputError, match="this is a 10-class output: the predicted "
                                                    "class is the argmax"):
            choose_threshold(digits[1].y, scores, min_recall=0.9)

    def test_grading_a_threshold_is_refused(self, digits, digits_model):
        from course_lib.inference import check_threshold

        scores = digits_model.predict(digits[1].x, verbose=0)
        with pytest.raises(InvalidInputError, match="10-class output"):
            check_threshold(digits[1].y, scores, 0.5, min_recall=0.9)

    def test_a_cost_curve_is_refused(self, digits, digits_model):
        from course_lib.costs import cost_curve

        scores = digits_model.predict(digits[1].x, verbose=0)
        with pytest.raises(InvalidInputError, match="costs of missed positives and false alarms "
                                                    "apply to a binary classifier"):
            cost_curve(digits[1].y, scores, miss_cost=10, false_alarm_cost=1)

    def test_deployment_costs_refuse_its_metrics(self, digits, digits_model):
        from course_lib.costs import deployment_costs
        from course_lib.metrics import Metrics

        m = Metrics.from_predictions(digits[1].y, digits_model.predict(digits[1].x, verbose=0))
        with pytest.raises(InvalidInputError, match="the metrics of a 10-class model"):
            deployment_costs({"v1": m}, 10, 1)

    def test_a_feature_profile_of_images_is_refused(self, digits):
        from course_lib.inference import FeatureProfile

        with pytest.raises(InvalidInputError, match="images or sequences"):
            FeatureProfile.from_data(digits[0].x)


class TestRegistry:
    """The registry on the 10-class Conv2D (images (n, 8, 8, 1)): published as a Keras model,
    then its SavedModel again; listed, compared, promoted on macro F1, rolled back, verified."""

    @pytest.fixture(scope="class")
    @classmethod
    def published(cls, digits, digits_model, tmp_path_factory):
        from course_lib.registry import EvalSet, ModelRegistry

        reg = ModelRegistry(tmp_path_factory.mktemp("registry") / "registry")
        test_set = EvalSet("digits test", digits[1].x, digits[1].y)
        v1 = reg.publish(digits_model, "digits", test_set, notes="keras model")
        reg.publish_saved_model(v1.path, "digits", test_set, notes="its SavedModel")
        return reg

    @pytest.fixture
    def reg(self, published, tmp_path):
        import shutil

        from course_lib.registry import ModelRegistry

        shutil.copytree(published.root, tmp_path / "registry")
        return ModelRegistry(tmp_path / "registry")

    def test_the_manifest_records_the_task_and_its_metrics(self, published, digits, digits_model):
        from course_lib.metrics import Metrics, MulticlassMetrics

        v = published.get("digits", 1)
        expected = Metrics.from_predictions(digits[1].y, digits_model.predict(digits[1].x, verbose=0))
        assert isinstance(v.metrics, MulticlassMetrics) and v.metrics == expected
        assert v.task == "multiclass" and v.threshold is None
        assert v.metrics.confusion_matrix.shape == (10, 10)

    def test_the_savedmodel_scores_what_the_keras_model_scored(self, published):
        assert published.get("digits", 2).metrics == published.get("digits", 1).metrics

    def test_the_table_shows_accuracy_and_macro_averages(self, published):
        head, rows = published.table("digits").table()
        assert head[3:7] == ("accuracy", "precision", "recall", "f1") and len(rows) == 2

    def test_compare_shows_the_macro_averages(self, published):
        c = published.compare("digits", 1, 2)
        assert c.ok and [r[0] for r in c.table()[1][:4]] == [
            "accuracy", "macro precision", "macro recall", "macro f1"]
        assert c.plot().ax_.child_axes[0].get_title().startswith("version 1")

    def test_promoted_with_a_floor_on_macro_f1(self, reg):
        from course_lib.registry import PromotionPolicy

        result = reg.promote("digits", 1, PromotionPolicy(min_macro_f1=0.5))
        assert result.applied and reg.aliases("digits") == {"production": 1}

    def test_refused_by_a_floor_it_does_not_meet(self, reg):
        from course_lib.registry import PromotionPolicy, PromotionRefusedError

        with pytest.raises(PromotionRefusedError, match=r"macro_f1 >= 0\.99 \(macro_f1 0\.\d+ <"):
            reg.promote("digits", 1, PromotionPolicy(min_macro_f1=0.99))
        assert reg.aliases("digits") == {}

    def test_a_rule_of_a_regression_is_refused(self, reg):
        from course_lib.registry import PromotionPolicy

        with pytest.raises(InvalidInputError, match="a multi-class classifier.*found rmse <= 60"):
            reg.promote("digits", 1, PromotionPolicy(max_rmse=60))

    def test_promote_again_with_a_drop_rule_then_roll_back(self, reg):
        from course_lib.registry import PromotionPolicy

        reg.promote("digits", 1)
        reg.promote("digits", 2, PromotionPolicy(max_drop=0.01))
        change = reg.rollback("digits")
        assert (change.old, change.new) == (2, 1) and reg.aliases("digits") == {"production": 1}

    def test_every_version_verifies(self, published):
        assert [r.ok for r in published.verify_all("digits")] == [True, True]

    def test_evaluate_loads_the_version_and_measures_it_again(self, published, digits):
        from course_lib.registry import EvalSet

        again = published.evaluate("digits", 2, EvalSet("digits test", digits[1].x, digits[1].y))
        assert again == published.get("digits", 2).metrics

    def test_costs_of_mistakes_are_for_binary_classifiers(self, published):
        from course_lib.registry import deployment_costs

        with pytest.raises(InvalidInputError, match="binary classifier; found the metrics of a 10-class"):
            deployment_costs(published.metrics("digits"), miss_cost=10, false_alarm_cost=1)


class TestTfjs:
    """TF.js on the 10-class Conv2D: images (n, 8, 8, 1) in, ten probabilities out."""

    @pytest.fixture(scope="class")
    @classmethod
    def web(cls, digits_model, tmp_path_factory):
        from course_lib import tfjs

        return tfjs.convert(digits_model, tmp_path_factory.mktemp("tfjs") / "digits")

    def test_convert_records_the_image_input_and_the_ten_outputs(self, web):
        assert [str(t) for t in web.inputs] == ["pixels: float32 (None, 8, 8, 1)"]
        assert [t.shape for t in web.outputs] == [(None, 10)]
        assert "takes pixels: float32 (n, 8, 8, 1); returns output_0: float32 (n, 10)" in str(web)

    def test_predict_returns_ten_probabilities_per_image(self, web, digits, digits_model):
        from course_lib import tfjs

        x = digits[1].x
        out = tfjs.predict(web.path, x)
        assert out.shape == (397, 10)
        np.testing.assert_allclose(out, digits_model.predict(x, verbose=0), atol=1e-5)

    def test_run_reports_every_row(self, web, digits):
        from course_lib import tfjs

        r = tfjs.run(web.path, digits[1].x)
        assert r.ok and r.rows == 397 and r.predictions.shape == (397, 10)

    def test_a_flattened_image_is_refused_before_node_starts(self, web, digits):
        from course_lib import tfjs

        with pytest.raises(InvalidInputError,
                           match=r"input 'pixels' as a 4-D array \(n, 8, 8, 1\).*"
                                 r"found shape \(397, 64\)"):
            tfjs.predict(web.path, digits[1].x.reshape(397, 64))

    def test_verify_with_labels_compares_the_multiclass_metrics(self, web, digits, digits_model):
        from course_lib import tfjs

        parity = tfjs.verify(web.path, digits_model, digits[1].x, digits[1].y)
        assert parity.ok and parity.task == "multiclass"
        assert type(parity.before).__name__ == "MulticlassMetrics"
        assert parity.verdict.startswith("OK: every metric within 0.02 of source (Python)")

    def test_verify_without_labels_counts_the_rows_that_changed_class(self, web, digits,
                                                                      digits_model):
        from course_lib import tfjs

        parity = tfjs.verify(web.path, digits_model, digits[1].x)
        assert parity.ok and parity.comparison is None and parity.difference.changed == 0
        assert parity.agreement[0].measure == "rows that changed class"

    def test_check_budget_passes(self, web, digits, digits_model):
        from course_lib import tfjs

        decision = tfjs.check_budget(tfjs.verify(web.path, digits_model, digits[1].x, digits[1].y))
        assert decision.ok and decision.reasons[1].startswith("every metric within 0.02")

    def test_compare_quantizations(self, digits, digits_model, tmp_path):
        from course_lib import tfjs

        report = tfjs.compare_quantizations(digits_model, digits[1].x, digits[1].y, tmp_path,
                                            ["float16"])
        assert report.ok and list(report.table()[0][4:7]) == ["accuracy", "precision", "recall"]

    def test_a_decision_threshold_is_refused(self, web, digits, digits_model):
        from course_lib import tfjs

        with pytest.raises(InvalidInputError, match="threshold only for a binary classifier; "
                           "this model's task is multiclass"):
            tfjs.verify(web.path, digits_model, digits[1].x, digits[1].y, threshold=0.3)


class TestPersistence:
    """Persistence on the 10-class Conv2D digits model (4-D images, softmax output)."""

    @pytest.fixture(scope="class")
    @classmethod
    def saved(cls, digits_model, tmp_path_factory):
        from course_lib import persistence

        root = tmp_path_factory.mktemp("persistence")
        return {fmt: persistence.save(digits_model, root / name).path for fmt, name in
                (("keras", "digits.keras"), ("savedmodel", "digits"), ("h5", "digits.h5"))}

    @pytest.fixture(scope="class")
    @classmethod
    def service(cls):
        from course_lib.persistence import ServingProcess

        with ServingProcess() as running:  # one fresh interpreter for the module
            yield running

    @pytest.mark.parametrize("fmt", ["keras", "savedmodel", "h5"])
    def test_every_format_predicts_what_the_model_predicts(
            self, digits, digits_model, saved, fmt):
        from course_lib import persistence

        x = digits[1].x
        loaded = persistence.load(saved[fmt])
        np.testing.assert_allclose(loaded.predict(x, verbose=0),
                                   digits_model.predict(x, verbose=0), atol=1e-6)

    def test_the_loaded_model_describes_its_inputs_and_outputs(self, saved):
        from course_lib import persistence

        loaded = persistence.load(saved["savedmodel"])
        assert [str(t) for t in loaded.inputs] == ["pixels: float32 (None, 8, 8, 1)"]
        assert [str(t) for t in loaded.outputs] == ["output_0: float32 (None, 10)"]

    def test_evaluate_gives_the_task_metrics(self, digits, saved):
        from course_lib import persistence

        x, y = digits[1].x, digits[1].y
        metrics = persistence.load(saved["keras"]).evaluate(x, y)
        assert type(metrics).__name__ == "MulticlassMetrics" and metrics.task == "multiclass"

    def test_roundtrip_with_labels_compares_the_task_metrics(
            self, digits, digits_model, tmp_path):
        from course_lib import persistence

        x, y = digits[1].x, digits[1].y
        rt = persistence.roundtrip(digits_model, x, y, "savedmodel", directory=tmp_path)
        assert rt.ok, str(rt)
        assert rt.task == "multiclass"
        assert [r.name for r in rt.comparison.rows] == ["accuracy", "precision", "recall", "f1"]

    def test_roundtrip_without_labels_compares_the_predictions(
            self, digits, digits_model, tmp_path):
        from course_lib import persistence

        x = digits[1].x
        rt = persistence.roundtrip(digits_model, x, format="keras", directory=tmp_path)
        assert rt.ok and rt.comparison is None and rt.difference.n_rows == 397
        assert rt.changed == 0

    def test_compare_formats_shows_the_task_metrics(self, digits, digits_model, tmp_path):
        from course_lib import persistence

        x, y = digits[1].x, digits[1].y
        report = persistence.compare_formats(digits_model, x, y, tmp_path)
        assert report.ok, str(report)
        assert [r.format for r in report.rows] == ["keras", "savedmodel", "h5"]
        headers = report.table()[0]
        assert all(name in headers for name in ["accuracy", "precision", "recall", "f1"])

    def test_a_serving_process_predicts_what_the_model_predicts(
            self, digits, digits_model, saved, service):
        x = digits[1].x
        np.testing.assert_allclose(service.predict(saved["savedmodel"], x),
                                   digits_model.predict(x, verbose=0), atol=1e-6)

    def test_predict_in_subprocess_carries_the_inputs_and_outputs(
            self, digits, digits_model, saved, service, monkeypatch):
        import contextlib

        from course_lib import persistence
        from course_lib.persistence import serving

        # the class's one service stands in for the new interpreter (one per test module)
        monkeypatch.setattr(serving, "ServingProcess",
                            lambda *args, **kwargs: contextlib.nullcontext(service))
        x = digits[1].x
        np.testing.assert_allclose(persistence.predict_in_subprocess(saved["keras"], x),
                                   digits_model.predict(x, verbose=0), atol=1e-6)

    def test_tf_lite_predicts_what_the_savedmodel_predicts(self, digits, saved, tmp_path):
        from course_lib import persistence

        x = digits[1].x
        result = persistence.to_tflite(saved["savedmodel"], tmp_path / "m.tflite", x[:100],
                                       tolerance=1e-5)
        assert result.ok, str(result)
