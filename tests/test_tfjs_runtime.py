"""Tests of course_lib.tfjs.runtime: the real TF.js runtime in Node, and where it is found."""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np
import pytest

from course_lib import _tf, tfjs
from course_lib.errors import InvalidInputError, ModelFileError, TamperedModelError
from course_lib.persistence import TensorInfo
from course_lib.tfjs import TfjsRuntimeError, runtime

REPO_NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"


@pytest.fixture(scope="module")
def f32(small_tfjs):
    """The folder of the float32 graph model."""
    return small_tfjs.f32.path


def _keras_scores(model, x):
    return np.asarray(model.predict(np.asarray(x, dtype="float32"), verbose=0))


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("tfjs_runtime")


@pytest.fixture(scope="module")
def digits_web(tfjs_graphs):
    """The digits Conv2D model (input (n, 8, 8, 1), 10 classes) as a graph model."""
    return tfjs_graphs.digits


@pytest.fixture(scope="module")
def two_web(tfjs_graphs):
    """The two-input model ('mean', 'worst') as a graph model."""
    return tfjs_graphs.two_inputs


@pytest.fixture(scope="module")
def multi_web(tfjs_graphs):
    """Two outputs: 'score' (n, 1) and 'kind' (n, 3), returned as a list (output_0, output_1)."""
    return tfjs_graphs.multi_output


def _halves(two_inputs, n=50):
    (x, _y), _test = two_inputs
    return {k: v[:n] for k, v in x.items()}


class TestPredict:
    def test_tfjs_matches_keras_at_float32(self, f32, small_model, small_split):
        np.testing.assert_allclose(tfjs.predict(f32, small_split.x),
                                   _keras_scores(small_model, small_split.x), atol=1e-5)

    def test_ten_thousand_rows(self, f32, small_model):
        x = np.random.default_rng(1).normal(size=(10_000, 3)).astype("float32")
        scores = tfjs.predict(f32, x)
        assert isinstance(scores, np.ndarray)
        assert scores.shape == (10_000, 1)
        np.testing.assert_allclose(scores, _keras_scores(small_model, x), atol=1e-5)

    def test_uint8_model_gives_probabilities(self, small_tfjs, small_split):
        scores = tfjs.predict(small_tfjs.u8.path, small_split.x)
        assert scores.shape == (400, 1) and ((scores >= 0) & (scores <= 1)).all()

    def test_run_keeps_the_output_by_name(self, f32, small_split):
        r = tfjs.run(f32, small_split.x[:10])
        assert list(r.outputs) == ["output_0"] and r.predictions is r.outputs["output_0"]

    def test_run_reports_the_runtime(self, f32, small_split):
        r = tfjs.run(f32, small_split.x[:10])
        assert (r.rows, r.tfjs_version, r.backend) == (10, tfjs.TFJS_VERSION, "wasm")
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


class TestInputsOfAnyStructure:
    def test_image_input_keeps_its_rank_and_ten_classes(self, digits_web, digits_model, digits):
        _train, test = digits
        out = tfjs.predict(digits_web, test.x)
        assert out.shape == (len(test.y), 10)
        np.testing.assert_allclose(out, digits_model.predict(test.x, verbose=0), atol=1e-5)

    def test_two_inputs_as_a_dict(self, two_web, two_input_model, two_inputs):
        x = _halves(two_inputs)
        np.testing.assert_allclose(tfjs.predict(two_web, x),
                                   two_input_model.predict(x, verbose=0), atol=1e-5)

    def test_two_inputs_as_a_list_in_the_keras_models_order(self, two_web, two_input_model,
                                                            two_inputs):
        x = _halves(two_inputs)
        as_list = [x["mean"], x["worst"]]
        np.testing.assert_allclose(tfjs.predict(two_web, as_list),
                                   two_input_model.predict(as_list, verbose=0), atol=1e-5)

    def test_the_order_of_a_dicts_keys_does_not_matter(self, two_web, two_inputs):
        x = _halves(two_inputs)
        swapped = {"worst": x["worst"], "mean": x["mean"]}
        np.testing.assert_array_equal(tfjs.predict(two_web, swapped), tfjs.predict(two_web, x))

    def test_several_outputs_come_back_by_name(self, multi_web, multi_output_model):
        x = np.random.default_rng(0).normal(size=(20, 4)).astype("float32")
        out = tfjs.predict(multi_web, x)
        assert list(out) == ["output_0", "output_1"]
        assert out["output_0"].shape == (20, 1) and out["output_1"].shape == (20, 3)
        for name, expected in zip(out, multi_output_model.predict(x, verbose=0)):
            np.testing.assert_allclose(out[name], expected, atol=1e-5)

    def test_text_input_with_a_lookup_layer(self, text_input_model, work):
        web = tfjs.convert(text_input_model, work / "text").path
        x = {"city": np.array([["Paris"], ["Lyon"], ["Rome"]]),
             "age": np.array([[30.0], [41], [50]])}
        feed = {"city": _tf.tf().constant(x["city"].astype(object)), "age": x["age"]}
        np.testing.assert_allclose(tfjs.predict(web, x), text_input_model.predict(feed, verbose=0),
                                   atol=1e-5)


