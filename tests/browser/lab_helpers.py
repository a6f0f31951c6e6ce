"""What the real-browser tests of the lessons share: JupyterLab driven in Chromium.

The waits, the page scripts that read a notebook's state, the menu clicks, finding a code
cell, :func:`run_all_cells`, which opens a lesson and runs it top to bottom (the browser
conftest's ``lesson`` fixture calls it for the module's ``LESSON``), :class:`RunAllTests`,
:func:`run_cell_as`, which types new source into a cell and runs it, and
:class:`ExerciseTests`, the tests every lesson's exercises get: each quiz widget answered
wrong, right and with Show answer, each ``check("id", ...)`` cell answered wrong then right,
and the answers found in the learner's progress file.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import warnings
from pathlib import Path
from typing import Any

import pytest
from quiz_helpers import right_answer, wrong_answer

from course_lib.exercises import MultipleChoice, answer, check, grade, question
from course_lib.metrics import Metrics

#: Generous but bounded waits (milliseconds): a 2-core machine shared with other work.
OPEN_TIMEOUT = 120_000
START_TIMEOUT = 30_000
RUN_ALL_TIMEOUT = 300_000
WIDGET_TIMEOUT = 30_000
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
_QUIZ = re.compile(r'widgets\.quiz\("([\w-]+)"\)')
_CHECK = re.compile(r'check\("([\w-]+)", \.\.\.\)')

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
        try:
            kernels = server.api("/api/kernels")
        except urllib.error.HTTPError as exc:
            # Jupyter Server answers 500 while a kernel starts ("The 'last_activity' trait of a
            # ServerKernelManager instance expected a datetime, not the NoneType None"): ask again.
            if exc.code != 500:
                raise
            kernels = None
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
    """The code cell whose source contains ``source`` (exactly one), pinned by its position.

    Pinned, the locator still finds the cell after its source is edited (:func:`run_cell_as`).
    """
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    found = [i for i, text in enumerate(cells.locator(".jp-InputArea-editor").all_inner_texts())
             if source in text]
    assert len(found) == 1, f"expected one code cell with {source!r}, found {len(found)}"
    return cells.nth(found[0])


def run_all_cells(server: Any, page: Any, lesson: str, artifacts: Path,
                  timeout: int = RUN_ALL_TIMEOUT) -> Any:
    """Open ``lesson`` in JupyterLab, clear its outputs and Run All Cells in its fresh kernel.

    Returns the page once every cell has run and the kernel is idle (within ``timeout``
    milliseconds). A Run All that starts no
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
        page.wait_for_function(DONE, timeout=timeout, polling=500)
    except PlaywrightTimeout:
        page.screenshot(path=str(artifacts / f"{number}-run-all-timeout.png"))
        pytest.fail(f"Run All Cells did not finish within {timeout // 1000} s: "
                    f"{page.evaluate(STATE)}\nserver log:\n{server.log_tail()}", pytrace=False)
    return page


def exercises(lesson: str) -> dict[str, list[str]]:
    """The exercise ids of a lesson's code cells: ``quiz`` widgets and ``check(id, ...)`` cells."""
    sources = ["".join(c["source"]) for c in json.loads((NOTEBOOKS / lesson).read_text())["cells"]
               if c["cell_type"] == "code"]
    return {kind: [m for src in sources for m in pattern.findall(src)]
            for kind, pattern in (("quiz", _QUIZ), ("check", _CHECK))}


def run_cell_as(page: Any, cell: Any, source: str) -> None:
    """Replace ``cell``'s source with ``source`` (as typed, no auto-closed brackets) and run it."""
    editor = cell.locator(".jp-InputArea-editor .cm-content")
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(source)
    page.keyboard.press("Shift+Enter")


def answer_quiz(cell: Any, question_id: str, given: str) -> Any:
    """Pick or type ``given`` in a quiz widget and press Check; the widget's feedback box."""
    q = question(question_id)
    if isinstance(q, MultipleChoice):
        choice = next(c for c in q.choices if c.key == given)
        cell.get_by_label(f"{choice.key}) {choice.text}").check()
    else:
        box = cell.get_by_placeholder("e.g. 0.75 or 75%")
        box.fill(given)
        box.press("Enter")
    cell.get_by_role("button", name="Check").click()
    return cell.locator(".widget-html-content").last


