"""Tests of course_lib.tfjs.parity: metrics in TF.js against the source model, and the budget."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import tfjs
from course_lib.errors import InvalidInputError, TamperedModelError
from course_lib.metrics import Metrics, RegressionMetrics
from course_lib.tfjs import parity as P


@pytest.fixture(scope="module")
def digits_web(tfjs_graphs):
    return tfjs_graphs.digits


@pytest.fixture(scope="module")
def multi_web(tfjs_graphs):
    """Two outputs: 'score' (n, 1) and 'kind' (n, 3), returned as a list (output_0, output_1)."""
    return tfjs_graphs.multi_output


@pytest.fixture(scope="module")
def multi_rows():
    """Rows for multi_output_model and labels of its 'kind' output (3 classes)."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 4)).astype("float32"), rng.integers(0, 3, size=60)


class TestVerify:
    def test_float32_conversion_keeps_every_metric(self, small_tfjs, small_model, small_split):
        parity = tfjs.verify(small_tfjs.f32.path, small_model, small_split.x, small_split.y)
        assert parity.ok and parity.max_abs_diff < 1e-5
        assert parity.comparison.labels == ("source (Python)", "TF.js")

    def test_default_tolerance_is_the_seeds_two_points(self, small_tfjs, small_model, small_split):
        parity = tfjs.verify(small_tfjs.f32.path, small_model, small_split.x, small_split.y)
        assert parity.tolerance == tfjs.SEED_TOLERANCE == 0.02

    def test_label_and_sizes_come_from_the_files(self, small_tfjs, small_split):
        u8 = small_tfjs.u8
        parity = tfjs.verify(u8.path, small_tfjs.savedmodel, small_split.x, small_split.y)
        assert (parity.label, parity.size_bytes) == ("uint8", u8.size_bytes)
        assert parity.weight_bytes == u8.weight_bytes and parity.reference_seconds is not None

    def test_reference_scores_can_be_given(self, small_tfjs, small_model, small_split):
        scores = np.asarray(small_model.predict(small_split.x, verbose=0))
        parity = tfjs.verify(small_tfjs.f32.path, scores, small_split.x, small_split.y)
        assert parity.reference_seconds is None and parity.ok

    def test_the_run_in_node_is_kept(self, small_tfjs, small_model, small_split):
        parity = tfjs.verify(small_tfjs.f32.path, small_model, small_split.x, small_split.y, label="mine")
        assert parity.label == "mine" and parity.node.rows == 400

    def test_reference_of_the_wrong_kind(self, small_tfjs, small_split):
        with pytest.raises(InvalidInputError, match=r"source model \(keras.Model .* found list"):
            tfjs.verify(small_tfjs.f32.path, [0.1] * 400, small_split.x, small_split.y)

    def test_reference_scores_for_other_rows(self, small_tfjs, small_split):
        with pytest.raises(InvalidInputError, match="one reference output per row"):
            tfjs.verify(small_tfjs.f32.path, np.zeros((3, 1)), small_split.x, small_split.y)

    def test_labelled_verdict_also_states_the_rows_that_changed_class(self, small_tfjs,
                                                                     small_model, small_split):
        parity = tfjs.verify(small_tfjs.f32.path, small_model, small_split.x, small_split.y)
        assert parity.verdict == ("OK: every metric within 0.02 of source (Python); rows that "
                                  "changed class 0.0% (0 of 400 rows), allowed 2.0%")

    def test_metrics_hold_but_too_many_rows_changed_class(self, small_tfjs, small_model,
                                                          small_split):
        scores = np.asarray(small_model.predict(small_split.x, verbose=0))
        positive = small_split.y == 1
        caught = np.flatnonzero(positive & (scores[:, 0] >= 0.5))[:5]
        missed = np.flatnonzero(positive & (scores[:, 0] < 0.5))[:5]
        swapped = scores.copy()  # 5 caught become missed and 5 missed caught: same counts
        swapped[caught], swapped[missed] = scores[missed], scores[caught]
        parity = tfjs.verify(small_tfjs.f32.path, swapped, small_split.x, small_split.y)
        assert parity.comparison.ok and not parity.ok
        assert parity.verdict == ("NOT OK: rows that changed class 2.5% (10 of 400 rows), "
                                  "allowed 2.0%")


