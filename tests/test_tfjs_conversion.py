"""Tests of course_lib.tfjs.conversion: the real tensorflowjs converter and what it wrote."""

from __future__ import annotations

import json

import pytest

from course_lib import _tf, persistence, tfjs
from course_lib.errors import CourseLibError, InvalidInputError, ModelFileError
from course_lib.persistence import TensorInfo
from course_lib.tfjs import ConversionError, TfjsRuntimeError, conversion


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("tfjs_conversion")


@pytest.fixture(scope="module")
def saved_model(small_tfjs):
    return small_tfjs.savedmodel


@pytest.fixture(scope="module")
def f32(small_tfjs):
    return small_tfjs.f32


@pytest.fixture(scope="module")
def u8(small_tfjs):
    return small_tfjs.u8


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


class TestConvert:
    def test_keras_model_becomes_a_graph_model_with_its_files(self, f32):
        assert f32.format == "graph-model" and f32.label == "float32"
        assert {f.path for f in f32.files} == {"model.json", "group1-shard1of1.bin", tfjs.RECORD}

    def test_sizes_add_up_from_the_files_on_disk(self, f32):
        on_disk = {p.name: p.stat().st_size for p in f32.path.iterdir() if p.name != tfjs.RECORD}
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
        assert u8.stored_as == "uint8"

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
        assert done.stored_as == "uint8 (partly)"

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

    def test_keras_file_explains_the_layers_model_pitfall(self, small_model, work):
        path = persistence.save(small_model, work / "small.keras").path
        with pytest.raises(ConversionError, match="is a .keras file.*InputLayer.*persistence.load"):
            tfjs.convert(path, work / "out_keras")

    @pytest.mark.parametrize("bad", ["int4", "float32", 8])
    def test_unknown_quantize_value(self, saved_model, work, bad):
        with pytest.raises(InvalidInputError, match=r"quantize to be None, 'float16', 'uint16' or 'uint8'"):
            tfjs.convert(saved_model, work / "out_q", quantize=bad)

    def test_float32_word_gets_a_hint(self, saved_model, work):
        with pytest.raises(InvalidInputError, match="pass quantize=None"):
            tfjs.convert(saved_model, work / "out_q", quantize="float32")

    @pytest.mark.parametrize("bad", [[], "", ["*/dense_*", ""], 5])
    def test_weight_patterns_must_be_texts(self, saved_model, work, bad):
        with pytest.raises(InvalidInputError, match="weights"):
            tfjs.convert(saved_model, work / "out_w", quantize="uint8", weights=bad)
        assert not (work / "out_w").exists()

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
        assert not (work / "out_pat").exists()

    def test_object_that_is_no_model(self, work):
        with pytest.raises(InvalidInputError, match="keras.Model or the path .* found dict"):
            tfjs.convert({"weights": []}, work / "out_obj")


@pytest.fixture(scope="module")
def two_savedmodel(two_input_model, work):
    return persistence.save(two_input_model, work / "two_savedmodel").path


class TestSignature:
    def test_inputs_and_outputs_are_recorded(self, f32):
        assert f32.inputs == (TensorInfo("features", (None, 3), "float32"),)
        assert f32.outputs == (TensorInfo("output_0", (None, 1), "float32"),)

    def test_text_shows_what_the_model_takes_and_returns(self, f32):
        assert str(f32).splitlines()[1] == ("takes features: float32 (n, 3); "
                                            "returns output_0: float32 (n, 1)")

    def test_image_model_records_its_rank(self, digits_model, work):
        done = tfjs.convert(digits_model, work / "digits")
        assert done.inputs[0].shape == (None, 8, 8, 1) and done.outputs[0].shape == (None, 10)

    def test_two_input_model_converts_in_the_keras_input_order(self, two_input_model, work):
        done = tfjs.convert(two_input_model, work / "two")
        assert [t.name for t in done.inputs] == ["mean", "worst"]
        meta = json.loads((done.path / "model.json").read_text())
        assert [k.split(":")[0] for k in meta["signature"]["inputs"]] == ["mean", "worst"]

    def test_integer_constants_are_not_quantized_weights(self, tfjs_graphs):
        done = conversion.Conversion.read(tfjs_graphs.two_inputs)
        assert "int32" in {w.stored_as for w in done.weights} and done.stored_as == "float32"

    def test_two_input_savedmodel_keeps_the_keras_input_order(self, two_savedmodel, work):
        done = tfjs.convert(two_savedmodel, work / "two_from_savedmodel")
        assert [t.name for t in done.inputs] == ["mean", "worst"]

    def test_input_order_of_a_keras_model_and_of_its_savedmodel(self, two_input_model,
                                                                two_savedmodel):
        assert conversion.input_order(two_input_model) == ["mean", "worst"]
        assert conversion.input_order(two_savedmodel) == ["mean", "worst"]

    def test_lookup_table_handles_are_not_inputs(self):
        meta = {"signature": {"inputs": {
            "city:0": {"dtype": "DT_STRING",
                       "tensorShape": {"dim": [{"size": "-1"}, {"size": "1"}]}},
            "unknown": {"dtype": "DT_RESOURCE", "resourceId": 7}}, "outputs": {}}}
        inputs, _ = conversion.signature(meta)
        assert [(k, t.dtype) for k, t in inputs] == [("city:0", "string")]

    def test_outputs_in_the_order_keras_returns_them(self):
        meta = {"signature": {"inputs": {}, "outputs": {
            "output_10": {"name": "Identity_10:0"}, "output_2": {"name": "Identity_2:0"},
            "output_0": {"name": "Identity:0"}}}}
        _, outputs = conversion.signature(meta)
        assert [k for k, _ in outputs] == ["output_0", "output_2", "output_10"]


