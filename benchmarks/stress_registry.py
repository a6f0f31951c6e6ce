"""Registry under stress: killed publishers, a publish/delete/alias race, concurrent publishers.

Run with `make stress` (`make stress STRESS=--quick`) or `.venv/bin/python
benchmarks/stress_registry.py [--seconds S] [--quick] [--versions K] [--fake-model]
[--seed N]`. Prints counts; asserts nothing. Everything happens in a temporary folder
(removed at the end) with local processes only: no network.

One tiny Keras model (8 inputs, one Dense unit) is exported as a SavedModel once, in a
child process (TensorFlow is imported there only); every version after that is a copy
published with `publish_saved_model` with its metrics and latency given, so no process
below imports TensorFlow. `--fake-model` uses random bytes shaped like a SavedModel
instead (what the registry tests do: the registry only copies and hashes the files).
The workers are long-lived processes of this same file (`--worker ROLE`) that loop on
the registry's public API and log one JSON line per operation. A `CourseLibError` is a
handled outcome; any other exception is a raw failure (each distinct type is printed).

1. kills: a worker publishing, promoting and moving an alias in a loop is killed with
   SIGKILL at a random moment, again and again; then one worker per built-in crash point
   (`COURSE_LIB_REGISTRY_CRASH_AT`, the points read from the registry's source) dies
   there. After each kill the registry is checked: every alias on a version that exists
   and verifies, no numbered folder half-made, every version the worker reported still
   there; then one write (a publish and an alias move) and the leftovers in the model's
   folder (hidden entries other than the registry's own `.lock` and `.deleted-N`, and
   `*.tmp`) counted before and after it.
2. race: a publisher, a deleter (deletes the newest versions no alias points at; a
   refusal is handled) and an alias mover (candidate on the newest version, production
   promoted now and then) run at once; this process checks, over and over, that no alias
   points at a missing version, and again at the end.
3. concurrency: 6 processes each publish up to K versions and move `candidate` (and try
   to promote `production`) onto each; the version numbers must be distinct and the
   alias history (read from `aliases.json`: no public call returns it) must hold every
   alias change a process was told it made.

The total time is bounded by `--seconds` (default 150, `--quick` 20), split 40/30/30
between the areas, plus the model's export (about 10 s) and a few seconds of process
start-up and checks: about 3 minutes in all, 30 to 40 s with `--quick`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]
NAME = "fraud"
PROCESSES = 6
KNOWN_POINTS = ("staging-created", "copying", "saved", "hashed", "manifest", "renamed",
                "aliases-temp-written", "aliases-replaced")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
       "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
ENV.pop("COURSE_LIB_REGISTRY_CRASH_AT", None)


# -- the pieces every process shares ----------------------------------------------------------

def eval_and_metrics() -> tuple[Any, Any]:
    """The evaluation set and metrics every version is published with (as the registry tests)."""
    import numpy as np

    from course_lib.metrics import Metrics
    from course_lib.registry import EvalSet

    rng = np.random.default_rng(0)
    es = EvalSet("toy test", rng.normal(size=(200, 8)), np.array([0, 1] * 100))
    return es, Metrics.from_counts(tp=85, fp=15, fn=10, tn=90)


def short(exc: BaseException) -> str:
    """An error's type and first line, numbers and the temporary folder's name made generic."""
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    text = re.sub(r"/[^ '\"]*course-stress-[^/ '\"]+(/[^ '\"]*)?", "TMP/...", text)
    text = re.sub(r"[0-9a-f]{6,}|[0-9]+", "N", text)
    return f"{type(exc).__name__}: {text}"


class Log:
    """One JSON line per event, written unbuffered (a SIGKILL loses at most the line being written)."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def __call__(self, **event: Any) -> None:
        os.write(self.fd, (json.dumps(event) + "\n").encode())


def read_log(path: Path) -> list[dict[str, Any]]:
    out = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # the line a kill cut short
    return out


def attempt(log: Log, op: str, fn: Any, **extra: Any) -> Any:
    """Run one registry call: log it as ok, handled (a CourseLibError) or raw (anything else)."""
    from course_lib.errors import CourseLibError

    try:
        result = fn()
    except CourseLibError as exc:
        log(op=op, outcome="handled", error=type(exc).__name__, **extra)
        return None
    except Exception as exc:  # noqa: BLE001 (counting raw failures is the point)
        log(op=op, outcome="raw", error=f"{op}: {short(exc)}", **extra)
        return None
    log(op=op, outcome="ok", **extra, **(result if isinstance(result, dict) else {}))
    return result


