"""Tests of course_lib.persistence.archives: what a model file may unpack to.

The archives are crafted small (a 20 MB member of zeros deflates to 20 KB) and checked
against a 10 MB bound, so nothing big is written or read.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from course_lib.errors import ArchiveTooLargeError, InvalidInputError, ModelFileError
from course_lib.persistence import archives

MB = 1 << 20
BOUND = 10 * MB


def zip_of_zeros(path, size=20 * MB, name="model.weights.h5"):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", "{}")
        zf.writestr(name, bytes(size))
    return path


def declare(path, name, size):
    """Rewrite the sizes a member declares (local header and central directory): a lie."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    data[info.header_offset + 22:info.header_offset + 26] = size.to_bytes(4, "little")
    at = data.find(b"PK\x01\x02")
    while at != -1:  # the central entry of this member: its name follows the 46-byte header
        name_len = int.from_bytes(data[at + 28:at + 30], "little")
        if data[at + 46:at + 46 + name_len] == name.encode():
            data[at + 24:at + 28] = size.to_bytes(4, "little")
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))
    return path


def h5_declaring(path, shape=(5 << 10, 1 << 10)):
    """An HDF5 file with one float32 dataset never written: a few KB that read back as 20 MB."""
    import h5py

    with h5py.File(path, "w") as h5:
        h5.create_dataset("layers/dense/vars/0", shape=shape, dtype="float32")
    return path


class TestCheckUnpacked:
    def test_members_declaring_more_than_the_bound_are_refused(self, tmp_path):
        bomb = zip_of_zeros(tmp_path / "bomb.keras")
        assert bomb.stat().st_size < 100_000
        with pytest.raises(ArchiveTooLargeError,
                           match=r"at most 10.00 MB .*it would unpack to 20.00 MB, as its members "
                                 r"declare \(model.weights.h5: 20.00 MB\)"):
            archives.check_unpacked(bomb, max_unpacked_bytes=BOUND)

    def test_a_member_whose_declared_size_lies_is_refused(self, tmp_path):
        liar = declare(zip_of_zeros(tmp_path / "liar.keras"), "model.weights.h5", 1_000)
        with zipfile.ZipFile(liar) as zf:
            assert sum(i.file_size for i in zf.infolist()) < BOUND  # the directory looks fine
        with pytest.raises(ArchiveTooLargeError, match="its declared size lies"):
            archives.check_unpacked(liar, max_unpacked_bytes=BOUND)

    def test_an_archive_under_the_bound_passes(self, tmp_path):
        small = zip_of_zeros(tmp_path / "small.keras", size=2 * MB)
        assert archives.check_unpacked(small, max_unpacked_bytes=BOUND) == 2 * MB + 2

    def test_none_lifts_the_bound(self, tmp_path):
        assert archives.check_unpacked(zip_of_zeros(tmp_path / "b.keras"),
                                       max_unpacked_bytes=None) == 0

    def test_an_h5_file_is_bounded_by_its_datasets(self, tmp_path):
        h5 = h5_declaring(tmp_path / "big.h5")
        assert h5.stat().st_size < 100_000
        with pytest.raises(ArchiveTooLargeError, match=r"20.00 MB \(the sum of its datasets"):
            archives.check_unpacked(h5, max_unpacked_bytes=BOUND)

    def test_an_h5_inside_a_keras_archive_is_bounded_by_its_datasets(self, tmp_path):
        h5 = h5_declaring(tmp_path / "weights.h5")
        path = tmp_path / "small_zip_big_weights.keras"
        with zipfile.ZipFile(path, "w") as zf:
            zf.write(h5, "model.weights.h5")
        with pytest.raises(ArchiveTooLargeError, match="once its weights are read"):
            archives.check_unpacked(path, max_unpacked_bytes=BOUND)

    def test_a_member_that_does_not_inflate_is_a_model_file_error(self, tmp_path):
        path = zip_of_zeros(tmp_path / "broken.keras", size=MB)
        data = bytearray(path.read_bytes())
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("model.weights.h5")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
        data[start:start + 64] = bytes([0xFF]) * 64  # not a deflate stream
        path.write_bytes(bytes(data))
        with pytest.raises(ModelFileError, match="model.weights.h5 to be readable compressed data"):
            archives.check_unpacked(path, max_unpacked_bytes=BOUND)

    @pytest.mark.parametrize("bound", [0, -1, 1.5, "1GB"])
    def test_a_bound_that_is_not_a_positive_whole_number_is_refused(self, tmp_path, bound):
        with pytest.raises(InvalidInputError, match="max_unpacked_bytes"):
            archives.check_unpacked(zip_of_zeros(tmp_path / "b.keras", size=10),
                                    max_unpacked_bytes=bound)


class TestUnpackedBytes:
    def test_counts_the_arrays_of_an_h5_file(self, tmp_path):
        assert archives.unpacked_bytes(h5_declaring(tmp_path / "x.h5", shape=(10, 3))) == 120

    def test_h5_bytes_is_shape_times_item_size(self, tmp_path):
        import h5py

        with h5py.File(tmp_path / "two.h5", "w") as h5:
            h5["a"] = np.zeros((4, 2), dtype="float64")
            h5["b/c"] = np.zeros(3, dtype="int8")
        assert archives.h5_bytes(tmp_path / "two.h5") == 4 * 2 * 8 + 3
