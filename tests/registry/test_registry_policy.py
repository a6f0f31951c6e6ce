"""Tests of course_lib.registry.policy (PromotionPolicy, PromotionResult) and of promotion."""

from __future__ import annotations

import re

import pytest
from registry_helpers import (
    SEED_V1,
    SEED_V2,
    WORSE_RECALL,
    fake_saved_model,
    multiclass_metrics,
    multiclass_set,
    regression_metrics,
    regression_set,
    toy_set,
)

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
            ({"max_gap": 1.5}, "max_gap to be a number between 0 and 1"),
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


@pytest.fixture
def regression_versions(reg, src):
    """Versions 1 (errors of about 20) and 2 (about 30) of a regression on two inputs."""
    s = regression_set()
    reg.publish_saved_model(src, "dose", s, metrics=regression_metrics(20), latency_ms=1.0)
    reg.publish_saved_model(src, "dose", s, metrics=regression_metrics(30), latency_ms=1.0)
    return reg


@pytest.fixture
def multiclass_versions(reg, src):
    """Versions 1 (6 of 90 images wrong) and 2 (all right) of a 3-class image model."""
    s = multiclass_set()
    reg.publish_saved_model(src, "shapes", s, metrics=multiclass_metrics(6), latency_ms=1.0)
    reg.publish_saved_model(src, "shapes", s, metrics=multiclass_metrics(0), latency_ms=1.0)
    return reg


class TestRulesOnAnyMetric:
    def test_a_mapping_and_keywords_give_the_same_policy(self):
        assert PromotionPolicy({"min_macro_f1": 0.8, "max_rmse": 60}) == PromotionPolicy(
            min_macro_f1=0.8, max_rmse=60)

    def test_str_lists_floors_and_ceilings_in_one_order(self):
        policy = PromotionPolicy(min_r2=0.3, max_rmse=60, min_accuracy=0.85, min_recall=0.8)
        assert str(policy) == "recall >= 0.80; accuracy >= 0.85; rmse <= 60; r2 >= 0.3"

    def test_the_old_keywords_read_as_before(self):
        policy = PromotionPolicy(min_recall=0.8, max_rmse=60)
        assert (policy.min_recall, policy.max_rmse, policy.min_precision) == (0.8, 60.0, None)

    def test_repr_is_the_call(self):
        assert repr(PromotionPolicy(min_recall=0.8, max_drop=0.01)) == (
            "PromotionPolicy(min_recall=0.8, max_drop=0.01)")

    @pytest.mark.parametrize(
        ("rules", "match"),
        [
            ({"min_auc": 0.8}, "rules named min_<metric> or max_<metric>.*found 'min_auc'"),
            ({"at_least_recall": 0.8}, "found 'at_least_recall'"),
            ({"max_rmse": -1}, "max_rmse to be a number of 0 or more"),
            ({"min_r2": 1.5}, "min_r2 to be a number of at most 1"),
            ({"min_macro_f1": 2}, "min_macro_f1 to be a number between 0 and 1"),
        ],
    )
    def test_bad_rules_are_refused(self, rules, match):
        with pytest.raises(InvalidInputError, match=match):
            PromotionPolicy(rules)

    def test_a_rule_given_twice_is_refused(self):
        with pytest.raises(InvalidInputError, match="each rule once"):
            PromotionPolicy({"min_recall": 0.8}, min_recall=0.9)

    def test_a_mapping_may_hold_the_other_rules(self):
        assert PromotionPolicy({"max_drop": 0.01, "max_rmse": 60}).max_drop == 0.01

    def test_rules_that_are_not_a_mapping_are_refused(self):
        with pytest.raises(InvalidInputError, match="rules as a mapping"):
            PromotionPolicy(0.8)

    def test_a_ceiling_on_a_regression_error(self, regression_versions):
        result = regression_versions.check_gate("dose", 2, PromotionPolicy(max_rmse=25))
        (failure,) = result.failures
        assert failure.rule == "rmse <= 25" and re.fullmatch(r"rmse [\d.]+ > 25", failure.detail)

    def test_a_floor_on_r2(self, regression_versions):
        assert regression_versions.check_gate("dose", 1, PromotionPolicy(min_r2=0.5)).ok

    def test_a_floor_on_the_macro_f1_of_a_multiclass_model(self, multiclass_versions):
        policy = PromotionPolicy(min_macro_f1=0.95)
        assert not multiclass_versions.check_gate("shapes", 1, policy).ok
        assert multiclass_versions.check_gate("shapes", 2, policy).ok

    def test_a_rule_on_a_metric_the_task_does_not_record_is_refused(self, regression_versions):
        with pytest.raises(InvalidInputError,
                           match=r"dose version 2 records \(a regression: mae, rmse, r2, "
                                 r"max_error\); found recall >= 0.80"):
            regression_versions.promote("dose", 2, PromotionPolicy(min_recall=0.8))
        assert regression_versions.aliases("dose") == {}

    def test_macro_f1_is_not_a_binary_classifiers_metric(self, two):
        with pytest.raises(InvalidInputError, match="found macro_f1 >= 0.80.*min_f1=0.8"):
            two.check_gate("fraud", 1, PromotionPolicy(min_macro_f1=0.8))

    def test_a_drop_allowance_on_a_metric_of_another_task_is_refused(self, two):
        with pytest.raises(InvalidInputError, match=r"max_drop\['rmse'\]"):
            two.check_gate("fraud", 1, PromotionPolicy(max_drop={"rmse": 0.1}))