class TestInputMismatch:
    def test_wrong_image_shape_names_the_input_and_both_shapes(self, digits_web):
        with pytest.raises(InvalidInputError,
                           match=r"input 'pixels' as a 4-D array \(n, 8, 8, 1\).*"
                                 r"found shape \(5, 64\)"):
            tfjs.predict(digits_web, np.zeros((5, 64)))

    def test_wrong_shape_of_one_of_two_inputs(self, two_web):
        with pytest.raises(InvalidInputError,
                           match=r"input 'worst' of shape \(n, 10\).*found 9 \(shape \(4, 9\)\)"):
            tfjs.predict(two_web, {"mean": np.zeros((4, 10)), "worst": np.zeros((4, 9))})

    def test_missing_input_is_named(self, two_web):
        with pytest.raises(InvalidInputError,
                           match=r"inputs 'mean', 'worst'; found 'mean' \(missing 'worst'\)"):
            tfjs.predict(two_web, {"mean": np.zeros((4, 10))})

    def test_one_array_for_two_inputs(self, two_web):
        with pytest.raises(InvalidInputError,
                           match=r"expected 2 inputs \('mean', 'worst'\); found 1"):
            tfjs.predict(two_web, np.zeros((4, 20)))

    def test_inputs_with_different_rows(self, two_web):
        with pytest.raises(InvalidInputError, match="same number of rows"):
            tfjs.predict(two_web, {"mean": np.zeros((4, 10)), "worst": np.zeros((3, 10))})

    def test_mismatch_is_caught_before_node_starts(self, digits_web, monkeypatch):
        def no_node(*args, **kwargs):
            raise AssertionError("Node was started")
        monkeypatch.setattr(runtime, "call_node", no_node)
        with pytest.raises(InvalidInputError, match="input 'pixels'"):
            tfjs.run(digits_web, np.zeros((2, 8, 8)))

    def test_no_advice_to_convert_again(self, digits_web):
        with pytest.raises(InvalidInputError) as caught:
            tfjs.predict(digits_web, np.zeros((5, 64)))
        assert "convert the model again" not in str(caught.value)


class TestGraphSignature:
    def test_name_shape_and_dtype_come_from_the_signature(self, f32):
        sig = runtime.graph_signature(f32)
        assert sig.inputs == (TensorInfo("features", (None, 3), "float32"),)
        assert sig.output_names == ["output_0"] and sig.outputs[0].shape == (None, 1)

    def test_inputs_in_the_keras_models_order(self, two_web):
        assert runtime.graph_signature(two_web).input_names == ["mean", "worst"]

    def test_keys_are_the_names_tfjs_knows(self, two_web):
        keys = runtime.graph_signature(two_web).keys
        assert keys["mean"] == "mean:0" and keys["output_0"] == "output_0"

    def test_model_inputs_are_checked_and_float32(self, f32):
        rows = runtime.model_inputs(f32, [[1, 2, 3]])
        assert rows.dtype == np.float32 and rows.shape == (1, 3)

    def test_a_dict_stays_a_dict(self, two_web):
        x = runtime.model_inputs(two_web, {"mean": np.zeros((2, 10)), "worst": np.ones((2, 10))})
        assert sorted(x) == ["mean", "worst"] and x["worst"].dtype == np.float32


