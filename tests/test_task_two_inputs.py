"""Every helper on a small model of one task (two_inputs): one test class per helper."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.errors import InvalidInputError


class TestRelease:
    """release_check on the functional model with two named inputs, fed (dict, y)."""

    @pytest.fixture(scope="class")
    @classmethod
    def report(cls, two_inputs, two_input_model, tmp_path_factory):
        from course_lib.release import ReleasePolicy, release_check

        return release_check(two_input_model, two_inputs[1], tmp_path_factory.mktemp("rel") / "r",
                             name="cancer", policy=ReleasePolicy(min_recall=0.5))

    def test_every_gate_passes(self, report):
        assert report.ok, str(report)
        assert report.task == "binary" and report.candidate == "cancer"

    def test_parity_gates_report_the_prediction_difference(self, report):
        for gate in report.results[:3] + report.results[4:5]:
            assert "largest prediction difference" in gate.measured
            assert gate.measured.endswith("of 114 rows changed class")

    def test_the_recall_floor_applies(self, report):
        gate = report.results[5]
        assert gate.name == "recall floor" and gate.ok

    def test_a_missing_input_is_refused_before_any_gate(self, two_inputs, two_input_model, tmp_path):
        from course_lib.release import release_check

        x, y = two_inputs[1]
        with pytest.raises(InvalidInputError, match="missing 'worst'"):
            release_check(two_input_model, ({"mean": x["mean"]}, y), tmp_path / "r")
        assert not (tmp_path / "r").exists()


class TestInference:
    """Latency on a dict of inputs; the binary helpers work on its scores."""

    def test_latency_of_every_call_style_on_a_dict(self, two_inputs, two_input_model):
        from course_lib import inference

        x, _y = two_inputs[1]
        report = inference.measure_latency(inference.call_styles(two_input_model), x,
                                           repeats=3, warmup=1)
        assert report.batch_sizes == (1, 10, 100, 114) and len(report.rows) == 8

    def test_the_savedmodel_signature_is_fed_by_input_name(self, two_inputs, two_input_model,
                                                           tmp_path):
        from course_lib import inference, persistence

        persistence.save(two_input_model, tmp_path / "sm")
        styles = inference.call_styles(two_input_model, persistence.load(tmp_path / "sm"))
        x, _y = two_inputs[1]
        batch = {k: v[:4] for k, v in x.items()}
        np.testing.assert_allclose(styles["SavedModel signature"](batch),
                                   two_input_model(batch, training=False), atol=1e-5)

    def test_a_threshold_is_chosen_on_its_scores(self, two_inputs, two_input_model):
        from course_lib.inference import choose_threshold

        x, y = two_inputs[1]
        result = choose_threshold(y, two_input_model.predict(x, verbose=0), min_recall=0.9)
        assert result.ok and result.metrics.recall >= 0.9

    def test_a_cost_curve_is_drawn_on_its_scores(self, two_inputs, two_input_model):
        from course_lib.costs import cost_curve

        x, y = two_inputs[1]
        curve = cost_curve(y, two_input_model.predict(x, verbose=0), miss_cost=50, false_alarm_cost=1)
        assert 0.0 <= curve.best_threshold <= 1.0

    def test_a_feature_profile_asks_for_one_profile_per_input(self, two_inputs):
        from course_lib.inference import FeatureProfile

        x, _y = two_inputs[0]
        with pytest.raises(InvalidInputError, match="one profile per input"):
            FeatureProfile.from_data(x)
        assert all(FeatureProfile.from_data(x[k]).check(two_inputs[1][0][k]).n_rows == 114 for k in x)


class TestRegistry:
    """The registry on the functional model with two named inputs, fed as a dict: published
    as a Keras model, then its SavedModel again; listed, compared, promoted on recall,
    rolled back, verified."""

    @pytest.fixture(scope="class")
    @classmethod
    def published(cls, two_inputs, two_input_model, tmp_path_factory):
        from course_lib.registry import EvalSet, ModelRegistry

        reg = ModelRegistry(tmp_path_factory.mktemp("registry") / "registry")
        x, y = two_inputs[1]
        test_set = EvalSet("cancer test", x, y)
        v1 = reg.publish(two_input_model, "cancer", test_set, notes="keras model")
        reg.publish_saved_model(v1.path, "cancer", test_set, notes="its SavedModel")
        return reg

    @pytest.fixture
    def reg(self, published, tmp_path):
        import shutil

        from course_lib.registry import ModelRegistry

        shutil.copytree(published.root, tmp_path / "registry")
        return ModelRegistry(tmp_path / "registry")

    def test_the_manifest_records_the_task_and_its_metrics(self, published, two_inputs,
                                                           two_input_model):
        from course_lib.metrics import Metrics

        x, y = two_inputs[1]
        v = published.get("cancer", 1)
        assert v.task == "binary" and v.threshold == 0.5 and v.eval_rows == 114
        assert v.metrics == Metrics.from_predictions(y, two_input_model.predict(x, verbose=0))

    def test_the_fingerprint_covers_both_inputs(self, published, two_inputs):
        from course_lib.registry import fingerprint

        x, y = two_inputs[1]
        changed = {"mean": x["mean"], "worst": x["worst"] + 1.0}
        assert published.get("cancer", 1).eval_fingerprint == fingerprint(x, y)
        assert fingerprint(changed, y) != fingerprint(x, y)

    def test_latency_is_measured_on_the_first_row_of_each_input(self, published):
        latency = published.get("cancer", 1).latency
        assert latency["batch_rows"] == 1 and latency["median_ms"] > 0

    def test_the_savedmodel_fed_by_input_name_scores_the_same(self, published):
        assert published.get("cancer", 2).metrics == published.get("cancer", 1).metrics

    def test_the_table_and_compare_show_the_four_metrics_and_counts(self, published):
        assert published.table("cancer").table()[0][3:7] == (
            "accuracy", "precision", "recall", "f1")
        c = published.compare("cancer", 1, 2)
        assert c.ok and "TP" in [r[0] for r in c.table()[1]]

    def test_promoted_with_a_floor_on_recall(self, reg):
        from course_lib.registry import PromotionPolicy

        result = reg.promote("cancer", 1, PromotionPolicy(min_recall=0.5))
        assert result.applied and reg.aliases("cancer") == {"production": 1}

    def test_refused_by_a_floor_it_does_not_meet(self, reg):
        from course_lib.registry import PromotionPolicy, PromotionRefusedError

        with pytest.raises(PromotionRefusedError, match=r"recall >= 1\.00 \(recall 0\.\d+ <"):
            reg.promote("cancer", 1, PromotionPolicy(min_recall=1.0))
        assert reg.aliases("cancer") == {}

    def test_promote_again_with_a_drop_rule_then_roll_back(self, reg):
        from course_lib.registry import PromotionPolicy

        reg.promote("cancer", 1)
        reg.promote("cancer", 2, PromotionPolicy(max_drop=0.01))
        change = reg.rollback("cancer")
        assert (change.old, change.new) == (2, 1) and reg.aliases("cancer") == {"production": 1}

    def test_every_version_verifies(self, published):
        assert [r.ok for r in published.verify_all("cancer")] == [True, True]

    def test_evaluate_feeds_the_dict_to_the_loaded_version(self, published, two_inputs):
        from course_lib.registry import EvalSet

        x, y = two_inputs[1]
        assert published.evaluate("cancer", 2, EvalSet("cancer test", x, y)) == \
            published.get("cancer", 2).metrics


class TestTfjs:
    """TF.js on the functional model with two named inputs, fed as a dict (or a list)."""

    @pytest.fixture(scope="class")
    @classmethod
    def web(cls, two_input_model, tmp_path_factory):
        from course_lib import tfjs

        return tfjs.convert(two_input_model, tmp_path_factory.mktemp("tfjs") / "cancer")

    def test_convert_records_both_inputs_in_the_models_order(self, web):
        assert [str(t) for t in web.inputs] == ["mean: float32 (None, 10)",
                                                "worst: float32 (None, 10)"]
        assert [t.name for t in web.outputs] == ["output_0"]

    def test_predict_takes_the_dict(self, web, two_inputs, two_input_model):
        from course_lib import tfjs

        x = two_inputs[1][0]
        np.testing.assert_allclose(tfjs.predict(web.path, x),
                                   two_input_model.predict(x, verbose=0), atol=1e-5)

    def test_predict_takes_a_list_in_the_models_order(self, web, two_inputs, two_input_model):
        from course_lib import tfjs

        x = two_inputs[1][0]
        np.testing.assert_allclose(tfjs.predict(web.path, [x["mean"], x["worst"]]),
                                   two_input_model.predict(x, verbose=0), atol=1e-5)

    def test_run_reports_every_row(self, web, two_inputs):
        from course_lib import tfjs

        r = tfjs.run(web.path, two_inputs[1][0])
        assert r.ok and r.rows == len(two_inputs[1][1])

    def test_a_missing_input_is_named(self, web, two_inputs):
        from course_lib import tfjs

        with pytest.raises(InvalidInputError, match=r"found 'mean' \(missing 'worst'\)"):
            tfjs.predict(web.path, {"mean": two_inputs[1][0]["mean"]})

    def test_verify_with_labels_compares_the_binary_metrics(self, web, two_inputs,
                                                            two_input_model):
        from course_lib import tfjs

        parity = tfjs.verify(web.path, two_input_model, *two_inputs[1])
        assert parity.ok and parity.task == "binary" and parity.before.recall > 0.8

    def test_verify_without_labels(self, web, two_inputs, two_input_model):
        from course_lib import tfjs

        parity = tfjs.verify(web.path, two_input_model, two_inputs[1][0])
        assert parity.ok and parity.difference.changed == 0 and parity.max_abs_diff < 1e-5

    def test_verify_at_another_threshold(self, web, two_inputs, two_input_model):
        from course_lib import tfjs

        parity = tfjs.verify(web.path, two_input_model, *two_inputs[1], threshold=0.3)
        assert parity.ok and parity.before.threshold == 0.3

    def test_check_budget_passes(self, web, two_inputs, two_input_model):
        from course_lib import tfjs

        assert tfjs.check_budget(tfjs.verify(web.path, two_input_model, *two_inputs[1])).ok

    def test_compare_quantizations(self, two_inputs, two_input_model, tmp_path):
        from course_lib import tfjs

        report = tfjs.compare_quantizations(two_input_model, *two_inputs[1], tmp_path, ["float16"])
        assert report.ok and [t.name for t in report.conversions[0].inputs] == ["mean", "worst"]


class TestPersistence:
    """Persistence on the functional model with two named inputs, fed as a dict."""

    @pytest.fixture(scope="class")
    @classmethod
    def saved(cls, two_input_model, tmp_path_factory):
        from course_lib import persistence

        root = tmp_path_factory.mktemp("persistence")
        return {fmt: persistence.save(two_input_model, root / name).path for fmt, name in
                (("keras", "cancer.keras"), ("savedmodel", "cancer"), ("h5", "cancer.h5"))}

    @pytest.fixture(scope="class")
    @classmethod
    def service(cls):
        from course_lib.persistence import ServingProcess

        with ServingProcess() as running:  # one fresh interpreter for the module
            yield running

    @pytest.mark.parametrize("fmt", ["keras", "savedmodel", "h5"])
    def test_every_format_predicts_what_the_model_predicts(
            self, two_inputs, two_input_model, saved, fmt):
        from course_lib import persistence

        x = two_inputs[1][0]
        loaded = persistence.load(saved[fmt])
        np.testing.assert_allclose(loaded.predict(x, verbose=0),
                                   two_input_model.predict(x, verbose=0), atol=1e-6)

    def test_the_loaded_model_describes_its_inputs_and_outputs(self, saved):
        from course_lib import persistence

        loaded = persistence.load(saved["savedmodel"])
        assert [str(t) for t in loaded.inputs] == ["mean: float32 (None, 10)",
                                                   "worst: float32 (None, 10)"]
        assert [str(t) for t in loaded.outputs] == ["output_0: float32 (None, 1)"]

    def test_evaluate_gives_the_task_metrics(self, two_inputs, saved):
        from course_lib import persistence

        x, y = two_inputs[1]
        metrics = persistence.load(saved["keras"]).evaluate(x, y)
        assert type(metrics).__name__ == "Metrics" and metrics.task == "binary"

    def test_roundtrip_with_labels_compares_the_task_metrics(
            self, two_inputs, two_input_model, tmp_path):
        from course_lib import persistence

        x, y = two_inputs[1]
        rt = persistence.roundtrip(two_input_model, x, y, "savedmodel", directory=tmp_path)
        assert rt.ok, str(rt)
        assert rt.task == "binary"
        assert [r.name for r in rt.comparison.rows] == ["accuracy", "precision", "recall", "f1"]

    def test_roundtrip_without_labels_compares_the_predictions(
            self, two_inputs, two_input_model, tmp_path):
        from course_lib import persistence

        x = two_inputs[1][0]
        rt = persistence.roundtrip(two_input_model, x, format="keras", directory=tmp_path)
        assert rt.ok and rt.comparison is None and rt.difference.n_rows == 114
        assert rt.changed == 0

    def test_compare_formats_shows_the_task_metrics(self, two_inputs, two_input_model, tmp_path):
        from course_lib import persistence

        x, y = two_inputs[1]
        report = persistence.compare_formats(two_input_model, x, y, tmp_path)
        assert report.ok, str(report)
        assert [r.format for r in report.rows] == ["keras", "savedmodel", "h5"]
        headers = report.table()[0]
        assert all(name in headers for name in ["accuracy", "precision", "recall", "f1"])

    def test_a_serving_process_predicts_what_the_model_predicts(
            self, two_inputs, two_input_model, saved, service):
        x = two_inputs[1][0]
        np.testing.assert_allclose(service.predict(saved["savedmodel"], x),
                                   two_input_model.predict(x, verbose=0), atol=1e-6)

    def test_predict_in_subprocess_carries_the_inputs_and_outputs(
            self, two_inputs, two_input_model, saved, service, monkeypatch):
        import contextlib

        from course_lib import persistence
        from course_lib.persistence import serving

        # the class's one service stands in for the new interpreter (one per test module)
        monkeypatch.setattr(serving, "ServingProcess",
                            lambda *args, **kwargs: contextlib.nullcontext(service))
        x = two_inputs[1][0]
        np.testing.assert_allclose(persistence.predict_in_subprocess(saved["keras"], x),
                                   two_input_model.predict(x, verbose=0), atol=1e-6)

    def test_tf_lite_predicts_what_the_savedmodel_predicts(self, two_inputs, saved, tmp_path):
        from course_lib import persistence

        x = two_inputs[1][0]
        result = persistence.to_tflite(saved["savedmodel"], tmp_path / "m.tflite", x,
                                       tolerance=1e-5)
        assert result.ok, str(result)
