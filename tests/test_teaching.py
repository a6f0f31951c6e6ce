"""Tests of course_lib.teaching: the helpers that exist to show a pitfall for real."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from course_lib import teaching, tfjs
from course_lib.errors import InvalidInputError, ModelFileError
from course_lib.metrics import Metrics


@pytest.fixture(scope="module")
def layers(small_model, tmp_path_factory):
    return teaching.save_layers_model(small_model, tmp_path_factory.mktemp("teaching") / "layers")


class TestLayersModel:
    def test_keras3_layers_model_is_written(self, layers):
        assert layers.format == "layers-model" and layers.weight_bytes > 0

    def test_tfjs_refuses_it_and_says_why(self, layers):
        outcome = teaching.load_layers_model(layers.path)
        assert not outcome.ok
        refused = "An InputLayer should be passed either a `batchInputShape` or an `inputShape`"
        assert refused in outcome.error
        assert "batch_shape" in outcome.diagnosis and "batch_input_shape" in outcome.diagnosis

    def test_the_outcome_reads_as_a_report(self, layers):
        outcome = teaching.load_layers_model(layers.path)
        lines = str(outcome).splitlines()
        assert lines[0] == outcome.verdict + ":" and outcome.verdict.startswith("FAIL: TF.js 4.22.0")
        assert lines[1].strip() == outcome.error and lines[2] == outcome.diagnosis
        assert "#b42318" in outcome._repr_html_() and "batchInputShape" in outcome._repr_html_()

    def test_graph_model_is_not_a_layers_model(self, small_tfjs):
        with pytest.raises(ModelFileError, match="layers model .* found format 'graph-model'"):
            teaching.load_layers_model(small_tfjs.f32.path)

    def test_the_model_keeps_its_optimizer_in_its_compile_config(self, small_model, layers):
        # TF.js writes HDF5, and Keras's HDF5 writer pops the optimizer out of it
        assert "optimizer" in small_model.get_compile_config()

    def test_existing_folder_is_kept_without_overwrite(self, small_model, layers):
        with pytest.raises(tfjs.ConversionError, match="not to exist yet"):
            teaching.save_layers_model(small_model, layers.path)

    def test_needs_a_keras_model(self, tmp_path):
        with pytest.raises(InvalidInputError, match="expected a keras.Model; found str"):
            teaching.save_layers_model("model.keras", tmp_path / "layers")

    def test_tfjs_re_exports_them(self):
        assert tfjs.save_layers_model is teaching.save_layers_model
        assert tfjs.load_layers_model is teaching.load_layers_model
        assert tfjs.LayersLoad is teaching.LayersLoad


def test_a_loaded_model_is_ok():
    loaded = teaching.LayersLoad(Path("web/m"), True, "", "4.22.0", "2.15.0", "")
    assert loaded.ok and str(loaded) == "OK: TF.js 4.22.0 loaded the layers model in web/m"


class TestForgeVersion:
    """The forger of lesson 04: new weights and metrics, every checksum recomputed."""

    @pytest.fixture
    def version(self, tmp_path):
        """A registry version of a folder shaped like a SavedModel (no TensorFlow needed)."""
        from course_lib.metrics import Metrics
        from course_lib.registry import EvalSet, ModelRegistry

        src = tmp_path / "export"
        (src / "variables").mkdir(parents=True)
        (src / "saved_model.pb").write_bytes(b"graph" * 100)
        (src / "variables" / "variables.data-00000-of-00001").write_bytes(bytes(range(256)) * 8)
        rows = EvalSet("toy test", np.zeros((200, 3)), np.array([0, 1] * 100))
        reg = ModelRegistry(tmp_path / "registry")
        v = reg.publish_saved_model(src, "fraud", rows, latency_ms=1.0,
                                    metrics=Metrics.from_counts(tp=80, fp=20, fn=15, tn=85))
        return reg, v.path

    def test_the_forgery_passes_the_checksums(self, version):
        reg, path = version
        before = (path / "variables" / "variables.data-00000-of-00001").read_bytes()
        teaching.forge_version(path)
        assert (path / "variables" / "variables.data-00000-of-00001").read_bytes() != before
        assert reg.verify("fraud", 1).ok

    def test_the_manifest_claims_the_forged_recall(self, version):
        reg, path = version
        said = teaching.forge_version(path, recall=0.95)
        assert "claims recall 0.958 (it was 0.842)" in said
        assert reg.get("fraud", 1).metrics.recall >= 0.95

    def test_a_recall_out_of_range_changes_nothing(self, version):
        reg, path = version
        with pytest.raises(InvalidInputError, match="recall to be a number between 0 and 1"):
            teaching.forge_version(path, recall=1.5)
        assert reg.get("fraud", 1).metrics.recall == pytest.approx(80 / 95)

    def test_a_folder_without_manifest_is_refused(self, tmp_path):
        with pytest.raises(InvalidInputError, match="expected a registry version folder"):
            teaching.forge_version(tmp_path)


class TestQuietTfLogs:
    def test_the_interpreter_move_warning_is_hidden(self, recwarn):
        import warnings

        with teaching.quiet_tf_logs():
            warnings.warn("    Warning: tf.lite.Interpreter is deprecated and is scheduled",
                          UserWarning)
        assert len(recwarn) == 0

    def test_other_warnings_still_show(self):
        import warnings

        with pytest.warns(UserWarning, match="something else"), teaching.quiet_tf_logs():
            warnings.warn("something else", UserWarning)

    def test_known_native_lines_are_dropped_and_others_kept(self, capfd):
        import os

        with teaching.quiet_tf_logs():
            os.write(2, b"W0000 tf_tfl_flatbuffer_helpers.cc:365] Ignored output_format.\n")
            os.write(2, b"a line that matters\n")
        assert capfd.readouterr().err == "a line that matters\n"


class TestQualityVerdict:
    def test_the_worked_example_of_the_loading_lesson_is_good(self):
        verdict = teaching.quality_verdict(Metrics.from_counts(tp=90, fp=15, fn=10, tn=85))
        assert verdict.ok and verdict.verdict.startswith("GOOD")

    def test_a_high_recall_low_precision_model_is_not_good_and_says_the_cost(self):
        verdict = teaching.quality_verdict(Metrics.from_counts(tp=51, fp=1_175, fn=3, tn=2_772))
        assert not verdict.ok and len(verdict.failures) == 2
        assert verdict.verdict.endswith("1,175 false alarms for 51 positives caught, 23 per catch")

    def test_fewer_false_alarms_than_catches_are_not_rounded_to_zero(self):
        from course_lib.teaching import quality_verdict

        few = quality_verdict(Metrics.from_counts(tp=50, fp=30, fn=4, tn=3_917))  # not balanced
        assert few.verdict.endswith("30 false alarms for 50 positives caught, 0.6 per catch")

    def test_accurate_but_unbalanced_fails_the_balance_only(self):
        verdict = teaching.quality_verdict(Metrics.from_counts(tp=12, fp=12, fn=88, tn=4_888))
        assert verdict.failures == (
            "precision 0.500 and recall 0.120 are not balanced (gap 0.380 > 0.05)",)

    def test_the_rule_can_be_set(self):
        verdict = teaching.quality_verdict(Metrics.from_counts(tp=80, fp=10, fn=20, tn=90),
                                           max_gap=0.2)
        assert verdict.ok

    def test_other_metrics_are_refused(self):
        from course_lib.metrics import RegressionMetrics

        reg = RegressionMetrics.from_predictions([1.0, 2.0], [1.0, 2.5])
        with pytest.raises(InvalidInputError, match="expected a binary classifier's Metrics"):
            teaching.quality_verdict(reg)

    def test_a_gap_out_of_range_is_refused(self):
        with pytest.raises(InvalidInputError, match="max_gap"):
            teaching.quality_verdict(Metrics.from_counts(tp=1, fp=1, fn=1, tn=1), max_gap=2)