# -- workers (child processes: `stress_registry.py --worker ROLE CONFIG`) ---------------------

def worker(role: str, cfg: dict[str, Any]) -> None:
    from course_lib.registry import ModelRegistry

    reg = ModelRegistry(cfg["root"])
    es, m = eval_and_metrics()
    log = Log(cfg["log"])
    rng = random.Random(cfg.get("seed", 0))
    go = Path(cfg["go"]) if cfg.get("go") else None

    def publish() -> dict[str, Any]:
        return {"version": reg.publish_saved_model(cfg["src"], NAME, es, metrics=m,
                                                   latency_ms=1.0).version}

    def set_alias(alias: str, v: int) -> dict[str, Any]:
        change = reg.set_alias(NAME, alias, v)
        return {"alias": alias, "version": change.new}

    def promote(v: int) -> dict[str, Any]:
        reg.promote(NAME, v)
        return {"alias": "production", "version": v}

    log(op="ready", outcome="ok", pid=os.getpid())
    while go is not None and not go.exists():
        time.sleep(0.002)
    deadline = time.time() + cfg["seconds"]  # counted from "go"
    count = 0
    while time.time() < deadline and count < cfg.get("count", 10**9):
        count += 1
        if role in ("publisher", "killed", "crash", "concurrent"):
            out = attempt(log, "publish", publish)
            if role == "publisher" or out is None:
                continue
            v = out["version"]
            attempt(log, "set_alias", lambda v=v: set_alias("candidate", v), want=v)
            if role == "concurrent" or count % 2:
                attempt(log, "promote", lambda v=v: promote(v), want=v)
            if role == "crash":
                return
        elif role == "deleter":
            vs = attempt(log, "list", lambda: {"versions": reg.versions(NAME),
                                              "aliased": sorted(set(reg.aliases(NAME).values()))})
            if not vs:
                continue
            free = [v for v in vs["versions"] if v not in vs["aliased"]][-3:]
            if not free:
                time.sleep(0.005)
                continue
            v = rng.choice(free)
            attempt(log, "delete", lambda v=v: reg.delete(NAME, v), version=v)
        elif role == "mover":
            vs = attempt(log, "list", lambda: {"versions": reg.versions(NAME)})
            if not vs or not vs["versions"]:
                time.sleep(0.005)
                continue
            v = rng.choice(vs["versions"][-3:])
            if count % 5 == 0:
                attempt(log, "promote", lambda v=v: promote(v), want=v)
            else:
                attempt(log, "set_alias", lambda v=v: set_alias("candidate", v), want=v)


def spawn(role: str, cfg: dict[str, Any], crash_at: str | None = None) -> subprocess.Popen:
    env = dict(ENV)
    if crash_at:
        env["COURSE_LIB_REGISTRY_CRASH_AT"] = crash_at
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", role, json.dumps(cfg)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def wait_ready(log: Path, proc: subprocess.Popen, timeout: float = 30.0) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        done = proc.poll() is not None
        if log.exists() and log.read_bytes().startswith(b'{"op": "ready"'):
            return True
        if done:
            return False
        time.sleep(0.005)
    return False


def stop(proc: subprocess.Popen, grace: float = 10.0) -> str:
    """Wait for a worker to end by itself (grace seconds), else kill it; its stderr's last line."""
    try:
        _, err = proc.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    lines = [x for x in (err or "").splitlines() if x.strip()]
    return lines[-1] if proc.returncode not in (0, -signal.SIGKILL) and lines else ""


# -- checking a registry from outside ---------------------------------------------------------

def leftovers(model_dir: Path) -> dict[str, int]:
    """Hidden entries of the model folder that are not the registry's own, and *.tmp: name -> bytes."""
    out: dict[str, int] = {}
    if not model_dir.is_dir():
        return out
    for e in os.scandir(model_dir):
        if e.name == ".lock" or re.fullmatch(r"\.deleted-[0-9]+", e.name):
            continue
        if e.name.startswith(".") or e.name.endswith(".tmp"):
            out[e.name] = size_of(Path(e.path))
    return out


