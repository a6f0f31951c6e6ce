"""The ``course-lib`` command.

>>> main(["--version"])  # doctest: +SKIP
course-lib 0.1.0

Verbs:

* ``course-lib questions [--lesson NN]``: list the exercise ids.
* ``course-lib check QUESTION_ID ANSWER``: grade an answer from the shell; the
  exit code is 0 when it is right, 1 when it is not.

Later lessons add instructor verbs (validation, registry inspection).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from course_lib import __version__
from course_lib.errors import CourseLibError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course-lib", description="Helpers of the TensorFlow model-persistence course.")
    parser.add_argument("--version", action="version", version=f"course-lib {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    q = verbs.add_parser("questions", help="list the exercise ids")
    q.add_argument("--lesson", help="only this lesson, e.g. 00")
    c = verbs.add_parser("check", help="grade an answer to an exercise")
    c.add_argument("question_id")
    c.add_argument("answer")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    >>> main(["check", "seed-matrix-accuracy", "0.875"])  # doctest: +SKIP
    Correct. ...
    0
    """
    from course_lib import exercises

    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.verb == "questions":
            for qid in exercises.questions(args.lesson):
                print(qid)
            return 0
        if args.verb == "check":
            feedback = exercises.check(args.question_id, args.answer)
            print(feedback)
            return 0 if feedback.correct else 1
    except CourseLibError as exc:
        print(f"course-lib: {exc}", file=sys.stderr)
        return 2
    parser.print_help()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
