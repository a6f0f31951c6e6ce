"""Tests of course_lib.layers: the custom layer of lesson 01 and its registration."""

from __future__ import annotations

import numpy as np
import pytest

layers = pytest.importorskip("course_lib.layers")


def test_column_mask_marks_the_given_columns():
    assert layers.column_mask(4, (0, 2)).tolist() == [1.0, 0.0, 1.0, 0.0]


class TestLogScale:
    def test_log_of_the_skewed_columns_only(self):
        x = np.array([[np.e - 1, 5.0, 0.0, -3.0]], dtype="float32")
        out = np.asarray(layers.LogScale(columns=(0, 2))(x))
        np.testing.assert_allclose(out, [[1.0, 5.0, 0.0, -3.0]], rtol=1e-6)

    def test_negative_values_of_a_skewed_column_become_zero(self):
        out = np.asarray(layers.LogScale(columns=(0,))(np.array([[-4.0, 1.0]], dtype="float32")))
        np.testing.assert_allclose(out, [[0.0, 1.0]])

    def test_config_round_trip_keeps_the_columns(self):
        layer = layers.LogScale(columns=(1, 3), name="log")
        again = layers.LogScale.from_config(layer.get_config())
        assert again.columns == (1, 3) and again.name == "log"

    def test_registered_under_the_course_package(self):
        keras = layers.keras
        assert keras.saving.get_registered_object("course_lib>LogScale") is layers.LogScale

    def test_the_unregistered_copy_is_not_registered(self):
        keras = layers.keras
        name = keras.saving.get_registered_name(layers.UnregisteredLogScale)
        assert name == "UnregisteredLogScale"
        assert keras.saving.get_registered_object("course_lib>UnregisteredLogScale") is None
