"""Tests of course_lib.metrics.regression: MAE, RMSE, R², the largest error."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from course_lib.errors import InvalidInputError
from course_lib.metrics import Metrics, RegressionMetrics

Y = np.array([3.0, -0.5, 2.0, 7.0])
P = np.array([2.5, 0.0, 2.0, 8.0])


class TestFromPredictions:
    def test_matches_scikit_learn(self):
        m = RegressionMetrics.from_predictions(Y, P)
        assert (m.mae, m.rmse ** 2, m.r2) == pytest.approx(
            (skm.mean_absolute_error(Y, P), skm.mean_squared_error(Y, P), skm.r2_score(Y, P)))

    def test_largest_error_and_its_row(self):
        m = RegressionMetrics.from_predictions(Y, P)
        assert (m.max_error, m.worst_row) == (1.0, 3)

    def test_column_output_is_accepted(self):
        assert RegressionMetrics.from_predictions(Y, P[:, None]).mae == pytest.approx(0.5)

    def test_nan_prediction_is_refused(self):
        with pytest.raises(InvalidInputError, match="1 NaN"):
            RegressionMetrics.from_predictions(Y, [1.0, np.nan, 2.0, 3.0])

    def test_row_count_mismatch_is_refused(self):
        with pytest.raises(InvalidInputError, match="4 labels but 3 scores"):
            RegressionMetrics.from_predictions(Y, P[:3])

    def test_dispatch_from_metrics(self):
        assert isinstance(Metrics.from_predictions(Y, P), RegressionMetrics)

    def test_dispatch_with_task_for_whole_number_targets(self):
        assert isinstance(Metrics.from_predictions([1, 2, 3], [1, 2, 4], task="regression"),
                          RegressionMetrics)


class TestValues:
    def test_get_unknown_is_refused(self):
        with pytest.raises(InvalidInputError, match="among mae, rmse, r2, max_error; found 'recall'"):
            RegressionMetrics.from_predictions(Y, P).get("recall")

    def test_describe(self):
        assert RegressionMetrics.from_predictions(Y, P).describe().startswith("MAE 0.5, RMSE 0.612")

    def test_as_dict_names_the_task(self):
        assert RegressionMetrics.from_predictions(Y, P).as_dict()["task"] == "regression"
