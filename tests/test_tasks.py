"""What every helper does the same on each kind of model: one test, run on the four models.

The models are the session's (the repository's conftest.py): the fraud classifier (2-D rows,
one sigmoid output), the 10-class Conv2D on digit images (n, 8, 8, 1), the diabetes regression
(one linear output) and the breast-cancer classifier with two named inputs fed as a dict.
:data:`KINDS` says what each should give; what only one kind does (its refusals, its own
rules, its text) stays in tests/test_task_<kind>.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest


@dataclass(frozen=True)
class Kind:
    """One kind of model: where the session keeps it, and what the helpers report on it."""

    model_fixture: str
    data_fixture: str
    #: The test rows (x, y) of the data fixture's value.
    test_rows: Callable[[Any], tuple[Any, np.ndarray]]
    name: str
    candidate: str
    task: str
    metrics_type: str
    #: The metrics compared before and after (roundtrip, TF.js verify, the registry's table).
    metric_names: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    #: Latency's batch sizes by default (1, 10, 100, 1000), capped by the test rows.
    batch_sizes: tuple[int, ...]
    threshold: float | None
    #: The session fixture of its release check (the repository's conftest.py).
    release_fixture: str
    promotion_met: dict[str, Any]
    promotion_missed: dict[str, Any]
    missed_message: str
    #: A promotion rule of another task, and how it is refused.
    other_rule: dict[str, Any]
    other_rule_message: str
    #: The first rows of the registry's comparison of two versions.
    compare_rows: tuple[str, ...]
    #: np.testing.assert_allclose tolerances: a loaded or served model against the model;
    #: a TF.js graph (float32 in another runtime) against the model.
    close: dict[str, float] = field(default_factory=lambda: {"atol": 1e-6})
    js_close: dict[str, float] = field(default_factory=lambda: {"atol": 1e-5})
    #: A regression compiled with loss="mse" has an .h5 Keras 3 cannot compile back.
    h5_compiles: bool = True
    # Filled by the ``case`` fixture:
    model: Any = None
    x: Any = None
    y: Any = None
    data: Any = None

    @property
    def rows(self) -> int:
        return len(self.y)

    @property
    def input_names(self) -> list[str]:
        return [t.split(":")[0] for t in self.inputs]

    @property
    def unchanged(self) -> int | None:
        """The rows that changed class when nothing moved (a regression has no class)."""
        return None if self.task == "regression" else 0

    def head(self, n: int) -> Any:
        """The first ``n`` test rows of x (one array, or each input of a dict)."""
        return {k: v[:n] for k, v in self.x.items()} if isinstance(self.x, dict) else self.x[:n]

    def same_metrics(self, a: Any, b: Any) -> bool:
        """A classifier's metrics are equal (the same counts); a regression's within float noise."""
        if self.task != "regression":
            return a == b
        return all(a.get(n) == pytest.approx(b.get(n), rel=1e-5, abs=1e-5) for n in a.names)


CLASSES = ("accuracy", "precision", "recall", "f1")

KINDS: dict[str, Kind] = {
    "binary": Kind(
        "fraud_model", "fraud", lambda d: (d.test.x, d.test.y),
        name="fraud", candidate="fraud_model", task="binary", metrics_type="Metrics",
        metric_names=CLASSES, inputs=("features: float32 (None, 8)",),
        outputs=("output_0: float32 (None, 1)",), batch_sizes=(1, 10, 100, 1000),
        threshold=0.5, release_fixture="fraud_release",
        promotion_met={"min_accuracy": 0.5, "max_size_bytes": 10**7},
        promotion_missed={"min_recall": 0.99},
        missed_message=r"recall >= 0\.99 \(recall 0\.\d+ <",
        other_rule={"min_macro_f1": 0.8}, other_rule_message="found macro_f1 >= 0.80.*min_f1=0.8",
        compare_rows=CLASSES + ("TP", "FP", "FN", "TN")),
    "multiclass": Kind(
        "digits_model", "digits", lambda d: (d[1].x, d[1].y),
        name="digits", candidate="digits", task="multiclass", metrics_type="MulticlassMetrics",
        metric_names=CLASSES, inputs=("pixels: float32 (None, 8, 8, 1)",),
        outputs=("output_0: float32 (None, 10)",), batch_sizes=(1, 10, 100, 397),
        threshold=None, release_fixture="digits_release",
        promotion_met={"min_macro_f1": 0.5}, promotion_missed={"min_macro_f1": 0.99},
        missed_message=r"macro_f1 >= 0\.99 \(macro_f1 0\.\d+ <",
        other_rule={"max_rmse": 60}, other_rule_message="a multi-class classifier.*found rmse <= 60",
        compare_rows=("accuracy", "macro precision", "macro recall", "macro f1")),
    "regression": Kind(
        "diabetes_model", "diabetes", lambda d: (d[1].x, d[1].y),
        name="diabetes", candidate="diabetes", task="regression",
        metrics_type="RegressionMetrics", metric_names=("mae", "rmse", "r2", "max_error"),
        inputs=("features: float32 (None, 10)",), outputs=("output_0: float32 (None, 1)",),
        batch_sizes=(1, 10, 92), threshold=None, release_fixture="diabetes_release",
        promotion_met={"max_rmse": 80, "min_r2": 0.2}, promotion_missed={"max_rmse": 10},
        missed_message=r"rmse <= 10 \(rmse [\d.]+ > 10\)",
        other_rule={"min_recall": 0.8}, other_rule_message="a regression: mae.*found recall >= 0.80",
        compare_rows=("mae", "rmse", "r2", "max_error"),
        close={"rtol": 1e-5}, js_close={"rtol": 1e-5, "atol": 1e-3}, h5_compiles=False),
    "two_inputs": Kind(
        "two_input_model", "two_inputs", lambda d: d[1],
        name="cancer", candidate="cancer", task="binary",
        metrics_type="Metrics", metric_names=CLASSES,
        inputs=("mean: float32 (None, 10)", "worst: float32 (None, 10)"),
        outputs=("output_0: float32 (None, 1)",), batch_sizes=(1, 10, 100, 114),
        threshold=0.5, release_fixture="cancer_release", promotion_met={"min_recall": 0.5},
        promotion_missed={"min_recall": 1.0},
        missed_message=r"recall >= 1\.00 \(recall 0\.\d+ <",
        other_rule={"min_macro_f1": 0.8}, other_rule_message="found macro_f1 >= 0.80.*min_f1=0.8",
        compare_rows=CLASSES + ("TP", "FP", "FN", "TN")),
}


@pytest.fixture(scope="module", params=list(KINDS))
def case(request: pytest.FixtureRequest) -> Kind:
    """One kind of model with its session model and test rows (module scope: each kind's
    files below are written once)."""
    kind = KINDS[request.param]
    data = request.getfixturevalue(kind.data_fixture)
    x, y = kind.test_rows(data)
    return dataclasses.replace(kind, model=request.getfixturevalue(kind.model_fixture), x=x,
                               y=y, data=data)


def predicted(case: Kind, x: Any = None) -> np.ndarray:
    return case.model.predict(case.x if x is None else x, verbose=0)


@pytest.fixture(scope="module")
def report(case, request):
    """release_check as the model's lesson calls it, with that model's policy (made once per
    session: tests/test_task_<kind>.py reads the same report)."""
    return request.getfixturevalue(case.release_fixture)


class TestRelease:
    def test_the_task_and_the_candidate_are_read_from_the_model(self, case, report):
        assert (report.task, report.metrics.task) == (case.task, case.task)
        assert report.candidate == case.candidate

    def test_the_parity_gates_pass(self, report):
        for gate in report.results[:5]:
            assert gate.ok, (gate.name, gate.detail)

    def test_the_parity_gates_report_the_prediction_difference(self, case, report):
        for gate in report.results[:3] + report.results[4:5]:
            assert "largest prediction difference " in gate.measured, gate.measured
            if case.unchanged is None:  # a regression has no class to change
                assert "changed class" not in gate.measured
            else:
                assert gate.measured.endswith(f", 0 of {case.rows:,} rows changed class")


#: What each helper of a binary classifier's decision says to a model of another task.
REFUSALS: dict[str, dict[str, str]] = {
    "multiclass": {
        "choose_threshold": "this is a 10-class output: the predicted class is the argmax",
        "check_threshold": "10-class output",
        "cost_curve": "costs of missed positives and false alarms apply to a binary classifier",
        "deployment_costs": "the metrics of a 10-class model",
    },
    "regression": {
        "choose_threshold": "these are regression targets .*no class to threshold",
        "check_threshold": "regression targets",
        "cost_curve": "errors are in the target's units",
        "deployment_costs": "found a regression's metrics",
    },
}


def call_binary_only(helper: str, y: np.ndarray, scores: np.ndarray) -> Any:
    """Call one of the helpers of :data:`REFUSALS` on labels and a model's output."""
    from course_lib import costs, inference
    from course_lib.metrics import Metrics

    calls: dict[str, Callable[[], Any]] = {
        "choose_threshold": lambda: inference.choose_threshold(y, scores, min_recall=0.9),
        "check_threshold": lambda: inference.check_threshold(y, scores, 0.5, min_recall=0.9),
        "cost_curve": lambda: costs.cost_curve(y, scores, miss_cost=10, false_alarm_cost=1),
        "deployment_costs": lambda: costs.deployment_costs(
            {"v1": Metrics.from_predictions(y, scores)}, 10, 1),
    }
    return calls[helper]()


