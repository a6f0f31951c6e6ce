"""Parity of a converted model with its source, measured in TF.js, and the size budget.

>>> from course_lib.metrics import Metrics
>>> from course_lib.tfjs import parity
>>> m = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
>>> print(parity.check_budget(parity.Parity.from_metrics("float16", 70_000, m, m)))
PASS float16: size 68.4 KB fits the 100.0 KB budget; every metric within 0.02 of the source model in TF.js

:func:`verify` runs the converted model in TF.js on the same inputs as the source model
and always compares their outputs (:func:`course_lib.metrics.prediction_difference`:
the largest difference, the rows whose predicted class changed). With labels it also
compares the task's metrics (:func:`course_lib.metrics.compare`, 0.02 = the seed's 2
points); :func:`check_budget` adds the size rule.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import _checks, _display, _inputs, _tf
from course_lib.errors import InvalidInputError
from course_lib.metrics import (
    AnyMetrics,
    Comparison,
    Metrics,
    PredictionDiff,
    compare,
    prediction_difference,
)
from course_lib.metrics.tasks import check_task, detect_task
from course_lib.tfjs import integrity
from course_lib.tfjs.conversion import Conversion, slug
from course_lib.tfjs.runtime import NodeRun, graph_signature, run

__all__ = [
    "MAX_SIZE_BYTES", "SEED_TOLERANCE", "Agreement", "BudgetResult", "Parity", "check_budget",
    "reference_outputs", "verify",
]

#: The seed's rule: after conversion every metric within 1 to 2 points (0.02) of the original.
SEED_TOLERANCE = 0.02
#: Default download budget of the lessons' browser page: 100 KB for model.json and its weights.
MAX_SIZE_BYTES = 100 * 1024
_LABELS = ("source (Python)", "TF.js")
Outputs = dict[str, np.ndarray]


# -- the source model's outputs ---------------------------------------------------------------

def _named(value: Any, names: Sequence[str], what: str) -> Outputs:
    """Outputs given as one array, a list in the model's order or a dict, by output name."""
    if isinstance(value, Mapping):
        out = {str(k): np.asarray(v) for k, v in value.items()}
        if len(out) == 1 and len(names) == 1:
            return {names[0]: next(iter(out.values()))}
        if set(out) != set(names):
            raise InvalidInputError(
                f"expected {what} for the TF.js model's outputs {', '.join(map(repr, names))}; "
                f"found {', '.join(map(repr, out))}. Fix: pass a dict with one array per output "
                "name (or the model itself).")
        return {n: out[n] for n in names}
    if isinstance(value, (list, tuple)) and value and all(np.ndim(v) >= 1 for v in value) \
            and len(names) > 1:
        if len(value) != len(names):
            raise InvalidInputError(
                f"expected {what} for the {len(names)} outputs {', '.join(map(repr, names))}; "
                f"found {len(value)} arrays. Fix: pass one array per output, in order.")
        return {n: np.asarray(v) for n, v in zip(names, value)}
    if len(names) > 1:
        raise InvalidInputError(
            f"expected {what} for each of the TF.js model's outputs {', '.join(map(repr, names))} "
            "(a dict by name); found one array. Fix: pass the model itself, or a dict.")
    try:
        return {names[0]: np.asarray(value, dtype=np.float64)}
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"expected {what} as an array of numbers; could not read it "
                                f"({exc}).") from exc


def _keras_feed(x: _inputs.Inputs) -> Any:
    """Inputs as Keras's predict takes them: text as tf.string tensors (NumPy's is refused)."""
    def one(arr: np.ndarray) -> Any:
        return _tf.tf().constant(arr.astype(object)) if arr.dtype.kind in "US" else arr
    if isinstance(x, dict):
        return {k: one(v) for k, v in x.items()}
    return [one(v) for v in x] if isinstance(x, list) else one(x)


