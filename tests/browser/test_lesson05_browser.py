"""Lesson 05 in a real browser: the converted model run by TF.js inside the JupyterLab page.

The module opens ``05_tensorflowjs_conversion.ipynb`` once (a fresh kernel, outputs
cleared, Run > Run All Cells). The ``tfjs.BrowserRun`` cell's widget then loads the TF.js
bundle the package ships into the page, runs the converted float32 model on the
validation rows on each back end the page has, and sends the predictions to the kernel,
which compares them with Keras's. The tests read what the widget shows: every back end
that ran kept parity with Keras, and the timings. A screenshot of the widget and the
figures it showed go to ``test-artifacts/browser/``.

The other widgets are worked as a learner works them: the confusion-matrix calculator
(counts typed), the QuantizationChooser (each weights setting clicked, the budget slider
dragged down and up; what it shows is checked against ``course_lib``'s own
QuantizationChooser built in the test on the very results the page's widget holds, pulled
from the kernel), and every exercise (:class:`lab_helpers.ExerciseTests`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from lab_helpers import (
    WIDGET_TIMEOUT,
    ExerciseTests,
    RunAllTests,
    code_cell,
    drag_slider,
    expect_metrics,
    html_text,
    kernel_object,
    pick_toggle,
    slider,
    type_number,
)

from course_lib.data import load_fraud
from course_lib.metrics import Metrics
from course_lib.tfjs.browser import BACKENDS
from course_lib.widgets import QuantizationChooser

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


class TestRunAll(RunAllTests):
    """Every cell ran in order, with no error or stderr output."""


class TestBrowserRun:
    def test_every_backend_is_reported(self, shown):
        assert sorted(shown["backends"]) == sorted(BACKENDS), shown["text"]

    def test_every_backend_that_ran_kept_parity_with_keras(self, shown):
        ran = {b: m for b, m in shown["backends"].items() if m.re is _RAN}
        assert ran, shown["text"]
        for backend, m in ran.items():
            assert float(m.group(7)) <= MAX_DIFFERENCE, (backend, m.group(0))
            assert m.group(8) == "0" and m.group(9) == "yes", (backend, m.group(0))
        assert "OK: " in shown["text"]

    @pytest.mark.parametrize("backend", ["cpu", "wasm"])
    def test_cpu_and_wasm_ran_every_validation_row(self, shown, backend):
        """cpu and wasm run in every browser (the wasm back end is shipped with the course);
        webgl only where the browser offers WebGL."""
        ran = shown["backends"][backend]
        assert ran.re is _RAN, shown["text"]
        assert int(ran.group(4).replace(",", "")) == len(load_fraud().val)


class TestConfusionMatrixCalculator:
    def test_typing_the_counts_updates_the_four_metrics(self, lesson, artifacts):
        cell = code_cell(lesson, "widgets.ConfusionMatrixCalculator(")
        result = cell.locator(".widget-html-content").last
        stored = {k: int(v) for k, v in re.findall(r"(tp|fp|fn|tn)=(\d+)", cell.locator(
            ".jp-InputArea-editor").inner_text())}
        expect_metrics(result, Metrics.from_counts(**stored))
        typed = {"tp": stored["tp"] + 1, "fp": stored["fp"] + 2, "fn": stored["fn"] - 1,
                 "tn": stored["tn"] - 2}  # one more fraud caught, two more false alarms
        for name, value in typed.items():
            type_number(cell, name.upper(), value)
        expect_metrics(result, Metrics.from_counts(**typed))
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "05-calculator-typed.png"))


@pytest.fixture(scope="module")
def chooser(lesson: Any, lab_server: Any) -> dict[str, Any]:
    """The QuantizationChooser's cell and the results its widget holds in the kernel."""
    cell = code_cell(lesson, "widgets.QuantizationChooser(")
    prompt = cell.locator(".jp-InputArea-prompt").inner_text().strip()
    number = re.fullmatch(r"\[(\d+)\]:", prompt)
    assert number, prompt
    results = list(kernel_object(lab_server, f"Out[{number.group(1)}].results").values())
    return {"cell": cell, "results": results}


def expect_chooser(chooser: dict[str, Any], weights: str) -> QuantizationChooser:
    """The page's chooser shows what course_lib's shows for ``weights`` at the page's budget."""
    from playwright.sync_api import expect

    cell = chooser["cell"]
    budget = int(slider(cell, "budget (KB)").locator(".widget-readout").inner_text())
    expected = QuantizationChooser(chooser["results"], max_size_bytes=budget * 1024, weights=weights)
    shown = cell.locator(".widget-html-content")
    expect(shown.nth(0)).to_have_text(html_text(expected.result.value), timeout=WIDGET_TIMEOUT)
    expect(shown.nth(1)).to_have_text(html_text(expected.summary.value), timeout=WIDGET_TIMEOUT)
    return expected


def drag_budget_to(chooser: dict[str, Any], page: Any, size_bytes: float) -> int:
    """Drag the budget slider to about ``size_bytes``; the KB it then reads."""
    bounds = QuantizationChooser(chooser["results"]).budget
    fraction = (size_bytes / 1024 - bounds.min) / (bounds.max - bounds.min)
    return int(drag_slider(page, slider(chooser["cell"], "budget (KB)"), fraction))


class TestQuantizationChooser:
    def test_it_starts_on_the_first_setting_and_the_lessons_budget(self, chooser, artifacts):
        from playwright.sync_api import expect

        first = chooser["results"][0].label
        button = chooser["cell"].get_by_role("button", name=first, exact=True)
        expect(button).to_have_class(re.compile(r"\bmod-active\b"), timeout=WIDGET_TIMEOUT)
        expect_chooser(chooser, first)
        chooser["cell"].locator(".jp-OutputArea").screenshot(
            path=str(artifacts / "05-chooser-before.png"))

    def test_each_weights_setting_shows_its_own_verdict(self, chooser, artifacts):
        for result in chooser["results"]:
            pick_toggle(chooser["cell"], "weights", result.label)
            assert expect_chooser(chooser, result.label).budget_result.label == result.label
        chooser["cell"].locator(".jp-OutputArea").screenshot(
            path=str(artifacts / "05-chooser-each-setting.png"))

    def test_a_budget_just_above_the_smallest_setting_follows_course_lib(
            self, chooser, lesson, artifacts):
        smallest = min(chooser["results"], key=lambda r: r.size_bytes)
        pick_toggle(chooser["cell"], "weights", smallest.label)
        budget = drag_budget_to(chooser, lesson, smallest.size_bytes + 5 * 1024)
        expected = expect_chooser(chooser, smallest.label)
        assert expected.budget_result.fits == (smallest.size_bytes <= budget * 1024)
        chooser["cell"].locator(".jp-OutputArea").screenshot(
            path=str(artifacts / "05-chooser-budget-down.png"))

    def test_a_budget_above_the_largest_setting_lets_it_fit(self, chooser, lesson, artifacts):
        largest = max(chooser["results"], key=lambda r: r.size_bytes)
        pick_toggle(chooser["cell"], "weights", largest.label)
        drag_budget_to(chooser, lesson, largest.size_bytes + 10 * 1024)
        assert expect_chooser(chooser, largest.label).budget_result.fits
        chooser["cell"].locator(".jp-OutputArea").screenshot(
            path=str(artifacts / "05-chooser-budget-up.png"))


class TestExercises(ExerciseTests):
    """Every quiz and check cell of the lesson: wrong, right, Show answer, the progress file."""
