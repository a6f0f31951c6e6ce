"""Tests of course_lib.release: the policy, the report, and real release checks."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from course_lib import models
from course_lib.errors import InvalidInputError
from course_lib.release import GateResult, ReleasePolicy, ReleaseReport, release_check

GATES = [".keras round trip", "SavedModel round trip", "fresh process", "registry publish and verify",
         "TF.js (float32)", "recall floor", "latency (one row)"]


# The candidates are this file's own: a sound one and a flawed one, trained as lesson 06 does.
@pytest.fixture(scope="module")
def passing(fraud, tmp_path_factory):
    model = models.fraud_model(fraud, log_scale="registered", name="good")
    policy = ReleasePolicy(imports=("course_lib.layers",))
    return release_check(model, fraud, tmp_path_factory.mktemp("rel") / "good", policy=policy)


@pytest.fixture(scope="module")
def failing(fraud, tmp_path_factory):
    model = models.build_fraud_model(fraud.train.x, log_scale="lambda", normalize=False, hidden=(256, 128),
                                     name="bad")
    models.train(model, fraud.train, epochs=3)
    return release_check(model, fraud, tmp_path_factory.mktemp("rel") / "bad")


def _report(*oks: bool) -> ReleaseReport:
    gates = tuple(GateResult(f"gate {i}", "00", ok, "measured", "limit", "why") for i, ok in enumerate(oks))
    return ReleaseReport(candidate="m", policy=ReleasePolicy(), results=gates)


class TestReleaseCheck:
    def test_a_sound_candidate_passes_every_gate(self, passing):
        assert passing.ok, str(passing)
        assert len(passing.results) == 7

    def test_the_gates_are_reported_in_lesson_order(self, passing, failing):
        assert [g.name for g in passing.results] == GATES
        assert [g.name for g in failing.results] == GATES

    def test_the_report_keeps_the_policy_and_the_metrics(self, passing):
        assert passing.policy == ReleasePolicy(imports=("course_lib.layers",))
        assert passing.metrics is not None and passing.metrics.recall >= 0.80

    def test_a_flawed_candidate_fails_the_gates_it_should(self, failing):
        failed = {g.name for g in failing.failures}
        assert failed == {".keras round trip", "fresh process", "TF.js (float32)", "recall floor"}

    def test_failures_say_why(self, failing):
        why = {g.name: g.detail for g in failing.failures}
        assert "Lambda layer" in why[".keras round trip"]
        assert "exceeds the 100.0 KB budget" in why["TF.js (float32)"]

    def test_the_tfjs_gate_shows_its_limit_in_bytes_as_kb(self, failing):
        gate = next(g for g in failing.results if g.name == "TF.js (float32)")
        assert gate.limit == "within 0.02, <= 100.0 KB"
        assert re.fullmatch(r"\d+\.\d KB, largest prediction difference \S+, [\d,]+ of [\d,]+ rows "
                            r"changed class", gate.measured), gate.measured

    def test_the_registry_gate_passes_for_a_flawed_candidate_too(self, failing):
        gate = next(g for g in failing.results if g.name == "registry publish and verify")
        assert gate.ok and gate.measured.startswith("version 1,")

    def test_the_registry_gate_publishes_a_verified_version(self, passing):
        gate = next(g for g in passing.results if g.name == "registry publish and verify")
        assert gate.ok and gate.measured.startswith("version 1,")

    def test_missing_layer_import_fails_only_the_fresh_process(self, fraud, tmp_path):
        model = models.fraud_model(fraud, epochs=1, log_scale="registered", name="noimport")
        report = release_check(model, fraud, tmp_path / "r", policy=ReleasePolicy(min_recall=0.0))
        assert [g.name for g in report.failures] == ["fresh process"]
        assert "LogScale" in report.failures[0].detail

    def test_unknown_split_is_refused(self, fraud, tmp_path):
        with pytest.raises(InvalidInputError, match="found 'holdout'"):
            release_check(object(), fraud, tmp_path, split="holdout")


class TestReleasePolicy:
    def test_describes_its_rules(self):
        assert "recall >= 0.80" in str(ReleasePolicy())

    def test_the_tfjs_size_limit_is_in_bytes(self):
        assert ReleasePolicy().tfjs_max_size_bytes == 100 * 1024
        assert "<= 100.0 KB" in str(ReleasePolicy())
        assert "<= 2.0 KB" in str(ReleasePolicy(tfjs_max_size_bytes=2048))

    def test_negative_limit_is_refused(self):
        with pytest.raises(InvalidInputError, match="max_latency_ms to be a number of 0 or more"):
            ReleasePolicy(max_latency_ms=-1)

    @pytest.mark.parametrize("value", [True, float("nan"), "50"])
    def test_a_limit_that_is_not_a_number_is_refused(self, value):
        with pytest.raises(InvalidInputError, match="expected tolerance to be a number"):
            ReleasePolicy(tolerance=value)

    def test_recall_above_one_is_refused(self):
        with pytest.raises(InvalidInputError, match="min_recall to be a number between 0 and 1"):
            ReleasePolicy(min_recall=80)

    @pytest.mark.parametrize("value", [0, 1.5, -1, True])
    def test_a_size_limit_that_is_not_a_whole_number_of_bytes_is_refused(self, value):
        with pytest.raises(InvalidInputError, match="tfjs_max_size_bytes to be a whole number of 1"):
            ReleasePolicy(tfjs_max_size_bytes=value)


class TestReleaseReport:
    def test_verdict_names_failed_gates(self):
        assert _report(True, False).verdict == "m: NOT READY: 1 of 2 gates failed (gate 1)"

    def test_all_passed(self):
        assert _report(True, True).verdict == "m: READY: all 2 gates passed"

    def test_markdown_has_a_row_per_gate(self):
        text = _report(True, False).to_markdown()
        assert "| gate 0 | 00 | PASS |" in text and "| gate 1 | 00 | **FAIL** |" in text

    def test_markdown_says_why_only_for_failed_gates_and_escapes_bars(self):
        gates = (GateResult("a", "00", True, "x", "y", "fine"),
                 GateResult("b", "01", False, "1|2", "y", "line one\nline two"))
        text = ReleaseReport(candidate="m", policy=ReleasePolicy(), results=gates).to_markdown()
        assert "| a | 00 | PASS | x | y |  |" in text
        assert "| b | 01 | **FAIL** | 1\\|2 | y | line one line two |" in text
        assert text.endswith("**m: NOT READY: 1 of 2 gates failed (b)**\n")
        assert f"Policy: {ReleasePolicy()}" in text

    def test_text_is_the_title_one_table_and_the_verdict(self):
        lines = str(_report(True, False)).splitlines()
        assert lines[0] == "release check of m"
        assert lines[1].split() == ["gate", "lesson", "result", "measured", "limit", "why", "it", "failed"]
        assert lines[2].split()[3] == "PASS" and lines[3].split()[3:] == ["FAIL", "measured", "limit", "why"]
        assert lines[-1] == "m: NOT READY: 1 of 2 gates failed (gate 1)" and len(lines) == 5
        assert repr(_report(True)) == str(_report(True))

    def test_write_json(self, tmp_path):
        path = _report(True, False).write(tmp_path / "r.json")
        data_ = json.loads(path.read_text())
        assert data_["ok"] is False and [g["ok"] for g in data_["gates"]] == [True, False]
        assert data_["policy"]["tfjs_max_size_bytes"] == 100 * 1024

    def test_write_replaces_the_file_and_leaves_no_temporary(self, tmp_path):
        target = tmp_path / "sub" / "r.md"
        _report(False).write(target)
        _report(True).write(target)
        assert "READY: all 1 gates passed" in target.read_text()
        assert [p.name for p in target.parent.iterdir()] == ["r.md"]

    def test_write_markdown(self, tmp_path):
        assert _report(True).write(tmp_path / "r.md").read_text().startswith("## Release check: m")

    def test_write_refuses_other_extensions(self, tmp_path):
        with pytest.raises(InvalidInputError, match=r"\.md or \.json; found 'r.txt'"):
            _report(True).write(tmp_path / "r.txt")

    def test_html_marks_failures(self):
        page = _report(False)._repr_html_()
        assert "FAIL" in page and "NOT READY" in page

    def test_html_is_one_escaped_table(self):
        gates = (GateResult("<b>", "00", False, "m", "l", "a < b"),)
        page = ReleaseReport(candidate="m", policy=ReleasePolicy(), results=gates)._repr_html_()
        assert page.count("<table") == 1 and "&lt;b&gt;" in page and "a &lt; b" in page
        assert "<b>release check of m</b>" in page


@pytest.fixture(scope="module")
def cards(fraud, fraud_model, tmp_path_factory):
    """The session's fraud model checked on a Split, named "cards", in a service the caller
    started: ``(report, service, folder)``."""
    from course_lib.persistence import ServingProcess

    service, folder = ServingProcess(), tmp_path_factory.mktemp("cards") / "r"
    report = release_check(fraud_model, fraud.test, folder, name="cards", service=service,
                           policy=ReleasePolicy(min_recall=0.0))
    return report, service, folder


class TestService:
    def test_a_used_service_is_refused(self, fraud, tmp_path):
        from course_lib.persistence import ServingProcess

        with ServingProcess(imports=["json"]) as used:
            with pytest.raises(InvalidInputError, match="expected service to be a new"):
                release_check(object(), fraud, tmp_path, service=used)

    def test_a_given_service_is_used_and_closed(self, cards):
        report, service, _folder = cards
        assert report.ok and repr(service).endswith("stopped)")


class TestPolicyPerTask:
    def test_each_task_has_its_rules(self):
        policy = ReleasePolicy(min_macro_f1=0.9, min_accuracy=0.95)
        assert policy.rules("multiclass") == (("macro F1", "f1", ">=", 0.9),
                                              ("accuracy", "accuracy", ">=", 0.95))

    def test_the_binary_rule_is_the_recall_floor(self):
        assert ReleasePolicy().rules("binary") == (("recall", "recall", ">=", 0.8),)

    def test_a_regression_rule_is_a_ceiling(self):
        assert ReleasePolicy(max_mae=40.0).rules("regression") == (("MAE", "mae", "<=", 40.0),)

    def test_no_rule_set_is_no_rule(self):
        assert ReleasePolicy().rules("regression") == ()

    def test_the_default_recall_floor_does_not_apply_to_other_tasks(self):
        assert ReleasePolicy().rules("multiclass") == ()

    def test_another_tasks_rule_is_refused(self):
        with pytest.raises(InvalidInputError, match=r"quality rule of the model's task \(a binary "
                                                    r"classifier: min_recall=\); found max_rmse=50.0"):
            ReleasePolicy(max_rmse=50.0).rules("binary")

    def test_a_changed_recall_floor_is_refused_for_a_regression(self):
        with pytest.raises(InvalidInputError, match="found min_recall=0.9, a rule for a binary"):
            ReleasePolicy(min_recall=0.9).rules("regression")

    def test_a_threshold_is_refused_for_a_multiclass_model(self):
        with pytest.raises(InvalidInputError, match="no decision threshold for a multi-class model"):
            ReleasePolicy(threshold=0.3).rules("multiclass")

    def test_a_threshold_outside_zero_one_is_refused(self):
        with pytest.raises(InvalidInputError, match="threshold"):
            ReleasePolicy(threshold=1.5)

    def test_a_macro_f1_above_one_is_refused(self):
        with pytest.raises(InvalidInputError, match="min_macro_f1 to be a number between 0 and 1"):
            ReleasePolicy(min_macro_f1=90)

    def test_a_negative_rmse_ceiling_is_refused(self):
        with pytest.raises(InvalidInputError, match="max_rmse to be a number of 0 or more"):
            ReleasePolicy(max_rmse=-1)

    def test_the_description_names_the_threshold_and_other_rules(self):
        text = str(ReleasePolicy(threshold=0.3, max_rmse=60.0))
        assert "recall >= 0.80 at threshold 0.30" in text and "RMSE <= 60 for a regression" in text


class TestSkippedGates:
    def _report(self):
        gates = (GateResult("a", "00", True, "m", "l"),
                 GateResult("quality rule", "00", False, "not measured", "none set",
                            "no quality rule", skipped=True))
        return ReleaseReport(candidate="m", policy=ReleasePolicy(), results=gates)

    def test_a_skipped_gate_is_not_a_failure(self):
        assert self._report().ok and self._report().failures == ()

    def test_a_skipped_gate_is_never_shown_as_passed(self):
        row = self._report().results[1].row()
        assert row[2] == "SKIPPED" and row[5] == "no quality rule"

    def test_the_verdict_names_the_skipped_gates(self):
        assert self._report().verdict == "m: READY: 1 of 2 gates passed, 1 skipped (quality rule)"

    def test_the_json_form_keeps_the_task_and_the_skip(self, tmp_path):
        report = ReleaseReport(candidate="m", policy=ReleasePolicy(), results=self._report().results,
                               task="regression")
        data_ = json.loads(report.write(tmp_path / "r.json").read_text())
        assert data_["task"] == "regression" and data_["gates"][1]["skipped"] is True


class TestArgumentsRefused:
    def test_data_that_is_not_rows_is_refused(self, tmp_path):
        with pytest.raises(InvalidInputError, match=r"expected data as an \(x, y\) pair, a "
                                                    r"data.Split or a data.Dataset; found str"):
            release_check(object(), "fraud.csv", tmp_path)

    def test_mismatched_x_and_y_are_refused(self, tmp_path):
        with pytest.raises(InvalidInputError, match="found 3 rows in x and 2 labels in y"):
            release_check(object(), (np.zeros((3, 8)), np.array([0, 1])), tmp_path)

    def test_not_a_model_is_refused(self, tmp_path):
        with pytest.raises(InvalidInputError, match="expected a Keras model; found object"):
            release_check(object(), (np.zeros((3, 8)), np.array([0, 1, 0])), tmp_path)

    def test_rows_that_do_not_fit_the_model_are_refused_before_any_gate(self, fraud_model, tmp_path):
        with pytest.raises(InvalidInputError, match="axis 1"):
            release_check(fraud_model, (np.zeros((3, 5)), np.array([0, 1, 0])), tmp_path / "r")
        assert not (tmp_path / "r").exists()

    def test_another_tasks_rule_is_refused_before_any_gate(self, fraud, fraud_model, tmp_path):
        with pytest.raises(InvalidInputError, match="found max_rmse=10.0"):
            release_check(fraud_model, fraud, tmp_path / "r", policy=ReleasePolicy(max_rmse=10.0))
        assert not (tmp_path / "r").exists()

    def test_choosing_the_threshold_needs_validation_rows(self, fraud, fraud_model, tmp_path):
        with pytest.raises(InvalidInputError, match="its validation rows choose the threshold"):
            release_check(fraud_model, fraud.test, tmp_path, policy=ReleasePolicy(threshold=None))

    def test_a_name_that_is_not_text_is_refused(self, fraud, fraud_model, tmp_path):
        with pytest.raises(InvalidInputError, match="name"):
            release_check(fraud_model, fraud, tmp_path, name=3)


@pytest.fixture(scope="module")
def unlabelled(fraud, fraud_model, tmp_path_factory):
    """The session's fraud model checked on rows without labels, named by the caller."""
    return release_check(fraud_model, (fraud.test.x[:300], None), tmp_path_factory.mktemp("u") / "r",
                         name="cards", policy=ReleasePolicy(min_recall=0.0))


