"""Tests of course_lib.tfjs.runtime: the real TF.js runtime in Node, and where it is found."""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np
import pytest

from course_lib import tfjs
from course_lib.errors import InvalidInputError, ModelFileError
from course_lib.tfjs import TfjsRuntimeError, runtime

REPO_NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"


@pytest.fixture(scope="module")
def f32(small_tfjs):
    """The folder of the float32 graph model."""
    return small_tfjs.f32.path


def _keras_scores(model, x):
    return np.asarray(model.predict(np.asarray(x, dtype="float32"), verbose=0))


class TestPredict:
    def test_tfjs_matches_keras_at_float32(self, f32, small_model, small_split):
        np.testing.assert_allclose(tfjs.predict(f32, small_split.x),
                                   _keras_scores(small_model, small_split.x), atol=1e-5)

    def test_ten_thousand_rows(self, f32, small_model):
        x = np.random.default_rng(1).normal(size=(10_000, 3)).astype("float32")
        scores = tfjs.predict(f32, x)
        assert scores.shape == (10_000, 1)
        np.testing.assert_allclose(scores, _keras_scores(small_model, x), atol=1e-5)

    def test_uint8_model_gives_probabilities(self, small_tfjs, small_split):
        scores = tfjs.predict(small_tfjs.u8.path, small_split.x)
        assert scores.shape == (400, 1) and ((scores >= 0) & (scores <= 1)).all()

    def test_run_reports_the_runtime(self, f32, small_split):
        r = tfjs.run(f32, small_split.x[:10])
        assert (r.rows, r.tfjs_version, r.backend) == (10, tfjs.TFJS_VERSION, "cpu")
        assert r.node_version.startswith("v") and "rows predicted in" in str(r)

    def test_run_is_a_report(self, f32, small_split):
        r = tfjs.run(f32, small_split.x[:10])
        assert r.ok and str(r) == r.verdict == repr(r)
        assert html.escape(r.verdict) in r._repr_html_()

    def test_integer_features_are_accepted(self, f32, small_model):
        x = np.arange(12).reshape(4, 3)
        np.testing.assert_allclose(tfjs.predict(f32, x), _keras_scores(small_model, x),
                                   atol=1e-5)

    def test_wrong_number_of_columns(self, f32):
        with pytest.raises(InvalidInputError, match=r"shape \(n, 3\).*found 4 \(shape \(5, 4\)\)"):
            tfjs.predict(f32, np.zeros((5, 4)))

    def test_one_dimensional_input(self, f32):
        with pytest.raises(InvalidInputError,
                           match=r"input 'features' as a 2-D array.*found shape \(3,\)"):
            tfjs.predict(f32, np.zeros(3))

    def test_nan_features(self, f32):
        with pytest.raises(InvalidInputError, match="NaN"):
            tfjs.predict(f32, np.full((2, 3), np.nan))

    def test_text_features(self, f32):
        with pytest.raises(InvalidInputError, match="numbers in input 'features'"):
            tfjs.predict(f32, [["a", "b", "c"]])

    @pytest.mark.parametrize("bad", [0, -1, "60", True])
    def test_timeout_must_be_positive(self, f32, bad):
        with pytest.raises(InvalidInputError, match="timeout to be a number above 0"):
            tfjs.predict(f32, np.zeros((1, 3)), timeout=bad)

    def test_folder_without_model_json(self, tmp_path):
        with pytest.raises(ModelFileError, match="model.json.*tfjs.convert"):
            tfjs.predict(tmp_path / "nowhere", np.zeros((1, 3)))

    def test_layers_model_is_not_a_graph_model(self, small_model, tmp_path):
        layers = tfjs.save_layers_model(small_model, tmp_path / "layers")
        with pytest.raises(ModelFileError, match="graph model .* found format 'layers-model'"):
            tfjs.predict(layers.path, np.zeros((1, 3)))


class TestGraphInput:
    def test_name_and_shape_come_from_the_signature(self, f32):
        assert runtime.graph_input(f32) == runtime.GraphInput("features", (None, 3))

    def test_model_rows_are_little_endian_float32(self, f32):
        rows = runtime.model_rows(f32, [[1, 2, 3]])
        assert rows.dtype == np.dtype("<f4") and rows.flags["C_CONTIGUOUS"]


