"""Tests of course_lib.tfjs.browser: the in-page TF.js run, its messages simulated.

No browser runs here: the page's messages ("ready", then one "result" per back end with
its float32 predictions) are sent to the widget as JupyterLab would deliver them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from course_lib import tfjs
from course_lib.errors import InvalidInputError, TamperedModelError
from course_lib.tfjs import browser

TIMINGS = {"load_ms": 12.0, "first_ms": 40.0, "batch_ms": 30.0, "row_ms": 0.5}


@pytest.fixture
def run(small_tfjs, small_model, small_split):
    return tfjs.BrowserRun(small_tfjs.f32.path, small_split.x, small_model, small_split.y,
                           backends=("cpu", "wasm"))


@pytest.fixture
def sent(run, monkeypatch):
    out: list[tuple[dict, list]] = []
    monkeypatch.setattr(run, "send", lambda content, buffers=None: out.append((content, buffers)))
    return out


def keras_scores(model, x) -> bytes:
    return model.predict(x, verbose=0).astype("<f4").tobytes()


def result(backend: str, **extra: object) -> dict:
    return {"type": "result", "backend": backend, "available": True, **TIMINGS, **extra}


class TestBundle:
    def test_the_package_ships_the_bundle(self):
        assert browser.bundle_path() == browser.SHIPPED

    def test_the_shipped_bundle_is_the_pinned_tfjs(self):
        text = browser.SHIPPED.read_text(encoding="utf-8")
        assert f'"{tfjs.TFJS_VERSION}"' in text and "export{" in text.replace(" ", "")

    def test_the_package_ships_the_wasm_back_end(self):
        assert browser.wasm_paths() == tuple(browser.SHIPPED.parent / Path(f).name
                                             for f in browser.WASM_FILES)

    def test_the_shipped_wasm_back_end_is_the_pinned_version(self):
        script, *binaries = browser.wasm_paths()
        text = script.read_text(encoding="utf-8")
        assert f'version_wasm="{tfjs.TFJS_VERSION}"' in text and "Apache License" in text
        assert all(b.read_bytes()[:4] == b"\0asm" for b in binaries)

    @pytest.mark.parametrize("name", [Path(browser.BUNDLE).name,
                                      *(Path(f).name for f in browser.WASM_FILES)])
    def test_each_shipped_file_is_the_installed_packages_own(self, name):
        package = "tfjs" if name == Path(browser.BUNDLE).name else "tfjs-backend-wasm"
        installed = tfjs.node_modules() / "@tensorflow" / package / "dist" / name
        assert (browser.SHIPPED.parent / name).read_bytes() == installed.read_bytes()

    def test_the_licence_ships_with_them(self):
        static = browser.SHIPPED.parent
        assert "Apache License" in (static / "LICENSE-Apache-2.0.txt").read_text()
        readme = (static / "README.md").read_text()
        assert all(Path(f).name in readme for f in (browser.BUNDLE, *browser.WASM_FILES))

    def test_the_wheel_takes_every_static_file(self):
        """Hatch's wheel takes every file of course_lib/ that git does not ignore."""
        import subprocess

        static = browser.SHIPPED.parent
        files = sorted(p.name for p in static.iterdir())
        assert {"tf-backend-wasm.es2017.min.js", "tfjs-backend-wasm.wasm",
                "tfjs-backend-wasm-simd.wasm", "LICENSE-Apache-2.0.txt"} <= set(files)
        done = subprocess.run(["git", "check-ignore", *files], cwd=static, capture_output=True,
                              text=True, check=False)
        if done.returncode == 128:
            pytest.skip(f"not a git checkout: {done.stderr.strip()}")
        assert done.stdout == ""

    def test_without_the_shipped_copies_node_modules_serves(self, monkeypatch, tmp_path):
        monkeypatch.setattr(browser, "SHIPPED", tmp_path / "tf.fesm.min.js")
        found = browser.wasm_paths()
        assert found is not None and all("node_modules" in str(p) for p in found)


class TestBeforeTheBrowserAnswers:
    def test_repr_says_where_to_open_it(self, run):
        assert repr(run) == ("BrowserRun('f32', 400 rows): open this lesson in JupyterLab to run "
                             "it in your browser")

    def test_no_results_is_not_ok(self, run):
        assert run.results == {} and not run.ok


