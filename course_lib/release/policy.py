"""The release policy (each task's rules), one gate's result, and the report of every gate.

>>> print(ReleasePolicy(min_macro_f1=0.9))  # doctest: +NORMALIZE_WHITESPACE
parity within 0.01 after saving and in a fresh process; TF.js (float32) within 0.02 and
<= 100.0 KB; recall >= 0.80; macro F1 >= 0.9 for a multi-class model; p95 latency <= 50 ms
for one row

:func:`course_lib.release.release_check` measures; these classes say what it must meet
and show what it found (text, HTML, Markdown for a pull request, JSON).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from course_lib import _checks, _display, _fs
from course_lib.errors import InvalidInputError
from course_lib.metrics import AnyMetrics

__all__ = ["RULES", "TASK_WORDS", "GateResult", "ReleasePolicy", "ReleaseReport"]

#: Each task's quality rules: (policy field, metric name, shown as, floor or ceiling).
RULES: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "binary": (("min_recall", "recall", "recall", ">="),),
    "multiclass": (("min_macro_f1", "f1", "macro F1", ">="),
                   ("min_accuracy", "accuracy", "accuracy", ">=")),
    "regression": (("max_rmse", "rmse", "RMSE", "<="), ("max_mae", "mae", "MAE", "<=")),
}
TASK_WORDS = {"binary": "a binary classifier", "multiclass": "a multi-class model",
               "regression": "a regression"}


@dataclass(frozen=True)
class ReleasePolicy:
    """The limits a candidate must meet; defaults are the seeds' rules.

    >>> ReleasePolicy(min_recall=0.9).tfjs_max_size_bytes
    102400
    >>> print(ReleasePolicy(max_rmse=60.0).rules("regression"))
    (('RMSE', 'rmse', '<=', 60.0),)

    The quality rule is the model's task's (read from the labels and the output):

    * binary classifier: ``min_recall`` (0.80) at the decision ``threshold`` (0.5; None
      chooses, on the dataset's validation rows, the threshold that meets ``min_recall``
      with the best precision);
    * multi-class model: ``min_macro_f1`` and/or ``min_accuracy``;
    * regression: ``max_rmse`` and/or ``max_mae`` (in the target's units).

    A rule left at None is no rule: the quality gate is then reported as skipped, with
    the reason. A rule set for another task than the model's is refused before any gate
    runs (``min_recall`` and ``threshold`` count as set when they differ from their
    defaults). ``imports`` are the modules a serving process imports before loading the
    model (for registered custom layers, ``["course_lib.layers"]``).
    """

    tolerance: float = 0.01
    tfjs_tolerance: float = 0.02
    tfjs_quantize: str | None = None
    tfjs_max_size_bytes: int = 100 * 1024
    min_recall: float = 0.80
    threshold: float | None = 0.5
    min_macro_f1: float | None = None
    min_accuracy: float | None = None
    max_rmse: float | None = None
    max_mae: float | None = None
    max_latency_ms: float = 50.0
    imports: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("tolerance", "tfjs_tolerance", "max_latency_ms"):
            _checks.number(name, getattr(self, name), minimum=0, example=getattr(ReleasePolicy, name))
        _checks.number("min_recall", self.min_recall, minimum=0, maximum=1, example=0.8)
        _checks.whole("tfjs_max_size_bytes", self.tfjs_max_size_bytes, minimum=1)
        if self.threshold is not None:
            _checks.threshold(self.threshold)
        for name in ("min_macro_f1", "min_accuracy"):
            if getattr(self, name) is not None:
                _checks.number(name, getattr(self, name), minimum=0, maximum=1, example=0.9)
        for name in ("max_rmse", "max_mae"):
            if getattr(self, name) is not None:
                _checks.number(name, getattr(self, name), minimum=0, example=50.0)

    def rules(self, task: str) -> tuple[tuple[str, str, str, float], ...]:
        """The quality rules of ``task`` that are set: (shown as, metric, ``>=`` or ``<=``, limit).

        Refuses a rule set for another task (see the class docstring).
        """
        for other, rules in RULES.items():
            if other == task:
                continue
            for field_name, *_ in rules:
                value = getattr(self, field_name)
                if value is not None and value != getattr(ReleasePolicy, field_name):
                    mine = " or ".join(f"{f}=" for f, *_ in RULES[task])
                    raise InvalidInputError(
                        f"expected the quality rule of the model's task ({TASK_WORDS[task]}: "
                        f"{mine}); found {field_name}={value!r}, a rule for "
                        f"{TASK_WORDS[other]}. Fix: ReleasePolicy({RULES[task][0][0]}=...).")
        if task != "binary" and self.threshold != 0.5:
            raise InvalidInputError(
                f"expected no decision threshold for {TASK_WORDS[task]}; found "
                f"threshold={self.threshold!r}. A threshold applies to a binary classifier's "
                "score; leave it out.")
        return tuple((shown, metric, op, float(getattr(self, f)))
                     for f, metric, shown, op in RULES[task] if getattr(self, f) is not None)

    def __str__(self) -> str:
        at = "" if self.threshold == 0.5 else (
            " at the threshold chosen on validation rows" if self.threshold is None
            else f" at threshold {self.threshold:.2f}")
        others = "".join(f"; {shown} {op} {getattr(self, f):g} for {TASK_WORDS[task]}"
                         for task in ("multiclass", "regression")
                         for f, _, shown, op in RULES[task] if getattr(self, f) is not None)
        return (f"parity within {self.tolerance:g} after saving and in a fresh process; "
                f"TF.js ({self.tfjs_quantize or 'float32'}) within {self.tfjs_tolerance:g} and "
                f"<= {_display.size(self.tfjs_max_size_bytes)}; recall >= {self.min_recall:.2f}"
                f"{at}{others}; p95 latency <= {self.max_latency_ms:g} ms for one row")


@dataclass(frozen=True)
class GateResult:
    """One gate: passed, failed or skipped, what was measured, the limit, and why.

    >>> GateResult("recall floor", "00", False, "recall 0.120", ">= 0.80").ok
    False

    A skipped gate (``skipped=True``, ``ok`` False) could not apply to this candidate:
    ``detail`` says why. It is not a failure, and never shown as a pass.
    """

    name: str
    lesson: str
    ok: bool
    measured: str
    limit: str
    detail: str = ""
    skipped: bool = False

    @property
    def result(self) -> str:
        """``PASS``, ``FAIL`` or ``SKIPPED``."""
        return "SKIPPED" if self.skipped else "PASS" if self.ok else "FAIL"

    def row(self) -> list[str]:
        """The gate as a row of the report's table (why only when it failed or was skipped)."""
        return [self.name, self.lesson, self.result, self.measured, self.limit,
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
    metrics: AnyMetrics | None = field(default=None, compare=False)
    task: str | None = None

    HEADERS = ("gate", "lesson", "result", "measured", "limit", "why it failed")

    @property
    def title(self) -> str:  # type: ignore[override]
        """The first line of the text and HTML forms."""
        return f"release check of {self.candidate}"

    @property
    def failures(self) -> tuple[GateResult, ...]:
        """The gates that failed (``ok``, the candidate can ship, when there is none)."""
        return tuple(g for g in self.results if not g.ok and not g.skipped)

    @property
    def skipped(self) -> tuple[GateResult, ...]:
        """The gates that could not apply to this candidate (each says why)."""
        return tuple(g for g in self.results if g.skipped)

    @property
    def verdict(self) -> str:
        """One line: ready to release, or which gates failed; skipped gates are named too.

        >>> gates = (GateResult("a", "00", True, "m", "l"),
        ...          GateResult("quality rule", "00", False, "not measured", "none", "no rule",
        ...                     skipped=True))
        >>> ReleaseReport("m", ReleasePolicy(), gates).verdict
        'm: READY: 1 of 2 gates passed, 1 skipped (quality rule)'
        """
        n, skipped = len(self.results), self.skipped
        skip = f", {len(skipped)} skipped ({', '.join(g.name for g in skipped)})" if skipped else ""
        if self.ok:
            if not skipped:
                return f"{self.candidate}: READY: all {n} gates passed"
            return f"{self.candidate}: READY: {n - len(skipped)} of {n} gates passed{skip}"
        names = ", ".join(g.name for g in self.failures)
        return (f"{self.candidate}: NOT READY: {len(self.failures)} of {n} gates failed "
                f"({names}){skip}")

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
        return {"candidate": self.candidate, "task": self.task, "ok": self.ok,
                "verdict": self.verdict, "policy": asdict(self.policy),
                "gates": [asdict(g) for g in self.results],
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
