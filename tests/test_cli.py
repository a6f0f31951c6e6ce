"""Tests of the course-lib command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from course_lib import __version__
from course_lib.cli import main


class TestVersion:
    def test_prints_the_package_version(self, capsys):
        with pytest.raises(SystemExit) as done:
            main(["--version"])
        assert done.value.code == 0 and capsys.readouterr().out.strip() == f"course-lib {__version__}"

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
        assert main(["check", "seed-matrix-accuracy", "0.875"]) == 0
        assert capsys.readouterr().out.startswith("Correct.")

    def test_wrong_answer_exits_1(self, capsys):
        assert main(["check", "fraud-self-check", "a"]) == 1
        assert "recall" in capsys.readouterr().out

    def test_unknown_id_exits_2_with_suggestion(self, capsys):
        assert main(["check", "fraud-self-chek", "b"]) == 2
        assert "fraud-self-check" in capsys.readouterr().err
