"""Tests of course_lib._fs: staged writes leave the old content or the new, never a mix."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from course_lib import _fs
from course_lib.errors import InvalidInputError, StorageError


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True, timeout=60)
    return int(done.stdout)


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


class TestStorageError:
    def test_a_full_disk_before_the_rename_is_a_storage_error_and_leaves_the_old_file(
            self, tmp_path):
        (tmp_path / "a.json").write_text("old")

        def full():
            raise OSError(errno.ENOSPC, "No space left on device")

        with pytest.raises(StorageError, match=r"write .*a.json; the disk refused: no space is "
                                               r"left.*\[Errno 28\].*Fix: free some space"):
            _fs.write_atomic(tmp_path / "a.json", b"new", before_rename=full)
        assert os.listdir(tmp_path) == ["a.json"] and (tmp_path / "a.json").read_text() == "old"

    def test_it_is_an_oserror_with_the_errno(self):
        err = _fs.storage_error(OSError(errno.EROFS, "Read-only file system"), "write x")
        assert isinstance(err, OSError) and err.errno == errno.EROFS
        assert "read-only" in str(err) and "Fix: write to a folder on a writable disk" in str(err)

    @pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.ENAMETOOLONG,
                                      errno.EDQUOT])
    def test_each_refusal_says_what_it_means_and_the_fix(self, code):
        err = _fs.storage_error(OSError(code, os.strerror(code)), "write x")
        assert err is not None and err.errno == code and "Fix: " in str(err)

    def test_other_errors_stay_what_they_are(self):
        assert _fs.storage_error(FileNotFoundError(errno.ENOENT, "gone"), "read x") is None

    def test_tensorflow_s_full_disk_error_is_a_storage_error(self, tmp_path):
        class ResourceExhaustedError(Exception):  # TensorFlow's class: not an OSError
            pass

        with pytest.raises(StorageError, match=r"no space is left.*\[Errno 28\] No space left"), \
                _fs.disk("write model"):
            raise ResourceExhaustedError(
                "variables_temp/part-00000.tempstate94; No space left on device [Op:SaveV2]")

    def test_h5py_s_errno_in_its_text_is_a_storage_error(self):
        with pytest.raises(StorageError, match="the disk refused: no space is left"), \
                _fs.disk("write m.h5"):
            raise RuntimeError("Can't close file (file write failed: errno = 28, error message")

    def test_an_error_naming_no_refusal_passes_unchanged(self):
        with pytest.raises(ValueError, match="bad shape"), _fs.disk("write x"):
            raise ValueError("bad shape")

    def test_a_read_only_disk_inside_a_staged_write_leaves_nothing(self, tmp_path):
        with pytest.raises(StorageError, match="the file system is read-only"), \
                _fs.staged(tmp_path / "out") as tmp:
            tmp.mkdir()
            raise OSError(errno.EROFS, "Read-only file system")
        assert os.listdir(tmp_path) == []

    def test_a_full_disk_mid_copy_is_a_storage_error(self, tmp_path, fail_copy_at):
        (tmp_path / "src").mkdir()
        for i in range(3):
            (tmp_path / "src" / f"f{i}").write_bytes(b"x")
        fail_copy_at(2)
        with pytest.raises(StorageError, match="copy .*src to .*dst; the disk refused: no space"):
            _fs.copy_tree(tmp_path / "src", tmp_path / "dst")

    def test_a_real_full_file_system(self, small_disk):
        mnt = small_disk("1m")
        (mnt / "a.bin").write_bytes(b"old")
        with pytest.raises(StorageError, match="no space is left on the device"):
            _fs.write_atomic(mnt / "a.bin", b"x" * 2_000_000)
        with pytest.raises(StorageError, match="no space is left on the device"), \
                _fs.staged(mnt / "model") as tmp:
            tmp.mkdir()
            (tmp / "w.bin").write_bytes(b"x" * 2_000_000)
        assert os.listdir(mnt) == ["a.bin"] and (mnt / "a.bin").read_bytes() == b"old"


class TestLeftovers:
    def test_temporary_names_carry_the_writer(self, tmp_path, monkeypatch):
        seen = []
        monkeypatch.setattr(os, "replace", lambda a, b: seen.append(os.path.basename(a)))
        _fs.write_atomic(tmp_path / "a.json", "{}")
        assert _fs.owner_of(seen[0])[0] == os.getpid() and seen[0].endswith(".tmp")

    def test_a_dead_writers_leftovers_are_removed_by_the_next_write(self, tmp_path):
        tag = f"{_dead_pid()}@{_fs.owner_tag().split('@')[1]}"
        (tmp_path / f".a.json.{tag}-1234.tmp").write_text("half")
        (tmp_path / f".model.{tag}-abcd").mkdir()
        _fs.write_atomic(tmp_path / "a.json", "{}")
        with _fs.staged(tmp_path / "model") as tmp:
            tmp.write_bytes(b"new")
        assert sorted(os.listdir(tmp_path)) == ["a.json", "model"]

    def test_a_live_writers_are_kept(self, tmp_path):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            live = f".a.json.{child.pid}@{_fs.owner_tag().split('@')[1]}-1234.tmp"
            (tmp_path / live).write_text("being written")
            _fs.write_atomic(tmp_path / "a.json", "{}")
            assert live in os.listdir(tmp_path)
        finally:
            child.kill()
            child.wait(timeout=60)

    def test_names_without_a_writer_or_of_another_host_are_kept(self, tmp_path):
        pid = _dead_pid()
        names = [".a.json.1-abc.tmp", f".a.json.{pid}@otherhost-1234.tmp"]
        for n in names:
            (tmp_path / n).write_text("x")
        assert _fs.remove_leftovers(tmp_path, (".a.json.",)) == []

    def test_process_alive(self):
        assert _fs.process_alive(os.getpid()) and not _fs.process_alive(_dead_pid())


class TestNoLinksFollowed:
    def test_read_file_refuses_a_link(self, tmp_path):
        (tmp_path / "real").write_text("{}")
        (tmp_path / "link").symlink_to(tmp_path / "real")
        with pytest.raises(InvalidInputError, match="it is a symbolic link"):
            _fs.read_file(tmp_path / "link", 100)

    def test_read_file_refuses_a_folder_and_a_big_file(self, tmp_path):
        (tmp_path / "d").mkdir()
        (tmp_path / "big").write_bytes(b"x" * 101)
        with pytest.raises(InvalidInputError, match="it is a folder"):
            _fs.read_file(tmp_path / "d", 100)
        with pytest.raises(InvalidInputError, match="at most 100 bytes; it has 101"):
            _fs.read_file(tmp_path / "big", 100)

    def test_copy_tree_refuses_a_link_to_an_outside_file(self, tmp_path):
        (tmp_path / "secret").write_text("outside")
        (tmp_path / "src" / "assets").mkdir(parents=True)
        (tmp_path / "src" / "assets" / "secret.txt").symlink_to(tmp_path / "secret")
        with pytest.raises(InvalidInputError, match=r"assets/secret.txt \(a symbolic link\)"):
            _fs.copy_tree(tmp_path / "src", tmp_path / "dst")
        assert not (tmp_path / "dst").exists()

    def test_copy_tree_refuses_a_link_loop(self, tmp_path):
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "loop").symlink_to(tmp_path / "src" / "loop")
        with pytest.raises(InvalidInputError, match=r"loop \(a symbolic link\)"):
            _fs.copy_tree(tmp_path / "src", tmp_path / "dst")

    def test_copy_tree_refuses_a_pipe(self, tmp_path):
        (tmp_path / "src").mkdir()
        os.mkfifo(tmp_path / "src" / "fifo")
        with pytest.raises(InvalidInputError, match=r"fifo \(not a regular file\)"):
            _fs.copy_tree(tmp_path / "src", tmp_path / "dst")

    def test_sha256_does_not_follow_a_link(self, tmp_path):
        (tmp_path / "real").write_text("x")
        (tmp_path / "link").symlink_to(tmp_path / "real")
        with pytest.raises(OSError):
            _fs.sha256(tmp_path / "link")
