"""Tests of course_lib._checks: the one place inputs are validated."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import _checks
from course_lib.errors import FeatureMismatchError, InvalidInputError


class TestNumber:
    def test_returns_a_float(self):
        assert _checks.number("tolerance", 1, minimum=0) == 1.0

    def test_refuses_a_bool(self):
        with pytest.raises(InvalidInputError, match="expected flag to be a finite number; found True"):
            _checks.number("flag", True)

    def test_refuses_below_minimum(self):
        with pytest.raises(InvalidInputError, match="a number of 0 or more; found -1"):
            _checks.number("tolerance", -1, minimum=0)

    def test_refuses_above_maximum(self):
        with pytest.raises(InvalidInputError, match="between 0 and 1; found 2"):
            _checks.number("min_recall", 2, minimum=0, maximum=1)

    def test_positive_refuses_zero(self):
        with pytest.raises(InvalidInputError, match="a number above 0; found 0"):
            _checks.number("budget", 0, positive=True)

    def test_refuses_nan(self):
        with pytest.raises(InvalidInputError, match="found nan"):
            _checks.number("x", float("nan"))

    def test_fix_names_the_parameter(self):
        with pytest.raises(InvalidInputError, match=r"Fix: pass e.g. max_latency_ms=50"):
            _checks.number("max_latency_ms", -1, minimum=0, example=50)

    def test_fix_without_identifier_shows_the_value(self):
        with pytest.raises(InvalidInputError, match=r"Fix: pass e.g. 0.01\.$"):
            _checks.number("the tolerance for recall", -1, minimum=0, example=0.01)


class TestWholeAndCount:
    def test_whole_refuses_a_float(self):
        with pytest.raises(InvalidInputError, match="a whole number of 1 or more; found 2.5"):
            _checks.whole("repeats", 2.5, minimum=1)

    def test_count_accepts_a_whole_float(self):
        assert _checks.count("tp", 10.0) == 10

    def test_count_refuses_negative(self):
        with pytest.raises(InvalidInputError, match="expected fn to be 0 or more; found -1"):
            _checks.count("fn", -1)


class TestText:
    def test_refuses_empty(self):
        with pytest.raises(InvalidInputError, match="short non-empty text"):
            _checks.text("label", "  ")


class TestThresholds:
    def test_threshold_refuses_above_one(self):
        with pytest.raises(InvalidInputError, match="between 0 and 1; found 1.5"):
            _checks.threshold(1.5)

    def test_default_grid_is_rounded(self):
        assert _checks.thresholds(None)[7] == 0.07

    def test_grid_is_sorted_and_unique(self):
        assert _checks.thresholds([0.9, 0.1, 0.9]).tolist() == [0.1, 0.9]

    def test_grid_refuses_outside_zero_one(self):
        with pytest.raises(InvalidInputError, match="each a number between 0 and 1"):
            _checks.thresholds([0.5, 2.0])


class TestCost:
    def test_refuses_negative(self):
        with pytest.raises(InvalidInputError, match="expected miss_cost to be a cost of 0 or more"):
            _checks.cost("miss_cost", -5)


class TestLabelsAndScores:
    def test_labels_flatten_a_column(self):
        assert _checks.labels(np.array([[1], [0]])).tolist() == [1, 0]

    def test_labels_refuse_other_values(self):
        with pytest.raises(InvalidInputError, match="only 0 and 1; found 2"):
            _checks.labels([0, 2])

    def test_labels_refuse_empty(self):
        with pytest.raises(InvalidInputError, match="at least one example"):
            _checks.labels([])

    def test_scores_need_one_per_label(self):
        with pytest.raises(InvalidInputError, match="3 labels but 2 scores"):
            _checks.scores([0.1, 0.2], 3)

    def test_scores_refuse_nan(self):
        with pytest.raises(InvalidInputError, match="1 NaN"):
            _checks.scores([0.1, float("nan")], 2)

    def test_probabilities_refuse_logits(self):
        with pytest.raises(InvalidInputError, match="between 0 and 1 .*from -2 to 3"):
            _checks.scores([-2.0, 3.0], 2, probabilities=True)


class TestFeatures:
    def test_casts_to_float32(self):
        assert _checks.features([[1, 2]]).dtype == np.float32

    def test_refuses_text(self):
        with pytest.raises(InvalidInputError, match="expected numbers in x; found dtype <U1"):
            _checks.features([["a"]])

    def test_refuses_ragged_rows(self):
        with pytest.raises(InvalidInputError, match="could not read it"):
            _checks.features([[1, 2], [3]])

    def test_refuses_wrong_rank(self):
        with pytest.raises(InvalidInputError, match=r"2-D array \(rows x features\).*found shape \(3,\)"):
            _checks.features([1, 2, 3])

    def test_refuses_no_rows(self):
        with pytest.raises(InvalidInputError, match="at least one row"):
            _checks.features(np.zeros((0, 3)))

    def test_wrong_columns_raise_the_given_error(self):
        with pytest.raises(FeatureMismatchError, match=r"3 values on axis 1 \(a, b, c\); found 2"):
            _checks.features([[1, 2]], shape=(None, 3), error=FeatureMismatchError,
                             columns=("a", "b", "c"))

    def test_any_rank_when_shape_is_none(self):
        assert _checks.features(np.zeros((2, 8, 8, 1)), shape=None).shape == (2, 8, 8, 1)

    def test_images_checked_on_every_axis(self):
        with pytest.raises(InvalidInputError, match="8 values on axis 2"):
            _checks.features(np.zeros((2, 8, 7, 1)), shape=(None, 8, 8, 1))

    def test_refuses_nan(self):
        with pytest.raises(InvalidInputError, match="found NaN or infinity. Fix"):
            _checks.features([[np.nan]])

    def test_refuses_values_beyond_float32s_range(self):
        with pytest.raises(InvalidInputError,
                           match=r"within float32's range \(\|x\| <= 3\.4028235e\+38\).*found 1e\+300"):
            _checks.features([[1e300, 1.0]])

    def test_the_range_is_that_of_the_models_dtype(self):
        assert _checks.features([[1e300]], dtype=np.float64)[0, 0] == 1e300

    def test_refuses_values_beyond_an_integer_inputs_range(self):
        with pytest.raises(InvalidInputError, match=r"within int32's range .*found 5e\+09"):
            _checks.features([[5e9]], dtype=np.int32)

    def test_refuses_values_beyond_float16s_range(self):
        with pytest.raises(InvalidInputError, match=r"within float16's range .*found 70000"):
            _checks.features([[70000]], dtype=np.float16)

    def test_no_rows_says_so_whatever_the_shape(self):
        for shape in ((None, 3), None):
            with pytest.raises(InvalidInputError, match="expected at least one row in x; found 0"):
                _checks.features(np.zeros((0, 3)), shape=shape)

    def test_python_objects_that_are_numbers_are_numbers(self):
        assert _checks.features(np.array([[1, 2.5]], dtype=object)).tolist() == [[1.0, 2.5]]

    def test_a_missing_value_among_objects_is_named(self):
        with pytest.raises(InvalidInputError, match=r"found None \(NoneType\)"):
            _checks.features(np.array([[1, None]], dtype=object))


class TestRows:
    def test_refuses_zero(self):
        with pytest.raises(InvalidInputError, match="expected at least one row in x; found 0. Fix"):
            _checks.rows(0)

    def test_returns_the_count(self):
        assert _checks.rows(3, "input 'a'") == 3

    def test_names_the_input(self):
        with pytest.raises(InvalidInputError, match="input 'features'"):
            _checks.features([1.0], name="features")
