"""The ``course-lib`` command.

>>> main(["questions", "--lesson", "00"])
fraud-self-check
seed-matrix-precision
...
0

Verbs:

* ``course-lib questions [--lesson NN]``: list the exercise ids.
* ``course-lib check QUESTION_ID ANSWER``: grade an answer from the shell; the
  exit code is 0 when it is right, 1 when it is not.
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
  - ``rollback ROOT NAME``: production back to the version before.

Exit codes: 0 done; 1 the check ran and said no (a file differs, the policy refused,
versions evaluated on different data, nothing to roll back to); 2 bad input (an
unknown id, a name outside the allow-list, a missing registry).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from course_lib import __version__
from course_lib.errors import CourseLibError, RefusedError


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
    # These verbs have their own parsers (see main()): registry in course_lib.registry.commands,
    # validate and doctor in course_lib.instructor.
    verbs.add_parser(
        "registry", help="inspect and manage a model registry folder (TF Serving layout)")
    verbs.add_parser("validate", help="validate the course notebooks with nbval (see: validate --help)")
    verbs.add_parser("doctor", help="check this environment for the course (see: doctor --help)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    >>> main(["check", "seed-matrix-accuracy", "0.875"])
    Correct. 0.875 is within 0.005 of 0.875. ...
    0
    """
    from course_lib import exercises

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("validate", "doctor"):
        from course_lib import instructor

        run = instructor.validate_main if argv[0] == "validate" else instructor.doctor_main
        return run(argv[1:])
    parser = _parser()
    try:
        if argv and argv[0] == "registry":
            from course_lib.registry import commands

            return commands.main(argv[1:])
        args = parser.parse_args(argv)
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
        return 1 if isinstance(exc, RefusedError) else 2
    parser.print_help()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