class TestPlainRows:
    def test_the_candidate_is_named_by_the_caller(self, unlabelled):
        assert unlabelled.candidate == "cards" and unlabelled.verdict.startswith("cards: READY")

    def test_without_labels_parity_is_judged_on_predictions(self, unlabelled):
        gate = unlabelled.results[0]
        assert gate.ok and gate.limit == "predictions within 0.01"
        assert gate.measured.endswith("0 of 300 rows changed class")

    def test_without_labels_the_gates_that_need_them_are_skipped(self, unlabelled):
        assert [g.name for g in unlabelled.skipped] == ["registry publish and verify", "recall floor"]
        assert "no labels" in unlabelled.skipped[0].detail

    def test_the_threshold_can_be_chosen_on_the_validation_rows(self, fraud, fraud_model, tmp_path):
        report = release_check(fraud_model, fraud, tmp_path / "r", name="cards",
                               policy=ReleasePolicy(threshold=None))
        gate = next(g for g in report.results if g.name == "recall floor")
        assert re.search(r"at threshold 0\.\d\d \(chosen on validation rows\)", gate.measured)
        assert report.metrics.threshold < 0.5  # the session's model needs a lower one for recall

    def test_the_registry_eval_set_is_named_after_the_candidate_and_split(self, cards):
        from course_lib.registry import ModelRegistry

        _report, _service, folder = cards
        reg = ModelRegistry(folder / "registry")
        manifest = json.loads((reg.root / "cards" / "1" / "course_manifest.json").read_text())
        assert reg.names() == ["cards"] and manifest["evaluation"]["name"] == "cards test"
