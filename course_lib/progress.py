"""Your progress through the exercises: a small local file that survives kernel restarts.

>>> from course_lib import progress
>>> from course_lib.exercises import check, question
>>> right, wrong = (next(c.key for c in question("fraud-self-check").choices if c.correct is ok)
...                 for ok in (True, False))
>>> _ = check("fraud-self-check", wrong)         # wrong: one attempt
>>> _ = check("fraud-self-check", right)         # right on the second try
>>> r = progress.load().records["fraud-self-check"]
>>> r.attempts, r.done, r.first_try
(2, True, False)

Every graded answer given with :func:`course_lib.exercises.check` or in a quiz widget is
recorded here, per question: the attempts, whether the first one was right, whether it is
done (answered right), whether the answer was shown first (:func:`course_lib.exercises.answer`),
and when. A placeholder (``...``), an empty answer or one that is not read as an answer
(a letter that is no choice) is not recorded.

**Where.** The file named by ``COURSE_LIB_PROGRESS`` if set, else
``$XDG_DATA_HOME/course-lib/progress.json`` (``~/.local/share/course-lib/progress.json``
when ``XDG_DATA_HOME`` is not set): one file per learner, in their own home folder.
``COURSE_LIB_LEARNER`` names the learner in a new file (default: the login name); an
instructor gives each learner's file its own name when collecting them.

**Safe to keep.** Written atomically (the old file or the new, never half of one), at
most :data:`MAX_BYTES` bytes and :data:`MAX_QUESTIONS` questions, each field checked when
read. A file that cannot be read as a progress file (corrupt, crafted, too big) is never
trusted: reading it for a table (:func:`load`, ``course-lib progress``, ``grades``) raises
:class:`~course_lib.errors.InvalidInputError` naming the file and the problem; recording
an answer into it moves it aside (``progress.json.bad-YYYYMMDDTHHMMSS``, kept for you to
look at), warns once, and starts a new file. Two notebooks answering at the same instant
may lose one of the two records (the last write wins).
"""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from course_lib import _display, _fs
from course_lib.errors import CourseLibError, InvalidInputError

__all__ = [
    "ENV",
    "GRADE_COLUMNS",
    "MAX_BYTES",
    "MAX_QUESTIONS",
    "LessonProgress",
    "Progress",
    "ProgressReport",
    "Record",
    "default_path",
    "grades",
    "load",
    "record",
    "record_shown",
    "summary",
]

#: The variable that names the progress file (tests and ``make test`` point it at a temp file).
ENV = "COURSE_LIB_PROGRESS"
#: Largest progress file read, in bytes (a full course takes about 10 KB).
MAX_BYTES = 1_000_000
#: Most questions one file may hold.
MAX_QUESTIONS = 2_000
#: The columns of :func:`grades`' CSV, one row per learner and lesson.
GRADE_COLUMNS = ("learner", "file", "lesson", "exercises", "done", "right_first_try", "left",
                 "attempts", "last_answer")
FORMAT, VERSION = "course-lib-progress", 1
_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_MAX_ATTEMPTS = 10**6


def default_path() -> Path:
    """The progress file: ``$COURSE_LIB_PROGRESS``, else the user's data folder.

    >>> default_path().name
    'progress.json'
    """
    if os.environ.get(ENV, "").strip():
        return Path(os.environ[ENV]).expanduser()
    data = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(data) if data and Path(data).is_absolute() else Path.home() / ".local" / "share"
    return base / "course-lib" / "progress.json"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _learner() -> str:
    name = os.environ.get("COURSE_LIB_LEARNER", "").strip()
    if not name:
        try:
            name = getpass.getuser()
        except (OSError, KeyError):  # no login name in some containers
            name = "learner"
    return name[:100]


@dataclass(frozen=True)
class Record:
    """One question's progress: attempts, right on the first try, done, shown, when."""

    lesson: str
    attempts: int = 0
    first_try: bool = False
    done: bool = False
    shown: bool = False
    first: str = ""
    last: str = ""