class TestConversionReport:
    def test_ok_and_verdict(self, f32):
        assert f32.ok and f32.verdict.startswith("OK: a browser downloads")
        assert "1 weight shard" in f32.verdict

    def test_text_has_the_title_and_one_row_per_file(self, f32):
        text = str(f32)
        assert text.splitlines()[0].startswith("graph-model (float32 weights) in ")
        assert "tensorflowjs" in text and "group1-shard1of1.bin" in text and "model.json" in text
        assert repr(f32) == text

    def test_html_table(self, f32):
        page = f32._repr_html_()
        assert "<table" in page and "what it holds" in page and "group1-shard1of1.bin" in page

    def test_weights_table_lists_every_weight(self, u8):
        table = u8.weights_table()
        assert table.splitlines()[0].startswith("weight") and "stored as" in table
        assert len(table.splitlines()) == 1 + len(u8.weights) and "uint8" in table

    def test_read_describes_a_folder(self, f32):
        again = conversion.Conversion.read(f32.path)
        assert (again.format, again.size_bytes, again.weights) == (f32.format, f32.size_bytes,
                                                                   f32.weights)


class TestReadModelJson:
    def test_missing_folder(self, tmp_path):
        with pytest.raises(ModelFileError, match="model.json.*does not exist.*tfjs.convert"):
            conversion.read_model_json(tmp_path / "nowhere")

    def test_folder_without_model_json_lists_what_it_holds(self, tmp_path):
        (tmp_path / "notes.txt").write_text("x")
        with pytest.raises(ModelFileError, match=r"holds \['notes.txt'\]"):
            conversion.read_model_json(tmp_path)

    def test_broken_json(self, tmp_path):
        (tmp_path / "model.json").write_text("{not json")
        with pytest.raises(ModelFileError, match="not readable JSON.*convert the model again"):
            conversion.read_model_json(tmp_path)


def test_caught_output_drops_known_noise():
    with conversion.caught_output() as lines:
        print("Number of eligible GPUs (core count >= 8, compute capability >= 0.0): 0")
        print("kept line")
    assert lines == ["kept line"]


def test_slug_of_a_label():
    assert conversion.slug("uint8, dense only") == "uint8_dense_only"
    assert conversion.slug("!!!") == "model"


def test_errors_are_course_lib_errors():
    assert issubclass(ConversionError, CourseLibError)
    assert issubclass(TfjsRuntimeError, CourseLibError)


def test_model_json_signature_names_the_input(f32):
    meta = json.loads((f32.path / "model.json").read_text())
    assert list(meta["signature"]["inputs"]) == ["features"]


class TestFileRecord:
    def test_convert_records_the_sha256_and_size_of_every_file_it_wrote(self, f32):
        from course_lib import _fs

        record = json.loads((f32.path / tfjs.RECORD).read_text())
        on_disk = {p.name: _fs.sha256(p) for p in f32.path.iterdir() if p.name != tfjs.RECORD}
        assert {k: (v["sha256"], v["size"]) for k, v in record["files"].items()} == on_disk

    def test_the_record_is_listed_but_not_counted_in_the_download(self, f32):
        listed = {f.path: f for f in f32.files}
        assert "checked before TF.js runs" in listed[tfjs.RECORD].role
        assert f32.size_bytes == listed["model.json"].size_bytes + f32.weight_bytes

    def test_the_record_says_what_it_catches_and_what_not(self, f32):
        note = json.loads((f32.path / tfjs.RECORD).read_text())["note"]
        assert "catches accidents" in note and "not someone who rewrites" in note

    def test_overwriting_records_the_new_files(self, saved_model, work):
        target = work / "rerecorded"
        tfjs.convert(saved_model, target)
        tfjs.convert(saved_model, target, quantize="uint8", overwrite=True)
        assert tfjs.check_files(target).recorded

    def test_record_files_for_a_folder_converted_without_a_record(self, f32, tmp_path):
        import shutil

        folder = shutil.copytree(f32.path, tmp_path / "cli")
        (folder / tfjs.RECORD).unlink()
        assert not tfjs.check_files(folder).recorded
        done = tfjs.record_files(folder)
        assert done.recorded and done.ok and (folder / tfjs.RECORD).is_file()
        assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
