"""What only the model with two named inputs ('mean' and 'worst', fed as a dict) does; what
every kind of model does alike is tested once per model in tests/test_tasks.py."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.errors import InvalidInputError


class TestRelease:
    """release_check on the functional model with two named inputs, fed (dict, y)."""

    @pytest.fixture(scope="class")
    @classmethod
    def report(cls, cancer_release):
        """The session's report (the repository's conftest.py), shared with tests/test_tasks.py."""
        return cancer_release

    def test_every_gate_passes(self, report):
        assert report.ok, str(report)

    def test_the_recall_floor_applies(self, report):
        gate = report.results[5]
        assert gate.name == "recall floor" and gate.ok

    def test_a_missing_input_is_refused_before_any_gate(self, two_inputs, two_input_model, tmp_path):
        from course_lib.release import release_check

        x, y = two_inputs[1]
        with pytest.raises(InvalidInputError, match="missing 'worst'"):
            release_check(two_input_model, ({"mean": x["mean"]}, y), tmp_path / "r")
        assert not (tmp_path / "r").exists()


class TestInference:
    """The binary helpers work on its scores; a feature profile is one per input."""

    def test_a_threshold_is_chosen_on_its_scores(self, two_inputs, two_input_model):
        from course_lib.inference import choose_threshold

        x, y = two_inputs[1]
        result = choose_threshold(y, two_input_model.predict(x, verbose=0), min_recall=0.9)
        assert result.ok and result.metrics.recall >= 0.9

    def test_a_cost_curve_is_drawn_on_its_scores(self, two_inputs, two_input_model):
        from course_lib.costs import cost_curve

        x, y = two_inputs[1]
        curve = cost_curve(y, two_input_model.predict(x, verbose=0), miss_cost=50, false_alarm_cost=1)
        assert 0.0 <= curve.best_threshold <= 1.0

    def test_a_feature_profile_asks_for_one_profile_per_input(self, two_inputs):
        from course_lib.inference import FeatureProfile

        x, _y = two_inputs[0]
        with pytest.raises(InvalidInputError, match="one profile per input"):
            FeatureProfile.from_data(x)
        assert all(FeatureProfile.from_data(x[k]).check(two_inputs[1][0][k]).n_rows == 114 for k in x)


class TestRegistry:
    """The registry on the model with two named inputs: what it records of a dict of inputs."""

    @pytest.fixture(scope="class")
    @classmethod
    def published(cls, two_inputs, two_input_model, tmp_path_factory):
        from course_lib.registry import EvalSet, ModelRegistry

        reg = ModelRegistry(tmp_path_factory.mktemp("registry") / "registry")
        x, y = two_inputs[1]
        reg.publish(two_input_model, "cancer", EvalSet("cancer test", x, y), notes="keras model")
        return reg

    def test_the_fingerprint_covers_both_inputs(self, published, two_inputs):
        from course_lib.registry import fingerprint

        x, y = two_inputs[1]
        changed = {"mean": x["mean"], "worst": x["worst"] + 1.0}
        assert published.get("cancer", 1).eval_fingerprint == fingerprint(x, y)
        assert fingerprint(changed, y) != fingerprint(x, y)

    def test_latency_is_measured_on_the_first_row_of_each_input(self, published):
        latency = published.get("cancer", 1).latency
        assert latency["batch_rows"] == 1 and latency["median_ms"] > 0


class TestTfjs:
    """TF.js on the model with two named inputs (the session's conversion, tfjs_graphs.two_inputs)."""

    @pytest.fixture
    def web(self, tfjs_graphs):
        return tfjs_graphs.two_inputs

    def test_predict_takes_a_list_in_the_models_order(self, web, two_inputs, two_input_model):
        from course_lib import tfjs

        x = two_inputs[1][0]
        np.testing.assert_allclose(tfjs.predict(web, [x["mean"], x["worst"]]),
                                   two_input_model.predict(x, verbose=0), atol=1e-5)

    def test_a_missing_input_is_named(self, web, two_inputs):
        from course_lib import tfjs

        with pytest.raises(InvalidInputError, match=r"found 'mean' \(missing 'worst'\)"):
            tfjs.predict(web, {"mean": two_inputs[1][0]["mean"]})

    def test_verify_with_labels_keeps_its_recall(self, web, two_inputs, two_input_model):
        from course_lib import tfjs

        parity = tfjs.verify(web, two_input_model, *two_inputs[1])
        assert parity.before.recall > 0.8

    def test_verify_without_labels_finds_float_noise_only(self, web, two_inputs, two_input_model):
        from course_lib import tfjs

        parity = tfjs.verify(web, two_input_model, two_inputs[1][0])
        assert parity.max_abs_diff < 1e-5

    def test_verify_at_another_threshold(self, web, two_inputs, two_input_model):
        from course_lib import tfjs

        parity = tfjs.verify(web, two_input_model, *two_inputs[1], threshold=0.3)
        assert parity.ok and parity.before.threshold == 0.3