def slider(cell: Any, description: str) -> Any:
    """The slider widget of ``cell`` whose label reads ``description`` (exactly one)."""
    found = cell.locator(".widget-slider").filter(
        has=cell.page.locator(".widget-label", has_text=re.compile(f"^{re.escape(description)}$")))
    assert found.count() == 1, f"expected one slider labelled {description!r}, found {found.count()}"
    return found


def drag_slider(page: Any, widget: Any, fraction: float) -> str:
    """Drag ``widget``'s handle (a :func:`slider`) to ``fraction`` of its track with the mouse.

    Returns the readout once it shows a value other than the one before the drag.
    """
    from playwright.sync_api import expect

    readout = widget.locator(".widget-readout")
    before = readout.inner_text().strip()
    handle, track = widget.locator(".noUi-handle").first, widget.locator(".noUi-target")
    handle.scroll_into_view_if_needed()
    h, t = handle.bounding_box(), track.bounding_box()
    assert h is not None and t is not None, "the slider is not displayed"
    y = h["y"] + h["height"] / 2
    page.mouse.move(h["x"] + h["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(t["x"] + fraction * t["width"], y, steps=12)
    page.mouse.up()
    expect(readout).not_to_have_text(before, timeout=WIDGET_TIMEOUT)
    return readout.inner_text().strip()


def type_number(cell: Any, label: str, value: float) -> None:
    """Type ``value`` into the widget field labelled ``label`` and commit it (Enter), as a learner."""
    box = cell.get_by_label(label, exact=True)
    box.scroll_into_view_if_needed()
    box.fill(str(value))
    box.press("Enter")


def expect_metrics(shown: Any, metrics: Metrics) -> None:
    """``shown`` displays ``metrics`` as its HTML does: the four counts and each value to 3 places."""
    from playwright.sync_api import expect

    for count in ("tn", "fp", "fn", "tp"):
        expect(shown).to_contain_text(f"{count.upper()} {getattr(metrics, count)}", timeout=WIDGET_TIMEOUT)
    rows = dict(line.split("\t") for line in shown.inner_text().splitlines() if line.count("\t") == 1)
    assert {k: rows.get(k) for k in metrics.names} == {k: f"{metrics.get(k):.3f}" for k in metrics.names}


class RunAllTests:
    """The lesson ran top to bottom cleanly (subclass it as ``TestRunAll``; needs ``lesson``)."""

    def test_every_code_cell_ran_in_order(self, lesson):
        prompts = lesson.evaluate(STATE)["prompts"]
        assert prompts == [f"[{i}]:" for i in range(1, len(prompts) + 1)]

    def test_no_error_or_stderr_output(self, lesson):
        shown = lesson.locator(STDERR)
        assert shown.count() == 0, [shown.nth(i).inner_text()[:500] for i in range(shown.count())]


class ExerciseTests:
    """Every exercise of the module's ``LESSON``, worked in the page (subclass it as ``TestExercises``).

    Needs the module's ``lesson`` fixture (the lesson run top to bottom). The ids come from
    the notebook itself (the browser conftest parametrizes ``quiz_id`` and ``check_id``), the
    expected feedback from :mod:`course_lib.exercises` (``grade``, ``check``, ``answer``), never
    typed here.
    """

    def test_a_wrong_quiz_answer_gets_a_hint_and_another_try(self, lesson, artifacts, quiz_id):
        from playwright.sync_api import expect

        wrong = wrong_answer(quiz_id)
        cell = code_cell(lesson, f'widgets.quiz("{quiz_id}")')
        shown = answer_quiz(cell, quiz_id, wrong)
        expect(shown).to_contain_text("Not quite.", timeout=WIDGET_TIMEOUT)
        expect(shown).to_contain_text(grade(quiz_id, wrong).message)
        assert shown.inner_text().strip().endswith("Try again.")
        assert "The answer is" not in shown.inner_text()
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / f"{quiz_id}-wrong.png"))

    def test_the_right_quiz_answer_is_confirmed_with_why(self, lesson, artifacts, quiz_id):
        from playwright.sync_api import expect

        cell = code_cell(lesson, f'widgets.quiz("{quiz_id}")')
        shown = answer_quiz(cell, quiz_id, right_answer(quiz_id))
        expect(shown).to_contain_text("Correct.", timeout=WIDGET_TIMEOUT)
        expect(shown).to_contain_text(grade(quiz_id, right_answer(quiz_id)).message)
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / f"{quiz_id}-right.png"))

    def test_show_answer_gives_the_answer_and_why(self, lesson, artifacts, quiz_id):
        from playwright.sync_api import expect

        cell = code_cell(lesson, f'widgets.quiz("{quiz_id}")')
        cell.get_by_role("button", name="Show answer").click()
        shown = cell.locator(".widget-html-content").last
        expect(shown).to_contain_text(answer(quiz_id).message, timeout=WIDGET_TIMEOUT)
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / f"{quiz_id}-shown.png"))

    def test_a_check_cell_stored_unanswered_takes_a_wrong_then_a_right_answer(
            self, lesson, artifacts, check_id):
        from playwright.sync_api import expect

        placeholder = f'check("{check_id}", ...)'
        cell = code_cell(lesson, placeholder)
        output = cell.locator(".jp-OutputArea")
        expect(output).to_contain_text(check(check_id, ...).message, timeout=WIDGET_TIMEOUT)
        for given, head in ((wrong_answer(check_id), "Not quite."), (right_answer(check_id), "Correct.")):
            run_cell_as(lesson, cell, f'check("{check_id}", {given!r})')
            expect(output).to_contain_text(head, timeout=WIDGET_TIMEOUT)
            expect(output).to_contain_text(check(check_id, given).message)
            output.screenshot(path=str(artifacts / f"{check_id}-check-{head.split()[0].lower()}.png"))

    def test_a_right_answer_in_the_page_is_recorded_in_the_progress_file(
            self, lesson, lab_server, request):
        from playwright.sync_api import expect

        from course_lib import progress

        quiz_id = exercises(request.module.LESSON)["quiz"][0]
        cell = code_cell(lesson, f'widgets.quiz("{quiz_id}")')
        expect(answer_quiz(cell, quiz_id, right_answer(quiz_id))).to_contain_text(
            "Correct.", timeout=WIDGET_TIMEOUT)
        deadline = time.monotonic() + WIDGET_TIMEOUT / 1000
        while not (lab_server.progress.exists()
                   and quiz_id in (records := progress.load(lab_server.progress).records)
                   and records[quiz_id].done):
            assert time.monotonic() < deadline, f"{quiz_id} answered right is not done in the progress file"
            time.sleep(0.25)


