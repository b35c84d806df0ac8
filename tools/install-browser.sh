#!/usr/bin/env bash
# Make sure Chromium is there for the browser test (tests/test_viz_browser.py), which drives
# Debian's Chromium through Playwright: Playwright's own browser download is not an option
# offline, so the browser comes from the system's packages. Installed with apt-get when it is
# missing and we may install (root, or sudo without a password); otherwise one line says what
# to install and why, and the exit status is 1. `make test` runs this before the tests.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
why="the browser test (tests/test_viz_browser.py) drives Chromium"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "make test: $why; install the 'chromium' package with your system's package manager, then run make test again" >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "make test: $why; install it with 'sudo apt-get install chromium', then run make test again" >&2
    exit 1
fi
echo "make test: installing Chromium (apt-get install chromium) for the browser test; first time only" >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null
