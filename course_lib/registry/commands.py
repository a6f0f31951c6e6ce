"""The ``course-lib registry ACTION ROOT ...`` command line (lesson 04).

>>> import tempfile
>>> main(["list", tempfile.mkdtemp()])  # doctest: +ELLIPSIS
/...: no models yet
0

Actions:

- ``list ROOT [NAME]``: the models, or the versions of one model (aliases, evaluation set,
  metrics, size, latency; invalid folders flagged);
- ``show ROOT NAME REF``: one version's manifest (REF: a number, an alias, ``latest``);
- ``verify ROOT NAME [REF]``: check every file's sha256 (all versions without REF);
- ``compare ROOT NAME A B``: metrics, deltas, size and latency of two versions;
- ``promote ROOT NAME REF [--min METRIC=VALUE] [--max METRIC=VALUE] [--max-gap G] ...``:
  move the production alias if the version passes every rule of the promotion policy
  (``--min macro_f1=0.8``, ``--max rmse=60``: a floor or ceiling on any metric the
  version's task records; ``--min-recall R`` is ``--min recall=R``);
- ``rollback ROOT NAME``: production back to the version before;
- ``keygen DIR [--name NAME]``: make a signing key pair, ``DIR/registry.key`` (private,
  mode 0600) and ``DIR/registry.pub`` (public).

Signed registries (:mod:`~course_lib.registry.signing`): ``show``, ``verify``, ``promote``
and ``rollback`` take ``--public-key PEM`` and then refuse a version or alias file that key
did not sign (exit 1); ``promote`` and ``rollback`` take ``--signing-key PEM`` to sign the
alias change. Without ``--public-key`` only the sha256 checksums are checked: they catch
accidents, not a writer who recomputes them.

:func:`main` returns 0 when done and 1 when the check ran and said no (a file differs,
the policy refused). A :class:`~course_lib.errors.CourseLibError` propagates: the
``course-lib`` command (:mod:`course_lib.cli`) prints it and exits with 1 for a
:class:`~course_lib.errors.RefusedError` (an edited manifest is an
:class:`~course_lib.errors.IntegrityError`), 2 for bad input (a model, version or alias
that does not exist, a crafted file), 3 when the disk refused
(:class:`~course_lib.errors.StorageError`).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

from course_lib import _display
from course_lib.errors import InvalidInputError, PromotionRefusedError
from course_lib.registry import signing
from course_lib.registry.core import ModelRegistry
from course_lib.registry.policy import PromotionPolicy, PromotionResult

__all__ = ["build_parser", "main", "metric_rule", "models_table", "policy_of", "promotion", "run"]


def build_parser(prog: str = "course-lib registry") -> argparse.ArgumentParser:
    """The parser of ``course-lib registry``: one sub-command per action.

    >>> build_parser().parse_args(["show", "reg", "fraud", "production"]).ref
    'production'
    """
    r = argparse.ArgumentParser(
        prog=prog, description="Inspect and manage a model registry folder: ROOT/NAME/VERSION/.")
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
    pro = action("promote", "move an alias (production) to a version if it passes the policy",
                 ref="required")
    pro.add_argument("--alias", default="production")
    pro.add_argument("--min", type=metric_rule, action="append", default=[],
                     metavar="METRIC=VALUE",
                     help="a floor on a metric of the version's task, e.g. macro_f1=0.8 or r2=0.4 "
                          "(repeat for several)")
    pro.add_argument("--max", type=metric_rule, action="append", default=[],
                     metavar="METRIC=VALUE",
                     help="a ceiling on a metric, e.g. rmse=60 or mae=45 (repeat for several)")
    pro.add_argument("--min-recall", type=float, metavar="R", help="e.g. 0.80")
    pro.add_argument("--min-precision", type=float, metavar="P")
    pro.add_argument("--min-accuracy", type=float, metavar="A")
    pro.add_argument("--max-gap", type=float, metavar="G",
                     help="precision and recall balanced: |precision - recall| <= G, e.g. 0.05")
    pro.add_argument("--max-drop", type=float, metavar="D",
                     help="largest drop of any metric against the current version, e.g. 0.01")
    pro.add_argument("--max-size-bytes", type=int, metavar="N")
    pro.add_argument("--max-latency-ms", type=float, metavar="MS")
    pro.add_argument("--dry-run", action="store_true", help="apply the policy, move nothing")
    action("rollback", "move an alias (production) back to its previous version").add_argument(
        "--alias", default="production")
    # -- signing: check with the public key, sign alias changes with the private key --
    for name in ("show", "verify", "promote", "rollback"):
        actions.choices[name].add_argument(
            "--public-key", metavar="PEM", help="refuse what this key did not sign")
    for name in ("promote", "rollback"):
        actions.choices[name].add_argument(
            "--signing-key", metavar="PEM", help="sign the alias change with this private key")
    keygen = actions.add_parser("keygen", help="make a signing key pair for a registry",
                                description="make a signing key pair for a registry")
    keygen.add_argument("folder", metavar="DIR", help="where to write NAME.key and NAME.pub")
    keygen.add_argument("--name", default="registry", help="the files' name (registry)")
    return r


def metric_rule(text: str) -> tuple[str, float]:
    """``"macro_f1=0.8"`` as ``("macro_f1", 0.8)`` (the value of ``--min`` and ``--max``).

    >>> metric_rule("rmse=60")
    ('rmse', 60.0)
    """
    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not sep or not name.strip() or not math.isfinite(number):
        raise argparse.ArgumentTypeError(
            f"expected METRIC=VALUE, e.g. macro_f1=0.8 or rmse=60; found {text!r}")
    return name.strip(), number


def policy_of(args: argparse.Namespace) -> PromotionPolicy:
    """The promotion policy of the parsed ``promote`` options.

    >>> args = build_parser().parse_args(["promote", "reg", "digits", "2", "--min",
    ...                                   "macro_f1=0.8", "--max-size-bytes", "100000"])
    >>> print(policy_of(args))
    macro_f1 >= 0.80; size <= 97.7 KB
    >>> print(policy_of(build_parser().parse_args(
    ...     ["promote", "reg", "fraud", "2", "--min-precision", "0.8", "--min-recall", "0.8",
    ...      "--max-gap", "0.05"])))
    recall >= 0.80; precision >= 0.80; |precision - recall| <= 0.05
    """
    rules: dict[str, float] = {}
    named = [("min", k, v) for k, v in args.min] + [("max", k, v) for k, v in args.max]
    named += [("min", k, getattr(args, f"min_{k}")) for k in ("recall", "precision", "accuracy")
              if getattr(args, f"min_{k}") is not None]
    for kind, metric, value in named:
        key = f"{kind}_{metric}"
        if key in rules:
            raise InvalidInputError(
                f"expected each rule once; found --{kind} {metric} twice. Fix: give it once.")
        rules[key] = value
    return PromotionPolicy(rules, max_gap=args.max_gap, max_drop=args.max_drop,
                           max_size_bytes=args.max_size_bytes, max_latency_ms=args.max_latency_ms)


def models_table(reg: ModelRegistry) -> str:
    """The models of a registry as a table: valid and invalid version folders, aliases.

    >>> import tempfile
    >>> models_table(ModelRegistry(tempfile.mkdtemp()))   # "" when there is none
    ''
    """
    rows = []
    for n in reg.names():
        aliases = ", ".join(f"{k} -> {v}" for k, v in reg.aliases(n).items()) or "-"
        table = reg.table(n)  # manifests read: a copied, swapped or crafted one counts invalid
        rows.append([n, len(table.rows), len(table.invalid), aliases])
    return _display.text_table(("model", "versions", "invalid", "aliases"), rows) if rows else ""


def promotion(reg: ModelRegistry, args: argparse.Namespace) -> PromotionResult:
    """The result of ``promote`` (applied, refused, or a dry run) from the parsed options."""
    policy = policy_of(args)
    if args.dry_run:
        return reg.check_gate(args.name, args.ref, policy, args.alias)
    try:
        return reg.promote(args.name, args.ref, policy, args.alias)
    except PromotionRefusedError as exc:
        return exc.result


def run(args: argparse.Namespace) -> int:
    """Carry out one parsed action, printing its report; the exit code (0 done, 1 refused)."""
    if args.action == "keygen":  # no registry involved
        pair = signing.make_keys(args.folder, args.name)
        print(f"private key (signs; keep it secret, mode 0600): {pair.private}\n"
              f"public key (checks; give it to whoever loads the models): {pair.public}")
        return 0
    reg = ModelRegistry(args.root, create=False, signing_key=getattr(args, "signing_key", None),
                        public_key=getattr(args, "public_key", None))
    if args.action == "list":
        if args.name is not None:
            print(reg.table(args.name))
        else:
            print(models_table(reg) or f"{args.root}: no models yet")
        return 0
    if args.action == "show":
        if reg.public_key is not None:  # show only a manifest the key signed
            reg.verify(args.name, args.ref).raise_if_failed("showing it")
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
        result = promotion(reg, args)
        print(result)
        return 0 if result.ok else 1
    if args.action == "rollback":
        print(reg.rollback(args.name, args.alias))
        return 0
    raise AssertionError(f"unknown registry action {args.action}")  # argparse prevents this


def main(argv: Sequence[str]) -> int:
    """Parse ``argv`` (the words after ``course-lib registry``) and run the action.

    >>> main(["show", "no/such/registry", "fraud", "1"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    course_lib.errors.VersionNotFoundError: expected a registry folder at no/such/registry; ...
    """
    return run(build_parser().parse_args(list(argv)))