@dataclass(frozen=True)
class Progress:
    """A learner's progress file, read: ``records`` maps question ids to :class:`Record`."""

    learner: str
    records: dict[str, Record] = field(default_factory=dict)

    def to_json(self) -> str:
        """The file's text."""
        questions = {qid: vars(r) for qid, r in sorted(self.records.items())}
        return json.dumps({"format": FORMAT, "version": VERSION, "learner": self.learner,
                           "questions": questions}, indent=1) + "\n"


def _bad(path: Path, problem: str) -> InvalidInputError:
    return InvalidInputError(
        f"expected {path} to be a course-lib progress file; {problem}. Fix: if it is yours, "
        "move it aside (answering an exercise starts a new one); if it was handed in, ask its "
        "owner for a fresh copy.")


def _record(path: Path, qid: object, raw: object) -> tuple[str, Record]:
    if not (isinstance(qid, str) and len(qid) <= 100 and _ID.fullmatch(qid)):
        raise _bad(path, f"it holds a question id that is not one ({_short(qid)})")
    kinds = {"lesson": str, "attempts": int, "first_try": bool, "done": bool, "shown": bool,
             "first": str, "last": str}
    if not isinstance(raw, dict) or set(raw) != set(kinds) or any(
            type(raw[k]) is not t for k, t in kinds.items()):
        raise _bad(path, f"the record of {qid!r} is not {sorted(kinds)} with the right types")
    r = Record(**raw)
    if not (re.fullmatch(r"\d\d", r.lesson) and 0 <= r.attempts <= _MAX_ATTEMPTS
            and all(t == "" or _TIME.fullmatch(t) for t in (r.first, r.last))
            and (r.attempts > 0 or not (r.done or r.first_try)) and (r.done or not r.first_try)):
        raise _bad(path, f"the record of {qid!r} has values no answer gives ({raw})")
    return qid, r


