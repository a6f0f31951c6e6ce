"""The release check: every gate of lessons 01 to 05 run on one candidate model.

>>> from course_lib.release import ReleasePolicy
>>> print(ReleasePolicy())
parity within 0.01 after saving and in a fresh process; TF.js (float32) within 0.02 and <= 100.0 KB; recall >= 0.80; p95 latency <= 50 ms for one row
>>> report = release_check(model, fraud, "work/release")
>>> report.ok, [g.name for g in report.failures]
(True, [])
>>> report.verdict
'fraud_model: READY: all 7 gates passed'

Gates, in order (each catches the course's own errors and reports them as a
failed gate with the message, so one broken step does not hide the others):

1. ``.keras round trip``: save, load, every metric within ``tolerance`` (lesson 01/02).
2. ``SavedModel round trip``: the same through ``model.export`` (lesson 02).
3. ``fresh process``: the ``.keras`` file loaded and run in a new interpreter,
   importing only ``policy.imports`` (lesson 01).
4. ``registry``: published as a new version with its manifest, and verified (lesson 04).
5. ``TF.js``: converted, run in the real TF.js runtime, within ``tfjs_tolerance``
   and the browser size budget (lesson 05).
6. ``recall floor``: recall on the evaluation rows at least ``min_recall`` (lesson 00).
7. ``latency``: p95 of one-row calls of the SavedModel signature (lesson 03).

The gates run in that order. What one gate makes for later ones is handed on
explicitly: the ``.keras`` file of the first goes to the fresh process, the
SavedModel export of the second to the registry, TF.js and latency gates.

The report renders as a table in a notebook and writes itself as Markdown or
JSON for a pull request (:meth:`ReleaseReport.write`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import _checks, _display, _fs
from course_lib.data import Dataset
from course_lib.errors import CourseLibError, InvalidInputError
from course_lib.metrics import Comparison, Metrics, compare

__all__ = ["GateResult", "ReleasePolicy", "ReleaseReport", "release_check"]

#: Where :func:`course_lib.persistence.roundtrip` saves ``model`` in ``directory``: NAME + suffix.
_SUFFIXES = {"keras": ".keras", "savedmodel": ""}


@dataclass(frozen=True)
class ReleasePolicy:
    """The limits a candidate must meet; defaults are the seeds' rules.

    >>> ReleasePolicy(min_recall=0.9).tfjs_max_size_bytes
    102400

    ``imports`` are the modules a serving process imports before loading the
    model (for registered custom layers, ``["course_lib.layers"]``).
    """

    tolerance: float = 0.01
    tfjs_tolerance: float = 0.02
    tfjs_quantize: str | None = None
    tfjs_max_size_bytes: int = 100 * 1024
    min_recall: float = 0.80
    max_latency_ms: float = 50.0
    imports: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("tolerance", "tfjs_tolerance", "max_latency_ms"):
            _checks.number(name, getattr(self, name), minimum=0, example=getattr(ReleasePolicy, name))
        _checks.number("min_recall", self.min_recall, minimum=0, maximum=1, example=0.8)
        _checks.whole("tfjs_max_size_bytes", self.tfjs_max_size_bytes, minimum=1)

    def __str__(self) -> str:
        return (f"parity within {self.tolerance:g} after saving and in a fresh process; "
                f"TF.js ({self.tfjs_quantize or 'float32'}) within {self.tfjs_tolerance:g} and "
                f"<= {_display.size(self.tfjs_max_size_bytes)}; recall >= {self.min_recall:.2f}; "
                f"p95 latency <= {self.max_latency_ms:g} ms for one row")


@dataclass(frozen=True)
class GateResult:
    """One gate: passed or not, what was measured, the limit, and why.

    >>> GateResult("recall floor", "00", False, "recall 0.120", ">= 0.80").ok
    False
    """

    name: str
    lesson: str
    ok: bool
    measured: str
    limit: str
    detail: str = ""

    def row(self) -> list[str]:
        """The gate as a row of the report's table (why it failed only when it did)."""
        return [self.name, self.lesson, "PASS" if self.ok else "FAIL", self.measured, self.limit,
                "" if self.ok else self.detail]


