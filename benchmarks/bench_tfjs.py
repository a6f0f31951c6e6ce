"""TF.js conversion and prediction times, against DESIGN's budget for a TF.js check.

Run with `.venv/bin/python benchmarks/bench_tfjs.py`. Prints figures; asserts nothing
(machines here are shared and noisy), but marks a budget overrun.

Budgets (DESIGN.md): checking 1,000 predictions in Node takes a few seconds, Node's
start included; TF.js predicting 10,000 rows is within 6x of Keras's direct call. The
second is measured on a 64 -> 256 -> 256 -> 1 network: TF.js in Node on the wasm and on
the cpu back end (the prediction alone, after the runner's one-row warm-up) against
Keras's direct call ``model(x)`` on the same rows, the ratio, and the largest difference
between the predictions. The rest on lesson 05's model (the fraud model with hidden layers of
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
from timing import median_seconds  # benchmarks/timing.py

from course_lib import data, models, tfjs

CHECK_BUDGET_S = 5.0
#: TF.js predicting 10,000 rows: at most this many times Keras's direct call.
RATIO_BUDGET = 6.0
#: TF.js's predictions against Keras's, on float32 weights.
MAX_DIFFERENCE = 1e-4
RUNS = 3


def mlp_against_keras(root: Path) -> None:
    """10,000 rows of a 64 -> 256 -> 256 -> 1 network: TF.js (wasm, cpu) against Keras."""
    x = np.random.default_rng(0).normal(size=(10_000, 64)).astype("float32")
    model = models.build_fraud_model(x, normalize=False, hidden=(256, 256), name="mlp")
    folder = tfjs.convert(model, root / "mlp").path
    scores = np.asarray(model(x))
    keras_s = median_seconds(lambda: np.asarray(model(x)), 5)
    print(f"10,000 rows, 64 -> 256 -> 256 -> 1 network (median of {RUNS} runs; Keras of 5):")
    print(f"  Keras, direct call model(x):       {keras_s * 1000:8.1f} ms")
    for backend in ("wasm", "cpu"):
        runs = [tfjs.run(folder, x, backend=backend) for _ in range(RUNS)]
        alone = statistics.median(r.predict_seconds for r in runs)
        diff = max(float(np.abs(r.predictions - scores).max()) for r in runs)
        ratio = alone / keras_s
        state = ("within budget" if ratio <= RATIO_BUDGET and diff <= MAX_DIFFERENCE
                 else "OVER BUDGET")
        if backend == "cpu":  # the fallback when wasm does not load: shown, not budgeted
            state = "the fallback, for comparison"
        print(f"  TF.js in Node, {runs[0].backend:<4} back end:    {alone * 1000:8.1f} ms "
              f"predicting, {ratio:6.1f}x Keras (budget {RATIO_BUDGET:g}x), largest "
              f"difference {diff:.1e} (allowed {MAX_DIFFERENCE:g}): {state}")


def main() -> None:
    fraud = data.load_fraud()
    model = models.build_fraud_model(fraud.train.x, hidden=(256, 128))
    models.train(model, fraud.train, epochs=2, class_weight="balanced")
    rows = {n: fraud.train.x[np.arange(n) % len(fraud.train)] for n in (1_000, 10_000)}
    with tempfile.TemporaryDirectory(prefix="bench-tfjs-") as tmp:
        root = Path(tmp)
        tfjs.convert(model, root / "warm-up")  # the first conversion imports tensorflowjs
        mlp_against_keras(root)
        print(f"convert (tensorflowjs {tfjs.TFJS_VERSION}, median of {RUNS}):")
        folders = {}
        for q in tfjs.QUANTIZATIONS:
            label = q or "float32"
            folders[label] = root / label
            seconds = median_seconds(lambda q=q, label=label: tfjs.convert(
                model, root / label, quantize=q, overwrite=True), RUNS)
            done = tfjs.convert(model, root / label, quantize=q, overwrite=True)
            print(f"  {label:<8} {seconds:6.2f} s  ({done.size_bytes / 1024:.1f} KB)")
        print(f"predict, lesson 05's float32 model (median of {RUNS}):")
        for n, x in rows.items():
            runs = [tfjs.run(folders["float32"], x) for _ in range(RUNS)]
            wall = statistics.median(r.wall_seconds for r in runs)
            alone = statistics.median(r.predict_seconds for r in runs)
            keras = median_seconds(lambda x=x: model.predict(x, batch_size=4096, verbose=0), RUNS)
            print(f"  {n:>6,} rows: TF.js in Node ({runs[0].backend}) {wall:5.2f} s with Node's start, "
                  f"{alone * 1000:7.1f} ms predicting; Keras in Python {keras * 1000:7.1f} ms")
        labels = fraud.train.y[np.arange(1_000) % len(fraud.train)]
        check = median_seconds(lambda: tfjs.verify(folders["float32"], model, rows[1_000], labels),
                               RUNS)
        state = "within budget" if check <= CHECK_BUDGET_S else "OVER BUDGET"
        print(f"TF.js check of 1,000 predictions (tfjs.verify: Keras, Node, metrics): "
              f"{check:.2f} s (budget {CHECK_BUDGET_S:g} s): {state}")


if __name__ == "__main__":
    sys.exit(main())
