"""release_check: every gate of lessons 01 to 05 run on one candidate model, of any task.

>>> report = release_check(model, (fraud.test.x, fraud.test.y), "work/release", name="fraud")
>>> report.task, report.verdict
('binary', 'fraud: READY: all 7 gates passed')

The gates run in report order; what one gate makes for later ones is handed on
explicitly (the ``.keras`` file of the first to the fresh process, the SavedModel
export of the second to the registry, TF.js and latency gates). A gate that raises
is a failed gate with the message, so one broken step does not hide the others.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import _checks, _display, _inputs
from course_lib.data import Dataset, Split
from course_lib.errors import InvalidInputError
from course_lib.metrics import (
    AnyMetrics,
    Metrics,
    check_task,
    compare,
    detect_task,
    prediction_difference,
)
from course_lib.release.policy import RULES, TASK_WORDS, GateResult, ReleasePolicy, ReleaseReport

__all__ = ["release_check"]

#: Where :func:`course_lib.persistence.roundtrip` saves ``model`` in ``directory``: NAME + suffix.
_SUFFIXES = {"keras": ".keras", "savedmodel": ""}


def release_check(model: Any, data: Any, workdir: str | os.PathLike[str], *,
                  name: str | None = None, policy: ReleasePolicy | None = None,
                  split: str = "test", task: str | None = None,
                  service: Any = None) -> ReleaseReport:
    """Run every gate on ``model`` with the rows of ``data``; files go under ``workdir``.

    ``data`` is an ``(x, y)`` pair, a :class:`~course_lib.data.Split`, or a
    :class:`~course_lib.data.Dataset` (its ``split``, the test rows by default; its
    validation rows when the policy's threshold is chosen). ``x`` is what the model takes:
    rows x features, images, or a dict of inputs; ``y`` its labels or targets (None runs
    the parity gates on predictions only, and skips the gates that need labels).
    ``name`` names the candidate and its registry model (default: the Keras model's name);
    its evaluation set is called ``f"{name} {split}"``. ``task`` is read from the labels
    and the output unless given. The module's example runs it on the lessons' model.
    Wrong arguments are refused before any gate runs:

    >>> release_check(model, fraud, "work/release", split="dev")
    Traceback (most recent call last):
    ...
    course_lib.errors.InvalidInputError: expected split to be 'train', 'val' or 'test'; found 'dev'.

    ``workdir`` is emptied first (it holds this check's saved files, TF.js model and
    registry), so the same call gives the same report every time. ``service`` is a
    new :class:`~course_lib.persistence.ServingProcess` for the fresh-process gate,
    started earlier so that its start-up overlaps with other work (by default the
    check starts one); it must not have served anything yet, and the check closes it.
    """
    from course_lib import persistence

    policy = policy or ReleasePolicy()
    if not isinstance(policy, ReleasePolicy):
        raise InvalidInputError(f"expected policy to be a ReleasePolicy; found {type(policy).__name__}.")
    if split not in ("train", "val", "test"):
        raise InvalidInputError(f"expected split to be 'train', 'val' or 'test'; found {split!r}.")
    if service is not None and (not isinstance(service, persistence.ServingProcess) or service.used):
        raise InvalidInputError(
            f"expected service to be a new persistence.ServingProcess(); found {service!r}. "
            "Fix: start a fresh one for each check, or leave service out."
        )
    x, y, val = _rows(data, split)
    label = _checks.text("name", name, example="fraud") if name is not None else \
        str(getattr(model, "name", "") or "model")
    candidate = _Candidate.of(model, x, y, val, policy, task)
    work = Path(workdir)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    if service is None:  # start it now: it imports TensorFlow while the round trips run
        service = persistence.ServingProcess(timeout=600)
    try:
        return _run_gates(replace(candidate, work=work), label, split, service)
    finally:
        service.close()


def _rows(data: Any, split: str) -> tuple[Any, np.ndarray | None, Split | None]:
    """(x, y, validation split or None) from an (x, y) pair, a Split or a Dataset."""
    if isinstance(data, Dataset):
        return data.splits()[split].x, data.splits()[split].y, data.val
    if isinstance(data, Split):
        return data.x, data.y, None
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
        if y is None:
            return _inputs.read(x), None, None
        rows = Split(x, y)
        return rows.x, rows.y, None
    raise InvalidInputError(
        f"expected data as an (x, y) pair, a data.Split or a data.Dataset; found "
        f"{type(data).__name__}. Fix: release_check(model, (x_test, y_test), workdir).")


# -- the gates ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Candidate:
    """What every gate reads: the model, the rows, its output and metrics, the task, the policy."""

    model: Any
    x: Any
    y: np.ndarray | None
    outputs: np.ndarray
    task: str
    threshold: float
    chosen: str  # how the threshold was chosen, for the report ("" for the policy's)
    reference: AnyMetrics | None
    policy: ReleasePolicy
    work: Path = Path(".")

    @classmethod
    def of(cls, model: Any, x: Any, y: np.ndarray | None, val: Split | None,
           policy: ReleasePolicy, task: str | None) -> _Candidate:
        """The candidate with its output and metrics on ``(x, y)``, computed once for every gate."""
        x = _inputs.check(x, _specs(model))
        outputs = _predict(model, x)
        if task is not None:
            task = check_task(task)
        elif y is not None:
            task = detect_task(y, outputs)
        else:
            flat = outputs.reshape(outputs.shape[0], -1)
            task = "multiclass" if flat.shape[1] > 1 else (
                "binary" if flat.min() >= 0 and flat.max() <= 1 else "regression")
        policy.rules(task)  # refuses another task's rule before any gate runs
        threshold, chosen = policy.threshold, ""
        if task == "binary" and threshold is None:
            threshold, chosen = _choose_threshold(model, val, policy)
        threshold = 0.5 if threshold is None else float(threshold)
        reference = None if y is None else Metrics.from_predictions(y, outputs, threshold, task=task)
        return cls(model, x, y, outputs, task, threshold, chosen, reference, policy)

    @property
    def parity_limit(self) -> str:
        """The limit of the parity gates (1 to 3), as the report shows it."""
        if self.y is None:
            return f"predictions within {self.policy.tolerance:g}"
        return f"every metric within {self.policy.tolerance:g}"

    def parity(self, after: Any, tolerance: float) -> tuple[bool, str, str]:
        """Judge another copy's output: metrics within ``tolerance`` (predictions without labels).

        The prediction difference (largest, rows whose class changed) is always reported.
        """
        diff = prediction_difference(self.outputs, np.asarray(after).reshape(self.outputs.shape),
                                     task=self.task, threshold=self.threshold, tolerance=tolerance)
        measured = f"largest prediction difference {diff.max_abs_diff:.1e}"
        if diff.changed is not None:
            measured += f", {diff.changed:,} of {diff.n_rows:,} rows changed class"
        if self.y is None:
            return diff.max_abs_diff <= tolerance, measured, f"predictions moved by up to {diff.max_abs_diff:.3g}"
        after_metrics = Metrics.from_predictions(self.y, after, self.threshold, task=self.task)
        comparison = compare(self.reference, after_metrics, tolerance)  # type: ignore[arg-type]
        moved = ", ".join(f"{r.name} {r.delta:+.3f}" for r in comparison.failures)
        return comparison.ok, measured, moved and f"metrics moved: {moved}"


def _specs(model: Any) -> Any:
    """The Keras model's inputs (name, shape, dtype) to check ``x`` against, or None."""
    try:
        return list(model.inputs)
    except (AttributeError, ValueError):  # a model that was never built or called
        return None


def _predict(model: Any, x: Any, batch_size: int = 4096) -> np.ndarray:
    """The model's output on every row, in batches of direct calls, as one array."""
    if not callable(model):
        raise InvalidInputError(
            f"expected a Keras model; found {type(model).__name__}. Fix: pass the keras.Model "
            "you trained (or persistence.load(...).raw).")
    parts = []
    for batch in _inputs.batches(x, batch_size):
        out = model(batch, training=False)
        if isinstance(out, (dict, list, tuple)):
            raise InvalidInputError(
                f"expected a model with one output; found {len(out)} outputs. Fix: check the one "
                "you ship: keras.Model(model.inputs, model.outputs[0]).")
        parts.append(np.asarray(out))
    return np.concatenate(parts)


def _choose_threshold(model: Any, val: Split | None, policy: ReleasePolicy) -> tuple[float, str]:
    """The threshold meeting the recall floor on the validation rows (0.5 when none does)."""
    from course_lib.inference import choose_threshold

    if val is None:
        raise InvalidInputError(
            "expected a data.Dataset (its validation rows choose the threshold) with "
            "ReleasePolicy(threshold=None); found rows without a validation split. "
            "Fix: pass the Dataset, or a threshold such as threshold=0.5.")
    scores = _predict(model, _inputs.check(val.x, _specs(model)))
    result = choose_threshold(val.y, scores, min_recall=policy.min_recall)
    if not result.ok:
        return 0.5, f"none meets recall >= {policy.min_recall:.2f} on validation rows; 0.50 used"
    return float(result.threshold), "chosen on validation rows"  # type: ignore[arg-type]


def _run_gates(c: _Candidate, name: str, split: str, service: Any) -> ReleaseReport:
    """The gates of :func:`release_check`, in report order, each given what earlier ones made."""
    keras, keras_file = _roundtrip_gate(c, "keras", ".keras round trip")
    savedmodel, exported = _roundtrip_gate(c, "savedmodel", "SavedModel round trip")
    export = exported if (exported / "saved_model.pb").is_file() else None  # for gates 4, 5 and 7
    results = (
        keras,
        savedmodel,
        _fresh_process_gate(c, service, keras_file),
        _registry_gate(c, export, name, split),
        _tfjs_gate(c, export),
        _quality_gate(c),
        _latency_gate(c, export),
    )
    return ReleaseReport(candidate=name, policy=c.policy, results=results, metrics=c.reference,
                         task=c.task)


def _gate(name: str, lesson: str, limit: str, run: Callable[[], tuple[bool, str, str]]) -> GateResult:
    """Run one gate's measurement; an error is a failed gate that says why (the others still run)."""
    try:
        ok, measured, detail = run()
    except Exception as exc:  # noqa: BLE001 (one broken step must not hide the other gates)
        return GateResult(name, lesson, False, "could not be measured", limit, f"{type(exc).__name__}: {exc}")
    return GateResult(name, lesson, ok, measured, limit, detail)


def _skipped(name: str, lesson: str, limit: str, why: str) -> GateResult:
    return GateResult(name, lesson, False, "not measured", limit, why, skipped=True)


def _roundtrip_gate(c: _Candidate, fmt: str, label: str) -> tuple[GateResult, Path]:
    """Gates 1 and 2: saved, loaded back, its predictions compared; and where it was saved.

    ``work/NAME.keras`` (the fresh process loads it) or the export folder ``work/NAME``.
    """
    from course_lib import persistence

    target = c.work / f"{c.model.name}{_SUFFIXES[fmt]}"

    def run() -> tuple[bool, str, str]:
        persistence.save(c.model, target, fmt, overwrite=True)
        return c.parity(persistence.load(target).predict(c.x), c.policy.tolerance)

    return _gate(label, "01, 02", c.parity_limit, run), target


def _fresh_process_gate(c: _Candidate, service: Any, keras_file: Path) -> GateResult:
    """Gate 3: the ``.keras`` file of gate 1 (saved now if it is not there) run in ``service``."""
    from course_lib import persistence

    def run() -> tuple[bool, str, str]:
        if not keras_file.exists():
            persistence.save(c.model, keras_file)
        for module in c.policy.imports:
            service.import_module(module)
        return c.parity(service.predict(keras_file, c.x), c.policy.tolerance)

    return _gate("fresh process", "01", c.parity_limit, run)


def _registry_gate(c: _Candidate, export: Path | None, name: str, split: str) -> GateResult:
    """Gate 4: gate 2's export (or the model) published as a version, then verified.

    The registry measures the version's latency itself (the median of one-row calls).
    """
    from course_lib.registry import EvalSet, ModelRegistry

    gate, limit = "registry publish and verify", "every file matches its sha256"
    if c.y is None:
        return _skipped(gate, "04", limit, "no labels: a version is published with its metrics "
                        "on labelled rows; pass (x, y)")

    def run() -> tuple[bool, str, str]:
        reg = ModelRegistry.fresh(c.work / "registry")
        eval_set = EvalSet(f"{name} {split}", c.x, c.y)
        kw: dict[str, Any] = {"metrics": c.reference}
        if c.task == "binary":
            kw["threshold"] = c.threshold
        if export is not None:
            info = reg.publish_saved_model(export, name, eval_set, **kw)
        else:
            info = reg.publish(c.model, name, eval_set, **kw)
        report = reg.verify(name, info.version)
        return report.ok, f"version {info.version}, {report.files_checked} files verified", report.verdict

    return _gate(gate, "04", limit, run)


def _tfjs_gate(c: _Candidate, export: Path | None) -> GateResult:
    """Gate 5: gate 2's export (or the model) converted, run in TF.js, within tolerance and size."""
    from course_lib import tfjs

    policy = c.policy
    budget = _display.size(policy.tfjs_max_size_bytes)

    def run() -> tuple[bool, str, str]:
        done = tfjs.convert(c.model if export is None else export, c.work / "tfjs",
                            quantize=policy.tfjs_quantize)
        same, measured, moved = c.parity(tfjs.run(done.path, c.x).predictions, policy.tfjs_tolerance)
        fits = done.size_bytes <= policy.tfjs_max_size_bytes
        why = [f"size {_display.size(done.size_bytes)} exceeds the {budget} budget"] if not fits else []
        return same and fits, f"{_display.size(done.size_bytes)}, {measured}", "; ".join(why + [moved] * (not same))

    return _gate(f"TF.js ({policy.tfjs_quantize or 'float32'})", "05",
                 f"within {policy.tfjs_tolerance:g}, <= {budget}", run)


def _quality_gate(c: _Candidate) -> GateResult:
    """Gate 6: the task's quality rules (recall floor, macro F1 or accuracy floor, RMSE or MAE ceiling)."""
    rules = c.policy.rules(c.task)
    kind = {">=": "floor", "<=": "ceiling"}
    name = (" and ".join(r[0] for r in rules) + " " + kind[rules[0][2]] + ("s" if len(rules) > 1 else "")
            if rules else "quality rule")
    limit = ", ".join(f"{op} {v:.2f}" if op == ">=" else f"{op} {v:g}" for _, _, op, v in rules)
    if not rules:
        fields = ", ".join(f for f, *_ in RULES[c.task])
        return _skipped(name, "00", "none set", f"no quality rule for {TASK_WORDS[c.task]}: set "
                        f"one in the policy, e.g. ReleasePolicy({RULES[c.task][0][0]}=...) "
                        f"(its rules: {fields})")
    if c.reference is None:
        return _skipped(name, "00", limit, "no labels to measure it on: pass (x, y)")
    m = c.reference
    values = [(shown, m.get(metric), op, v) for shown, metric, op, v in rules]
    ok = all(got >= v if op == ">=" else got <= v for _, got, op, v in values)
    measured = ", ".join(f"{shown} {got:.3f}" if op == ">=" else f"{shown} {got:.4g}"
                         for shown, got, op, _ in values)
    if c.task == "binary" and (c.threshold != 0.5 or c.chosen):
        measured += f" at threshold {c.threshold:.2f}" + (f" ({c.chosen})" if c.chosen else "")
    if c.task == "binary":
        why = (f"catches {m.tp} of {m.positives} positives; train for recall "  # type: ignore[union-attr]
               "(class weights) or lower the threshold")
    else:
        why = "below the floor" if rules[0][2] == ">=" else "above the ceiling"
        why = f"{why}: improve the model (more data, training, capacity) before releasing"
    return GateResult(name, "00", ok, measured, limit, why)


def _latency_gate(c: _Candidate, export: Path | None) -> GateResult:
    """Gate 7: p95 of one-row calls of gate 2's SavedModel signature (else of the model)."""
    from course_lib import inference, persistence

    budget = c.policy.max_latency_ms

    def run() -> tuple[bool, str, str]:
        styles = inference.call_styles(c.model, None if export is None else persistence.load(export))
        fn = styles.get("SavedModel signature") or styles["model(x, training=False)"]
        report = inference.measure_latency({"serve": fn}, c.x, batch_sizes=(1,), repeats=50, warmup=5)
        p95_ms = report.row("serve", 1).p95 * 1000
        shown = _display.milliseconds(p95_ms)
        return p95_ms <= budget, f"p95 {shown}", f"p95 {shown} is over the budget"

    return _gate("latency (one row)", "03", f"<= {budget:g} ms at p95", run)
