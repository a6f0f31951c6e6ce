"""Shared pieces of the registry tests: fake SavedModel folders, evaluation sets, fixtures.

Most registry tests use small fake SavedModel folders (random bytes named like a
SavedModel) published with known metrics: they exercise the registry without TensorFlow,
and run in subprocesses cheaply (crash and concurrency tests). A few use real Keras
models (the session's ``registry_models``), published once per session
(``real_registry``).

The fixtures (``src``, ``reg``, ``two``, ``real_registry``, ``real``) are in this folder's
``conftest.py``; test files import the plain helpers from here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from course_lib.metrics import Metrics, MulticlassMetrics, RegressionMetrics
from course_lib.registry import EvalSet, ModelRegistry

ROOT = Path(__file__).resolve().parents[2]
FAKE_FILES = (
    "saved_model.pb",
    "fingerprint.pb",
    "variables/variables.data-00000-of-00001",
    "variables/variables.index",
)
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}

SEED_V1 = Metrics.from_counts(tp=80, fp=20, fn=15, tn=85)  # the seed's two versions
SEED_V2 = Metrics.from_counts(tp=85, fp=15, fn=10, tn=90)
WORSE_RECALL = Metrics.from_counts(tp=50, fp=2, fn=45, tn=103)  # higher precision, far lower recall


def fake_saved_model(folder: Path, seed: int = 0, size: int = 2000) -> Path:
    """A folder shaped like a SavedModel (random bytes): enough for everything but loading."""
    rng = np.random.default_rng(seed)
    for rel in FAKE_FILES:
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rng.bytes(size))
    (folder / "assets").mkdir(exist_ok=True)
    return folder


def toy_set(name: str = "toy test", seed: int = 0) -> EvalSet:
    """200 rows of 8 random features, half labelled 1."""
    rng = np.random.default_rng(seed)
    return EvalSet(name, rng.normal(size=(200, 8)), np.array([0, 1] * 100))


def multiclass_set(name: str = "toy images") -> EvalSet:
    """90 images (n, 4, 4, 1) of 3 classes, 30 rows each (labels 0, 1, 2)."""
    rng = np.random.default_rng(5)
    return EvalSet(name, rng.normal(size=(90, 4, 4, 1)), np.repeat([0, 1, 2], 30))


def multiclass_metrics(wrong: int) -> MulticlassMetrics:
    """Metrics of ``multiclass_set`` with ``wrong`` rows of class 2 predicted as class 0."""
    y = np.repeat([0, 1, 2], 30)
    pred = y.copy()
    pred[60:60 + wrong] = 0
    return MulticlassMetrics.from_predictions(y, pred)


def regression_set(name: str = "toy targets") -> EvalSet:
    """50 rows of two named inputs and a fractional target."""
    rng = np.random.default_rng(6)
    x = {"a": rng.normal(size=(50, 3)), "b": rng.normal(size=(50, 2))}
    return EvalSet(name, x, rng.normal(150, 40, size=50))


def regression_metrics(noise: float) -> RegressionMetrics:
    """Metrics of ``regression_set``'s targets predicted with errors of about ``noise``."""
    y = regression_set().y
    errors = np.random.default_rng(7).normal(0, 1, size=y.shape[0])
    return RegressionMetrics.from_predictions(y, y + noise * errors)


# -- processes that publish (crash and concurrency tests) -----------------------------------------

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import numpy as np
    from course_lib.metrics import Metrics
    from course_lib.registry import EvalSet, ModelRegistry
    root, src, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    go = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    rng = np.random.default_rng(0)
    es = EvalSet("toy test", rng.normal(size=(200, 8)), np.array([0, 1] * 100))
    m = Metrics.from_counts(tp=85, fp=15, fn=10, tn=90)
    reg = ModelRegistry(root)
    print("ready", flush=True)
    while go is not None and not go.exists():
        time.sleep(0.005)
    for _ in range(count):
        v = reg.publish_saved_model(src, "fraud", es, metrics=m, latency_ms=1.0)
        print(v.version, flush=True)
""")


def run_child(
    root: Path, src: Path, count: int = 1, crash_at: str | None = None
) -> subprocess.CompletedProcess:
    """Publish ``count`` copies of ``src`` in a fresh process (killed at ``crash_at``)."""
    env = {**ENV, **({"COURSE_LIB_REGISTRY_CRASH_AT": crash_at} if crash_at else {})}
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(root), str(src), str(count)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def run_code(code: str, *args: str, crash_at: str | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess:
    """Run Python ``code`` in a fresh process with ``args`` (killed at ``crash_at``)."""
    env = {**ENV, **({"COURSE_LIB_REGISTRY_CRASH_AT": crash_at} if crash_at else {})}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def assert_consistent(reg: ModelRegistry) -> list[int]:
    """Everything versions() lists verifies, nothing numbered is half-made, numbers have no gaps."""
    versions = reg.versions("fraud")
    assert all(s.valid for s in reg.scan("fraud")), reg.scan("fraud")
    assert versions == list(range(1, len(versions) + 1))
    for v in versions:
        assert reg.verify("fraud", v).ok
        assert reg.get("fraud", v).version == v
    return versions


# -- crafted files (a writer who recomputes the manifest's checksum) -------------------------------

def manifest_of(reg: ModelRegistry, version: int, name: str = "fraud") -> dict:
    """The parsed manifest of a version."""
    import json

    from course_lib.registry import MANIFEST_NAME

    return json.loads((reg.root / name / str(version) / MANIFEST_NAME).read_text())


def rewrite_manifest(reg: ModelRegistry, version: int, data: dict, name: str = "fraud") -> None:
    """Write ``data`` as the manifest of a version, with a checksum that holds."""
    from course_lib.registry import MANIFEST_NAME
    from course_lib.registry.storage import manifest_bytes

    (reg.root / name / str(version) / MANIFEST_NAME).write_bytes(manifest_bytes(data))


def dead_pid() -> int:
    """The id of a process that has just ended (and was reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True, timeout=60)
    return int(done.stdout)


def leftovers(reg: ModelRegistry, name: str = "fraud") -> list[str]:
    """The hidden temporary entries of a model's folder (staging, trash, alias temp files)."""
    return sorted(p.name for p in (reg.root / name).iterdir()
                  if p.name.startswith((".staging-", ".trash-", ".aliases.json.")))


# -- a second process deleting while this one publishes and moves aliases -------------------------

DELETER = textwrap.dedent("""
    import sys, time
    from course_lib.errors import CourseLibError
    from course_lib.registry import ModelRegistry
    reg = ModelRegistry(sys.argv[1])
    end = time.monotonic() + float(sys.argv[2])
    print("ready", flush=True)
    deleted = refused = 0
    while time.monotonic() < end:
        for v in reg.versions("fraud"):
            try:
                reg.delete("fraud", v)
                deleted += 1
            except CourseLibError:
                refused += 1
    print(deleted, refused, flush=True)
""")


def start_deleter(root: Path, seconds: float) -> subprocess.Popen:
    """A process deleting every version of "fraud" no alias holds, for ``seconds``."""
    child = subprocess.Popen([sys.executable, "-c", DELETER, str(root), str(seconds)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    assert child.stdout.readline().strip() == "ready"
    return child


def assert_aliases_hold(reg: ModelRegistry, name: str = "fraud") -> dict[str, int]:
    """Every alias points at an existing version that verifies."""
    aliases = reg.aliases(name)
    for alias, v in aliases.items():
        assert v in reg.versions(name), f"{alias} -> {v}, deleted ({reg.versions(name)})"
        assert reg.verify(name, v).ok, reg.verify(name, v)
    return aliases
