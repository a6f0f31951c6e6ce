"""Tests of course_lib.tfjs.integrity: files kept inside the model folder, and their record."""

from __future__ import annotations

import json
import shutil

import pytest

from course_lib import tfjs
from course_lib.errors import ModelFileError, TamperedModelError
from course_lib.tfjs import integrity

SHARD = "group1-shard1of1.bin"


@pytest.fixture
def copy(small_tfjs, tmp_path):
    """A private copy of the float32 model folder (with its record)."""
    return shutil.copytree(small_tfjs.f32.path, tmp_path / "model")


def _set_paths(folder, paths):
    meta = json.loads((folder / "model.json").read_text())
    meta["weightsManifest"][0]["paths"] = paths
    (folder / "model.json").write_text(json.dumps(meta))


def _record(folder):
    return json.loads((folder / tfjs.RECORD).read_text())


class TestInside:
    @pytest.mark.parametrize("rel", ["../outside.bin", "a/../../x", "/etc/passwd",
                                     "http://example.org/shard.bin", "..\\shard.bin", "", 7, None])
    def test_paths_that_leave_the_folder(self, tmp_path, rel):
        with pytest.raises(TamperedModelError, match="leaves the folder.*Fix:"):
            integrity.inside(tmp_path, rel, "a weight shard")

    def test_a_plain_name_and_a_dot_slash_name_stay_inside(self, tmp_path):
        assert integrity.inside(tmp_path, "./a.bin") == tmp_path / "a.bin"

    def test_a_symlinked_folder_on_the_way(self, tmp_path):
        (tmp_path / "outside").mkdir()
        (tmp_path / "model").mkdir()
        (tmp_path / "model" / "sub").symlink_to(tmp_path / "outside")
        with pytest.raises(TamperedModelError, match="sub in .* symbolic link"):
            integrity.inside(tmp_path / "model", "sub/shard.bin")

    def test_the_model_folder_itself_may_be_a_link(self, copy, tmp_path):
        link = tmp_path / "link"
        link.symlink_to(copy)
        assert integrity.check_files(link).recorded


class TestCheckFiles:
    def test_a_converted_folder_is_checked_against_its_record(self, copy):
        check = integrity.check_files(copy)
        assert check.ok and [f.path for f in check.files] == ["model.json", SHARD]
        assert check.digests == {f.path: f.sha256 for f in check.files}

    def test_a_swapped_shard_from_another_conversion(self, copy, small_tfjs):
        shutil.copy(small_tfjs.u8.path / SHARD, copy / SHARD)
        with pytest.raises(TamperedModelError, match=rf"{SHARD} differs: recorded .*bytes\), found"):
            integrity.check_files(copy)

    def test_a_truncated_shard(self, copy):
        raw = (copy / SHARD).read_bytes()
        (copy / SHARD).write_bytes(raw[:-4])
        with pytest.raises(TamperedModelError, match=f"{len(raw) - 4} bytes"):
            integrity.check_files(copy)

    def test_a_record_entry_outside_the_folder_is_never_opened(self, copy):
        record = _record(copy)
        record["files"]["../../../../etc/passwd"] = record["files"][SHARD]
        (copy / tfjs.RECORD).write_text(json.dumps(record))
        with pytest.raises(TamperedModelError, match=r"\.\./\.\./\.\./\.\./etc/passwd is missing"):
            integrity.check_files(copy)

    def test_an_extra_symlink_in_the_folder(self, copy, tmp_path):
        (tmp_path / "secret.txt").write_text("x")
        (copy / "notes.txt").symlink_to(tmp_path / "secret.txt")
        with pytest.raises(TamperedModelError, match="notes.txt .* symbolic link"):
            integrity.check_files(copy)

    def test_a_record_that_is_a_symlink(self, copy, tmp_path):
        outside = tmp_path / "record.json"
        (copy / tfjs.RECORD).rename(outside)
        (copy / tfjs.RECORD).symlink_to(outside)
        with pytest.raises(TamperedModelError, match=f"{tfjs.RECORD} .*symbolic link"):
            integrity.check_files(copy)

    @pytest.mark.parametrize("text", ["{not json", "[]", '{"kind": "other", "files": {}}',
                                      "[" * 200_000 + "]" * 200_000])
    def test_a_record_that_is_not_one(self, copy, text):
        (copy / tfjs.RECORD).write_text(text)
        with pytest.raises(ModelFileError, match=tfjs.RECORD):
            integrity.check_files(copy)

    def test_a_record_entry_of_the_wrong_type(self, copy):
        record = _record(copy)
        record["files"][SHARD]["size"] = "108"
        (copy / tfjs.RECORD).write_text(json.dumps(record))
        with pytest.raises(TamperedModelError, match="to be the record tfjs.convert writes.*it is not"):
            integrity.check_files(copy)

    def test_no_record_and_a_missing_shard(self, copy):
        (copy / tfjs.RECORD).unlink()
        (copy / SHARD).unlink()
        with pytest.raises(ModelFileError, match=f"weight shard {SHARD} that model.json lists"):
            integrity.check_files(copy)

    def test_no_record_is_said_plainly(self, copy):
        (copy / tfjs.RECORD).unlink()
        check = integrity.check_files(copy)
        assert not check.recorded and not check.ok and check.digests is None
        assert check.verdict.startswith("NOT CHECKED") and "tfjs.record_files" in check.note


class TestRecordFiles:
    def test_records_every_file(self, copy):
        (copy / tfjs.RECORD).unlink()
        integrity.record_files(copy)
        assert sorted(_record(copy)["files"]) == [SHARD, "model.json"]

    def test_refuses_a_traversal_before_recording(self, copy):
        (copy / tfjs.RECORD).unlink()
        _set_paths(copy, ["../outside.bin"])
        with pytest.raises(TamperedModelError, match="leaves the folder"):
            integrity.record_files(copy)
        assert not (copy / tfjs.RECORD).exists()

    def test_refuses_a_missing_shard(self, copy):
        (copy / SHARD).unlink()
        with pytest.raises(ModelFileError, match="nothing to record"):
            integrity.record_files(copy)


class TestReadModelJson:
    def test_a_symlinked_model_json(self, copy, tmp_path):
        (copy / "model.json").rename(tmp_path / "elsewhere.json")
        (copy / "model.json").symlink_to(tmp_path / "elsewhere.json")
        with pytest.raises(TamperedModelError, match="model.json .*symbolic link"):
            integrity.read_model_json(copy)

    def test_json_that_is_not_an_object(self, tmp_path):
        (tmp_path / "model.json").write_text("[1, 2]")
        with pytest.raises(ModelFileError, match="JSON object"):
            integrity.read_model_json(tmp_path)