def reference_outputs(reference: Any, x: _inputs.Inputs, names: Sequence[str] = ("output_0",)
                      ) -> tuple[Outputs, float | None]:
    """The source model's outputs on ``x`` by output name, and how long the batch took.

    ``reference`` is a ``keras.Model``, a saved model's path, or its outputs already
    computed (an array, a list in output order or a dict by output name: not timed).

    >>> outs, seconds = reference_outputs(np.array([0.2, 0.9]), np.zeros((2, 3)))
    >>> outs["output_0"].tolist(), seconds
    ([0.2, 0.9], None)
    """
    predict_fn: Callable[[Any], Any]
    arrays = isinstance(reference, (list, tuple)) and bool(reference) and all(
        isinstance(v, np.ndarray) for v in reference)
    if isinstance(reference, (np.ndarray, Mapping)) or arrays:
        return _named(reference, names, "the reference outputs"), None
    if isinstance(reference, (str, os.PathLike)):
        from course_lib import persistence

        predict_fn = persistence.load(reference).predict
    elif isinstance(reference, _tf.keras().Model):
        def predict_fn(rows: Any) -> Any:
            return reference.predict(_keras_feed(rows), batch_size=4096, verbose=0)
    else:
        raise InvalidInputError(
            f"expected the source model (keras.Model or SavedModel path) or its outputs (a "
            f"NumPy array, or a dict of them by output name); found {type(reference).__name__}."
        )
    predict_fn(_inputs.take(x, slice(0, 1)))  # warm-up: the first call traces the function
    start = time.perf_counter()
    out = predict_fn(x)
    return _named(out, names, "the source model's outputs"), time.perf_counter() - start


def _aligned(before: Outputs, after: Mapping[str, np.ndarray]) -> Outputs:
    """The reference outputs in the TF.js outputs' shapes ((n,) and (n, 1) are the same)."""
    out = {}
    for name, a in after.items():
        b = np.asarray(before[name], dtype=np.float64)
        if b.ndim == 0 or b.shape[0] != a.shape[0]:
            found = b.shape[0] if b.ndim else 0
            raise InvalidInputError(
                f"expected one reference output per row of x: {a.shape[0]} rows but {found} "
                f"values{'' if len(after) == 1 else f' for {name}'}. Fix: compute them on the "
                "same rows.")
        if b.shape != a.shape:
            if b.size != a.size:
                raise InvalidInputError(
                    f"expected the reference output {name} of shape {a.shape} (what TF.js "
                    f"returns); found {b.shape}. Fix: compare the same model's outputs.")
            b = b.reshape(a.shape)
        out[name] = b
    return out


# -- agreement of the outputs (no labels needed) ----------------------------------------------

@dataclass(frozen=True)
class Agreement:
    """One rule on two models' outputs: rows that changed class, or the largest difference.

    For a classifier output, the share of rows whose predicted class changed must stay
    within the tolerance (0.02: no metric can then move by more than about 2 points); for
    a regression output, the largest difference within the tolerance times the spread
    (standard deviation) of the source's predictions.

    >>> a = Agreement("output_0", "rows that changed class", 0.005, 0.02, "2 of 400 rows")
    >>> a.ok, str(a)
    (True, 'rows that changed class 0.5% (2 of 400 rows), allowed 2.0%')
    """

    output: str
    measure: str
    value: float
    allowed: float
    detail: str

    @property
    def ok(self) -> bool:
        """Within what is allowed (rounding noise aside)."""
        return self.value <= self.allowed + 1e-12

    @property
    def shares(self) -> bool:
        """True when value and allowed are shares of rows."""
        return self.measure == "rows that changed class"

    def shown(self, value: float) -> str:
        """A value of this rule: a percentage of rows, or a difference in the output's units."""
        return _display.percent(value) if self.shares else f"{value:.3g}"

    def __str__(self) -> str:
        return (f"{self.measure} {self.shown(self.value)} ({self.detail}), allowed "
                f"{self.shown(self.allowed)}")


def _kind(out: np.ndarray, task: str | None) -> str:
    """The task of one output: given, or read from it as prediction_difference does."""
    if task is not None:
        return task
    flat = out.reshape(out.shape[0], -1)
    if flat.shape[1] > 1:
        return "multiclass"
    return "binary" if flat.size and flat.min() >= 0 and flat.max() <= 1 else "regression"


def _agreements(before: Outputs, after: Outputs, tasks: Mapping[str, str], tolerance: float,
                threshold: float) -> tuple[Agreement, ...]:
    rows = []
    for name, b in before.items():
        d = prediction_difference(b, after[name], task=tasks[name], threshold=threshold)
        if d.changed is not None:
            rows.append(Agreement(name, "rows that changed class", d.changed_share or 0.0,
                                  tolerance, f"{d.changed:,} of {d.n_rows:,} rows"))
        else:
            spread = float(np.std(b)) or float(np.max(np.abs(b))) or 1.0
            rows.append(Agreement(name, "largest difference", d.max_abs_diff, tolerance * spread,
                                  f"the predictions' spread {spread:.3g} x {tolerance:g}"))
    return tuple(rows)


