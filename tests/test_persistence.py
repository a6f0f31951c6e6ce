"""Tests of course_lib.persistence: every format's round trip, bad input, fresh-process parity."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

from course_lib import data, models, persistence
from course_lib.errors import InvalidInputError
from course_lib.persistence import ModelFileError, UnknownLayerError, UnsafeModelError

NAMES = {"keras": "fraud.keras", "savedmodel": "fraud_savedmodel", "h5": "fraud.h5"}


@pytest.fixture(scope="module")
def fraud():
    return data.load_fraud()


@pytest.fixture(scope="module")
def model(fraud):
    m = models.build_fraud_model(fraud.train.x)
    models.train(m, fraud.train, epochs=2, class_weight="balanced")
    return m


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory):
    root = tmp_path_factory.mktemp("saved")
    return {fmt: persistence.save(model, root / name) for fmt, name in NAMES.items()}


def _corrupt(path, offset_from_end=200):
    payload = bytearray(path.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    path.write_bytes(bytes(payload))


class TestSave:
    @pytest.mark.parametrize("fmt", list(NAMES))
    def test_format_follows_the_path(self, saved, fmt):
        assert saved[fmt].format == fmt and saved[fmt].path.exists()

    def test_savedmodel_directory_has_its_files(self, saved):
        path = saved["savedmodel"].path
        assert (path / "saved_model.pb").is_file() and (path / "variables" / "variables.index").is_file()

    def test_size_is_the_size_on_disk(self, saved):
        assert saved["keras"].size_bytes == saved["keras"].path.stat().st_size

    def test_h5_carries_the_explained_legacy_warning(self, saved):
        assert saved["h5"].warnings and "legacy" in saved["h5"].warnings[0]
        assert saved["keras"].warnings == ()

    def test_existing_target_is_refused_without_overwrite(self, model, saved):
        with pytest.raises(ModelFileError, match="overwrite=True"):
            persistence.save(model, saved["keras"].path)

    def test_overwrite_replaces(self, model, tmp_path):
        persistence.save(model, tmp_path / "m.keras")
        assert persistence.save(model, tmp_path / "m.keras", overwrite=True).path.exists()

    def test_format_and_extension_must_agree(self, model, tmp_path):
        with pytest.raises(InvalidInputError, match="ending in .keras for format='keras'"):
            persistence.save(model, tmp_path / "m.h5", format="keras")

    def test_unknown_format_is_refused(self, model, tmp_path):
        with pytest.raises(InvalidInputError, match="one of keras, savedmodel, h5; found 'onnx'"):
            persistence.save(model, tmp_path / "m", format="onnx")

    def test_non_model_is_refused(self, tmp_path):
        with pytest.raises(InvalidInputError, match="Keras model .* found dict"):
            persistence.save({}, tmp_path / "m.keras")

    def test_failed_save_leaves_nothing_behind(self, model, tmp_path, monkeypatch):
        def broken(m, tmp, fmt):
            tmp.write_bytes(b"half a model")
            raise OSError("disk full")

        monkeypatch.setattr(persistence, "_write", broken)
        with pytest.raises(OSError, match="disk full"):
            persistence.save(model, tmp_path / "m.keras")
        assert list(tmp_path.iterdir()) == []


class TestLoad:
    @pytest.mark.parametrize("fmt", list(NAMES))
    def test_predictions_equal_the_original(self, model, saved, fraud, fmt):
        loaded = persistence.load(saved[fmt].path)
        expected = model.predict(fraud.test.x, verbose=0)
        np.testing.assert_allclose(loaded.predict(fraud.test.x), expected, atol=1e-6)

    @pytest.mark.parametrize("fmt", list(NAMES))
    def test_format_is_detected(self, saved, fmt):
        assert persistence.load(saved[fmt].path).format == fmt

    def test_savedmodel_is_loaded_with_tensorflow(self, saved):
        loaded = persistence.load(saved["savedmodel"].path)
        assert "serving_default" in loaded.raw.signatures and loaded.input.shape == (None, 8)

    def test_keras_model_keeps_its_optimizer_state(self, model, saved):
        raw = persistence.load(saved["keras"].path).raw
        assert int(raw.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy()) > 0

    def test_missing_path(self, tmp_path):
        with pytest.raises(ModelFileError, match="nothing is there"):
            persistence.load(tmp_path / "nope.keras")

    def test_directory_without_saved_model_pb(self, tmp_path):
        (tmp_path / "variables").mkdir()
        with pytest.raises(ModelFileError, match="containing saved_model.pb"):
            persistence.load(tmp_path)

    def test_truncated_keras_file(self, saved, tmp_path):
        bad = tmp_path / "cut.keras"
        bad.write_bytes(saved["keras"].path.read_bytes()[:3000])
        with pytest.raises(ModelFileError, match="corrupted or truncated"):
            persistence.load(bad)

    def test_corrupted_keras_file(self, saved, tmp_path):
        bad = tmp_path / "bad.keras"
        bad.write_bytes(saved["keras"].path.read_bytes())
        _corrupt(bad)
        assert zipfile.is_zipfile(bad)
        with pytest.raises(ModelFileError, match="could not load it"):
            persistence.load(bad)

    def test_corrupted_savedmodel(self, saved, tmp_path):
        import shutil

        bad = tmp_path / "bad_savedmodel"
        shutil.copytree(saved["savedmodel"].path, bad)
        (bad / "saved_model.pb").write_bytes(b"not a protobuf")
        with pytest.raises(ModelFileError, match="could not load it"):
            persistence.load(bad)

    def test_savedmodel_where_keras_is_expected(self, saved):
        with pytest.raises(ModelFileError, match="expected a keras model .* found a savedmodel"):
            persistence.load(saved["savedmodel"].path, format="keras")

    def test_keras_where_savedmodel_is_expected(self, saved):
        with pytest.raises(ModelFileError, match="expected a savedmodel model .* found a keras"):
            persistence.load(saved["keras"].path, format="savedmodel")

    def test_unregistered_custom_layer(self, fraud, tmp_path):
        m = models.build_fraud_model(fraud.train.x, log_scale="unregistered")
        persistence.save(m, tmp_path / "custom.keras")
        with pytest.raises(UnknownLayerError, match="'UnregisteredLogScale'.*register_keras_serializable"):
            persistence.load(tmp_path / "custom.keras")

    def test_registered_custom_layer_loads(self, fraud, tmp_path):
        m = models.build_fraud_model(fraud.train.x, log_scale="registered")
        persistence.save(m, tmp_path / "custom.keras")
        loaded = persistence.load(tmp_path / "custom.keras")
        np.testing.assert_allclose(loaded.predict(fraud.test.x[:50]), m.predict(fraud.test.x[:50], verbose=0))

    def test_lambda_layer_is_refused_in_safe_mode(self, fraud, tmp_path):
        m = models.build_fraud_model(fraud.train.x, log_scale="lambda")
        persistence.save(m, tmp_path / "lambda.keras")
        with pytest.raises(UnsafeModelError, match="Lambda layer, whose code would run on load"):
            persistence.load(tmp_path / "lambda.keras")

    def test_lambda_layer_loads_when_safe_mode_is_turned_off(self, fraud, tmp_path):
        m = models.build_fraud_model(fraud.train.x, log_scale="lambda")
        persistence.save(m, tmp_path / "lambda.keras")
        assert persistence.load(tmp_path / "lambda.keras", safe_mode=False).format == "keras"


class TestPredictInput:
    @pytest.mark.parametrize("fmt", ["keras", "savedmodel"])
    def test_wrong_number_of_columns(self, saved, fraud, fmt):
        with pytest.raises(InvalidInputError, match=r"shape \(n, 8\); found \(4001, 7\)"):
            persistence.load(saved[fmt].path).predict(fraud.test.x[:, :7])

    def test_text_input(self, saved):
        with pytest.raises(InvalidInputError, match="expected numbers .* dtype <U"):
            persistence.load(saved["keras"].path).predict(np.array([["a"] * 8]))

    def test_nan_input(self, saved, fraud):
        x = fraud.test.x[:2].copy()
        x[0, 0] = np.nan
        with pytest.raises(InvalidInputError, match="NaN"):
            persistence.load(saved["savedmodel"].path).predict(x)

    def test_integer_input_is_converted(self, saved, fraud):
        loaded = persistence.load(saved["savedmodel"].path)
        assert loaded.predict(fraud.test.x[:3].astype(np.int64)).shape == (3, 1)


class TestInspect:
    def test_savedmodel_files_and_signature(self, saved):
        info = persistence.inspect(saved["savedmodel"].path)
        paths = {f.path for f in info.files}
        assert {"saved_model.pb", "fingerprint.pb", "variables/variables.index", "assets/"} <= paths
        sig = {s.name: s for s in info.signatures}["serving_default"]
        assert str(sig.inputs[0]) == "features: float32 (None, 8)"
        assert str(sig.outputs[0]) == "output_0: float32 (None, 1)"

    def test_sizes_add_up_to_the_disk_size(self, saved):
        info = persistence.inspect(saved["savedmodel"].path)
        assert info.size_bytes == info.disk_bytes == saved["savedmodel"].size_bytes

    def test_keras_archive_contents(self, saved):
        info = persistence.inspect(saved["keras"].path)
        assert {f.path for f in info.files} == {"metadata.json", "config.json", "model.weights.h5"}
        assert info.metadata["keras_version"].startswith("3.")

    def test_text_lists_files_and_signature(self, saved):
        text = str(persistence.inspect(saved["savedmodel"].path))
        assert "saved_model.pb" in text and "signature 'serving_default':" in text


class TestRoundtrip:
    @pytest.mark.parametrize("fmt", list(NAMES))
    def test_every_format_keeps_metrics_and_predictions(self, model, fraud, tmp_path, fmt):
        rt = persistence.roundtrip(model, fraud.test.x, fraud.test.y, format=fmt, directory=tmp_path)
        assert rt.ok and rt.before == rt.after and rt.max_abs_diff < 1e-6

    def test_report_names_both_sides(self, model, fraud, tmp_path):
        rt = persistence.roundtrip(model, fraud.test.x, fraud.test.y, directory=tmp_path)
        assert "before saving" in str(rt) and "after loading" in str(rt)

    def test_unknown_format(self, model, fraud):
        with pytest.raises(InvalidInputError, match="found 'pickle'"):
            persistence.roundtrip(model, fraud.test.x, fraud.test.y, format="pickle")


class TestPredictInSubprocess:
    @pytest.mark.parametrize("fmt", ["keras", "savedmodel"])
    def test_fresh_process_gives_the_same_predictions(self, model, saved, fraud, fmt):
        scores = persistence.predict_in_subprocess(saved[fmt].path, fraud.test.x)
        np.testing.assert_allclose(scores, model.predict(fraud.test.x, verbose=0), atol=1e-6)

    def test_child_error_is_reported_clearly(self, saved):
        with pytest.raises(persistence.CourseLibError, match="fresh process .* InvalidInputError: expected input"):
            persistence.predict_in_subprocess(saved["keras"].path, np.zeros((2, 3)))

    def test_missing_model_fails_before_starting_a_process(self, tmp_path):
        with pytest.raises(ModelFileError, match="nothing is there"):
            persistence.predict_in_subprocess(tmp_path / "nope.keras", np.zeros((1, 8)))

    def test_input_travels_through_files_not_argv(self, saved, monkeypatch):
        seen = {}
        real_popen = persistence.subprocess.Popen

        def spy(cmd, **kw):
            seen["cmd"] = cmd
            return real_popen(cmd, **kw)

        monkeypatch.setattr(persistence.subprocess, "Popen", spy)
        persistence.predict_in_subprocess(saved["keras"].path, np.ones((3, 8), dtype=np.float32))
        assert seen["cmd"][1:] == ["-m", "course_lib.persistence", "--serve"]


@pytest.fixture(scope="module")
def service():
    with persistence.ServingProcess() as running:
        yield running


class TestServingProcess:
    def test_serves_several_models(self, service, saved, model, fraud):
        for fmt in ("keras", "savedmodel", "h5"):
            np.testing.assert_allclose(service.predict(saved[fmt].path, fraud.test.x[:20]),
                                       model.predict(fraud.test.x[:20], verbose=0), atol=1e-6)

    def test_a_failed_load_does_not_stop_the_service(self, service, saved, fraud, tmp_path):
        bad = tmp_path / "bad.keras"
        bad.write_bytes(saved["keras"].path.read_bytes())
        _corrupt(bad)
        with pytest.raises(persistence.CourseLibError, match="fresh process to load bad.keras"):
            service.predict(bad, fraud.test.x[:2])
        assert service.predict(saved["keras"].path, fraud.test.x[:2]).shape == (2, 1)

    def test_custom_layer_needs_the_import_in_the_service(self, fraud, tmp_path):
        m = models.build_fraud_model(fraud.train.x, log_scale="registered")
        persistence.save(m, tmp_path / "custom.keras")
        with persistence.ServingProcess() as service:
            with pytest.raises(persistence.CourseLibError, match="'LogScale', which is not registered"):
                service.predict(tmp_path / "custom.keras", fraud.test.x[:2])
            service.import_module("course_lib.layers")
            assert service.imports == ["course_lib.layers"]
            assert service.predict(tmp_path / "custom.keras", fraud.test.x[:2]).shape == (2, 1)

    def test_unknown_module_is_reported(self, service):
        with pytest.raises(persistence.CourseLibError, match="No module named 'no_such_module_xyz'"):
            service.import_module("no_such_module_xyz")

    def test_a_closed_service_refuses_requests(self, saved, fraud):
        service = persistence.ServingProcess()
        service.close()
        assert repr(service) == "ServingProcess(imports=[], stopped)"
        with pytest.raises(persistence.CourseLibError, match="it has stopped"):
            service.predict(saved["keras"].path, fraud.test.x[:2])


def test_detect_format_of_non_model_file(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(ModelFileError, match="neither a zip archive nor HDF5"):
        persistence.detect_format(bad)


def test_relative_paths_work(model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    persistence.save(model, "rel.keras")
    assert os.path.exists("rel.keras") and persistence.load("rel.keras").format == "keras"


class TestWeightsCheckpoint:
    def test_weights_load_into_a_fresh_model(self, model, fraud, tmp_path):
        persistence.save_weights(model, tmp_path / "m.weights.h5")
        fresh = models.build_fraud_model(fraud.train.x)
        persistence.load_weights(fresh, tmp_path / "m.weights.h5")
        np.testing.assert_allclose(models.predict_scores(fresh, fraud.test.x), models.predict_scores(model, fraud.test.x))

    def test_skipped_optimizer_state_is_reported(self, model, fraud, tmp_path):
        persistence.save_weights(model, tmp_path / "m.weights.h5")
        notes = persistence.load_weights(models.build_fraud_model(fraud.train.x), tmp_path / "m.weights.h5")
        assert len(notes) == 1 and "optimizer state not restored" in notes[0]

    def test_resuming_from_keras_file_continues_exactly(self, fraud, tmp_path):
        original = models.fraud_model(fraud, epochs=1)
        persistence.save(original, tmp_path / "m.keras")
        resumed = persistence.load(tmp_path / "m.keras").raw
        for m in (original, resumed):
            models.train(m, fraud.train, epochs=1, seed=1)
        assert models.prediction_gap(original, {"resumed": resumed}, fraud.test.x) == {"resumed": 0.0}

    def test_wrong_extension_is_refused(self, model, tmp_path):
        with pytest.raises(InvalidInputError, match=r"ending in .weights.h5; found 'm.h5'"):
            persistence.save_weights(model, tmp_path / "m.h5")

    def test_missing_weights_file(self, model, tmp_path):
        with pytest.raises(ModelFileError, match="save_weights"):
            persistence.load_weights(model, tmp_path / "none.weights.h5")

    def test_weights_of_another_architecture_are_refused(self, model, fraud, tmp_path):
        persistence.save_weights(model, tmp_path / "m.weights.h5")
        other = models.build_fraud_model(fraud.train.x, hidden=(4, 4))
        with pytest.raises(ModelFileError, match="build the model exactly as"):
            persistence.load_weights(other, tmp_path / "m.weights.h5")


class TestSavedModelCli:
    def test_prints_signatures_like_the_real_tool(self, saved):
        text = persistence.saved_model_cli(saved["savedmodel"].path)
        assert "signature_def['serving_default']" in text and "inputs['features']" in text

    def test_op_list_is_in_a_stable_order(self, saved):
        path = saved["savedmodel"].path
        assert persistence.saved_model_cli(path) == persistence.saved_model_cli(path)

    def test_refuses_a_keras_file(self, saved):
        with pytest.raises(ModelFileError, match="expected a SavedModel directory"):
            persistence.saved_model_cli(saved["keras"].path)


class TestCompareFormats:
    def test_one_row_per_format_all_consistent(self, model, fraud, tmp_path):
        report = persistence.compare_formats(model, fraud.test.x, fraud.test.y, tmp_path)
        assert [r.format for r in report.rows] == ["keras", "savedmodel", "h5"]
        assert all(r.ok and r.max_abs_diff < 1e-6 for r in report.rows)

    def test_text_has_units_on_timings(self, model, fraud, tmp_path):
        text = repr(persistence.compare_formats(model, fraud.test.x, fraud.test.y, tmp_path, formats=["keras"]))
        assert " s " in text and "KB" in text


class TestToTFLite:
    def test_tflite_predictions_match_the_savedmodel(self, saved, fraud, tmp_path):
        result = persistence.to_tflite(saved["savedmodel"].path, tmp_path / "m.tflite", fraud.test.x[:200])
        assert result.path.stat().st_size == result.size_bytes > 0 and result.max_abs_diff < 1e-5

    def test_needs_a_savedmodel(self, saved, fraud, tmp_path):
        with pytest.raises(ModelFileError, match="expected a savedmodel model"):
            persistence.to_tflite(saved["keras"].path, tmp_path / "m.tflite", fraud.test.x[:5])
