"""What only the 10-class Conv2D on digit images (n, 8, 8, 1) does; what every kind of model does
alike, and the binary-only helpers refusing it, are in tests/test_tasks.py."""

from __future__ import annotations

import pytest

from course_lib.errors import InvalidInputError


class TestRelease:
    """release_check on the 10-class Conv2D, with (x, y) of the test rows."""

    @pytest.fixture(scope="class")
    @classmethod
    def report(cls, digits_release):
        """The session's report (the repository's conftest.py), shared with tests/test_tasks.py."""
        return digits_release

    def test_the_quality_gate_holds_the_multiclass_rules(self, report):
        gate = report.results[5]
        assert gate.name == "macro F1 and accuracy floors" and gate.limit == ">= 0.50, >= 1.00"
        assert not gate.ok and gate.measured.startswith("macro F1 0.")

    def test_the_report_fails_only_on_its_quality_rule(self, report):
        assert [g.name for g in report.failures] == ["macro F1 and accuracy floors"]

    def test_a_binary_threshold_is_refused(self, digits, digits_model, tmp_path):
        from course_lib.release import ReleasePolicy, release_check

        with pytest.raises(InvalidInputError, match="no decision threshold for a multi-class model"):
            release_check(digits_model, digits[1], tmp_path, policy=ReleasePolicy(threshold=0.3))


class TestInference:
    """A feature profile is for tabular rows: images are refused."""

    def test_a_feature_profile_of_images_is_refused(self, digits):
        from course_lib.inference import FeatureProfile

        with pytest.raises(InvalidInputError, match="images or sequences"):
            FeatureProfile.from_data(digits[0].x)


class TestRegistry:
    """The registry on the 10-class Conv2D: published as a Keras model, then its SavedModel
    again; compared on macro averages."""

    @pytest.fixture(scope="class")
    @classmethod
    def published(cls, digits, digits_model, tmp_path_factory):
        from course_lib.registry import EvalSet, ModelRegistry

        reg = ModelRegistry(tmp_path_factory.mktemp("registry") / "registry")
        test_set = EvalSet("digits test", digits[1].x, digits[1].y)
        v1 = reg.publish(digits_model, "digits", test_set, notes="keras model")
        reg.publish_saved_model(v1.path, "digits", test_set, notes="its SavedModel")
        return reg

    def test_the_manifest_keeps_the_ten_by_ten_matrix(self, published):
        assert published.get("digits", 1).metrics.confusion_matrix.shape == (10, 10)

    def test_the_comparison_plot_titles_each_version(self, published):
        c = published.compare("digits", 1, 2)
        assert c.plot().ax_.child_axes[0].get_title().startswith("version 1")

    def test_costs_of_mistakes_are_for_binary_classifiers(self, published):
        from course_lib.registry import deployment_costs

        with pytest.raises(InvalidInputError, match="binary classifier; found the metrics of a 10-class"):
            deployment_costs(published.metrics("digits"), miss_cost=10, false_alarm_cost=1)


class TestTfjs:
    """TF.js on the 10-class Conv2D (the session's conversion, tfjs_graphs.digits)."""

    @pytest.fixture
    def web(self, tfjs_graphs):
        return tfjs_graphs.digits

    def test_a_flattened_image_is_refused_before_node_starts(self, web, digits):
        from course_lib import tfjs

        with pytest.raises(InvalidInputError,
                           match=r"input 'pixels' as a 4-D array \(n, 8, 8, 1\).*"
                                 r"found shape \(397, 64\)"):
            tfjs.predict(web, digits[1].x.reshape(397, 64))

    def test_verify_with_labels_judges_within_the_budgets_tolerance(self, web, digits,
                                                                    digits_model):
        from course_lib import tfjs

        parity = tfjs.verify(web, digits_model, digits[1].x, digits[1].y)
        assert parity.verdict.startswith("OK: every metric within 0.02 of source (Python)")

    def test_verify_without_labels_counts_the_rows_that_changed_class(self, web, digits,
                                                                      digits_model):
        from course_lib import tfjs

        parity = tfjs.verify(web, digits_model, digits[1].x)
        assert parity.agreement[0].measure == "rows that changed class"

    def test_check_budget_gives_the_metrics_reason(self, web, digits, digits_model):
        from course_lib import tfjs

        decision = tfjs.check_budget(tfjs.verify(web, digits_model, digits[1].x, digits[1].y))
        assert decision.ok and decision.reasons[1].startswith("every metric within 0.02")

    def test_a_decision_threshold_is_refused(self, web, digits, digits_model):
        from course_lib import tfjs

        with pytest.raises(InvalidInputError, match="threshold only for a binary classifier; "
                           "this model's task is multiclass"):
            tfjs.verify(web, digits_model, digits[1].x, digits[1].y, threshold=0.3)