def _short(value: object) -> str:
    """A value as shown in a message, at most 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def load(path: str | os.PathLike[str] | None = None) -> Progress:
    """Read a progress file (the learner's own when ``path`` is None); a missing one is empty.

    >>> load().learner != ""
    True

    A file that is not a valid progress file raises
    :class:`~course_lib.errors.InvalidInputError` naming it and the problem.
    """
    where = Path(path) if path is not None else default_path()
    try:
        raw = _fs.read_file(where, MAX_BYTES)
    except FileNotFoundError:
        return Progress(_learner())
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _bad(where, f"it is not JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or \
            data.get("version") != VERSION:
        raise _bad(where, f'it does not start with "format": "{FORMAT}", "version": {VERSION}')
    learner, questions = data.get("learner"), data.get("questions")
    if not (isinstance(learner, str) and 0 < len(learner) <= 100) or \
            not isinstance(questions, dict) or len(questions) > MAX_QUESTIONS:
        raise _bad(where, "its learner or questions are missing, of the wrong type or too many")
    return Progress(learner, dict(_record(where, q, r) for q, r in questions.items()))


def _update(question_id: str, lesson: str, change: str, *, correct: bool = False) -> Record:
    path = default_path()
    try:
        current = load(path)
    except InvalidInputError as exc:
        kept = path.with_name(f"{path.name}.bad-{_now().replace('-', '').replace(':', '')[:-1]}")
        with _fs.disk(f"move {path} aside"):
            os.replace(path, kept)
        warnings.warn(f"Your progress file could not be read, so a new one was started; the old "
                      f"one is kept as {kept}. ({exc})", RuntimeWarning, stacklevel=3)
        current = Progress(_learner())
    old = current.records.get(question_id)
    if old is None and len(current.records) >= MAX_QUESTIONS:
        return Record(lesson)
    old = old or Record(lesson, first=_now())
    if change == "shown":
        new = replace(old, shown=True, last=_now())
    else:
        first_try = correct and old.attempts == 0 and not old.shown
        new = replace(old, lesson=lesson, attempts=min(old.attempts + 1, _MAX_ATTEMPTS),
                      first_try=old.first_try or first_try, done=old.done or correct, last=_now())
    records = {**current.records, question_id: new}
    path.parent.mkdir(parents=True, exist_ok=True)
    _fs.write_atomic(path, Progress(current.learner, records).to_json())
    return new


def _quietly(question_id: str, lesson: str, change: str, correct: bool) -> Record:
    """Record, but never let a disk that refuses stop the learner's answer from being shown."""
    try:
        return _update(question_id, lesson, change, correct=correct)
    except (CourseLibError, OSError) as exc:
        warnings.warn(f"Your answer was graded but could not be saved in your progress file: "
                      f"{exc}", RuntimeWarning, stacklevel=3)
        return Record(lesson)


def record(question_id: str, lesson: str, correct: bool) -> Record:
    """Record one graded answer in the learner's progress file; returns the question's record.

    >>> record("worked-matrix-f1", "00", True).first_try
    True
    """
    return _quietly(question_id, lesson, "answer", correct)


def record_shown(question_id: str, lesson: str) -> Record:
    """Note that the answer of a question was shown (it no longer counts as right first time).

    >>> record_shown("worked-matrix-accuracy", "00").shown
    True
    """
    return _quietly(question_id, lesson, "shown", False)


@dataclass(frozen=True)
class LessonProgress:
    """One lesson's line: exercises, done, right on the first try, left, attempts, last answer."""

    lesson: str
    exercises: int
    done: int
    right_first_try: int
    attempts: int
    last_answer: str

    @property
    def left(self) -> int:
        """Exercises not yet answered right."""
        return self.exercises - self.done


def _lessons(p: Progress, bank: Mapping[str, str]) -> list[LessonProgress]:
    rows = []
    for lesson in sorted(set(bank.values())):
        ids = [qid for qid, les in bank.items() if les == lesson]
        recs = [p.records[q] for q in ids if q in p.records]
        rows.append(LessonProgress(lesson, len(ids), sum(r.done for r in recs),
                                   sum(r.first_try for r in recs), sum(r.attempts for r in recs),
                                   max((r.last for r in recs if r.attempts), default="")))
    return rows


@dataclass(frozen=True, repr=False)
class ProgressReport(_display.Report):
    """Each lesson's exercises done, right on the first try, and left (``course-lib progress``)."""

    learner: str
    path: Path
    lessons: tuple[LessonProgress, ...]
    ok = True

    def table(self) -> tuple[list[str], list[list[object]]]:
        """One row per lesson."""
        return (["lesson", "exercises", "done", "right first try", "left"],
                [[r.lesson, r.exercises, r.done, r.right_first_try, r.left] for r in self.lessons])

    @property
    def verdict(self) -> str:
        """Done of all, in one line."""
        done, total = sum(r.done for r in self.lessons), sum(r.exercises for r in self.lessons)
        first = sum(r.right_first_try for r in self.lessons)
        return (f"{self.learner}: {done} of {total} exercises done, {first} right on the first "
                f"try, {total - done} left ({self.path})")


def summary(bank: Mapping[str, str], path: str | os.PathLike[str] | None = None) -> ProgressReport:
    """The table of :class:`ProgressReport` for a bank (question id -> lesson).

    >>> print(summary({"fraud-self-check": "00", "worked-matrix-f1": "00"}, "none.json"))
    lesson  exercises  done  right first try  left
        00          2     0                0     2
    ... 0 of 2 exercises done, 0 right on the first try, 2 left (none.json)
    """
    where = Path(path) if path is not None else default_path()
    p = load(where)
    return ProgressReport(p.learner, where, tuple(_lessons(p, bank)))


def grades(files: Iterable[str | os.PathLike[str]], bank: Mapping[str, str]) -> str:
    """Several learners' progress files as one CSV: one row per learner and lesson.

    >>> print(grades([], {"fraud-self-check": "00"}).strip())
    learner,file,lesson,exercises,done,right_first_try,left,attempts,last_answer

    The columns are :data:`GRADE_COLUMNS`; ``file`` tells apart two learners of the same
    login name. A file that is not a progress file raises, naming it.
    """
    def cell(text: str) -> str:  # a spreadsheet runs a cell that starts with = + - @
        return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(GRADE_COLUMNS)
    for f in files:
        if not Path(f).exists():
            raise InvalidInputError(f"expected {f} to be a learner's progress file; there is no "
                                    "such file. Fix: check the path (course-lib grades a.json b.json).")
        p = load(f)
        for r in _lessons(p, bank):
            writer.writerow([cell(p.learner), cell(str(f)), r.lesson, r.exercises, r.done, r.right_first_try,
                             r.left, r.attempts, r.last_answer])
    return out.getvalue()

