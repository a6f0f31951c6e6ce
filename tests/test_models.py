"""Tests of course_lib.models: the lesson models and their seeded training."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import data, models
from course_lib.errors import InvalidInputError


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3)).astype("float32") * [1.0, 100.0, 0.01]
    y = (x[:, 0] + rng.normal(scale=0.5, size=400) > 1.0).astype("int64")
    return data.Split(x.astype("float32"), y)


def _trained_scores(split, epochs=3):
    model = models.build_fraud_model(split.x)
    models.train(model, split, epochs=epochs, batch_size=32, class_weight="balanced")
    return models.predict_scores(model, split.x)


class TestBuildFraudModel:
    def test_scaling_layer_is_adapted_on_the_training_features(self, small):
        model = models.build_fraud_model(small.x)
        scaled = np.asarray(model.get_layer("scaling")(small.x))
        np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-3)
        np.testing.assert_allclose(scaled.std(axis=0), 1.0, atol=1e-2)

    def test_naive_model_has_no_scaling_layer(self, small):
        model = models.build_fraud_model(small.x, normalize=False)
        assert "scaling" not in [layer.name for layer in model.layers]

    def test_one_probability_per_row(self, small):
        model = models.build_fraud_model(small.x)
        assert model.output_shape == (None, 1)

    def test_one_dimensional_features_are_refused(self):
        with pytest.raises(InvalidInputError, match=r"2-D array .* found shape \(5,\)"):
            models.build_fraud_model(np.zeros(5))

    def test_nan_features_are_refused(self):
        with pytest.raises(InvalidInputError, match="NaN"):
            models.build_fraud_model(np.array([[1.0, np.nan]]))


class TestTrain:
    def test_same_seed_gives_identical_scores(self, small):
        np.testing.assert_array_equal(_trained_scores(small), _trained_scores(small))

    def test_training_improves_on_chance(self, small):
        from sklearn.metrics import roc_auc_score

        assert roc_auc_score(small.y, _trained_scores(small, epochs=20)) > 0.8

    def test_unknown_class_weight_word_is_refused(self, small):
        model = models.build_fraud_model(small.x)
        with pytest.raises(InvalidInputError, match="'balanced' or a dict; found 'auto'"):
            models.train(model, small, class_weight="auto")


class TestClassWeights:
    def test_balanced_weights_equalise_the_classes(self):
        w = models.class_weights(np.array([0] * 98 + [1] * 2))
        assert w[1] * 2 == pytest.approx(w[0] * 98)

    def test_single_class_is_refused(self):
        with pytest.raises(InvalidInputError, match=r"both classes .* \[3, 0\]"):
            models.class_weights(np.array([0, 0, 0]))


class TestPredictScores:
    def test_returns_one_score_per_row_in_0_1(self, small):
        scores = models.predict_scores(models.build_fraud_model(small.x), small.x)
        assert scores.shape == (400,) and ((scores >= 0) & (scores <= 1)).all()


class TestOverfittingCheck:
    def test_figures_of_each_split_with_the_compiled_loss(self, fraud, fraud_model):
        check = models.overfitting_check(fraud_model, fraud)
        assert [name for name, _ in check.splits] == ["training", "validation", "test"]
        expected = fraud_model.evaluate(fraud.val.x, fraud.val.y.astype("float32"), verbose=0,
                                        return_dict=True)["loss"]
        assert check.get("validation").loss == pytest.approx(expected, rel=1e-4)

    def test_training_far_ahead_of_validation_is_overfitting(self):
        from course_lib.metrics import Metrics

        train = Metrics.from_counts(tp=15, fp=6, fn=0, tn=1479)
        held_out = Metrics.from_counts(tp=15, fp=28, fn=39, tn=3918)
        check = models.OverfittingVerdict((("training", train), ("validation", held_out),
                                           ("test", held_out)))
        assert not check.ok and check.verdict.startswith("OVERFITTING: f1 0.833 on training")

    def test_close_figures_are_no_sign_of_overfitting(self):
        from course_lib.metrics import Metrics

        m = Metrics.from_counts(tp=40, fp=5, fn=10, tn=45)
        check = models.OverfittingVerdict((("training", m), ("validation", m), ("test", m)))
        assert check.ok and check.verdict.startswith("no sign of overfitting")

    def test_the_gap_row_is_training_minus_validation(self):
        from course_lib.metrics import Metrics

        a, b = Metrics.from_counts(tp=9, fp=1, fn=1, tn=9), Metrics.from_counts(tp=8, fp=2, fn=2, tn=8)
        head, rows = models.OverfittingVerdict((("training", a), ("validation", b), ("test", b))).table()
        assert rows[-1][0] == "training - validation" and rows[-1][head.index("f1")] == "+0.100"

    def test_the_rows_trained_on_can_be_given(self, fraud, fraud_model):
        few = data.Split(fraud.train.x[:500], fraud.train.y[:500])
        assert models.overfitting_check(fraud_model, fraud, train=few).get("training").total == 500

    def test_unknown_metric_is_refused(self, fraud, fraud_model):
        with pytest.raises(InvalidInputError, match="metric to be one of .* found 'auc'"):
            models.overfitting_check(fraud_model, fraud, metric="auc")

    def test_checking_model_after_model_sets_off_no_retracing_warning(self, fraud):
        import logging

        seen: list[str] = []
        handler = logging.Handler()
        handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
        logger = logging.getLogger("tensorflow")
        few = data.Split(fraud.train.x[:300], fraud.train.y[:300])
        logger.addHandler(handler)
        try:
            for _ in range(5):
                models.overfitting_check(models.build_fraud_model(few.x), fraud, train=few)
        finally:
            logger.removeHandler(handler)
        assert not [m for m in seen if "retracing" in m]
