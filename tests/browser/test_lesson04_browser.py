"""Lesson 04 in a real browser: JupyterLab in headless Chromium, as a learner uses it.

The module opens ``04_model_versioning.ipynb`` once (a fresh kernel, outputs cleared,
Run > Run All Cells), then each test works one widget as a learner would: types counts
into the confusion-matrix calculator, types costs into the DeploymentCostExplorer over the
registry's versions, and answers every exercise (:class:`lab_helpers.ExerciseTests`). The
explorer's versions are read from the registry the lesson wrote in the server's copy of
the lessons (``ModelRegistry(...).metrics``); what it should show comes from
``course_lib.costs.deployment_costs``, the calculator's from ``Metrics.from_counts``,
never from numbers typed here. Screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from lab_helpers import (
    WIDGET_TIMEOUT,
    ExerciseTests,
    RunAllTests,
    cell_kwargs,
    code_cell,
    expect_metrics,
    shown_table,
    type_number,
)

from course_lib.costs import CostTable, deployment_costs
from course_lib.metrics import Metrics

pytestmark = pytest.mark.browser

LESSON = "04_model_versioning.ipynb"
CALCULATOR = "widgets.ConfusionMatrixCalculator"
EXPLORER = "widgets.DeploymentCostExplorer"
#: The lesson's registry (``ModelRegistry.fresh("work/registry")``) and model name.
REGISTRY, NAME = Path("work") / "registry", "fraud"


@pytest.fixture(scope="module")
def versions(lesson: Any, lab_server: Any) -> dict[str, Metrics]:
    """The explorer's versions: ``reg.metrics("fraud")`` of the registry the lesson wrote."""
    from course_lib.registry import ModelRegistry

    found = ModelRegistry(lab_server.root / REGISTRY).metrics(NAME)
    assert len(found) > 1, f"the lesson's registry should hold several versions; found {list(found)}"
    return found


def costs_at(versions: dict[str, Metrics], miss_cost: float, false_alarm_cost: float) -> CostTable:
    """What the DeploymentCostExplorer computes at these costs (the lesson's ``positive``)."""
    return deployment_costs(versions, miss_cost, false_alarm_cost,
                            positive=cell_kwargs(LESSON, EXPLORER)["positive"])


def cost_fields() -> tuple[str, str]:
    """The labels of the explorer's two fields: the cost of a missed fraud, of a false alarm."""
    return f"cost of a missed {cell_kwargs(LESSON, EXPLORER)['positive']}", "cost of a false alarm"


def set_costs(cell: Any, miss_cost: float, false_alarm_cost: float) -> None:
    """Type both costs into the explorer, as a learner does."""
    miss, alarm = cost_fields()
    type_number(cell, miss, miss_cost)
    type_number(cell, alarm, false_alarm_cost)


def expect_costs(result: Any, table: CostTable) -> None:
    """``result`` shows ``table`` as its HTML does: the rows, the cheapest in bold, the verdict."""
    from playwright.sync_api import expect

    expect(result).to_contain_text(table.verdict, timeout=WIDGET_TIMEOUT)
    assert shown_table(result) == table.table()
    bold = {row.locator("td").first.inner_text().strip()
            for row in result.locator("tr").filter(has=result.page.locator("td b")).all()}
    assert bold == set(table.best)


class TestRunAll(RunAllTests):
    """Every cell ran in order, with no error or stderr output."""


class TestConfusionMatrixCalculator:
    def test_at_first_it_shows_the_metrics_of_the_cells_counts(self, lesson):
        cell = code_cell(lesson, f"{CALCULATOR}(")
        expect_metrics(cell.locator(".widget-html-content").last,
                       Metrics.from_counts(**cell_kwargs(LESSON, CALCULATOR)))

    def test_typing_the_counts_updates_the_four_metrics(self, lesson, artifacts):
        cell = code_cell(lesson, f"{CALCULATOR}(")
        typed = {"tp": 70, "fp": 40, "fn": 25, "tn": 65}
        for label, value in typed.items():
            type_number(cell, label.upper(), value)
        expect_metrics(cell.locator(".widget-html-content").last, Metrics.from_counts(**typed))
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "04-calculator-typed.png"))

    def test_four_zero_counts_ask_for_an_example(self, lesson):
        from playwright.sync_api import expect

        from course_lib.widgets import ConfusionMatrixCalculator

        cell = code_cell(lesson, f"{CALCULATOR}(")
        for label in ("TP", "FP", "FN", "TN"):
            type_number(cell, label, 0)
        said = re.sub(r"<[^>]+>", "", ConfusionMatrixCalculator(tp=0, fp=0, fn=0, tn=0).result.value)
        expect(cell.locator(".widget-html-content").last).to_contain_text(
            said.strip(), timeout=WIDGET_TIMEOUT)


class TestDeploymentCostExplorer:
    def test_at_first_the_fields_hold_the_costs_the_cell_passed(self, lesson, artifacts):
        given = cell_kwargs(LESSON, EXPLORER)
        cell = code_cell(lesson, f"{EXPLORER}(")
        shown = [float(cell.get_by_label(label, exact=True).input_value()) for label in cost_fields()]
        assert shown == [given["miss_cost"], given["false_alarm_cost"]]
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "04-deployment-before.png"))

    def test_at_first_it_shows_the_registrys_versions_at_the_cells_costs(self, lesson, versions):
        given = cell_kwargs(LESSON, EXPLORER)
        cell = code_cell(lesson, f"{EXPLORER}(")
        expect_costs(cell.locator(".widget-html-content").last,
                     costs_at(versions, given["miss_cost"], given["false_alarm_cost"]))

    def test_equal_costs_recommend_the_most_accurate_version(self, lesson, artifacts, versions):
        cell = code_cell(lesson, f"{EXPLORER}(")
        set_costs(cell, 1, 1)
        table = costs_at(versions, 1, 1)
        expect_costs(cell.locator(".widget-html-content").last, table)
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "04-deployment-equal.png"))
        top = max(m.accuracy for m in versions.values())
        assert set(table.best) == {k for k, m in versions.items() if m.accuracy == top}

    def test_a_dear_missed_fraud_recommends_the_version_that_misses_fewest(
            self, lesson, artifacts, versions):
        cell = code_cell(lesson, f"{EXPLORER}(")
        # One missed fraud dearer than all of any version's false alarms: fewest misses win.
        miss_cost = 1 + max(m.fp for m in versions.values())
        set_costs(cell, miss_cost, 1)
        table = costs_at(versions, miss_cost, 1)
        expect_costs(cell.locator(".widget-html-content").last, table)
        cell.locator(".jp-OutputArea").screenshot(path=str(artifacts / "04-deployment-dear-miss.png"))
        fewest = min(m.fn for m in versions.values())
        assert {versions[label].fn for label in table.best} == {fewest}

    def test_zero_costs_are_a_tie_of_every_version(self, lesson, versions):
        cell = code_cell(lesson, f"{EXPLORER}(")
        set_costs(cell, 0, 0)
        table = costs_at(versions, 0, 0)
        expect_costs(cell.locator(".widget-html-content").last, table)
        assert not table.ok and set(table.best) == set(versions)


class TestExercises(ExerciseTests):
    """Every quiz and check cell of the lesson: wrong, right, Show answer, the progress file."""
