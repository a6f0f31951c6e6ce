"""Import time of course_lib in a fresh interpreter, against DESIGN's 0.3 s budget.

Run with `make bench`. Prints figures; asserts nothing (machines here are shared
and noisy), but marks a budget overrun.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

BUDGET_S = 0.3
RUNS = 7
PROBE = (
    "import sys, time, json; t = time.perf_counter(); import course_lib; "
    "dt = time.perf_counter() - t; "
    "heavy = [m for m in ('tensorflow', 'keras', 'sklearn', 'matplotlib', 'ipywidgets') if m in sys.modules]; "
    "print(json.dumps({'seconds': dt, 'heavy': heavy}))"
)


def main() -> None:
    subprocess.run([sys.executable, "-c", "import course_lib"], check=True)  # warm .pyc files
    runs = [json.loads(subprocess.run([sys.executable, "-c", PROBE], check=True,
                                      capture_output=True, text=True).stdout) for _ in range(RUNS)]
    times = sorted(r["seconds"] for r in runs)
    heavy = sorted({m for r in runs for m in r["heavy"]})
    median = statistics.median(times)
    print(f"import course_lib: median {median:.3f} s, min {times[0]:.3f} s, max {times[-1]:.3f} s "
          f"over {RUNS} fresh interpreters (budget {BUDGET_S} s): "
          f"{'within budget' if median < BUDGET_S else 'OVER BUDGET'}")
    print(f"heavy modules imported by `import course_lib`: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
