"""Tests of course_lib._fs: staged writes leave the old content or the new, never a mix."""

from __future__ import annotations

import os

import pytest

from course_lib import _fs
from course_lib.errors import InvalidInputError


class TestWriteAtomic:
    def test_writes_text(self, tmp_path):
        _fs.write_atomic(tmp_path / "a.md", "hello\n")
        assert (tmp_path / "a.md").read_text() == "hello\n"

    def test_replaces_old_content(self, tmp_path):
        (tmp_path / "a.json").write_text("old")
        _fs.write_atomic(tmp_path / "a.json", b"new")
        assert (tmp_path / "a.json").read_bytes() == b"new"

    def test_failure_before_rename_keeps_old_and_leaves_no_temporary(self, tmp_path):
        (tmp_path / "a.json").write_text("old")

        def fail():
            raise OSError("disk full")

        with pytest.raises(OSError, match="disk full"):
            _fs.write_atomic(tmp_path / "a.json", b"new", before_rename=fail)
        assert os.listdir(tmp_path) == ["a.json"]
        assert (tmp_path / "a.json").read_text() == "old"


class TestStaged:
    def test_folder_appears_whole(self, tmp_path):
        with _fs.staged(tmp_path / "out") as tmp:
            tmp.mkdir()
            (tmp / "model.json").write_text("{}")
        assert [p.name for p in (tmp_path / "out").iterdir()] == ["model.json"]

    def test_failure_leaves_nothing(self, tmp_path):
        with pytest.raises(RuntimeError, match="converter failed"):
            with _fs.staged(tmp_path / "out") as tmp:
                tmp.mkdir()
                raise RuntimeError("converter failed")
        assert os.listdir(tmp_path) == []

    def test_failure_keeps_the_old_target(self, tmp_path):
        (tmp_path / "m.keras").write_bytes(b"old")
        with pytest.raises(RuntimeError, match="save failed"):
            with _fs.staged(tmp_path / "m.keras", suffix=".keras") as tmp:
                tmp.write_bytes(b"half")
                raise RuntimeError("save failed")
        assert os.listdir(tmp_path) == ["m.keras"]
        assert (tmp_path / "m.keras").read_bytes() == b"old"

    def test_replaces_a_folder_with_a_file(self, tmp_path):
        (tmp_path / "m").mkdir()
        with _fs.staged(tmp_path / "m") as tmp:
            tmp.write_bytes(b"new")
        assert (tmp_path / "m").read_bytes() == b"new"

    def test_refuses_an_existing_target_without_overwrite(self, tmp_path):
        (tmp_path / "out").mkdir()
        with pytest.raises(InvalidInputError, match="not to exist yet; it does. Fix: pass overwrite=True"):
            with _fs.staged(tmp_path / "out", overwrite=False):
                pass


class TestWalkSizeHash:
    def test_walk_lists_symlinks_apart(self, tmp_path):
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "f").write_bytes(b"12")
        (tmp_path / "link").symlink_to(tmp_path / "d")
        assert _fs.walk(tmp_path) == (["d/f"], ["d"], ["link"])

    def test_size_of_a_folder_adds_its_files(self, tmp_path):
        (tmp_path / "a").write_bytes(b"123")
        (tmp_path / "b").write_bytes(b"45")
        assert _fs.size(tmp_path) == 5

    def test_size_does_not_follow_symlinks(self, tmp_path):
        outside = tmp_path / "outside"
        outside.write_bytes(b"x" * 100)
        (tmp_path / "model").mkdir()
        (tmp_path / "model" / "link").symlink_to(outside)
        assert _fs.size(tmp_path / "model") == 0

    def test_sha256_and_size(self, tmp_path):
        (tmp_path / "f").write_bytes(b"abc")
        assert _fs.sha256(tmp_path / "f") == (
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3)

    def test_remove_a_tree(self, tmp_path):
        (tmp_path / "d" / "e").mkdir(parents=True)
        _fs.remove(tmp_path / "d")
        assert not (tmp_path / "d").exists()
