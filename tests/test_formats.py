"""Tests of course_lib.persistence.formats: save and load in each format, bad input, checkpoints."""

from __future__ import annotations

import os
import shutil
import zipfile

import numpy as np
import pytest

from course_lib import models, persistence
from course_lib.errors import InvalidInputError, StorageError
from course_lib.persistence import ModelFileError, UnknownLayerError, UnsafeModelError, formats

FORMATS = ["keras", "savedmodel", "h5"]


def corrupt(path):
    """Flip the bits of the byte in the middle of a file."""
    payload = bytearray(path.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    path.write_bytes(bytes(payload))


class TestSave:
    @pytest.mark.parametrize("fmt", FORMATS)
    def test_format_follows_the_path(self, fraud_saved, fmt):
        assert fraud_saved[fmt].format == fmt and fraud_saved[fmt].path.exists()

    def test_savedmodel_directory_has_its_files(self, fraud_saved):
        path = fraud_saved["savedmodel"].path
        assert (path / "saved_model.pb").is_file()
        assert (path / "variables" / "variables.index").is_file()

    def test_size_is_the_size_on_disk(self, fraud_saved):
        assert fraud_saved["keras"].size_bytes == fraud_saved["keras"].path.stat().st_size

    def test_h5_carries_the_explained_legacy_warning(self, fraud_saved):
        assert fraud_saved["h5"].warnings and "legacy" in fraud_saved["h5"].warnings[0]
        assert fraud_saved["keras"].warnings == ()

    def test_h5_leaves_the_model_compile_config_whole(self, fraud_model, tmp_path):
        persistence.save(fraud_model, tmp_path / "m.h5")
        assert "optimizer" in fraud_model.get_compile_config()

    def test_existing_target_is_refused_without_overwrite(self, fraud_model, fraud_saved):
        with pytest.raises(ModelFileError, match="overwrite=True"):
            persistence.save(fraud_model, fraud_saved["keras"].path)

    def test_overwrite_replaces(self, fraud_model, tmp_path):
        persistence.save(fraud_model, tmp_path / "m.keras")
        assert persistence.save(fraud_model, tmp_path / "m.keras", overwrite=True).path.exists()
        assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]

    def test_format_and_extension_must_agree(self, fraud_model, tmp_path):
        with pytest.raises(InvalidInputError, match="ending in .keras for format='keras'"):
            persistence.save(fraud_model, tmp_path / "m.h5", format="keras")

    def test_unknown_format_is_refused(self, fraud_model, tmp_path):
        with pytest.raises(InvalidInputError, match="one of keras, savedmodel, h5; found 'onnx'"):
            persistence.save(fraud_model, tmp_path / "m", format="onnx")

    def test_non_model_is_refused(self, tmp_path):
        with pytest.raises(InvalidInputError, match="Keras model .* found dict"):
            persistence.save({}, tmp_path / "m.keras")

    @pytest.mark.parametrize("name", ["m.keras", "m_savedmodel", "m.h5"])
    def test_a_really_full_disk_is_a_storage_error_and_leaves_nothing(self, name, small_disk):
        import keras

        mnt = small_disk("200k")  # 61,000 float32 weights (245 KB): more than any format fits
        big = keras.Sequential([keras.Input((30,)), keras.layers.Dense(2048),
                                keras.layers.Dense(1)])
        with pytest.raises(StorageError, match=r"the disk refused: no space is left"):
            persistence.save(big, mnt / name)
        assert os.listdir(mnt) == []

    def test_failed_save_leaves_nothing_behind(self, fraud_model, tmp_path, monkeypatch):
        def broken(m, tmp, fmt):
            tmp.write_bytes(b"half a model")
            raise OSError("disk full")

        monkeypatch.setattr(formats, "_write", broken)
        with pytest.raises(OSError, match="disk full"):
            persistence.save(fraud_model, tmp_path / "m.keras")
        assert list(tmp_path.iterdir()) == []