class TestDropOfAnyTask:
    def test_a_regressions_errors_may_grow_by_a_share_of_themselves(self, regression_versions):
        regression_versions.promote("dose", 1)
        rmse1 = regression_versions.get("dose", 1).metrics.rmse
        rmse2 = regression_versions.get("dose", 2).metrics.rmse
        growth = rmse2 / rmse1 - 1
        lenient = PromotionPolicy(max_drop={"rmse": min(1.0, growth + 0.05)})
        strict = PromotionPolicy(max_drop={"rmse": growth / 2})
        assert regression_versions.check_gate("dose", 2, lenient).ok
        (failure,) = regression_versions.check_gate("dose", 2, strict).failures
        assert "rmse +" in failure.detail and "(allowed +" in failure.detail

    def test_a_lower_error_is_no_drop(self, regression_versions):
        regression_versions.promote("dose", 2)
        regression_versions.publish_saved_model(
            regression_versions.path("dose", 1), "dose", regression_set(),
            metrics=regression_metrics(20), latency_ms=1.0)
        assert regression_versions.check_gate("dose", 3, PromotionPolicy(max_drop=0.0)).ok

    def test_every_metric_of_the_task_is_compared(self, multiclass_versions):
        multiclass_versions.promote("shapes", 2)
        (failure,) = multiclass_versions.check_gate(
            "shapes", 1, PromotionPolicy(max_drop=0.01)).failures
        assert [part.split()[0] for part in failure.detail.split(", ")] == [
            "accuracy", "precision", "recall", "f1"]

    def test_versions_of_another_task_cannot_be_compared(self, two, src):
        two.promote("fraud", 1)
        two.publish_saved_model(src, "fraud", regression_set(), metrics=regression_metrics(20),
                                latency_ms=1.0)
        (failure,) = two.check_gate("fraud", 3, PromotionPolicy(max_drop=0.01)).failures
        assert "version 1 is a binary classifier, version 3 a regression" in failure.detail


#: The whole rule of a good version: accuracy above 85%, precision and recall balanced
#: (within 0.05 of each other) and above 80%.
WHOLE_RULE = PromotionPolicy(min_accuracy=0.85, min_precision=0.80, min_recall=0.80, max_gap=0.05)


class TestBalance:
    def test_str_names_the_gap(self):
        assert str(WHOLE_RULE) == (
            "recall >= 0.80; precision >= 0.80; accuracy >= 0.85; |precision - recall| <= 0.05")

    def test_a_mapping_may_hold_the_gap(self):
        assert PromotionPolicy({"max_gap": 0.05}) == PromotionPolicy(max_gap=0.05)

    def test_repr_is_the_call(self):
        assert repr(PromotionPolicy(min_recall=0.8, max_gap=0.05)) == (
            "PromotionPolicy(min_recall=0.8, max_gap=0.05)")

    def test_balanced_precision_and_recall_pass(self, two):
        (gap,) = [r for r in two.check_gate("fraud", 2, WHOLE_RULE).results if "|" in r.rule]
        assert gap.ok and gap.detail == "precision 0.850, recall 0.895: gap 0.045"

    def test_a_wider_gap_fails_and_says_by_how_much(self, two):
        (failure,) = two.check_gate("fraud", 2, PromotionPolicy(max_gap=0.04)).failures
        assert failure.rule == "|precision - recall| <= 0.04"
        assert failure.detail.endswith("gap 0.045 > 0.04")

    def test_the_worked_versions_under_the_whole_rule(self, two):
        (failure,) = two.check_gate("fraud", 1, WHOLE_RULE).failures
        assert failure.detail == "accuracy 0.825 < 0.85"
        assert two.check_gate("fraud", 2, WHOLE_RULE).ok

    def test_high_precision_with_low_recall_is_not_balanced(self, two, src):
        two.publish_saved_model(src, "fraud", toy_set(), metrics=WORSE_RECALL, latency_ms=1)
        policy = PromotionPolicy(min_precision=0.8, max_gap=0.05)
        failures = two.check_gate("fraud", 3, policy).failures
        assert [r.rule for r in failures] == ["|precision - recall| <= 0.05"]

    def test_a_multiclass_model_is_balanced_on_its_macro_averages(self, multiclass_versions):
        (gap,) = multiclass_versions.check_gate(
            "shapes", 1, PromotionPolicy(max_gap=0.5)).results[1:]
        m = multiclass_versions.get("shapes", 1).metrics
        gap_value = abs(m.get("macro_precision") - m.get("macro_recall"))
        assert gap.ok and f"gap {gap_value:.3f}" in gap.detail

    def test_a_regression_has_no_precision_to_balance(self, regression_versions):
        with pytest.raises(InvalidInputError,
                           match=r"a regression.*found \|precision - recall\| <= 0.05"):
            regression_versions.check_gate("dose", 1, PromotionPolicy(max_gap=0.05))
