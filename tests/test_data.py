"""Tests of course_lib.data: the fraud snapshot, its checksum, splits, breast cancer."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from course_lib import data
from course_lib.errors import DataIntegrityError, InvalidInputError

ROOT = Path(__file__).resolve().parent.parent


class TestFraudSnapshot:
    def test_generator_reproduces_the_shipped_file_byte_for_byte(self, tmp_path):
        digest = data.write_fraud_snapshot(tmp_path / "f.csv.gz")
        assert (tmp_path / "f.csv.gz").read_bytes() == (ROOT / "data" / data.FRAUD_FILE).read_bytes()
        assert digest == data.FRAUD_SHA256

    def test_shipped_file_matches_recorded_checksum(self):
        payload = (ROOT / "data" / data.FRAUD_FILE).read_bytes()
        assert hashlib.sha256(payload).hexdigest() == data.FRAUD_SHA256

    def test_data_readme_states_the_checksum(self):
        assert data.FRAUD_SHA256 in (ROOT / "data" / "README.md").read_text()

    def test_changed_file_is_refused_with_checksum_error(self, tmp_path):
        bad = tmp_path / data.FRAUD_FILE
        payload = bytearray((ROOT / "data" / data.FRAUD_FILE).read_bytes())
        payload[-20] ^= 0xFF
        bad.write_bytes(bytes(payload))
        with pytest.raises(DataIntegrityError, match="expected .* SHA-256 .*found"):
            data._read_fraud(bad, data.FRAUD_SHA256)

    def test_truncated_file_is_refused(self, tmp_path):
        bad = tmp_path / data.FRAUD_FILE
        bad.write_bytes((ROOT / "data" / data.FRAUD_FILE).read_bytes()[:1000])
        with pytest.raises(DataIntegrityError, match="changed or truncated"):
            data._read_fraud(bad, data.FRAUD_SHA256)

    def test_missing_snapshot_says_how_to_fix(self, monkeypatch, tmp_path):
        monkeypatch.setattr(data, "__file__", str(tmp_path / "course_lib" / "data.py"))
        with pytest.raises(DataIntegrityError, match="make data"):
            data._snapshot_path()


@pytest.fixture(scope="module")
def fraud():
    return data.load_fraud()


class TestLoadFraud:
    def test_split_sizes_are_60_20_20(self, fraud):
        sizes = [len(s) for s in (fraud.train, fraud.val, fraud.test)]
        assert sum(sizes) == data.FRAUD_ROWS
        assert sizes == pytest.approx([12000, 4000, 4000], abs=2)

    def test_fraud_is_rare_in_every_split(self, fraud):
        for split in fraud.splits().values():
            assert 0.005 < split.y.mean() < 0.02

    def test_splits_do_not_share_rows(self, fraud):
        rows = [set(map(tuple, s.x.tolist())) for s in fraud.splits().values()]
        assert not (rows[0] & rows[1]) and not (rows[0] & rows[2]) and not (rows[1] & rows[2])

    def test_features_are_float32_with_named_columns(self, fraud):
        assert fraud.train.x.dtype == np.float32
        assert fraud.train.x.shape[1] == len(fraud.feature_names) == 8

    def test_same_rows_every_load(self, fraud):
        again = data.load_fraud()
        np.testing.assert_array_equal(again.test.x, fraud.test.x)

    def test_signal_is_real_but_imperfect(self, fraud):
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        model.fit(fraud.train.x, fraud.train.y)
        auc = roc_auc_score(fraud.test.y, model.predict_proba(fraud.test.x)[:, 1])
        assert 0.95 < auc < 0.9995
        # Imperfect where it matters with rare fraud: even the ideal scores leave some
        # frauds looking ordinary, so no threshold catches every fraud without false alarms.
        ideal = data.ideal_fraud_scores(fraud.test.x)
        assert ideal[fraud.test.y == 1].min() < ideal[fraud.test.y == 0].max()

    def test_never_flagging_fraud_is_about_98_percent_accurate(self, fraud):
        assert 0.98 < 1 - fraud.test.y.mean() < 0.995

    def test_summary_lists_each_split(self, fraud):
        text = str(fraud)
        assert "train" in text and "val" in text and "test" in text and "fraud" in text


class TestIdealFraudScores:
    def test_are_one_chance_of_fraud_per_row(self, fraud):
        scores = data.ideal_fraud_scores(fraud.test.x)
        assert scores.shape == fraud.test.y.shape and 0 < scores.min() <= scores.max() < 1

    def test_average_to_the_share_of_fraud_the_generator_draws(self):
        x, y, _ = data.generate_fraud(n_rows=50_000, seed=3)
        assert abs(data.ideal_fraud_scores(x).mean() - y.mean()) < 0.002

    def test_rank_fraud_above_legitimate_rows_at_least_as_well_as_a_trained_model(self, fraud):
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        model.fit(fraud.train.x, fraud.train.y)
        # "On average": on fresh rows from the same generator. Both AUCs are close to 1, and on
        # the 54 frauds of one split a pair or two of rows decides which is higher.
        x, y, _ = data.generate_fraud(n_rows=100_000, seed=1)
        trained = roc_auc_score(y, model.predict_proba(x.astype(np.float32))[:, 1])
        assert roc_auc_score(y, data.ideal_fraud_scores(x)) > trained

    def test_refuse_rows_of_other_features(self):
        with pytest.raises(InvalidInputError, match=r"rows of 8 columns.*found an array of shape \(4, 3\)"):
            data.ideal_fraud_scores(np.ones((4, 3)))


class TestInstalledPackage:
    def test_wheel_ships_the_snapshot_and_loads_it_outside_the_checkout(self, tmp_path):
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
            check=True, capture_output=True,
        )
        wheel = next((tmp_path / "dist").glob("course_lib-*.whl"))
        assert f"course_lib/_data/{data.FRAUD_FILE}" in zipfile.ZipFile(wheel).namelist()
        target = tmp_path / "site"
        zipfile.ZipFile(wheel).extractall(target)
        out = subprocess.run(
            [sys.executable, "-c",
             "import course_lib.data as d; print(d._snapshot_path()); print(len(d.load_fraud().test))"],
            cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
            check=True, capture_output=True, text=True,
        ).stdout.split()
        assert out[0].startswith(str(target)) and out[1] == str(len(data.load_fraud().test))


class TestBreastCancer:
    def test_label_one_is_malignant(self):
        from sklearn.datasets import load_breast_cancer

        ds = data.load_breast_cancer()
        total = sum(s.positives for s in ds.splits().values())
        assert total == int((load_breast_cancer().target == 0).sum()) == 212

    def test_splits_are_fixed_by_seed(self):
        np.testing.assert_array_equal(data.load_breast_cancer().test.x, data.load_breast_cancer().test.x)


def test_gzip_header_has_no_timestamp():
    payload = (ROOT / "data" / data.FRAUD_FILE).read_bytes()
    assert payload[4:8] == b"\x00\x00\x00\x00"  # mtime field
    assert gzip.decompress(payload).startswith(b"amount,hour,")


class TestSplit:
    def test_takes_images(self):
        split = data.Split(np.zeros((4, 8, 8, 1)), np.array([0, 3, 9, 1]))
        assert len(split) == 4 and split.x.shape == (4, 8, 8, 1)

    def test_takes_a_dict_of_inputs(self):
        split = data.Split({"a": np.zeros((3, 2)), "b": np.zeros((3, 5))}, [0, 1, 0])
        assert len(split) == 3 and split.shape == "3 rows; inputs 'a' (3, 2) float64, 'b' (3, 5) float64"

    def test_reads_lists_as_arrays(self):
        split = data.Split([[1.0, 2.0], [3.0, 4.0]], [0.5, 1.5])
        assert isinstance(split.x, np.ndarray) and isinstance(split.y, np.ndarray)

    def test_takes_regression_targets(self):
        assert data.Split(np.zeros((2, 3)), np.array([151.0, 75.5])).y.dtype.kind == "f"

    def test_refuses_mismatched_rows(self):
        with pytest.raises(InvalidInputError, match="found 3 rows in x and 2 labels in y"):
            data.Split(np.zeros((3, 2)), np.array([0, 1]))

    def test_refuses_inputs_with_different_rows(self):
        with pytest.raises(InvalidInputError, match="same number of rows; found a: 3, b: 2"):
            data.Split({"a": np.zeros((3, 2)), "b": np.zeros((2, 2))}, [0, 1, 0])

    def test_refuses_an_empty_split(self):
        with pytest.raises(InvalidInputError, match="at least one label in y"):
            data.Split(np.zeros((0, 2)), np.array([]))

    def test_refuses_a_single_label(self):
        with pytest.raises(InvalidInputError, match="found a single value 1"):
            data.Split(np.zeros((1, 2)), 1)

    def test_refuses_missing_labels(self):
        with pytest.raises(InvalidInputError, match="1 NaN or infinite"):
            data.Split(np.zeros((2, 2)), [0.0, np.nan])

    def test_positives_count_label_one(self):
        assert data.Split(np.zeros((3, 1)), [0, 1, 2]).positives == 1


class TestDatasetChecks:
    def _dataset(self, **change):
        split = data.Split(np.zeros((2, 3)), [0, 1])
        parts = {"train": split, "val": split, "test": split, **change}
        return data.Dataset(name="toy", feature_names=("a", "b", "c"), positive_label="yes",
                            negative_label="no", source="test", **parts)

    def test_a_consistent_dataset_is_built(self):
        assert len(self._dataset().test) == 2

    def test_refuses_a_split_that_is_not_a_split(self):
        with pytest.raises(InvalidInputError, match="expected val to be a data.Split"):
            self._dataset(val=(np.zeros((2, 3)), [0, 1]))

    def test_refuses_feature_names_that_do_not_match_the_columns(self):
        with pytest.raises(InvalidInputError, match="found 3 names and 4 columns"):
            self._dataset(test=data.Split(np.zeros((2, 4)), [0, 1]))
