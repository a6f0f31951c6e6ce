"""Tests of course_lib.registry.serving: what TF Serving would serve, and the pinning config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from registry_helpers import WORSE_RECALL, toy_set

from course_lib._display import Report
from course_lib.registry import ModelRegistry, ServingPlan, VersionNotFoundError


class TestServing:
    def test_tf_serving_serves_the_highest_number(self, two, src):
        two.promote("fraud", 1)
        two.publish_saved_model(src, "fraud", toy_set(), metrics=WORSE_RECALL, latency_ms=1)
        plan = two.serving("fraud")
        assert (plan.on_disk, plan.default_version, plan.pinned) == ((1, 2, 3), 3, 1)
        assert "NOT the same version" in str(plan)

    def test_commands_use_the_folder(self, reg, src):
        rel = ModelRegistry(Path(os.path.relpath(reg.root)))
        plan = rel.serving("fraud")
        assert plan.docker_command == (
            f'docker run -p 8501:8501 -v "$PWD/{rel.root.as_posix()}/fraud:'
            '/models/fraud" -e MODEL_NAME=fraud tensorflow/serving'
        )
        assert "--model_base_path=" in plan.model_server_command

    def test_config_pins_the_production_version_with_a_label(self, two):
        two.promote("fraud", 1)
        text = two.serving_config("fraud")
        assert "specific {\n        versions: 1\n" in text
        assert 'key: "production"\n      value: 1' in text and 'base_path: "/models/fraud"' in text

    def test_config_needs_the_alias(self, two):
        with pytest.raises(VersionNotFoundError, match="promote a version first"):
            two.serving_config("fraud")

    def test_written_config_is_not_taken_for_a_model(self, two):
        two.promote("fraud", 2)
        path = two.write_serving_config("fraud")
        assert path.read_text() == two.serving_config("fraud") and two.names() == ["fraud"]


class TestServingPlanReport:
    def test_ok_when_the_default_version_is_the_aliased_one(self, two):
        two.promote("fraud", 2)
        plan = two.serving("fraud")
        assert plan.ok and plan.verdict.endswith("points to version 2: the same version.")
        assert plan.verdict in str(plan) and "Pin production (version 2)" in str(plan)

    def test_not_ok_when_tf_serving_would_serve_another_version(self, two):
        two.promote("fraud", 1)
        plan = two.serving("fraud")
        assert not plan.ok and "NOT the same version" in plan._repr_html_()

    def test_warns_about_an_invalid_highest_folder(self, two):
        (two.root / "fraud" / "3").mkdir()
        plan = two.serving("fraud")
        assert not plan.ok and "TF Serving would try to load it and fail" in plan.failures[0]

    def test_no_alias_yet(self, two):
        plan = two.serving("fraud")
        assert plan.ok and plan.pinned is None and "Pin" not in str(plan)

    def test_is_a_report(self):
        assert issubclass(ServingPlan, Report)
