"""Lesson 05 in a real browser: the converted model run by TF.js inside the JupyterLab page.

The module opens ``05_tensorflowjs_conversion.ipynb`` once (a fresh kernel, outputs
cleared, Run > Run All Cells). The ``tfjs.BrowserRun`` cell's widget then loads the TF.js
bundle the package ships into the page, runs the converted float32 model on the
validation rows on each back end the page has, and sends the predictions to the kernel,
which compares them with Keras's. The tests read what the widget shows: every back end
that ran kept parity with Keras, and the timings. A screenshot of the widget and the
figures it showed go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from lab_helpers import STDERR, code_cell, run_all_cells

from course_lib.data import load_fraud
from course_lib.tfjs.browser import BACKENDS

pytestmark = pytest.mark.browser

LESSON = "05_tensorflowjs_conversion.ipynb"
#: Loading TF.js, then three back ends on 4,000 rows (webgl compiles its shaders first).
BROWSER_RUN_TIMEOUT = 240_000
#: float32 weights: TF.js and Keras agree to rounding (about 1e-7 measured).
MAX_DIFFERENCE = 1e-4
_RAN = re.compile(r"^(\w+): model loaded in (.+?), first call (.+?), ([\d,]+) rows in (.+?), "
                  r"one row in (.+?); largest difference from Keras (\S+), (\d+) rows changed "
                  r"class; every metric within 0.02 of Keras: (yes|NO)$")
_ABSENT = re.compile(r"^(\w+): not available in this browser \((.*)\)$")


@pytest.fixture(scope="module")
def lesson(lab_server: Any, lab_page: Any, artifacts: Path) -> Any:
    """Lesson 05 open in JupyterLab, every cell run top to bottom in a fresh kernel."""
    return run_all_cells(lab_server, lab_page, LESSON, artifacts)


@pytest.fixture(scope="module")
def shown(lesson: Any, artifacts: Path) -> dict[str, Any]:
    """The widget's lines once the kernel has compared every back end: {backend: match}."""
    from playwright.sync_api import expect

    cell = code_cell(lesson, "tfjs.BrowserRun(")
    lines = cell.locator(".course-lib-browser-lines")
    lines.scroll_into_view_if_needed()
    expect(lines).to_contain_text(re.compile(r"(OK|FAIL): \d of \d back ends ran"),
                                  timeout=BROWSER_RUN_TIMEOUT)
    text = lines.inner_text()
    cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "05-browser-run.png"))
    (artifacts / "05-browser-run.txt").write_text(text + "\n")
    found: dict[str, Any] = {}
    for line in text.splitlines():
        m = _RAN.match(line.strip()) or _ABSENT.match(line.strip())
        if m:
            found[m.group(1)] = m
    return {"text": text, "backends": found}


class TestRunAll:
    def test_no_error_or_stderr_output(self, lesson):
        out = lesson.locator(STDERR)
        assert out.count() == 0, [out.nth(i).inner_text()[:500] for i in range(out.count())]


class TestBrowserRun:
    def test_every_backend_is_reported(self, shown):
        assert sorted(shown["backends"]) == sorted(BACKENDS), shown["text"]

    def test_cpu_ran_every_validation_row(self, shown):
        cpu = shown["backends"]["cpu"]
        assert cpu.re is _RAN, shown["text"]
        assert int(cpu.group(4).replace(",", "")) == len(load_fraud().val)

    def test_every_backend_that_ran_kept_parity_with_keras(self, shown):
        ran = {b: m for b, m in shown["backends"].items() if m.re is _RAN}
        assert ran, shown["text"]
        for backend, m in ran.items():
            assert float(m.group(7)) <= MAX_DIFFERENCE, (backend, m.group(0))
            assert m.group(8) == "0" and m.group(9) == "yes", (backend, m.group(0))
        assert "OK: " in shown["text"]

    def test_wasm_is_named_as_not_shipped(self, shown):
        wasm = shown["backends"]["wasm"]
        assert wasm.re is _ABSENT and "tfjs-backend-wasm is not shipped" in wasm.group(2)
