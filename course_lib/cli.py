"""The ``course-lib`` command.

>>> main(["questions", "--lesson", "00"])
fraud-self-check
worked-matrix-precision
...
0

Verbs:

* ``course-lib questions [--lesson NN]``: list the exercise ids.
* ``course-lib check QUESTION_ID ANSWER``: grade an answer from the shell; the
  exit code is 0 when it is right, 1 when it is not.
* ``course-lib answer QUESTION_ID``: the answer to an exercise and why (noted in your
  progress: it no longer counts as right on the first try).
* ``course-lib progress [--file PATH]``: your exercises done, right on the first try and
  left, per lesson (the progress file of :mod:`course_lib.progress`).
* ``course-lib grades FILE ... [--out CSV]``: several learners' progress files as one CSV,
  one row per learner and lesson (columns: ``progress.GRADE_COLUMNS``), on stdout or in
  ``--out``; a file that is not a progress file exits 2, naming it.
* ``course-lib validate [NOTEBOOK ...]``: validate the course notebooks with nbval
  (a table per notebook, ``--junit-xml``; see :mod:`course_lib.instructor`).
* ``course-lib doctor``: check the environment the course needs, with fixes.
* ``course-lib registry ACTION ROOT ...``: inspect and manage a model registry
  folder (lesson 04, :mod:`course_lib.registry.commands`):

  - ``list ROOT [NAME]``: the models, or the versions of one model (aliases,
    evaluation set, metrics, size, latency; invalid folders flagged);
  - ``show ROOT NAME REF``: one version's manifest (REF: a number, an alias, ``latest``);
  - ``verify ROOT NAME [REF]``: check every file's sha256 (all versions without REF);
  - ``compare ROOT NAME A B``: metrics, deltas, size and latency of two versions;
  - ``promote ROOT NAME REF [--min METRIC=VALUE] [--max METRIC=VALUE] [--max-drop D]
    ...``: move the production alias if the version passes every rule of the promotion
    policy (``--min macro_f1=0.8``, ``--max rmse=60``, ``--min-recall 0.8``);
  - ``rollback ROOT NAME``: production back to the version before;
  - ``keygen DIR``: a signing key pair; ``--public-key PEM`` on show, verify, promote and
    rollback checks signatures (see :mod:`course_lib.registry.signing`).

Exit codes, the same for every verb (:func:`exit_code` maps an error to its code):

====  =========================================================================================
code  meaning
====  =========================================================================================
0     done (``--help`` and ``--version`` too)
1     the check ran and said no: a wrong answer to ``check``, a file that differs from its
      manifest or a signature that does not hold (``IntegrityError``, ``SignatureError``,
      TF.js files unlike their recorded sha256: ``TamperedModelError``), the
      promotion policy refused, versions evaluated on different data, nothing to roll back to
      (every ``RefusedError``), a notebook or an environment check that failed
2     bad input: a usage error, an unknown question id or lesson, a name outside the
      allow-list, a missing registry, model or version, a file that is not a valid manifest
      or model (``InvalidInputError``, ``VersionNotFoundError``, ``InvalidVersionError``,
      ``UnknownQuestionError``, ``NotebookNotFoundError``, ``ModelFileError``...: any other
      ``CourseLibError``)
3     the machine or a dependency failed: the disk refused a write or read (``StorageError``),
      a package, Node or TF.js is missing or failed (``MissingDependencyError``,
      ``TfjsRuntimeError``)
4     an unexpected error (a bug in course-lib): one line names it; rerun with
      ``--traceback`` (or ``COURSE_LIB_TRACEBACK=1``) for the traceback
====  =========================================================================================

A ``CourseLibError`` prints its message (what was expected, what was found, the fix) on
stderr and no traceback, unless ``--traceback`` is given (anywhere on the command line) or
``COURSE_LIB_TRACEBACK=1`` is set.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from course_lib import __version__, errors
from course_lib.errors import CourseLibError, RefusedError

__all__ = ["DONE", "MACHINE", "MACHINE_ERRORS", "REFUSED", "UNEXPECTED", "USAGE", "exit_code",
           "main"]

DONE, REFUSED, USAGE, MACHINE, UNEXPECTED = 0, 1, 2, 3, 4
#: Set to 1 to print the traceback of any error (the same as ``--traceback``).
TRACEBACK_VARIABLE = "COURSE_LIB_TRACEBACK"


#: Errors of the machine or a dependency (exit code 3); every other CourseLibError is 2 or 1.
MACHINE_ERRORS: tuple[type[CourseLibError], ...] = (
    errors.StorageError, errors.MissingDependencyError, errors.TfjsRuntimeError)


def exit_code(exc: BaseException) -> int:
    """The exit code of the ``course-lib`` command for an error (the table in this module).

    >>> from course_lib.errors import IntegrityError, InvalidNameError, MissingDependencyError
    >>> [exit_code(e) for e in (IntegrityError("x"), InvalidNameError("x"),
    ...                         MissingDependencyError("x"), KeyError("x"))]
    [1, 2, 3, 4]
    """
    if not isinstance(exc, CourseLibError):
        return UNEXPECTED
    if isinstance(exc, (RefusedError, errors.TamperedModelError)):  # tampering is a refusal
        return REFUSED
    if isinstance(exc, MACHINE_ERRORS):
        return MACHINE
    return USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course-lib", description="Helpers of the TensorFlow model-persistence course.",
        epilog="Exit codes: 0 done, 1 the check said no, 2 bad input, 3 the machine or a "
               "dependency failed, 4 an unexpected error (rerun with --traceback).")
    parser.add_argument("--version", action="version", version=f"course-lib {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help=f"print the traceback of an error (or set {TRACEBACK_VARIABLE}=1)")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    q = verbs.add_parser("questions", help="list the exercise ids")
    q.add_argument("--lesson", help="only this lesson, e.g. 00")
    c = verbs.add_parser("check", help="grade an answer to an exercise")
    c.add_argument("question_id")
    c.add_argument("answer")
    a = verbs.add_parser("answer", help="show the answer to an exercise, and why")
    a.add_argument("question_id")
    pr = verbs.add_parser("progress", help="your exercises done, right first time and left, per lesson")
    pr.add_argument("--file", help="a progress file (default: yours; see COURSE_LIB_PROGRESS)")
    g = verbs.add_parser("grades", help="learners' progress files as one CSV (a row per learner and lesson)")
    g.add_argument("files", nargs="+", metavar="FILE", help="progress files, one per learner")
    g.add_argument("--out", help="write the CSV to this file instead of stdout")
    # These verbs have their own parsers (see _run()): registry in course_lib.registry.commands,
    # validate and doctor in course_lib.instructor.
    verbs.add_parser(
        "registry", help="inspect and manage a model registry folder (TF Serving layout)")
    verbs.add_parser("validate", help="validate the course notebooks with nbval (see: validate --help)")
    verbs.add_parser("doctor", help="check this environment for the course (see: doctor --help)")
    return parser


def _run(argv: list[str]) -> int:
    from course_lib import exercises

    if argv and argv[0] in ("validate", "doctor"):
        from course_lib import instructor

        run = instructor.validate_main if argv[0] == "validate" else instructor.doctor_main
        return run(argv[1:])
    if argv and argv[0] == "registry":
        from course_lib.registry import commands

        return commands.main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if args.verb == "questions":
        for qid in exercises.questions(args.lesson):
            print(qid)
        return DONE
    if args.verb == "check":
        feedback = exercises.check(args.question_id, args.answer)
        print(feedback)
        return DONE if feedback.correct else REFUSED
    if args.verb == "answer":
        print(exercises.answer(args.question_id))
        return DONE
    if args.verb in ("progress", "grades"):
        return _progress(args)
    parser.print_help()
    return DONE


def _progress(args: argparse.Namespace) -> int:
    from pathlib import Path

    from course_lib import _fs, exercises, progress

    if args.verb == "progress":
        print(progress.summary(exercises.bank_lessons(), args.file))
        return DONE
    table = progress.grades(args.files, exercises.bank_lessons())
    if args.out:
        _fs.write_atomic(Path(args.out), table)
        print(f"wrote {len(table.splitlines()) - 1} rows to {args.out}")
    else:
        print(table, end="")
    return DONE


def _exit_status(exc: SystemExit) -> int:
    """argparse's exits (0 for --help and --version, 2 for a usage error) as a return value."""
    if exc.code is None:
        return DONE
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the table in this module), never exits.

    >>> main(["check", "worked-matrix-accuracy", "0.875"])
    Correct. 0.875 is within 0.005 of 0.875. ...
    0
    >>> main(["questions", "--lesson", "99"])   # the message goes to stderr
    2
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    show = os.environ.get(TRACEBACK_VARIABLE, "").strip() == "1" or "--traceback" in argv
    argv = [a for a in argv if a != "--traceback"]
    try:
        return _run(argv)
    except SystemExit as exc:
        return _exit_status(exc)
    except CourseLibError as exc:
        if show:
            traceback.print_exc()
        print(f"course-lib: {exc}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        print("course-lib: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 (a bug: said in one line, the traceback on request)
        if show:
            traceback.print_exc()
        text = str(exc).strip().splitlines()
        shown = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
        hint = "" if show else "; rerun with --traceback for the details"
        print(f"course-lib: unexpected error (a bug in course-lib): {shown}{hint}", file=sys.stderr)
        return UNEXPECTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
