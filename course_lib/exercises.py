"""Exercises as data: multiple-choice and numeric questions, graded with feedback.

>>> from course_lib.exercises import answer, check, question
>>> print(check("fraud-self-check", ...))
Replace ... with your answer, e.g. check("fraud-self-check", "a").
>>> print(check("worked-matrix-precision", 0.95))  # doctest: +ELLIPSIS
Not quite. 0.95 is too high. Precision = TP / (TP + FP): ... Try again, or see the answer with answer("worked-matrix-precision").
>>> print(check("worked-matrix-precision", "0.857"))  # doctest: +ELLIPSIS
Correct. 0.857 is within 0.005 of 0.857. Precision = TP / (TP + FP) = 90 / (90 + 15) = 0.857...

The flow a learner follows: a wrong answer gets a hint (why that choice is wrong, or
whether the number is too high or too low and which formula to use) and "try again";
the explanation, and which choice was right, come with the right answer or from
:func:`answer` ("show answer"). A placeholder (``...``), ``None`` or an empty answer
says how to answer and is not graded. Every graded answer given through :func:`check`
is recorded in the learner's progress file (:mod:`course_lib.progress`);
:func:`grade` is the same verdict without recording anything.

The bank lives in ``course_lib/questions/NN_topic.json``, one file per lesson,
and is loaded (and validated) the first time a question is asked for. Numbers
in a question are never typed into the bank: a numeric answer comes from
``{"from_counts": {...}, "metric": "precision"}`` through
:meth:`course_lib.metrics.Metrics.from_counts`, and prompts, choices and
explanations are templates filled from those same metrics (``{precision:.3f}``,
``{tp}``, ``{missed_share:.0%}``; see :func:`template_values`).

Grading never raises on a learner's answer: a wrong or unreadable answer gives
a :class:`Feedback` with ``correct=False`` and a message that says why. The ids
``seed-matrix-X`` and ``lNN-seed-Y`` of earlier versions of the course are now
``worked-matrix-X`` and ``lNN-worked-Y``; an old id raises
:class:`~course_lib.errors.UnknownQuestionError` naming the new one.
"""

from __future__ import annotations

import dataclasses
import difflib
import html
import json
import math
import numbers
import os
import re
import reprlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from course_lib import _display
from course_lib.errors import CourseLibError, InvalidInputError, UnknownQuestionError
from course_lib.metrics import METRIC_NAMES, Metrics

if TYPE_CHECKING:  # importlib.resources.abc is Python 3.11+
    from importlib.resources.abc import Traversable

__all__ = [
    "Answer", "Choice", "Feedback", "MultipleChoice", "Numeric", "Question",
    "answer", "bank_lessons", "check", "grade", "load_bank", "question", "questions", "template_values",
]


@dataclass(frozen=True)
class Choice:
    """One answer of a multiple-choice question, with the feedback shown when picked."""

    key: str
    text: str
    correct: bool
    feedback: str


@dataclass(frozen=True)
class MultipleChoice:
    """A question answered by the key of one of its choices (exactly one is correct)."""

    id: str
    lesson: str
    prompt: str
    choices: tuple[Choice, ...]
    explanation: str


@dataclass(frozen=True)
class Numeric:
    """A question answered by a number, right when within ``tolerance`` (absolute)."""

    id: str
    lesson: str
    prompt: str
    answer: float
    tolerance: float
    explanation: str
    unit: str = ""
    #: The metric the answer is (``"precision"``...), empty for a literal answer.
    metric: str = ""
    #: The other metrics of the same matrix, ``(name, value)``: a mix-up gets its own hint.
    related: tuple[tuple[str, float], ...] = ()


Question = MultipleChoice | Numeric

