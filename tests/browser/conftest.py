"""Fixtures of the real-browser tests: JupyterLab on loopback, driven by headless Chromium.

The tests need Debian's ``chromium`` (``/usr/bin/chromium``) and the ``playwright`` Python
package (its own browser download does not work here: we launch the system Chromium).
Without them the tests are skipped with the reason and how to enable them; under CI
(``CI=true``) they fail instead, because CI installs both (``.ci/install-browser.sh``).

The server runs on 127.0.0.1 on a free port with a random token, from a temporary copy
of ``notebooks/`` (the repository is never modified), with Jupyter's config, settings,
workspace and runtime folders in that temporary place too, so a user's own JupyterLab
settings cannot change what the test sees. One server and one Chromium serve a whole
session (each pytest-xdist worker has its own); each lesson module opens its lesson in a
fresh kernel and a fresh browser context, and shuts that kernel down when it is done (a
kernel holds TensorFlow's memory). Teardown stops the server and the browser, and kills
(by process id) any kernel process still alive.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
#: Flags for Chromium on a machine with no network but loopback (Playwright adds --headless).
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ENABLE = ("To enable them: `bash .ci/install-browser.sh` (apt-get install chromium; playwright into "
          ".venv), or set COURSE_LIB_CHROMIUM to a Chromium executable.")
SERVER_START_TIMEOUT = 90.0


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``quiz_id`` and ``check_id``: each exercise of the module's ``LESSON``, read from the notebook."""
    from lab_helpers import exercises

    for kind in ("quiz", "check"):
        if f"{kind}_id" in metafunc.fixturenames:
            ids = exercises(metafunc.module.LESSON)[kind]
            metafunc.parametrize(f"{kind}_id", ids, ids=ids)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives JupyterLab in headless Chromium (needs chromium and playwright)")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's report on the test item (the page fixture screenshots failures)."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"browser tests cannot run: {reason}. CI must run them (CI=true): .ci/run installs "
                    "Chromium and playwright with .ci/install-browser.sh.", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}. {ENABLE}")


