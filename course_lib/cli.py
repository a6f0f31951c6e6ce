"""The ``course-lib`` command.

>>> main(["--version"])  # doctest: +SKIP
course-lib 0.1.0

Verbs:

* ``course-lib questions [--lesson NN]``: list the exercise ids.
* ``course-lib check QUESTION_ID ANSWER``: grade an answer from the shell; the
  exit code is 0 when it is right, 1 when it is not.
* ``course-lib validate [NOTEBOOK ...]``: validate the course notebooks with nbval
  (a table per notebook, ``--junit-xml``; see :mod:`course_lib.instructor`).
* ``course-lib doctor``: check the environment the course needs, with fixes.
* ``course-lib registry ACTION ROOT ...``: inspect and manage a model registry
  folder (lesson 04, :mod:`course_lib.registry`):

  - ``list ROOT [NAME]``: the models, or the versions of one model (aliases,
    evaluation set, metrics, size, latency; invalid folders flagged);
  - ``show ROOT NAME REF``: one version's manifest (REF: a number, an alias, ``latest``);
  - ``verify ROOT NAME [REF]``: check every file's sha256 (all versions without REF);
  - ``compare ROOT NAME A B``: metrics, deltas, size and latency of two versions;
  - ``promote ROOT NAME REF [--min-recall R] [--max-drop D] ...``: move the
    production alias if the version passes every rule of the gate;
  - ``rollback ROOT NAME``: production back to the version before.

Exit codes: 0 done; 1 the check ran and said no (a file differs, the gate refused,
versions evaluated on different data, nothing to roll back to); 2 bad input (an
unknown id, a name outside the allow-list, a missing registry).
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
    _registry_parser(verbs)
    # Instructor verbs: their own parsers live in course_lib.instructor (see main()).
    verbs.add_parser("validate", help="validate the course notebooks with nbval (see: validate --help)")
    verbs.add_parser("doctor", help="check this environment for the course (see: doctor --help)")
    return parser


def _registry_parser(verbs: argparse._SubParsersAction) -> None:
    r = verbs.add_parser(
        "registry", help="inspect and manage a model registry folder (TF Serving layout)",
        description="Inspect and manage a model registry folder: ROOT/NAME/VERSION/.")
    actions = r.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, help: str, ref: str | None = None) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help, description=help)
        p.add_argument("root", metavar="ROOT", help="the registry folder")
        if name != "list":
            p.add_argument("name", metavar="NAME", help="the model name, e.g. fraud")
        if ref == "required":
            p.add_argument("ref", metavar="REF",
                           help="a version number, an alias (production) or latest")
        elif ref == "optional":
            p.add_argument("ref", metavar="REF", nargs="?",
                           help="a version or alias (default: every version)")
        return p

    action("list", "list the models, or the versions of one model").add_argument(
        "name", metavar="NAME", nargs="?", help="a model name: list its versions")
    action("show", "show one version's manifest", ref="required")
    action("verify", "check every file of a version against its manifest", ref="optional")
    cmp = action("compare", "compare two versions on their shared evaluation set")
    cmp.add_argument("a", metavar="A", help="a version or alias")
    cmp.add_argument("b", metavar="B", help="a version or alias")
    cmp.add_argument("--tolerance", type=float, default=0.01,
                     help="largest drop still called stable (0.01)")
    cmp.add_argument("--allow-different-data", action="store_true",
                     help="show versions evaluated on different data side by side (flagged)")
    pro = action("promote", "move an alias (production) to a version if it passes the gate",
                 ref="required")
    pro.add_argument("--alias", default="production")
    pro.add_argument("--min-recall", type=float, metavar="R", help="e.g. 0.80")
    pro.add_argument("--min-precision", type=float, metavar="P")
    pro.add_argument("--min-accuracy", type=float, metavar="A")
    pro.add_argument("--max-drop", type=float, metavar="D",
                     help="largest drop of any metric against the current version, e.g. 0.01")
    pro.add_argument("--max-size-bytes", type=int, metavar="N")
    pro.add_argument("--max-latency-ms", type=float, metavar="MS")
    pro.add_argument("--dry-run", action="store_true", help="apply the gate, move nothing")
    action("rollback", "move an alias (production) back to its previous version").add_argument(
        "--alias", default="production")


def _registry(args: argparse.Namespace) -> int:
    from course_lib import registry as R

    reg = R.ModelRegistry(args.root, create=False)
    if args.action == "list":
        if args.name is None:
            rows = []
            for n in reg.names():
                aliases = ", ".join(f"{k} -> {v}" for k, v in reg.aliases(n).items()) or "-"
                statuses = reg.scan(n)
                bad = sum(not s.valid for s in statuses)
                rows.append([n, len(statuses) - bad, bad, aliases])
            print(R._text_table(("model", "versions", "invalid", "aliases"), rows) if rows
                  else f"{args.root}: no models yet")
            return 0
        print(reg.table(args.name))
        return 0
    if args.action == "show":
        print(reg.get(args.name, args.ref).details())
        return 0
    if args.action == "verify":
        reports = (reg.verify_all(args.name) if args.ref is None
                   else (reg.verify(args.name, args.ref),))
        for report in reports:
            print(report)
        if not reports:
            print(f"{args.name}: no versions to verify")
        return 0 if all(r.ok for r in reports) else 1
    if args.action == "compare":
        print(reg.compare(args.name, args.a, args.b, tolerance=args.tolerance,
                          allow_different_data=args.allow_different_data))
        return 0
    if args.action == "promote":
        gate = R.Gate(min_recall=args.min_recall, min_precision=args.min_precision,
                      min_accuracy=args.min_accuracy, max_drop=args.max_drop,
                      max_size_bytes=args.max_size_bytes, max_latency_ms=args.max_latency_ms)
        if args.dry_run:
            decision = reg.check_gate(args.name, args.ref, gate, args.alias)
        else:
            try:
                decision = reg.promote(args.name, args.ref, gate, args.alias)
            except R.PromotionRefusedError as exc:
                decision = exc.decision
        print(decision)
        return 0 if decision.ok else 1
    if args.action == "rollback":
        print(reg.rollback(args.name, args.alias))
        return 0
    raise AssertionError(f"unknown registry action {args.action}")  # argparse prevents this


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    >>> main(["check", "seed-matrix-accuracy", "0.875"])  # doctest: +SKIP
    Correct. ...
    0
    """
    from course_lib import exercises

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("validate", "doctor"):
        from course_lib import instructor

        run = instructor.validate_main if argv[0] == "validate" else instructor.doctor_main
        return run(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.verb == "registry":
            return _registry(args)
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
        from course_lib.registry import RefusedError  # no TensorFlow: cheap

        return 1 if isinstance(exc, RefusedError) else 2
    parser.print_help()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