@dataclass(frozen=True, repr=False)
class Feedback(_display.Report):
    """The verdict on one answer: ``str()`` for print, ``_repr_html_`` for Jupyter.

    >>> print(Feedback(True, "Recall catches frauds.", "q"))
    Correct. Recall catches frauds.

    ``graded`` is False when the answer was not read as one (a placeholder, an empty
    answer, a letter that is no choice, a number written as a percentage without "%"):
    such an answer is neither right nor wrong, and is not recorded.
    """

    correct: bool
    message: str
    question_id: str
    graded: bool = True

    @property
    def ok(self) -> bool:
        """True when the answer is right."""
        return self.correct

    @property
    def head(self) -> str:
        """"Correct.", "Not quite.", or nothing for an answer that was not graded."""
        return ("Correct." if self.correct else "Not quite.") if self.graded else ""

    @property
    def verdict(self) -> str:
        """The head ("Correct." or "Not quite.") followed by the feedback."""
        return f"{self.head} {self.message}".strip()

    def _repr_html_(self) -> str:
        fg, bg = ((_display.GREEN, "#e9f7ef") if self.correct else (_display.RED, "#fdecea")) \
            if self.graded else (_display.GREY, "#f6f8fa")
        head = f'<b style="color:{fg}">{self.head}</b> ' if self.head else ""
        return (f'<div style="border-left:4px solid {fg};background:{bg};padding:6px 10px">'
                f'{head}{html.escape(self.message)}</div>')


# -- loading the bank --------------------------------------------------------------

_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_LESSON = re.compile(r"\d\d")
_COMMON = {"id", "type", "prompt", "explanation", "from_counts"}
_KEYS = {"multiple_choice": _COMMON | {"choices"},
         "numeric": _COMMON | {"answer", "metric", "tolerance", "unit"}}


def template_values(m: Metrics) -> dict[str, float | int]:
    """The placeholders a question can use, computed from a confusion matrix.

    >>> v = template_values(Metrics.from_counts(tp=12, fp=12, fn=88, tn=4888))
    >>> "recall {recall:.0%}, missed {missed_share:.0%}, of {positives} frauds".format(**v)
    'recall 12%, missed 88%, of 100 frauds'

    Besides the counts and the four metrics: ``total``, ``positives``,
    ``negatives``, ``flagged`` (TP + FP), ``two_tp``, ``prevalence`` (share of
    positives), ``missed_share`` (FN / positives, i.e. 1 - recall) and
    ``baseline_accuracy`` (accuracy of a model that never flags a positive).
    """
    v: dict[str, float | int] = dict(m.as_dict())
    negatives = m.fp + m.tn
    v.update(total=m.total, positives=m.positives, negatives=negatives, flagged=m.tp + m.fp,
             two_tp=2 * m.tp, prevalence=m.positives / m.total,
             missed_share=m.fn / m.positives if m.positives else 0.0,
             baseline_accuracy=negatives / m.total)
    return v


def _bad(where: str, problem: str) -> CourseLibError:
    return CourseLibError(f"malformed question bank {where}: {problem}")


def _require(ok: object, where: str, problem: str) -> None:
    if not ok:
        raise _bad(where, problem)


def _text(where: str, obj: dict, key: str, values: dict) -> str:
    raw = obj.get(key)
    _require(isinstance(raw, str) and raw.strip(), where,
             f"expected '{key}' to be a non-empty string; found {raw!r}.")
    try:
        return raw.format_map(values)
    except (KeyError, AttributeError, IndexError, ValueError) as exc:
        known = ", ".join(sorted(values)) or "none (add from_counts)"
        raise _bad(where, f"'{key}' has a placeholder that cannot be filled ({exc!r}); "
                   f"known values: {known}. Write literal braces as {{{{ and }}}}.") from None


def _number(where: str, name: str, value: object, minimum: float = -math.inf) -> float:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float))
          and math.isfinite(value) and value >= minimum)
    floor = f" of {minimum:g} or more" if minimum > -math.inf else ""
    _require(ok, where, f"expected '{name}' to be a finite number{floor}; found {value!r}.")
    return float(value)  # type: ignore[arg-type]


def _metrics(where: str, spec: Any, matrices: dict) -> Metrics:
    if isinstance(spec, str):
        _require(spec in matrices, where, f"from_counts names the matrix {spec!r}, which is not "
                 f"in the file's 'matrices' ({', '.join(matrices) or 'none'}).")
        spec = matrices[spec]
    _require(isinstance(spec, dict) and set(spec) == {"tp", "fp", "fn", "tn"}, where,
             f"expected from_counts to give tp, fp, fn, tn (or name a matrix); found {spec!r}.")
    try:
        return Metrics.from_counts(**spec)
    except InvalidInputError as exc:
        raise _bad(where, f"from_counts: {exc}") from None