def chromium_executable() -> str | None:
    """COURSE_LIB_CHROMIUM, else Debian's /usr/bin/chromium, else a chromium on the PATH."""
    explicit = os.environ.get("COURSE_LIB_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the Python package playwright is not installed")
    path = chromium_executable()
    if path is None:
        _unavailable("no Chromium executable found (looked for COURSE_LIB_CHROMIUM, "
                     f"{', '.join(CHROMIUM_CANDIDATES)} and chromium on the PATH)")
    return str(path)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# -- JupyterLab -------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc; empty elsewhere)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")  # a zombie is dead for our purpose
    return not (stat.is_file() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


@dataclass
class LabServer:
    """A running JupyterLab: its base URL, token, root folder, process and log file."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen[bytes]
    log: Path
    #: The kernels' progress file (COURSE_LIB_PROGRESS): what the learner answered in the page.
    progress: Path

    def api(self, path: str, method: str = "GET") -> Any:
        """Call the server's REST API (``/api/...``) with the token; the decoded JSON (or None)."""
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def lab_url(self, notebook: str) -> str:
        """The page of ``notebook`` alone: ``reset`` drops the tabs an earlier module left open
        in the server's workspace (each would start a kernel)."""
        return f"{self.url}/lab/tree/{notebook}?reset&token={self.token}"

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _write_jupyter_settings(home: Path) -> dict[str, str]:
    """Private Jupyter folders: no user config leaks in, announcements off, every cell in the DOM."""
    dirs = {name: home / name for name in ("config", "data", "runtime", "settings", "workspaces")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    (dirs["config"] / "labconfig").mkdir()
    (dirs["config"] / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    tracker = dirs["settings"] / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    # Windowing off: every cell is rendered, so off-screen cells can be found and scrolled to.
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    return {
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
        "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"]),
        "IPYTHONDIR": str(home / "ipython"),
    }


def _shut_kernels_down(server: LabServer) -> None:
    """End every session and kernel of the server through its API, and wait for the kernel
    processes to exit (killed by process id after 10 s)."""
    kernels = _children(server.process.pid)
    try:
        for session in server.api("/api/sessions") or []:
            server.api(f"/api/sessions/{session['id']}", method="DELETE")
        for kernel in server.api("/api/kernels") or []:
            server.api(f"/api/kernels/{kernel['id']}", method="DELETE")
    except (urllib.error.URLError, OSError, ValueError):
        pass
    _reap(kernels)


def _reap(pids: list[int]) -> None:
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids:  # kernels run in sessions of their own: end any left, by pid
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _stop_server(server: LabServer) -> None:
    _shut_kernels_down(server)  # polite first, through the API
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        if server.process.poll() is not None:
            break
        try:
            os.killpg(server.process.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def lab_server(chromium_path: str, tmp_path_factory: pytest.TempPathFactory,
               artifacts: Path, worker_id: str) -> Iterator[LabServer]:
    """JupyterLab on 127.0.0.1 (free port, token) serving a temporary copy of notebooks/.

    One per session (per pytest-xdist worker): its log is ``jupyterlab-<worker>.log``.
    """
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    shutil.copytree(ROOT / "notebooks", root,
                    ignore=shutil.ignore_patterns("work", ".ipynb_checkpoints", "__pycache__"))
    env = {**os.environ, **_write_jupyter_settings(base / "jupyter"), "TF_CPP_MIN_LOG_LEVEL": "3",
           "COURSE_LIB_PROGRESS": str(base / "progress.json")}
    env.pop("JUPYTER_PATH", None)
    # As a learner's kernel: ipykernel stops forwarding C-level output when it sees pytest's variable.
    env.pop("PYTEST_CURRENT_TEST", None)
    port, token = _free_port(), secrets.token_hex(16)
    log = artifacts / f"jupyterlab-{worker_id}.log"
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI and these machines run as root
        cmd.append("--allow-root")
    with log.open("wb") as log_file:
        process = subprocess.Popen(cmd, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", token, root, process, log, base / "progress.json")
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with code {process.returncode} while starting:\n"
                            f"{server.log_tail()}", pytrace=False)
            try:
                server.api("/api/status")
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer on {server.url} within "
                                f"{SERVER_START_TIMEOUT:g} s:\n{server.log_tail()}", pytrace=False)
                time.sleep(0.3)
        yield server
    finally:
        _stop_server(server)


# -- Chromium -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (a fresh temporary profile)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_FLAGS,
                                      timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def lab_page(browser: Any, request: pytest.FixtureRequest, artifacts: Path) -> Iterator[Any]:
    """One browser tab for a test module; a screenshot of it when a test of the module failed."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    console: list[str] = []
    tab.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    tab.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    try:
        yield tab
    finally:
        failed = [i for i in request.session.items if getattr(i, "module", None) is request.module
                  and getattr(getattr(i, "report_call", None), "failed", False)]
        if failed:
            with contextlib.suppress(Exception):  # best effort: never hide the test's own failure
                tab.screenshot(path=str(artifacts / f"{request.module.__name__}-failure.png"))
        (artifacts / f"{request.module.__name__}-console.log").write_text("\n".join(console) + "\n")
        context.close()


@pytest.fixture(scope="module")
def lesson(lab_server: LabServer, lab_page: Any, artifacts: Path,
           request: pytest.FixtureRequest) -> Iterator[Any]:
    """The module's ``LESSON`` open in JupyterLab, every cell run top to bottom in a fresh kernel.

    A module may set ``RUN_ALL_TIMEOUT`` (milliseconds) for a lesson that trains longer.
    A screenshot of the page once it has run goes to ``NN-after-run-all.png``. When the
    module is done, the lesson's kernel is shut down (the next module starts its own).
    """
    from lab_helpers import RUN_ALL_TIMEOUT, run_all_cells

    name = request.module.LESSON
    _shut_kernels_down(lab_server)  # a module that failed early may have left one
    try:
        page = run_all_cells(lab_server, lab_page, name, artifacts,
                             timeout=getattr(request.module, "RUN_ALL_TIMEOUT", RUN_ALL_TIMEOUT))
        page.screenshot(path=str(artifacts / f"{name[:2]}-after-run-all.png"))
        yield page
    finally:
        _shut_kernels_down(lab_server)