def size_of(path: Path) -> int:
    if path.is_symlink() or not path.is_dir():
        return path.lstat().st_size
    return sum(size_of(p) for p in path.iterdir())


def pattern(name: str) -> str:
    """A leftover's kind: its name with the numbers and random parts replaced."""
    return re.sub(r"[0-9a-f]{6,}|[0-9]+", "N", name)


def alias_problems(reg: Any, verify: bool = True) -> tuple[list[str], int]:
    """(aliases on a missing or unverifiable version, one line each; how many aliases)."""
    from course_lib.errors import CourseLibError

    try:
        aliases = reg.aliases(NAME)
    except CourseLibError as exc:
        return [f"aliases unreadable: {short(exc)}"], 0
    present = set(reg.versions(NAME))
    bad = []
    for alias, v in sorted(aliases.items()):
        if v not in present:
            bad.append(f"{alias} -> {v}, which is not on disk")
        elif verify:
            try:
                ok = reg.verify(NAME, v).ok
            except CourseLibError as exc:
                ok, v = False, f"{v} ({short(exc)})"
            if not ok:
                bad.append(f"{alias} -> {v}, which does not verify")
    return bad, len(aliases)


def half_made(reg: Any) -> list[str]:
    """Numbered folders that are not complete versions, and complete ones that fail verify."""
    out = [f"{s.version}: {s.reason}" for s in reg.scan(NAME) if not s.valid]
    for r in reg.verify_all(NAME):
        if not r.ok:
            out.append(r.verdict)
    return out


# -- the areas --------------------------------------------------------------------------------

def crash_points() -> list[str]:
    """The crash points the registry's code names (falls back to the points known today)."""
    found: list[str] = []
    import course_lib.registry

    for path in sorted(Path(course_lib.registry.__file__).parent.glob("*.py")):
        found += re.findall(r"crash_(?:point\(|at=)\s*\"([a-z0-9_-]+)\"", path.read_text())
    found = list(dict.fromkeys(found))
    return found or list(KNOWN_POINTS)


def kills(work: Path, src: str, seconds: float, seed: int) -> dict[str, Any]:
    from course_lib.registry import ModelRegistry

    root = work / "kills"
    reg = ModelRegistry(root)
    es, m = eval_and_metrics()
    model_dir = root / NAME
    rng = random.Random(seed)

    def next_write() -> None:
        v = reg.publish_saved_model(src, NAME, es, metrics=m, latency_ms=1.0).version
        reg.set_alias(NAME, "candidate", v)

    start = time.perf_counter()
    next_write()  # a first version, and the time one cycle takes
    cycle = time.perf_counter() - start
    reported: set[int] = set()
    res: dict[str, Any] = {"cases": 0, "handled": 0, "lost": 0, "random": 0, "points": {},
                           "problems": Counter(), "kinds_after_kill": Counter(),
                           "kinds_survived": Counter(), "left_after_kill": 0,
                           "survived": 0, "survived_bytes": 0, "raw": Counter()}
    seen = set(leftovers(model_dir))
    deadline = time.time() + seconds
    points = crash_points()
    cases: list[str | None] = list(points)
    n = 0
    while time.time() < deadline:
        # the built-in points first (each once), then random kills until the time is up
        point = cases.pop(0) if cases else None
        n += 1
        log = work / f"kill-{n}.jsonl"
        cfg = {"root": str(root), "src": src, "log": str(log), "seed": seed + n, "seconds": 60}
        proc = spawn("crash" if point else "killed", cfg, crash_at=point)
        if not wait_ready(log, proc):
            res["raw"][f"worker did not start: {stop(proc, 1)}"] += 1
            continue
        if point:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            fired = proc.returncode == -signal.SIGKILL
            res["points"][point] = "killed there" if fired else f"not reached (exit {proc.returncode})"
        else:
            time.sleep(rng.uniform(0, 3 * cycle))
            proc.kill()
            proc.wait()
            res["random"] += 1
        stop(proc, 1)
        events = read_log(log)
        reported |= {e["version"] for e in events if e["op"] == "publish" and e["outcome"] == "ok"}
        for e in events:
            if e["outcome"] == "raw":
                res["raw"][e["error"]] += 1
        # the registry as the kill left it
        problems, _ = alias_problems(reg)
        problems += [f"half-made {x}" for x in half_made(reg)]
        missing = sorted(reported - set(reg.versions(NAME)))
        problems += [f"published version {v} missing" for v in missing]
        after_kill = leftovers(model_dir)
        new = {k: b for k, b in after_kill.items() if k not in seen}
        res["left_after_kill"] += len(new)
        res["kinds_after_kill"].update(pattern(k) for k in new)
        try:
            next_write()
        except Exception as exc:  # noqa: BLE001
            problems.append(f"the next write failed: {short(exc)}")
        after_write = leftovers(model_dir)
        survivors = {k: b for k, b in new.items() if k in after_write}
        res["survived"] += len(survivors)
        res["survived_bytes"] += sum(survivors.values())
        res["kinds_survived"].update(pattern(k) for k in survivors)
        problems += [f"leftover {pattern(k)} survived the next write" for k in survivors]
        seen = set(after_write)
        res["cases"] += 1
        if problems:
            res["lost"] += 1
            res["problems"].update(re.sub(r"[0-9]+", "N", p) for p in problems)
        else:
            res["handled"] += 1
    final = leftovers(model_dir)
    res["final_left"], res["final_bytes"] = len(final), sum(final.values())
    res["versions"] = len(reg.versions(NAME))
    return res