def _choices(where: str, raw: Any, values: dict) -> tuple[Choice, ...]:
    _require(isinstance(raw, list) and len(raw) >= 2, where,
             f"expected 'choices' to be a list of 2 or more; found {raw!r}.")
    out = []
    for c in raw:
        _require(isinstance(c, dict) and set(c) == {"key", "text", "correct", "feedback"}, where,
                 f"expected each choice to have exactly key, text, correct, feedback; found {c!r}.")
        _require(isinstance(c["key"], str) and re.fullmatch(r"[a-z]", c["key"]), where,
                 f"expected choice keys to be one letter a-z; found {c['key']!r}.")
        _require(isinstance(c["correct"], bool), where,
                 f"expected 'correct' to be true or false; found {c['correct']!r}.")
        out.append(Choice(c["key"], _text(where, c, "text", values), c["correct"],
                          _text(where, c, "feedback", values)))
    keys = [c.key for c in out]
    _require(len(set(keys)) == len(keys), where, f"choice keys must be unique; found {keys}.")
    n_correct = sum(c.correct for c in out)
    _require(n_correct == 1, where, f"expected exactly one correct choice; found {n_correct}.")
    return tuple(out)


def _question(where: str, raw: Any, lesson: str, matrices: dict) -> Question:
    _require(isinstance(raw, dict), where, f"expected a question object; found {raw!r}.")
    qid, kind = raw.get("id"), raw.get("type")
    _require(isinstance(qid, str) and _ID.fullmatch(qid), where,
             f"expected 'id' to be lowercase words joined by '-'; found {qid!r}.")
    where = f"{where}, question {qid!r}"
    _require(isinstance(kind, str) and kind in _KEYS, where,
             f"expected 'type' to be one of {', '.join(_KEYS)}; found {kind!r}.")
    unknown = sorted(set(raw) - _KEYS[kind])
    _require(not unknown, where, f"unknown key(s) {unknown} for a {kind} question; "
             f"allowed: {sorted(_KEYS[kind])}.")
    m = _metrics(where, raw["from_counts"], matrices) if "from_counts" in raw else None
    values: dict[str, Any] = template_values(m) if m else {}
    if kind == "multiple_choice":
        choices = _choices(where, raw.get("choices"), values)
        return MultipleChoice(qid, lesson, _text(where, raw, "prompt", values), choices,
                              _text(where, raw, "explanation", values))
    _require(("answer" in raw) != ("metric" in raw), where, "expected either a literal 'answer' "
             "(for an input quantity) or 'from_counts' with a 'metric' (for a result).")
    if "metric" in raw:
        _require(m is not None and raw["metric"] in METRIC_NAMES, where, "expected 'metric' among "
                 f"{', '.join(METRIC_NAMES)}, with 'from_counts'; found {raw['metric']!r}.")
        values["answer"] = m.get(raw["metric"])  # type: ignore[union-attr]  # m checked above
        related = tuple((name, float(m.get(name))) for name in ("accuracy", "precision", "recall",  # type: ignore[union-attr]
                                                                  "f1") if name != raw["metric"])
    else:
        related = ()
        values["answer"] = _number(where, "answer", raw["answer"])
    unit = raw.get("unit", "")
    _require(isinstance(unit, str), where, f"expected 'unit' to be a string; found {unit!r}.")
    return Numeric(qid, lesson, _text(where, raw, "prompt", values), values["answer"],
                   _number(where, "tolerance", raw.get("tolerance"), minimum=0.0),
                   _text(where, raw, "explanation", values), unit, raw.get("metric", ""), related)