class TestBinaryOnlyHelpers:
    """Thresholds and the costs of misses and false alarms are a binary classifier's: a
    multi-class model or a regression is refused, saying why (the session's models, not
    ``case``: two kinds only)."""

    @pytest.mark.parametrize("helper", list(REFUSALS["multiclass"]))
    @pytest.mark.parametrize("kind", list(REFUSALS))
    def test_another_task_is_refused_saying_why(self, kind, helper, request):
        from course_lib.errors import InvalidInputError

        spec = KINDS[kind]
        x, y = spec.test_rows(request.getfixturevalue(spec.data_fixture))
        scores = request.getfixturevalue(spec.model_fixture).predict(x, verbose=0)
        with pytest.raises(InvalidInputError, match=REFUSALS[kind][helper]):
            call_binary_only(helper, y, scores)


@pytest.fixture(scope="module")
def latency(case):
    """Every call style of the model timed at the default batch sizes on its test rows."""
    from course_lib import inference

    return inference.measure_latency(inference.call_styles(case.model), case.x, repeats=3,
                                     warmup=1)


class TestInference:
    def test_latency_of_every_call_style_at_each_batch_size(self, case, latency):
        assert latency.ok and latency.batch_sizes == case.batch_sizes
        assert len(latency.rows) == 2 * len(case.batch_sizes)

    def test_the_verdict_says_when_the_rows_capped_the_batch_sizes(self, case, latency):
        from course_lib.inference.latency import DEFAULT_BATCH_SIZES

        capped = case.rows < max(DEFAULT_BATCH_SIZES)
        assert (f"capped at the {case.rows} rows" in latency.verdict) == capped

    def test_the_savedmodel_signature_gives_the_model_output(self, case, saved):
        from course_lib import inference, persistence

        styles = inference.call_styles(case.model, persistence.load(saved["savedmodel"]))
        batch = case.head(4)
        np.testing.assert_allclose(styles["SavedModel signature"](batch),
                                   case.model(batch, training=False), atol=1e-5)


