"""ipywidgets front ends: a quiz, a confusion-matrix calculator and a threshold explorer.

>>> from course_lib.widgets import ConfusionMatrixCalculator
>>> calc = ConfusionMatrixCalculator(tp=40, fp=5, fn=10, tn=45)
>>> calc
ConfusionMatrixCalculator(tp=40, fp=5, fn=10, tn=45)
>>> round(calc.metrics.recall, 3)
0.8

Each widget is a thin ``VBox`` over the pure functions of :mod:`course_lib.metrics`
and :mod:`course_lib.exercises`: what it shows is exactly what those return.
Results go into ``HTML`` widgets (never an ``Output`` widget, which nbval cannot
replay), and every widget has a short, stable ``repr`` (the text nbval compares).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from course_lib import progress
from course_lib._display import RED
from course_lib.errors import InvalidInputError, require
from course_lib.exercises import Answer, Feedback, MultipleChoice, Numeric, answer, grade, question
from course_lib.metrics import Metrics

require("ipywidgets", "widgets")

import ipywidgets as W  # noqa: E402

__all__ = [
    "ConfusionMatrixCalculator", "CostExplorer", "DeploymentCostExplorer", "ParityChecker",
    "QuantizationChooser", "QuizWidget", "ThresholdExplorer", "quiz",
]

#: Largest count the calculator accepts.
MAX_COUNT = 10**9
#: The line above a confusion matrix's four inputs: where each count sits.
MATRIX_LEGEND = ("<p>Rows: actual class (0 legit, 1 fraud); columns: predicted class. "
                 "TP frauds caught, FN frauds missed, FP legit flagged, TN legit passed.</p>")


class QuizWidget(W.VBox):
    """One exercise: the prompt, an answer field, Check and Show answer buttons, the feedback.

    >>> w = QuizWidget("fraud-self-check")
    >>> w
    QuizWidget('fraud-self-check')
    >>> w.answer.value = "a"
    >>> w.check_button.click()                  # a wrong answer: its hint, and another try
    >>> w.last_feedback.correct, w.last_feedback.message.endswith("Try again.")
    (False, True)
    >>> w.show_button.click()                   # the answer and why
    >>> "The answer is" in w.feedback.value
    True

    Multiple choice shows radio buttons (none selected at first); numeric questions
    a text field that takes ``0.75`` or ``75%``. Grading is :func:`course_lib.exercises.grade`:
    a wrong answer gets a hint and "Try again."; the explanation comes with the right answer,
    or from the Show answer button (:func:`course_lib.exercises.answer`). Every graded answer
    is recorded in the learner's progress file (:mod:`course_lib.progress`).
    """

    def __init__(self, question_id_or_question: str | MultipleChoice | Numeric) -> None:
        q = question_id_or_question
        if isinstance(q, str):
            q = question(q)  # UnknownQuestionError names the known ids
        if not isinstance(q, (MultipleChoice, Numeric)):
            raise InvalidInputError(
                f"expected a question id or a question; found {type(q).__name__}. "
                'Fix: pass an id such as "fraud-self-check" (see course_lib.questions()).'
            )
        self.question: MultipleChoice | Numeric = q
        unit = f" ({html.escape(q.unit)})" if isinstance(q, Numeric) and q.unit else ""
        self.prompt = W.HTML(value=f"<p><b>{html.escape(q.prompt)}</b>{unit}</p>")
        self.answer: W.RadioButtons | W.Text
        if isinstance(q, MultipleChoice):
            self.answer = W.RadioButtons(
                options=[(f"{c.key}) {c.text}", c.key) for c in q.choices], value=None,
                layout=W.Layout(width="max-content"),
            )
        else:
            self.answer = W.Text(placeholder="e.g. 0.75 or 75%", description="answer")
        self.check_button = W.Button(description="Check", button_style="primary")
        self.show_button = W.Button(description="Show answer")
        self.feedback = W.HTML(value="")
        self.last_feedback: Feedback | None = None
        self.shown: Answer | None = None
        self.check_button.on_click(lambda _button: self.check())
        self.show_button.on_click(lambda _button: self.show_answer())
        super().__init__(children=(self.prompt, self.answer,
                                   W.HBox([self.check_button, self.show_button]), self.feedback))

    def check(self) -> Feedback:
        """Grade the current answer, record it, show the feedback and return it (Check).

        >>> w = QuizWidget("fraud-self-check")
        >>> print(w.check())  # nothing selected yet
        Choose an answer first, then press Check.
        """
        fb = grade(self.question, self.answer.value)
        if not fb.graded and (self.answer.value is None or not str(self.answer.value).strip()):
            what = "Choose an answer" if isinstance(self.question, MultipleChoice) else "Type a number"
            fb = replace(fb, message=f"{what} first, then press Check.")
        if fb.graded:
            progress.record(self.question.id, self.question.lesson, fb.correct)
        self.last_feedback = fb
        self.feedback.value = fb._repr_html_()
        return fb

    def show_answer(self) -> Answer:
        """Show the answer and its explanation, and return it (Show answer)."""
        self.shown = answer(self.question.id)
        self.feedback.value = self.shown._repr_html_()
        return self.shown

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.question.id!r})"


def quiz(question_id: str) -> QuizWidget:
    """The quiz widget of one exercise; end a notebook cell with it to show it.

    >>> quiz("worked-matrix-precision").answer.placeholder
    'e.g. 0.75 or 75%'
    """
    return QuizWidget(question_id)


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or \
            not 0 <= value <= MAX_COUNT:
        raise InvalidInputError(
            f"expected {name} to be a whole number from 0 to {MAX_COUNT:,}; found {value!r}. "
            f"Fix: pass a count such as {name}=10."
        )
    return int(value)


class ConfusionMatrixCalculator(W.VBox):
    """Type the four counts of a confusion matrix, read accuracy, precision, recall and F1.

    >>> calc = ConfusionMatrixCalculator()
    >>> calc.tp.value = 12
    >>> round(calc.metrics.recall, 3)  # 12 / (12 + 10)
    0.545

    The inputs sit where the counts sit in the matrix (rows: truth, columns:
    prediction), under a line saying so (``legend=False`` leaves it out, as
    :class:`ParityChecker` does for its two matrices). The result is
    ``Metrics.from_counts(...)``, updated on every change.
    """

    def __init__(self, tp: int = 90, fp: int = 15, fn: int = 10, tn: int = 85, *,
                 legend: bool = True) -> None:
        values = {k: _count(k, v) for k, v in (("tp", tp), ("fp", fp), ("fn", fn), ("tn", tn))}
        boxes = {
            k: W.BoundedIntText(value=v, min=0, max=MAX_COUNT, description=k.upper(),
                                layout=W.Layout(width="180px"))
            for k, v in values.items()
        }
        self.tp, self.fp, self.fn, self.tn = (boxes[k] for k in ("tp", "fp", "fn", "tn"))
        self.result = W.HTML()
        self.metrics: Metrics | None = None
        for box in boxes.values():
            box.observe(self._update, names="value")
        super().__init__(children=(
            *((W.HTML(MATRIX_LEGEND),) if legend else ()),
            W.HBox([self.tn, self.fp]), W.HBox([self.fn, self.tp]), self.result,
        ))
        self._update()

    def _update(self, _change: Any = None) -> None:
        counts = {k: getattr(self, k).value for k in ("tp", "fp", "fn", "tn")}
        if not any(counts.values()):
            self.metrics = None
            self.result.value = (
                "<p><em>All four counts are 0: enter at least one example "
                "to see accuracy, precision, recall and F1.</em></p>"
            )
            return
        self.metrics = Metrics.from_counts(**counts)
        self.result.value = self.metrics._repr_html_()

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={getattr(self, k).value}" for k in ("tp", "fp", "fn", "tn"))
        return f"{type(self).__name__}({counts})"


class ThresholdExplorer(W.VBox):
    """Move the decision threshold, watch the confusion matrix and the metrics change.

    >>> ex = ThresholdExplorer([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])
    >>> ex.metrics.recall
    0.5
    >>> ex.slider.value = 0.3
    >>> ex.metrics.recall
    1.0

    Every value shown is ``Metrics.from_predictions(y_true, scores, slider.value)``.
    """

    def __init__(
        self, y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
        threshold: float = 0.5, step: float = 0.01, *, positive: str = "positive",
    ) -> None:
        # One call validates labels, scores and threshold with the metrics' own messages.
        self.metrics: Metrics = Metrics.from_predictions(y_true, scores, threshold, task="binary")
        self.positive = positive
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not 0 < step <= 1:
            raise InvalidInputError(
                f"expected step to be a number above 0 and at most 1; found {step!r}. "
                "Fix: use step=0.01."
            )
        self._y_true = np.asarray(y_true).reshape(-1)
        self._scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        self.slider = W.FloatSlider(
            value=float(threshold), min=0.0, max=1.0, step=float(step), description="threshold",
            readout_format=".2f", continuous_update=True, layout=W.Layout(width="420px"),
        )
        self.result = W.HTML()
        self.slider.observe(self._update, names="value")
        super().__init__(children=(self.slider, self.result))
        self._show()

    def _update(self, _change: Any = None) -> None:
        self.metrics = Metrics.from_predictions(self._y_true, self._scores, self.slider.value)
        self._show()

    def _show(self) -> None:
        m = self.metrics
        summary = (f"<p>At threshold {m.threshold:.2f} the model flags {m.tp + m.fp:,} of "
                   f"{m.total:,} rows; it catches {m.tp:,} of {m.positives:,} "
                   f"{html.escape(self.positive)}s.</p>")
        self.result.value = summary + m._repr_html_()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.metrics.total}, threshold={self.slider.value:.2f})"


class ParityChecker(W.VBox):
    """Two confusion matrices, before and after a step, and the parity verdict between them.

    >>> p = ParityChecker(before=(40, 5, 10, 45), after=(40, 5, 10, 45))
    >>> p.comparison.ok
    True
    >>> p.after.tp.value, p.after.fn.value = 30, 20
    >>> p.comparison.ok
    False
    >>> p.after.tn.value = 60                   # more rows: another test set
    >>> p.same_data, p.comparison
    (False, None)

    Counts are given as (tp, fp, fn, tn). The verdict is
    :func:`course_lib.metrics.compare` with the tolerance box's value (the course's
    rule: every metric within 0.01 after saving and loading). Parity compares one model
    before and after a step *on the same rows*: two matrices with a different number of
    rows or of positives come from different data, and the widget says so instead of
    comparing them.
    """

    def __init__(self, before: tuple[int, int, int, int] = (40, 5, 10, 45),
                 after: tuple[int, int, int, int] = (40, 5, 10, 45), tolerance: float = 0.01) -> None:
        from course_lib.metrics import compare

        self._compare = compare
        self.before = ConfusionMatrixCalculator(*before, legend=False)
        self.after = ConfusionMatrixCalculator(*after, legend=False)
        self.tolerance = W.BoundedFloatText(value=tolerance, min=0.0, max=1.0, step=0.005,
                                            description="tolerance")
        self.verdict = W.HTML()
        self.comparison: Any = None
        self.same_data = True
        for calc in (self.before, self.after):
            for box in (calc.tp, calc.fp, calc.fn, calc.tn):
                box.observe(self._update, names="value")
        self.tolerance.observe(self._update, names="value")
        columns = W.HBox([W.VBox([W.HTML("<b>before</b>"), self.before]),
                          W.VBox([W.HTML("<b>after</b>"), self.after])])
        super().__init__(children=(W.HTML(MATRIX_LEGEND), columns, self.tolerance, self.verdict))
        self._update()

    def _update(self, _change: Any = None) -> None:
        self.comparison, self.same_data = None, True
        before, after = self.before.metrics, self.after.metrics
        if before is None or after is None:
            self.verdict.value = "<p><em>Enter at least one example on each side.</em></p>"
            return
        if (before.total, before.positives) != (after.total, after.positives):
            self.same_data = False
            self.verdict.value = (
                f'<p><b style="color:{RED}">DIFFERENT DATA</b>: before counts {before.total:,} '
                f"rows ({before.positives:,} positive), after {after.total:,} rows "
                f"({after.positives:,} positive). The same rows give the same totals, so these "
                "matrices come from different data, and comparing their metrics says nothing "
                "about saving and loading. Evaluate both models on the same test set.</p>")
            return
        self.comparison = self._compare(self.before.metrics, self.after.metrics, self.tolerance.value)
        self.verdict.value = self.comparison._repr_html_()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tolerance={self.tolerance.value:g})"


#: Range of CostExplorer's cost sliders, in any currency unit.
COST_RANGE: tuple[float, float] = (0.1, 100_000.0)
#: The costs the sliders step through: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten
#: (ten steps a decade, evenly spaced on a log scale), plus the costs a lesson gives.
COST_STEPS: tuple[float, ...] = tuple(
    v for k in range(-1, 6) for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8)
    if COST_RANGE[0] <= (v := round(m * 10.0**k, 6)) <= COST_RANGE[1])


class CostExplorer(W.VBox):
    """Set what a missed fraud and a false alarm cost; read the cheapest threshold and its matrix.

    >>> ex = CostExplorer([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], miss_cost=10, false_alarm_cost=1)
    >>> ex
    CostExplorer(n=4, miss_cost=10, false_alarm_cost=1)
    >>> ex.curve.best_threshold
    0.4
    >>> ex.false_alarm_cost.value = 20  # false alarms now cost more: flag less
    >>> ex.curve.best_threshold
    0.9

    Every value shown is :func:`course_lib.costs.cost_curve` at the sliders'
    costs: the cheapest threshold, its cost next to the default 0.50's, and the
    confusion matrix at the cheapest threshold. The sliders step through round costs
    from 0.1 to 100,000 (:data:`COST_STEPS`, ten a decade) and hold the given costs
    exactly, so the widget starts at the figures of the cell above it.
    """

    def __init__(
        self, y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
        miss_cost: float = 500.0, false_alarm_cost: float = 5.0, *, positive: str = "positive",
    ) -> None:
        from course_lib.costs import cost_curve

        self._cost_curve = cost_curve
        # One call validates labels, scores and costs with the cost module's messages.
        self.curve = cost_curve(y_true, scores, miss_cost=miss_cost,
                                false_alarm_cost=false_alarm_cost, positive=positive)
        self.positive = positive
        low, high = COST_RANGE
        for name, value in (("miss_cost", miss_cost), ("false_alarm_cost", false_alarm_cost)):
            if not low <= float(value) <= high:
                raise InvalidInputError(
                    f"expected {name} between {low:g} and {high:,.0f} (the slider's range); found "
                    f"{value!r}. Fix: express costs in a unit that fits, e.g. {name}=500."
                )
        self._y_true = np.asarray(y_true).reshape(-1)
        self._scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        steps = sorted({*COST_STEPS, float(miss_cost), float(false_alarm_cost)})
        options = {"options": [(f"{v:,g}", v) for v in steps],
                   "style": {"description_width": "120px"}, "layout": W.Layout(width="480px")}
        self.miss_cost = W.SelectionSlider(value=float(miss_cost),
                                           description=f"missed {positive}", **options)
        self.false_alarm_cost = W.SelectionSlider(value=float(false_alarm_cost),
                                                  description="false alarm", **options)
        self.result = W.HTML()
        for slider in (self.miss_cost, self.false_alarm_cost):
            slider.observe(self._update, names="value")
        header = W.HTML(f"<p>Cost of one missed {html.escape(positive)} (FN) and of one false alarm (FP). The "
                        "cheapest threshold minimises FN x cost + FP x cost on these rows.</p>")
        super().__init__(children=(header, self.miss_cost, self.false_alarm_cost, self.result))
        self._show()

    def _update(self, _change: Any = None) -> None:
        self.curve = self._cost_curve(self._y_true, self._scores, miss_cost=self.miss_cost.value,
                                      false_alarm_cost=self.false_alarm_cost.value,
                                      positive=self.positive)
        self._show()

    def _show(self) -> None:
        self.result.value = self.curve._repr_html_()

    def __repr__(self) -> str:
        costs = f"miss_cost={self.miss_cost.value:g}, false_alarm_cost={self.false_alarm_cost.value:g}"
        return f"{type(self).__name__}(n={self.curve.n_rows}, {costs})"


class QuantizationChooser(W.VBox):
    """Choose how a TF.js model stores its weights and a download budget: does it ship?

    >>> from course_lib.metrics import Metrics
    >>> from course_lib.tfjs import Parity
    >>> source = Metrics.from_counts(tp=45, fp=3, fn=5, tn=47)
    >>> worse = Metrics.from_counts(tp=38, fp=3, fn=12, tn=47)
    >>> chooser = QuantizationChooser([Parity.from_metrics("float32", 140_000, source, source),
    ...                                Parity.from_metrics("uint8", 40_000, source, worse)])
    >>> chooser
    QuantizationChooser(weights='float32', max_size_bytes=102400)
    >>> chooser.budget_result.fits, chooser.budget_result.metrics_ok
    (False, True)
    >>> chooser.choice.value = "uint8"
    >>> chooser.budget_result.fits, chooser.budget_result.metrics_ok
    (True, False)

    The verdict is :func:`course_lib.tfjs.check_budget` of the measured result (a
    :class:`course_lib.tfjs.Parity`, e.g. from ``compare_quantizations``) at the
    slider's maximum size (in KB on the slider, ``max_size_bytes`` in bytes): the model
    must fit it *and* keep every metric within the tolerance (the seed's 2 points) when
    run in TF.js.
    """

    def __init__(self, results: Any, max_size_bytes: int = 100 * 1024,
                 weights: str | None = None) -> None:
        from course_lib import tfjs

        self._check_budget = tfjs.check_budget
        rows = list(results.results if isinstance(results, tfjs.QuantizationReport) else results)
        if not rows or not all(isinstance(r, tfjs.Parity) for r in rows):
            raise InvalidInputError(
                "expected a QuantizationReport or a list of Parity results (from tfjs.verify or "
                f"Parity.from_metrics); found {type(results).__name__}. "
                "Fix: pass tfjs.compare_quantizations(...)."
            )
        self.results = {r.label: r for r in rows}
        top = max(100, int(np.ceil(max(r.size_bytes for r in rows) / 1024 * 1.5 / 10) * 10))
        if isinstance(max_size_bytes, bool) or not isinstance(max_size_bytes, (int, np.integer)) \
                or max_size_bytes % 1024 or not 5 <= max_size_bytes // 1024 <= top:
            raise InvalidInputError(
                f"expected max_size_bytes to be a whole number of KB (a multiple of 1024 bytes) "
                f"from 5 * 1024 to {top} * 1024; found {max_size_bytes!r}. "
                "Fix: e.g. max_size_bytes=100 * 1024."
            )
        if weights is not None and weights not in self.results:
            raise InvalidInputError(f"expected weights among {list(self.results)}; found {weights!r}.")
        self.choice = W.ToggleButtons(options=list(self.results), value=weights or rows[0].label,
                                      description="weights")
        self.budget = W.IntSlider(value=int(max_size_bytes) // 1024, min=5, max=top, step=5,
                                  description="budget (KB)", layout=W.Layout(width="480px"))
        self.result = W.HTML()
        self.summary = W.HTML()
        for w in (self.choice, self.budget):
            w.observe(self._update, names="value")
        super().__init__(children=(self.choice, self.budget, self.result, self.summary))
        self._update()

    @property
    def max_size_bytes(self) -> int:
        """The slider's maximum download size, in bytes."""
        return int(self.budget.value) * 1024

    def _update(self, _change: Any = None) -> None:
        limit = self.max_size_bytes
        self.budget_result = self._check_budget(self.results[self.choice.value], limit)
        self.result.value = self.budget_result._repr_html_()
        passing = [label for label, r in self.results.items() if self._check_budget(r, limit).ok]
        self.summary.value = (f"<p>At {self.budget.value} KB, the settings that pass both checks: "
                              f"{html.escape(', '.join(passing)) if passing else 'none'}.</p>")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(weights={self.choice.value!r}, "
                f"max_size_bytes={self.max_size_bytes})")


class DeploymentCostExplorer(W.VBox):
    """Set what a missed fraud and a false alarm cost; see which model version to deploy.

    >>> from course_lib.metrics import Metrics
    >>> ex = DeploymentCostExplorer({"v1": Metrics.from_counts(tp=80, fp=20, fn=15, tn=85),
    ...                              "v2": Metrics.from_counts(tp=85, fp=15, fn=10, tn=90)})
    >>> ex.table.best
    ('v2',)
    >>> ex.miss_cost.value = 0.0
    >>> ex.false_alarm_cost.value = 0.0
    >>> ex.table.best, ex
    (('v1', 'v2'), DeploymentCostExplorer(versions=['v1', 'v2'], miss_cost=0, false_alarm_cost=0))

    The versions' metrics must come from the same test set (e.g. ``reg.metrics("fraud")``
    of lesson 04). Every figure shown is
    :func:`course_lib.costs.deployment_costs` ``(versions, miss_cost, false_alarm_cost)``:
    the cost of a version is FN x (cost of a missed fraud) + FP x (cost of a false alarm).
    """

    def __init__(self, versions: Any, miss_cost: float = 100.0, false_alarm_cost: float = 1.0, *,
                 positive: str = "positive") -> None:
        from course_lib.costs import deployment_costs

        self._costs = deployment_costs
        self.positive = positive
        # validates everything
        self.table = deployment_costs(versions, miss_cost, false_alarm_cost, positive=positive)
        self._versions = dict(versions)
        style = {"description_width": "190px"}
        self.miss_cost = W.BoundedFloatText(value=float(miss_cost), min=0.0, max=1e9, step=1.0,
                                            description=f"cost of a missed {positive}", style=style)
        self.false_alarm_cost = W.BoundedFloatText(value=float(false_alarm_cost), min=0.0, max=1e9, step=1.0,
                                                   description="cost of a false alarm", style=style)
        self.result = W.HTML()
        for box in (self.miss_cost, self.false_alarm_cost):
            box.observe(self._update, names="value")
        super().__init__(children=(self.miss_cost, self.false_alarm_cost, self.result))
        self._update()

    def _update(self, _change: Any = None) -> None:
        self.table = self._costs(self._versions, self.miss_cost.value, self.false_alarm_cost.value,
                                 positive=self.positive)
        self.result.value = self.table._repr_html_()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(versions={list(self._versions)}, miss_cost={self.miss_cost.value:g}, "
                f"false_alarm_cost={self.false_alarm_cost.value:g})")