def load_bank(path: str | os.PathLike[str] | Traversable) -> tuple[Question, ...]:
    """Load and validate one lesson's JSON question file.

    >>> from importlib.resources import files
    >>> bank = load_bank(files("course_lib") / "questions" / "00_metrics_that_matter.json")
    >>> bank[0].id, bank[0].lesson
    ('fraud-self-check', '00')

    Raises :class:`~course_lib.errors.CourseLibError` naming the file and the problem
    when the file is not valid JSON or a question is malformed.
    """
    where = str(path)
    file = path if hasattr(path, "read_bytes") else Path(path)
    try:
        data = json.loads(file.read_bytes().decode("utf-8"))  # type: ignore[union-attr]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(where, f"could not read it as JSON ({exc}).") from None
    _require(isinstance(data, dict) and isinstance(data.get("questions"), list), where,
             "expected an object with 'lesson' and a list of 'questions'.")
    lesson, matrices = data.get("lesson"), data.get("matrices", {})
    _require(isinstance(lesson, str) and _LESSON.fullmatch(lesson), where,
             f"expected 'lesson' to be two digits such as '00'; found {lesson!r}.")
    _require(isinstance(matrices, dict), where,
             f"expected 'matrices' to map names to counts; found {matrices!r}.")
    bank = tuple(_question(where, q, lesson, matrices) for q in data["questions"])
    ids = [q.id for q in bank]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    _require(not dupes, where, f"question ids must be unique; repeated: {', '.join(dupes)}.")
    return bank


@lru_cache(maxsize=1)
def _bank() -> dict[str, Question]:
    folder = resources.files("course_lib") / "questions"
    out: dict[str, Question] = {}
    for file in sorted((f for f in folder.iterdir() if f.name.endswith(".json")),
                       key=lambda f: f.name):
        for q in load_bank(file):
            if q.id in out:
                raise _bad(str(file), f"question id {q.id!r} is already used in lesson "
                           f"{out[q.id].lesson}; ids must be unique across the bank.")
            out[q.id] = q
    return out


# -- public lookups ----------------------------------------------------------------

def questions(lesson: str | None = None) -> list[str]:
    """Ids of the questions in the bank, in bank order, optionally of one lesson.

    >>> questions("00")[:2]
    ['fraud-self-check', 'worked-matrix-precision']

    A lesson without questions is refused, naming the lessons that have some.
    """
    if lesson is None:
        return list(_bank())
    if not isinstance(lesson, str) or not lesson.strip().isdigit():
        raise InvalidInputError(f"expected a lesson number such as '00' or '01'; found "
                                f"{lesson!r}. Fix: questions() with no argument lists every id.")
    lesson = lesson.strip().zfill(2)
    found = [qid for qid, q in _bank().items() if q.lesson == lesson]
    if not found:
        known = sorted({q.lesson for q in _bank().values()})
        raise InvalidInputError(
            f"expected a lesson that has questions; found no questions in lesson {lesson}. "
            f"Lessons with questions: {', '.join(map(repr, known))}. Fix: pass one of them, or questions() "
            "with no argument for every id.")
    return found


def bank_lessons() -> dict[str, str]:
    """Every question id and its lesson, in bank order (what progress tables count).

    >>> bank_lessons()["l04-worked-v1-precision"]
    '04'
    """
    return {qid: q.lesson for qid, q in _bank().items()}


def question(question_id: str) -> Question:
    """The question with this id.

    >>> question("worked-matrix-recall").answer
    0.9
    """
    return _find(question_id)


def renamed(question_id: str) -> str | None:
    """The id a question of an earlier version of the course has now, or None.

    >>> renamed("seed-matrix-f1"), renamed("l04-seed-v1-precision"), renamed("fraud-self-check")
    ('worked-matrix-f1', 'l04-worked-v1-precision', None)
    """
    new = re.sub(r"^(seed-matrix|l\d\d-seed)-", lambda m: m[1].replace("seed", "worked") + "-",
                 question_id.strip())
    return new if new != question_id.strip() and new in _bank() else None