def race(work: Path, src: str, seconds: float, seed: int) -> dict[str, Any]:
    from course_lib.registry import ModelRegistry

    root = work / "race"
    reg = ModelRegistry(root)
    es, m = eval_and_metrics()
    reg.publish_saved_model(src, NAME, es, metrics=m, latency_ms=1.0)
    go = work / "race.go"
    procs, logs = [], []
    for i, role in enumerate(("publisher", "deleter", "mover")):
        log = work / f"race-{role}.jsonl"
        cfg = {"root": str(root), "src": src, "log": str(log), "seed": seed + i, "go": str(go),
               "seconds": seconds}
        procs.append(spawn(role, cfg))
        logs.append(log)
    for p, log in zip(procs, logs):
        wait_ready(log, p)
    deadline = time.time() + seconds
    go.touch()
    checks, bad_states, examples = 0, 0, []
    while time.time() < deadline:
        try:
            before = reg.aliases(NAME)
            present = set(reg.versions(NAME))
            after = reg.aliases(NAME)
        except Exception as exc:  # noqa: BLE001
            checks += 1
            bad_states += 1
            if len(examples) < 3:
                examples.append(f"checker: {short(exc)}")
            continue
        checks += 1
        if before == after:
            wrong = {a: v for a, v in before.items() if v not in present}
            if wrong:
                bad_states += 1
                if len(examples) < 3:
                    examples.append(f"{wrong} with {len(present)} versions on disk")
        time.sleep(0.01)
    tails = [stop(p, 15) for p in procs]
    final_bad, _ = alias_problems(reg, verify=False)
    ops: Counter = Counter()
    outcomes: Counter = Counter()
    raw: Counter = Counter()
    for log in logs:
        for e in read_log(log):
            if e["op"] in ("ready", "list"):
                if e["outcome"] == "raw":
                    raw[e["error"]] += 1
                continue
            ops[e["op"]] += 1
            outcomes[(e["op"], e["outcome"], e.get("error", ""))] += 1
            if e["outcome"] == "raw":
                raw[e["error"]] += 1
    for t in tails:
        if t:
            raw[f"worker died: {t}"] += 1
    deaths = sum(1 for t in tails if t)
    raw_ops = sum(n for (_, oc, _), n in outcomes.items() if oc == "raw")
    # a case: each worker operation, each check of the checker, the final check
    cases = sum(ops.values()) + checks + 1 + deaths
    lost = raw_ops + bad_states + (1 if final_bad else 0) + deaths
    return {"cases": cases, "handled": cases - lost,
            "lost": lost, "ops": ops, "outcomes": outcomes, "raw": raw, "checks": checks,
            "bad_states": bad_states, "examples": examples, "final_bad": final_bad,
            "final_versions": len(reg.versions(NAME)), "seconds": seconds}