# -- the result -------------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class Parity(_display.Report):
    """The converted model in TF.js against the source model: outputs, and metrics with labels.

    ``difference`` is the outputs' difference (no labels needed); ``agreement`` its rules
    (rows that changed class within ``tolerance``, or a regression's largest difference
    within ``tolerance`` times the predictions' spread). With labels, ``before`` and
    ``after`` are the task's metrics (binary, multi-class or regression) and ``comparison``
    holds every metric within ``tolerance`` (0.02, i.e. 2 points). ``ok`` when every rule
    holds.

    >>> m = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
    >>> Parity.from_metrics("float16", 70_000, m, m).verdict
    'OK: every metric within 0.02 of source (Python)'
    """

    label: str
    path: Path
    size_bytes: int
    weight_bytes: int
    before: AnyMetrics | None
    after: AnyMetrics | None
    comparison: Comparison | None
    difference: PredictionDiff
    agreement: tuple[Agreement, ...]
    node: NodeRun | None
    reference_seconds: float | None = None
    tolerance: float = SEED_TOLERANCE

    @classmethod
    def from_metrics(cls, label: str, size_bytes: int, before: AnyMetrics, after: AnyMetrics, *,
                     tolerance: float = SEED_TOLERANCE, max_abs_diff: float = 0.0) -> Parity:
        """A result from known figures (no model): for exercises, what-ifs and tests.

        >>> m = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
        >>> Parity.from_metrics("float16", 70_000, m, m).ok
        True
        """
        diff = PredictionDiff(n_rows=before.total, max_abs_diff=float(max_abs_diff), changed=None,
                              tolerance=tolerance, task=before.task, labels=_LABELS)
        return cls(label=label, path=Path(slug(label)), size_bytes=int(size_bytes),
                   weight_bytes=int(size_bytes), before=before, after=after,
                   comparison=compare(before, after, tolerance, labels=_LABELS),
                   difference=diff, agreement=(), node=None, tolerance=tolerance)

    @property
    def task(self) -> str | None:
        """The task measured with labels (binary, multiclass, regression), else None."""
        return None if self.before is None else self.before.task

    @property
    def max_abs_diff(self) -> float:
        """The largest absolute difference between any TF.js output value and the source's."""
        return self.difference.max_abs_diff

    @property
    def failures(self) -> tuple[Any, ...]:
        """The metrics that moved too far, then the output rules not met."""
        moved = () if self.comparison is None else tuple(self.comparison.failures)
        return moved + tuple(a for a in self.agreement if not a.ok)

    def failure_text(self) -> str:
        """Each rule not met, in one line ("" when ok)."""
        def one(f: Any) -> str:
            if isinstance(f, Agreement):
                return (f"{f.output}: " if len(self.agreement) > 1 else "") + str(f)
            return f"{f.name} {f.delta:+.3f} (allowed ±{f.tolerance:g})"
        return ", ".join(one(f) for f in self.failures)

    @property
    def files_note(self) -> str:
        """"" when the model's files were checked against their record; else why not."""
        files = None if self.node is None else self.node.files
        return "" if files is None else files.note

    @property
    def backend_note(self) -> str:
        """"" when TF.js ran on the back end asked for; else why wasm was not used."""
        if self.node is None or not self.node.backend_note:
            return ""
        return f"TF.js ran on the cpu back end, not wasm: {self.node.backend_note}"

    @property
    def verdict(self) -> str:
        note = "".join(f"; {n}" for n in (self.files_note, self.backend_note) if n)
        if not self.ok:
            return f"NOT OK: {self.failure_text()}{note}"
        rules = ", ".join(str(a) for a in self.agreement)
        if self.comparison is not None:
            return self.comparison.verdict + (f"; {rules}" if rules else "") + note
        return (f"OK: TF.js predicts what {_LABELS[0]} predicted on {self.difference.n_rows:,} "
                f"rows ({rules}){note}")

    @property
    def title(self) -> str:  # type: ignore[override]
        changed = self.difference.changed
        moved = "" if changed is None else f"; {_display.plural(changed, 'row')} changed class"
        return (f"{self.label}: {_display.size(self.size_bytes)} (weights "
                f"{_display.size(self.weight_bytes)}), largest prediction difference "
                f"{self.max_abs_diff:.2g}{moved}")

    def table(self) -> tuple[Sequence[str], Sequence[Sequence[object]]]:
        """The task's metrics before and after (with labels), else each output rule."""
        if self.comparison is not None:
            return self.comparison.table()
        return (["output", "measure", "TF.js vs source", "allowed", "within"],
                [[a.output, a.measure, f"{a.shown(a.value)} ({a.detail})" if a.shares
                  else a.shown(a.value), a.shown(a.allowed), "yes" if a.ok else "NO"]
                 for a in self.agreement])