def _find(question_id: object) -> Question:
    bank = _bank()
    if isinstance(question_id, str) and question_id.strip() in bank:
        return bank[question_id.strip()]
    new = renamed(question_id) if isinstance(question_id, str) else None
    if new is not None:
        raise UnknownQuestionError(
            f'expected the id of a question in the bank; found {question_id!r}, the old name of '
            f'"{new}". Fix: use the new id, e.g. check("{new}", ...).')
    close = difflib.get_close_matches(str(question_id), bank, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownQuestionError(
        f"expected the id of a question in the bank; found {question_id!r}.{hint} "
        "Fix: course_lib.questions() lists every id (questions('00') those of lesson 00).")


# -- grading -------------------------------------------------------------------------

#: How each metric is computed, for the hint after a wrong number.
FORMULAS = {"accuracy": "(TP + TN) / total", "precision": "TP / (TP + FP)",
            "recall": "TP / (TP + FN)", "f1": "2·TP / (2·TP + FP + FN)"}
_EXAMPLES = (0.5, 0.25, 0.75, 12.5, 100.0)


def _show(x: float, tolerance: float) -> str:
    decimals = max(0, math.ceil(-math.log10(tolerance))) if tolerance > 0 else 6
    return f"{x:.{decimals}f}"


def _example(q: Question) -> str:
    """An answer in the right form that is not the right answer (for the placeholder message)."""
    if isinstance(q, MultipleChoice):
        return f'"{next(c.key for c in q.choices if not c.correct)}"'
    far = [x for x in _EXAMPLES if abs(x - q.answer) > max(10 * q.tolerance, 0.05 * abs(q.answer))]
    return f"{(far or [q.answer + 10 * q.tolerance + 1])[0]:g}"


def placeholder_message(q: Question) -> str:
    """What a placeholder answer gets: how to answer, with an example that is not the answer.

    >>> placeholder_message(question("fraud-self-check"))
    'Replace ... with your answer, e.g. check("fraud-self-check", "a").'
    """
    return f'Replace ... with your answer, e.g. check("{q.id}", {_example(q)}).'


def _placeholder(answer: object) -> bool:
    return answer is ... or answer is None or (isinstance(answer, str) and not answer.strip())


def _not_graded(q: Question, message: str) -> Feedback:
    return Feedback(False, message, q.id, graded=False)


def _parse_number(answer: object, q: Numeric) -> float | str:
    """The answer as a float, or a message saying what was expected."""
    example = f"a number in {q.unit}, such as {_example(q)}" if q.unit else \
        f"a number, such as {_example(q)} (or {float(_example(q)):.0%})"
    expected = f"Answer with {example}; {reprlib.repr(answer)} is not a number."
    if isinstance(answer, bool) or not isinstance(answer, (numbers.Real, str)):
        return expected
    if isinstance(answer, str):
        text, scale = answer.strip(), 1.0
        if text.endswith("%"):
            text, scale = text[:-1].strip(), 0.01
        try:
            value = float(text) * scale
        except ValueError:
            if re.fullmatch(r"[-+]?\d*,\d+", text):
                return f"Write the number with a decimal point, such as 0.75, not {answer!r}."
            return expected
    else:
        try:
            value = float(answer)
        except OverflowError:
            return expected
    return value if math.isfinite(value) else expected


def _near(value: float, target: float, tolerance: float) -> bool:
    return abs(value - target) <= tolerance + 1e-12


def _grade_numeric(q: Numeric, answer: object) -> Feedback:
    value = _parse_number(answer, q)
    if isinstance(value, str):
        return _not_graded(q, value)
    unit = f" {q.unit}" if q.unit else ""
    shown = f"{value:g}"
    if _near(value, q.answer, q.tolerance):
        return Feedback(True, f"{shown}{unit} is within {q.tolerance:g} of "
                        f"{_show(q.answer, q.tolerance)}{unit}. {q.explanation}", q.id)
    if not q.unit and 0 <= q.answer <= 1 and 1 < value <= 100 and \
            _near(value / 100, q.answer, q.tolerance):
        return _not_graded(q, f"{value:g} looks like a percentage: write {value / 100:g} "
                              f"or {value:g}%.")
    hint = f"{shown}{unit} is too {'high' if value > q.answer else 'low'}."
    mixed = [name for name, other in q.related if _near(value, other, q.tolerance)]
    if mixed and q.metric in FORMULAS:
        hint += (f" That is the {mixed[0]} of these counts ({FORMULAS[mixed[0]]}); the question "
                 f"asks for the {q.metric}: {FORMULAS[q.metric]}.")
    elif q.metric in FORMULAS:
        hint += (f" {q.metric.capitalize() if q.metric != 'f1' else 'F1'} = {FORMULAS[q.metric]}: "
                 "put in the counts from the question.")
    return Feedback(False, f"{hint} Try again.", q.id)


def _grade_choice(q: MultipleChoice, answer: object) -> Feedback:
    keys = [c.key for c in q.choices]
    key = answer.strip().lower() if isinstance(answer, str) else None
    if key not in keys:
        letters = f"{', '.join(keys[:-1])} or {keys[-1]}"
        return _not_graded(q, f"Answer with the letter of one choice, {letters}; "
                              f"{reprlib.repr(answer)} is not one of them.")
    picked = next(c for c in q.choices if c.key == key)
    if picked.correct:
        return Feedback(True, f"{picked.feedback} {q.explanation}", q.id)
    return Feedback(False, f"{picked.feedback} Try again.", q.id)


def grade(question: Question | str, answer: object) -> Feedback:
    """Grade an answer, recording nothing: a choice key for multiple choice, a number for numeric.

    >>> grade("worked-matrix-recall", "90%").correct, grade("worked-matrix-recall", "abc").message
    (True, "Answer with a number, such as 0.5 (or 50%); 'abc' is not a number.")

    A wrong answer gets a hint and "Try again."; the explanation comes with the right
    answer only (or from :func:`answer`). Never raises on the answer; an unknown question
    id raises :class:`~course_lib.errors.UnknownQuestionError`.
    """
    q = _find(question) if isinstance(question, str) else question
    if not isinstance(q, (MultipleChoice, Numeric)):
        raise InvalidInputError(f"expected a question id or a Question; found {question!r}. "
                                'Fix: grade("fraud-self-check", "a").')
    if _placeholder(answer):
        return _not_graded(q, placeholder_message(q))
    return _grade_choice(q, answer) if isinstance(q, MultipleChoice) else _grade_numeric(q, answer)


def check(question_id: str, answer: object = ...) -> Feedback:
    """Grade an answer to the question with this id and record it in your progress file.

    >>> print(check("which-metric-fraud", "a"))  # doctest: +ELLIPSIS
    Not quite. Accuracy is dominated by ... Try again, or see the answer with answer("which-metric-fraud").

    ``check(question_id, ...)`` (the placeholder of the lessons), ``None`` or ``""``
    says how to answer and records nothing. See :mod:`course_lib.progress` for where
    the progress file is.
    """
    from course_lib import progress

    q = _find(question_id)
    feedback = grade(q, answer)
    if feedback.graded:
        progress.record(q.id, q.lesson, feedback.correct)
    if feedback.graded and not feedback.correct:
        return dataclasses.replace(
            feedback, message=f'{feedback.message[:-1]}, or see the answer with answer("{q.id}").')
    return feedback


@dataclass(frozen=True, repr=False)
class Answer(_display.Report):
    """The answer to a question and why ("show answer"): ``str()`` for print, HTML in Jupyter."""

    question_id: str
    message: str
    ok = True

    @property
    def verdict(self) -> str:
        """The answer and its explanation."""
        return self.message

    def _repr_html_(self) -> str:
        return (f'<div style="border-left:4px solid {_display.GREEN};background:#f6f8fa;'
                f'padding:6px 10px">{html.escape(self.message)}</div>')


def answer(question_id: str) -> Answer:
    """The answer to a question, with its explanation; noted in your progress file as shown.

    >>> print(answer("worked-matrix-recall"))  # doctest: +ELLIPSIS
    The answer is 0.900. Recall = TP / (TP + FN) = 90 / (90 + 10) = 0.900: ...

    An exercise whose answer you saw before answering it right does not count as right
    on the first try.
    """
    from course_lib import progress

    q = _find(question_id)
    if isinstance(q, MultipleChoice):
        right = next(c for c in q.choices if c.correct)
        message = f'The answer is ({right.key}): "{right.text.rstrip(".")}". {q.explanation}'
    else:
        unit = f" {q.unit}" if q.unit else ""
        message = f"The answer is {_show(q.answer, q.tolerance)}{unit}. {q.explanation}"
    progress.record_shown(q.id, q.lesson)
    return Answer(q.id, message)