class TestSaveResult:
    def test_text_names_format_file_and_size_in_kb(self, fraud_saved):
        saved = fraud_saved["keras"]
        assert str(saved) == f"saved keras to fraud.keras ({saved.size_bytes / 1024:.1f} KB)"

    def test_a_warning_makes_it_not_ok_and_is_shown(self, fraud_saved):
        h5 = fraud_saved["h5"]
        assert fraud_saved["keras"].ok and not h5.ok and h5.failures == h5.warnings
        assert str(h5).splitlines()[1] == f"warning: {persistence.H5_WARNING}"
        assert "warning: HDF5" in h5._repr_html_()

    def test_repr_is_the_text(self, fraud_saved):
        assert repr(fraud_saved["savedmodel"]) == str(fraud_saved["savedmodel"])


class TestLoad:
    @pytest.mark.parametrize("fmt", FORMATS)
    def test_predictions_equal_the_original(self, fraud_model, fraud_saved, fraud, fmt):
        loaded = persistence.load(fraud_saved[fmt].path)
        expected = fraud_model.predict(fraud.test.x, verbose=0)
        np.testing.assert_allclose(loaded.predict(fraud.test.x), expected, atol=1e-6)

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_format_is_detected(self, fraud_saved, fmt):
        assert persistence.load(fraud_saved[fmt].path).format == fmt

    def test_savedmodel_is_loaded_with_tensorflow(self, fraud_saved):
        loaded = persistence.load(fraud_saved["savedmodel"].path)
        assert "serving_default" in loaded.raw.signatures and loaded.input.shape == (None, 8)

    def test_repr_names_format_path_input_and_output(self, fraud_saved):
        loaded = persistence.load(fraud_saved["keras"].path)
        assert repr(loaded) == (f"LoadedModel(format='keras', path='{fraud_saved['keras'].path}', "
                                "input=features: float32 (None, 8), "
                                "output=fraud_probability: float32 (None, 1))")

    def test_keras_model_keeps_its_optimizer_state(self, fraud_model, fraud_saved):
        raw = persistence.load(fraud_saved["keras"].path).raw
        steps = int(fraud_model.optimizer.iterations.numpy())
        assert int(raw.optimizer.iterations.numpy()) == steps > 0

    def test_missing_path(self, tmp_path):
        with pytest.raises(ModelFileError, match="nothing is there"):
            persistence.load(tmp_path / "nope.keras")

    def test_directory_without_saved_model_pb(self, tmp_path):
        (tmp_path / "variables").mkdir()
        with pytest.raises(ModelFileError, match="containing saved_model.pb"):
            persistence.load(tmp_path)

    def test_truncated_keras_file(self, fraud_saved, tmp_path):
        bad = tmp_path / "cut.keras"
        bad.write_bytes(fraud_saved["keras"].path.read_bytes()[:3000])
        with pytest.raises(ModelFileError, match="corrupted or truncated"):
            persistence.load(bad)

    def test_corrupted_keras_file(self, fraud_saved, tmp_path):
        bad = tmp_path / "bad.keras"
        bad.write_bytes(fraud_saved["keras"].path.read_bytes())
        corrupt(bad)
        assert zipfile.is_zipfile(bad)
        with pytest.raises(ModelFileError, match="could not load it"):
            persistence.load(bad)

    def test_corrupted_savedmodel(self, fraud_saved, tmp_path):
        bad = tmp_path / "bad_savedmodel"
        shutil.copytree(fraud_saved["savedmodel"].path, bad)
        (bad / "saved_model.pb").write_bytes(b"not a protobuf")
        with pytest.raises(ModelFileError, match="could not load it"):
            persistence.load(bad)

    def test_savedmodel_where_keras_is_expected(self, fraud_saved):
        with pytest.raises(ModelFileError, match="expected a keras model .* found a savedmodel"):
            persistence.load(fraud_saved["savedmodel"].path, format="keras")

    def test_keras_where_savedmodel_is_expected(self, fraud_saved):
        with pytest.raises(ModelFileError, match="expected a savedmodel model .* found a keras"):
            persistence.load(fraud_saved["keras"].path, format="savedmodel")

    def test_unknown_expected_format(self, fraud_saved):
        with pytest.raises(InvalidInputError, match="one of keras, savedmodel, h5; found 'onnx'"):
            persistence.load(fraud_saved["keras"].path, format="onnx")

    def test_unregistered_custom_layer(self, fraud, tmp_path):
        m = models.build_fraud_model(fraud.train.x, log_scale="unregistered")
        persistence.save(m, tmp_path / "custom.keras")
        with pytest.raises(UnknownLayerError,
                           match="'UnregisteredLogScale'.*register_keras_serializable"):
            persistence.load(tmp_path / "custom.keras")

    def test_registered_custom_layer_loads(self, fraud, tmp_path):
        m = models.build_fraud_model(fraud.train.x, log_scale="registered")
        persistence.save(m, tmp_path / "custom.keras")
        loaded = persistence.load(tmp_path / "custom.keras")
        np.testing.assert_allclose(loaded.predict(fraud.test.x[:50]),
                                   m.predict(fraud.test.x[:50], verbose=0))

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
    def test_wrong_number_of_columns(self, fraud_saved, fraud, fmt):
        wrong = r"input 'features' of shape \(n, 8\).*found 7 \(shape \(4001, 7\)\)"
        with pytest.raises(InvalidInputError, match=wrong):
            persistence.load(fraud_saved[fmt].path).predict(fraud.test.x[:, :7])

    def test_text_input(self, fraud_saved):
        with pytest.raises(InvalidInputError, match="expected numbers .* dtype <U"):
            persistence.load(fraud_saved["keras"].path).predict(np.array([["a"] * 8]))

    def test_nan_input(self, fraud_saved, fraud):
        x = fraud.test.x[:2].copy()
        x[0, 0] = np.nan
        with pytest.raises(InvalidInputError, match="NaN"):
            persistence.load(fraud_saved["savedmodel"].path).predict(x)

    def test_no_rows(self, fraud_saved):
        with pytest.raises(InvalidInputError, match="at least one row"):
            persistence.load(fraud_saved["savedmodel"].path).predict(np.zeros((0, 8)))

    def test_integer_input_is_converted(self, fraud_saved, fraud):
        loaded = persistence.load(fraud_saved["savedmodel"].path)
        assert loaded.predict(fraud.test.x[:3].astype(np.int64)).shape == (3, 1)


