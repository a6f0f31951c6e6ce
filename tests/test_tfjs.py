"""Tests of course_lib.tfjs: the real tensorflowjs converter and the real TF.js runtime in Node."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from course_lib import _tf, data, models, persistence, tfjs
from course_lib.errors import CourseLibError, InvalidInputError
from course_lib.metrics import Metrics
from course_lib.persistence import ModelFileError
from course_lib.tfjs import ConversionError, TfjsRuntimeError, runtime

REPO_NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(400, 3)) * [1.0, 10.0, 0.1]).astype("float32")
    y = (x[:, 0] + rng.normal(scale=0.5, size=400) > 0.8).astype("int64")
    return data.Split(x, y)


@pytest.fixture(scope="module")
def model(small):
    m = models.build_fraud_model(small.x, hidden=(4,), name="small")
    models.train(m, small, epochs=3, batch_size=32, class_weight="balanced")
    return m


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("tfjs")


@pytest.fixture(scope="module")
def saved_model(model, work):
    return persistence.save(model, work / "small_savedmodel").path


@pytest.fixture(scope="module")
def f32(model, work):
    return tfjs.convert(model, work / "f32")


@pytest.fixture(scope="module")
def u8(saved_model, work):
    return tfjs.convert(saved_model, work / "u8", quantize="uint8")


@pytest.fixture(scope="module")
def layers(model, work):
    return tfjs.save_layers_model(model, work / "layers")


@pytest.fixture(scope="module")
def unsupported_op_model(work):
    tf = _tf.tf()

    class LogGamma(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="features")])
        def serve(self, features):
            return {"out": tf.math.lgamma(features)}

    module = LogGamma()
    path = work / "lgamma_savedmodel"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


def _keras_scores(model, x):
    return np.asarray(model.predict(np.asarray(x, dtype="float32"), verbose=0))


class TestConvert:
    def test_keras_model_becomes_a_graph_model_with_its_files(self, f32):
        assert f32.format == "graph-model" and f32.label == "float32"
        assert {f.path for f in f32.files} == {"model.json", "group1-shard1of1.bin"}

    def test_sizes_add_up_from_the_files_on_disk(self, f32):
        on_disk = {p.name: p.stat().st_size for p in f32.path.iterdir()}
        assert f32.size_bytes == sum(on_disk.values())
        assert f32.weight_bytes == on_disk["group1-shard1of1.bin"]

    def test_converter_version_is_the_installed_tensorflowjs(self, f32):
        import tensorflowjs

        assert f32.converter_version == tensorflowjs.__version__

    def test_saved_model_directory_is_accepted(self, u8, saved_model):
        assert u8.format == "graph-model"

    def test_uint8_stores_every_weight_as_uint8_with_a_step(self, u8):
        assert {w.stored_as for w in u8.weights} == {"uint8"}
        assert all(w.step is not None for w in u8.weights)

    def test_quantized_weights_are_smaller(self, f32, u8):
        assert u8.weight_bytes < f32.weight_bytes

    def test_float16_halves_the_weight_values(self, saved_model, f32, work):
        f16 = tfjs.convert(saved_model, work / "f16", quantize="float16")
        assert f16.weight_bytes * 2 == f32.weight_bytes

    def test_weight_patterns_limit_quantization(self, saved_model, work):
        done = tfjs.convert(saved_model, work / "u8_dense", quantize="uint8", weights="*/dense_*")
        stored = {w.name: w.stored_as for w in done.weights}
        quantized = {name for name, kind in stored.items() if kind == "uint8"}
        assert quantized == {name for name in stored if "/dense_" in name}
        assert "float32" in stored.values()  # the scaling layer's constants

    def test_converting_prints_nothing(self, saved_model, work, capfd):
        tfjs.convert(saved_model, work / "quiet", quantize="float16")
        out, err = capfd.readouterr()
        assert (out, err) == ("", "")

    def test_existing_folder_is_kept_without_overwrite(self, saved_model, f32):
        with pytest.raises(ConversionError, match="not to exist yet.*overwrite=True"):
            tfjs.convert(saved_model, f32.path)

    def test_overwrite_replaces_the_folder(self, saved_model, work):
        target = work / "again"
        tfjs.convert(saved_model, target)
        done = tfjs.convert(saved_model, target, quantize="uint8", overwrite=True)
        assert done.label == "uint8" and not list(work.glob(".again.*"))


class TestConvertErrors:
    def test_missing_source_path(self, work):
        with pytest.raises(ConversionError, match="SavedModel directory at .*nothing is there"):
            tfjs.convert(work / "no_such_model", work / "out_missing")

    def test_directory_without_saved_model_pb(self, work):
        folder = work / "not_a_savedmodel"
        folder.mkdir()
        (folder / "notes.txt").write_text("hello")
        with pytest.raises(ConversionError, match=r"containing saved_model.pb.*\['notes.txt'\]"):
            tfjs.convert(folder, work / "out_not_sm")

    def test_keras_file_explains_the_layers_model_pitfall(self, model, work):
        path = persistence.save(model, work / "small.keras").path
        with pytest.raises(ConversionError, match="is a .keras file.*InputLayer.*persistence.load"):
            tfjs.convert(path, work / "out_keras")

    @pytest.mark.parametrize("bad", ["int4", "float32", 8])
    def test_unknown_quantize_value(self, saved_model, work, bad):
        with pytest.raises(InvalidInputError, match=r"quantize to be None, 'float16' or 'uint8'"):
            tfjs.convert(saved_model, work / "out_q", quantize=bad)

    def test_float32_word_gets_a_hint(self, saved_model, work):
        with pytest.raises(InvalidInputError, match="pass quantize=None"):
            tfjs.convert(saved_model, work / "out_q", quantize="float32")

    def test_unsupported_op_is_named(self, unsupported_op_model, work):
        with pytest.raises(ConversionError, match="these do not: Lgamma.*supported_ops"):
            tfjs.convert(unsupported_op_model, work / "out_lgamma")

    def test_failed_conversion_leaves_nothing_behind(self, unsupported_op_model, work):
        with pytest.raises(ConversionError):
            tfjs.convert(unsupported_op_model, work / "out_lgamma2")
        assert not (work / "out_lgamma2").exists() and not list(work.glob(".out_lgamma2*"))

    def test_pattern_that_matches_nothing(self, saved_model, work):
        with pytest.raises(ConversionError, match="none matched"):
            tfjs.convert(saved_model, work / "out_pat", quantize="uint8", weights="*/nothing*")

    def test_object_that_is_no_model(self, work):
        with pytest.raises(InvalidInputError, match="keras.Model or the path .* found dict"):
            tfjs.convert({"weights": []}, work / "out_obj")


class TestPredict:
    def test_tfjs_matches_keras_at_float32(self, f32, model, small):
        np.testing.assert_allclose(tfjs.predict(f32.path, small.x), _keras_scores(model, small.x),
                                   atol=1e-5)

    def test_ten_thousand_rows(self, f32, model):
        x = np.random.default_rng(1).normal(size=(10_000, 3)).astype("float32")
        scores = tfjs.predict(f32.path, x)
        assert scores.shape == (10_000, 1)
        np.testing.assert_allclose(scores, _keras_scores(model, x), atol=1e-5)

    def test_uint8_model_gives_probabilities(self, u8, small):
        scores = tfjs.predict(u8.path, small.x)
        assert scores.shape == (400, 1) and ((scores >= 0) & (scores <= 1)).all()

    def test_run_reports_the_runtime(self, f32, small):
        r = tfjs.run(f32.path, small.x[:10])
        assert (r.rows, r.tfjs_version, r.backend) == (10, tfjs.TFJS_VERSION, "cpu")
        assert r.node_version.startswith("v") and "rows predicted in" in str(r)

    def test_integer_features_are_accepted(self, f32, model):
        x = np.arange(12).reshape(4, 3)
        np.testing.assert_allclose(tfjs.predict(f32.path, x), _keras_scores(model, x), atol=1e-5)

    def test_wrong_number_of_columns(self, f32):
        with pytest.raises(InvalidInputError, match=r"shape \(n, 3\).*found \(5, 4\)"):
            tfjs.predict(f32.path, np.zeros((5, 4)))

    def test_one_dimensional_input(self, f32):
        with pytest.raises(InvalidInputError, match=r"shape \(n, 3\).*found \(3,\)"):
            tfjs.predict(f32.path, np.zeros(3))

    def test_nan_features(self, f32):
        with pytest.raises(InvalidInputError, match="NaN"):
            tfjs.predict(f32.path, np.full((2, 3), np.nan))

    def test_folder_without_model_json(self, work):
        with pytest.raises(ModelFileError, match="model.json.*tfjs.convert"):
            tfjs.predict(work / "nowhere", np.zeros((1, 3)))

    def test_layers_model_is_not_a_graph_model(self, layers):
        with pytest.raises(ModelFileError, match="graph model .* found format 'layers-model'"):
            tfjs.predict(layers.path, np.zeros((1, 3)))


class TestRuntimeDiscovery:
    def test_env_var_pointing_to_an_empty_folder(self, f32, tmp_path, monkeypatch):
        monkeypatch.setenv("COURSE_LIB_NODE_MODULES", str(tmp_path))
        expected = r"COURSE_LIB_NODE_MODULES.*npm ci.*npm install @tensorflow/tfjs@4\.22\.0"
        with pytest.raises(TfjsRuntimeError, match=expected):
            tfjs.predict(f32.path, np.zeros((1, 3)))

    def test_env_var_wins(self, monkeypatch):
        monkeypatch.setenv("COURSE_LIB_NODE_MODULES", str(REPO_NODE_MODULES))
        assert tfjs.node_modules() == REPO_NODE_MODULES.resolve()

    def test_repository_checkout_by_default(self, monkeypatch):
        monkeypatch.delenv("COURSE_LIB_NODE_MODULES", raising=False)
        assert tfjs.node_modules() == REPO_NODE_MODULES.resolve()

    def test_node_path_when_there_is_no_checkout(self, tmp_path, monkeypatch):
        monkeypatch.delenv("COURSE_LIB_NODE_MODULES", raising=False)
        monkeypatch.setattr(runtime, "__file__", str(tmp_path / "site" / "course_lib" / "tfjs" / "runtime.py"))
        monkeypatch.setenv("NODE_PATH", os.pathsep.join([str(tmp_path), str(REPO_NODE_MODULES)]))
        assert tfjs.node_modules() == REPO_NODE_MODULES.resolve()

    def test_nowhere_to_be_found(self, tmp_path, monkeypatch):
        monkeypatch.delenv("COURSE_LIB_NODE_MODULES", raising=False)
        monkeypatch.delenv("NODE_PATH", raising=False)
        monkeypatch.setattr(runtime, "__file__", str(tmp_path / "site" / "course_lib" / "tfjs" / "runtime.py"))
        with pytest.raises(TfjsRuntimeError, match="looked in .*npm ci"):
            tfjs.node_modules()

    def test_node_missing_from_the_path(self, f32, tmp_path, monkeypatch):
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(TfjsRuntimeError, match="Node.js .* not found.*npm ci"):
            tfjs.predict(f32.path, np.zeros((1, 3)))


class TestVerify:
    def test_float32_conversion_keeps_every_metric(self, f32, model, small):
        parity = tfjs.verify(f32.path, model, small.x, small.y)
        assert parity.ok and parity.max_abs_diff < 1e-5
        assert parity.comparison.labels == ("source (Python)", "TF.js")

    def test_default_tolerance_is_the_seeds_two_points(self, f32, model, small):
        parity = tfjs.verify(f32.path, model, small.x, small.y)
        assert parity.tolerance == tfjs.SEED_TOLERANCE == 0.02

    def test_label_and_sizes_come_from_the_files(self, u8, saved_model, small):
        parity = tfjs.verify(u8.path, saved_model, small.x, small.y)
        assert (parity.label, parity.size_bytes) == ("uint8", u8.size_bytes)

    def test_reference_scores_can_be_given(self, f32, model, small):
        parity = tfjs.verify(f32.path, _keras_scores(model, small.x), small.x, small.y)
        assert parity.reference_seconds is None and parity.ok

    def test_reference_of_the_wrong_kind(self, f32, small):
        with pytest.raises(InvalidInputError, match=r"source model \(keras.Model .* found list"):
            tfjs.verify(f32.path, [0.1] * 400, small.x, small.y)

    def test_reference_scores_for_other_rows(self, f32, small):
        with pytest.raises(InvalidInputError, match="one reference score per row"):
            tfjs.verify(f32.path, np.zeros((3, 1)), small.x, small.y)


class TestGate:
    SOURCE = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)

    def test_fits_and_keeps_metrics(self):
        g = tfjs.gate(tfjs.Parity.from_metrics("float16", 60_000, self.SOURCE, self.SOURCE),
                      budget_bytes=100_000)
        assert g.ok and str(g).startswith("PASS float16")

    def test_too_big(self):
        g = tfjs.gate(tfjs.Parity.from_metrics("float32", 150_000, self.SOURCE, self.SOURCE),
                      budget_bytes=100_000)
        assert (g.ok, g.fits, g.metrics_ok) == (False, False, True)

    def test_metric_drop_fails_even_when_small(self):
        after = Metrics.from_counts(tp=40, fp=3, fn=10, tn=47)  # recall 0.90 -> 0.80
        g = tfjs.gate(tfjs.Parity.from_metrics("uint8", 30_000, self.SOURCE, after),
                      budget_bytes=100_000)
        assert (g.fits, g.metrics_ok) == (True, False) and "recall -0.100" in g.reasons[1]

    @pytest.mark.parametrize("budget", [0, -5, 1.5, True])
    def test_budget_must_be_positive_bytes(self, budget):
        p = tfjs.Parity.from_metrics("float16", 1, self.SOURCE, self.SOURCE)
        with pytest.raises(InvalidInputError, match="budget_bytes to be a positive whole number"):
            tfjs.gate(p, budget_bytes=budget)

    def test_needs_a_parity_result(self):
        with pytest.raises(InvalidInputError, match="Parity result"):
            tfjs.gate(self.SOURCE)


class TestLayersModel:
    def test_keras3_layers_model_is_written(self, layers):
        assert layers.format == "layers-model" and layers.weight_bytes > 0

    def test_tfjs_refuses_it_and_says_why(self, layers):
        outcome = tfjs.load_layers_model(layers.path)
        assert not outcome.ok
        refused = "An InputLayer should be passed either a `batchInputShape` or an `inputShape`"
        assert refused in outcome.error
        assert "batch_shape" in outcome.diagnosis and "batch_input_shape" in outcome.diagnosis

    def test_graph_model_is_not_a_layers_model(self, f32):
        with pytest.raises(ModelFileError, match="layers model .* found format 'graph-model'"):
            tfjs.load_layers_model(f32.path)


@pytest.fixture(scope="module")
def report(model, small, tmp_path_factory):
    dense_only = tfjs.Quantization("uint8", ("*/dense_*",), "uint8, dense only")
    return tfjs.compare_quantizations(model, small.x, small.y, tmp_path_factory.mktemp("cmp"),
                                      [None, "uint8", dense_only], budget_bytes=1024)


class TestCompareQuantizations:
    def test_one_measured_result_per_setting(self, report):
        assert report.labels == ["float32", "uint8", "uint8, dense only"]
        assert all(r.node is not None and r.node.rows == 400 for r in report.results)

    def test_each_setting_in_its_own_folder(self, report):
        assert [c.path.name for c in report.conversions] == ["float32", "uint8", "uint8_dense_only"]

    def test_float32_keeps_parity_and_python_is_timed(self, report):
        assert report.result("float32").ok and report.reference_seconds is not None

    def test_gates_use_the_budget(self, report):
        assert [g.fits for g in report.gates()] == [r.size_bytes <= 1024 for r in report.results]
        assert all(g.fits for g in report.gates(budget_bytes=10**9))

    def test_table_and_timing_texts(self, report):
        assert "largest diff" in str(report) and "uint8, dense only" in report._repr_html_()
        assert "Python (TensorFlow, this process): 400 rows" in report.timing()

    def test_plot_has_two_panels(self, report):
        assert len(report.plot().axes) == 2

    def test_timing_of_unmeasured_results(self):
        m = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
        report = tfjs.QuantizationReport((tfjs.Parity.from_metrics("float16", 1, m, m),), (), 1, None)
        assert report.timing() == "no timings: these results were not measured in TF.js"

    def test_unknown_setting_name(self, report):
        with pytest.raises(InvalidInputError, match="expected one of"):
            report.result("int4")

    def test_repeated_settings_need_labels(self, model, small, tmp_path):
        with pytest.raises(InvalidInputError, match="each with its own name"):
            tfjs.compare_quantizations(model, small.x, small.y, tmp_path, ["uint8", "uint8"])


def test_errors_are_course_lib_errors():
    assert issubclass(ConversionError, CourseLibError)
    assert issubclass(TfjsRuntimeError, CourseLibError)


def test_node_script_ships_inside_the_package():
    script = Path(tfjs.__file__).with_name("runtime.js")
    assert script.is_file() and "loadGraphModel" in script.read_text()


def test_model_json_signature_names_the_input(f32):
    meta = json.loads((f32.path / "model.json").read_text())
    assert list(meta["signature"]["inputs"]) == ["features"]