@pytest.fixture(scope="module")
def published(case, tmp_path_factory):
    """A registry with the model published as a Keras model (version 1), then its SavedModel
    again (version 2), as lesson 04 does."""
    from course_lib.registry import EvalSet, ModelRegistry

    reg = ModelRegistry(tmp_path_factory.mktemp("registry") / "registry")
    test_set = EvalSet(f"{case.name} test", case.x, case.y)
    v1 = reg.publish(case.model, case.name, test_set, notes="keras model")
    reg.publish_saved_model(v1.path, case.name, test_set, notes="its SavedModel")
    return reg


@pytest.fixture
def reg(published, tmp_path):
    """A copy of ``published`` this test may change (promote, roll back)."""
    import shutil

    from course_lib.registry import ModelRegistry

    shutil.copytree(published.root, tmp_path / "registry")
    return ModelRegistry(tmp_path / "registry")


class TestRegistry:
    def test_the_manifest_records_the_task_and_the_metrics_on_the_test_rows(self, case,
                                                                           published):
        from course_lib.metrics import Metrics

        v = published.get(case.name, 1)
        assert (v.task, v.threshold, v.eval_rows) == (case.task, case.threshold, case.rows)
        assert type(v.metrics).__name__ == case.metrics_type
        assert case.same_metrics(v.metrics, Metrics.from_predictions(case.y, predicted(case)))

    def test_the_savedmodel_scores_what_the_keras_model_scored(self, case, published):
        assert case.same_metrics(published.get(case.name, 2).metrics,
                                 published.get(case.name, 1).metrics)

    def test_the_table_shows_both_versions_and_the_tasks_metrics(self, case, published):
        head, rows = published.table(case.name).table()
        assert head[3:7] == case.metric_names and len(rows) == 2

    def test_compare_finds_the_versions_alike_on_the_tasks_rows(self, case, published):
        c = published.compare(case.name, 1, 2)
        assert c.ok and tuple(r[0] for r in c.table()[1][:len(case.compare_rows)]) == \
            case.compare_rows

    def test_promoted_when_it_meets_its_tasks_rule(self, case, reg):
        from course_lib.registry import PromotionPolicy

        result = reg.promote(case.name, 1, PromotionPolicy(**case.promotion_met))
        assert result.applied and reg.aliases(case.name) == {"production": 1}

    def test_refused_by_a_rule_it_does_not_meet(self, case, reg):
        from course_lib.registry import PromotionPolicy, PromotionRefusedError

        with pytest.raises(PromotionRefusedError, match=case.missed_message):
            reg.promote(case.name, 1, PromotionPolicy(**case.promotion_missed))
        assert reg.aliases(case.name) == {}

    def test_a_rule_of_another_task_is_refused(self, case, reg):
        from course_lib.errors import InvalidInputError
        from course_lib.registry import PromotionPolicy

        with pytest.raises(InvalidInputError, match=case.other_rule_message):
            reg.promote(case.name, 1, PromotionPolicy(**case.other_rule))

    def test_promote_again_with_a_drop_rule_then_roll_back(self, case, reg):
        from course_lib.registry import PromotionPolicy

        reg.promote(case.name, 1)
        reg.promote(case.name, 2, PromotionPolicy(max_drop=0.01))
        change = reg.rollback(case.name)
        assert (change.old, change.new) == (2, 1) and reg.aliases(case.name) == {"production": 1}

    def test_every_version_verifies(self, case, published):
        assert [r.ok for r in published.verify_all(case.name)] == [True, True]

    def test_evaluate_loads_the_version_and_measures_it_again(self, case, published):
        from course_lib.registry import EvalSet

        again = published.evaluate(case.name, 2, EvalSet(f"{case.name} test", case.x, case.y))
        assert case.same_metrics(again, published.get(case.name, 2).metrics)


