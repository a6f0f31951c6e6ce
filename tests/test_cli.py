"""Tests of the course-lib command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from course_lib import __version__, errors, exercises
from course_lib.cli import exit_code, main


@pytest.fixture(autouse=True)
def progress_file(tmp_path, monkeypatch):
    """Each test records into a progress file of its own."""
    path = tmp_path / "progress.json"
    monkeypatch.setenv("COURSE_LIB_PROGRESS", str(path))
    return path


class TestVersion:
    def test_prints_the_package_version(self, capsys):
        assert main(["--version"]) == 0
        assert capsys.readouterr().out.strip() == f"course-lib {__version__}"

    def test_console_script_is_installed(self):
        exe = Path(sys.executable).parent / "course-lib"  # next to the venv's python
        assert exe.is_file(), "the course-lib console script is not installed"
        out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True).stdout
        assert out.strip() == f"course-lib {__version__}"


class TestQuestions:
    def test_lists_lesson_ids(self, capsys):
        assert main(["questions", "--lesson", "00"]) == 0
        assert "fraud-self-check" in capsys.readouterr().out.split()


class TestCheck:
    def test_right_answer_exits_0(self, capsys):
        assert main(["check", "worked-matrix-accuracy", "0.875"]) == 0
        assert capsys.readouterr().out.startswith("Correct.")

    def test_wrong_answer_exits_1(self, capsys):
        assert main(["check", "fraud-self-check", "a"]) == 1
        assert "Try again" in capsys.readouterr().out

    def test_unknown_id_exits_2_with_suggestion(self, capsys):
        assert main(["check", "fraud-self-chek", "b"]) == 2
        assert "fraud-self-check" in capsys.readouterr().err


class TestAnswer:
    def test_prints_the_answer_and_exits_0(self, capsys):
        assert main(["answer", "worked-matrix-accuracy"]) == 0
        assert capsys.readouterr().out.startswith("The answer is 0.875. Accuracy")

    def test_old_id_exits_2_naming_the_new_one(self, capsys):
        assert main(["answer", "seed-matrix-accuracy"]) == 2
        assert '"worked-matrix-accuracy"' in capsys.readouterr().err


class TestProgress:
    def test_table_per_lesson(self, capsys):
        main(["check", "worked-matrix-accuracy", "0.875"])
        capsys.readouterr()
        assert main(["progress"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].split() == ["lesson", "exercises", "done", "right", "first", "try", "left"]
        assert lines[1].split() == ["00", str(len(exercises.questions("00"))), "1", "1",
                                    str(len(exercises.questions("00")) - 1)]

    def test_another_file(self, tmp_path, capsys):
        assert main(["progress", "--file", str(tmp_path / "none.json")]) == 0
        assert "0 of" in capsys.readouterr().out

    def test_a_bad_file_exits_2(self, progress_file, capsys):
        progress_file.write_text("{")
        assert main(["progress"]) == 2
        assert "not JSON" in capsys.readouterr().err


class TestGrades:
    def test_csv_on_stdout(self, progress_file, capsys):
        main(["check", "fraud-self-check", "a"])
        capsys.readouterr()
        assert main(["grades", str(progress_file)]) == 0
        rows = capsys.readouterr().out.splitlines()
        assert rows[0].startswith("learner,file,lesson,") and len(rows) == 1 + 8
        assert rows[1].split(",")[2:8] == ["00", "8", "0", "0", "8", "1"]

    def test_csv_in_a_file(self, progress_file, tmp_path, capsys):
        main(["check", "fraud-self-check", "a"])
        assert main(["grades", str(progress_file), "--out", str(tmp_path / "g.csv")]) == 0
        assert (tmp_path / "g.csv").read_text().startswith("learner,file,lesson,")
        assert "wrote 8 rows" in capsys.readouterr().out

    def test_a_missing_file_exits_2(self, tmp_path, capsys):
        assert main(["grades", str(tmp_path / "nope.json")]) == 2
        assert "no such file" in capsys.readouterr().err

    def test_no_file_is_a_usage_error(self, capsys):
        assert main(["grades"]) == 2


# -- course-lib registry ... (lesson 04) --------------------------------------------------------

@pytest.fixture
def registry_root(tmp_path):
    """A registry with versions 1 and 2 of 'fraud' (fake SavedModel files: no TensorFlow needed)."""
    import numpy as np

    from course_lib.metrics import Metrics
    from course_lib.registry import EvalSet, ModelRegistry

    src = tmp_path / "export"
    for rel in ("saved_model.pb", "variables/variables.index", "variables/variables.data-00000-of-00001"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(rel.encode() * 100)
    rng = np.random.default_rng(0)
    test = EvalSet("toy test", rng.normal(size=(200, 8)), np.array([0, 1] * 100))
    reg = ModelRegistry(tmp_path / "registry")
    reg.publish_saved_model(src, "fraud", test, metrics=Metrics.from_counts(tp=80, fp=20, fn=15, tn=85),
                            latency_ms=1.0, notes="first")
    reg.publish_saved_model(src, "fraud", test, metrics=Metrics.from_counts(tp=85, fp=15, fn=10, tn=90),
                            latency_ms=1.0, notes="better")
    reg.promote("fraud", 1)
    return str(reg.root)


class TestRegistryList:
    def test_lists_models_with_aliases(self, registry_root, capsys):
        assert main(["registry", "list", registry_root]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0].split() == ["model", "versions", "invalid", "aliases"]
        assert out[1].split() == ["fraud", "2", "0", "production", "->", "1"]

    def test_lists_versions_as_a_table(self, registry_root, capsys):
        assert main(["registry", "list", registry_root, "fraud"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].split()[:3] == ["version", "aliases", "evaluated"]
        assert lines[1].split()[:2] == ["1", "production"] and "0.842" in lines[1]
        assert lines[2].split()[:2] == ["2", "-"] and "better" in lines[2]

    def test_missing_registry_exits_2(self, tmp_path, capsys):
        assert main(["registry", "list", str(tmp_path / "none")]) == 2
        assert "expected a registry folder" in capsys.readouterr().err


class TestRegistryShow:
    def test_shows_the_manifest_by_alias(self, registry_root, capsys):
        assert main(["registry", "show", registry_root, "fraud", "production"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("fraud version 1 (production)") and "sha256" in out and "created" in out

    @pytest.mark.parametrize("ref", ["01", "-1", "1e3", "../1"])
    def test_bad_version_exits_2(self, registry_root, ref, capsys):
        assert main(["registry", "show", registry_root, "fraud", ref]) == 2
        assert "expected a version number" in capsys.readouterr().err

    def test_bad_name_exits_2(self, registry_root, capsys):
        assert main(["registry", "show", registry_root, "../x", "1"]) == 2
        assert "expected a model name" in capsys.readouterr().err


class TestRegistryVerify:
    def test_every_version_ok_exits_0(self, registry_root, capsys):
        assert main(["registry", "verify", registry_root, "fraud"]) == 0
        assert capsys.readouterr().out.count(": OK (") == 2

    def test_changed_byte_exits_1_naming_the_file(self, registry_root, capsys):
        from course_lib.registry import flip_byte

        flip_byte(Path(registry_root) / "fraud" / "2" / "variables" / "variables.index")
        assert main(["registry", "verify", registry_root, "fraud"]) == 1
        out = capsys.readouterr().out
        assert "fraud version 1: OK" in out
        assert "fraud version 2: FAILED: variables/variables.index: content changed" in out


class TestRegistryCompare:
    def test_prints_deltas_and_verdict(self, registry_root, capsys):
        assert main(["registry", "compare", registry_root, "fraud", "1", "2"]) == 0
        out = capsys.readouterr().out
        assert "precision" in out and "+0.050" in out and "NO REGRESSION" in out


class TestRegistryPromote:
    def test_passing_gate_moves_production(self, registry_root, capsys):
        args = ["registry", "promote", registry_root, "fraud", "2", "--min-recall", "0.8", "--max-drop", "0.01"]
        assert main(args) == 0
        assert "PROMOTED" in capsys.readouterr().out
        assert main(["registry", "show", registry_root, "fraud", "production"]) == 0
        assert capsys.readouterr().out.startswith("fraud version 2")

    def test_refusal_exits_1_listing_every_failed_rule(self, registry_root, capsys):
        args = ["registry", "promote", registry_root, "fraud", "2", "--min-recall", "0.95",
                "--min-precision", "0.9", "--max-size-bytes", "100"]
        assert main(args) == 1
        out = capsys.readouterr().out
        assert "REFUSED (3 of 4 rules failed" in out
        assert out.count("FAIL ") == 3 and "recall >= 0.95" in out and "size <=" in out

    def test_max_gap_refuses_unbalanced_precision_and_recall(self, registry_root, capsys):
        args = ["registry", "promote", registry_root, "fraud", "2", "--max-gap", "0.0001"]
        assert main(args) == 1
        assert "gap 0.045 > 0.0001" in capsys.readouterr().out

    def test_dry_run_moves_nothing(self, registry_root, capsys):
        assert main(["registry", "promote", registry_root, "fraud", "2", "--dry-run"]) == 0
        assert "passes the gate" in capsys.readouterr().out
        main(["registry", "list", registry_root])
        assert "production -> 1" in capsys.readouterr().out


class TestRegistryRollback:
    def test_goes_back_after_a_promotion(self, registry_root, capsys):
        main(["registry", "promote", registry_root, "fraud", "2"])
        capsys.readouterr()
        assert main(["registry", "rollback", registry_root, "fraud"]) == 0
        assert capsys.readouterr().out.strip() == "fraud: production moved from version 2 to version 1"

    def test_nothing_to_roll_back_exits_1(self, registry_root, capsys):
        assert main(["registry", "rollback", registry_root, "fraud"]) == 1
        assert "roll back to" in capsys.readouterr().err


class TestRegistryParser:
    def test_top_level_help_lists_the_registry_verb(self, capsys):
        assert main(["--help"]) == 0
        out = capsys.readouterr().out
        assert "inspect and manage a model registry folder" in out

    def test_registry_help_lists_the_actions(self, capsys):
        assert main(["registry", "--help"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("usage: course-lib registry")
        assert all(a in out for a in ("list", "show", "verify", "compare", "promote", "rollback"))

    def test_missing_action_exits_2(self, capsys):
        assert main(["registry"]) == 2
        assert "ACTION" in capsys.readouterr().err

    def test_empty_registry_lists_no_models(self, tmp_path, capsys):
        from course_lib.registry import ModelRegistry

        ModelRegistry(tmp_path / "reg")
        assert main(["registry", "list", str(tmp_path / "reg")]) == 0
        assert capsys.readouterr().out.strip() == f"{tmp_path / 'reg'}: no models yet"

    def test_compare_of_different_data_exits_1(self, registry_root, capsys):
        import numpy as np

        from course_lib.metrics import Metrics
        from course_lib.registry import EvalSet, ModelRegistry

        reg = ModelRegistry(registry_root)
        other = EvalSet("other", np.random.default_rng(1).normal(size=(200, 8)), [0, 1] * 100)
        reg.publish_saved_model(reg.path("fraud", 1), "fraud", other, latency_ms=1.0,
                                metrics=Metrics.from_counts(tp=80, fp=20, fn=15, tn=85))
        assert main(["registry", "compare", registry_root, "fraud", "1", "3"]) == 1
        assert "evaluated on the same data" in capsys.readouterr().err


@pytest.fixture
def task_root(tmp_path):
    """A registry with a regression 'dose' (RMSE about 20) and a 3-class 'shapes', version 1 each."""
    import numpy as np

    from course_lib.metrics import MulticlassMetrics, RegressionMetrics
    from course_lib.registry import EvalSet, ModelRegistry

    src = tmp_path / "export"
    for rel in ("saved_model.pb", "variables/variables.index"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(rel.encode() * 100)
    rng = np.random.default_rng(0)
    reg = ModelRegistry(tmp_path / "registry")
    y = rng.normal(150, 40, size=50)
    dose = EvalSet("dose test", {"a": rng.normal(size=(50, 3)), "b": rng.normal(size=(50, 1))}, y)
    reg.publish_saved_model(src, "dose", dose, latency_ms=1.0,
                            metrics=RegressionMetrics.from_predictions(y, y + rng.normal(0, 20, 50)))
    labels = np.repeat([0, 1, 2], 20)
    shapes = EvalSet("shapes test", rng.normal(size=(60, 4, 4, 1)), labels)
    reg.publish_saved_model(src, "shapes", shapes, latency_ms=1.0,
                            metrics=MulticlassMetrics.from_predictions(labels, labels))
    return str(reg.root)


class TestRegistryPromoteAnyTask:
    def test_a_ceiling_on_a_regressions_rmse(self, task_root, capsys):
        assert main(["registry", "promote", task_root, "dose", "1", "--max", "rmse=60",
                     "--min", "r2=0.3"]) == 0
        out = capsys.readouterr().out
        assert "rmse <= 60" in out and "r2 >= 0.3" in out and "PROMOTED" in out

    def test_a_ceiling_the_version_does_not_meet_exits_1(self, task_root, capsys):
        assert main(["registry", "promote", task_root, "dose", "1", "--max", "rmse=5"]) == 1
        assert "FAIL    rmse <= 5" in capsys.readouterr().out

    def test_a_floor_on_a_multiclass_macro_f1(self, task_root, capsys):
        assert main(["registry", "promote", task_root, "shapes", "1",
                     "--min", "macro_f1=0.8"]) == 0
        assert "macro_f1 >= 0.80" in capsys.readouterr().out

    def test_a_rule_on_a_metric_the_task_does_not_record_exits_2(self, task_root, capsys):
        assert main(["registry", "promote", task_root, "dose", "1", "--min-recall", "0.8"]) == 2
        assert "found recall >= 0.80" in capsys.readouterr().err

    def test_a_rule_given_twice_exits_2(self, task_root, capsys):
        assert main(["registry", "promote", task_root, "shapes", "1", "--min-recall", "0.8",
                     "--min", "recall=0.9"]) == 2
        assert "each rule once" in capsys.readouterr().err

    @pytest.mark.parametrize("rule", ["macro_f1", "macro_f1=high", "=0.8"])
    def test_a_rule_that_is_not_metric_equals_value_exits_2(self, task_root, rule, capsys):
        assert main(["registry", "promote", task_root, "shapes", "1", "--min", rule]) == 2
        assert "expected METRIC=VALUE" in capsys.readouterr().err

    def test_list_shows_a_regressions_own_columns(self, task_root, capsys):
        assert main(["registry", "list", task_root, "dose"]) == 0
        assert capsys.readouterr().out.split()[4:8] == ["mae", "rmse", "r2", "max_error"]

    def test_rollback_of_a_model_never_published_exits_2(self, task_root, capsys):
        assert main(["registry", "rollback", task_root, "never_published"]) == 2
        assert "nothing was ever published" in capsys.readouterr().err


# -- exit codes: one table for every verb --------------------------------------------------------

class TestExitCode:
    @pytest.mark.parametrize("error, code", [
        (errors.RefusedError("no"), 1),
        (errors.IntegrityError("changed"), 1),
        (errors.PromotionRefusedError("refused", None), 1),
        (errors.InvalidInputError("bad"), 2),
        (errors.VersionNotFoundError("none"), 2),
        (errors.InvalidVersionError("half"), 2),
        (errors.UnknownQuestionError("q"), 2),
        (errors.NotebookNotFoundError("nb"), 2),
        (errors.ModelFileError("file"), 2),
        (errors.MissingDependencyError("nbval"), 3),
        (errors.TfjsRuntimeError("node"), 3),
        (ZeroDivisionError("division by zero"), 4),
        (OSError("raw"), 4),
    ])
    def test_each_kind_of_error_has_its_code(self, error, code):
        assert exit_code(error) == code

    def test_a_storage_error_is_the_machines_fault(self):
        assert exit_code(errors.StorageError(28, "No space left on device")) == 3

    def test_a_signature_error_is_a_refusal(self):
        assert exit_code(errors.SignatureError("does not hold")) == 1

    def test_tampered_tfjs_files_are_a_refusal(self):
        assert exit_code(errors.TamperedModelError("shard changed")) == 1

    def test_an_archive_too_large_is_bad_input(self):
        assert exit_code(errors.ArchiveTooLargeError("1.5 GB")) == 2


def _crash(*args, **kwargs):
    return {}["missing"]


class TestUnexpectedError:
    def test_a_bug_exits_4_with_one_line_and_no_traceback(self, monkeypatch, capsys):
        monkeypatch.delenv("COURSE_LIB_TRACEBACK", raising=False)
        monkeypatch.setattr(exercises, "questions", _crash)
        assert main(["questions"]) == 4
        err = capsys.readouterr().err
        assert err.strip().splitlines() == [
            ("course-lib: unexpected error (a bug in course-lib): KeyError: 'missing'; "
             "rerun with --traceback for the details")]

    def test_the_traceback_flag_prints_it(self, monkeypatch, capsys):
        monkeypatch.delenv("COURSE_LIB_TRACEBACK", raising=False)
        monkeypatch.setattr(exercises, "questions", _crash)
        assert main(["--traceback", "questions"]) == 4
        err = capsys.readouterr().err
        assert "Traceback (most recent call last)" in err and "_crash" in err

    def test_the_environment_variable_prints_it(self, monkeypatch, capsys):
        monkeypatch.setenv("COURSE_LIB_TRACEBACK", "1")
        monkeypatch.setattr(exercises, "questions", _crash)
        assert main(["questions"]) == 4
        assert "Traceback (most recent call last)" in capsys.readouterr().err

    def test_a_course_lib_error_prints_no_traceback(self, monkeypatch, capsys):
        monkeypatch.delenv("COURSE_LIB_TRACEBACK", raising=False)
        assert main(["check", "fraud-self-chek", "b"]) == 2
        assert "Traceback" not in capsys.readouterr().err

    def test_a_course_lib_error_with_the_flag_prints_its_traceback(self, capsys):
        assert main(["--traceback", "check", "fraud-self-chek", "b"]) == 2
        assert "Traceback (most recent call last)" in capsys.readouterr().err

    def test_a_bug_in_the_console_script_exits_4(self, tmp_path):
        code = ("import sys; from course_lib import cli, exercises\n"
                "exercises.questions = lambda *a: 1 / 0\n"
                "sys.exit(cli.main(['questions']))\n")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin"}, check=False)
        assert done.returncode == 4 and "ZeroDivisionError: division by zero" in done.stderr
        assert "Traceback" not in done.stderr


class TestUsage:
    @pytest.mark.parametrize("argv", [["--help"], ["registry", "--help"], ["validate", "--help"],
                                      ["doctor", "--help"]])
    def test_help_returns_0(self, argv, capsys):
        assert main(argv) == 0
        assert capsys.readouterr().out.startswith("usage: course-lib")

    @pytest.mark.parametrize("argv", [["nosuchverb"], ["registry"], ["check", "only-one"],
                                      ["validate", "--timeout", "soon"], ["doctor", "--nosuch"]])
    def test_a_usage_error_returns_2(self, argv, capsys):
        assert main(argv) == 2
        assert "usage: course-lib" in capsys.readouterr().err

    def test_version_returns_0(self, capsys):
        assert main(["--version"]) == 0
        assert capsys.readouterr().out.strip() == f"course-lib {__version__}"

    def test_a_lesson_without_questions_exits_2_naming_the_lessons(self, capsys):
        assert main(["questions", "--lesson", "99"]) == 2
        err = capsys.readouterr().err
        assert "no questions in lesson 99" in err and "'00'" in err

    def test_a_missing_notebook_exits_2(self, tmp_path, capsys):
        assert main(["validate", str(tmp_path / "nosuch.ipynb")]) == 2
        assert "nosuch.ipynb" in capsys.readouterr().err


class TestExitCodesOfTheRegistry:
    def test_an_edited_manifest_is_a_refusal(self, registry_root, capsys):
        import json

        manifest = Path(registry_root) / "fraud" / "2" / "course_manifest.json"
        data = json.loads(manifest.read_text())
        data["notes"] = "edited by hand"
        manifest.write_text(json.dumps(data))
        assert main(["registry", "show", registry_root, "fraud", "2"]) == 1
        assert "edited after publishing" in capsys.readouterr().err

    def test_verify_of_a_model_never_published_is_bad_input(self, registry_root, capsys):
        assert main(["registry", "verify", registry_root, "nosuch"]) == 2
        assert "nothing was ever published under that name" in capsys.readouterr().err

    def test_a_disk_that_refuses_is_the_machines_fault(self, monkeypatch, capsys):
        def full(*args, **kwargs):
            raise errors.StorageError(28, "expected to write the answer; the disk is full. Fix: "
                                          "free some space")

        monkeypatch.setattr(exercises, "check", full)
        assert main(["check", "fraud-self-check", "a"]) == 3
        assert "the disk is full" in capsys.readouterr().err
