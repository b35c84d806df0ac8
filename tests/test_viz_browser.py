"""End to end: the real `salesim viz` server driven by headless Chromium through Playwright.

Needs Debian's chromium, which `make test` installs (tools/install-browser.sh). Prints the time
from a Step click to the page showing the next day (the figure reported for the viz issue).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: A Reset builds one or two 1,500-customer models and redraws the page; on a shared 2-core
#: machine under load that can take well over Playwright's default 5 s (a wait bound, not a
#: speed requirement: speed is measured by the Step times printed below).
RESET_TIMEOUT = 30_000
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "salesim", "viz", "configs/baseline.yaml", "--port", str(port)],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            assert proc.poll() is None, proc.stdout.read()
            assert time.time() < deadline, "server did not start"
            time.sleep(0.3)
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


def day(page) -> int:
    return int(page.locator(".salesim-clock").get_attribute("data-day"))


def step(page, times: list[float]) -> None:
    before = day(page)
    start = time.perf_counter()
    page.get_by_role("button", name="Step").click()
    expect(page.locator(f'.salesim-clock[data-day="{before + 1}"]')).to_be_visible(timeout=10_000)
    times.append(time.perf_counter() - start)


def choose(page, label: str, option: str) -> None:
    page.locator(".v-select", has=page.locator("label", has_text=label)).click()
    page.get_by_role("option", name=option, exact=True).click()


def type_into(page, label: str, text: str) -> None:
    box = page.get_by_role("textbox", name=label, exact=True)
    box.fill(text)
    box.press("Enter")


def reset(page) -> None:
    page.get_by_role("button", name="Reset").click()


def kpi(page, name: str) -> str:
    return page.locator(f'.salesim-kpi[data-kpi="{name}"]').get_attribute("data-value")


def test_page_in_a_real_browser(server, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Debian chromium is not installed: apt-get install -y chromium (make test does)"
        )
    requested: list[str] = []
    times: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.on("request", lambda r: requested.append(r.url))
        page.goto(server)
        expect(page.locator(".salesim-clock")).to_be_visible(timeout=90_000)
        assert day(page) == 0

        # Step: the clock and the KPI cards move.
        step(page, times)
        first = kpi(page, "mean_response_hours")
        for _ in range(5):
            step(page, times)
        assert day(page) == 6 and kpi(page, "mean_response_hours") != first

        # Another design: Reset builds it from the fields.
        choose(page, "Organisation design", "product")
        reset(page)
        expect(page.locator('.salesim-clock[data-day="0"]')).to_be_visible(timeout=RESET_TIMEOUT)
        expect(page.locator('.salesim-kpi .v[data-design="product"]').first).to_be_visible()

        # Side by side on the same seed: both designs, and the gap between them.
        choose(page, "Side by side with", "customer_manager")
        reset(page)
        expect(page.locator(".salesim-kpi .gap").first).to_be_visible(timeout=RESET_TIMEOUT)
        for _ in range(3):
            step(page, times)
        expect(
            page.locator('.salesim-kpi .v[data-design="customer_manager"]').first
        ).to_be_visible()
        assert page.locator(".salesim-kpi .gap").count() == 7

        # A negative head-count: a message, and the last good model keeps running.
        type_into(page, "Sales staff (reps / CMs)", "-5")
        reset(page)
        expect(page.get_by_text("Not applied")).to_be_visible()
        expect(page.get_by_text("greater than or equal to 1")).to_be_visible()
        assert day(page) == 3
        step(page, times)
        assert day(page) == 4

        # Text in a number field: the same.
        type_into(page, "Sales staff (reps / CMs)", "30")
        type_into(page, "Customers", "lots")
        reset(page)
        expect(page.get_by_text("Customers: expected a number")).to_be_visible()
        assert day(page) == 4

        # Fixed: Reset starts a fresh model without the message.
        type_into(page, "Customers", "1500")
        reset(page)
        expect(page.locator('.salesim-clock[data-day="0"]')).to_be_visible(timeout=RESET_TIMEOUT)
        expect(page.get_by_text("Not applied")).to_have_count(0)
        step(page, times)
        page.screenshot(path=str(tmp_path / "viz.png"), full_page=True)
        browser.close()

    assert (tmp_path / "viz.png").stat().st_size > 20_000
    # data: and blob: URLs live in the page; a blob's origin is the server it came from.
    hosts = {
        u: urlparse(u.removeprefix("blob:")).hostname
        for u in requested
        if not u.startswith("data:")
    }
    foreign = sorted(u for u, host in hosts.items() if host not in ("127.0.0.1", "localhost"))
    assert not foreign, f"the page asked for non-local URLs: {foreign[:5]}"
    figures = {
        "steps": len(times),
        "median_s": statistics.median(times),
        "max_s": max(times),
        "each_s": [round(t, 3) for t in times],
    }
    print(f"\nstep-to-page update, baseline scale: {json.dumps(figures)}")