@pytest.fixture(scope="module")
def web(case, tmp_path_factory):
    """The model converted to a float32 TF.js graph model (run in Node by the tests)."""
    from course_lib import tfjs

    return tfjs.convert(case.model, tmp_path_factory.mktemp("tfjs") / case.name)


class TestTfjs:
    def test_convert_records_the_signature(self, case, web):
        assert tuple(str(t) for t in web.inputs) == case.inputs
        assert tuple(str(t) for t in web.outputs) == case.outputs

    def test_the_conversion_says_what_it_takes_and_returns(self, case, web):
        text = str(web)
        assert "takes " in text and "; returns " in text
        assert all(t.replace("(None", "(n") in text for t in case.inputs + case.outputs)

    def test_predict_returns_what_the_model_predicts(self, case, web):
        from course_lib import tfjs

        out = tfjs.predict(web.path, case.x)
        assert out.shape == predicted(case).shape
        np.testing.assert_allclose(out, predicted(case), **case.js_close)

    def test_run_reports_every_row(self, case, web):
        from course_lib import tfjs

        r = tfjs.run(web.path, case.x)
        assert r.ok and r.rows == case.rows and r.predictions.shape == predicted(case).shape

    def test_verify_with_labels_compares_the_tasks_metrics(self, case, web):
        from course_lib import tfjs

        parity = tfjs.verify(web.path, case.model, case.x, case.y)
        assert parity.ok and parity.task == case.task
        assert type(parity.before).__name__ == case.metrics_type
        assert tuple(r.name for r in parity.comparison.rows) == case.metric_names

    def test_verify_without_labels_compares_the_predictions(self, case, web):
        from course_lib import tfjs

        parity = tfjs.verify(web.path, case.model, case.x)
        assert parity.ok and parity.comparison is None
        assert parity.difference.changed == case.unchanged

    def test_check_budget_passes(self, case, web):
        from course_lib import tfjs

        assert tfjs.check_budget(tfjs.verify(web.path, case.model, case.x, case.y)).ok

    def test_compare_quantizations_shows_the_tasks_metrics(self, case, tmp_path):
        from course_lib import tfjs

        report = tfjs.compare_quantizations(case.model, case.x, case.y, tmp_path, ["float16"])
        assert report.ok and tuple(report.table()[0][4:7]) == case.metric_names[:3]
        assert [t.name for t in report.conversions[0].inputs] == case.input_names