class TestWire:
    def test_floats_travel_as_little_endian_float32(self, tmp_path):
        file = tmp_path / "x.bin"
        assert runtime._write_input(file, np.array([[1.5, 2.0]])) == "float32"
        assert np.fromfile(file, dtype="<f4").tolist() == [1.5, 2.0]

    def test_integers_travel_as_int32(self, tmp_path):
        file = tmp_path / "x.bin"
        assert runtime._write_input(file, np.array([[7, 8]], dtype=np.int64)) == "int32"
        assert np.fromfile(file, dtype="<i4").tolist() == [7, 8]

    def test_text_travels_as_json(self, tmp_path):
        file = tmp_path / "x.json"
        assert runtime._write_input(file, np.array([["Paris"], ["Lyon"]])) == "string"
        assert file.read_text() == '["Paris", "Lyon"]'

    def test_outputs_are_read_with_their_shape(self, tmp_path):
        file = tmp_path / "y.bin"
        np.arange(6, dtype="<f4").tofile(file)
        assert runtime._read_output(file, [3, 2], "float32").shape == (3, 2)


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


# -- the back end: WebAssembly when it loads, else cpu with a note ----------------------------

WASM = "tfjs-backend-wasm"


def _node_modules_like_the_repos(root: Path, *, wasm: str) -> Path:
    """A node_modules folder holding the installed packages (symbolic links), but where the
    wasm back end cannot load.

    ``wasm``: "absent" (installed from a package.json without it), or "no-binaries" (a copy
    of the package whose .wasm files are gone, as after a broken copy).
    """
    import shutil

    installed = tfjs.node_modules()
    folder = root / "node_modules"
    (folder / "@tensorflow").mkdir(parents=True)
    for entry in installed.iterdir():
        if entry.name != "@tensorflow":
            (folder / entry.name).symlink_to(entry)
    for entry in (installed / "@tensorflow").iterdir():
        if entry.name != WASM:
            (folder / "@tensorflow" / entry.name).symlink_to(entry)
    if wasm == "no-binaries":
        copy = Path(shutil.copytree(installed / "@tensorflow" / WASM, folder / "@tensorflow" / WASM))
        for binary in (copy / "dist").glob("*.wasm"):
            binary.unlink()
    return folder


@pytest.fixture(scope="module")
def mlp_web(tmp_path_factory):
    """The 64 -> 256 -> 256 -> 1 network of the speed measurements, as a float32 graph model;
    10,000 rows and Keras's own scores for them."""
    from course_lib import models

    x = np.random.default_rng(0).normal(size=(10_000, 64)).astype("float32")
    model = models.build_fraud_model(x, normalize=False, hidden=(256, 256), name="mlp")  # as bench_tfjs
    path = tfjs.convert(model, tmp_path_factory.mktemp("mlp") / "mlp").path
    return path, x, np.asarray(model(x))


class TestBackend:
    def test_the_default_runs_on_wasm(self, f32, small_split):
        r = tfjs.run(f32, small_split.x[:10])
        assert (r.backend, r.backend_asked, r.backend_note) == ("wasm", "auto", "")
        assert "(wasm backend): " in r.verdict and "cpu" not in r.verdict

    def test_wasm_asked_for_runs_on_wasm(self, f32, small_split):
        r = tfjs.run(f32, small_split.x[:10], backend="wasm")
        assert r.backend == "wasm" and "(wasm backend, as asked): " in r.verdict

    def test_cpu_asked_for_runs_on_cpu(self, f32, small_split):
        r = tfjs.run(f32, small_split.x[:10], backend="cpu")
        assert (r.backend, r.backend_asked, r.backend_note) == ("cpu", "cpu", "")
        assert "(cpu backend, as asked): " in r.verdict and "wasm" not in r.verdict

    @pytest.mark.parametrize("backend", ["wasm", "cpu"])
    def test_ten_thousand_rows_of_a_64_256_256_1_network_within_1e_4(self, mlp_web, backend):
        path, x, keras_scores = mlp_web
        r = tfjs.run(path, x, backend=backend)
        assert r.backend == backend and r.predictions.shape == (10_000, 1)
        assert float(np.abs(r.predictions - keras_scores).max()) <= 1e-4

    def test_wasm_and_cpu_agree_with_keras_and_each_other(self, f32, small_model, small_split):
        on = {b: tfjs.predict(f32, small_split.x, backend=b) for b in ("wasm", "cpu")}
        keras_scores = _keras_scores(small_model, small_split.x)
        for scores in on.values():
            assert float(np.abs(scores - keras_scores).max()) <= 1e-4
        assert float(np.abs(on["wasm"] - on["cpu"]).max()) <= 1e-4

    def test_verify_takes_the_back_end(self, f32, small_model, small_split):
        p = tfjs.verify(f32, small_model, small_split.x, small_split.y, backend="cpu")
        assert p.ok and p.node.backend == "cpu" and p.backend_note == ""

    @pytest.mark.parametrize("bad", ["gpu", "WASM", "", None, 1])
    def test_an_unknown_back_end_is_refused_before_node_starts(self, f32, bad, monkeypatch):
        def no_node(*args, **kwargs):
            raise AssertionError("Node was started")
        monkeypatch.setattr(runtime, "call_node", no_node)
        with pytest.raises(InvalidInputError, match="backend to be one of 'auto', 'wasm', 'cpu'"):
            tfjs.run(f32, np.zeros((1, 3)), backend=bad)


