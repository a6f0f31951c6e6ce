"""The release check: every gate of lessons 01 to 05 run on one candidate model.

>>> from course_lib.release import ReleasePolicy
>>> print(ReleasePolicy())
parity within 0.01 after saving and in a fresh process; TF.js (float32) within 0.02 and <= 100 KB; recall >= 0.80; p95 latency <= 50 ms for one row
>>> report = release_check(model, fraud, "work/release")     # doctest: +SKIP
>>> report.ok, [g.name for g in report.failures]             # doctest: +SKIP
(True, [])

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

The report renders as a table in a notebook and writes itself as Markdown or
JSON for a pull request (:meth:`ReleaseReport.write`).
"""

from __future__ import annotations

import functools
import html
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from course_lib.data import Dataset
from course_lib.errors import CourseLibError, InvalidInputError
from course_lib.metrics import Metrics, compare

__all__ = ["GateResult", "ReleasePolicy", "ReleaseReport", "release_check"]


@dataclass(frozen=True)
class ReleasePolicy:
    """The limits a candidate must meet; defaults are the seeds' rules.

    ``imports`` are the modules a serving process imports before loading the
    model (for registered custom layers, ``["course_lib.layers"]``).
    """

    tolerance: float = 0.01
    tfjs_tolerance: float = 0.02
    tfjs_quantize: str | None = None
    tfjs_budget_kb: float = 100.0
    min_recall: float = 0.80
    max_latency_ms: float = 50.0
    imports: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("tolerance", "tfjs_tolerance", "tfjs_budget_kb", "min_recall", "max_latency_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise InvalidInputError(f"expected {name} to be a number of 0 or more; found {value!r}.")
        if self.min_recall > 1:
            raise InvalidInputError(f"expected min_recall between 0 and 1; found {self.min_recall}.")

    def __str__(self) -> str:
        return (f"parity within {self.tolerance:g} after saving and in a fresh process; "
                f"TF.js ({self.tfjs_quantize or 'float32'}) within {self.tfjs_tolerance:g} and "
                f"<= {self.tfjs_budget_kb:g} KB; recall >= {self.min_recall:.2f}; "
                f"p95 latency <= {self.max_latency_ms:g} ms for one row")


@dataclass(frozen=True)
class GateResult:
    """One gate: passed or not, what was measured, the limit, and why."""

    name: str
    lesson: str
    ok: bool
    measured: str
    limit: str
    detail: str = ""


@dataclass(frozen=True)
class ReleaseReport:
    """Every gate's result for one candidate, with the overall verdict."""

    candidate: str
    policy: ReleasePolicy
    results: tuple[GateResult, ...]
    metrics: Metrics | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        """True when every gate passed: the candidate can ship."""
        return all(g.ok for g in self.results)

    @property
    def failures(self) -> tuple[GateResult, ...]:
        """The gates that failed."""
        return tuple(g for g in self.results if not g.ok)

    @property
    def verdict(self) -> str:
        """One line: ready to release, or which gates failed."""
        if self.ok:
            return f"{self.candidate}: READY: all {len(self.results)} gates passed"
        names = ", ".join(g.name for g in self.failures)
        return f"{self.candidate}: NOT READY: {len(self.failures)} of {len(self.results)} gates failed ({names})"

    def __str__(self) -> str:
        width = max(len(g.name) for g in self.results)
        lines = [f"release check of {self.candidate}"]
        for g in self.results:
            lines.append(f"  {'PASS' if g.ok else 'FAIL'}  {g.name:<{width}}  {g.measured} (limit: {g.limit})")
            if g.detail and not g.ok:
                lines.append(f"        {g.detail}")
        lines.append(self.verdict)
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td style='color:{'#1a7f37' if g.ok else '#b42318'};font-weight:bold'>"
            f"{'PASS' if g.ok else 'FAIL'}</td><td>{html.escape(g.name)}</td><td>{g.lesson}</td>"
            f"<td>{html.escape(g.measured)}</td><td>{html.escape(g.limit)}</td>"
            f"<td>{html.escape(g.detail if not g.ok else '')}</td></tr>" for g in self.results)
        color = "#1a7f37" if self.ok else "#b42318"
        return (f"<p><b>release check of {html.escape(self.candidate)}</b></p><table><tr><th></th><th>gate</th>"
                f"<th>lesson</th><th>measured</th><th>limit</th><th>why it failed</th></tr>{rows}</table>"
                f"<p style='color:{color};font-weight:bold'>{html.escape(self.verdict)}</p>")

    def to_markdown(self) -> str:
        """The report as a Markdown table, to paste into a pull request."""
        lines = [f"## Release check: {self.candidate}", "", f"Policy: {self.policy}", "",
                 "| gate | lesson | result | measured | limit | why it failed |",
                 "| --- | --- | --- | --- | --- | --- |"]
        for g in self.results:
            cells = [g.name, g.lesson, "PASS" if g.ok else "**FAIL**", g.measured, g.limit,
                     "" if g.ok else g.detail]
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
        return "\n".join([*lines, "", f"**{self.verdict}**", ""])

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (JSON-ready)."""
        return {"candidate": self.candidate, "ok": self.ok, "verdict": self.verdict,
                "policy": asdict(self.policy), "gates": [asdict(g) for g in self.results],
                "metrics": self.metrics.as_dict() if self.metrics else None}

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the report as Markdown (``.md``) or JSON (``.json``), chosen by the extension.

        >>> report.write("work/release.md")           # doctest: +SKIP
        PosixPath('work/release.md')
        """
        p = Path(path)
        if p.suffix not in (".md", ".json"):
            raise InvalidInputError(
                f"expected a path ending in .md or .json; found {p.name!r}. Fix: e.g. 'release.md'."
            )
        p.parent.mkdir(parents=True, exist_ok=True)
        text = self.to_markdown() if p.suffix == ".md" else json.dumps(self.to_dict(), indent=2) + "\n"
        tmp = p.with_name(f".{p.name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, p)
        return p


def _gate(name: str, lesson: str, limit: str, run: Callable[[], tuple[bool, str, str]]) -> GateResult:
    try:
        ok, measured, detail = run()
    except CourseLibError as exc:
        return GateResult(name, lesson, False, "could not be measured", limit, f"{type(exc).__name__}: {exc}")
    return GateResult(name, lesson, ok, measured, limit, detail)


def _parity_text(comparison: Any, diff: float) -> tuple[bool, str, str]:
    moved = ", ".join(f"{r.name} {r.delta:+.3f}" for r in comparison.failures)
    return comparison.ok, f"largest prediction difference {diff:.1e}", moved and f"metrics moved: {moved}"


def release_check(model: Any, dataset: Dataset, workdir: str | os.PathLike[str], *,
                  name: str = "fraud", policy: ReleasePolicy | None = None,
                  split: str = "test", service: Any = None) -> ReleaseReport:
    """Run every gate on ``model`` with the rows of ``dataset``'s ``split``; files go under ``workdir``.

    ``workdir`` is emptied first (it holds this check's saved files, TF.js model and
    registry), so the same call gives the same report every time. ``service`` is a
    new :class:`~course_lib.persistence.ServingProcess` for the fresh-process gate,
    started earlier so that its start-up overlaps with other work (by default the
    check starts one); it must not have served anything yet, and the check closes it.

    >>> release_check(model, data.load_fraud(), "work/release").verdict   # doctest: +SKIP
    'fraud_model: READY: all 7 gates passed'
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
    x, y = rows.x, rows.y
    work = Path(workdir)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    if service is None:  # start it now: it imports TensorFlow while the other gates run
        service = persistence.ServingProcess(timeout=600)
    try:
        return _run_gates(model, x, y, work, name, split, policy, service)
    finally:
        service.close()


def _run_gates(model: Any, x: np.ndarray, y: np.ndarray, work: Path, name: str, split: str,
               policy: ReleasePolicy, service: Any) -> ReleaseReport:
    """The gates of :func:`release_check`, in order, with a running fresh-process ``service``."""
    from course_lib import inference, models, persistence, tfjs
    from course_lib.registry import EvalSet, ModelRegistry

    tol = f"every metric within {policy.tolerance:g}"
    scores = models.predict_scores(model, x)
    reference = Metrics.from_predictions(y, scores)
    results: list[GateResult] = []

    for fmt, label in (("keras", ".keras round trip"), ("savedmodel", "SavedModel round trip")):
        def trip(fmt: str = fmt) -> tuple[bool, str, str]:
            rt = persistence.roundtrip(model, x, y, fmt, tolerance=policy.tolerance, directory=work)
            return _parity_text(rt.comparison, rt.max_abs_diff)
        results.append(_gate(label, "01, 02", tol, trip))

    def fresh() -> tuple[bool, str, str]:
        path = work / f"{model.name}.keras"
        if not path.exists():
            persistence.save(model, path)
        for module in policy.imports:
            service.import_module(module)
        served = service.predict(path, x)
        after = Metrics.from_predictions(y, served)
        return _parity_text(compare(reference, after, policy.tolerance),
                            float(np.max(np.abs(served.reshape(-1) - scores))))
    # Run last (it waits for the fresh interpreter, which starts up while the others run),
    # reported third.
    fresh_gate = functools.partial(_gate, "fresh process", "01", tol, fresh)

    exported = work / model.name  # the SavedModel round trip's export, reused below
    source = exported if (exported / "saved_model.pb").is_file() else model
    measured: dict[str, float] = {}

    def latency() -> tuple[bool, str, str]:
        saved = persistence.load(exported) if source is exported else None
        styles = inference.call_styles(model, saved)
        fn = styles.get("SavedModel signature") or styles["model(x, training=False)"]
        report = inference.measure_latency({"serve": fn}, x, batch_sizes=(1,), repeats=50, warmup=5)
        p95 = measured["latency_ms"] = report.row("serve", 1).p95 * 1000
        return p95 <= policy.max_latency_ms, f"p95 {p95:.2f} ms", f"p95 {p95:.2f} ms is over the budget"
    latency_gate = _gate("latency (one row)", "03", f"<= {policy.max_latency_ms:g} ms at p95", latency)

    def registry() -> tuple[bool, str, str]:
        reg = ModelRegistry.fresh(work / "registry")
        eval_set = EvalSet(f"fraud {split}", x, y)
        if source is exported:
            info = reg.publish_saved_model(exported, name, eval_set, metrics=reference,
                                           latency_ms=measured.get("latency_ms"))
        else:
            info = reg.publish(model, name, eval_set, metrics=reference)
        report = reg.verify(name, info.version)
        return report.ok, f"version {info.version}, {report.files_checked} files verified", report.verdict
    results.append(_gate("registry publish and verify", "04", "every file matches its sha256", registry))

    def browser() -> tuple[bool, str, str]:
        done = tfjs.convert(source, work / "tfjs", quantize=policy.tfjs_quantize)
        parity = tfjs.verify(done.path, scores, x, y, tolerance=policy.tfjs_tolerance)
        decision = tfjs.gate(parity, budget_bytes=int(policy.tfjs_budget_kb * 1024))
        size = f"{parity.size_bytes / 1024:.1f} KB, largest prediction difference {parity.max_abs_diff:.1e}"
        return decision.ok, size, "; ".join(decision.reasons)
    results.append(_gate(f"TF.js ({policy.tfjs_quantize or 'float32'})", "05",
                         f"within {policy.tfjs_tolerance:g}, <= {policy.tfjs_budget_kb:g} KB", browser))

    results.append(GateResult(
        "recall floor", "00", reference.recall >= policy.min_recall, f"recall {reference.recall:.3f}",
        f">= {policy.min_recall:.2f}",
        f"catches {reference.tp} of {reference.positives} positives; train for recall "
        "(class weights) or lower the threshold"))
    results.append(latency_gate)
    results.insert(2, fresh_gate())
    return ReleaseReport(candidate=model.name, policy=policy, results=tuple(results), metrics=reference)

