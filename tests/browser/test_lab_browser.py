"""Lesson 00 in a real browser: JupyterLab in headless Chromium, as a learner uses it.

The module opens ``00_metrics_that_matter.ipynb`` once (a fresh kernel, outputs cleared,
Run > Run All Cells), then each test works one widget with the mouse: the threshold
slider of the ThresholdExplorer, and the fraud self-check quiz. Expected texts come from
``course_lib`` (the question bank, the dataset), never typed here. Screenshots go to
``test-artifacts/browser/``.
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from course_lib.exercises import grade, question

pytestmark = pytest.mark.browser

LESSON = "00_metrics_that_matter.ipynb"
QUIZ_ID = "fraud-self-check"
#: Generous but bounded waits (milliseconds): a 2-core machine shared with other work.
OPEN_TIMEOUT = 120_000
START_TIMEOUT = 30_000
RUN_ALL_TIMEOUT = 300_000
WIDGET_TIMEOUT = 30_000
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'

_STATE = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
    .map(e => e.textContent.trim());
  const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
  return {prompts, kernel: indicator ? indicator.getAttribute('data-status') : null};
}"""
_DONE = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
    .map(e => e.textContent.trim());
  const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
  return prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p))
    && indicator !== null && indicator.getAttribute('data-status') === 'idle';
}"""
_STARTED = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
  .some(e => /^\\[(\\*|\\d+)\\]:$/.test(e.textContent.trim()))"""
_KERNEL_IDLE = """() => document.querySelector('.jp-Notebook-ExecutionIndicator')
  ?.getAttribute('data-status') === 'idle'"""
_SUMMARY = re.compile(r"At threshold (\d\.\d\d) the model flags ([\d,]+) of ([\d,]+) rows; "
                      r"it catches ([\d,]+) of ([\d,]+) frauds")


def _wait_for_kernel(server: Any, page: Any) -> None:
    """Until the notebook's kernel is idle, with the page connected to it (API and status bar)."""
    page.wait_for_function(_KERNEL_IDLE, timeout=OPEN_TIMEOUT)
    deadline = time.monotonic() + OPEN_TIMEOUT / 1000
    while True:
        kernels = server.api("/api/kernels")
        if kernels and all(k["execution_state"] == "idle" and k.get("connections", 0) > 0
                           for k in kernels):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the kernel was not idle and connected within {OPEN_TIMEOUT // 1000} s: "
                        f"{kernels}\n{server.log_tail()}", pytrace=False)
        time.sleep(0.25)


def _menu(page: Any, menu: str, item: str) -> None:
    """Click a top-menu entry (e.g. Run > Run All Cells) as a person would."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    label = page.locator(".lm-Menu-itemLabel:visible", has_text=re.compile(f"^{re.escape(item)}$"))
    label.click()


def _code_cell(page: Any, source: str) -> Any:
    """The code cell whose source contains ``source`` (exactly one)."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(
        has=page.locator(".jp-InputArea-editor", has_text=source))
    assert cell.count() == 1, f"expected one code cell with {source!r}, found {cell.count()}"
    return cell


@dataclass(frozen=True)
class Summary:
    """The ThresholdExplorer's sentence, parsed."""

    threshold: str
    flagged: int
    total: int
    caught: int
    frauds: int

    @classmethod
    def of(cls, text: str) -> Summary:
        m = _SUMMARY.search(text)
        assert m, f"no threshold summary in {text!r}"
        t, *counts = m.groups()
        return cls(t, *(int(c.replace(",", "")) for c in counts))