class TestBackendFallback:
    """node_modules folders made from the installed one, where wasm cannot load."""

    def test_without_the_wasm_package_auto_runs_on_cpu_and_says_why(
            self, f32, small_model, small_split, tmp_path, monkeypatch):
        folder = _node_modules_like_the_repos(tmp_path, wasm="absent")
        monkeypatch.setenv("COURSE_LIB_NODE_MODULES", str(folder))
        r = tfjs.run(f32, small_split.x)
        assert (r.backend, r.backend_asked) == ("cpu", "auto") and r.ok
        assert r.backend_note == f"@tensorflow/tfjs-backend-wasm is not installed in {folder}"
        assert "(cpu backend): " in r.verdict
        assert (f"; wasm was not used: {r.backend_note}, so the slower pure-JavaScript cpu back "
                "end ran. Fix: run `npm ci`") in r.verdict
        np.testing.assert_allclose(r.predictions, _keras_scores(small_model, small_split.x),
                                   atol=1e-5)

    def test_without_the_wasm_package_asking_for_wasm_is_an_error(self, f32, tmp_path,
                                                                   monkeypatch):
        monkeypatch.setenv("COURSE_LIB_NODE_MODULES",
                           str(_node_modules_like_the_repos(tmp_path, wasm="absent")))
        with pytest.raises(TfjsRuntimeError,
                           match=r"on the wasm back end \(backend='wasm'\); "
                                 r"@tensorflow/tfjs-backend-wasm is not installed in .*npm ci"):
            tfjs.run(f32, np.zeros((2, 3)), backend="wasm")

    def test_without_the_wasm_package_asking_for_cpu_has_no_note(self, f32, tmp_path,
                                                                 monkeypatch):
        monkeypatch.setenv("COURSE_LIB_NODE_MODULES",
                           str(_node_modules_like_the_repos(tmp_path, wasm="absent")))
        r = tfjs.run(f32, np.zeros((2, 3)), backend="cpu")
        assert r.backend == "cpu" and r.backend_note == "" and "wasm" not in r.verdict

    def test_missing_wasm_binaries_are_named_in_the_note(self, f32, tmp_path, monkeypatch):
        folder = _node_modules_like_the_repos(tmp_path, wasm="no-binaries")
        monkeypatch.setenv("COURSE_LIB_NODE_MODULES", str(folder))
        r = tfjs.run(f32, np.zeros((2, 3)))
        assert r.backend == "cpu" and r.ok
        assert r.backend_note.startswith("@tensorflow/tfjs-backend-wasm did not start: ")
        assert f"{folder}/@tensorflow/{WASM}/dist/" in r.backend_note
        assert ".wasm" in r.backend_note

    def test_the_parity_verdict_carries_the_note(self, f32, small_model, small_split, tmp_path,
                                                 monkeypatch):
        folder = _node_modules_like_the_repos(tmp_path, wasm="absent")
        monkeypatch.setenv("COURSE_LIB_NODE_MODULES", str(folder))
        p = tfjs.verify(f32, small_model, small_split.x, small_split.y)
        assert p.ok and p.verdict.endswith(
            f"; TF.js ran on the cpu back end, not wasm: @tensorflow/tfjs-backend-wasm is not "
            f"installed in {folder}")


