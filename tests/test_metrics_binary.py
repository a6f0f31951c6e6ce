"""Tests of course_lib.metrics.binary: Metrics from counts and predictions, their text."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from course_lib.errors import InvalidInputError
from course_lib.metrics import Metrics


class TestFromCounts:
    def test_seed_matrix_gives_the_seed_figures(self):
        m = Metrics.from_counts(tp=90, fp=15, fn=10, tn=85)
        assert (round(m.precision, 3), round(m.recall, 3), round(m.f1, 3), m.accuracy) == (
            0.857, 0.9, 0.878, 0.875)

    def test_savedmodel_seed_matrix(self):
        m = Metrics.from_counts(tp=40, fp=5, fn=10, tn=45)
        assert (round(m.precision, 2), m.recall, m.accuracy) == (0.89, 0.8, 0.85)

    def test_counts_are_kept(self):
        m = Metrics.from_counts(tp=1, fp=2, fn=3, tn=4)
        assert (m.tp, m.fp, m.fn, m.tn, m.total, m.positives) == (1, 2, 3, 4, 10, 4)

    def test_flagging_nothing_gives_zero_precision_with_a_note(self):
        m = Metrics.from_counts(tp=0, fp=0, fn=12, tn=988)
        assert (m.precision, m.recall, m.f1, m.accuracy) == (0.0, 0.0, 0.0, 0.988)
        assert any("precision is undefined" in n for n in m.notes)

    def test_no_positive_examples_gives_zero_recall_with_a_note(self):
        m = Metrics.from_counts(tp=0, fp=3, fn=0, tn=7)
        assert m.recall == 0.0 and any("recall is undefined" in n for n in m.notes)

    def test_negative_count_is_refused(self):
        with pytest.raises(InvalidInputError, match="fn to be 0 or more; found -1"):
            Metrics.from_counts(tp=1, fp=1, fn=-1, tn=1)

    def test_non_integer_count_is_refused(self):
        with pytest.raises(InvalidInputError, match="tp to be a whole number.*'90'"):
            Metrics.from_counts(tp="90", fp=1, fn=1, tn=1)

    def test_whole_float_count_is_accepted(self):
        assert Metrics.from_counts(tp=90.0, fp=15, fn=10, tn=85).tp == 90

    def test_all_zero_counts_are_refused(self):
        with pytest.raises(InvalidInputError, match="at least one example"):
            Metrics.from_counts(tp=0, fp=0, fn=0, tn=0)

    def test_confusion_matrix_uses_sklearn_layout(self):
        m = Metrics.from_counts(tp=1, fp=2, fn=3, tn=4)
        assert m.confusion_matrix.tolist() == [[4, 2], [3, 1]]


class TestFromPredictions:
    @pytest.mark.parametrize("seed", range(5))
    def test_agrees_with_sklearn_on_random_data(self, seed):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 2, 500)
        scores = rng.random(500)
        m = Metrics.from_predictions(y, scores, threshold=0.3)
        pred = scores >= 0.3
        assert m.accuracy == pytest.approx(skm.accuracy_score(y, pred))
        assert m.precision == pytest.approx(skm.precision_score(y, pred))
        assert m.recall == pytest.approx(skm.recall_score(y, pred))
        assert m.f1 == pytest.approx(skm.f1_score(y, pred))
        assert m.confusion_matrix.tolist() == skm.confusion_matrix(y, pred).tolist()

    @pytest.mark.parametrize("seed", range(5))
    def test_agrees_with_from_counts(self, seed):
        rng = np.random.default_rng(seed)
        m = Metrics.from_predictions(rng.integers(0, 2, 300), rng.random(300))
        c = Metrics.from_counts(tp=m.tp, fp=m.fp, fn=m.fn, tn=m.tn)
        for k in ("accuracy", "precision", "recall", "f1"):
            assert m.get(k) == pytest.approx(c.get(k))

    def test_score_equal_to_threshold_counts_as_positive(self):
        assert Metrics.from_predictions([1], [0.5], threshold=0.5).tp == 1

    def test_keras_shaped_scores_are_accepted(self):
        m = Metrics.from_predictions(np.array([1, 0]), np.array([[0.9], [0.1]]))
        assert (m.tp, m.tn) == (1, 1)

    def test_threshold_is_recorded(self):
        assert Metrics.from_predictions([1, 0], [0.9, 0.1], threshold=0.7).threshold == 0.7

    def test_zero_division_raises_no_warning(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            m = Metrics.from_predictions([0, 1, 0], [0.1, 0.2, 0.3])
        assert m.precision == 0.0

    def test_mismatched_lengths_are_refused(self):
        with pytest.raises(InvalidInputError, match="3 labels but 2 scores"):
            Metrics.from_predictions([0, 1, 0], [0.1, 0.2])

    def test_labels_other_than_0_1_are_refused(self):
        with pytest.raises(InvalidInputError, match=r"only 0 and 1 \(two classes\); found 2"):
            Metrics.from_predictions([0, 2, 2], [0.1, 0.2, 0.3])

    def test_three_labels_with_task_binary_are_refused(self):
        with pytest.raises(InvalidInputError, match="only 0 and 1 .*or pass task='multiclass'"):
            Metrics.from_predictions([0, 1, 2], [0.1, 0.2, 0.3], task="binary")

    def test_text_labels_need_to_say_which_class_is_positive(self):
        with pytest.raises(InvalidInputError, match=r"class_names=\(negative, positive\).*class_names=\('fraud', 'legit'\)"):
            Metrics.from_predictions(["fraud", "legit"], [0.1, 0.2])

    def test_text_labels_with_class_names(self):
        m = Metrics.from_predictions(["legit", "fraud"], [0.1, 0.8], class_names=("legit", "fraud"))
        assert (m.tp, m.tn, m.class_names) == (1, 1, ("legit", "fraud"))

    def test_scores_outside_zero_one_are_refused(self):
        with pytest.raises(InvalidInputError, match="between 0 and 1 .*from -0.5 to 0.9"):
            Metrics.from_predictions([0, 1], [-0.5, 0.9], task="binary")

    def test_nan_score_is_refused(self):
        with pytest.raises(InvalidInputError, match="1 NaN"):
            Metrics.from_predictions([0, 1], [0.1, float("nan")])

    def test_empty_input_is_refused(self):
        with pytest.raises(InvalidInputError, match="empty"):
            Metrics.from_predictions([], [])

    def test_two_column_softmax_is_read_as_the_positive_column(self):
        m = Metrics.from_predictions([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
        assert (m.tp, m.fn, m.tn) == (1, 1, 1)

    def test_threshold_outside_0_1_is_refused(self):
        with pytest.raises(InvalidInputError, match="between 0 and 1; found 50.0"):
            Metrics.from_predictions([0, 1], [0.1, 0.9], threshold=50)


class TestMetricsDisplay:
    def test_text_shows_counts_and_metrics(self):
        text = str(Metrics.from_counts(tp=90, fp=15, fn=10, tn=85))
        assert "TP       90" in text and "precision 0.857" in text and "f1 0.878" in text

    def test_html_shows_counts_and_metrics(self):
        page = Metrics.from_counts(tp=90, fp=15, fn=10, tn=85)._repr_html_()
        assert "TP 90" in page and "0.857" in page and "<table" in page

    def test_as_dict_has_counts_and_metrics(self):
        d = Metrics.from_counts(tp=1, fp=1, fn=1, tn=1).as_dict()
        assert d == {"tp": 1, "fp": 1, "fn": 1, "tn": 1, "accuracy": 0.5, "precision": 0.5,
                     "recall": 0.5, "f1": 0.5}

    def test_unknown_metric_name_is_refused(self):
        with pytest.raises(InvalidInputError, match="among accuracy, precision, recall, f1; found 'auc'"):
            Metrics.from_counts(tp=1, fp=1, fn=1, tn=1).get("auc")


class TestExplain:
    def test_fills_the_formulas_with_the_counts(self):
        text = Metrics.from_counts(tp=90, fp=15, fn=10, tn=85).explain()
        assert "precision = TP / (TP + FP) = 90 / (90 + 15) = 0.857" in text
        assert "(90 + 85) / 200 = 0.875" in text and "= 0.878" in text


class TestDescribe:
    def test_says_what_was_caught_and_missed(self):
        text = Metrics.from_counts(tp=7, fp=10, fn=47, tn=3937).describe()
        assert "recall 13.0%" in text and "caught 7 of 54 positive cases (missed 47)" in text

    def test_names_the_classes_the_labels_gave(self):
        m = Metrics.from_predictions(["benign", "malignant"], [0.2, 0.9],
                                     class_names=("benign", "malignant"))
        assert "caught 1 of 1 malignant cases" in m.describe() and "1 benign cases" in m.describe()

    def test_uses_the_given_class_names(self):
        text = Metrics.from_counts(tp=1, fp=0, fn=1, tn=1).describe("malignant", "benign")
        assert "of 2 malignant cases" in text and "among 1 benign cases" in text


class TestCost:
    def test_missed_positives_and_false_alarms_are_priced(self):
        assert Metrics.from_counts(tp=1, fp=2, fn=3, tn=4).cost(miss_cost=10, false_alarm_cost=1) == 32.0

    def test_a_perfect_model_costs_nothing(self):
        assert Metrics.from_counts(tp=5, fp=0, fn=0, tn=5).cost(100, 1) == 0.0


class TestLoss:
    def test_loss_is_kept_beside_the_metrics(self):
        m = Metrics.from_predictions([0, 1, 1], [0.1, 0.8, 0.3], loss=0.42)
        assert m.loss == 0.42 and m.names[-1] == "loss" and m.get("loss") == 0.42

    def test_without_loss_the_four_metrics_only(self):
        m = Metrics.from_predictions([0, 1], [0.2, 0.9])
        assert m.loss is None and m.names == ("accuracy", "precision", "recall", "f1")

    def test_asking_for_a_loss_never_given_says_how_to_give_it(self):
        with pytest.raises(InvalidInputError, match="found 'loss'. Fix: pass loss="):
            Metrics.from_counts(tp=1, fp=1, fn=1, tn=1).get("loss")

    def test_loss_is_shown_in_text_and_words(self):
        m = Metrics.from_predictions([0, 1], [0.2, 0.9], loss=0.164)
        assert "loss 0.164" in str(m) and m.describe().startswith("loss 0.164, accuracy")

    def test_loss_does_not_change_equality(self):
        a = Metrics.from_predictions([0, 1], [0.2, 0.9], loss=0.1)
        assert a == Metrics.from_predictions([0, 1], [0.2, 0.9])

    def test_negative_loss_is_refused(self):
        with pytest.raises(InvalidInputError, match="loss"):
            Metrics.from_predictions([0, 1], [0.2, 0.9], loss=-1.0)

    def test_loss_of_another_task_is_refused(self):
        with pytest.raises(InvalidInputError, match="only for a binary classifier's metrics"):
            Metrics.from_predictions([2.0, 3.5], [2.5, 3.0], loss=0.3)