def cell_kwargs(lesson: str, call: str) -> dict[str, Any]:
    """The literal keyword arguments the lesson's code cell passes to ``call``, as stored.

    >>> cell_kwargs("03_loading_and_inference.ipynb", "widgets.CostExplorer")["positive"]
    'fraud'

    Read from the notebook file (exactly one code cell calls ``call``); arguments that are
    not literals (``fraud.val.y``) are left out. What a widget starts on, never typed in a test.
    """
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager().transform_cell  # ``!command`` and ``%magic`` lines as Python
    sources = ["".join(c["source"]) for c in json.loads((NOTEBOOKS / lesson).read_text())["cells"]
               if c["cell_type"] == "code"]
    calls = [node for src in sources for node in ast.walk(ast.parse(python(src)))
             if isinstance(node, ast.Call) and ast.unparse(node.func) == call]
    assert len(calls) == 1, f"expected one call of {call} in {lesson}, found {len(calls)}"
    found = {}
    for kw in calls[0].keywords:
        try:
            found[kw.arg] = ast.literal_eval(kw.value)
        except ValueError:
            continue
    return found


def shown_table(shown: Any, index: int = 0) -> tuple[list[str], list[list[str]]]:
    """The headers and rows of the ``index``-th HTML table in ``shown``, as the page reads them.

    For example ``assert shown_table(result) == report.table()``: a report's ``table()`` is
    ``(headers, rows)`` of strings, the cells its HTML shows.
    """
    from playwright.sync_api import expect

    table = shown.locator("table").nth(index)
    expect(table).to_be_attached(timeout=WIDGET_TIMEOUT)
    cells = table.evaluate(
        "t => [...t.rows].map(r => [...r.cells].map(c => c.innerText.trim()))")
    return cells[0], cells[1:]