# -- the model folder's files: containment and the integrity record ---------------------------

SHARD = "group1-shard1of1.bin"


@pytest.fixture
def copy(small_tfjs, tmp_path):
    """A private copy of the float32 model folder (the shared fixture is never tampered)."""
    import shutil

    return Path(shutil.copytree(small_tfjs.f32.path, tmp_path / "model"))


def _set_paths(folder, paths):
    import json

    meta = json.loads((folder / "model.json").read_text())
    meta["weightsManifest"][0]["paths"] = paths
    (folder / "model.json").write_text(json.dumps(meta))


def _outside_shard(copy):
    """A copy of the shard beside the model folder: what a crafted path would read."""
    outside = copy.parent / "outside.bin"
    outside.write_bytes((copy / SHARD).read_bytes())
    return outside


def _flip_one_byte(file, at=50):
    raw = bytearray(file.read_bytes())
    raw[at] ^= 0x01
    file.write_bytes(bytes(raw))


def _skip_python_check(monkeypatch):
    """Let the request reach Node unchecked: the runner's own refusal is under test."""
    from course_lib.tfjs import integrity

    def unchecked(folder):
        return integrity.FileCheck(path=Path(folder), files=(), record=None)
    monkeypatch.setattr(runtime.integrity, "check_files", unchecked)


class TestContainment:
    def test_a_shard_path_with_dot_dot_is_refused(self, copy):
        _outside_shard(copy)
        _set_paths(copy, ["../outside.bin"])
        with pytest.raises(TamperedModelError, match=r"'\.\./outside\.bin'.*leaves the folder.*Fix:"):
            tfjs.predict(copy, np.zeros((2, 3)))

    def test_the_issues_etc_passwd_path_is_refused(self, copy):
        _set_paths(copy, ["../../../../etc/passwd"])
        with pytest.raises(TamperedModelError, match="etc/passwd"):
            tfjs.run(copy, np.zeros((2, 3)))

    def test_an_absolute_shard_path_is_refused(self, copy):
        _set_paths(copy, [str(_outside_shard(copy))])
        with pytest.raises(TamperedModelError, match="leaves the folder"):
            tfjs.predict(copy, np.zeros((2, 3)))

    def test_a_symlinked_shard_is_refused(self, copy):
        outside = _outside_shard(copy)
        (copy / SHARD).unlink()
        (copy / SHARD).symlink_to(outside)
        with pytest.raises(TamperedModelError, match=f"{SHARD}.*symbolic link.*Fix:"):
            tfjs.predict(copy, np.zeros((2, 3)))

    def test_a_symlinked_model_json_is_refused(self, copy, tmp_path):
        outside = tmp_path / "elsewhere.json"
        (copy / "model.json").rename(outside)
        (copy / "model.json").symlink_to(outside)
        with pytest.raises(TamperedModelError, match="model.json.*symbolic link"):
            tfjs.predict(copy, np.zeros((2, 3)))

    def test_the_node_runner_refuses_a_dot_dot_path_itself(self, copy, monkeypatch):
        _outside_shard(copy)
        _set_paths(copy, ["../outside.bin"])
        _skip_python_check(monkeypatch)
        with pytest.raises(TamperedModelError, match=r"runtime\.js.*\.\./outside\.bin.*leaves"):
            tfjs.predict(copy, np.zeros((2, 3)))

    def test_the_node_runner_refuses_a_symlinked_shard_itself(self, copy, monkeypatch):
        outside = _outside_shard(copy)
        (copy / SHARD).unlink()
        (copy / SHARD).symlink_to(outside)
        _skip_python_check(monkeypatch)
        with pytest.raises(TamperedModelError, match=r"runtime\.js.*symbolic link"):
            tfjs.predict(copy, np.zeros((2, 3)))


    def test_loading_a_layers_model_is_contained_too(self, small_model, tmp_path):
        layers = tfjs.save_layers_model(small_model, tmp_path / "layers").path
        (tmp_path / "outside.bin").write_bytes((layers / SHARD).read_bytes())
        _set_paths(layers, ["../outside.bin"])
        with pytest.raises(TamperedModelError, match=r"runtime\.js.*leaves the model folder"):
            runtime.call_node({"action": "load_layers", "model_dir": str(layers)}, 60)


