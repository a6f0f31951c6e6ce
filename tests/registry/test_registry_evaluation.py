"""Tests of course_lib.registry.evaluation: evaluation sets of any structure and task, the
fingerprint, the model's single output, and each task's metrics in a manifest."""

from __future__ import annotations

import json

import numpy as np
import pytest
from registry_helpers import (
    SEED_V1,
    multiclass_metrics,
    multiclass_set,
    regression_metrics,
    regression_set,
    toy_set,
)

from course_lib.errors import InvalidInputError
from course_lib.metrics import Metrics, MulticlassMetrics, RegressionMetrics
from course_lib.registry import MANIFEST_NAME, EvalSet, fingerprint
from course_lib.registry.evaluation import (
    measure,
    metrics_from_record,
    metrics_record,
    single_output,
)
from course_lib.registry.storage import manifest_bytes


class TestFingerprintOfAnyInput:
    def test_a_classifiers_array_keeps_the_digest_of_earlier_versions(self):
        # the formula of the registry before tasks: float32 x and int64 y, with their shapes
        import hashlib

        x, y = np.arange(6.0).reshape(3, 2), np.array([0, 1, 1])
        digest = hashlib.sha256(b"course-lib-registry/1 x(3, 2) y(3,)\n")
        digest.update(x.astype(np.float32).tobytes())
        digest.update(y.astype(np.int64).tobytes())
        assert fingerprint(x, y) == digest.hexdigest()

    def test_fractional_targets_are_not_rounded(self):
        assert fingerprint([[1.0]], [2.25]) != fingerprint([[1.0]], [2.0])

    def test_every_input_of_a_dict_counts(self):
        x = {"a": np.zeros((2, 3)), "b": np.zeros((2, 1))}
        changed = {"a": np.zeros((2, 3)), "b": np.ones((2, 1))}
        assert fingerprint(x, [0, 1]) != fingerprint(changed, [0, 1])

    def test_input_names_count(self):
        assert fingerprint({"a": np.zeros((2, 1))}, [0, 1]) != fingerprint(
            {"b": np.zeros((2, 1))}, [0, 1])

    def test_the_shape_of_an_image_counts(self):
        assert fingerprint(np.zeros((2, 4, 4, 1)), [0, 1]) != fingerprint(
            np.zeros((2, 16)), [0, 1])

    def test_class_names_count(self):
        x = np.zeros((2, 1))
        assert fingerprint(x, ["cat", "dog"]) != fingerprint(x, ["dog", "cat"])


class TestEvalSetOfAnyTask:
    def test_images_of_any_rank(self):
        s = multiclass_set()
        assert (s.rows, s.x.shape, s.positives) == (90, (90, 4, 4, 1), None)

    def test_a_dict_of_named_inputs(self):
        s = regression_set()
        assert sorted(s.x) == ["a", "b"] and s.rows == 50
        assert s.first_row()["a"].shape == (1, 3)

    def test_one_hot_labels(self):
        s = EvalSet("t", np.zeros((3, 2)), np.eye(3)[[0, 2, 1]])
        assert s.rows == 3

    def test_named_classes_with_their_order(self):
        s = EvalSet("t", np.zeros((3, 2)), ["benign", "malignant", "benign"],
                    class_names=["benign", "malignant"])
        assert s.positives == 1

    def test_text_labels_of_two_classes_need_their_order(self):
        with pytest.raises(InvalidInputError, match="class_names=.*positive"):
            EvalSet("t", np.zeros((2, 2)), ["benign", "malignant"])

    def test_given_task_is_kept(self):
        assert EvalSet("t", np.zeros((3, 1)), [0, 2, 1], task="multiclass").task == "multiclass"

    def test_given_task_checks_the_labels(self):
        with pytest.raises(InvalidInputError, match="class ids"):
            EvalSet("t", np.zeros((2, 1)), [0.5, 1.5], task="multiclass")

    def test_unknown_task_refused(self):
        with pytest.raises(InvalidInputError, match="expected task to be one of"):
            EvalSet("t", np.zeros((2, 1)), [0, 1], task="ranking")

    def test_mismatched_rows_of_a_dict(self):
        with pytest.raises(InvalidInputError, match="x has 50 rows but y has 3 labels"):
            EvalSet("t", regression_set().x, [1.0, 2.0, 3.0])

    def test_nan_labels_refused(self):
        with pytest.raises(InvalidInputError, match="finite labels"):
            EvalSet("t", np.zeros((2, 1)), [1.0, np.nan])

    def test_messages_name_no_course_dataset(self):
        with pytest.raises(InvalidInputError) as refused:
            EvalSet("t", np.zeros((3, 2)), [0, 1])
        assert "fraud" not in str(refused.value) and "x_test and y_test" in str(refused.value)

    def test_repr_of_a_set_without_positives_shows_its_inputs(self):
        assert repr(regression_set()).startswith(
            "EvalSet('toy targets', rows=50, inputs 'a' (50, 3) float32, 'b' (50, 2) float32")


