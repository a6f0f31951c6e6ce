"""Tests of course_lib.persistence.tflite: conversion and parity with the SavedModel."""

from __future__ import annotations

import pytest

from course_lib import persistence
from course_lib.errors import InvalidInputError
from course_lib.persistence import ModelFileError


@pytest.fixture(scope="module")
def converted(fraud_saved, fraud, tmp_path_factory):
    out = tmp_path_factory.mktemp("tflite") / "m.tflite"
    return persistence.to_tflite(fraud_saved["savedmodel"].path, out, fraud.test.x[:200])


class TestToTFLite:
    def test_tflite_predictions_match_the_savedmodel(self, converted):
        assert converted.path.stat().st_size == converted.size_bytes > 0
        assert converted.max_abs_diff < 1e-5

    def test_report(self, converted):
        assert converted.ok and converted.verdict.startswith("OK: TF Lite model m.tflite: ")
        assert str(converted) == repr(converted) == converted.verdict
        assert "largest prediction difference from the SavedModel" in converted._repr_html_()

    def test_a_difference_above_the_tolerance_is_not_ok(self, converted):
        from dataclasses import replace

        strict = replace(converted, max_abs_diff=2e-5)
        assert not strict.ok and strict.verdict.startswith("NOT OK: ")

    def test_needs_a_savedmodel(self, fraud_saved, fraud, tmp_path):
        with pytest.raises(ModelFileError, match="expected a savedmodel model"):
            persistence.to_tflite(fraud_saved["keras"].path, tmp_path / "m.tflite",
                                  fraud.test.x[:5])

    def test_input_is_checked_against_the_model(self, fraud_saved, fraud, tmp_path):
        with pytest.raises(InvalidInputError, match=r"input 'features' of shape \(n, 8\)"):
            persistence.to_tflite(fraud_saved["savedmodel"].path, tmp_path / "m.tflite",
                                  fraud.test.x[:5, :7])
        assert not (tmp_path / "m.tflite").exists()
