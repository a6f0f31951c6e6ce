"""The Node and TF.js checks of ``course-lib doctor``: Node 20, ``@tensorflow/tfjs`` and its
WebAssembly back end, each found or started as the TF.js checks of the lessons use them.

>>> check_node(path="").verdict
'FAIL  node: `node` was not found on the PATH'
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from course_lib.instructor.check_result import CheckResult
from course_lib.tfjs.runtime import SCRIPT, TFJS_VERSION

__all__ = ["MIN_NODE", "check_node", "check_tfjs", "check_tfjs_wasm"]

#: Node major version the TF.js runtime checks need (package.json "engines").
MIN_NODE = 20


def check_node(path: str | None = None, minimum: int = MIN_NODE, timeout: float = 20.0) -> CheckResult:
    """Is ``node`` on the PATH (``path``: a PATH string; None: this process's), version >= ``minimum``?

    >>> check_node(path="").ok
    False
    """
    fix = (f"install Node {minimum} or later (https://nodejs.org, or your package manager, e.g. "
           "apt-get install nodejs) and make sure `node` is on the PATH")
    node = shutil.which("node", path=path)
    if node is None:
        return CheckResult("node", False, "`node` was not found on the PATH", fix)
    try:
        out = subprocess.run([node, "--version"], check=False, capture_output=True, text=True,
                             timeout=timeout, stdin=subprocess.DEVNULL).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CheckResult("node", False, f"{node} did not answer `node --version` ({exc})", fix)
    m = re.match(r"v?(\d+)\.", out)
    if m is None:
        return CheckResult("node", False, f"{node} printed {out!r} for --version, not a version", fix)
    if int(m.group(1)) < minimum:
        return CheckResult("node", False, f"{out} at {node}; the TF.js checks need Node {minimum} or later", fix)
    return CheckResult("node", True, f"{out} at {node}")


_RESOLVE_TFJS = (
    "const path = require('path'); const nm = process.argv[1];"
    "const main = require.resolve(path.join(nm, '@tensorflow', 'tfjs'));"
    "const pkg = require(path.join(nm, '@tensorflow', 'tfjs', 'package.json'));"
    "console.log(pkg.version + ' ' + main);"
)


def check_tfjs(node_modules: Path | None, *, path: str | None = None, expected: str | None = None,
               timeout: float = 30.0, fix: str | None = None) -> CheckResult:
    """Does Node resolve ``@tensorflow/tfjs`` from ``node_modules`` (as the lessons load it)?

    >>> check_tfjs(None).ok
    False

    ``path``: the PATH to find ``node`` on (None: this process's). ``expected``: the
    version the course pins (default: :data:`course_lib.tfjs.runtime.TFJS_VERSION`).
    ``fix``: what to do when it fails (default: ``npm ci`` in the course repository, or
    ``npm install`` and ``COURSE_LIB_NODE_MODULES``).
    """
    expected = TFJS_VERSION if expected is None else expected
    fix = fix or ("run `npm ci` in the course repository (make setup does it), or `npm install "
                  f"@tensorflow/tfjs@{expected}` in a folder of your choice and set "
                  "COURSE_LIB_NODE_MODULES to its node_modules")
    name = "@tensorflow/tfjs"
    if node_modules is None:
        return CheckResult(name, False, "no node_modules folder found (COURSE_LIB_NODE_MODULES is not set "
                     "and there is no repository checkout's node_modules)", fix)
    if not Path(node_modules).is_dir():
        return CheckResult(name, False, f"{node_modules} is not a folder", fix)
    node = shutil.which("node", path=path)
    if node is None:
        return CheckResult(name, False, f"cannot check {node_modules}: `node` is not on the PATH",
                     "install Node first (see the node check), then run this again")
    try:
        done = subprocess.run([node, "-e", _RESOLVE_TFJS, str(Path(node_modules).resolve())],
                              check=False, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CheckResult(name, False, f"node could not be asked about {node_modules} ({exc})", fix)
    if done.returncode != 0:
        lines = [x for x in done.stderr.splitlines() if x.strip()]
        why = next((x.strip() for x in lines if "Cannot find module" in x), lines[-1] if lines else "")
        return CheckResult(name, False, f"not resolvable from {node_modules}: {why}", fix)
    version = done.stdout.split()[0] if done.stdout.split() else "?"
    if version != expected:
        return CheckResult(name, False, f"{version} in {node_modules}; the course pins {expected}", fix)
    return CheckResult(name, True, f"{version} in {node_modules}")


def check_tfjs_wasm(node_modules: Path | None, *, path: str | None = None,
                    timeout: float = 30.0) -> CheckResult:
    """Does TF.js start its WebAssembly back end from ``node_modules`` (as the TF.js checks run)?

    >>> check_tfjs_wasm(None).label
    'warn'

    Optional: without it the TF.js checks run on the pure-JavaScript ``cpu`` back end, about
    30x slower, and say so. The check asks the course's own runner
    (``course_lib/tfjs/runtime.js``) to start the back end, and runs no model.
    """
    name = "@tensorflow/tfjs-backend-wasm"
    fix = (f"run `npm ci` in the course repository (make setup does it), or `npm install "
           f"@tensorflow/tfjs-backend-wasm@{TFJS_VERSION}` beside @tensorflow/tfjs")
    node = shutil.which("node", path=path)
    if node_modules is None or not Path(node_modules).is_dir() or node is None:
        return CheckResult(name, False, "not checked: Node and @tensorflow/tfjs come first (see "
                           "their checks)", fix, required=False)
    request = {"action": "backend", "backend": "wasm", "node_modules": str(Path(node_modules).resolve())}
    try:
        done = subprocess.run([node, str(SCRIPT)], input=json.dumps(request), check=False,
                              capture_output=True, text=True, timeout=timeout)
        answer = json.loads((done.stdout.strip().splitlines() or ["{}"])[-1])
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        return CheckResult(name, False, f"node could not start the wasm back end ({exc})", fix,
                           required=False)
    if not answer.get("ok"):
        why = (str(answer.get("error") or "no answer").strip().splitlines() or ["no answer"])[0]
        return CheckResult(name, False, f"{why}; the TF.js checks run on the slower cpu back end",
                           fix, required=False)
    features = ", ".join(f"{what} {'on' if answer.get(key) else 'off'}"
                         for what, key in (("SIMD", "wasm_simd"), ("threads", "wasm_threads")))
    return CheckResult(name, True, f"{answer['tfjs_version']} starts in {node_modules} ({features})",
                       fix, required=False)