def concurrency(work: Path, src: str, seconds: float, count: int, seed: int) -> dict[str, Any]:
    from course_lib.registry import ModelRegistry

    root = work / "concurrency"
    reg = ModelRegistry(root)
    go = work / "concurrency.go"
    procs, logs = [], []
    for i in range(PROCESSES):
        log = work / f"conc-{i}.jsonl"
        cfg = {"root": str(root), "src": src, "log": str(log), "seed": seed + i, "go": str(go),
               "seconds": seconds, "count": count}
        procs.append(spawn("concurrent", cfg))
        logs.append(log)
    for p, log in zip(procs, logs):
        wait_ready(log, p)
    go.touch()
    t0 = time.perf_counter()
    tails = [stop(p, max(1.0, seconds + 15 - (time.perf_counter() - t0))) for p in procs]
    elapsed = time.perf_counter() - t0
    published: list[int] = []
    made: list[tuple[str, int]] = []
    raw: Counter = Counter()
    cases = 0
    refusals: Counter = Counter()
    for log in logs:
        for e in read_log(log):
            if e["op"] == "ready":
                continue
            cases += 1
            if e["outcome"] == "raw":
                raw[e["error"]] += 1
                continue
            if e["outcome"] == "handled":
                refusals[(e["op"], e["error"])] += 1
            elif e["op"] == "publish":
                published.append(e["version"])
            elif e["op"] in ("set_alias", "promote"):
                made.append((e["alias"], e["version"]))
    deaths = 0
    for t in tails:
        if t:
            raw[f"worker died: {t}"] += 1
            deaths += 1
    history: dict[str, list[int]] = {}
    aliases_file = root / NAME / "aliases.json"  # no public call returns the history
    try:
        history = json.loads(aliases_file.read_text())["history"]
    except Exception as exc:  # noqa: BLE001
        print(f"  (aliases.json unreadable: {short(exc)}: every alias change counts as lost)")
    lost_updates = [(a, v) for a, v in made if v not in history.get(a, [])]
    on_disk = reg.versions(NAME)
    duplicates = len(published) - len(set(published))
    missing = sorted(set(published) - set(on_disk))
    missing_publishes = sum(1 for v in published if v in set(missing))
    # a case: each operation of a worker (and a worker that died); lost: a raw exception, a
    # publish whose number another publish also got or that is not on disk, an alias change
    # missing from the history
    cases += deaths
    lost = sum(raw.values()) + duplicates + missing_publishes + len(lost_updates)
    return {"cases": cases, "handled": cases - lost, "lost": lost, "published": len(published),
            "distinct": len(set(published)), "expected": PROCESSES * count,
            "on_disk": len(on_disk), "duplicates": duplicates, "missing": missing,
            "alias_changes": len(made), "lost_updates": lost_updates, "refusals": refusals,
            "raw": raw, "elapsed": elapsed}


# -- the model ---------------------------------------------------------------------------------

EXPORT = """
import sys, keras
m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
try:
    m.export(sys.argv[1], verbose=False)
except TypeError:
    m.export(sys.argv[1])
"""


def make_source(work: Path, fake: bool) -> tuple[str, str]:
    src = work / "source"
    if not fake:
        done = subprocess.run([sys.executable, "-c", EXPORT, str(src)], env=ENV, check=False,
                              capture_output=True, text=True, timeout=300)
        if done.returncode == 0 and (src / "saved_model.pb").is_file():
            return str(src), "a tiny Keras model exported once as a SavedModel"
        print(f"  (the export failed, random bytes are used instead: "
              f"{(done.stderr.strip().splitlines() or ['?'])[-1]})")
        shutil.rmtree(src, ignore_errors=True)
    rng = random.Random(0)
    for rel in ("saved_model.pb", "fingerprint.pb", "variables/variables.data-00000-of-00001",
                "variables/variables.index"):
        p = src / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rng.randbytes(2000))
    (src / "assets").mkdir(exist_ok=True)
    return str(src), "random bytes shaped like a SavedModel (--fake-model)"


# -- the report --------------------------------------------------------------------------------

