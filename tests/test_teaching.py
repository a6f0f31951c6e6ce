"""Tests of course_lib.teaching: the helpers that exist to show a pitfall for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_lib import teaching, tfjs
from course_lib.errors import InvalidInputError, ModelFileError


@pytest.fixture(scope="module")
def layers(small_model, tmp_path_factory):
    return teaching.save_layers_model(small_model, tmp_path_factory.mktemp("teaching") / "layers")


class TestLayersModel:
    def test_keras3_layers_model_is_written(self, layers):
        assert layers.format == "layers-model" and layers.weight_bytes > 0

    def test_tfjs_refuses_it_and_says_why(self, layers):
        outcome = teaching.load_layers_model(layers.path)
        assert not outcome.ok
        refused = "An InputLayer should be passed either a `batchInputShape` or an `inputShape`"
        assert refused in outcome.error
        assert "batch_shape" in outcome.diagnosis and "batch_input_shape" in outcome.diagnosis

    def test_the_outcome_reads_as_a_report(self, layers):
        outcome = teaching.load_layers_model(layers.path)
        lines = str(outcome).splitlines()
        assert lines[0] == outcome.verdict + ":" and outcome.verdict.startswith("FAIL: TF.js 4.22.0")
        assert lines[1].strip() == outcome.error and lines[2] == outcome.diagnosis
        assert "#b42318" in outcome._repr_html_() and "batchInputShape" in outcome._repr_html_()

    def test_graph_model_is_not_a_layers_model(self, small_tfjs):
        with pytest.raises(ModelFileError, match="layers model .* found format 'graph-model'"):
            teaching.load_layers_model(small_tfjs.f32.path)

    def test_existing_folder_is_kept_without_overwrite(self, small_model, layers):
        with pytest.raises(tfjs.ConversionError, match="not to exist yet"):
            teaching.save_layers_model(small_model, layers.path)

    def test_needs_a_keras_model(self, tmp_path):
        with pytest.raises(InvalidInputError, match="expected a keras.Model; found str"):
            teaching.save_layers_model("model.keras", tmp_path / "layers")

    def test_tfjs_re_exports_them(self):
        assert tfjs.save_layers_model is teaching.save_layers_model
        assert tfjs.load_layers_model is teaching.load_layers_model
        assert tfjs.LayersLoad is teaching.LayersLoad


def test_a_loaded_model_is_ok():
    loaded = teaching.LayersLoad(Path("web/m"), True, "", "4.22.0", "2.15.0", "")
    assert loaded.ok and str(loaded) == "OK: TF.js 4.22.0 loaded the layers model in web/m"
