"""The converted fraud model in a real browser: web/index.html in headless Chromium.

A small model is converted with course_lib.tfjs, the page (web/), the model, the rows
and the project's node_modules are served on 127.0.0.1, and the page's predictions
must equal those of TF.js in Node and of Keras in Python. Copies of the site with a
tampered model (a flipped shard byte, a missing shard, a shard path leaving the folder,
no record) show that the page checks the files before it runs the model.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from course_lib import data, models, tfjs

ROOT = Path(__file__).resolve().parents[2]
ROWS = 200

pytestmark = pytest.mark.browser


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves /node_modules/ from the project and everything else from the site folder."""

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        if clean.startswith("/node_modules/"):
            return str(ROOT / clean.lstrip("/"))
        return super().translate_path(path)

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest's output clean
        pass


SHARD = "group1-shard1of1.bin"


def _flip(model: Path) -> None:
    raw = bytearray((model / SHARD).read_bytes())
    raw[len(raw) // 2] ^= 0x01
    (model / SHARD).write_bytes(bytes(raw))


def _leave(model: Path) -> None:
    shutil.copy(model / SHARD, model.parent / "outside.bin")
    meta = json.loads((model / "model.json").read_text())
    meta["weightsManifest"][0]["paths"] = ["../outside.bin"]
    (model / "model.json").write_text(json.dumps(meta))


#: Copies of the site whose model was changed after conversion, and how.
TAMPERED = {
    "flipped": _flip,
    "missing": lambda model: (model / SHARD).unlink(),
    "leaving": _leave,
    "unrecorded": lambda model: (model / tfjs.RECORD).unlink(),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """web/ with a converted model and rows to score (in good/, and tampered copies beside it),
    plus the Python and Node predictions."""
    fraud = data.load_fraud()
    model = models.fraud_model(fraud, epochs=2)
    root = tmp_path_factory.mktemp("site")
    folder = root / "good"
    folder.mkdir()
    for page in (ROOT / "web").iterdir():
        (folder / page.name).write_bytes(page.read_bytes())
    tfjs.convert(model, folder / "model")
    x = fraud.test.x[:ROWS]
    (folder / "rows.json").write_text(json.dumps({"rows": x.tolist()}))
    for name, tamper in TAMPERED.items():
        tamper(Path(shutil.copytree(folder, root / name)) / "model")
    return {"root": root, "folder": folder, "python": models.predict_scores(model, x),
            "node": tfjs.predict(folder / "model", x).reshape(-1)}


@pytest.fixture(scope="module")
def served(site: dict[str, Any]) -> Iterator[str]:
    """The base URL of the sites: {base}/good/index.html, {base}/flipped/index.html..."""
    handler = functools.partial(_Handler, directory=str(site["root"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _open(browser: Any, url: str, screenshot: Path) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 900, "height": 700})
    tab = context.new_page()
    try:
        tab.goto(url)
        tab.wait_for_function("() => window.fraudResult !== undefined", timeout=60_000)
        result = tab.evaluate("() => window.fraudResult")
        tab.screenshot(path=str(screenshot))
        result["status"] = tab.inner_text("#status")
        return result
    finally:
        context.close()


@pytest.fixture(scope="module")
def page_result(browser: Any, served: str, artifacts: Path) -> dict[str, Any]:
    return _open(browser, f"{served}/good/index.html", artifacts / "tfjs-page.png")


@pytest.fixture(scope="module")
def tampered(browser: Any, served: str, artifacts: Path) -> dict[str, dict[str, Any]]:
    """What the page published for each tampered copy of the site."""
    return {name: _open(browser, f"{served}/{name}/index.html", artifacts / f"tfjs-page-{name}.png")
            for name in TAMPERED}


def test_page_loads_the_model_and_scores_every_row(page_result):
    assert page_result["ok"], page_result.get("error")
    assert len(page_result["scores"]) == ROWS
    assert page_result["status"].startswith(f"{ROWS} rows scored with TF.js 4.22.0")


def test_the_page_runs_on_wasm_by_default(page_result):
    assert page_result["backend"] == "wasm" and page_result["backendNote"] == ""
    assert "(wasm backend)" in page_result["status"]


@pytest.fixture(scope="module")
def on_backend(browser: Any, served: str, artifacts: Path) -> dict[str, dict[str, Any]]:
    """What the page published with ?backend=webgl, ?backend=cpu and an unknown one."""
    return {b: _open(browser, f"{served}/good/index.html?backend={b}",
                     artifacts / f"tfjs-page-{b}.png") for b in ("webgl", "cpu", "gpu")}


@pytest.mark.parametrize("backend", ["webgl", "cpu"])
def test_the_back_end_asked_for_runs_and_matches_node(on_backend, site, backend):
    result = on_backend[backend]
    assert result["ok"] and result["backend"] == backend and result["backendNote"] == ""
    assert f"({backend} backend)" in result["status"]
    np.testing.assert_allclose(result["scores"], site["node"], atol=1e-5)


def test_an_unknown_back_end_runs_on_cpu_and_says_why(on_backend, site):
    result = on_backend["gpu"]
    assert result["ok"] and result["backend"] == "cpu"
    assert 'unknown back end "gpu"' in result["backendNote"]
    assert f"Ran on cpu: {result['backendNote']}." in result["status"]
    np.testing.assert_allclose(result["scores"], site["node"], atol=1e-5)


def test_browser_predictions_equal_node(page_result, site):
    np.testing.assert_allclose(page_result["scores"], site["node"], atol=1e-6)


def test_browser_predictions_equal_python(page_result, site):
    np.testing.assert_allclose(page_result["scores"], site["python"], atol=1e-5)


def test_the_page_checks_the_files_against_their_record(page_result):
    assert page_result["checked"] and page_result["note"] == ""
    assert f"checked against {tfjs.RECORD}" in page_result["status"]


def test_the_page_refuses_a_flipped_shard_byte(tampered):
    result = tampered["flipped"]
    assert not result["ok"] and "scores" not in result
    assert f"{SHARD} differs: recorded sha256" in result["error"]
    assert "Could not score the rows" in result["status"] and "Fix:" in result["status"]


def test_the_page_refuses_a_missing_shard(tampered):
    assert not tampered["missing"]["ok"]
    assert f"{SHARD} is missing" in tampered["missing"]["error"]


def test_the_page_refuses_a_shard_path_that_leaves_the_folder(tampered):
    assert not tampered["leaving"]["ok"]
    assert "'../outside.bin'" in tampered["leaving"]["error"]
    assert "leaves the model folder" in tampered["leaving"]["error"]


def test_without_a_record_the_page_scores_and_says_the_files_were_not_checked(tampered, site):
    result = tampered["unrecorded"]
    assert result["ok"] and not result["checked"]
    assert "not checked against a record" in result["note"] and result["note"] in result["status"]
    np.testing.assert_allclose(result["scores"], site["node"], atol=1e-6)
