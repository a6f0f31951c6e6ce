"""Tests of course_lib.instructor: `course-lib validate` and `course-lib doctor`."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from course_lib import instructor as I
from course_lib.errors import CourseLibError
from course_lib.instructor import CellResult, Check, NotebookNotFoundError, NotebookResult

ROOT = Path(__file__).resolve().parent.parent
TFJS_VERSION = "4.22.0"


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
]
BAD_CELLS = [("print(6 * 7)", "42\n"), ("print(2 + 2)", "5\n")]


def _run(main, argv: list[str], cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        mp.chdir(cwd)
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _executable(path: Path, script: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(0o755)
    return path


needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on the PATH")


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
        assert lines[2].split() == ["00_a.ipynb", "2", "1", "0", "1", "4.0", "ok"]
        assert lines[3].split() == ["01_b.ipynb", "2", "1", "1", "0", "6.5", "FAILED"]
        assert lines[4].split() == ["02_c.ipynb", "0", "0", "0", "0", "9.0", "timed", "out"]
        assert lines[5].split() == ["total", "4", "2", "1", "1", "19.5", "2", "FAILED"]


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
        assert row.split()[:5] == ["00_good.ipynb", "3", "2", "0", "1"] and row.split()[-1] == "ok"
        assert out.rstrip().endswith("all notebooks passed")

    def test_uses_the_packaged_sanitize_rules_without_a_sanitize_cfg(self, good_course):
        _, _, out, _ = good_course
        assert f"sanitize rules: {I.PACKAGED_SANITIZE}" in out

    def test_writes_junit_xml_on_request(self, good_course):
        course, *_ = good_course
        root = ET.parse(course / "reports" / "cells.xml").getroot()
        assert [(c.get("name"), c.find("skipped") is not None) for c in root.iter("testcase")] == [
            ("Cell 0", False), ("Cell 1", False), ("Cell 2", True)]

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

    def test_unknown_notebook_exits_2_with_the_reason(self, tmp_path):
        code, _, err = _run(I.validate_main, ["--notebooks-dir", str(tmp_path), "00_missing"], tmp_path)
        assert code == 2 and "course-lib validate: expected a notebook" in err

    def test_non_positive_timeout_exits_2(self, tmp_path):
        code, _, err = _run(I.validate_main, ["--timeout", "0"], tmp_path)
        assert code == 2 and "--timeout" in err


# == doctor: the checks ===================================================================

class TestCheck:
    def test_ok_check_shows_no_fix(self):
        assert str(Check("node", True, "v20.1.0", "install node")) == "ok    node: v20.1.0"

    def test_failing_required_check_shows_fail_and_fix(self):
        text = str(Check("node", False, "missing", "install node"))
        assert text == "FAIL  node: missing\n      fix: install node"

    def test_failing_optional_check_only_warns(self):
        assert Check("nbval", False, "missing", required=False).label == "warn"


class TestCheckPython:
    @pytest.mark.parametrize("version", [(3, 10, 0), (3, 11, 7), (3, 12, 3)])
    def test_supported_versions_pass(self, version):
        assert I.check_python(version).ok

    @pytest.mark.parametrize("version", [(3, 9, 18), (3, 13, 0)])
    def test_other_versions_fail_with_the_fix(self, version):
        c = I.check_python(version)
        assert not c.ok and "3.10 to 3.12" in c.detail and "python3.11 -m venv" in c.fix


class TestCheckImport:
    def test_importable_module_passes_with_its_version(self):
        c = I.check_import("pytest")
        assert c.ok and c.detail.startswith(pytest.__version__)

    def test_missing_module_fails_with_the_fix(self):
        c = I.check_import("no_such_module_xyz", fix="pip install it")
        assert not c.ok and "No module named 'no_such_module_xyz'" in c.detail and c.fix == "pip install it"

    def test_version_outside_the_pin_fails(self):
        c = I.check_import("pytest", spec="<1")
        assert not c.ok and c.detail == f"{pytest.__version__} installed; the course needs pytest<1"

    def test_an_import_that_hangs_is_stopped_at_the_timeout(self, tmp_path, monkeypatch):
        (tmp_path / "slow_module_xyz.py").write_text("import time\ntime.sleep(60)\n")
        monkeypatch.setenv("PYTHONPATH", str(tmp_path))
        c = I.check_import("slow_module_xyz", timeout=1)
        assert not c.ok and c.detail == "`import slow_module_xyz` did not finish within 1 s"

    def test_optional_check_keeps_its_flag(self):
        assert not I.check_import("no_such_module_xyz", required=False).required


class TestCheckNode:
    def test_no_node_on_the_path_fails_with_the_fix(self, tmp_path):
        c = I.check_node(path=str(tmp_path))
        assert not c.ok and "not found on the PATH" in c.detail and "Node 20" in c.fix

    def test_old_node_fails(self, tmp_path):
        _executable(tmp_path / "node", "echo v18.19.0")
        c = I.check_node(path=str(tmp_path))
        assert not c.ok and c.detail.startswith("v18.19.0") and "Node 20 or later" in c.detail

    def test_node_20_passes(self, tmp_path):
        _executable(tmp_path / "node", "echo v20.1.0")
        c = I.check_node(path=str(tmp_path))
        assert c.ok and c.detail == f"v20.1.0 at {tmp_path / 'node'}"

    def test_garbage_version_fails(self, tmp_path):
        _executable(tmp_path / "node", "echo hello")
        assert "not a version" in I.check_node(path=str(tmp_path)).detail


class TestFindNodeModules:
    def test_the_environment_variable_wins(self, tmp_path):
        env = {"COURSE_LIB_NODE_MODULES": str(tmp_path / "nm")}
        assert I.find_node_modules(env, checkout=tmp_path) == tmp_path / "nm"

    def test_the_checkout_folder_next(self, tmp_path):
        assert I.find_node_modules({}, checkout=tmp_path) == tmp_path

    def test_a_node_path_folder_with_tfjs_last(self, tmp_path):
        nm = tmp_path / "lib"
        (nm / "@tensorflow" / "tfjs").mkdir(parents=True)
        (nm / "@tensorflow" / "tfjs" / "package.json").write_text("{}")
        assert I.find_node_modules({"NODE_PATH": str(nm)}, checkout=tmp_path / "none") == nm

    def test_none_when_nothing_is_known(self, tmp_path):
        assert I.find_node_modules({}, checkout=tmp_path / "none") is None


class TestCheckTfjs:
    def test_no_folder_fails_with_npm_fix(self):
        c = I.check_tfjs(None, expected=TFJS_VERSION)
        assert not c.ok and "npm ci" in c.fix and "COURSE_LIB_NODE_MODULES" in c.fix

    def test_missing_folder_fails(self, tmp_path):
        assert "is not a folder" in I.check_tfjs(tmp_path / "nope", expected=TFJS_VERSION).detail

    def test_without_node_says_to_install_node_first(self, tmp_path):
        c = I.check_tfjs(tmp_path, path=str(tmp_path), expected=TFJS_VERSION)
        assert not c.ok and "`node` is not on the PATH" in c.detail and c.fix.startswith("install Node first")

    @needs_node
    def test_empty_node_modules_is_not_resolvable(self, tmp_path):
        c = I.check_tfjs(tmp_path, expected=TFJS_VERSION)
        assert not c.ok and c.detail.startswith(f"not resolvable from {tmp_path}: ")
        assert "Cannot find module" in c.detail

    @needs_node
    def test_other_version_fails(self, tmp_path):
        pkg = tmp_path / "@tensorflow" / "tfjs"
        pkg.mkdir(parents=True)
        manifest = {"name": "@tensorflow/tfjs", "version": "3.0.0", "main": "index.js"}
        (pkg / "package.json").write_text(json.dumps(manifest))
        (pkg / "index.js").write_text("module.exports = {};\n")
        c = I.check_tfjs(tmp_path, expected=TFJS_VERSION)
        assert not c.ok and c.detail == f"3.0.0 in {tmp_path}; the course pins {TFJS_VERSION}"

    @needs_node
    def test_the_course_node_modules_passes(self):
        nm = ROOT / "node_modules"
        if not (nm / "@tensorflow" / "tfjs").is_dir():
            pytest.skip("run `npm ci` (make setup) to install @tensorflow/tfjs")
        c = I.check_tfjs(nm)
        assert c.ok and c.detail == f"{TFJS_VERSION} in {nm}"


class TestCheckJupyterlab:
    def test_installed_jupyterlab_passes(self):
        assert I.check_jupyterlab(">=4.2,<5").ok

    def test_version_outside_the_range_fails(self):
        c = I.check_jupyterlab("<4")
        assert not c.ok and "the course needs jupyterlab<4" in c.detail


LABEXT = """JupyterLab v4.6.6
/venv/share/jupyter/labextensions
        jupyterlab_pygments v0.3.0 \x1b[32menabled\x1b[0m \x1b[32mOK\x1b[0m (python, jupyterlab_pygments)
        @jupyter-widgets/jupyterlab-manager v5.0.16 \x1b[32menabled\x1b[0m \x1b[32mOK\x1b[0m (python, jupyterlab_widgets)
"""


class TestParseLabextensions:
    def test_reads_names_and_status_without_colours(self):
        assert I.parse_labextensions(LABEXT) == {
            "jupyterlab_pygments": "v0.3.0 enabled OK (python, jupyterlab_pygments)",
            "@jupyter-widgets/jupyterlab-manager": "v5.0.16 enabled OK (python, jupyterlab_widgets)",
        }

    def test_headers_are_not_extensions(self):
        assert I.parse_labextensions("JupyterLab v4.6.6\n/venv/share/jupyter/labextensions\n") == {}


class TestCheckWidgetsExtension:
    def test_enabled_extension_passes(self, tmp_path):
        jupyter = _executable(tmp_path / "jupyter", f"cat <<'EOF' >&2\n{LABEXT}EOF")
        c = I.check_widgets_extension(str(jupyter))
        assert c.ok and c.detail == "@jupyter-widgets/jupyterlab-manager v5.0.16 enabled"

    def test_disabled_extension_fails_with_enable_fix(self, tmp_path):
        text = LABEXT.replace("\x1b[32menabled\x1b[0m \x1b[32mOK\x1b[0m (python, jupyterlab_widgets)",
                              "disabled OK (python, jupyterlab_widgets)")
        jupyter = _executable(tmp_path / "jupyter", f"cat <<'EOF'\n{text}EOF")
        c = I.check_widgets_extension(str(jupyter))
        assert not c.ok and "disabled" in c.detail and "labextension enable" in c.fix

    def test_absent_extension_fails(self, tmp_path):
        jupyter = _executable(tmp_path / "jupyter", "echo 'JupyterLab v4.6.6'")
        c = I.check_widgets_extension(str(jupyter))
        assert not c.ok and "is not among JupyterLab's extensions" in c.detail

    def test_jupyter_without_jupyterlab_fails_with_the_lab_fix(self, tmp_path):
        jupyter = _executable(tmp_path / "jupyter",
                              "echo \"Jupyter command \\`jupyter-labextension\\` not found.\" >&2; exit 1")
        c = I.check_widgets_extension(str(jupyter))
        assert not c.ok and c.detail == ("`jupyter labextension list` failed: "
                                         "Jupyter command `jupyter-labextension` not found.")
        assert "course-lib[lab]" in c.fix

    def test_no_jupyter_command_fails(self, tmp_path):
        c = I.check_widgets_extension(str(tmp_path / "jupyter"))
        assert not c.ok and "no `jupyter` command" in c.detail


class TestCheckWritable:
    def test_writable_folder_passes_and_is_left_clean(self, tmp_path):
        assert I.check_writable(tmp_path, "work").ok
        assert list(tmp_path.iterdir()) == []

    def test_missing_folder_fails(self, tmp_path):
        c = I.check_writable(tmp_path / "missing", "notebooks folder")
        assert not c.ok and c.name == "notebooks folder" and "is not a folder" in c.detail

    def test_a_file_is_not_a_folder(self, tmp_path):
        (tmp_path / "f").write_text("x")
        assert not I.check_writable(tmp_path / "f", "work").ok

    def test_no_folder_at_all_fails_with_the_option_to_pass(self):
        assert "--notebooks-dir" in I.check_writable(None, "notebooks folder").fix


# == doctor: the command ==================================================================

class TestDoctorMain:
    def _with(self, monkeypatch, checks):
        monkeypatch.setattr(I, "doctor", lambda *a, **k: checks)

    def test_exit_0_when_every_required_check_passes(self, monkeypatch, capsys):
        self._with(monkeypatch, [Check("python", True, "3.11.7"),
                                 Check("nbval", False, "not installed", "pip install nbval", required=False)])
        assert I.doctor_main([]) == 0
        out = capsys.readouterr().out
        assert "warn  nbval: not installed\n      fix: pip install nbval" in out
        assert "all 1 required checks passed; 1 optional warning" in out

    def test_exit_1_and_the_fix_when_a_required_check_fails(self, monkeypatch, capsys):
        self._with(monkeypatch, [Check("python", True, "3.11.7"),
                                 Check("node", False, "`node` was not found on the PATH", "install Node 20")])
        assert I.doctor_main([]) == 1
        out = capsys.readouterr().out
        assert "FAIL  node: `node` was not found on the PATH\n      fix: install Node 20" in out
        assert "1 of 2 required checks failed (node)" in out

    def test_the_real_environment_passes_every_check(self, capsys):
        """End to end: TensorFlow, Keras and tensorflowjs really import, Node and TF.js resolve."""
        code = I.doctor_main(["--notebooks-dir", str(ROOT / "notebooks")])
        out = capsys.readouterr().out
        assert code == 0, out
        names = [line.split(":")[0].split(None, 1)[1] for line in out.splitlines() if line.startswith("ok ")]
        assert names == ["python", "tensorflow", "keras", "tensorflowjs", "node", "@tensorflow/tfjs",
                         "jupyterlab", "widgets extension", "ipywidgets", "nbval", "notebooks folder",
                         "temp folder"]


    def test_non_positive_timeout_exits_2(self, capsys):
        assert I.doctor_main(["--timeout", "-1"]) == 2
        assert "--timeout" in capsys.readouterr().err


class TestDoctorParser:
    def test_options(self):
        args = I.doctor_parser().parse_args(
            ["--notebooks-dir", "nb", "--node-modules", "nm", "--timeout", "9"])
        assert (args.notebooks_dir, args.node_modules, args.timeout) == ("nb", "nm", 9.0)


def test_importing_the_module_does_not_import_tensorflow():
    import subprocess

    code = "import course_lib.instructor, sys; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ}).stdout
    assert out.strip() == "False"
