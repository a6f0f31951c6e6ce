"""Tests of course_lib.metrics.multiclass: K x K matrix, macro averages, per-class rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from course_lib.errors import InvalidInputError
from course_lib.metrics import Metrics, MulticlassMetrics

Y = np.array([0, 0, 1, 1, 2, 2, 2])
P = np.array([0, 1, 1, 1, 2, 0, 2])


class TestFromPredictions:
    def test_matches_scikit_learn_macro_averages(self):
        m = MulticlassMetrics.from_predictions(Y, P)
        assert (m.precision, m.recall, m.f1) == pytest.approx(
            skm.precision_recall_fscore_support(Y, P, average="macro")[:3])

    def test_matrix_rows_are_truth(self):
        assert MulticlassMetrics.from_predictions(Y, P).confusion_matrix.tolist() == [
            [1, 1, 0], [0, 2, 0], [1, 0, 2]]

    def test_probability_rows_give_the_argmax(self):
        rows = np.eye(3)[P] * 0.8 + 0.05
        assert MulticlassMetrics.from_predictions(Y, rows).accuracy == pytest.approx(5 / 7)

    def test_one_hot_labels(self):
        assert MulticlassMetrics.from_predictions(np.eye(3)[Y], P).accuracy == pytest.approx(5 / 7)

    def test_class_names_label_the_rows(self):
        m = MulticlassMetrics.from_predictions(Y, P, class_names=["cat", "dog", "owl"])
        assert [row[0] for row in m.per_class] == ["cat", "dog", "owl"]

    def test_string_labels_and_string_classes(self):
        m = MulticlassMetrics.from_predictions(["a", "b", "c"], [[1, 0, 0], [0, 1, 0], [0, 1, 0]])
        assert m.class_names == ("a", "b", "c") and m.recall == pytest.approx(2 / 3)

    def test_a_class_never_predicted_has_a_note(self):
        m = MulticlassMetrics.from_predictions([0, 1, 2], [0, 1, 1])
        assert any("class '2' is never predicted" in n for n in m.notes)

    def test_predicted_class_outside_the_classes_is_refused(self):
        with pytest.raises(InvalidInputError, match="among the 2 classes"):
            MulticlassMetrics.from_predictions(["a", "b"], [0, 2])

    def test_dispatch_from_metrics(self):
        assert isinstance(Metrics.from_predictions(Y, np.eye(3)[P]), MulticlassMetrics)


class TestValues:
    def test_get_macro_f1(self):
        m = MulticlassMetrics.from_predictions(Y, P)
        assert m.get("macro_f1") == m.f1

    def test_unknown_metric_is_refused(self):
        with pytest.raises(InvalidInputError, match="among accuracy, precision, recall, f1; found 'mae'"):
            MulticlassMetrics.from_predictions(Y, P).get("mae")

    def test_as_dict_names_the_task(self):
        d = MulticlassMetrics.from_predictions(Y, P).as_dict()
        assert d["task"] == "multiclass" and d["confusion_matrix"][0] == [1, 1, 0]

    def test_describe_names_the_weakest_class(self):
        assert "class '0' is caught least often (recall 50.0%, 1 of 2)" in (
            MulticlassMetrics.from_predictions(Y, P).describe())

    def test_text_has_a_row_per_class(self):
        assert len(str(MulticlassMetrics.from_predictions(Y, P)).splitlines()) == 6