class TestFindNodeModules:
    def test_the_variable_wins_even_when_the_folder_is_wrong(self, tmp_path):
        env = {"COURSE_LIB_NODE_MODULES": str(tmp_path / "nm")}
        assert runtime.find_node_modules(env, checkout=tmp_path) == tmp_path / "nm"

    def test_the_checkout_by_default(self, tmp_path):
        assert runtime.find_node_modules({}, checkout=tmp_path) == tmp_path

    def test_a_node_path_folder_with_tfjs(self, tmp_path):
        nm = tmp_path / "nm"
        (nm / "@tensorflow" / "tfjs").mkdir(parents=True)
        (nm / "@tensorflow" / "tfjs" / "package.json").write_text("{}")
        env = {"NODE_PATH": os.pathsep.join([str(tmp_path / "empty"), str(nm)])}
        assert runtime.find_node_modules(env, checkout=tmp_path / "none") == nm

    def test_none_when_nothing_is_known(self, tmp_path):
        assert runtime.find_node_modules({}, checkout=tmp_path / "none") is None

    def test_the_default_checkout_is_the_repository(self):
        assert runtime.find_node_modules({}) == REPO_NODE_MODULES


class TestRuntimeDiscovery:
    def test_env_var_pointing_to_an_empty_folder(self, f32, tmp_path, monkeypatch):
        monkeypatch.setenv("COURSE_LIB_NODE_MODULES", str(tmp_path))
        expected = r"COURSE_LIB_NODE_MODULES.*npm ci.*npm install @tensorflow/tfjs@4\.22\.0"
        with pytest.raises(TfjsRuntimeError, match=expected):
            tfjs.predict(f32, np.zeros((1, 3)))

    def test_env_var_wins(self, monkeypatch):
        monkeypatch.setenv("COURSE_LIB_NODE_MODULES", str(REPO_NODE_MODULES))
        assert tfjs.node_modules() == REPO_NODE_MODULES.resolve()

    def test_repository_checkout_by_default(self, monkeypatch):
        monkeypatch.delenv("COURSE_LIB_NODE_MODULES", raising=False)
        assert tfjs.node_modules() == REPO_NODE_MODULES.resolve()

    def test_node_path_when_there_is_no_checkout(self, tmp_path, monkeypatch):
        monkeypatch.delenv("COURSE_LIB_NODE_MODULES", raising=False)
        monkeypatch.setattr(runtime, "__file__",
                            str(tmp_path / "site" / "course_lib" / "tfjs" / "runtime.py"))
        monkeypatch.setenv("NODE_PATH", os.pathsep.join([str(tmp_path), str(REPO_NODE_MODULES)]))
        assert tfjs.node_modules() == REPO_NODE_MODULES.resolve()

    def test_nowhere_to_be_found(self, tmp_path, monkeypatch):
        monkeypatch.delenv("COURSE_LIB_NODE_MODULES", raising=False)
        monkeypatch.delenv("NODE_PATH", raising=False)
        monkeypatch.setattr(runtime, "__file__",
                            str(tmp_path / "site" / "course_lib" / "tfjs" / "runtime.py"))
        with pytest.raises(TfjsRuntimeError, match="looked in .*npm ci"):
            tfjs.node_modules()

    def test_checkout_folder_without_tfjs(self, tmp_path, monkeypatch):
        monkeypatch.delenv("COURSE_LIB_NODE_MODULES", raising=False)
        (tmp_path / "node_modules").mkdir()
        monkeypatch.setattr(runtime, "__file__", str(tmp_path / "course_lib" / "tfjs" / "runtime.py"))
        with pytest.raises(TfjsRuntimeError, match=r"@tensorflow/tfjs in .*node_modules.*npm ci"):
            tfjs.node_modules()

    def test_node_missing_from_the_path(self, f32, tmp_path, monkeypatch):
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(TfjsRuntimeError, match="Node.js .* not found.*npm ci"):
            tfjs.predict(f32, np.zeros((1, 3)))


def test_node_script_ships_inside_the_package():
    script = Path(runtime.__file__).with_name("runtime.js")
    assert script == runtime.SCRIPT
    assert script.is_file() and "loadGraphModel" in script.read_text()