class TestVerifyWithoutLabels:
    def test_judged_by_the_outputs_alone(self, small_tfjs, small_model, small_split):
        parity = tfjs.verify(small_tfjs.f32.path, small_model, small_split.x)
        assert parity.ok and parity.comparison is None and parity.before is None
        assert parity.verdict == ("OK: TF.js predicts what source (Python) predicted on 400 rows "
                                  "(rows that changed class 0.0% (0 of 400 rows), allowed 2.0%)")

    def test_the_difference_is_reported(self, small_tfjs, small_model, small_split):
        parity = tfjs.verify(small_tfjs.f32.path, small_model, small_split.x)
        assert parity.difference.n_rows == 400 and parity.difference.changed == 0
        assert parity.max_abs_diff == parity.difference.max_abs_diff < 1e-5

    def test_table_is_the_output_rules(self, small_tfjs, small_model, small_split):
        headers, rows = tfjs.verify(small_tfjs.f32.path, small_model, small_split.x).table()
        assert headers == ["output", "measure", "TF.js vs source", "allowed", "within"]
        assert rows == [["output_0", "rows that changed class", "0.0% (0 of 400 rows)", "2.0%",
                         "yes"]]

    def test_rows_that_changed_class_beyond_the_tolerance(self, small_tfjs, small_model,
                                                          small_split):
        scores = np.asarray(small_model.predict(small_split.x, verbose=0))
        parity = tfjs.verify(small_tfjs.f32.path, 1 - scores, small_split.x)
        assert not parity.ok and parity.verdict.startswith("NOT OK: rows that changed class")
        assert parity.failures == parity.agreement

    def test_a_regression_output_is_judged_by_its_largest_difference(self, small_tfjs, small_model,
                                                                     small_split):
        scores = np.asarray(small_model.predict(small_split.x, verbose=0))
        parity = tfjs.verify(small_tfjs.f32.path, scores, small_split.x, task="regression")
        (rule,) = parity.agreement
        assert rule.measure == "largest difference" and rule.ok
        assert rule.allowed == pytest.approx(0.02 * np.std(scores))

    def test_threshold_moves_the_class_boundary(self, small_tfjs, small_model, small_split):
        parity = tfjs.verify(small_tfjs.f32.path, small_model, small_split.x, threshold=0.3)
        assert parity.ok


class TestVerifyAnyTask:
    def test_image_classifier_is_measured_with_multiclass_metrics(self, digits_web, digits_model,
                                                                  digits):
        _train, test = digits
        parity = tfjs.verify(digits_web, digits_model, test.x, test.y)
        assert parity.task == "multiclass" and parity.ok
        assert [r.name for r in parity.comparison.rows] == list(parity.before.names)

    def test_threshold_is_refused_for_a_multiclass_model(self, digits_web, digits_model, digits):
        _train, test = digits
        with pytest.raises(InvalidInputError, match="threshold only for a binary classifier; this "
                           r"model's task is multiclass: the class is the highest probability"):
            tfjs.verify(digits_web, digits_model, test.x, test.y, threshold=0.3)

    def test_threshold_is_refused_without_labels_too(self, digits_web, digits_model, digits):
        _train, test = digits
        with pytest.raises(InvalidInputError, match="threshold only for a binary classifier"):
            tfjs.verify(digits_web, digits_model, test.x, threshold=0.3)

    def test_several_outputs_without_labels_compare_each(self, multi_web, multi_output_model,
                                                         multi_rows):
        parity = tfjs.verify(multi_web, multi_output_model, multi_rows[0])
        assert parity.ok and [(a.output, a.measure) for a in parity.agreement] == [
            ("output_0", "rows that changed class"), ("output_1", "rows that changed class")]

    def test_several_outputs_with_labels_need_the_output_named(self, multi_web, multi_output_model,
                                                                multi_rows):
        with pytest.raises(InvalidInputError, match=r"one output to measure.*output='output_0'"):
            tfjs.verify(multi_web, multi_output_model, *multi_rows)

    def test_the_named_output_is_measured(self, multi_web, multi_output_model, multi_rows):
        parity = tfjs.verify(multi_web, multi_output_model, *multi_rows, output="output_1")
        assert parity.task == "multiclass" and len(parity.agreement) == 2

    def test_unknown_output_name(self, multi_web, multi_output_model, multi_rows):
        with pytest.raises(InvalidInputError,
                           match="output to be one of the model's outputs 'output_0', 'output_1'"):
            tfjs.verify(multi_web, multi_output_model, *multi_rows, output="kind")

    def test_reference_outputs_as_a_list(self, multi_web, multi_output_model, multi_rows):
        given = multi_output_model.predict(multi_rows[0], verbose=0)
        parity = tfjs.verify(multi_web, given, multi_rows[0])
        assert parity.ok and parity.reference_seconds is None

    def test_reference_outputs_with_other_names(self, multi_web, multi_rows):
        with pytest.raises(InvalidInputError, match="outputs 'output_0', 'output_1'; found 'a'"):
            tfjs.verify(multi_web, {"a": np.zeros((60, 3))}, multi_rows[0])