@dataclass(frozen=True, repr=False)
class ReleaseReport(_display.Report):
    """Every gate's result for one candidate, with the overall verdict.

    >>> gates = (GateResult("recall floor", "00", True, "recall 0.930", ">= 0.80"),)
    >>> print(ReleaseReport("fraud_model", ReleasePolicy(), gates))
    release check of fraud_model
    gate          lesson  result  measured      limit    why it failed
    recall floor      00  PASS    recall 0.930  >= 0.80
    fraud_model: READY: all 1 gates passed
    """

    candidate: str
    policy: ReleasePolicy
    results: tuple[GateResult, ...]
    metrics: Metrics | None = field(default=None, compare=False)

    HEADERS = ("gate", "lesson", "result", "measured", "limit", "why it failed")

    @property
    def title(self) -> str:  # type: ignore[override]
        """The first line of the text and HTML forms."""
        return f"release check of {self.candidate}"

    @property
    def failures(self) -> tuple[GateResult, ...]:
        """The gates that failed (``ok``, the candidate can ship, when there is none)."""
        return tuple(g for g in self.results if not g.ok)

    @property
    def verdict(self) -> str:
        """One line: ready to release, or which gates failed."""
        if self.ok:
            return f"{self.candidate}: READY: all {len(self.results)} gates passed"
        names = ", ".join(g.name for g in self.failures)
        return f"{self.candidate}: NOT READY: {len(self.failures)} of {len(self.results)} gates failed ({names})"

    def table(self) -> tuple[list[str], list[list[str]]]:
        """One row per gate: name, lesson, PASS/FAIL, what was measured, the limit, why it failed."""
        return list(self.HEADERS), [g.row() for g in self.results]

    def to_markdown(self) -> str:
        """The report as a Markdown table, to paste into a pull request.

        >>> print(ReleaseReport("m", ReleasePolicy(), ()).to_markdown().splitlines()[0])
        ## Release check: m
        """
        headers, rows = self.table()
        rows = [[("**FAIL**" if c == "FAIL" and i == 2 else c) for i, c in enumerate(r)] for r in rows]
        return "\n".join([f"## Release check: {self.candidate}", "", f"Policy: {self.policy}", "",
                          _display.markdown_table(headers, rows), "", f"**{self.verdict}**", ""])

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (JSON-ready).

        >>> ReleaseReport("m", ReleasePolicy(), ()).to_dict()["verdict"]
        'm: READY: all 0 gates passed'
        """
        return {"candidate": self.candidate, "ok": self.ok, "verdict": self.verdict,
                "policy": asdict(self.policy), "gates": [asdict(g) for g in self.results],
                "metrics": self.metrics.as_dict() if self.metrics else None}

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the report as Markdown (``.md``) or JSON (``.json``), chosen by the extension.

        >>> report = ReleaseReport("fraud_model", ReleasePolicy(), ())  # no gates: see release_check
        >>> report.write("work/release.md")
        PosixPath('work/release.md')
        >>> print(Path("work/release.md").read_text().splitlines()[0])
        ## Release check: fraud_model
        """
        p = Path(path)
        if p.suffix not in (".md", ".json"):
            raise InvalidInputError(
                f"expected a path ending in .md or .json; found {p.name!r}. Fix: e.g. 'release.md'."
            )
        p.parent.mkdir(parents=True, exist_ok=True)
        _fs.write_atomic(p, self.to_markdown() if p.suffix == ".md"
                         else json.dumps(self.to_dict(), indent=2) + "\n")
        return p


def release_check(model: Any, dataset: Dataset, workdir: str | os.PathLike[str], *,
                  name: str = "fraud", policy: ReleasePolicy | None = None,
                  split: str = "test", service: Any = None) -> ReleaseReport:
    """Run every gate on ``model`` with the rows of ``dataset``'s ``split``; files go under ``workdir``.

    The module's example runs it on the lessons' model. Wrong arguments are refused
    before any gate runs:

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
    if split not in ("train", "val", "test"):
        raise InvalidInputError(f"expected split to be 'train', 'val' or 'test'; found {split!r}.")
    if service is not None and (not isinstance(service, persistence.ServingProcess) or service.used):
        raise InvalidInputError(
            f"expected service to be a new persistence.ServingProcess(); found {service!r}. "
            "Fix: start a fresh one for each check, or leave service out."
        )
    rows = dataset.splits()[split]
    work = Path(workdir)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    if service is None:  # start it now: it imports TensorFlow while the round trips run
        service = persistence.ServingProcess(timeout=600)
    try:
        return _run_gates(_Candidate.of(model, rows.x, rows.y, work, policy), name, split, service)
    finally:
        service.close()


# -- the gates ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Candidate:
    """What every gate reads: the model, the evaluation rows, its scores and metrics, the policy."""

    model: Any
    x: np.ndarray
    y: np.ndarray
    scores: np.ndarray
    reference: Metrics
    work: Path
    policy: ReleasePolicy

    @classmethod
    def of(cls, model: Any, x: np.ndarray, y: np.ndarray, work: Path,
           policy: ReleasePolicy) -> _Candidate:
        """The candidate with its scores and metrics on ``(x, y)``, computed once for every gate."""
        from course_lib import models

        scores = models.predict_scores(model, x)
        return cls(model, x, y, scores, Metrics.from_predictions(y, scores), work, policy)

    @property
    def parity_limit(self) -> str:
        """The limit of the parity gates (1 to 3), as the report shows it."""
        return f"every metric within {self.policy.tolerance:g}"


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
        _recall_gate(c),
        _latency_gate(c, export),
    )
    return ReleaseReport(candidate=c.model.name, policy=c.policy, results=results, metrics=c.reference)


def _gate(name: str, lesson: str, limit: str, run: Callable[[], tuple[bool, str, str]]) -> GateResult:
    """Run one gate's measurement; a course error is a failed gate that says why."""
    try:
        ok, measured, detail = run()
    except CourseLibError as exc:
        return GateResult(name, lesson, False, "could not be measured", limit, f"{type(exc).__name__}: {exc}")
    return GateResult(name, lesson, ok, measured, limit, detail)


