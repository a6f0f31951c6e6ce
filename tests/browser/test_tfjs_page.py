"""The converted fraud model in a real browser: web/index.html in headless Chromium.

A small model is converted with course_lib.tfjs, the page (web/), the model, the rows
and the project's node_modules are served on 127.0.0.1, and the page's predictions
must equal those of TF.js in Node and of Keras in Python.
"""

from __future__ import annotations

import functools
import http.server
import json
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


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """web/ with a converted model and rows to score, plus the Python and Node predictions."""
    fraud = data.load_fraud()
    model = models.fraud_model(fraud, epochs=2)
    folder = tmp_path_factory.mktemp("site")
    for page in (ROOT / "web").iterdir():
        (folder / page.name).write_bytes(page.read_bytes())
    tfjs.convert(model, folder / "model")
    x = fraud.test.x[:ROWS]
    (folder / "rows.json").write_text(json.dumps({"rows": x.tolist()}))
    return {"folder": folder, "python": models.predict_scores(model, x),
            "node": tfjs.predict(folder / "model", x).reshape(-1)}


@pytest.fixture(scope="module")
def served(site: dict[str, Any]) -> Iterator[str]:
    handler = functools.partial(_Handler, directory=str(site["folder"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def page_result(browser: Any, served: str, artifacts: Path) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 900, "height": 700})
    tab = context.new_page()
    try:
        tab.goto(served)
        tab.wait_for_function("() => window.fraudResult !== undefined", timeout=60_000)
        result = tab.evaluate("() => window.fraudResult")
        tab.screenshot(path=str(artifacts / "tfjs-page.png"))
        result["status"] = tab.inner_text("#status")
        return result
    finally:
        context.close()


def test_page_loads_the_model_and_scores_every_row(page_result):
    assert page_result["ok"], page_result.get("error")
    assert len(page_result["scores"]) == ROWS
    assert page_result["status"].startswith(f"{ROWS} rows scored with TF.js 4.22.0")


def test_browser_predictions_equal_node(page_result, site):
    np.testing.assert_allclose(page_result["scores"], site["node"], atol=1e-6)


def test_browser_predictions_equal_python(page_result, site):
    np.testing.assert_allclose(page_result["scores"], site["python"], atol=1e-5)
