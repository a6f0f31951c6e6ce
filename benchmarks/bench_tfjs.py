"""TF.js conversion and prediction times, against DESIGN's budget for a TF.js check.

Run with `.venv/bin/python benchmarks/bench_tfjs.py`. Prints figures; asserts nothing
(machines here are shared and noisy), but marks a budget overrun.

Budget (DESIGN.md): checking 1,000 predictions in Node takes a few seconds, Node's
start included. Measured on lesson 05's model (the fraud model with hidden layers of
256 and 128 units): the converter's time per weight type, TF.js in Node for 1,000 and
10,000 rows (the whole call, with Node's start, and the prediction alone), and Keras in
this Python process for the same rows.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from course_lib import data, models, tfjs
from timing import median_seconds  # benchmarks/timing.py

CHECK_BUDGET_S = 5.0
RUNS = 3


def main() -> None:
    fraud = data.load_fraud()
    model = models.build_fraud_model(fraud.train.x, hidden=(256, 128))
    models.train(model, fraud.train, epochs=2, class_weight="balanced")
    rows = {n: fraud.train.x[np.arange(n) % len(fraud.train)] for n in (1_000, 10_000)}
    with tempfile.TemporaryDirectory(prefix="bench-tfjs-") as tmp:
        root = Path(tmp)
        tfjs.convert(model, root / "warm-up")  # the first conversion imports tensorflowjs
        print(f"convert (tensorflowjs {tfjs.TFJS_VERSION}, median of {RUNS}):")
        folders = {}
        for q in tfjs.QUANTIZATIONS:
            label = q or "float32"
            folders[label] = root / label
            seconds = median_seconds(lambda q=q, label=label: tfjs.convert(
                model, root / label, quantize=q, overwrite=True), RUNS)
            done = tfjs.convert(model, root / label, quantize=q, overwrite=True)
            print(f"  {label:<8} {seconds:6.2f} s  ({done.size_bytes / 1024:.1f} KB)")
        print(f"predict, float32 model (median of {RUNS}):")
        for n, x in rows.items():
            runs = [tfjs.run(folders["float32"], x) for _ in range(RUNS)]
            wall = statistics.median(r.wall_seconds for r in runs)
            alone = statistics.median(r.predict_seconds for r in runs)
            keras = median_seconds(lambda x=x: model.predict(x, batch_size=4096, verbose=0), RUNS)
            print(f"  {n:>6,} rows: TF.js in Node {wall:5.2f} s with Node's start, "
                  f"{alone * 1000:7.1f} ms predicting; Keras in Python {keras * 1000:7.1f} ms")
        labels = fraud.train.y[np.arange(1_000) % len(fraud.train)]
        check = median_seconds(lambda: tfjs.verify(folders["float32"], model, rows[1_000], labels),
                               RUNS)
        state = "within budget" if check <= CHECK_BUDGET_S else "OVER BUDGET"
        print(f"TF.js check of 1,000 predictions (tfjs.verify: Keras, Node, metrics): "
              f"{check:.2f} s (budget {CHECK_BUDGET_S:g} s): {state}")


if __name__ == "__main__":
    sys.exit(main())
