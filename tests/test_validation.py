"""Tests of course_lib.instructor.validation: `course-lib validate` (nbval on each lesson)."""

from __future__ import annotations

import contextlib
import io
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from course_lib import instructor as I
from course_lib.errors import CourseLibError
from course_lib.instructor import CellResult, NotebookNotFoundError, NotebookResult

ROOT = Path(__file__).resolve().parent.parent


# -- helpers --------------------------------------------------------------------------------

def _notebook(path: Path, cells: list[tuple[str, str | None]]) -> Path:
    """A notebook whose code cells are (source, stored stdout or None), executed in order."""
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                              "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A lesson")]
    for n, (source, stdout) in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(source, execution_count=n)
        if stdout is not None:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stdout)]
        nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


GOOD_CELLS = [
    ("print(6 * 7)", "42\n"),
    # A fresh temporary path on every run: passes only when the sanitize rules are applied.
    ("import tempfile\nprint(tempfile.mkdtemp())", "/tmp/tmpSTORED_run1\n"),
    ("# NBVAL_SKIP\nprint('not compared')", "something else\n"),
    # A duration one digit longer than the stored one widens its padded column.
    ("print('latency' + ' ' * 3 + '12.50 ms  done')", "latency    9.50 ms  done\n"),
]
BAD_CELLS = [("print(6 * 7)", "42\n"), ("print(2 + 2)", "5\n")]


