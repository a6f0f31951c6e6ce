"""Inference latency and throughput of the fraud model, and the relations lesson 03 claims.

Run with `.venv/bin/python benchmarks/bench_inference.py` (well under a minute). Prints the
p50/p95 latency and throughput of `model.predict`, `model(x, training=False)` and the
SavedModel signature at several batch sizes, then checks each claim of the lesson:

1. for every method, throughput (rows/s) rises with the batch size;
2. for one row, the direct call and the signature are faster than `model.predict`;
3. for one row, the SavedModel signature is the fastest;
4. `model.predict` costs about the same per call (within 3x) for one row and for 1,000.

Exit status 1 if a claim does not hold on this machine (timings are noisy on a shared
machine: re-run before concluding). The unit tests never time anything.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from pathlib import Path

from course_lib import data, inference, models, persistence

BATCH_SIZES = (1, 10, 100, 1000)
REPEATS, WARMUP = 30, 5
PREDICT_FLAT_RATIO = 3.0


def _claims(report: inference.LatencyReport) -> list[tuple[str, bool]]:
    one = {m: report.row(m, 1).p50 for m in report.methods}
    claims = []
    for m in report.methods:
        rates = [report.row(m, b).throughput for b in report.batch_sizes]
        claims.append((f"{m}: throughput rises with the batch size",
                       all(a < b for a, b in itertools.pairwise(rates))))
    claims.append(("one row: model(x, training=False) is faster than model.predict",
                   one["model(x, training=False)"] < one["model.predict"]))
    claims.append(("one row: the SavedModel signature is faster than model.predict",
                   one["SavedModel signature"] < one["model.predict"]))
    claims.append(("one row: the SavedModel signature is the fastest",
                   min(one, key=one.get) == "SavedModel signature"))
    ratio = report.row("model.predict", BATCH_SIZES[-1]).p50 / one["model.predict"]
    claims.append(((f"model.predict: p50 per call for {BATCH_SIZES[-1]} rows within "
                    f"{PREDICT_FLAT_RATIO:g}x of one row's (measured {ratio:.2f}x)"),
                   ratio < PREDICT_FLAT_RATIO))
    return claims


def main() -> int:
    fraud = data.load_fraud()
    model = models.build_fraud_model(fraud.train.x)
    models.train(model, fraud.train, epochs=2, class_weight="balanced")
    with tempfile.TemporaryDirectory(prefix="bench-inference-") as tmp:
        keras_path = persistence.save(model, Path(tmp) / "fraud.keras").path
        sm_path = persistence.save(model, Path(tmp) / "fraud_savedmodel").path
        styles = inference.call_styles(persistence.load(keras_path), persistence.load(sm_path))
        report = inference.measure_latency(styles, fraud.test.x, batch_sizes=BATCH_SIZES,
                                           repeats=REPEATS, warmup=WARMUP)
    print(report)
    print()
    print(report.real_time_verdict(max_latency_ms=10.0, batch_size=1))
    print()
    claims = _claims(report)
    for text, holds in claims:
        print(f"{'holds        ' if holds else 'DOES NOT HOLD'}  {text}")
    return 0 if all(holds for _, holds in claims) else 1


if __name__ == "__main__":
    sys.exit(main())
