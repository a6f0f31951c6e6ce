"""Tests of course_lib._inputs: model inputs of any structure, checked in one place."""

from __future__ import annotations

from types import SimpleNamespace as Spec

import numpy as np
import pytest

from course_lib import _inputs
from course_lib.errors import InvalidInputError

TEXT_AND_AGE = [Spec(name="city", shape=(None, 1), dtype="string"),
                Spec(name="age", shape=(None, 1), dtype="float32")]


class TestCheck:
    def test_no_rows_in_a_dict_is_refused(self):
        x = {"city": np.zeros((0, 1), dtype=str), "age": np.zeros((0, 1))}
        with pytest.raises(InvalidInputError, match="expected at least one row in x; found 0"):
            _inputs.check(x, TEXT_AND_AGE)

    def test_no_rows_without_specs_is_refused(self):
        with pytest.raises(InvalidInputError, match="expected at least one row in x; found 0"):
            _inputs.check([np.zeros((0, 2)), np.zeros((0, 3))])

    def test_object_numbers_are_read_as_numbers(self):
        out = _inputs.check(np.array([[1, 2.5]], dtype=object))
        assert out.dtype == np.float32 and out.tolist() == [[1.0, 2.5]]

    def test_object_text_is_read_as_text(self):
        x = {"city": np.array([["Paris"]], dtype=object), "age": [[3.0]]}
        assert _inputs.check(x, TEXT_AND_AGE)["city"].tolist() == [["Paris"]]

    def test_bytes_are_decoded_not_shown_as_their_repr(self):
        x = {"city": np.array([[b"Paris"]], dtype=object), "age": [[3.0]]}
        assert _inputs.check(x, TEXT_AND_AGE)["city"].tolist() == [["Paris"]]

    def test_a_missing_text_value_is_refused(self):
        x = {"city": np.array([["Paris"], [None]], dtype=object), "age": [[3.0], [4.0]]}
        with pytest.raises(InvalidInputError, match=r"input 'city'.*found None \(NoneType\)"):
            _inputs.check(x, TEXT_AND_AGE)

    def test_ragged_rows_are_refused(self):
        with pytest.raises(InvalidInputError, match="could not read it"):
            _inputs.check([[1.0, 2.0], [3.0]])

    def test_values_beyond_the_inputs_dtype_are_refused(self):
        with pytest.raises(InvalidInputError, match="float32's range"):
            _inputs.check({"city": [["Paris"]], "age": [[1e300]]}, TEXT_AND_AGE)