def report(k: dict[str, Any], r: dict[str, Any], c: dict[str, Any]) -> None:
    print("\n1. kills")
    print(f"  {k['random']} random SIGKILLs, built-in crash points:")
    for point, what in k["points"].items():
        print(f"    {point:22s} {what}")
    print(f"  leftovers new after a kill: {k['left_after_kill']} "
          f"({', '.join(f'{n} x {p}' for p, n in k['kinds_after_kill'].most_common()) or 'none'})")
    print(f"  of those, still there after the next write: {k['survived']} "
          f"({k['survived_bytes'] / 1e6:.2f} MB; "
          f"{', '.join(f'{n} x {p}' for p, n in k['kinds_survived'].most_common()) or 'none'})")
    print(f"  at the end: {k['versions']} versions, {k['final_left']} leftovers "
          f"({k['final_bytes'] / 1e6:.2f} MB)")
    for p, n in k["problems"].most_common():
        print(f"  problem x{n}: {p}")
    print("\n2. race")
    print(f"  {r['seconds']:.0f} s: " + ", ".join(f"{n} {op}" for op, n in sorted(r["ops"].items())))
    for (op, oc, err), n in sorted(r["outcomes"].items()):
        if oc != "ok":
            print(f"    {op} {oc} x{n}: {err}")
    print(f"  checker: {r['checks']} checks, {r['bad_states']} with an alias on a missing version"
          + (f" (e.g. {'; '.join(r['examples'])})" if r["examples"] else ""))
    print(f"  at the end: {r['final_versions']} versions; "
          f"{'; '.join(r['final_bad']) or 'every alias on a version on disk'}")
    print("\n3. concurrency")
    print(f"  {PROCESSES} processes x up to {c['expected'] // PROCESSES} versions in "
          f"{c['elapsed']:.1f} s: {c['published']} published, {c['distinct']} distinct numbers "
          f"(expected {c['expected']}), {c['on_disk']} on disk, {c['duplicates']} duplicates, "
          f"{len(c['missing'])} missing")
    print(f"  alias changes made: {c['alias_changes']}, missing from the history: "
          f"{len(c['lost_updates'])}" + (f" (e.g. {c['lost_updates'][:3]})" if c["lost_updates"]
                                         else ""))
    for (op, err), n in sorted(c["refusals"].items()):
        print(f"    {op} handled x{n}: {err}")
    raw = k["raw"] + r["raw"] + c["raw"]
    print("\nraw (non-CourseLibError) failures, each type once:")
    for err, n in raw.most_common():
        print(f"  x{n}: {err}")
    if not raw:
        print("  none")
    print("\narea          cases  handled  lost")
    for area, d in (("kills", k), ("race", r), ("concurrency", c)):
        print(f"{area:12s} {d['cases']:6d} {d['handled']:8d} {d['lost']:5d}")
    print("\nlost means:")
    print("  kills: a case (one kill) after which an alias pointed at a missing or unverifiable"
          " version, a numbered folder was half-made, a reported version was gone, or a leftover"
          " of that kill survived the next write")
    print("  race: a raw exception in a worker, plus each checker state and each final alias"
          " pointing at a version not on disk")
    print("  concurrency: a raw exception, a duplicate or missing version number, or an alias"
          " change a process was told it made that the history lacks")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], json.loads(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=None,
                    help="time for the three areas together (default 150; 20 with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="20 s for the areas (about 30 s in all), 5 versions per process")
    ap.add_argument("--fake-model", action="store_true",
                    help="random bytes shaped like a SavedModel instead of an exported model")
    ap.add_argument("--versions", type=int, default=None,
                    help="versions each concurrent process publishes (default 15; 5 with --quick)")
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args()
    seconds = args.seconds or (20.0 if args.quick else 150.0)
    count = args.versions or (5 if args.quick else 15)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="course-stress-") as tmp:
        work = Path(tmp)
        src, what = make_source(work, args.fake_model)
        what += f" ({time.perf_counter() - start:.0f} s)"
        import course_lib

        print(f"registry stress: {seconds:.0f} s in {work}; model: {what}; "
              f"course_lib from {Path(course_lib.__file__).parent}")
        k = kills(work, src, 0.4 * seconds, args.seed)
        r = race(work, src, 0.3 * seconds, args.seed)
        c = concurrency(work, src, 0.3 * seconds, count, args.seed)
        report(k, r, c)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
