"""Tests of course_lib.registry.policy (PromotionPolicy, PromotionResult) and of promotion."""

from __future__ import annotations

import pytest
from registry_helpers import SEED_V1, SEED_V2, WORSE_RECALL, fake_saved_model, toy_set

from course_lib._display import Report
from course_lib.errors import InvalidInputError
from course_lib.registry import (
    AliasChange,
    PromotionPolicy,
    PromotionRefusedError,
    PromotionResult,
    flip_byte,
)


POLICY = PromotionPolicy(
    min_recall=0.80, max_drop=0.01, max_size_bytes=100_000, max_latency_ms=50
)


class TestPromotionPolicy:
    def test_str_lists_the_rules(self):
        assert str(POLICY) == (
            "recall >= 0.80; no metric more than 0.01 below production; "
            "size <= 97.7 KB; latency <= 50 ms"
        )

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"min_recall": 1.5}, "min_recall to be a number between 0 and 1"),
            ({"max_drop": {"auc": 0.1}}, "max_drop keys"),
            ({"max_size_bytes": 0}, "max_size_bytes to be a number above 0 bytes"),
            ({"max_latency_ms": float("nan")}, "max_latency_ms"),
        ],
    )
    def test_bad_rules_are_refused(self, kwargs, match):
        with pytest.raises(InvalidInputError, match=match):
            PromotionPolicy(**kwargs)

    def test_every_failing_rule_is_reported(self, two, src):
        two.promote("fraud", 2)
        big = fake_saved_model(src.parent / "big", size=60_000)
        two.publish_saved_model(big, "fraud", toy_set(), metrics=WORSE_RECALL, latency_ms=80)
        result = two.check_gate("fraud", 3, POLICY)
        assert [r.rule.split(" ")[0] for r in result.failures] == [
            "recall",
            "no",
            "size",
            "latency",
        ]
        assert "recall -0.368" in result.failures[1].detail

    def test_per_metric_drop_allowance(self, two, src):
        two.promote("fraud", 2)
        two.publish_saved_model(src, "fraud", toy_set(), metrics=SEED_V1, latency_ms=1)
        lenient = PromotionPolicy(max_drop={"recall": 0.1, "precision": 0.1})
        assert two.check_gate("fraud", 3, lenient).ok
        assert not two.check_gate("fraud", 3, PromotionPolicy(max_drop={"recall": 0.01})).ok

    def test_drop_rule_refuses_versions_evaluated_on_other_data(self, two, src):
        two.promote("fraud", 2)
        two.publish_saved_model(
            src, "fraud", toy_set("other", seed=3), metrics=SEED_V2, latency_ms=1
        )
        (failure,) = two.check_gate("fraud", 3, PromotionPolicy(max_drop=0.01)).failures
        assert "cannot compare" in failure.detail and "'other'" in failure.detail


class TestPromote:
    def test_first_promotion_sets_production(self, two):
        result = two.promote("fraud", 1, policy=POLICY)
        assert result.applied and two.aliases("fraud") == {"production": 1}
        assert "first promotion" in str(result)

    def test_passing_version_moves_production(self, two):
        two.promote("fraud", 1)
        assert "PROMOTED" in two.promote("fraud", 2, policy=POLICY).verdict
        assert two.aliases("fraud")["production"] == 2

    def test_refusal_lists_every_failed_rule_and_moves_nothing(self, two, src):
        two.promote("fraud", 2)
        big = fake_saved_model(src.parent / "big", size=60_000)
        two.publish_saved_model(big, "fraud", toy_set(), metrics=WORSE_RECALL, latency_ms=1)
        with pytest.raises(
            PromotionRefusedError, match=r"3 failed: recall >= 0\.80.*size"
        ) as refused:
            two.promote("fraud", 3, policy=POLICY)
        assert len(refused.value.result.failures) == 3
        assert two.aliases("fraud") == {"production": 2}

    def test_tampered_version_is_refused(self, two):
        flip_byte(two.path("fraud", 2) / "saved_model.pb")
        with pytest.raises(
            PromotionRefusedError, match="files verify .*saved_model.pb: content changed"
        ):
            two.promote("fraud", 2)
        assert two.aliases("fraud") == {}

    def test_check_gate_moves_nothing(self, two):
        assert two.check_gate("fraud", 1, POLICY).ok and two.aliases("fraud") == {}

    def test_other_alias(self, two):
        two.promote("fraud", 2, alias="candidate")
        assert two.aliases("fraud") == {"candidate": 2}

    def test_a_policy_of_another_type_is_refused(self, two):
        with pytest.raises(InvalidInputError, match="expected a PromotionPolicy or None"):
            two.promote("fraud", 1, policy={"min_recall": 0.8})
        assert two.aliases("fraud") == {}


class TestPromotionResult:
    def test_text_is_the_rules_table_then_the_verdict(self, two):
        result = two.check_gate("fraud", 2, POLICY)
        lines = str(result).splitlines()
        assert lines[0].split() == ["result", "rule", "detail"] and lines[1].startswith("ok ")
        assert lines[-1] == result.verdict and "passes the gate (5 rules passed" in result.verdict

    def test_html_has_one_row_per_rule_and_the_verdict(self, two):
        result = two.check_gate("fraud", 2, POLICY)
        html = result._repr_html_()
        assert html.count("<tr>") == 1 + len(result.results) and "passes the gate" in html

    def test_refused_result_is_not_ok(self, two):
        flip_byte(two.path("fraud", 2) / "saved_model.pb")
        result = two.check_gate("fraud", 2)
        assert not result.ok and [r.rule for r in result.failures] == ["files verify"]
        assert "REFUSED (1 of 1 rules failed" in result.verdict

    @pytest.mark.parametrize("cls", [PromotionResult, AliasChange])
    def test_is_a_report(self, cls):
        assert issubclass(cls, Report)