class TestParityReport:
    SOURCE = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)

    def test_text_is_title_table_and_verdict(self):
        p = tfjs.Parity.from_metrics("float16", 70_000, self.SOURCE, self.SOURCE)
        lines = str(p).splitlines()
        assert lines[0] == "float16: 68.4 KB (weights 68.4 KB), largest prediction difference 0"
        assert lines[1].split() == ["metric", "source", "(Python)", "TF.js", "delta", "within"]
        assert lines[-1] == p.verdict == "OK: every metric within 0.02 of source (Python)"
        assert repr(p) == str(p) and p.failures == ()

    def test_failures_are_the_moved_metrics(self):
        after = Metrics.from_counts(tp=40, fp=3, fn=10, tn=47)
        p = tfjs.Parity.from_metrics("uint8", 1, self.SOURCE, after)
        assert not p.ok and "recall" in [r.name for r in p.failures]
        assert p.verdict.startswith("NOT OK") and "<table" in p._repr_html_()


class TestCheckBudget:
    SOURCE = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)

    def test_without_labels_the_predictions_decide(self, small_tfjs, small_model, small_split):
        g = tfjs.check_budget(tfjs.verify(small_tfjs.f32.path, small_model, small_split.x))
        assert g.ok and g.reasons[1] == "predictions within 0.02 of the source model's in TF.js"

    def test_moved_predictions_fail(self, small_tfjs, small_model, small_split):
        scores = np.asarray(small_model.predict(small_split.x, verbose=0))
        g = tfjs.check_budget(tfjs.verify(small_tfjs.f32.path, 1 - scores, small_split.x))
        assert not g.metrics_ok
        assert g.reasons[1].startswith("predictions moved: rows that changed class")

    def test_a_regression_result(self):
        before = RegressionMetrics.from_predictions([1.0, 2.0, 3.0], [1.1, 2.1, 2.9])
        after = RegressionMetrics.from_predictions([1.0, 2.0, 3.0], [1.1, 2.1, 2.5])
        g = tfjs.check_budget(tfjs.Parity.from_metrics("uint8", 1_000, before, after))
        assert g.fits and not g.metrics_ok and "mae +0.133" in g.reasons[1]

    def test_fits_and_keeps_metrics(self):
        g = tfjs.check_budget(tfjs.Parity.from_metrics("float16", 60_000, self.SOURCE, self.SOURCE),
                              max_size_bytes=100_000)
        assert g.ok and str(g).startswith("PASS float16") and g.failures == ()

    def test_too_big(self):
        g = tfjs.check_budget(tfjs.Parity.from_metrics("float32", 150_000, self.SOURCE, self.SOURCE),
                              max_size_bytes=100_000)
        assert (g.ok, g.fits, g.metrics_ok) == (False, False, True)
        assert g.verdict.startswith("FAIL float32") and g.failures == (g.reasons[0],)

    def test_metric_drop_fails_even_when_small(self):
        after = Metrics.from_counts(tp=40, fp=3, fn=10, tn=47)  # recall 0.90 -> 0.80
        g = tfjs.check_budget(tfjs.Parity.from_metrics("uint8", 30_000, self.SOURCE, after),
                              max_size_bytes=100_000)
        assert (g.fits, g.metrics_ok) == (True, False) and "recall -0.100" in g.reasons[1]

    def test_default_budget_is_100_kb(self):
        g = tfjs.check_budget(tfjs.Parity.from_metrics("float16", 1, self.SOURCE, self.SOURCE))
        assert g.max_size_bytes == tfjs.MAX_SIZE_BYTES == 100 * 1024

    def test_html_is_the_coloured_verdict(self):
        g = tfjs.check_budget(tfjs.Parity.from_metrics("float16", 1, self.SOURCE, self.SOURCE))
        assert g._repr_html_().startswith('<p style="color:#1a7f37;font-weight:bold">PASS float16')

    @pytest.mark.parametrize("budget", [0, -5, 1.5, True])
    def test_budget_must_be_positive_bytes(self, budget):
        p = tfjs.Parity.from_metrics("float16", 1, self.SOURCE, self.SOURCE)
        with pytest.raises(InvalidInputError, match="max_size_bytes to be a whole number of 1 or more"):
            tfjs.check_budget(p, max_size_bytes=budget)

    def test_needs_a_parity_result(self):
        with pytest.raises(InvalidInputError, match="Parity result"):
            tfjs.check_budget(self.SOURCE)


