"""The same model converted with several weight types, each measured in TF.js.

>>> from course_lib.tfjs import quantization
>>> quantization.Quantization("uint8", weights=("*/dense_*",), label="uint8, dense only").name
'uint8, dense only'

:func:`compare_quantizations` converts a model once per setting (float32, float16,
uint8, or a :class:`Quantization` limited to some weights), verifies each in TF.js
against the source model's outputs (computed once), for any task and with or without
labels, and returns a :class:`QuantizationReport`: one row per setting, the size
budget, the timings and a figure of size against metrics (:meth:`QuantizationReport.plot`).
Beside each size on disk it gives :func:`download_bytes`: what a browser downloads when
the web server compresses the files with gzip (model.json and the shards, each on its own).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_lib import _checks, _display, _inputs
from course_lib.errors import InvalidInputError
from course_lib.tfjs.conversion import (
    QUANTIZATIONS,
    Conversion,
    check_quantize,
    convert,
    exported,
    slug,
)
from course_lib.tfjs.integrity import RECORD
from course_lib.tfjs.parity import (
    MAX_SIZE_BYTES,
    SEED_TOLERANCE,
    BudgetResult,
    Parity,
    check_budget,
    reference_outputs,
    verify,
)
from course_lib.tfjs.runtime import INTERACTION_BUDGET_SECONDS, graph_signature

__all__ = ["Quantization", "QuantizationReport", "compare_quantizations", "download_bytes"]


def download_bytes(conversion: Conversion) -> int:
    """The bytes a browser downloads for a converted model when each file is sent gzipped.

    model.json and every weight shard, each compressed on its own (as a web server with
    gzip does, level 6); the file record is not counted (TF.js does not read it).

    >>> done = convert(model, "web/fraud")
    >>> download_bytes(done) < done.size_bytes
    True
    """
    return sum(len(gzip.compress((conversion.path / f.path).read_bytes(), compresslevel=6,
                                 mtime=0))
               for f in conversion.files if Path(f.path).name != RECORD)


@dataclass(frozen=True)
class Quantization:
    """A weight storage setting for :func:`compare_quantizations`.

    >>> Quantization("uint8", weights=("*/dense_*",), label="uint8, dense only").name
    'uint8, dense only'
    >>> Quantization(None).name
    'float32'
    """

    dtype: str | None
    weights: tuple[str, ...] = ("*",)
    label: str = ""

    @property
    def name(self) -> str:
        """The label, or the weight type."""
        return self.label or self.dtype or "float32"




@dataclass(frozen=True, repr=False)
class QuantizationReport(_display.Report):
    """The same model converted with several weight types, each measured in TF.js.

    ``ok`` when at least one setting passes both rules (:func:`check_budget`).

    >>> from course_lib.metrics import Metrics
    >>> m = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
    >>> one = Parity.from_metrics("float16", 70_000, m, m)
    >>> r = QuantizationReport((one,), (), max_size_bytes=100 * 1024, reference_seconds=None)
    >>> r.ok, r.verdict
    (True, 'PASS: float16 keeps every metric and fits 100.0 KB')
    """

    results: tuple[Parity, ...]
    conversions: tuple[Conversion, ...]
    max_size_bytes: int
    reference_seconds: float | None
    #: :func:`download_bytes` of each conversion, measured when the report was made.
    download_sizes: tuple[int, ...] = ()

    @property
    def labels(self) -> list[str]:
        """The settings, in order."""
        return [r.label for r in self.results]

    def result(self, label: str) -> Parity:
        """The measured result of one setting."""
        for r in self.results:
            if r.label == label:
                return r
        raise InvalidInputError(f"expected one of {self.labels}; found {label!r}.")

    def budget_results(self, max_size_bytes: int | None = None) -> list[BudgetResult]:
        """:func:`check_budget` of every setting (the report's budget unless one is given)."""
        limit = self.max_size_bytes if max_size_bytes is None else max_size_bytes
        return [check_budget(r, limit) for r in self.results]

    @property
    def ok(self) -> bool:
        """At least one setting keeps every metric and fits the budget."""
        return any(b.ok for b in self.budget_results())

    @property
    def failures(self) -> tuple[BudgetResult, ...]:
        """The settings that break a rule."""
        return tuple(b for b in self.budget_results() if not b.ok)

    @property
    def _keeps(self) -> str:
        labelled = bool(self.results) and self.results[0].comparison is not None
        return "every metric" if labelled else "the predictions"

    @property
    def verdict(self) -> str:
        passing = [b.label for b in self.budget_results() if b.ok]
        limit = _display.size(self.max_size_bytes)
        if not passing:
            return f"FAIL: no setting keeps {self._keeps} and fits {limit}"
        if len(passing) == 1:
            return f"PASS: {passing[0]} keeps {self._keeps} and fits {limit}"
        return f"PASS: {', '.join(passing)} keep {self._keeps} and fit {limit}"

    @property
    def _shown_metrics(self) -> list[str]:
        """The task's first three metrics (binary: accuracy, precision, recall)."""
        b = self.results[0].before if self.results else None
        return [] if b is None else list(b.names[:3])

    @property
    def title(self) -> str:  # type: ignore[override]
        if not self.results:
            return "no settings measured"
        first, limit = self.results[0], _display.size(self.max_size_bytes)
        if first.before is None:
            rules = "; ".join(f"{a.output}: {a.measure} within {a.shown(a.allowed)}"
                              for a in first.agreement)
            return (f"source model (Python) on {first.difference.n_rows:,} rows, no labels; "
                    f"rule: {rules}, size within {limit}")
        b = first.before
        f = ".4g" if b.task == "regression" else ".3f"
        shown = ", ".join(f"{n} {b.get(n):{f}}" for n in self._shown_metrics)
        return (f"source model (Python): {shown}; rule: every metric within "
                f"{first.tolerance:g}, size within {limit}")

    def table(self) -> tuple[Sequence[str], list[list[str]]]:
        """One row per setting: sizes, metrics in TF.js, the largest change, both rules."""
        names = self._shown_metrics
        classes = any(r.difference.changed is not None for r in self.results)
        head = ["weights", "total size", "gzip download", "weight files", *names,
                *(["largest change"] if names else []), *(["changed class"] if classes else []),
                "largest diff", "parity ok", "fits budget", "verdict"]
        rows = []
        for i, (r, g) in enumerate(zip(self.results, self.budget_results())):
            gz = (_display.size(self.download_sizes[i])
                  if i < len(self.download_sizes) else "-")
            row = [r.label, _display.size(r.size_bytes), gz, _display.size(r.weight_bytes)]
            if names and r.after is not None and r.comparison is not None:
                f = ".4g" if r.after.task == "regression" else ".3f"
                row += [f"{r.after.get(n):{f}}" for n in names]
                worst = max(r.comparison.rows,  # the furthest beyond what is allowed
                            key=lambda row: abs(row.delta) / max(row.tolerance, 1e-12))
                change = (f"{worst.delta:+.3g}" if r.after.task == "regression"
                          else f"{worst.delta * 100:+.1f} pts")
                row.append(f"{worst.name} {change}" if worst.delta else "none")
            if classes:
                d = r.difference
                row.append("-" if d.changed_share is None else _display.percent(d.changed_share))
            rows.append(row + [f"{r.max_abs_diff:.2g}", "yes" if r.ok else "NO",
                               "yes" if g.fits else "NO", "PASS" if g.ok else "FAIL"])
        return head, rows

    def timing(self) -> str:
        """TF.js in Node against Python for the same rows, and the one-row latency verdict.

        >>> print(report.timing())
        Python (TensorFlow, this process): 4,001 rows in ...
        TF.js in Node (wasm backend), float32: 4,001 rows in ..., one row in ..., model loaded in ...; ... with Node's start
        TF.js in Node (wasm backend), float16: 4,001 rows in ...
        TF.js in Node (wasm backend), uint8: 4,001 rows in ...
        one transaction scored within the 100.00 ms interaction budget by every setting: yes
        """
        runs = [(x.label, x.node) for x in self.results if x.node is not None]
        if not runs:
            return "no timings: these results were not measured in TF.js"
        lines = []
        if self.reference_seconds is not None:
            lines.append(f"Python (TensorFlow, this process): {runs[0][1].rows:,} rows in "
                         f"{_display.duration(self.reference_seconds)}")
        for label, t in runs:
            lines.append(f"TF.js in Node ({t.backend_text}), {label}: {t.rows:,} rows in "
                         f"{_display.duration(t.predict_seconds)}, one row in "
                         f"{_display.duration(t.row_seconds)}, model loaded in "
                         f"{_display.duration(t.load_seconds)}; "
                         f"{_display.duration(t.wall_seconds)} with Node's start")
        notes = dict.fromkeys(t.backend_note for _, t in runs if t.backend_note)
        lines += [f"wasm was not used: {note}, so the slower pure-JavaScript cpu back end ran. "
                  "Fix: run `npm ci` in the course repository (make setup)" for note in notes]
        fast = max(t.row_seconds for _, t in runs) <= INTERACTION_BUDGET_SECONDS
        lines.append(f"one transaction scored within the "
                     f"{_display.duration(INTERACTION_BUDGET_SECONDS)} "
                     f"interaction budget by every setting: {'yes' if fast else 'NO'}")
        return "\n".join(lines)

    def plot(self, ax: Any = None, *, also: Sequence[Parity] = ()) -> QuantizationReport:
        """Each setting on its own row: size against the budget, each metric in its own panel
        with its allowed band, and the largest output difference.

        ``also``: settings verified on their own (``tfjs.verify(..., label="uint8, dense
        only")``), drawn below the report's. The figure is
        :func:`course_lib.plots.plot_size_tradeoff`'s; ``ax``, if given, is the place in a
        figure that its panels share. Returns the report; the axes are in ``axes_``.

        >>> report.plot().figure_
        <Figure size 1200x330 with 5 Axes>
        """
        from course_lib import plots

        fig = plots.plot_size_tradeoff([*self.results, *also], max_size_bytes=self.max_size_bytes,
                                       ax=ax)
        object.__setattr__(self, "ax_", fig.axes[0])
        object.__setattr__(self, "figure_", fig)
        object.__setattr__(self, "axes_", tuple(fig.axes))
        return self


def compare_quantizations(
    source: Any, x: object, y: object, out_dir: str | os.PathLike[str],
    quantizations: Sequence[str | None | Quantization] = QUANTIZATIONS, *,
    max_size_bytes: int = MAX_SIZE_BYTES, tolerance: float = SEED_TOLERANCE,
    threshold: float | None = None, task: str | None = None, output: str | None = None,
    class_names: Sequence[str] | None = None, backend: str = "auto",
) -> QuantizationReport:
    """Convert ``source`` with each weight setting (into ``out_dir/<setting>/``), verify each.

    Every setting is judged as :func:`~course_lib.tfjs.parity.verify` judges one: on the
    outputs (rows whose class changed, a regression's largest difference) and, with labels
    ``y`` (None for none), on the task's metrics. ``backend``: the TF.js back end in Node
    (see :func:`~course_lib.tfjs.run`).

    >>> report = compare_quantizations(model, fraud.test.x, fraud.test.y, "web")
    >>> report.labels
    ['float32', 'float16', 'uint16', 'uint8']
    """
    limit = _checks.whole("max_size_bytes", max_size_bytes, minimum=1)
    settings = [q if isinstance(q, Quantization) else Quantization(check_quantize(q))
                for q in quantizations]
    names = [s.name for s in settings]
    if not settings or len(set(names)) != len(names):
        raise InvalidInputError(
            f"expected at least one setting, each with its own name; found {names}. "
            "Fix: give repeated weight types distinct labels: "
            "Quantization('uint8', ..., label='...')."
        )
    root = Path(out_dir)
    with exported(source, root) as src:
        conversions = [convert(src, root / slug(s.name), s.dtype, weights=s.weights,
                               overwrite=True) for s in settings]
        sig = graph_signature(conversions[0].path)
        data = _inputs.check(x, sig.inputs)
        reference = src if isinstance(source, (str, os.PathLike)) else source
        outputs, seconds = reference_outputs(reference, data, sig.output_names)
    results = tuple(verify(c.path, outputs, data, y, task=task, tolerance=tolerance,
                           threshold=threshold, output=output, class_names=class_names,
                           label=s.name, backend=backend)
                    for c, s in zip(conversions, settings))
    return QuantizationReport(results=results, conversions=tuple(conversions),
                              max_size_bytes=limit, reference_seconds=seconds,
                              download_sizes=tuple(download_bytes(c) for c in conversions))