def _measured_output(names: Sequence[str], output: str | None, labelled: bool) -> str | None:
    if output is not None:
        if output not in names:
            raise InvalidInputError(
                f"expected output to be one of the model's outputs {', '.join(map(repr, names))}; "
                f"found {output!r}.")
        return output
    if labelled and len(names) > 1:
        raise InvalidInputError(
            f"expected one output to measure with the labels; the model has "
            f"{', '.join(map(repr, names))}. Fix: pass output='{names[0]}' (the one y labels), "
            "or y=None to compare every output without labels.")
    return names[0] if labelled else None


def _check_threshold(threshold: float | None, task: str) -> float:
    if threshold is None:
        return 0.5
    if task != "binary":
        instead = ("the class is the highest probability (argmax)" if task == "multiclass"
                   else "a regression predicts values, not classes")
        raise InvalidInputError(
            f"expected threshold only for a binary classifier; this model's task is {task}: "
            f"{instead}. Fix: drop threshold= (or pass task='binary' if it is one).")
    return _checks.threshold(threshold)


def _judge(before: Outputs, after: Outputs, y: object, *, task: str | None, tolerance: float,
           threshold: float | None, output: str | None,
           class_names: Sequence[str] | None) -> dict[str, Any]:
    """Metrics with labels, and the output rules: the judged fields of a :class:`Parity`."""
    tol = _checks.number("tolerance", tolerance, minimum=0, example=SEED_TOLERANCE)
    if task is not None:
        check_task(task)
    names = list(after)
    measured = _measured_output(names, output, y is not None)
    tasks = {n: _kind(before[n], task if measured in (None, n) else None) for n in names}
    metrics: dict[str, Any] = {"before": None, "after": None, "comparison": None}
    if measured is not None:
        resolved = task or detect_task(y, before[measured])
        tasks[measured] = resolved
        t = _check_threshold(threshold, resolved)
        first, second = (Metrics.from_predictions(y, out[measured], t, task=resolved,
                                                  class_names=class_names)
                         for out in (before, after))
        metrics = {"before": first, "after": second,
                   "comparison": compare(first, second, tol, labels=_LABELS)}
    elif threshold is not None and "binary" not in tasks.values():
        _check_threshold(threshold, next(iter(tasks.values())))
    t = 0.5 if threshold is None else _checks.threshold(threshold)
    single = len(names) == 1
    diff = prediction_difference(before[names[0]] if single else before,
                                 after[names[0]] if single else after,
                                 task=tasks[names[0]] if single else
                                 (task if measured is None else None), threshold=t,
                                 labels=_LABELS)
    return {**metrics, "difference": diff, "tolerance": tol,
            "agreement": _agreements(before, after, tasks, tol, t)}


