"""Tests of course_lib.release: the policy, the report, and real release checks."""

from __future__ import annotations

import json

import pytest

from course_lib import data, models
from course_lib.errors import InvalidInputError
from course_lib.release import GateResult, ReleasePolicy, ReleaseReport, release_check


@pytest.fixture(scope="module")
def fraud():
    return data.load_fraud()


@pytest.fixture(scope="module")
def passing(fraud, tmp_path_factory):
    model = models.fraud_model(fraud, log_scale="registered", name="good")
    policy = ReleasePolicy(imports=("course_lib.layers",))
    return release_check(model, fraud, tmp_path_factory.mktemp("rel") / "good", policy=policy)


@pytest.fixture(scope="module")
def failing(fraud, tmp_path_factory):
    model = models.build_fraud_model(fraud.train.x, log_scale="lambda", hidden=(256, 128), name="bad")
    models.train(model, fraud.train, epochs=3)
    return release_check(model, fraud, tmp_path_factory.mktemp("rel") / "bad")


def _report(*oks: bool) -> ReleaseReport:
    gates = tuple(GateResult(f"gate {i}", "00", ok, "measured", "limit", "why") for i, ok in enumerate(oks))
    return ReleaseReport(candidate="m", policy=ReleasePolicy(), results=gates)


class TestReleaseCheck:
    def test_a_sound_candidate_passes_every_gate(self, passing):
        assert passing.ok, str(passing)
        assert len(passing.results) == 7

    def test_a_flawed_candidate_fails_the_gates_it_should(self, failing):
        failed = {g.name for g in failing.failures}
        assert failed == {".keras round trip", "fresh process", "TF.js (float32)", "recall floor"}

    def test_failures_say_why(self, failing):
        why = {g.name: g.detail for g in failing.failures}
        assert "Lambda layer" in why[".keras round trip"]
        assert "exceeds the 100.0 KB budget" in why["TF.js (float32)"]

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

    def test_negative_limit_is_refused(self):
        with pytest.raises(InvalidInputError, match="max_latency_ms to be a number of 0 or more"):
            ReleasePolicy(max_latency_ms=-1)

    def test_recall_above_one_is_refused(self):
        with pytest.raises(InvalidInputError, match="min_recall between 0 and 1"):
            ReleasePolicy(min_recall=80)


class TestReleaseReport:
    def test_verdict_names_failed_gates(self):
        assert _report(True, False).verdict == "m: NOT READY: 1 of 2 gates failed (gate 1)"

    def test_all_passed(self):
        assert _report(True, True).verdict == "m: READY: all 2 gates passed"

    def test_markdown_has_a_row_per_gate(self):
        text = _report(True, False).to_markdown()
        assert "| gate 0 | 00 | PASS |" in text and "| gate 1 | 00 | **FAIL** |" in text

    def test_write_json(self, tmp_path):
        path = _report(True, False).write(tmp_path / "r.json")
        data_ = json.loads(path.read_text())
        assert data_["ok"] is False and [g["ok"] for g in data_["gates"]] == [True, False]

    def test_write_markdown(self, tmp_path):
        assert _report(True).write(tmp_path / "r.md").read_text().startswith("## Release check: m")

    def test_write_refuses_other_extensions(self, tmp_path):
        with pytest.raises(InvalidInputError, match=r"\.md or \.json; found 'r.txt'"):
            _report(True).write(tmp_path / "r.txt")

    def test_html_marks_failures(self):
        page = _report(False)._repr_html_()
        assert "FAIL" in page and "NOT READY" in page


class TestService:
    def test_a_used_service_is_refused(self, fraud, tmp_path):
        from course_lib.persistence import ServingProcess

        with ServingProcess(imports=["json"]) as used:
            with pytest.raises(InvalidInputError, match="expected service to be a new"):
                release_check(object(), fraud, tmp_path, service=used)

    def test_a_given_service_is_used_and_closed(self, fraud, tmp_path):
        from course_lib.persistence import ServingProcess

        service = ServingProcess()
        model = models.fraud_model(fraud, epochs=1, name="given")
        report = release_check(model, fraud, tmp_path / "r", service=service,
                               policy=ReleasePolicy(min_recall=0.0))
        assert report.ok and repr(service).endswith("stopped)")
