"""Tests of course_lib.instructor.environment: `course-lib doctor` and its environment checks."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from course_lib import instructor as I
from course_lib.instructor import CheckResult
from course_lib.instructor import environment as D

ROOT = Path(__file__).resolve().parent.parent
TFJS_VERSION = "4.22.0"


needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on the PATH")


# == doctor: the checks ===================================================================

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


class TestFindNodeModules:
    def test_is_the_one_lookup_of_the_tfjs_runtime(self):
        from course_lib.tfjs import runtime

        assert I.find_node_modules is runtime.find_node_modules is D.find_node_modules

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
    def test_enabled_extension_passes(self, fake_program, tmp_path):
        jupyter = fake_program("jupyter", f"cat <<'EOF' >&2\n{LABEXT}EOF")
        c = I.check_widgets_extension(str(jupyter))
        assert c.ok and c.detail == "@jupyter-widgets/jupyterlab-manager v5.0.16 enabled"

    def test_disabled_extension_fails_with_enable_fix(self, fake_program, tmp_path):
        text = LABEXT.replace("\x1b[32menabled\x1b[0m \x1b[32mOK\x1b[0m (python, jupyterlab_widgets)",
                              "disabled OK (python, jupyterlab_widgets)")
        jupyter = fake_program("jupyter", f"cat <<'EOF'\n{text}EOF")
        c = I.check_widgets_extension(str(jupyter))
        assert not c.ok and "disabled" in c.detail and "labextension enable" in c.fix

    def test_absent_extension_fails(self, fake_program, tmp_path):
        jupyter = fake_program("jupyter", "echo 'JupyterLab v4.6.6'")
        c = I.check_widgets_extension(str(jupyter))
        assert not c.ok and "is not among JupyterLab's extensions" in c.detail

    def test_jupyter_without_jupyterlab_fails_with_the_lab_fix(self, fake_program):
        jupyter = fake_program("jupyter",
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
        monkeypatch.setattr(D, "doctor", lambda *a, **k: checks)

    def test_exit_0_when_every_required_check_passes(self, monkeypatch, capsys):
        self._with(monkeypatch, [CheckResult("python", True, "3.11.7"),
                                 CheckResult("nbval", False, "not installed", "pip install nbval", required=False)])
        assert I.doctor_main([]) == 0
        out = capsys.readouterr().out
        assert "warn  nbval: not installed\n      fix: pip install nbval" in out
        assert "all 1 required checks passed; 1 optional warning" in out

    def test_exit_1_and_the_fix_when_a_required_check_fails(self, monkeypatch, capsys):
        self._with(monkeypatch, [CheckResult("python", True, "3.11.7"),
                                 CheckResult("node", False, "`node` was not found on the PATH", "install Node 20")])
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
                         "@tensorflow/tfjs-backend-wasm", "jupyterlab", "widgets extension", "ipywidgets", "nbval", "notebooks folder",
                         "temp folder"]

    def test_non_positive_timeout_exits_2(self, capsys):
        assert I.doctor_main(["--timeout", "-1"]) == 2
        assert "--timeout" in capsys.readouterr().err


class TestDoctorParser:
    def test_options(self):
        args = I.doctor_parser().parse_args(
            ["--notebooks-dir", "nb", "--node-modules", "nm", "--timeout", "9"])
        assert (args.notebooks_dir, args.node_modules, args.timeout) == ("nb", "nm", 9.0)

    def test_library_is_off_unless_asked(self):
        assert not I.doctor_parser().parse_args([]).library
        assert I.doctor_parser().parse_args(["--library"]).library


# == doctor --library: course_lib in a learner's own project ===============================

TF_EXTRA = ("tensorflow", "keras", "tensorflowjs")
LIBRARY_CHECKS = ["python", "course-lib", "numpy", "scikit-learn", "tensorflow", "keras",
                  "tensorflowjs", "matplotlib", "ipywidgets", "node", "@tensorflow/tfjs",
                  "@tensorflow/tfjs-backend-wasm", "temp folder"]


def _only(*missing):
    """A lookup of installed versions where the ``missing`` distributions are not installed."""
    import course_lib

    return lambda name: None if name in missing else (
        course_lib.__version__ if name == "course-lib" else "1.0")


class TestInstalledVersion:
    def test_an_installed_distribution_has_its_version(self):
        assert I.installed_version("pytest") == pytest.__version__

    def test_a_missing_distribution_is_none(self):
        assert I.installed_version("no-such-distribution-xyz") is None


class TestCheckCourseLib:
    def test_the_installed_copy_passes_with_its_folder(self):
        import course_lib

        c = I.check_course_lib(lambda name: course_lib.__version__)
        assert c.ok and c.detail == f"{course_lib.__version__} in {Path(course_lib.__file__).parent}"

    def test_not_installed_as_a_package_fails_with_the_pip_fix(self):
        c = I.check_course_lib(lambda name: None)
        assert not c.ok and "is not installed as a package" in c.detail
        assert 'pip install -c course/constraints.txt "./course"' in c.fix

    def test_another_copy_first_on_the_path_fails(self):
        c = I.check_course_lib(lambda name: "0.0.1")
        assert not c.ok and c.detail.startswith("course-lib 0.0.1 is installed, but `import course_lib`")
        assert "another copy comes first on sys.path" in c.detail


class TestCheckOptional:
    def test_a_missing_extra_only_warns_and_names_the_extra(self):
        c = I.check_optional("matplotlib", "matplotlib", "plots", lookup=lambda name: None)
        assert not c.ok and not c.required and c.label == "warn"
        assert c.detail.startswith("not installed (optional: the [plots] extra")
        assert c.fix == 'pip install -c course/constraints.txt "./course[plots]"'

    def test_an_installed_package_is_imported_and_required(self):
        c = I.check_optional("pytest", "pytest", "test")
        assert c.ok and c.required and c.detail.startswith(pytest.__version__)

    def test_an_installed_package_outside_the_pin_fails(self):
        c = I.check_optional("pytest", "pytest", "test", spec="<1")
        assert not c.ok and c.required and c.detail.endswith("the course needs pytest<1")
        assert '"./course[test]"' in c.fix


class TestDoctorLibrary:
    """doctor(library=True) on fake environments: imports, Node and TF.js answered by fakes."""

    @pytest.fixture(autouse=True)
    def fakes(self, monkeypatch):
        def refuse(*a, **k):
            raise AssertionError("the library mode must not look at JupyterLab or the lessons")

        monkeypatch.setattr(D, "check_import", lambda module, *, distribution=None, **k:
                            CheckResult(distribution or module, True, "1.0"))
        monkeypatch.setattr(D, "check_node", lambda: CheckResult("node", False, "missing", "install"))
        monkeypatch.setattr(D, "check_tfjs", lambda nm, **k: CheckResult("@tensorflow/tfjs", True, "4.22.0"))
        monkeypatch.setattr(D, "check_tfjs_wasm", lambda nm, **k: CheckResult(
            "@tensorflow/tfjs-backend-wasm", True, "4.22.0", required=False))
        for name in ("check_jupyterlab", "check_widgets_extension", "default_notebooks_dir"):
            monkeypatch.setattr(D, name, refuse)

    def test_checks_course_lib_alone_in_a_stable_order(self, tmp_path):
        checks = I.doctor(library=True, node_modules=tmp_path, lookup=_only())
        assert [c.name for c in checks] == LIBRARY_CHECKS

    def test_never_requires_jupyterlab_or_notebooks(self, tmp_path):
        names = {c.name for c in I.doctor(library=True, node_modules=tmp_path, lookup=_only())}
        assert not names & {"jupyterlab", "widgets extension", "notebooks folder", "nbval"}

    def test_missing_extras_are_optional_warnings(self, tmp_path):
        checks = I.doctor(library=True, node_modules=tmp_path,
                          lookup=_only(*TF_EXTRA, "matplotlib", "ipywidgets"))
        warned = [c.name for c in checks if not c.ok]
        assert warned == [*TF_EXTRA, "matplotlib", "ipywidgets", "node"]
        assert not any(c.required for c in checks if not c.ok)

    def test_node_is_optional_without_tensorflowjs(self, tmp_path):
        checks = I.doctor(library=True, node_modules=tmp_path, lookup=_only("tensorflowjs"))
        node = next(c for c in checks if c.name == "node")
        assert not node.ok and not node.required and node.label == "warn"

    def test_node_is_required_once_tensorflowjs_is_installed(self, tmp_path):
        checks = I.doctor(library=True, node_modules=tmp_path, lookup=_only())
        node = next(c for c in checks if c.name == "node")
        assert not node.ok and node.required and node.label == "FAIL"

    def test_core_packages_are_always_required(self, tmp_path):
        checks = I.doctor(library=True, node_modules=tmp_path, lookup=_only("numpy", "scikit-learn"))
        assert all(c.required for c in checks if c.name in ("numpy", "scikit-learn"))

    def test_a_notebooks_folder_is_refused(self, tmp_path):
        from course_lib.errors import InvalidInputError

        with pytest.raises(InvalidInputError, match="expected no notebooks folder with library=True"):
            I.doctor(tmp_path, library=True)


class TestCheckTfjsInLibraryMode:
    def test_the_fix_says_npm_install_in_your_project(self, tmp_path):
        checks = I.doctor(library=True, node_modules=tmp_path / "none", lookup=_only(*TF_EXTRA))
        c = next(c for c in checks if c.name == "@tensorflow/tfjs")
        assert not c.ok and "is not a folder" in c.detail
        assert c.fix.startswith(f"npm install @tensorflow/tfjs@{TFJS_VERSION} in your project")
        assert "COURSE_LIB_NODE_MODULES=$PWD/node_modules" in c.fix


class TestDoctorMainLibrary:
    def test_library_runs_the_library_mode(self, monkeypatch, capsys):
        seen = {}
        monkeypatch.setattr(D, "doctor", lambda *a, **k: seen.update(k) or [CheckResult("python", True, "3.11.7")])
        assert I.doctor_main(["--library"]) == 0
        assert seen["library"] is True
        assert "checking course_lib's environment of" in capsys.readouterr().out

    def test_course_lib_doctor_library_is_routed_from_the_command(self, monkeypatch):
        from course_lib import cli

        seen = {}
        monkeypatch.setattr(D, "doctor", lambda *a, **k: seen.update(k) or [CheckResult("python", True, "3.11.7")])
        assert cli.main(["doctor", "--library"]) == 0 and seen["library"] is True

    def test_a_required_failure_exits_1(self, monkeypatch, capsys):
        monkeypatch.setattr(D, "doctor", lambda *a, **k: [CheckResult("numpy", False, "missing", "pip install")])
        assert I.doctor_main(["--library"]) == 1
        assert "1 of 1 required checks failed (numpy)" in capsys.readouterr().out

    def test_library_with_a_notebooks_dir_exits_2(self, capsys):
        assert I.doctor_main(["--library", "--notebooks-dir", "nb"]) == 2
        assert "expected no --notebooks-dir with --library" in capsys.readouterr().err

    def test_the_real_environment_passes_every_library_check(self, capsys):
        """End to end: the extras of this environment really import; Node and TF.js resolve."""
        code = I.doctor_main(["--library"])
        out = capsys.readouterr().out
        assert code == 0, out
        names = [line.split(":")[0].split(None, 1)[1] for line in out.splitlines() if line.startswith("ok ")]
        assert names == LIBRARY_CHECKS


def test_importing_the_module_does_not_import_tensorflow():
    import subprocess

    code = "import course_lib.instructor, sys; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ}).stdout
    assert out.strip() == "False"
