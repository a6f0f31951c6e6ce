"""Tests of course_lib.registry.storage: manifest bytes and checksum, locks, crash points."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys

import pytest
from registry_helpers import ENV, dead_pid, run_code

from course_lib import _fs
from course_lib.errors import RegistryError
from course_lib.registry.storage import (
    canonical,
    checksum_ok,
    crash_point,
    library_versions,
    locked,
    manifest_bytes,
    now,
    tombstone,
    write_atomic,
)


class TestManifestBytes:
    def test_same_content_same_bytes_whatever_the_key_order(self):
        assert manifest_bytes({"a": 1, "b": [2]}) == manifest_bytes({"b": [2], "a": 1})

    def test_carries_a_checksum_of_itself(self):
        data = json.loads(manifest_bytes({"name": "fraud", "version": 1}))
        assert len(data["manifest_sha256"]) == 64 and checksum_ok(data)

    def test_an_edited_value_fails_the_checksum(self):
        data = json.loads(manifest_bytes({"name": "fraud", "tp": 80}))
        assert not checksum_ok({**data, "tp": 90}) and not checksum_ok({"name": "fraud"})

    def test_writing_it_again_changes_nothing(self):
        raw = manifest_bytes({"name": "fraud"})
        assert manifest_bytes(json.loads(raw)) == raw

    def test_canonical_is_sorted_json_with_a_final_newline(self):
        assert canonical({"b": 1, "a": "é"}) == '{\n  "a": "é",\n  "b": 1\n}\n'.encode()


class TestCrashPoint:
    def test_nothing_happens_unless_the_environment_names_the_point(self, monkeypatch):
        monkeypatch.setenv("COURSE_LIB_REGISTRY_CRASH_AT", "elsewhere")
        crash_point("here")  # still alive

    def test_the_named_point_kills_the_process(self):
        code = "from course_lib.registry.storage import crash_point; crash_point('here')"
        assert run_code(code, crash_at="here").returncode == -signal.SIGKILL


class TestWriteAtomic:
    def test_writes_text_or_bytes(self, tmp_path):
        write_atomic(tmp_path / "a.json", "{}\n")
        write_atomic(tmp_path / "b.bin", b"\x00")
        assert (tmp_path / "a.json").read_text() == "{}\n"
        assert (tmp_path / "b.bin").read_bytes() == b"\x00"

    def test_a_crash_before_the_rename_keeps_the_old_content(self, tmp_path):
        target = tmp_path / "aliases.json"
        target.write_text("old")
        code = ("import sys; from pathlib import Path; from course_lib.registry.storage import "
                "write_atomic; write_atomic(Path(sys.argv[1]), 'new', crash_at='point')")
        assert run_code(code, str(target), crash_at="point").returncode == -signal.SIGKILL
        assert target.read_text() == "old"
        write_atomic(target, "new", crash_at="point")  # not named in this process: no crash
        assert target.read_text() == "new"


class TestLocked:
    def test_excludes_another_process_and_dies_with_it(self, tmp_path):
        code = ("import sys, time; from pathlib import Path; from course_lib.registry.storage "
                "import locked\nwith locked(Path(sys.argv[1])):\n"
                "    print('locked', flush=True); time.sleep(60)")
        child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)],
                                 stdout=subprocess.PIPE, text=True, env=ENV)
        try:
            assert child.stdout.readline().strip() == "locked"
            fd = os.open(tmp_path / ".lock", os.O_RDWR)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    held = False
                except BlockingIOError:
                    held = True
                assert held
                child.send_signal(signal.SIGKILL)
                child.wait(timeout=60)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released by the kill
            finally:
                os.close(fd)
        finally:
            child.kill()
            child.wait(timeout=60)
            child.stdout.close()

    def test_is_released_after_the_block(self, tmp_path):
        with locked(tmp_path):
            pass
        with locked(tmp_path):  # would block forever if the first were still held
            pass


class TestRecords:
    def test_now_is_utc_to_the_second(self):
        assert now().endswith("+00:00") and len(now()) == 25

    def test_library_versions_name_the_stack(self):
        assert set(library_versions()) == {"python", "tensorflow", "keras", "numpy", "course-lib"}


class TestNoLinkFollowed:
    def test_a_planted_lock_link_creates_nothing_outside(self, tmp_path):
        (tmp_path / "model").mkdir()
        (tmp_path / "model" / ".lock").symlink_to(tmp_path / "outside")
        with pytest.raises(RegistryError, match="symbolic link.*never follows a link"), \
                locked(tmp_path / "model"):
            pass
        assert not (tmp_path / "outside").exists()

    def test_a_linked_model_folder_is_not_locked_through(self, tmp_path):
        (tmp_path / "real").mkdir()
        (tmp_path / "model").symlink_to(tmp_path / "real", target_is_directory=True)
        with pytest.raises(RegistryError, match="symbolic link"), locked(tmp_path / "model"):
            pass
        assert list((tmp_path / "real").iterdir()) == []

    def test_a_planted_tombstone_link_creates_nothing_outside(self, tmp_path):
        (tmp_path / ".deleted-2").symlink_to(tmp_path / "outside")
        with pytest.raises(RegistryError, match="mark of a deleted version"):
            tombstone(tmp_path, 2)
        assert not (tmp_path / "outside").exists()


class TestLockRemovesLeftovers:
    def test_dead_writers_leftovers_go_when_the_lock_is_taken(self, tmp_path):
        tag = f"{dead_pid()}@{_fs.owner_tag().split('@')[1]}"
        names = [f".staging-{tag}-00aa", f".trash-3-{tag}-00bb", f".aliases.json.{tag}-1.tmp"]
        for n in names:
            (tmp_path / n).mkdir()
        (tmp_path / ".deleted-3").touch()
        with locked(tmp_path):
            pass
        assert sorted(p.name for p in tmp_path.iterdir()) == [".deleted-3", ".lock"]