@pytest.fixture(scope="module")
def saved(case, tmp_path_factory):
    """The model saved once in each format: {"keras": path, "savedmodel": path, "h5": path}."""
    from course_lib import persistence

    root = tmp_path_factory.mktemp("persistence")
    return {fmt: persistence.save(case.model, root / f"{case.name}{suffix}").path
            for fmt, suffix in (("keras", ".keras"), ("savedmodel", ""), ("h5", ".h5"))}


@pytest.fixture(scope="module")
def service():
    """One serving process (a fresh interpreter) for every model of the module."""
    from course_lib.persistence import ServingProcess

    with ServingProcess() as running:
        yield running


class TestPersistence:
    @pytest.mark.parametrize("fmt", ["keras", "savedmodel", "h5"])
    def test_every_format_predicts_what_the_model_predicts(self, case, saved, fmt):
        from course_lib import persistence

        loaded = persistence.load(saved[fmt], compile=fmt != "h5" or case.h5_compiles)
        np.testing.assert_allclose(loaded.predict(case.x, verbose=0), predicted(case),
                                   **case.close)

    def test_the_loaded_model_describes_its_inputs_and_outputs(self, case, saved):
        from course_lib import persistence

        loaded = persistence.load(saved["savedmodel"])
        assert tuple(str(t) for t in loaded.inputs) == case.inputs
        assert tuple(str(t) for t in loaded.outputs) == case.outputs

    def test_evaluate_gives_the_task_metrics(self, case, saved):
        from course_lib import persistence

        metrics = persistence.load(saved["keras"]).evaluate(case.x, case.y)
        assert type(metrics).__name__ == case.metrics_type and metrics.task == case.task

    def test_roundtrip_with_labels_compares_the_task_metrics(self, case, tmp_path):
        from course_lib import persistence

        rt = persistence.roundtrip(case.model, case.x, case.y, "savedmodel", directory=tmp_path)
        assert rt.ok, str(rt)
        assert rt.task == case.task
        assert tuple(r.name for r in rt.comparison.rows) == case.metric_names

    def test_roundtrip_without_labels_compares_the_predictions(self, case, tmp_path):
        from course_lib import persistence

        rt = persistence.roundtrip(case.model, case.x, format="keras", directory=tmp_path)
        assert rt.ok and rt.comparison is None and rt.difference.n_rows == case.rows
        assert rt.changed == case.unchanged

    def test_compare_formats_shows_the_task_metrics(self, case, tmp_path):
        from course_lib import persistence

        report = persistence.compare_formats(case.model, case.x, case.y, tmp_path,
                                             compile=case.h5_compiles)
        assert report.ok, str(report)
        assert [r.format for r in report.rows] == ["keras", "savedmodel", "h5"]
        assert all(name in report.table()[0] for name in case.metric_names)

    def test_a_serving_process_predicts_what_the_model_predicts(self, case, saved, service):
        np.testing.assert_allclose(service.predict(saved["savedmodel"], case.x),
                                   predicted(case), **case.close)

    def test_predict_in_subprocess_carries_the_inputs_and_outputs(self, case, saved, service,
                                                                  monkeypatch):
        import contextlib

        from course_lib import persistence
        from course_lib.persistence import serving

        # the module's one service stands in for the new interpreter
        monkeypatch.setattr(serving, "ServingProcess",
                            lambda *args, **kwargs: contextlib.nullcontext(service))
        np.testing.assert_allclose(persistence.predict_in_subprocess(saved["keras"], case.x),
                                   predicted(case), **case.close)

    def test_tf_lite_predicts_what_the_savedmodel_predicts(self, case, saved, tmp_path):
        from course_lib import persistence

        result = persistence.to_tflite(saved["savedmodel"], tmp_path / "m.tflite",
                                       case.head(200), task=case.task)
        assert result.ok, str(result)
