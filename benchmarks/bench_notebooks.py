"""Each notebook's nbval time next to the floor: a one-cell notebook importing TensorFlow.

Run with `make bench` (or `python benchmarks/bench_notebooks.py [NOTEBOOK ...]`).
DESIGN's budget: each notebook at most 2x the floor; the whole suite well under
5 minutes. Prints figures; asserts nothing.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
FACTOR = 2.0
SUITE_BUDGET_S = 300.0


def nbval_seconds(notebook: Path, lax: bool = False) -> tuple[float, bool]:
    """Wall time of one pytest --nbval run on one notebook, and whether it passed."""
    mode = ["--nbval-lax"] if lax else ["--nbval", "--nbval-sanitize-with",
                                       str(ROOT / "notebooks" / "sanitize.cfg")]
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-current-env",
           *mode, str(notebook)]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done.returncode == 0


def floor_seconds() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import tensorflow as tf")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        path = Path(tmp) / "floor.ipynb"
        nbformat.write(nb, path)
        return nbval_seconds(path, lax=True)[0]


def main(argv: list[str]) -> None:
    notebooks = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    floor = floor_seconds()
    print(f"floor (one cell: import tensorflow, under pytest --nbval-lax): {floor:.1f} s")
    print(f"{'notebook':<40} {'seconds':>8} {'x floor':>8}  verdict")
    total = 0.0
    for nb in notebooks:
        seconds, passed = nbval_seconds(nb)
        total += seconds
        ratio = seconds / floor
        verdict = "within budget" if ratio <= FACTOR else f"OVER BUDGET (> {FACTOR:g}x)"
        if not passed:
            verdict += ", nbval FAILED"
        print(f"{nb.name:<40} {seconds:>8.1f} {ratio:>8.2f}  {verdict}")
    print(f"{'all notebooks':<40} {total:>8.1f} {'':>8}  "
          f"{'within' if total < SUITE_BUDGET_S else 'OVER'} the {SUITE_BUDGET_S:.0f} s suite budget")


if __name__ == "__main__":
    main(sys.argv[1:])
