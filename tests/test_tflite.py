"""Tests of course_lib.persistence.tflite: conversion and parity with the SavedModel."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import persistence
from course_lib.errors import ConversionError, InvalidInputError
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

    def test_a_conversion_already_made_is_checked_without_converting_again(
            self, converted, fraud_saved, fraud, tmp_path, monkeypatch):
        from course_lib.persistence import tflite

        monkeypatch.setattr(tflite, "_convert", None)  # any conversion would fail
        again = persistence.to_tflite(fraud_saved["savedmodel"].path, tmp_path / "again.tflite",
                                      fraud.test.x[:200], converted=converted.path.read_bytes())
        assert again.ok and again.max_abs_diff == converted.max_abs_diff
        assert (tmp_path / "again.tflite").read_bytes() == converted.path.read_bytes()

    @pytest.mark.parametrize("bad", ["m.tflite", b"", 3])
    def test_converted_must_be_the_bytes_of_a_model(self, bad, fraud_saved, fraud, tmp_path):
        with pytest.raises(InvalidInputError, match="expected converted to be the bytes of a TF Lite"):
            persistence.to_tflite(fraud_saved["savedmodel"].path, tmp_path / "m.tflite",
                                  fraud.test.x[:5], converted=bad)
        assert not (tmp_path / "m.tflite").exists()

    def test_bytes_that_are_no_model_fail_clearly(self, fraud_saved, fraud, tmp_path):
        with pytest.raises(ConversionError, match="the interpreter failed"):
            persistence.to_tflite(fraud_saved["savedmodel"].path, tmp_path / "m.tflite",
                                  fraud.test.x[:5], converted=b"not a model")

    def test_needs_a_savedmodel(self, fraud_saved, fraud, tmp_path):
        with pytest.raises(ModelFileError, match="expected a savedmodel model"):
            persistence.to_tflite(fraud_saved["keras"].path, tmp_path / "m.tflite",
                                  fraud.test.x[:5])

    def test_input_is_checked_against_the_model(self, fraud_saved, fraud, tmp_path):
        with pytest.raises(InvalidInputError, match=r"input 'features' of shape \(n, 8\)"):
            persistence.to_tflite(fraud_saved["savedmodel"].path, tmp_path / "m.tflite",
                                  fraud.test.x[:5, :7])
        assert not (tmp_path / "m.tflite").exists()


class TestToTFLiteOfAnyModel:
    def test_images(self, digits_model, digits, tmp_path):
        src = persistence.save(digits_model, tmp_path / "digits").path
        result = persistence.to_tflite(src, tmp_path / "d.tflite", digits[1].x[:50])
        assert result.ok and result.changed == 0

    def test_two_inputs_as_a_dict(self, two_input_model, two_inputs, tmp_path):
        src = persistence.save(two_input_model, tmp_path / "two").path
        x = {k: v[:40] for k, v in two_inputs[1][0].items()}
        assert persistence.to_tflite(src, tmp_path / "t.tflite", x).ok

    def test_text_inputs(self, text_input_model, tmp_path):
        src = persistence.save(text_input_model, tmp_path / "text").path
        x = {"city": np.array([["Paris"], ["Nice"]]), "age": np.array([[3.0], [4.0]])}
        assert persistence.to_tflite(src, tmp_path / "s.tflite", x).ok

    def test_regression_tolerance_is_relative_to_the_outputs(self, diabetes_model, diabetes,
                                                            tmp_path):
        src = persistence.save(diabetes_model, tmp_path / "reg").path
        result = persistence.to_tflite(src, tmp_path / "r.tflite", diabetes[1].x, task="regression")
        assert result.ok and result.scale > 1 and result.changed is None
        assert result.allowed == pytest.approx(1e-5 * result.scale)

    def test_an_operation_tf_lite_lacks_is_named(self, tmp_path):
        import tensorflow as tf

        from course_lib import _tf

        keras = _tf.keras()

        class Digits(keras.layers.Layer):  # number -> text -> length: TF Select ops only
            def call(self, x):
                return tf.cast(tf.strings.length(tf.strings.as_string(x)), tf.float32)

        inputs = keras.Input((3,), name="x")
        src = persistence.save(keras.Model(inputs, Digits()(inputs)), tmp_path / "odd").path
        with pytest.raises(ConversionError, match=r"lacks: AsString, StringLength.*SELECT_TF_OPS"):
            persistence.to_tflite(src, tmp_path / "odd.tflite", np.ones((2, 3)))
        assert not (tmp_path / "odd.tflite").exists()

    def test_a_changed_class_is_not_ok(self, converted):
        from dataclasses import replace

        moved = replace(converted, changed=3)
        assert not moved.ok and moved.verdict.endswith(", 3 rows changed class")
