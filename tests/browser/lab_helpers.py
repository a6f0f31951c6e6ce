"""What the real-browser tests of the lessons share: JupyterLab driven in Chromium.

The waits, the page scripts that read a notebook's state, the menu clicks, finding a code
cell, and :func:`run_all_cells`, which opens a lesson and runs it top to bottom.
"""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

#: Generous but bounded waits (milliseconds): a 2-core machine shared with other work.
OPEN_TIMEOUT = 120_000
START_TIMEOUT = 30_000
RUN_ALL_TIMEOUT = 300_000
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'

STATE = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
    .map(e => e.textContent.trim());
  const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
  return {prompts, kernel: indicator ? indicator.getAttribute('data-status') : null};
}"""
DONE = """() => {
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
    .map(e => e.textContent.trim());
  const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
  return prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:$/.test(p))
    && indicator !== null && indicator.getAttribute('data-status') === 'idle';
}"""
STARTED = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')]
  .some(e => /^\\[(\\*|\\d+)\\]:$/.test(e.textContent.trim()))"""
KERNEL_IDLE = """() => document.querySelector('.jp-Notebook-ExecutionIndicator')
  ?.getAttribute('data-status') === 'idle'"""


def wait_for_kernel(server: Any, page: Any) -> None:
    """Until the notebook's kernel is idle, with the page connected to it (API and status bar)."""
    page.wait_for_function(KERNEL_IDLE, timeout=OPEN_TIMEOUT)
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


def menu(page: Any, menu: str, item: str) -> None:
    """Click a top-menu entry (e.g. Run > Run All Cells) as a person would."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    label = page.locator(".lm-Menu-itemLabel:visible", has_text=re.compile(f"^{re.escape(item)}$"))
    label.click()


def code_cell(page: Any, source: str) -> Any:
    """The code cell whose source contains ``source`` (exactly one)."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(
        has=page.locator(".jp-InputArea-editor", has_text=source))
    assert cell.count() == 1, f"expected one code cell with {source!r}, found {cell.count()}"
    return cell


def run_all_cells(server: Any, page: Any, lesson: str, artifacts: Path) -> Any:
    """Open ``lesson`` in JupyterLab, clear its outputs and Run All Cells in its fresh kernel.

    Returns the page once every cell has run and the kernel is idle. A Run All that starts no
    cell (a click before the kernel is wired up) is clicked once more; a run that does not
    finish fails the test with the notebook's state, the server log and a screenshot named
    after the lesson's number in ``artifacts``.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    number = lesson[:2]
    page.goto(server.lab_url(lesson), timeout=OPEN_TIMEOUT)
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-CodeCell").first.wait_for(timeout=OPEN_TIMEOUT)
    wait_for_kernel(server, page)
    menu(page, "Edit", "Clear Outputs of All Cells")
    for attempt in (1, 2):  # a click that lands before the kernel is wired up runs nothing
        menu(page, "Run", "Run All Cells")
        try:
            page.wait_for_function(STARTED, timeout=START_TIMEOUT, polling=250)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                page.screenshot(path=str(artifacts / f"{number}-run-all-not-started.png"))
                pytest.fail(f"Run All Cells started no cell twice: {page.evaluate(STATE)}; kernels "
                            f"{server.api('/api/kernels')}", pytrace=False)
            warnings.warn("Run All Cells started no cell within "
                          f"{START_TIMEOUT // 1000} s: clicking it again", stacklevel=1)
            wait_for_kernel(server, page)
    try:
        page.wait_for_function(DONE, timeout=RUN_ALL_TIMEOUT, polling=500)
    except PlaywrightTimeout:
        page.screenshot(path=str(artifacts / f"{number}-run-all-timeout.png"))
        pytest.fail(f"Run All Cells did not finish within {RUN_ALL_TIMEOUT // 1000} s: "
                    f"{page.evaluate(STATE)}\nserver log:\n{server.log_tail()}", pytrace=False)
    return page