@pytest.fixture(scope="module")
def lesson(lab_server: Any, lab_page: Any, artifacts: Path) -> Any:
    """Lesson 00 open in JupyterLab, every cell run top to bottom in a fresh kernel."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = lab_page
    page.goto(lab_server.lab_url(LESSON), timeout=OPEN_TIMEOUT)
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-CodeCell").first.wait_for(timeout=OPEN_TIMEOUT)
    _wait_for_kernel(lab_server, page)
    _menu(page, "Edit", "Clear Outputs of All Cells")
    for attempt in (1, 2):  # a click that lands before the kernel is wired up runs nothing
        _menu(page, "Run", "Run All Cells")
        try:
            page.wait_for_function(_STARTED, timeout=START_TIMEOUT, polling=250)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                page.screenshot(path=str(artifacts / "00-run-all-not-started.png"))
                pytest.fail(f"Run All Cells started no cell twice: {page.evaluate(_STATE)}; kernels "
                            f"{lab_server.api('/api/kernels')}", pytrace=False)
            warnings.warn("Run All Cells started no cell within "
                          f"{START_TIMEOUT // 1000} s: clicking it again", stacklevel=1)
            _wait_for_kernel(lab_server, page)
    try:
        page.wait_for_function(_DONE, timeout=RUN_ALL_TIMEOUT, polling=500)
    except PlaywrightTimeout:
        page.screenshot(path=str(artifacts / "00-run-all-timeout.png"))
        pytest.fail(f"Run All Cells did not finish within {RUN_ALL_TIMEOUT // 1000} s: "
                    f"{page.evaluate(_STATE)}\nserver log:\n{lab_server.log_tail()}", pytrace=False)
    page.screenshot(path=str(artifacts / "00-after-run-all.png"))
    return page


class TestRunAll:
    def test_every_code_cell_ran_in_order(self, lesson):
        prompts = lesson.evaluate(_STATE)["prompts"]
        assert prompts == [f"[{i}]:" for i in range(1, len(prompts) + 1)]

    def test_no_error_or_stderr_output(self, lesson):
        shown = lesson.locator(STDERR)
        assert shown.count() == 0, [shown.nth(i).inner_text()[:500] for i in range(shown.count())]


class TestThresholdExplorer:
    def test_moving_the_slider_updates_the_metrics(self, lesson, artifacts):
        from playwright.sync_api import expect

        from course_lib.data import load_fraud

        cell = _code_cell(lesson, "widgets.ThresholdExplorer(")
        outputs = cell.locator(".jp-OutputArea")
        result = cell.locator(".widget-html-content", has_text="At threshold")
        expect(result).to_contain_text("At threshold 0.50 ", timeout=WIDGET_TIMEOUT)
        before = Summary.of(result.inner_text())
        outputs.screenshot(path=str(artifacts / "00-threshold-before.png"))

        handle, track = cell.locator(".noUi-handle"), cell.locator(".noUi-target")
        handle.scroll_into_view_if_needed()
        h, t = handle.bounding_box(), track.bounding_box()
        assert h is not None and t is not None, "the slider is not displayed"
        y = h["y"] + h["height"] / 2
        lesson.mouse.move(h["x"] + h["width"] / 2, y)
        lesson.mouse.down()
        lesson.mouse.move(t["x"] + 0.8 * t["width"], y, steps=12)
        lesson.mouse.up()

        readout = cell.locator(".widget-readout")
        expect(readout).not_to_have_text("0.50", timeout=WIDGET_TIMEOUT)
        moved = readout.inner_text().strip()
        expect(result).to_contain_text(f"At threshold {moved} ", timeout=WIDGET_TIMEOUT)
        after = Summary.of(result.inner_text())
        outputs.screenshot(path=str(artifacts / "00-threshold-moved.png"))

        val = load_fraud().val
        assert float(moved) > 0.5
        assert (after.total, after.frauds) == (before.total, before.frauds) == (len(val), int(val.y.sum()))
        assert after.flagged < before.flagged and after.caught <= before.caught
        matrix = result.inner_text()
        assert f"TP {after.caught}" in matrix and f"FP {after.flagged - after.caught}" in matrix
        assert f"threshold {moved}" in matrix


class TestFraudSelfCheckQuiz:
    @pytest.mark.parametrize("correct", [False, True], ids=["wrong-answer", "right-answer"])
    def test_check_shows_the_feedback_for_the_selected_answer(self, lesson, artifacts, correct):
        from playwright.sync_api import expect

        q = question(QUIZ_ID)
        choice = next(c for c in q.choices if c.correct is correct)
        feedback = grade(q, choice.key)
        cell = _code_cell(lesson, f'widgets.quiz("{QUIZ_ID}")')
        cell.get_by_label(f"{choice.key}) {choice.text}").check()
        cell.get_by_role("button", name="Check").click()

        shown = cell.locator(".widget-html-content", has_text=feedback.message)
        expect(shown).to_contain_text("Correct." if correct else "Not quite.", timeout=WIDGET_TIMEOUT)
        expect(shown).to_contain_text(feedback.message)
        cell.locator(".jp-OutputArea").screenshot(
            path=str(artifacts / f"00-quiz-{'right' if correct else 'wrong'}-answer.png"))