def test_reference_outputs_given_are_not_timed():
    outputs, seconds = P.reference_outputs(np.array([0.2, 0.9]), np.zeros((2, 3)))
    assert list(outputs) == ["output_0"] and outputs["output_0"].shape == (2,) and seconds is None


def test_reference_outputs_as_a_list_follow_the_output_order():
    outputs, _ = P.reference_outputs([np.zeros((2, 10)), np.ones((2, 1))], np.zeros((2, 3)),
                                     ["digit", "ink"])
    assert outputs["ink"].tolist() == [[1.0], [1.0]]


def test_agreement_rule_text():
    rule = P.Agreement("progression", "largest difference", 0.5, 1.0, "allowed: 0.02 x spread 50")
    assert rule.ok and str(rule) == "largest difference 0.5 (allowed: 0.02 x spread 50), allowed 1"


class TestModelFiles:
    @pytest.fixture
    def copy(self, small_tfjs, tmp_path):
        import shutil

        return shutil.copytree(small_tfjs.f32.path, tmp_path / "model")

    def test_a_flipped_shard_byte_is_refused_before_the_source_model_runs(
            self, copy, small_model, small_split, monkeypatch):
        shard = copy / "group1-shard1of1.bin"
        raw = bytearray(shard.read_bytes())
        raw[50] ^= 0x01
        shard.write_bytes(bytes(raw))

        def no_reference(*args, **kwargs):
            raise AssertionError("the source model ran")
        monkeypatch.setattr(P, "reference_outputs", no_reference)
        with pytest.raises(TamperedModelError, match="group1-shard1of1.bin differs"):
            tfjs.verify(copy, small_model, small_split.x, small_split.y)

    def test_a_traversal_path_is_refused(self, copy, small_model, small_split):
        import json

        meta = json.loads((copy / "model.json").read_text())
        meta["weightsManifest"][0]["paths"] = ["../../../../etc/passwd"]
        (copy / "model.json").write_text(json.dumps(meta))
        with pytest.raises(TamperedModelError, match="leaves the folder"):
            tfjs.verify(copy, small_model, small_split.x)

    def test_without_a_record_the_verdict_says_the_files_were_not_checked(
            self, copy, small_model, small_split):
        (copy / tfjs.RECORD).unlink()
        parity = tfjs.verify(copy, small_model, small_split.x, small_split.y)
        assert parity.ok and "files not checked against a record" in parity.verdict

    def test_with_a_record_the_verdict_has_no_note(self, small_tfjs, small_model, small_split):
        parity = tfjs.verify(small_tfjs.f32.path, small_model, small_split.x)
        assert parity.files_note == "" and "not checked" not in parity.verdict
