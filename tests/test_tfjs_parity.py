"""Tests of course_lib.tfjs.parity: metrics in TF.js against the source model, and the budget."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import tfjs
from course_lib.errors import InvalidInputError
from course_lib.metrics import Metrics
from course_lib.tfjs import parity as P


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
        with pytest.raises(InvalidInputError, match="one reference score per row"):
            tfjs.verify(small_tfjs.f32.path, np.zeros((3, 1)), small_split.x, small_split.y)


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


def test_reference_scores_given_are_not_timed():
    scores, seconds = P.reference_scores(np.array([0.2, 0.9]), np.zeros((2, 3)))
    assert scores.shape == (2, 1) and scores.dtype == np.float32 and seconds is None
