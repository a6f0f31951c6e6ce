#!/usr/bin/env bash
# Install what the real-browser tests (tests/browser) need, and check that it works:
#   - Debian's Chromium (/usr/bin/chromium), with apt-get: Playwright's own browser
#     download does not work on these machines, so the tests launch the system Chromium;
#   - the playwright Python package, in the project's venv (.venv, made by `make setup`).
# Idempotent and quick when both are there. Run from anywhere, as root or with sudo.
#
#   bash .ci/install-browser.sh            # .ci/run calls it before `make test`
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${VENV_PYTHON:-.venv/bin/python}"
PLAYWRIGHT_SPEC="${PLAYWRIGHT_SPEC:-playwright==1.65.2}"

if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "install-browser: installing Debian's chromium with apt-get"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# (Debian's launcher may print a harmless "[: ...: unexpected operator" from /etc/chromium.d/dev-shm.)
echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null)"

if [ ! -x "$PYTHON" ]; then
  echo "install-browser: $PYTHON not found: run \`make setup\` first (it creates the venv)" >&2
  exit 1
fi
if ! "$PYTHON" -c "import playwright" 2>/dev/null; then
  echo "install-browser: installing $PLAYWRIGHT_SPEC into $(dirname "$(dirname "$PYTHON")")"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check -c constraints.txt "$PLAYWRIGHT_SPEC"
fi

# Smoke test: Playwright drives the system Chromium (headless, loopback only).
"$PYTHON" - <<'PY'
from playwright.sync_api import sync_playwright

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
with sync_playwright() as pw:
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=FLAGS)
    page = browser.new_page()
    page.set_content("<button onclick=\"this.textContent='clicked'\">click me</button>")
    page.click("button")
    assert page.inner_text("button") == "clicked"
    print(f"install-browser: playwright drives Chromium {browser.version}: ok")
    browser.close()
PY
