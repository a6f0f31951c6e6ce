"""One contract over every report class of course_lib (every subclass of _display.Report).

A report says ``ok`` (a bool), gives one ``verdict`` line (a non-empty str), shows as text
(``str``, and ``repr`` is the same text) and as HTML in a notebook, and, when it draws a
figure, has ``plot(ax=None)`` that draws into ``ax`` and returns the report itself.

Each report is built here from the public constructors with small, known values (no model
is trained), one passing and, where the report can fail, one failing example. A report class
with no example here fails ``test_every_report_class_has_examples``: a new report cannot
escape the contract.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import numpy as np
import pytest

import course_lib
from course_lib import _display
from course_lib.metrics import Metrics, compare, prediction_difference

GOOD = Metrics.from_counts(tp=90, fp=10, fn=10, tn=90)
BAD = Metrics.from_counts(tp=60, fp=10, fn=40, tn=90)


def _module(name: str):
    importlib.import_module(name)
    return sys.modules[name]  # a package may re-export a function under its submodule's name


def _all_report_classes() -> set[type]:
    for info in pkgutil.walk_packages(course_lib.__path__, "course_lib."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)

    def below(cls: type):
        for sub in cls.__subclasses__():
            yield sub
            yield from below(sub)

    # slots=True dataclasses make a second class of the same name: count each name once
    return {c for c in below(_display.Report) if not c.__name__.startswith("_")
            and c is not _display.ComparisonReport}


def _version(n: int, metrics: Metrics):
    manifest = _module("course_lib.registry.manifest")
    return manifest.VersionInfo(
        name="fraud", version=n, path=Path(f"/registry/fraud/{n}"), created="2026-12-01T00:00:00+00:00",
        eval_name="toy test", eval_fingerprint="ab" * 8, eval_rows=200, threshold=0.5,
        metrics=metrics, size_bytes=140_000, latency_ms=1.2, files={}, libraries={},
        notes="", tags={}, keras_file=None, latency={}, aliases=("production",) if n == 1 else (),
    )


def _parity(after: Metrics):
    parity = _module("course_lib.tfjs.parity")
    return parity.Parity.from_metrics("float16", 70_000, GOOD, after)


def _examples() -> dict[str, list]:
    from course_lib import costs, exercises, models, release
    from course_lib.inference import FeatureProfile, choose_threshold, measure_latency

    y = np.array([0, 0, 0, 1, 1, 1] * 10)
    s = np.array([0.1, 0.2, 0.6, 0.4, 0.8, 0.9] * 10)
    x = np.random.default_rng(0).normal(size=(200, 3))

    conversion = _module("course_lib.tfjs.conversion")
    runtime = _module("course_lib.tfjs.runtime")
    parity = _module("course_lib.tfjs.parity")
    quantization = _module("course_lib.tfjs.quantization")
    formats = _module("course_lib.persistence.formats")
    inspection = _module("course_lib.persistence.inspection")
    roundtrip = _module("course_lib.persistence.roundtrips")
    tflite = _module("course_lib.persistence.tflite")
    manifest = _module("course_lib.registry.manifest")
    policy = _module("course_lib.registry.policy")
    reports = _module("course_lib.registry.reports")
    signing = _module("course_lib.registry.signing")
    serving = _module("course_lib.registry.serving")
    doctor = _module("course_lib.instructor.environment")
    validate = _module("course_lib.instructor.validation")
    teaching = _module("course_lib.teaching")
    integrity = _module("course_lib.tfjs.integrity")
    tfjs_files = (integrity.RecordedFile("model.json", "ab" * 32, 9_000),
                  integrity.RecordedFile("group1-shard1of1.bin", "cd" * 32, 60_000))

    def round_trip(after: Metrics, diff: float):
        return roundtrip.RoundTripResult(
            format="keras", path=Path("m.keras"), size_bytes=150_000, before=GOOD, after=after,
            comparison=compare(GOOD, after), max_abs_diff=diff, save_seconds=0.1, load_seconds=0.2)

    def converted(quantize):
        return conversion.Conversion(
            path=Path("web/fraud"), format="graph-model", quantize=quantize,
            files=(inspection.FileInfo("model.json", 9_000, "graph"),
                   inspection.FileInfo("group1-shard1of1.bin", 60_000, "weights")),
            weights=(conversion.WeightInfo("dense/kernel", (30, 64), quantize or "float32"),),
            converter_version="4.22.0", seconds=1.5, log=())

    node = runtime.NodeRun(outputs={"output_0": np.zeros((10, 1))}, rows=10, wall_seconds=0.3,
                           load_seconds=0.05, predict_seconds=0.01, row_seconds=0.001, tfjs_version="4.22.0",
                           node_version="v20.20.2", backend="cpu")
    cells = (validate.CellResult("Cell 0", "passed", 1.0),
             validate.CellResult("Cell 1", "failed", 0.5, "mismatch 'stdout'"))
    gates = (release.GateResult("round trip", "01", True, "within 0.01", "0.01"),
             release.GateResult("recall", "00", False, "0.60", ">= 0.80", "the model misses frauds"))
    rules = (policy.RuleResult("min_recall 0.80", True, "0.90"),
             policy.RuleResult("max_size_bytes", False, "300.0 KB > 100.0 KB"))
    files = (inspection.FileInfo("saved_model.pb", 50_000, "graph"),
             inspection.FileInfo("variables/variables.index", 1_000, "weights index"))
    quant = quantization.QuantizationReport(results=(_parity(GOOD), _parity(BAD)),
                                            conversions=(converted(None), converted("uint8")),
                                            max_size_bytes=100 * 1024, reference_seconds=0.01)
    v1, v2 = _version(1, GOOD), _version(2, BAD)
    return {
        "Comparison": [compare(GOOD, GOOD), compare(GOOD, BAD)],
        "OverfittingVerdict": [models.OverfittingVerdict((("training", GOOD), ("validation", GOOD),
                                                          ("test", GOOD))),
                               models.OverfittingVerdict((("training", GOOD), ("validation", BAD),
                                                          ("test", BAD)))],
        "PredictionDiff": [prediction_difference([0.2, 0.7], [0.2, 0.7]),
                           prediction_difference([0.2, 0.7], [0.2, 0.4])],
        "CostCurve": [costs.cost_curve(y, s, miss_cost=100, false_alarm_cost=5)],
        "CostTable": [costs.deployment_costs({"v1": GOOD, "v2": BAD}, miss_cost=100,
                                             false_alarm_cost=5)],
        "Feedback": [exercises.Feedback(True, "Recall.", "q"), exercises.Feedback(False, "No.", "q")],
        "Answer": [exercises.Answer("q", 'The answer is (a): "Recall". Because.')],
        "ProgressReport": [_module("course_lib.progress").ProgressReport(
            "ada", Path("progress.json"), (_module("course_lib.progress").LessonProgress(
                "00", 8, 3, 2, 5, "2026-12-01T10:00:00Z"),))],
        "FeatureCheckResult": [FeatureProfile.from_data(x).check(x),
                               FeatureProfile.from_data(x).check(x * 100)],
        "LatencyReport": [measure_latency(lambda b: b, np.zeros((4, 3)), batch_sizes=(1, 2),
                                          repeats=3, warmup=1)],
        "ThresholdResult": [choose_threshold(y, s, min_recall=0.6),
                            choose_threshold(y, s, min_recall=1.0, min_precision=1.0)],
        "CheckResult": [doctor.CheckResult("python", True, "3.11.7"),
                        doctor.CheckResult("node", False, "not found", "apt-get install nodejs")],
        "NotebookResult": [validate.NotebookResult("00_a.ipynb", cells[:1], 1.0, ""),
                           validate.NotebookResult("00_a.ipynb", cells, 1.5, "")],
        "SaveResult": [formats.SaveResult(Path("m.keras"), "keras", 150_000, 0.2, ()),
                       formats.SaveResult(Path("m.h5"), "h5", 150_000, 0.2, ("legacy format",))],
        "ModelInfo": [inspection.ModelInfo(Path("m"), "savedmodel", files, (), {})],
        "FormatsReport": [roundtrip.FormatsReport(
            rows=(roundtrip.FormatRow("keras", 150_000, 0.1, 0.2, 0.0, True, "Keras"),
                  roundtrip.FormatRow("h5", 140_000, 0.1, 0.2, 0.5, False, "legacy")),
            tolerance=0.01, roundtrips={})],
        "RoundTripResult": [round_trip(GOOD, 0.0), round_trip(BAD, 0.3)],
        "TFLiteResult": [tflite.TFLiteResult(Path("m.tflite"), 40_000, 1e-7, 1e-5),
                         tflite.TFLiteResult(Path("m.tflite"), 40_000, 0.1, 1e-5)],
        "VersionTable": [manifest.VersionTable("fraud", (v1, v2), ()),
                         manifest.VersionTable("fraud", (v1,), (manifest.VersionStatus(3, False, "no manifest"),))],
        "AliasChange": [policy.AliasChange("fraud", "production", 1, 2)],
        "PromotionResult": [policy.PromotionResult("fraud", 2, "production", 1, rules[:1], True),
                            policy.PromotionResult("fraud", 2, "production", 1, rules, False)],
        "VerifyReport": [reports.VerifyReport("fraud", 1, Path("r/fraud/1"), 4, ()),
                         reports.VerifyReport("fraud", 1, Path("r/fraud/1"), 4,
                                              (reports.FileProblem("saved_model.pb", "sha256 differs"),))],
        "SignedVerifyReport": [
            signing.SignedVerifyReport("fraud", 1, Path("r/fraud/1"), 4, (), Path("k/registry.pub")),
            signing.SignedVerifyReport("fraud", 1, Path("r/fraud/1"), 4, (), None),
            signing.SignedVerifyReport(
                "fraud", 1, Path("r/fraud/1"), 4,
                (reports.FileProblem("course_signature.sig", "signature is missing"),),
                Path("k/registry.pub"), "is missing")],
        "VersionComparison": [reports.VersionComparison(v1, v2, compare(GOOD, BAD).rows, 0.01, True)],
        "ServingPlan": [serving.ServingPlan("fraud", "/models/fraud", (1, 2), 2, "production", 1,
                                            "model_config_list {}", ())],
        "ReleaseReport": [release.ReleaseReport("good", release.ReleasePolicy(), gates[:1]),
                          release.ReleaseReport("bad", release.ReleasePolicy(), gates)],
        "LayersLoad": [teaching.LayersLoad(Path("web/layers"), False, "An InputLayer should be passed",
                                           "4.22.0", "3.15.1", "Keras 3 files")],
        "QualityVerdict": [teaching.quality_verdict(GOOD), teaching.quality_verdict(BAD)],
        "Conversion": [converted(None), converted("uint8")],
        "BudgetResult": [parity.check_budget(_parity(GOOD), max_size_bytes=100 * 1024),
                         parity.check_budget(_parity(BAD), max_size_bytes=10 * 1024)],
        "Parity": [_parity(GOOD), _parity(BAD)],
        "QuantizationReport": [quant],
        "NodeRun": [node],
        "FileCheck": [integrity.FileCheck(Path("web/fraud"), tfjs_files,
                                          {f.path: f for f in tfjs_files}),
                      integrity.FileCheck(Path("web/fraud"), tfjs_files, None)],
    }


EXAMPLES = _examples()
CASES = [pytest.param(r, id=f"{name}-{i}") for name, rs in EXAMPLES.items() for i, r in enumerate(rs)]


def test_every_report_class_has_examples():
    assert sorted({c.__name__ for c in _all_report_classes()} - set(EXAMPLES)) == []


def test_examples_are_of_their_class():
    assert all(type(r).__name__ == name for name, rs in EXAMPLES.items() for r in rs)


@pytest.mark.parametrize("report", CASES)
def test_ok_is_a_bool(report):
    assert isinstance(report.ok, bool)


@pytest.mark.parametrize("report", CASES)
def test_verdict_is_one_line(report):
    assert isinstance(report.verdict, str) and report.verdict.strip() and "\n" not in report.verdict


@pytest.mark.parametrize("report", [c for c in CASES if not c.values[0].ok])
def test_a_failing_report_lists_its_failures(report):
    """(A passing report may still list failures: a choice among settings, some failing.)"""
    assert report.failures


@pytest.mark.parametrize("report", CASES)
def test_text_holds_the_verdict(report):
    assert report.verdict in str(report)


@pytest.mark.parametrize("report", CASES)
def test_repr_is_the_text_or_one_line(report):
    if type(report).__repr__ is _display.Report.__repr__:
        assert repr(report) == str(report)
    else:  # a summary of its own, e.g. CostCurve(n_rows=60, ...)
        assert repr(report).startswith(type(report).__name__) and "\n" not in repr(report)


@pytest.mark.parametrize("report", CASES)
def test_html_colours_the_verdict(report):
    page = report._repr_html_()
    assert page.startswith("<") and (_display.GREEN if report.ok else _display.RED) in page


def test_some_examples_fail():
    assert {name for name, rs in EXAMPLES.items() if any(not r.ok for r in rs)} >= {
        "Comparison", "PredictionDiff", "ReleaseReport", "PromotionResult", "VerifyReport", "BudgetResult",
        "RoundTripResult", "Parity", "ThresholdResult", "FeatureCheckResult", "TFLiteResult"}


PLOTTED = [pytest.param(r, id=f"{name}-{i}") for name, rs in EXAMPLES.items()
           for i, r in enumerate(rs) if hasattr(r, "plot")]


@pytest.mark.parametrize("report", PLOTTED)
def test_plot_draws_into_the_given_axes_and_returns_the_report(report):
    from course_lib.plots import new_figure

    ax = new_figure(6, 4).add_subplot()
    assert report.plot(ax=ax) is report
    assert ax.has_data() or ax.figure.axes != [ax] or ax.child_axes


@pytest.mark.parametrize("report", PLOTTED)
def test_plot_without_axes_makes_its_own_figure(report):
    assert report.plot() is report and report.figure_ is not None


def test_reports_with_figures():
    assert sorted({p.values[0].__class__.__name__ for p in PLOTTED}) == [
        "CostCurve", "LatencyReport", "QuantizationReport", "VersionComparison"]