class TestRecordedFiles:
    def test_one_flipped_shard_byte_is_refused(self, copy, small_split):
        _flip_one_byte(copy / SHARD)
        with pytest.raises(TamperedModelError,
                           match=rf"{SHARD} differs.*recorded sha256 [0-9a-f]{{12}}.*found "
                                 r"sha256 [0-9a-f]{12}.*Fix: convert the model again"):
            tfjs.predict(copy, small_split.x)

    def test_a_changed_model_json_is_refused(self, copy):
        (copy / "model.json").write_text((copy / "model.json").read_text() + " ")
        with pytest.raises(TamperedModelError, match="model.json differs"):
            tfjs.predict(copy, np.zeros((2, 3)))

    def test_a_missing_shard_is_refused(self, copy):
        (copy / SHARD).unlink()
        with pytest.raises(TamperedModelError, match=f"{SHARD} is missing"):
            tfjs.predict(copy, np.zeros((2, 3)))

    def test_an_extra_file_is_refused(self, copy):
        (copy / "group1-shard2of2.bin").write_bytes(b"\0" * 8)
        with pytest.raises(TamperedModelError, match="group1-shard2of2.bin is not in the record"):
            tfjs.predict(copy, np.zeros((2, 3)))

    def test_a_recorded_run_says_its_files_were_checked(self, copy):
        r = tfjs.run(copy, np.zeros((2, 3)))
        assert r.files.recorded and "not checked" not in r.verdict

    def test_a_folder_without_a_record_still_runs_and_says_so(self, copy):
        (copy / tfjs.RECORD).unlink()
        r = tfjs.run(copy, np.zeros((2, 3)))
        assert r.ok and not r.files.recorded
        assert f"files not checked against a record (no {tfjs.RECORD}" in r.verdict

    def test_without_a_record_a_traversal_is_still_refused(self, copy):
        (copy / tfjs.RECORD).unlink()
        _outside_shard(copy)
        _set_paths(copy, ["../outside.bin"])
        with pytest.raises(TamperedModelError, match="leaves the folder"):
            tfjs.predict(copy, np.zeros((2, 3)))

    def test_the_node_runner_checks_the_bytes_it_reads(self, copy, monkeypatch):
        """A shard changed after the Python check (between check and use) is refused by Node."""
        real = runtime.call_node

        def flip_then_call(request, timeout):
            _flip_one_byte(copy / SHARD)
            return real(request, timeout)
        monkeypatch.setattr(runtime, "call_node", flip_then_call)
        with pytest.raises(TamperedModelError, match=rf"runtime\.js.*{SHARD}.*recorded sha256"):
            tfjs.predict(copy, np.zeros((2, 3)))


class TestInputChecks:
    def test_zero_rows(self, f32):
        with pytest.raises(InvalidInputError, match="at least one row"):
            tfjs.predict(f32, np.zeros((0, 3)))

    def test_zero_rows_of_two_inputs(self, two_web):
        with pytest.raises(InvalidInputError, match="at least one row"):
            tfjs.predict(two_web, {"mean": np.zeros((0, 10)), "worst": np.zeros((0, 10))})

    def test_values_beyond_float32s_range(self, f32):
        with pytest.raises(InvalidInputError, match="float32"):
            tfjs.predict(f32, [[1e300, 0.0, 0.0]])

    def test_object_dtype_input(self, f32):
        with pytest.raises(InvalidInputError):
            tfjs.predict(f32, np.array([[1.0, object(), 2.0]], dtype=object))

    def test_ragged_rows(self, f32):
        with pytest.raises(InvalidInputError, match="could not read it"):
            tfjs.predict(f32, [[1.0, 2.0, 3.0], [1.0, 2.0]])

    def test_a_negative_timeout_is_refused_before_node_starts(self, f32, monkeypatch):
        def no_node(*args, **kwargs):
            raise AssertionError("Node was started")
        monkeypatch.setattr(runtime, "call_node", no_node)
        with pytest.raises(InvalidInputError, match="timeout to be a number above 0"):
            tfjs.run(f32, np.zeros((1, 3)), timeout=-1)
