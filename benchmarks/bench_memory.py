"""Peak memory of loading a small .keras file whose weights unpack to 1.5 GB, with and without the bound.

Run with `.venv/bin/python benchmarks/bench_memory.py` (about a minute; needs ~4 GB of free
memory and 2 GB of free disk in the temp folder for the time it runs). Prints figures;
asserts nothing.

It crafts, in a temporary folder, a ``.keras`` archive of one Dense layer (15,000 inputs ->
25,000 units: 375 million float32 weights, all zeros) deflated to about 1.5 MB. Each load runs
in a fresh interpreter, which reports its own peak resident memory (``ru_maxrss``):

* the baseline: TensorFlow and Keras imported, nothing loaded;
* ``persistence.load(path, max_unpacked_bytes=None)``: the bound lifted, Keras unpacks it all;
* ``persistence.load(path)``: the default bound (1 GiB) refuses it before Keras opens it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROWS, UNITS = 15_000, 25_000  # 375 M float32 weights: 1.5 GB once unpacked
SMALL_ROWS, SMALL_UNITS = 4, 2

PROBE = """
import json, resource, sys, time
from course_lib import _tf, persistence
from course_lib.errors import ArchiveTooLargeError
_tf.keras()
mode, path = sys.argv[1], sys.argv[2]
start, outcome = time.perf_counter(), "baseline (TensorFlow imported, nothing loaded)"
if mode != "baseline":
    bound = None if mode == "lifted" else persistence.MAX_UNPACKED_BYTES
    try:
        persistence.load(path, compile=False, max_unpacked_bytes=bound)
        outcome = "loaded"
    except ArchiveTooLargeError as exc:
        outcome = "refused: " + str(exc).split(". ")[0]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
print(json.dumps({"outcome": outcome, "peak_gb": peak, "seconds": time.perf_counter() - start}))
"""


def craft(folder: Path) -> Path:
    """The 1.5 GB-unpacking .keras: a small model's archive with its shapes scaled up."""
    import h5py

    from course_lib import _tf, persistence

    keras = _tf.keras()
    small = keras.Sequential([keras.Input((SMALL_ROWS,)), keras.layers.Dense(SMALL_UNITS)])
    src = persistence.save(small, folder / "small.keras").path
    with zipfile.ZipFile(src) as zf:
        config = zf.read("config.json").decode()
        metadata = zf.read("metadata.json")
        (folder / "small.weights.h5").write_bytes(zf.read("model.weights.h5"))
    config = (config.replace(f"null, {SMALL_ROWS}]", f"null, {ROWS}]")
              .replace(f'"units": {SMALL_UNITS}', f'"units": {UNITS}'))
    weights = folder / "model.weights.h5"
    scale = {SMALL_ROWS: ROWS, SMALL_UNITS: UNITS}
    with h5py.File(folder / "small.weights.h5", "r") as small_h5, h5py.File(weights, "w") as big:
        def copy(name: str, obj: object) -> None:
            if isinstance(obj, h5py.Dataset):
                shape = tuple(scale.get(d, d) for d in obj.shape)
                ds = big.create_dataset(name, shape=shape, dtype=obj.dtype)
                zeros = __import__("numpy").zeros((min(shape[0], 1000), *shape[1:]), obj.dtype)
                for start in range(0, shape[0], len(zeros)):  # written: the zip holds the zeros
                    ds[start:start + len(zeros)] = zeros[:shape[0] - start]
            elif isinstance(obj, h5py.Group):
                big.require_group(name)
        small_h5.visititems(copy)
        for key, value in small_h5.attrs.items():
            big.attrs[key] = value
    path = folder / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("metadata.json", metadata)
        zf.writestr("config.json", config)
        zf.write(weights, "model.weights.h5")
    weights.unlink()
    return path


def measure(mode: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, mode, str(path)], capture_output=True,
                          text=True, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
                          check=False)
    if done.returncode != 0:
        return {"outcome": f"failed: {done.stderr.strip().splitlines()[-1:]}", "peak_gb": float("nan"),
                "seconds": float("nan")}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        start = time.perf_counter()
        path = craft(Path(tmp))
        with zipfile.ZipFile(path) as zf:
            declared = sum(i.file_size for i in zf.infolist())
        print(f"crafted {path.name}: {path.stat().st_size / 1e6:.2f} MB on disk, "
              f"{declared / 1e9:.2f} GB once unpacked ({time.perf_counter() - start:.0f} s)")
        for mode, label in (("baseline", "baseline"), ("lifted", "max_unpacked_bytes=None"),
                            ("bounded", "default bound (1 GiB)")):
            r = measure(mode, path)
            print(f"  {label:<26} peak RSS {r['peak_gb']:.2f} GB, {r['seconds']:.1f} s: "
                  f"{r['outcome']}")


if __name__ == "__main__":
    main()