def widget_box(cell: Any, heading: str) -> Any:
    """The box of widgets in ``cell`` headed ``heading``, e.g. a ParityChecker's "before" column.

    The box is the ``VBox`` with an ``HTML`` child reading exactly ``heading``; fields inside it
    are found with :func:`type_number` on the box, apart from same-named fields beside it.
    """
    found = cell.locator(
        "xpath=.//div[contains(concat(' ', normalize-space(@class), ' '), ' widget-vbox ')]"
        "[./div[contains(concat(' ', normalize-space(@class), ' '), ' widget-html ')]"
        f"[normalize-space(.)={json.dumps(heading)}]]")
    assert found.count() == 1, f"expected one widget box headed {heading!r}, found {found.count()}"
    return found


def pick_toggle(cell: Any, description: str, option: str) -> Any:
    """Click ``option`` of the toggle buttons of ``cell`` labelled ``description``, as a learner.

    For example ``pick_toggle(cell, "weights", "uint8")`` selects the chooser's uint8 weights.
    Returns the clicked button once the page shows it selected (exactly one group has the
    label; the option is matched exactly, so "uint8" is not "uint8, dense only").
    """
    from playwright.sync_api import expect

    group = cell.locator(".widget-toggle-buttons").filter(
        has=cell.page.locator(".widget-label", has_text=re.compile(f"^{re.escape(description)}$")))
    assert group.count() == 1, f"expected one toggle group labelled {description!r}, found {group.count()}"
    button = group.get_by_role("button", name=option, exact=True)
    button.scroll_into_view_if_needed()
    button.click()
    expect(button).to_have_class(re.compile(r"\bmod-active\b"), timeout=WIDGET_TIMEOUT)
    return button


def kernel_object(server: Any, expression: str) -> Any:
    """The object ``expression`` evaluates to in the lesson's kernel, pickled across to the test.

    For example ``kernel_object(lab_server, "Out[12].results")`` is the results held by the
    widget of the cell run as [12]. For figures that depend on what the lesson trained: the test recomputes them with
    ``course_lib`` from the very objects the page's widget holds. The expression runs as a
    silent request on the server's kernel channel (no prompt number, nothing shown in the
    page, the history untouched); the server must run exactly one kernel.
    """
    import ast
    import base64
    import pickle
    import uuid
    from datetime import datetime, timezone

    import websocket

    kernels = server.api("/api/kernels")
    assert len(kernels) == 1, f"expected one kernel, found {len(kernels)}"
    session, msg_id = uuid.uuid4().hex, uuid.uuid4().hex
    url = (f"{server.url.replace('http', 'ws', 1)}/api/kernels/{kernels[0]['id']}/channels"
           f"?session_id={session}")
    wrapped = f"__import__('base64').b64encode(__import__('pickle').dumps({expression})).decode()"
    request = {
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                   "session": session, "date": datetime.now(timezone.utc).isoformat(),
                   "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": "", "silent": True, "store_history": False, "allow_stdin": False,
                    "user_expressions": {"value": wrapped}, "stop_on_error": False},
    }
    ws = websocket.create_connection(url, header=[f"Authorization: token {server.token}"],
                                     timeout=WIDGET_TIMEOUT / 1000)
    try:
        ws.send(json.dumps(request))
        deadline = time.monotonic() + WIDGET_TIMEOUT / 1000
        while True:
            assert time.monotonic() < deadline, f"no reply from the kernel to {expression!r}"
            msg = json.loads(ws.recv())
            if msg.get("channel") == "shell" and msg["parent_header"].get("msg_id") == msg_id:
                break
    finally:
        ws.close()
    value = msg["content"]["user_expressions"]["value"]
    assert value["status"] == "ok", f"{expression!r} failed in the kernel: {value.get('ename')}: " \
                                    f"{value.get('evalue')}"
    return pickle.loads(base64.b64decode(ast.literal_eval(value["data"]["text/plain"])))


def html_text(markup: str) -> str:
    """The text a page shows for a widget's HTML value, e.g. ``html_text("<p><b>OK</b>: x</p>")``.

    Tags dropped, entities decoded, spaces collapsed: what Playwright's ``to_contain_text``
    matches, for expected texts taken from a widget built in the test from course_lib.
    """
    import html

    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", markup)).split())
