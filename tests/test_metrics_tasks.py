"""Tests of course_lib.metrics.tasks: the task read from labels and output, labels in one form."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.errors import InvalidInputError
from course_lib.metrics.tasks import (
    check_task,
    class_ids,
    detect_task,
    predicted_classes,
    probabilities,
    regression_values,
)


class TestDetectTask:
    def test_zero_one_labels_with_probabilities_are_binary(self):
        assert detect_task([0, 1, 0], [0.1, 0.9, 0.4]) == "binary"

    def test_two_column_softmax_is_binary(self):
        assert detect_task([0, 1], [[0.9, 0.1], [0.2, 0.8]]) == "binary"

    def test_ten_columns_are_multiclass(self):
        assert detect_task(np.arange(10), np.eye(10)) == "multiclass"

    def test_class_ids_with_predicted_ids_are_multiclass(self):
        assert detect_task([0, 2, 1], [0, 2, 2]) == "multiclass"

    def test_one_hot_labels_are_multiclass(self):
        assert detect_task([[0, 0, 1], [1, 0, 0]]) == "multiclass"

    def test_class_names_are_classification(self):
        assert detect_task(["cat", "dog", "owl"]) == "multiclass"

    def test_fractional_targets_are_regression(self):
        assert detect_task([151.0, 75.5, 141.0], [140.2, 80.1, 150.3]) == "regression"

    def test_whole_targets_with_fractional_predictions_are_regression(self):
        assert detect_task([151, 75, 141], [140.2, 80.1, 150.3]) == "regression"

    def test_zero_one_targets_with_values_beyond_one_are_regression(self):
        assert detect_task([0, 1, 1], [0.2, 1.7, -0.3]) == "regression"

    def test_unknown_task_is_refused(self):
        with pytest.raises(InvalidInputError, match="one of binary, multiclass, regression"):
            check_task("ranking")

    def test_empty_labels_are_refused(self):
        with pytest.raises(InvalidInputError, match="at least one example"):
            detect_task([])


class TestClassIds:
    def test_names_are_sorted(self):
        ids, names = class_ids(["owl", "cat", "owl"])
        assert ids.tolist() == [1, 0, 1] and names == ("cat", "owl")

    def test_given_names_set_the_order(self):
        ids, _ = class_ids(["owl", "cat"], class_names=["owl", "cat"])
        assert ids.tolist() == [0, 1]

    def test_unknown_name_is_refused(self):
        with pytest.raises(InvalidInputError, match=r"among the class names \['cat', 'owl'\]; found \['dog'\]"):
            class_ids(["dog"], class_names=["cat", "owl"])

    def test_negative_ids_are_refused_with_the_regression_hint(self):
        with pytest.raises(InvalidInputError, match="task='regression'"):
            class_ids([-1, 0, 1])

    def test_too_few_names_are_refused(self):
        with pytest.raises(InvalidInputError, match="a name for each of the 3 classes; found 2"):
            class_ids([0, 1, 2], class_names=["a", "b"])


class TestOutputs:
    def test_one_probability_becomes_two_columns(self):
        assert probabilities([0.25], 1).tolist() == [[0.75, 0.25]]

    def test_probabilities_outside_zero_one_are_refused(self):
        with pytest.raises(InvalidInputError, match="between 0 and 1"):
            probabilities([1.5, 0.2], 2)

    def test_wrong_number_of_columns_is_refused(self):
        with pytest.raises(InvalidInputError, match="expected 10 class probabilities per row; found 3"):
            probabilities(np.full((2, 3), 1 / 3), 2, 10)

    def test_argmax_of_rows(self):
        assert predicted_classes([[0.1, 0.9], [0.8, 0.2]], 2, 2).tolist() == [1, 0]

    def test_regression_of_several_outputs_is_refused(self):
        with pytest.raises(InvalidInputError, match="one number per row; found shape"):
            regression_values(np.zeros((2, 3)), "y_pred")