class TestDetectFormat:
    def test_non_model_file(self, tmp_path):
        bad = tmp_path / "notes.txt"
        bad.write_text("hello")
        with pytest.raises(ModelFileError, match="neither a zip archive nor HDF5"):
            persistence.detect_format(bad)

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_from_the_content(self, fraud_saved, fmt):
        assert persistence.detect_format(fraud_saved[fmt].path) == fmt


def test_relative_paths_work(fraud_model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    persistence.save(fraud_model, "rel.keras")
    assert os.path.exists("rel.keras") and persistence.load("rel.keras").format == "keras"


class TestWeightsCheckpoint:
    def test_weights_load_into_a_fresh_model(self, fraud_model, fraud, tmp_path):
        persistence.save_weights(fraud_model, tmp_path / "m.weights.h5")
        fresh = models.build_fraud_model(fraud.train.x)
        persistence.load_weights(fresh, tmp_path / "m.weights.h5")
        np.testing.assert_allclose(models.predict_scores(fresh, fraud.test.x),
                                   models.predict_scores(fraud_model, fraud.test.x))

    def test_checkpoint_is_staged(self, fraud_model, tmp_path):
        result = persistence.save_weights(fraud_model, tmp_path / "m.weights.h5")
        assert result.format == "weights"
        assert [p.name for p in tmp_path.iterdir()] == ["m.weights.h5"]
        assert result.size_bytes == (tmp_path / "m.weights.h5").stat().st_size

    def test_skipped_optimizer_state_is_reported(self, fraud_model, fraud, tmp_path):
        persistence.save_weights(fraud_model, tmp_path / "m.weights.h5")
        notes = persistence.load_weights(models.build_fraud_model(fraud.train.x),
                                         tmp_path / "m.weights.h5")
        assert len(notes) == 1 and "optimizer state not restored" in notes[0]

    def test_resuming_from_keras_file_continues_exactly(self, fraud, tmp_path):
        original = models.fraud_model(fraud, epochs=1)  # trained further below: not the fixture
        persistence.save(original, tmp_path / "m.keras")
        resumed = persistence.load(tmp_path / "m.keras").raw
        for m in (original, resumed):
            models.train(m, fraud.train, epochs=1, seed=1)
        gap = models.prediction_gap(original, {"resumed": resumed}, fraud.test.x)
        assert gap == {"resumed": 0.0}

    def test_wrong_extension_is_refused(self, fraud_model, tmp_path):
        with pytest.raises(InvalidInputError, match=r"ending in .weights.h5; found 'm.h5'"):
            persistence.save_weights(fraud_model, tmp_path / "m.h5")

    def test_missing_weights_file(self, fraud_model, tmp_path):
        with pytest.raises(ModelFileError, match="save_weights"):
            persistence.load_weights(fraud_model, tmp_path / "none.weights.h5")

    def test_weights_of_another_architecture_are_refused(self, fraud_model, fraud, tmp_path):
        persistence.save_weights(fraud_model, tmp_path / "m.weights.h5")
        other = models.build_fraud_model(fraud.train.x, hidden=(4, 4))
        with pytest.raises(ModelFileError, match="build the model exactly as"):
            persistence.load_weights(other, tmp_path / "m.weights.h5")


# -- any model: inputs and outputs of every shape, LoadedModel's Keras-like calls ----------------

NAMES = {"keras": "m.keras", "savedmodel": "m_savedmodel", "h5": "m.h5"}


def _save_all(model, root):
    return {fmt: persistence.save(model, root / name).path for fmt, name in NAMES.items()}


@pytest.fixture(scope="module")
def two_saved(two_input_model, tmp_path_factory):
    return _save_all(two_input_model, tmp_path_factory.mktemp("two_inputs"))


@pytest.fixture(scope="module")
def outputs_saved(multi_output_model, tmp_path_factory):
    return _save_all(multi_output_model, tmp_path_factory.mktemp("two_outputs"))


@pytest.fixture(scope="module")
def text_saved(text_input_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("text_input")
    return {fmt: persistence.save(text_input_model, root / NAMES[fmt]).path
            for fmt in ("keras", "savedmodel")}


CITIES = {"city": np.array([["Paris"], ["Lyon"], ["Nice"]]),
          "age": np.array([[30.0], [41.0], [8.0]])}


class TestLoadedModelDescribesTheModel:
    @pytest.mark.parametrize("fmt", FORMATS)
    def test_every_input_in_the_model_order(self, two_saved, fmt):
        loaded = persistence.load(two_saved[fmt])
        assert [str(t) for t in loaded.inputs] == ["mean: float32 (None, 10)",
                                                   "worst: float32 (None, 10)"]

    def test_outputs_of_a_keras_file_by_output_name(self, outputs_saved):
        loaded = persistence.load(outputs_saved["keras"])
        assert [str(t) for t in loaded.outputs] == ["score: float32 (None, 1)",
                                                    "kind: float32 (None, 3)"]

    def test_outputs_of_a_savedmodel_by_signature_name(self, outputs_saved):
        loaded = persistence.load(outputs_saved["savedmodel"])
        assert [t.name for t in loaded.outputs] == ["output_0", "output_1"]

    def test_text_input_has_the_string_dtype(self, text_saved):
        specs = {t.name: t.dtype for t in persistence.load(text_saved["savedmodel"]).inputs}
        assert specs == {"age": "float32", "city": "string"}

    def test_input_of_a_model_with_several_points_at_inputs(self, two_saved):
        with pytest.raises(InvalidInputError, match=r"has 2 \(mean, worst\). Fix: use .inputs"):
            _ = persistence.load(two_saved["keras"]).input

    def test_repr_lists_several_inputs(self, two_saved):
        assert "inputs=[mean: float32 (None, 10), worst: float32 (None, 10)]" in repr(
            persistence.load(two_saved["savedmodel"]))


class TestLoadedModelPredict:
    @pytest.mark.parametrize("fmt", FORMATS)
    def test_dict_of_inputs_by_name(self, two_input_model, two_inputs, two_saved, fmt):
        x = two_inputs[1][0]
        np.testing.assert_allclose(persistence.load(two_saved[fmt]).predict(x),
                                   two_input_model.predict(x, verbose=0), atol=1e-6)

    def test_list_of_inputs_by_position(self, two_inputs, two_saved):
        x = two_inputs[1][0]
        loaded = persistence.load(two_saved["savedmodel"])
        np.testing.assert_array_equal(loaded.predict([x["mean"], x["worst"]]), loaded.predict(x))

    def test_a_missing_input_is_named(self, two_inputs, two_saved):
        with pytest.raises(InvalidInputError, match="missing 'worst'"):
            persistence.load(two_saved["savedmodel"]).predict({"mean": two_inputs[1][0]["mean"]})

    @pytest.mark.parametrize("fmt", ["keras", "savedmodel"])
    def test_images_of_any_rank(self, digits_model, digits, tmp_path, fmt):
        path = persistence.save(digits_model, tmp_path / NAMES[fmt]).path
        out = persistence.load(path).predict(digits[1].x)
        assert out.shape == (len(digits[1].x), 10)

    def test_images_of_the_wrong_shape_are_refused(self, digits_model, digits, tmp_path):
        path = persistence.save(digits_model, tmp_path / "d.keras").path
        wrong = r"input 'pixels' as a 4-D array \(n, 8, 8, 1\)"
        with pytest.raises(InvalidInputError, match=wrong):
            persistence.load(path).predict(digits[1].x.reshape(-1, 64))

    @pytest.mark.parametrize("fmt", ["keras", "savedmodel"])
    def test_zero_rows_of_several_inputs_are_refused(self, two_saved, fmt):
        empty = {"mean": np.zeros((0, 10)), "worst": np.zeros((0, 10))}
        with pytest.raises(InvalidInputError, match="at least one row"):
            persistence.load(two_saved[fmt]).predict(empty)

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_several_outputs_come_as_a_dict_by_name(self, outputs_saved, fmt):
        out = persistence.load(outputs_saved[fmt]).predict(np.ones((5, 4)))
        assert {k: v.shape for k, v in out.items()} == (
            {"output_0": (5, 1), "output_1": (5, 3)} if fmt == "savedmodel"
            else {"score": (5, 1), "kind": (5, 3)})

    @pytest.mark.parametrize("fmt", ["keras", "savedmodel"])
    def test_text_inputs_where_the_model_looks_them_up(self, text_input_model, text_saved, fmt):
        import tensorflow as tf

        expected = text_input_model({k: tf.constant(v) for k, v in CITIES.items()})
        np.testing.assert_allclose(persistence.load(text_saved[fmt]).predict(CITIES),
                                   np.asarray(expected), atol=1e-6)

    def test_numbers_for_a_text_input_are_refused(self, text_saved):
        with pytest.raises(InvalidInputError, match="expected text for input 'city'"):
            persistence.load(text_saved["savedmodel"]).predict({**CITIES, "city": np.ones((3, 1))})

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_keras_keywords_batch_size_and_verbose(self, fraud_saved, fraud, fmt):
        loaded = persistence.load(fraud_saved[fmt].path)
        np.testing.assert_array_equal(loaded.predict(fraud.test.x, batch_size=100, verbose=0),
                                      loaded.predict(fraud.test.x))

    def test_other_keras_keywords_go_to_keras(self, fraud_saved, fraud):
        loaded = persistence.load(fraud_saved["keras"].path)
        assert loaded.predict(fraud.test.x[:10], callbacks=[]).shape == (10, 1)

    def test_keras_only_keywords_are_refused_for_a_savedmodel(self, fraud_saved, fraud):
        with pytest.raises(InvalidInputError, match="only batch_size= and verbose= .* callbacks"):
            persistence.load(fraud_saved["savedmodel"].path).predict(fraud.test.x, callbacks=[])

    def test_bad_batch_size_is_refused(self, fraud_saved, fraud):
        with pytest.raises(InvalidInputError, match="batch_size to be a whole number of 1"):
            persistence.load(fraud_saved["savedmodel"].path).predict(fraud.test.x, batch_size=0)

    def test_a_loaded_model_is_callable(self, fraud_saved, fraud):
        loaded = persistence.load(fraud_saved["savedmodel"].path)
        np.testing.assert_array_equal(loaded(fraud.test.x[:5]), loaded.predict(fraud.test.x[:5]))


class TestLoadedModelEvaluate:
    def test_binary_metrics(self, fraud_saved, fraud):
        m = persistence.load(fraud_saved["savedmodel"].path).evaluate(fraud.test.x, fraud.test.y)
        assert m.task == "binary" and m.total == len(fraud.test.y)

    def test_multiclass_metrics(self, digits_model, digits, tmp_path):
        path = persistence.save(digits_model, tmp_path / "d.keras").path
        assert persistence.load(path).evaluate(digits[1].x, digits[1].y).task == "multiclass"

    def test_regression_metrics(self, diabetes_model, diabetes, tmp_path):
        path = persistence.save(diabetes_model, tmp_path / "r.keras").path
        m = persistence.load(path).evaluate(diabetes[1].x, diabetes[1].y)
        assert m.task == "regression" and m.mae > 0

    def test_threshold_and_task_are_passed_on(self, fraud_saved, fraud):
        loaded = persistence.load(fraud_saved["keras"].path)
        strict = loaded.evaluate(fraud.test.x, fraud.test.y, threshold=0.9)
        assert strict.recall < loaded.evaluate(fraud.test.x, fraud.test.y).recall
        assert loaded.evaluate(fraud.test.x, fraud.test.y, task="regression").task == "regression"

    def test_several_outputs_are_refused_with_the_way_out(self, outputs_saved):
        way_out = r"has 2 \(score, kind\).*predict\(x\)\['score'\]"
        with pytest.raises(InvalidInputError, match=way_out):
            persistence.load(outputs_saved["keras"]).evaluate(np.ones((4, 4)), [0, 1, 0, 1])


class TestCompile:
    def test_compile_false_goes_to_keras(self, fraud_saved):
        assert persistence.load(fraud_saved["h5"].path, compile=False).raw.compiled is False
        assert persistence.load(fraud_saved["h5"].path).raw.compiled is True

    def test_a_legacy_loss_is_not_called_corruption(self, diabetes_model, tmp_path):
        persistence.save(diabetes_model, tmp_path / "r.h5")  # loss="mse": Keras 3 cannot read it
        with pytest.raises(ModelFileError, match="training configuration .* compile=False") as err:
            persistence.load(tmp_path / "r.h5")
        assert "corrupted" not in str(err.value)

    def test_a_legacy_loss_loads_with_compile_false(self, diabetes_model, diabetes, tmp_path):
        persistence.save(diabetes_model, tmp_path / "r.h5")
        loaded = persistence.load(tmp_path / "r.h5", compile=False)
        np.testing.assert_allclose(loaded.predict(diabetes[1].x),
                                   diabetes_model.predict(diabetes[1].x, verbose=0), rtol=1e-6)

    def test_a_truncated_h5_is_still_called_corrupted(self, fraud_saved, tmp_path):
        bad = tmp_path / "cut.h5"
        bad.write_bytes(fraud_saved["h5"].path.read_bytes()[:4096])
        with pytest.raises(ModelFileError, match="corrupted"):
            persistence.load(bad)
