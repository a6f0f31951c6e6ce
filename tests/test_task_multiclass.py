"""Every helper on a small model of one task (multiclass): one test class per helper."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.errors import InvalidInputError


class TestRelease:
    """release_check on the 10-class Conv2D (images (n, 8, 8, 1)), with (x, y) of the test rows."""

    @pytest.fixture(scope="class")
    @classmethod
    def report(cls, digits, digits_model, tmp_path_factory):
        from course_lib.release import ReleasePolicy, release_check

        policy = ReleasePolicy(min_macro_f1=0.5, min_accuracy=0.999)
        _train, test = digits
        return release_check(digits_model, (test.x, test.y), tmp_path_factory.mktemp("rel") / "r",
                             policy=policy)

    def test_the_task_is_read_from_labels_and_output(self, report):
        assert report.task == "multiclass" and report.candidate == "digits"

    def test_every_parity_gate_passes_and_counts_changed_classes(self, report):
        for gate in report.results[:5]:
            assert gate.ok, (gate.name, gate.detail)
        assert report.results[0].measured.endswith("0 of 397 rows changed class")

    def test_the_quality_gate_holds_the_multiclass_rules(self, report):
        gate = report.results[5]
        assert gate.name == "macro F1 and accuracy floors" and gate.limit == ">= 0.50, >= 1.00"
        assert not gate.ok and gate.measured.startswith("macro F1 0.")

    def test_the_report_fails_only_on_its_quality_rule(self, report):
        assert [g.name for g in report.failures] == ["macro F1 and accuracy floors"]

    def test_the_registry_records_the_multiclass_metrics(self, report):
        assert report.results[3].ok and report.metrics.task == "multiclass"

    def test_a_binary_threshold_is_refused(self, digits, digits_model, tmp_path):
        from course_lib.release import ReleasePolicy, release_check

        with pytest.raises(InvalidInputError, match="no decision threshold for a multi-class model"):
            release_check(digits_model, digits[1], tmp_path, policy=ReleasePolicy(threshold=0.3))


class TestInference:
    """Latency of the image model, and the binary-only helpers refused clearly."""

    def test_latency_of_every_call_style_with_capped_batch_sizes(self, digits, digits_model):
        from course_lib import inference

        report = inference.measure_latency(inference.call_styles(digits_model), digits[1].x,
                                           repeats=3, warmup=1)
        assert report.batch_sizes == (1, 10, 100, 397) and "capped" in report.verdict
        assert len(report.rows) == 8

    def test_the_savedmodel_signature_gives_the_model_output(self, digits, digits_model, tmp_path):
        from course_lib import inference, persistence

        persistence.save(digits_model, tmp_path / "sm")
        styles = inference.call_styles(digits_model, persistence.load(tmp_path / "sm"))
        batch = digits[1].x[:5]
        np.testing.assert_allclose(styles["SavedModel signature"](batch),
                                   digits_model(batch, training=False), atol=1e-5)

    def test_choosing_a_threshold_says_the_class_is_the_argmax(self, digits, digits_model):
        from course_lib.inference import choose_threshold

        scores = digits_model.predict(digits[1].x, verbose=0)
        with pytest.raises(InvalidInputError, match="this is a 10-class output: the predicted "
                                                    "class is the argmax"):
            choose_threshold(digits[1].y, scores, min_recall=0.9)

    def test_grading_a_threshold_is_refused(self, digits, digits_model):
        from course_lib.inference import check_threshold

        scores = digits_model.predict(digits[1].x, verbose=0)
        with pytest.raises(InvalidInputError, match="10-class output"):
            check_threshold(digits[1].y, scores, 0.5, min_recall=0.9)

    def test_a_cost_curve_is_refused(self, digits, digits_model):
        from course_lib.costs import cost_curve

        scores = digits_model.predict(digits[1].x, verbose=0)
        with pytest.raises(InvalidInputError, match="costs of missed positives and false alarms "
                                                    "apply to a binary classifier"):
            cost_curve(digits[1].y, scores, miss_cost=10, false_alarm_cost=1)

    def test_deployment_costs_refuse_its_metrics(self, digits, digits_model):
        from course_lib.costs import deployment_costs
        from course_lib.metrics import Metrics

        m = Metrics.from_predictions(digits[1].y, digits_model.predict(digits[1].x, verbose=0))
        with pytest.raises(InvalidInputError, match="the metrics of a 10-class model"):
            deployment_costs({"v1": m}, 10, 1)

    def test_a_feature_profile_of_images_is_refused(self, digits):
        from course_lib.inference import FeatureProfile

        with pytest.raises(InvalidInputError, match="images or sequences"):
            FeatureProfile.from_data(digits[0].x)
