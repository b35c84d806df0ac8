"""Driving the real `salesim viz` page in Debian's Chromium: shared by the browser test and
``benchmarks/bench_viz.py --browser`` (which times what the test only checks).

Every wait here polls for a state of the page or the server; none is a fixed sleep, and no
clock is read: a wait that gives up is a failure, not a measurement.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}
POLL_SECONDS = 0.2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(condition, tries: int, what: str) -> None:
    """Call ``condition`` until it is true, ``tries`` times ``POLL_SECONDS`` apart at most."""
    for _ in range(tries):
        if condition():
            return
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"gave up waiting: {what}")


@contextmanager
def viz_server(log: Path, config: str = "configs/baseline.yaml", extra: tuple[str, ...] = ()):
    """A `salesim viz` server on a free port; yields its URL. Stopped (group and all) after."""
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "salesim", "viz", config, "--port", str(port), *extra],
            cwd=ROOT,
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}/"

    def answers() -> bool:
        assert proc.poll() is None, log.read_text()
        try:
            urllib.request.urlopen(url, timeout=2)
        except OSError:
            return False
        return True

    try:
        poll(answers, 600, "the viz server to answer")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


@contextmanager
def chromium():
    if not Path(CHROMIUM).exists():
        raise AssertionError(
            "Debian chromium is not installed: apt-get install -y chromium (make test does)"
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def open_page(browser, url, requested: list[str] | None = None, viewport=VIEWPORT):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(60_000)
    if requested is not None:
        page.on("request", lambda r: requested.append(r.url))
    page.goto(url)
    expect(page.locator(".salesim-clock")).to_be_visible(timeout=120_000)
    return context, page


def day(page) -> int:
    return int(page.locator(".salesim-clock").get_attribute("data-day"))


def wait_for_day(page, test: str, timeout: int = 60_000) -> None:
    """Wait (on every animation frame) until the clock's day satisfies ``test``, e.g. '> 3'."""
    page.wait_for_function(
        f"() => Number(document.querySelector('.salesim-clock')?.dataset.day) {test}",
        polling="raf",
        timeout=timeout,
    )


def step(page) -> None:
    """Press Step and wait for the next day on the page."""
    before = day(page)
    button = page.get_by_role("button", name="Step", exact=True)
    expect(button).to_be_enabled()
    button.click()
    wait_for_day(page, f"=== {before + 1}", timeout=20_000)


def choose(page, label: str, option: str) -> None:
    select = page.locator(".v-select", has=page.locator("label", has_text=label))
    select.click()
    page.get_by_role("option", name=option, exact=True).click()
    expect(select).to_contain_text(option)


def type_into(page, label: str, text: str) -> None:
    box = page.get_by_role("textbox", name=label, exact=True)
    box.fill(text)
    box.press("Enter")


def reset(page, pending: str | None) -> None:
    """Press Reset once the server has taken in the changed fields.

    ``pending`` is text that the "Reset applies" notice shows once it has them (a field's
    label or new value), or None when the fields end as the running model has them (then the
    notice is gone).
    """
    notice = page.locator(".salesim-pending")
    if pending is None:
        expect(notice).to_have_count(0)
    else:
        expect(notice).to_contain_text(pending)
    page.get_by_role("button", name="Reset").click()


def play_button(page):
    return page.get_by_role("button", name="▶ Play")


def pause_button(page):
    return page.get_by_role("button", name="❚❚ Pause")


def open_group(page, name: str) -> None:
    """Open a group of settings in the side bar (a closed one hides its fields)."""
    header = page.locator(".v-expansion-panel-header", has_text=name)
    if "v-expansion-panel-header--active" not in (header.get_attribute("class") or ""):
        header.click()
    expect(header).to_have_class(re.compile("v-expansion-panel-header--active"))


def seeds_state(page) -> dict:
    """What the seeds card says: runs finished, in all, and whether all are in."""
    box = page.locator(".salesim-seeds")
    return {
        "finished": int(box.get_attribute("data-finished")),
        "total": int(box.get_attribute("data-total")),
        "done": box.get_attribute("data-done") == "True",
    }


def wait_for_seeds(page, test: str, timeout: int = 300_000) -> None:
    """Wait until the seeds card's state satisfies ``test`` (JavaScript on ``s.dataset``)."""
    page.wait_for_function(
        f"() => {{ const s = document.querySelector('.salesim-seeds'); return s && ({test}); }}",
        timeout=timeout,
    )
