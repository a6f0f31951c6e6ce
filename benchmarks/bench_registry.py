"""Registry speed against DESIGN's budgets: publish overhead, listing 1,000 versions.

Run with `.venv/bin/python benchmarks/bench_registry.py`. Prints figures; asserts nothing
(the machines here are shared and noisy), but marks a budget overrun.

1. Publish overhead: the same small fraud model is saved as a SavedModel alone
   (`persistence.save`), then published (`ModelRegistry.publish` with the metrics and
   latency given, so the difference is the registry's own work: hashing and fsyncing
   every file, the manifest, the rename). Computing the metrics on the test set and
   measuring latency are timed separately: publish does them when not given.
2. Listing: a registry with 1,000 versions (copies of one published version, each with a
   correct manifest) is listed with `versions()` (names and two stat calls per version),
   `table()` (every manifest parsed), and `course-lib registry list` in a fresh process;
   `verify_all()` (every file hashed) is shown for scale.
3. Other tasks: a 10-class Conv2D on scikit-learn's digits (images (n, 8, 8, 1)) and a
   regression on its diabetes data are published the same way (their metrics computed by
   publish), and `table()` of 1,000 copies of the multi-class version is timed: its
   manifest holds the 10 x 10 matrix and a row per class, read back on every listing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from course_lib import data, models, persistence  # noqa: E402
from course_lib import registry as R  # noqa: E402
from course_lib.metrics import Metrics  # noqa: E402
from course_lib.models import predict_scores  # noqa: E402
from course_lib.registry.publish import latency_record  # noqa: E402
from course_lib.registry.storage import manifest_bytes  # noqa: E402
from timing import median_seconds  # noqa: E402  (benchmarks/timing.py)

RUNS = 7
VERSIONS = 1000
LIST_BUDGET_S = 1.0


def _median(fn, runs: int = RUNS) -> float:
    return median_seconds(fn, runs)


def bench_publish(work: Path) -> R.ModelRegistry:
    fraud = data.load_fraud()
    model = models.build_fraud_model(fraud.train.x, hidden=(32, 16))
    models.train(model, fraud.train, epochs=2, class_weight="balanced")
    test = R.EvalSet("fraud test", fraud.test.x, fraud.test.y)
    reg = R.ModelRegistry(work / "registry")
    metrics = Metrics.from_predictions(test.y, predict_scores(model, test.x))
    reg.publish(model, "warmup", test, metrics=metrics, latency_ms=1.0)  # traces the export once

    n = [0]

    def save_only() -> None:
        n[0] += 1
        persistence.save(model, work / f"plain_{n[0]}", "savedmodel")

    save = _median(save_only)
    publish = _median(lambda: reg.publish(model, "fraud", test, metrics=metrics, latency_ms=1.0))
    evaluate = _median(lambda: Metrics.from_predictions(test.y, predict_scores(model, test.x)))
    latency = _median(
        lambda: latency_record(lambda b: model(b, training=False), test.x[:1], "bench"), runs=3
    )
    size = reg.get("fraud", 1).size_bytes
    overhead = publish - save
    print(f"publish overhead (model of {size:,} bytes, median of {RUNS}):")
    print(f"  persistence.save alone        {save * 1000:8.1f} ms")
    print(f"  registry.publish              {publish * 1000:8.1f} ms  (metrics and latency given)")
    print(
        f"  overhead: hash+fsync+manifest {overhead * 1000:8.1f} ms  = {overhead / save:.0%} of "
        "the save: "
        f"{'small' if overhead < 0.5 * save else 'NOT SMALL'} next to the save"
    )
    print(
        f"  {'metrics on ' + format(test.rows, ',') + ' test rows':<29} {evaluate * 1000:8.1f} ms  "
        "(done by publish when not given)"
    )
    print(
        f"  latency measurement           {latency * 1000:8.1f} ms  (33 calls on 1 row, when not "
        "given)"
    )
    return reg


def make_thousand(reg: R.ModelRegistry, name: str = "fraud", copies: str = "many") -> None:
    """VERSIONS copies of version 1 of ``name`` as ``copies``, each with a correct manifest."""
    src = reg.path(name, 1)
    body = json.loads((src / R.MANIFEST_NAME).read_text())
    target = reg.root / copies
    target.mkdir()
    for v in range(1, VERSIONS + 1):
        d = target / str(v)
        shutil.copytree(src, d)
        (d / R.MANIFEST_NAME).write_bytes(manifest_bytes({**body, "name": copies, "version": v}))


def bench_listing(reg: R.ModelRegistry) -> None:
    make_thousand(reg)
    assert len(reg.versions("many")) == VERSIONS and reg.verify("many", VERSIONS).ok
    versions = _median(lambda: reg.versions("many"))
    table = _median(lambda: reg.table("many"))
    cli = _median(
        lambda: subprocess.run(
            [sys.executable, "-m", "course_lib.cli", "registry", "list", str(reg.root), "many"],
            check=True,
            capture_output=True,
        ),
        runs=3,
    )
    bare = _median(
        lambda: subprocess.run([sys.executable, "-c", "import course_lib.registry"], check=True),
        runs=3,
    )
    verify_all = _median(lambda: reg.verify_all("many"), runs=1)
    verdict = "within budget" if table < LIST_BUDGET_S else "OVER BUDGET"
    print(f"listing a registry of {VERSIONS:,} versions (budget: well under {LIST_BUDGET_S:g} s):")
    print(f"  versions()   {versions * 1000:8.1f} ms  (directory names + 2 stat calls per version)")
    print(f"  table()      {table * 1000:8.1f} ms  (every manifest parsed, its checksum checked): "
          f"{verdict}")
    print(
        f"  course-lib registry list ROOT many: {cli * 1000:8.1f} ms in a fresh process "
        f"(of which {bare * 1000:.0f} ms is starting Python and importing the module)"
    )
    print(
        f"  verify_all() {verify_all * 1000:8.1f} ms  (every file of every version hashed; for "
        "scale)"
    )


def _task_models():
    """The digits Conv2D (10 classes) and the diabetes regression, trained in seconds."""
    from sklearn.datasets import load_diabetes, load_digits

    from course_lib import _tf

    keras = _tf.keras()
    models.set_seed(0)
    digits = load_digits()
    x = (digits.images[..., None] / 16.0).astype("float32")
    inputs = keras.Input((8, 8, 1), name="pixels")
    h = keras.layers.Flatten()(keras.layers.Conv2D(8, 3, activation="relu")(inputs))
    images = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(h))
    images.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    images.fit(x[:1400], digits.target[:1400], epochs=4, batch_size=64, verbose=0)
    diabetes = load_diabetes()
    dx, dy = diabetes.data.astype("float32"), diabetes.target.astype("float32")
    norm = keras.layers.Normalization()
    norm.adapt(dx[:350])
    inputs = keras.Input((10,), name="features")
    h = keras.layers.Dense(16, activation="relu")(norm(inputs))
    regression = keras.Model(inputs, keras.layers.Dense(1)(h))
    regression.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    regression.fit(dx[:350], dy[:350], epochs=30, batch_size=32, verbose=0)
    return ((images, R.EvalSet("digits test", x[1400:], digits.target[1400:])),
            (regression, R.EvalSet("diabetes test", dx[350:], dy[350:])))


def bench_tasks(reg: R.ModelRegistry, work: Path) -> None:
    (images, image_set), (regression, target_set) = _task_models()
    print("other tasks (metrics computed by publish, latency given):")
    for name, model, eval_set in (("digits", images, image_set),
                                  ("diabetes", regression, target_set)):
        reg.publish(model, f"warmup-{name}", eval_set, latency_ms=1.0)  # traces the export once
        def save_only(model=model, name=name, n=[0]) -> None:  # noqa: B006 (a counter)
            n[0] += 1
            persistence.save(model, work / f"plain_{name}_{n[0]}", "savedmodel")

        save = _median(save_only)
        publish = _median(lambda m=model, k=name, s=eval_set: reg.publish(m, k, s, latency_ms=1.0))
        info = reg.get(name, 1)
        print(f"  {name:<9} ({info.task}, {eval_set.describe().split(';')[1].strip()}): "
              f"save {save * 1000:.1f} ms, publish {publish * 1000:.1f} ms, "
              f"overhead {(publish - save) * 1000:.1f} ms")
    make_thousand(reg, "digits", "many-digits")
    table = _median(lambda: reg.table("many-digits"))
    verdict = "within budget" if table < LIST_BUDGET_S else "OVER BUDGET"
    print(f"  table() of {VERSIONS:,} multi-class versions {table * 1000:8.1f} ms: {verdict}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        reg = bench_publish(Path(tmp))
        bench_listing(reg)
        bench_tasks(reg, Path(tmp))


if __name__ == "__main__":
    main()