class TestSingleOutput:
    def test_an_array_is_the_output(self):
        assert single_output(np.zeros((2, 1)), "m").shape == (2, 1)

    def test_a_dict_of_one_output(self):
        assert single_output({"digit": np.zeros((2, 10))}, "m").shape == (2, 10)

    def test_several_outputs_are_refused_with_the_way_out(self):
        with pytest.raises(InvalidInputError, match=r"one output to measure; found 2 \(0, 1\)"
                                                     r".*metrics=Metrics.from_predictions"):
            single_output([np.zeros((2, 1)), np.zeros((2, 3))], "the model")


class TestMeasure:
    def test_regression_from_fractional_targets(self):
        s = regression_set()
        assert isinstance(measure(s, s.y + 1.0), RegressionMetrics)

    def test_whole_number_targets_with_a_regression_output(self):
        s = EvalSet("t", np.zeros((4, 1)), [151.0, 75.0, 141.0, 206.0])
        assert measure(s, [[140.2], [80.1], [150.3], [190.0]]).task == "regression"

    def test_given_task_wins(self):
        s = EvalSet("t", np.zeros((3, 1)), [0, 1, 1], task="multiclass")
        assert measure(s, [[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]]).task == "multiclass"

    def test_output_of_other_rows_is_refused(self):
        with pytest.raises(InvalidInputError, match="one prediction per row of 'toy test'"):
            measure(toy_set(), np.zeros((3, 1)))


class TestMetricsRecord:
    @pytest.mark.parametrize("metrics", [SEED_V1, multiclass_metrics(6), regression_metrics(20)],
                             ids=["binary", "multiclass", "regression"])
    def test_read_back_into_the_same_class_with_the_same_values(self, metrics):
        evaluation = {"task": metrics.task, "threshold": 0.5 if metrics.task == "binary" else None,
                      "metrics": json.loads(json.dumps(metrics_record(metrics)))}
        back = metrics_from_record(evaluation)
        assert type(back) is type(metrics) and back == metrics
        if isinstance(metrics, MulticlassMetrics):
            assert back.per_class == metrics.per_class
            assert back.confusion_matrix.tolist() == metrics.confusion_matrix.tolist()

    def test_a_record_without_task_is_a_binary_classifiers(self):
        back = metrics_from_record({"threshold": 0.3, "metrics": SEED_V1.as_dict()})
        assert isinstance(back, Metrics) and back == SEED_V1 and back.threshold == 0.3


class TestOldManifests:
    def test_a_manifest_written_before_tasks_is_read_as_binary(self, two):
        path = two.path("fraud", 1) / MANIFEST_NAME
        data = json.loads(path.read_text())
        del data["evaluation"]["task"]
        path.write_bytes(manifest_bytes(data))  # as the registry wrote it before tasks
        info = two.get("fraud", 1)
        assert info.task == "binary" and info.metrics == SEED_V1 and two.verify("fraud", 1).ok
        assert two.compare("fraud", 1, 2).ok