def verify(model_dir: str | os.PathLike[str], reference: Any, x: object, y: object = None, *,
           task: str | None = None, tolerance: float = SEED_TOLERANCE,
           threshold: float | None = None, output: str | None = None,
           class_names: Sequence[str] | None = None, label: str | None = None,
           backend: str = "auto") -> Parity:
    """The TF.js model (run in Node) against the source model on the same inputs.

    ``reference`` is the source: a ``keras.Model``, a SavedModel path, or its outputs
    already computed. ``x`` is what the model takes (any rank; a dict by input name for
    several inputs). The outputs are always compared (rows whose class changed, the
    largest difference); with labels ``y`` the task's metrics too (``task=`` decides it
    when the labels cannot; ``output=`` names the output ``y`` labels when there are
    several; ``threshold`` is a binary classifier's). The model's files are checked first
    (:func:`~course_lib.tfjs.integrity.check_files`), before the source model runs: a file
    outside the folder or unlike its record raises
    :class:`~course_lib.errors.TamperedModelError`; a folder without a record is measured,
    and the verdict says its files were not checked. ``backend``: the TF.js back end in Node
    (``"auto"``: wasm when it loads, else cpu; ``"wasm"``; ``"cpu"``; see
    :func:`~course_lib.tfjs.run`), named in ``node``.

    >>> p = verify("web/fraud_f16", model, fraud.test.x, fraud.test.y)
    >>> p.ok, p.max_abs_diff < 1e-3
    (True, True)
    >>> verify("web/fraud_f16", model, fraud.test.x).verdict
    'OK: TF.js predicts what source (Python) predicted on 4,001 rows (rows that changed class 0.0% (0 of 4,001 rows), allowed 2.0%)'
    """
    path = Path(model_dir)
    integrity.check_files(path)
    sig = graph_signature(path)
    data = _inputs.check(x, sig.inputs)
    before, seconds = reference_outputs(reference, data, sig.output_names)
    node = run(path, data, backend=backend)
    before = _aligned(before, node.outputs)
    after = {k: np.asarray(v, dtype=np.float64) for k, v in node.outputs.items()}
    judged = _judge(before, after, y, task=task, tolerance=tolerance, threshold=threshold,
                    output=output, class_names=class_names)
    written = Conversion.read(path)
    return Parity(label=label or written.stored_as, path=path, size_bytes=written.size_bytes,
                  weight_bytes=written.weight_bytes, node=node, reference_seconds=seconds,
                  **judged)


# -- the size budget --------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class BudgetResult(_display.Report):
    """Pass/fail of one converted model against the parity rule and a size budget.

    ``metrics_ok``: the converted model keeps the source's metrics (with labels) and its
    predictions (see :class:`Parity`).

    >>> m = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
    >>> r = check_budget(Parity.from_metrics("float32", 150_000, m, m))
    >>> r.ok, r.fits, r.metrics_ok
    (False, False, True)
    """

    label: str
    size_bytes: int
    max_size_bytes: int
    fits: bool
    metrics_ok: bool
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Fits the budget and keeps parity."""
        return self.fits and self.metrics_ok

    @property
    def failures(self) -> tuple[str, ...]:
        """The reasons of the rules not met."""
        return tuple(r for r, ok in zip(self.reasons, (self.fits, self.metrics_ok)) if not ok)

    @property
    def verdict(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'} {self.label}: " + "; ".join(self.reasons)


def check_budget(result: Parity, max_size_bytes: int = MAX_SIZE_BYTES) -> BudgetResult:
    """Decide whether a converted model ships: within the size budget and the parity rule.

    A pure function of measured results (a :class:`Parity`, of any task, with or without
    labels).

    >>> m = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
    >>> r = check_budget(Parity.from_metrics("float16", 70_000, m, m), max_size_bytes=100 * 1024)
    >>> r.ok, r.reasons[0]
    (True, 'size 68.4 KB fits the 100.0 KB budget')
    """
    limit = _checks.whole("max_size_bytes", max_size_bytes, minimum=1)
    if not isinstance(result, Parity):
        raise InvalidInputError(
            f"expected a Parity result (from tfjs.verify); found {type(result).__name__}."
        )
    fits = result.size_bytes <= limit
    size = (f"size {_display.size(result.size_bytes)} {'fits' if fits else 'exceeds'} the "
            f"{_display.size(limit)} budget")
    tol = f"{result.tolerance:g}"
    if result.ok:
        metric = (f"every metric within {tol} of the source model in TF.js"
                  if result.comparison is not None else
                  f"predictions within {tol} of the source model's in TF.js")
    elif result.comparison is not None and result.comparison.failures:
        moved = ", ".join(f"{r.name} {r.delta:+.3f}" for r in result.comparison.failures)
        rest = [str(a) for a in result.agreement if not a.ok]
        metric = f"metrics moved more than {tol}: {moved}" + "".join(f"; {r}" for r in rest)
    else:
        metric = f"predictions moved: {result.failure_text()}"
    return BudgetResult(label=result.label, size_bytes=result.size_bytes, max_size_bytes=limit,
                        fits=fits, metrics_ok=result.ok, reasons=(size, metric))