class TestReady:
    def test_ready_sends_the_model_the_rows_the_bundle_and_wasm(self, run, sent, small_split):
        run._on_message(run, {"type": "ready", "has_tf": False, "has_wasm": False}, [])
        content, buffers = sent[0]
        assert content["type"] == "model" and content["shape"] == [400, 3]
        assert content["model_json"]["format"] == "graph-model"
        assert content["parts"] == ["shards", "rows", "tf", "wasm_js", "wasm", "wasm_simd"]
        assert content["wasm_missing"] == "" and len(buffers) == 6
        assert np.frombuffer(buffers[1], "<f4").reshape(400, 3).tolist() == \
            small_split.x.astype("float32").tolist()
        assert buffers[2] == browser.SHIPPED.read_bytes()
        assert [b[:4] for b in buffers[4:]] == [b"\0asm", b"\0asm"]

    def test_a_page_with_tfjs_and_wasm_gets_neither(self, run, sent):
        run._on_message(run, {"type": "ready", "has_tf": True, "has_wasm": True}, [])
        assert sent[0][0]["parts"] == ["shards", "rows"] and len(sent[0][1]) == 2

    def test_wasm_is_sent_only_when_asked_for(self, small_tfjs, small_model, small_split,
                                              monkeypatch):
        run = tfjs.BrowserRun(small_tfjs.f32.path, small_split.x, small_model,
                              backends=("cpu",))
        assert run.payload()[0]["parts"] == ["shards", "rows", "tf"]

    def test_without_the_wasm_files_the_page_is_told_why(self, run, sent, monkeypatch):
        monkeypatch.setattr(browser, "wasm_paths", lambda: None)
        run._on_message(run, {"type": "ready", "has_tf": True}, [])
        content, buffers = sent[0]
        assert content["parts"] == ["shards", "rows"] and len(buffers) == 2
        assert "tfjs-backend-wasm is not shipped" in content["wasm_missing"]


class TestResults:
    def test_keras_scores_keep_parity(self, run, small_model, small_split):
        r = run.receive(result("cpu"), keras_scores(small_model, small_split.x))
        assert r.ok and r.max_abs_diff == 0 and r.changed_rows == 0 and r.comparison.ok
        assert r.load_seconds == pytest.approx(0.012) and r.row_seconds == pytest.approx(0.0005)

    def test_inverted_scores_break_parity(self, run, small_model, small_split):
        bad = (1 - small_model.predict(small_split.x, verbose=0)).astype("<f4").tobytes()
        r = run.receive(result("cpu"), bad)
        assert not r.ok and r.changed_rows > 0 and not r.comparison.ok

    def test_an_unavailable_backend_is_reported_not_failed(self, run, small_model, small_split):
        run.receive(result("cpu"), keras_scores(small_model, small_split.x))
        run.receive({"type": "result", "backend": "wasm", "available": False,
                     "why": "not shipped"})
        assert run.ok and "wasm: not available in this browser (not shipped)" in run.lines
        assert run.verdict.startswith("OK: 1 of 2 back ends ran")

    def test_the_page_message_goes_through_the_widget(self, run, small_model, small_split):
        run._on_message(run, result("cpu"), [memoryview(keras_scores(small_model, small_split.x))])
        assert run.results["cpu"].ok and run.lines[0].startswith("cpu: model loaded in 12.00 ms")

    def test_a_wrong_number_of_predictions_is_shown_as_an_error(self, run):
        run._on_message(run, result("cpu"), [np.zeros(3, "<f4").tobytes()])
        assert run.error == "InvalidInputError: expected 400 predictions from cpu; found 3."

    def test_an_unknown_backend_is_refused(self, run):
        with pytest.raises(InvalidInputError, match="expected a result for one of"):
            run.receive(result("webgpu"), b"")


class TestRefusals:
    def test_a_tampered_shard_is_refused_before_anything_is_sent(self, small_tfjs, small_model,
                                                                  small_split, tmp_path):
        folder = shutil.copytree(small_tfjs.f32.path, tmp_path / "m")
        shard = next(folder.glob("*.bin"))
        data = bytearray(shard.read_bytes())
        data[10] ^= 0xFF
        shard.write_bytes(bytes(data))
        with pytest.raises(TamperedModelError, match="group1-shard1of1.bin"):
            tfjs.BrowserRun(folder, small_split.x, small_model)

    def test_several_outputs_are_left_to_node(self, tfjs_graphs, multi_output_model):
        meta = json.loads((tfjs_graphs.multi_output / "model.json").read_text())
        width = meta["signature"]["inputs"]
        assert width
        with pytest.raises(InvalidInputError, match="one input and one output"):
            tfjs.BrowserRun(tfjs_graphs.multi_output, np.zeros((2, 4), "float32"),
                            multi_output_model)

    def test_unknown_backends_are_refused(self, small_tfjs, small_model, small_split):
        with pytest.raises(InvalidInputError, match="expected back ends among"):
            tfjs.BrowserRun(small_tfjs.f32.path, small_split.x, small_model, backends=("gpu",))