def _run(main, argv: list[str], cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        mp.chdir(cwd)
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


# == validate: pure parts ==================================================================

# pytest writes the colour codes nbval puts in its messages as the text "#x1B[..m".
JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="4">
<testcase classname="00_x.ipynb" name="Cell 0" time="1.25" />
<testcase classname="00_x.ipynb" name="Cell 1" time="0.01"><failure message="m"
>#x1B[91mNotebook cell execution failed#x1B[0m
Cell 1: Cell outputs differ</failure></testcase>
<testcase classname="00_x.ipynb" name="Cell 2" time="0.02"
><skipped type="pytest.skip" message="Skipped">skip</skipped></testcase>
<testcase classname="00_x.ipynb" name="Cell 3" time="0"><error message="kernel died">kernel died</error
></testcase>
</testsuite></testsuites>"""


class TestParseJunit:
    def test_reads_each_cell_outcome_and_time(self):
        cells = I.parse_junit(JUNIT)
        assert [(c.name, c.outcome) for c in cells] == [
            ("Cell 0", "passed"), ("Cell 1", "failed"), ("Cell 2", "skipped"), ("Cell 3", "error")]
        assert cells[0].seconds == 1.25

    def test_strips_terminal_colours_from_messages(self):
        message = I.parse_junit(JUNIT)[1].message
        assert message == "Notebook cell execution failed\nCell 1: Cell outputs differ"

    def test_rejects_text_that_is_not_xml(self):
        with pytest.raises(CourseLibError, match="expected the JUnit XML report"):
            I.parse_junit("pytest crashed")


class TestNotebookResult:
    def test_counts_failed_and_errored_cells_as_failed(self):
        r = NotebookResult("00_x.ipynb", I.parse_junit(JUNIT), 3.0)
        assert (r.passed, r.failed, r.skipped, r.ok) == (1, 2, 1, False)

    def test_a_run_error_fails_the_notebook(self):
        assert not NotebookResult("00_x.ipynb", (), 1.0, error="timed out after 5 s").ok

    def test_is_a_report_with_a_verdict_a_table_and_html(self):
        r = NotebookResult("00_x.ipynb", I.parse_junit(JUNIT), 3.0)
        assert r.verdict == "00_x.ipynb: 4 cells, 2 FAILED in 3.0 s"
        assert [c.name for c in r.failures] == ["Cell 1", "Cell 3"]
        assert str(r).splitlines()[0].split() == ["cell", "outcome", "seconds"]
        assert repr(r) == str(r) and "2 FAILED" in r._repr_html_()

    def test_the_status_of_a_run_error(self):
        assert NotebookResult("00_x.ipynb", (), 1.0, error="timed out after 5 s").status == "timed out"
        assert NotebookResult("00_x.ipynb", (), 1.0, error="pytest stopped").status == "error"
        assert NotebookResult("00_x.ipynb", (), 1.0, error="pytest stopped").verdict == (
            "00_x.ipynb: 0 cells, ERROR in 1.0 s")


class TestFindNotebooks:
    def test_default_is_every_lesson_of_the_folder_sorted(self, tmp_path):
        for name in ("01_b.ipynb", "00_a.ipynb", "notes.ipynb", "sanitize.cfg"):
            (tmp_path / name).write_text("{}")
        assert [p.name for p in I.find_notebooks((), tmp_path)] == ["00_a.ipynb", "01_b.ipynb"]

    def test_names_resolve_in_the_folder_with_or_without_suffix(self, tmp_path):
        (tmp_path / "00_a.ipynb").write_text("{}")
        found = I.find_notebooks(["00_a", "00_a.ipynb"], tmp_path)
        assert found == [(tmp_path / "00_a.ipynb").resolve()] * 2

    def test_a_path_to_a_notebook_is_taken_as_is(self, tmp_path):
        nb = tmp_path / "elsewhere" / "my.ipynb"
        nb.parent.mkdir()
        nb.write_text("{}")
        assert I.find_notebooks([str(nb)], tmp_path) == [nb.resolve()]

    def test_unknown_name_lists_the_lessons(self, tmp_path):
        (tmp_path / "00_a.ipynb").write_text("{}")
        with pytest.raises(NotebookNotFoundError, match=r"'99_nope' is not one.*Lessons there: 00_a\.ipynb"):
            I.find_notebooks(["99_nope"], tmp_path)

    def test_folder_without_lessons_says_how_to_point_elsewhere(self, tmp_path):
        with pytest.raises(NotebookNotFoundError, match="found none.*--notebooks-dir"):
            I.find_notebooks((), tmp_path)

    def test_missing_folder_is_refused(self, tmp_path):
        with pytest.raises(NotebookNotFoundError, match="is not a folder"):
            I.find_notebooks((), tmp_path / "missing")


class TestDefaultNotebooksDir:
    def test_prefers_the_notebooks_folder_of_the_current_folder(self, tmp_path):
        (tmp_path / "notebooks").mkdir()
        (tmp_path / "notebooks" / "00_a.ipynb").write_text("{}")
        (tmp_path / "00_b.ipynb").write_text("{}")
        assert I.default_notebooks_dir(tmp_path, checkout=tmp_path / "x") == tmp_path / "notebooks"

    def test_takes_the_current_folder_when_it_holds_lessons(self, tmp_path):
        (tmp_path / "00_b.ipynb").write_text("{}")
        assert I.default_notebooks_dir(tmp_path, checkout=tmp_path / "x") == tmp_path

    def test_falls_back_to_the_repository_checkout(self, tmp_path):
        assert I.default_notebooks_dir(tmp_path) == ROOT / "notebooks"

    def test_nothing_found_is_an_error_with_the_fix(self, tmp_path):
        with pytest.raises(NotebookNotFoundError, match="--notebooks-dir PATH"):
            I.default_notebooks_dir(tmp_path, checkout=tmp_path / "x")


class TestSanitizeConfig:
    def test_the_notebooks_own_rules_win(self, tmp_path):
        (tmp_path / "sanitize.cfg").write_text("[x]\n")
        assert I.sanitize_config(tmp_path) == tmp_path / "sanitize.cfg"

    def test_falls_back_to_the_packaged_copy(self, tmp_path):
        assert I.sanitize_config(tmp_path) == I.PACKAGED_SANITIZE
        assert I.PACKAGED_SANITIZE.is_file()

    def test_packaged_copy_is_identical_to_notebooks_sanitize_cfg(self):
        repo = ROOT / "notebooks" / "sanitize.cfg"
        assert I.PACKAGED_SANITIZE.read_bytes() == repo.read_bytes(), (
            "course_lib/nbval_sanitize.cfg differs from notebooks/sanitize.cfg: copy one onto the other")


class TestNbvalCommand:
    def test_runs_nbval_in_the_current_env_with_rules_report_and_timeout(self, tmp_path):
        nb = tmp_path / "00_a.ipynb"
        cmd = I.nbval_command(nb, sanitize=Path("s.cfg"), junit=Path("j.xml"), ini=Path("p.ini"), timeout=90)
        assert cmd[:3] == [sys.executable, "-m", "pytest"] and cmd[-1] == str(nb)
        for flag in ("--nbval", "--nbval-current-env", "--junitxml=j.xml", "--nbval-cell-timeout=90"):
            assert flag in cmd
        assert cmd[cmd.index("--nbval-sanitize-with") + 1] == "s.cfg"

    def test_isolates_the_run_from_a_surrounding_pytest_config(self, tmp_path):
        cmd = I.nbval_command(tmp_path / "00_a.ipynb", sanitize=Path("s"), junit=Path("j"),
                              ini=Path("p.ini"), timeout=1)
        assert cmd[cmd.index("-c") + 1] == "p.ini" and "no:cacheprovider" in cmd


DIFF = "Cell 1: Cell outputs differ\n- 4\n+ 5"
RESULTS = [
    NotebookResult("00_a.ipynb", (CellResult("Cell 0", "passed", 1.0),
                                  CellResult("Cell 1", "skipped", 0.0)), 4.0),
    NotebookResult("01_b.ipynb", (CellResult("Cell 0", "passed", 1.0),
                                  CellResult("Cell 1", "failed", 0.1, DIFF)), 6.5),
    NotebookResult("02_c.ipynb", (), 9.0, error="timed out after 9 s and was stopped."),
]


class TestResultsTable:
    def test_one_row_per_notebook_and_a_total(self):
        lines = I.results_table(RESULTS).splitlines()
        assert lines[0].split() == ["notebook", "cells", "passed", "failed", "skipped", "seconds", "status"]
        assert lines[1].split() == ["00_a.ipynb", "2", "1", "0", "1", "4.0", "ok"]
        assert lines[2].split() == ["01_b.ipynb", "2", "1", "1", "0", "6.5", "FAILED"]
        assert lines[3].split() == ["02_c.ipynb", "0", "0", "0", "0", "9.0", "timed", "out"]
        assert lines[4].split() == ["total", "4", "2", "1", "1", "19.5", "2", "FAILED"]
        assert len(lines) == 5


class TestFailureReport:
    def test_names_failed_cells_and_run_errors_only(self):
        report = I.failure_report(RESULTS)
        assert "01_b.ipynb, Cell 1 (failed):\n    Cell 1: Cell outputs differ" in report
        assert "02_c.ipynb: timed out after 9 s" in report
        assert "00_a.ipynb" not in report

    def test_is_empty_when_everything_passed(self):
        assert I.failure_report(RESULTS[:1]) == ""


class TestJunitXml:
    def test_a_suite_per_notebook_with_counts(self):
        root = ET.fromstring(I.junit_xml(RESULTS))
        counts = [root.get(k) for k in ("tests", "failures", "errors", "skipped")]
        assert counts == ["5", "1", "1", "1"]
        assert [s.get("name") for s in root.iter("testsuite")] == ["00_a.ipynb", "01_b.ipynb", "02_c.ipynb"]

    def test_round_trips_through_parse_junit(self):
        back = I.parse_junit(I.junit_xml(RESULTS[:2]))
        assert [(c.name, c.outcome) for c in back] == [
            ("Cell 0", "passed"), ("Cell 1", "skipped"), ("Cell 0", "passed"), ("Cell 1", "failed")]

    def test_a_run_error_is_a_testcase_with_an_error(self):
        root = ET.fromstring(I.junit_xml(RESULTS[2:]))
        case = root.find("testsuite/testcase")
        assert case.get("name") == "02_c.ipynb" and "timed out" in case.find("error").get("message")


class TestValidateParser:
    def test_options_and_defaults(self):
        args = I.validate_parser().parse_args([])
        assert (args.notebooks, args.notebooks_dir, args.junit_xml, args.timeout) == (
            [], None, None, I.DEFAULT_TIMEOUT)

    def test_takes_notebooks_and_every_option(self):
        args = I.validate_parser().parse_args(
            ["00_a", "01_b.ipynb", "--notebooks-dir", "nb", "--junit-xml", "r.xml", "--timeout", "30"])
        assert (args.notebooks, args.notebooks_dir, args.junit_xml, args.timeout) == (
            ["00_a", "01_b.ipynb"], "nb", "r.xml", 30.0)


# == validate: real nbval runs on small notebooks outside the repository =====================

@pytest.fixture(scope="module")
def good_course(tmp_path_factory):
    """A folder with notebooks/ holding one passing lesson and NO sanitize.cfg (packaged rules apply)."""
    course = tmp_path_factory.mktemp("course")
    _notebook(course / "notebooks" / "00_good.ipynb", GOOD_CELLS)
    code, out, err = _run(I.validate_main, ["--junit-xml", "reports/cells.xml"], course)
    return course, code, out, err


@pytest.fixture(scope="module")
def mixed_course(tmp_path_factory):
    """Two lessons, the second with a stored output that is wrong."""
    folder = tmp_path_factory.mktemp("mixed")
    _notebook(folder / "00_good.ipynb", GOOD_CELLS)
    _notebook(folder / "01_bad.ipynb", BAD_CELLS)
    junit = folder / "junit.xml"
    code, out, err = _run(I.validate_main, ["--notebooks-dir", str(folder), "--junit-xml", str(junit)],
                          tmp_path_factory.mktemp("elsewhere"))
    return folder, code, out, err, junit


class TestValidateMain:
    def test_passing_folder_exits_0_with_the_table(self, good_course):
        _, code, out, _ = good_course
        assert code == 0, out
        row = next(line for line in out.splitlines() if line.startswith("00_good.ipynb"))
        assert row.split()[:5] == ["00_good.ipynb", "4", "3", "0", "1"] and row.split()[-1] == "ok"
        assert out.rstrip().endswith("all notebooks passed")
        assert "  00_good.ipynb: 4 cells, ok in " in out

    def test_uses_the_packaged_sanitize_rules_without_a_sanitize_cfg(self, good_course):
        _, _, out, _ = good_course
        assert f"sanitize rules: {I.PACKAGED_SANITIZE}" in out

    def test_writes_junit_xml_on_request(self, good_course):
        course, *_ = good_course
        root = ET.parse(course / "reports" / "cells.xml").getroot()
        assert [(c.get("name"), c.find("skipped") is not None) for c in root.iter("testcase")] == [
            ("Cell 0", False), ("Cell 1", False), ("Cell 2", True), ("Cell 3", False)]

    def test_leaves_nothing_next_to_the_notebooks(self, good_course):
        course, *_ = good_course
        assert sorted(p.name for p in (course / "notebooks").iterdir()) == ["00_good.ipynb"]

    def test_a_changed_output_fails_with_exit_1_and_names_the_cell(self, mixed_course):
        _, code, out, _, _ = mixed_course
        assert code == 1
        assert "01_bad.ipynb, Cell 1 (failed):" in out and "Cell outputs differ" in out
        assert out.rstrip().endswith("1 of 2 notebooks failed")

    def test_junit_xml_records_the_failing_cell(self, mixed_course):
        *_, junit = mixed_course
        suites = {s.get("name"): s for s in ET.parse(junit).getroot().iter("testsuite")}
        assert suites["00_good.ipynb"].get("failures") == "0"
        cases = suites["01_bad.ipynb"].iter("testcase")
        failed = [c.get("name") for c in cases if c.find("failure") is not None]
        assert failed == ["Cell 1"]

    def test_a_notebook_over_the_time_limit_is_stopped_and_failed(self, tmp_path):
        nb = _notebook(tmp_path / "00_slow.ipynb", [("import time\ntime.sleep(120)", None)])
        code, out, _ = _run(I.validate_main, [str(nb), "--timeout", "4"], tmp_path)
        assert code == 1
        assert "00_slow.ipynb: timed out after 4 s and was stopped" in out

    def test_unknown_notebook_is_raised_for_the_command_line(self, tmp_path):
        with pytest.raises(NotebookNotFoundError, match="expected a notebook"):
            I.validate_main(["--notebooks-dir", str(tmp_path), "00_missing"])

    def test_non_positive_timeout_exits_2(self, tmp_path):
        code, _, err = _run(I.validate_main, ["--timeout", "0"], tmp_path)
        assert code == 2 and "--timeout" in err


class TestValidateNotebook:
    def test_a_missing_notebook_is_raised_not_reported(self, tmp_path):
        with pytest.raises(NotebookNotFoundError, match=r"nosuch\.ipynb.*nothing is there"):
            I.validate_notebook(tmp_path / "nosuch.ipynb")

    def test_a_folder_is_not_a_notebook(self, tmp_path):
        with pytest.raises(NotebookNotFoundError, match="not a notebook file"):
            I.validate_notebook(tmp_path)


class TestStripAnsi:
    def test_removes_raw_and_junit_escaped_colour_codes(self):
        assert I.strip_ansi("\x1b[91mred\x1b[0m #x1B[32mgreen#x1B[0m") == "red green"
