"""Tests of course_lib.progress: the learner's progress file, its table and the instructor's CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

import pytest

from course_lib import progress
from course_lib.errors import InvalidInputError
from course_lib.exercises import answer, bank_lessons, check, question

BANK = {"fraud-self-check": "00", "worked-matrix-f1": "00", "l01-self-check": "01"}


@pytest.fixture(autouse=True)
def progress_file(tmp_path, monkeypatch):
    """Each test has a progress file of its own, and a learner name."""
    path = tmp_path / "learner" / "progress.json"
    monkeypatch.setenv(progress.ENV, str(path))
    monkeypatch.setenv("COURSE_LIB_LEARNER", "ada")
    return path


def right_key(qid: str) -> str:
    return next(c.key for c in question(qid).choices if c.correct)


def write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def valid(**record: object) -> dict:
    r = {"lesson": "00", "attempts": 1, "first_try": True, "done": True, "shown": False,
         "first": "2026-12-01T10:00:00Z", "last": "2026-12-01T10:00:00Z", **record}
    return {"format": "course-lib-progress", "version": 1, "learner": "ada",
            "questions": {"fraud-self-check": r}}


class TestWhere:
    def test_the_variable_names_the_file(self, progress_file):
        assert progress.default_path() == progress_file

    def test_xdg_data_home_is_used_when_the_variable_is_not_set(self, tmp_path, monkeypatch):
        monkeypatch.delenv(progress.ENV)
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
        assert progress.default_path() == tmp_path / "data" / "course-lib" / "progress.json"

    def test_otherwise_the_users_data_folder(self, tmp_path, monkeypatch):
        monkeypatch.delenv(progress.ENV)
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path))
        assert progress.default_path() == tmp_path / ".local/share/course-lib/progress.json"

    def test_a_relative_xdg_data_home_is_ignored(self, tmp_path, monkeypatch):
        monkeypatch.delenv(progress.ENV)
        monkeypatch.setenv("XDG_DATA_HOME", "data")
        monkeypatch.setenv("HOME", str(tmp_path))
        assert progress.default_path().is_relative_to(tmp_path)

    def test_the_test_session_never_points_at_the_home_folder(self, monkeypatch):
        monkeypatch.undo()  # the session's own setting (conftest.py), which kernels inherit
        assert os.environ.get(progress.ENV, "").strip()
        assert not Path(os.environ[progress.ENV]).is_relative_to(Path.home() / ".local")


class TestRecord:
    def test_first_answer_creates_the_file_and_its_folder(self, progress_file):
        progress.record("fraud-self-check", "00", False)
        r = progress.load().records["fraud-self-check"]
        assert progress_file.is_file() and (r.attempts, r.done, r.first_try) == (1, False, False)

    def test_right_on_the_first_try(self):
        assert progress.record("worked-matrix-f1", "00", True).first_try

    def test_right_after_a_wrong_try_is_done_but_not_first_try(self):
        progress.record("worked-matrix-f1", "00", False)
        r = progress.record("worked-matrix-f1", "00", True)
        assert (r.attempts, r.done, r.first_try) == (2, True, False)

    def test_a_wrong_answer_after_done_keeps_it_done(self):
        progress.record("worked-matrix-f1", "00", True)
        r = progress.record("worked-matrix-f1", "00", False)
        assert (r.attempts, r.done, r.first_try) == (2, True, True)

    def test_answer_shown_first_is_not_first_try(self):
        progress.record_shown("worked-matrix-f1", "00")
        r = progress.record("worked-matrix-f1", "00", True)
        assert (r.shown, r.done, r.first_try) == (True, True, False)

    def test_times_are_utc_seconds(self):
        r = progress.record("worked-matrix-f1", "00", True)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r.last) and r.first <= r.last

    def test_learner_is_named_in_a_new_file(self):
        progress.record("worked-matrix-f1", "00", True)
        assert progress.load().learner == "ada"

    def test_it_survives_a_restart(self, progress_file):
        import subprocess
        import sys

        progress.record("worked-matrix-f1", "00", True)
        code = "from course_lib import progress; print(progress.load().records['worked-matrix-f1'].done)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env={**os.environ})
        assert out.stdout.strip() == "True"

    def test_written_atomically_without_leftovers(self, progress_file):
        for _ in range(3):
            progress.record("worked-matrix-f1", "00", False)
        assert [p.name for p in progress_file.parent.iterdir()] == ["progress.json"]

    def test_bounded_number_of_questions(self, monkeypatch):
        monkeypatch.setattr(progress, "MAX_QUESTIONS", 1)
        progress.record("worked-matrix-f1", "00", True)
        progress.record("fraud-self-check", "00", True)
        assert list(progress.load().records) == ["worked-matrix-f1"]

    def test_a_disk_that_refuses_warns_and_never_raises(self, tmp_path, monkeypatch):
        (tmp_path / "a-file").write_text("x")
        monkeypatch.setenv(progress.ENV, str(tmp_path / "a-file" / "progress.json"))
        with pytest.warns(RuntimeWarning, match="graded but could not be saved"):
            fb = check("fraud-self-check", right_key("fraud-self-check"))
        assert fb.correct


class TestBadFile:
    @pytest.mark.parametrize("text, problem", [
        ("{not json", "it is not JSON"),
        ("[" * 100_000, "it is not JSON"),
        (json.dumps({"questions": {}}), 'it does not start with "format"'),
        (json.dumps(valid(attempts="1")), "record of 'fraud-self-check' is not"),
        (json.dumps(valid(attempts=True)), "record of 'fraud-self-check' is not"),
        (json.dumps(valid(attempts=-1)), "has values no answer gives"),
        (json.dumps(valid(attempts=0)), "has values no answer gives"),
        (json.dumps(valid(last="yesterday")), "has values no answer gives"),
        (json.dumps(valid(extra=1)), "record of 'fraud-self-check' is not"),
        (json.dumps({**valid(), "learner": ""}), "learner or questions"),
        (json.dumps({**valid(), "questions": {"../etc": valid()["questions"]["fraud-self-check"]}}),
         "question id that is not one"),
    ], ids=lambda v: v[:30] if isinstance(v, str) else v)
    def test_load_names_the_file_and_the_problem(self, progress_file, text, problem):
        write(progress_file, text)
        with pytest.raises(InvalidInputError, match=re.escape(problem)):
            progress.load()

    def test_a_valid_file_loads(self, progress_file):
        write(progress_file, valid())
        assert progress.load().records["fraud-self-check"].first_try

    def test_too_big_a_file_is_refused(self, progress_file, monkeypatch):
        monkeypatch.setattr(progress, "MAX_BYTES", 100)
        write(progress_file, valid())
        with pytest.raises(InvalidInputError, match="at most 100 bytes"):
            progress.load()

    def test_a_link_is_not_followed(self, progress_file, tmp_path):
        write(tmp_path / "elsewhere.json", valid())
        progress_file.parent.mkdir(parents=True, exist_ok=True)
        progress_file.symlink_to(tmp_path / "elsewhere.json")
        with pytest.raises(InvalidInputError, match="symbolic link"):
            progress.load()

    def test_recording_keeps_the_bad_file_aside_and_starts_over(self, progress_file):
        write(progress_file, "{not json")
        with pytest.warns(RuntimeWarning, match="could not be read, so a new one was started"):
            progress.record("worked-matrix-f1", "00", True)
        kept = [p for p in progress_file.parent.iterdir() if ".bad-" in p.name]
        assert len(kept) == 1 and kept[0].read_text() == "{not json"
        assert list(progress.load().records) == ["worked-matrix-f1"]


class TestSummary:
    def test_counts_done_first_try_and_left_per_lesson(self):
        progress.record("fraud-self-check", "00", False)
        progress.record("fraud-self-check", "00", True)
        progress.record("worked-matrix-f1", "00", True)
        rows = {r.lesson: r for r in progress.summary(BANK).lessons}
        assert (rows["00"].done, rows["00"].right_first_try, rows["00"].left) == (2, 1, 0)
        assert (rows["01"].exercises, rows["01"].done, rows["01"].left) == (1, 0, 1)

    def test_text_is_a_table_and_a_verdict(self):
        progress.record("worked-matrix-f1", "00", True)
        text = str(progress.summary(BANK))
        assert text.splitlines()[0].split() == ["lesson", "exercises", "done", "right", "first",
                                                "try", "left"]
        assert "ada: 1 of 3 exercises done, 1 right on the first try, 2 left" in text

    def test_ids_no_longer_in_the_bank_are_not_counted(self, progress_file):
        write(progress_file, {**valid(), "questions": {"seed-matrix-f1": valid()["questions"][
            "fraud-self-check"]}})
        assert sum(r.done for r in progress.summary(BANK).lessons) == 0

    def test_html_has_the_table(self):
        assert "<table" in progress.summary(BANK)._repr_html_()

    def test_the_whole_bank_through_check_and_answer(self):
        check("worked-matrix-f1", question("worked-matrix-f1").answer)
        answer("fraud-self-check")
        rows = {r.lesson: r for r in progress.summary(bank_lessons()).lessons}
        assert rows["00"].done == 1 and rows["00"].exercises == 8


class TestGrades:
    def learners(self, tmp_path, monkeypatch) -> list[Path]:
        files = []
        for name, right in (("ada", True), ("bob", False)):
            path = tmp_path / f"{name}.json"
            monkeypatch.setenv(progress.ENV, str(path))
            monkeypatch.setenv("COURSE_LIB_LEARNER", name)
            progress.record("worked-matrix-f1", "00", right)
            files.append(path)
        return files

    def test_one_row_per_learner_and_lesson(self, tmp_path, monkeypatch):
        rows = list(csv.DictReader(io.StringIO(progress.grades(self.learners(tmp_path, monkeypatch),
                                                                BANK))))
        assert [(r["learner"], r["lesson"]) for r in rows] == [
            ("ada", "00"), ("ada", "01"), ("bob", "00"), ("bob", "01")]
        assert (rows[0]["done"], rows[0]["right_first_try"], rows[0]["left"]) == ("1", "1", "1")
        assert (rows[2]["done"], rows[2]["attempts"], rows[2]["left"]) == ("0", "1", "2")

    def test_columns(self, tmp_path, monkeypatch):
        text = progress.grades(self.learners(tmp_path, monkeypatch), BANK)
        assert tuple(text.splitlines()[0].split(",")) == progress.GRADE_COLUMNS

    def test_a_spreadsheet_formula_in_a_name_is_defused(self, tmp_path, monkeypatch):
        monkeypatch.setenv("COURSE_LIB_LEARNER", "=HYPERLINK(1)")
        progress.record("worked-matrix-f1", "00", True)
        rows = list(csv.DictReader(io.StringIO(progress.grades([progress.default_path()], BANK))))
        assert rows[0]["learner"] == "'=HYPERLINK(1)"

    def test_a_missing_file_is_named(self, tmp_path):
        with pytest.raises(InvalidInputError, match="nope.json to be a learner's progress file; "
                                                    "there is no such file"):
            progress.grades([tmp_path / "nope.json"], BANK)

    def test_a_bad_file_is_named(self, tmp_path):
        bad = write(tmp_path / "carol.json", "{")
        with pytest.raises(InvalidInputError, match="carol.json to be a course-lib progress file"):
            progress.grades([bad], BANK)
