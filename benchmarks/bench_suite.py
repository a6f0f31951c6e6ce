"""The test suite's wall time: `make test` with its workers against one worker.

Run with `make bench` (or `python benchmarks/bench_suite.py [--against COMMIT]`).
Each run is the README's test command as the Makefile runs it (read with `make --dry-run`),
browser tests included (CI=true: they fail rather than skip). `--against COMMIT` first runs
that commit's own suite, from a temporary clone sharing this checkout's .venv and
node_modules, in one process as it did: the suite before the speed work, side by side.
DESIGN's budget: `make test` on 2 cores at most half the wall time of the suite before.
Prints figures; asserts nothing. About 20 minutes without --against, 35 with it.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: pytest's last line: "3656 passed in 462.05s (0:07:42)" (with -q), or framed in "=".
SUMMARY = re.compile(r"^=* ?(\d+ (?:passed|failed).*? in [\d.]+s)", re.MULTILINE)


def test_command(checkout: Path, *make_args: str) -> str:
    """The shell line `make test` runs in ``checkout`` (its last recipe line), unexpanded by make."""
    dry = subprocess.run(["make", "--dry-run", "--always-make", "test", *make_args], cwd=checkout,
                         capture_output=True, text=True, check=True)
    lines = [line for line in dry.stdout.splitlines() if " -m pytest " in line]
    if not lines:
        raise SystemExit(f"no pytest line in `make --dry-run test` of {checkout}:\n{dry.stdout}")
    return lines[-1]


def run_suite(checkout: Path, command: str) -> tuple[float, str]:
    """Wall seconds of one suite run in ``checkout``, and pytest's summary (or its last lines)."""
    env = {**os.environ, "CI": "true", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(checkout)}
    with tempfile.TemporaryDirectory() as tmp:
        env["COURSE_LIB_PROGRESS"] = str(Path(tmp) / "progress.json")
        env["TMPDIR"] = tmp
        start = time.perf_counter()
        done = subprocess.run(["bash", "-c", command + " -p no:cacheprovider -q"], cwd=checkout,
                              env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
    found = SUMMARY.findall(done.stdout)
    summary = found[-1] if found else " | ".join(done.stdout.strip().splitlines()[-2:])
    return seconds, summary + ("" if done.returncode == 0 else f" (exit {done.returncode})")


def clone_at(commit: str, into: Path) -> Path:
    """A clone of this repository at ``commit``, using this checkout's .venv and node_modules."""
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(into)], check=True)
    subprocess.run(["git", "checkout", "-q", commit], cwd=into, check=True)
    for shared in (".venv", "node_modules"):
        (into / shared).symlink_to(ROOT / shared)
    return into


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="COMMIT", help="also time this commit's suite first")
    args = parser.parse_args(argv)
    rows: list[tuple[str, float, str]] = []

    def timed(label: str, checkout: Path, command: str) -> None:
        rows.append((label, *run_suite(checkout, command)))
        print(f"{label:<40} {rows[-1][1]:>7.0f} s  {rows[-1][2]}", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        if args.against:
            base = clone_at(args.against, Path(tmp) / "base")
            label = subprocess.run(["git", "log", "-1", "--format=%h %s"], cwd=base,
                                   capture_output=True, text=True, check=True).stdout.strip()
            print(f"before: {label[:90]}", flush=True)
            timed(f"before ({args.against[:7]}), one process", base, test_command(base))
    cores = os.cpu_count() or 1
    for label, workers in ((f"now, workers (auto: {cores} cores)", "auto"), ("now, one worker", "0")):
        timed(label, ROOT, test_command(ROOT, f"WORKERS={workers}"))
    print(f"\n{'make test':<40} {'seconds':>9}  {'x':>6}")
    first = rows[0][1]
    for label, seconds, _summary in rows:
        print(f"{label:<40} {seconds:>9.0f}  {seconds / first:>6.2f}")
    workers_s = rows[-2][1]
    print(f"workers against one worker: {rows[-1][1] / workers_s:.2f}x faster")
    if args.against:
        verdict = "within" if workers_s <= first / 2 else "OVER"
        print(f"workers against before: {workers_s / first:.2f} of its wall time "
              f"({verdict} the budget of half)")
    print(f"command: {shlex.quote(test_command(ROOT))}")


if __name__ == "__main__":
    main(sys.argv[1:])