def _parity(comparison: Comparison, diff: float) -> tuple[bool, str, str]:
    moved = ", ".join(f"{r.name} {r.delta:+.3f}" for r in comparison.failures)
    return comparison.ok, f"largest prediction difference {diff:.1e}", moved and f"metrics moved: {moved}"


def _roundtrip_gate(c: _Candidate, fmt: str, label: str) -> tuple[GateResult, Path]:
    """Gates 1 and 2; also where the round trip saves the model, even when the gate failed.

    ``work/NAME.keras`` (the fresh process loads it) or the export folder ``work/NAME``.
    """
    from course_lib import persistence

    def run() -> tuple[bool, str, str]:
        rt = persistence.roundtrip(c.model, c.x, c.y, fmt, tolerance=c.policy.tolerance, directory=c.work)
        return _parity(rt.comparison, rt.max_abs_diff)

    return _gate(label, "01, 02", c.parity_limit, run), c.work / f"{c.model.name}{_SUFFIXES[fmt]}"


def _fresh_process_gate(c: _Candidate, service: Any, keras_file: Path) -> GateResult:
    """Gate 3: the ``.keras`` file of gate 1 (saved now if it is not there) run in ``service``."""
    from course_lib import persistence

    def run() -> tuple[bool, str, str]:
        if not keras_file.exists():
            persistence.save(c.model, keras_file)
        for module in c.policy.imports:
            service.import_module(module)
        served = service.predict(keras_file, c.x)
        after = Metrics.from_predictions(c.y, served)
        return _parity(compare(c.reference, after, c.policy.tolerance),
                       float(np.max(np.abs(served.reshape(-1) - c.scores))))

    return _gate("fresh process", "01", c.parity_limit, run)


def _registry_gate(c: _Candidate, export: Path | None, name: str, split: str) -> GateResult:
    """Gate 4: gate 2's export (or the model) published as a version, then verified.

    The registry measures the version's latency itself (the median of one-row calls).
    """
    from course_lib.registry import EvalSet, ModelRegistry

    def run() -> tuple[bool, str, str]:
        reg = ModelRegistry.fresh(c.work / "registry")
        eval_set = EvalSet(f"fraud {split}", c.x, c.y)
        if export is not None:
            info = reg.publish_saved_model(export, name, eval_set, metrics=c.reference)
        else:
            info = reg.publish(c.model, name, eval_set, metrics=c.reference)
        report = reg.verify(name, info.version)
        return report.ok, f"version {info.version}, {report.files_checked} files verified", report.verdict

    return _gate("registry publish and verify", "04", "every file matches its sha256", run)


def _tfjs_gate(c: _Candidate, export: Path | None) -> GateResult:
    """Gate 5: gate 2's export (or the model) converted, run in TF.js, within tolerance and size."""
    from course_lib import tfjs

    policy = c.policy

    def run() -> tuple[bool, str, str]:
        done = tfjs.convert(c.model if export is None else export, c.work / "tfjs",
                            quantize=policy.tfjs_quantize)
        parity = tfjs.verify(done.path, c.scores, c.x, c.y, tolerance=policy.tfjs_tolerance)
        decision = tfjs.check_budget(parity, max_size_bytes=policy.tfjs_max_size_bytes)
        measured = (f"{_display.size(parity.size_bytes)}, largest prediction difference "
                    f"{parity.max_abs_diff:.1e}")
        return decision.ok, measured, "; ".join(decision.reasons)

    return _gate(f"TF.js ({policy.tfjs_quantize or 'float32'})", "05",
                 f"within {policy.tfjs_tolerance:g}, <= {_display.size(policy.tfjs_max_size_bytes)}", run)


def _recall_gate(c: _Candidate) -> GateResult:
    """Gate 6: recall on the evaluation rows against the floor."""
    m, floor = c.reference, c.policy.min_recall
    return GateResult("recall floor", "00", m.recall >= floor, f"recall {m.recall:.3f}", f">= {floor:.2f}",
                      f"catches {m.tp} of {m.positives} positives; train for recall "
                      "(class weights) or lower the threshold")


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
