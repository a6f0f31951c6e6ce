"""Tests of course_lib.persistence.loading: load a model of any format, predict on checked rows.

(Loading each format and LoadedModel's description are tested with saving, in
test_formats.py; here: what load refuses before Keras opens a file, and the rows predict
refuses in every format.)
"""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest

from course_lib import persistence
from course_lib.errors import ArchiveTooLargeError, InvalidInputError

FORMATS = ("keras", "savedmodel", "h5")


@pytest.fixture(scope="module")
def loaded(fraud_saved):
    return {fmt: persistence.load(fraud_saved[fmt].path, compile=False) for fmt in FORMATS}


class TestPredictRefuses:
    @pytest.mark.parametrize("fmt", FORMATS)
    def test_no_rows(self, loaded, fmt):
        with pytest.raises(InvalidInputError, match="expected at least one row in x; found 0"):
            loaded[fmt].predict(np.zeros((0, 8)))

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_values_that_become_infinite_in_float32(self, loaded, fmt):
        rows = np.zeros((2, 8))
        rows[1, 3] = 1e300
        with pytest.raises(InvalidInputError, match=r"float32's range .*found 1e\+300"):
            loaded[fmt].predict(rows)

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_python_objects_with_a_gap(self, loaded, fmt):
        rows = np.array([[0.0] * 7 + [None]], dtype=object)
        with pytest.raises(InvalidInputError, match=r"found None \(NoneType\)"):
            loaded[fmt].predict(rows)

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_ragged_rows(self, loaded, fmt):
        with pytest.raises(InvalidInputError, match="could not read it"):
            loaded[fmt].predict([[0.0] * 8, [0.0] * 7])


def weights_declaring(keras_path, target, shape=(5 << 10, 1 << 10)):
    """A copy of a .keras file whose weights file declares one more unwritten 20 MB array."""
    import h5py

    with zipfile.ZipFile(keras_path) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "model.weights.h5":
                h5 = target.parent / "weights.h5"
                h5.write_bytes(data)
                with h5py.File(h5, "a") as f:
                    f.create_dataset("padding", shape=shape, dtype="float32")
                data = h5.read_bytes()
            out.writestr(info.filename, data)
    return target


class TestLoadBoundsWhatAFileUnpacksTo:
    def test_a_keras_file_over_the_bound_is_refused_before_keras_opens_it(
            self, fraud_saved, tmp_path, monkeypatch):
        from course_lib import _tf

        big = weights_declaring(fraud_saved["keras"].path, tmp_path / "big.keras")
        assert big.stat().st_size < 200_000
        keras = _tf.keras()
        monkeypatch.setattr(keras.models, "load_model", None)  # opening it would fail
        with pytest.raises(ArchiveTooLargeError, match="big.keras to unpack to at most 10.00 MB"):
            persistence.load(big, max_unpacked_bytes=10 << 20)

    def test_the_default_bound_is_one_gib(self):
        assert persistence.MAX_UNPACKED_BYTES == 1 << 30

    def test_the_bound_applies_to_legacy_h5(self, fraud_saved):
        with pytest.raises(ArchiveTooLargeError, match=r"fraud.h5 .*sum of its datasets"):
            persistence.load(fraud_saved["h5"].path, max_unpacked_bytes=1_000)

    def test_none_lifts_it(self, fraud_saved, tmp_path):
        big = weights_declaring(fraud_saved["keras"].path, tmp_path / "big.keras", shape=(10,))
        assert persistence.load(big, max_unpacked_bytes=None).format == "keras"

    def test_a_model_under_the_bound_loads(self, fraud_saved, tmp_path):
        copy = shutil.copy(fraud_saved["keras"].path, tmp_path / "copy.keras")
        assert persistence.load(copy, max_unpacked_bytes=1 << 20).input.shape == (None, 8)

    def test_a_bad_bound_is_refused(self, fraud_saved):
        with pytest.raises(InvalidInputError, match="max_unpacked_bytes to be a whole number"):
            persistence.load(fraud_saved["savedmodel"].path, max_unpacked_bytes=-1)
