"""Tests of course_lib.tfjs.browser: the in-page TF.js run, its messages simulated.

No browser runs here: the page's messages ("ready", then one "result" per back end with
its float32 predictions) are sent to the widget as JupyterLab would deliver them.
"""

from __future__ import annotations

import json
import shutil

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


class TestBeforeTheBrowserAnswers:
    def test_repr_says_where_to_open_it(self, run):
        assert repr(run) == ("BrowserRun('f32', 400 rows): open this lesson in JupyterLab to run "
                             "it in your browser")

    def test_no_results_is_not_ok(self, run):
        assert run.results == {} and not run.ok


class TestReady:
    def test_ready_sends_the_model_the_rows_and_the_bundle(self, run, sent, small_split):
        run._on_message(run, {"type": "ready", "has_tf": False}, [])
        content, buffers = sent[0]
        assert content["type"] == "model" and content["shape"] == [400, 3]
        assert content["model_json"]["format"] == "graph-model"
        assert np.frombuffer(buffers[1], "<f4").reshape(400, 3).tolist() == \
            small_split.x.astype("float32").tolist()
        assert len(buffers) == 3 and buffers[2][:200].decode("utf-8", "replace")

    def test_a_page_with_tfjs_gets_no_bundle(self, run, sent):
        run._on_message(run, {"type": "ready", "has_tf": True}, [])
        assert len(sent[0][1]) == 2


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
