"""End to end: the real `salesim viz` server driven by headless Chromium through Playwright.

Needs Debian's chromium, which `make test` installs (tools/install-browser.sh). Prints the
figures the viz issue asks for: the time from a Step click to the page showing the next day
(median), and the business days a second while playing. Timings are printed, never asserted.
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
from playwright.sync_api import TimeoutError as PlaywrightTimeout
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
# Generous waits: the machines that run this are shared, and a wait is not a timing measurement.
expect.set_options(timeout=30_000)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("viz") / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "salesim", "viz", "configs/baseline.yaml", "--port", str(port)],
            cwd=ROOT,
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            assert proc.poll() is None, log.read_text()
            assert time.time() < deadline, "server did not start"
            time.sleep(0.3)
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)
    # Whatever the browser saw, the server must not have failed behind it.
    assert "Traceback" not in log.read_text(), log.read_text()[-4000:]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Debian chromium is not installed: apt-get install -y chromium (make test does)"
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def open_page(browser, url, requested: list[str] | None = None):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(60_000)
    if requested is not None:
        page.on("request", lambda r: requested.append(r.url))
    page.goto(url)
    expect(page.locator(".salesim-clock")).to_be_visible(timeout=120_000)
    return context, page


def day(page) -> int:
    return int(page.locator(".salesim-clock").get_attribute("data-day"))


def step(page, times: list[float] | None = None) -> None:
    before = day(page)
    button = page.get_by_role("button", name="Step", exact=True)
    expect(button).to_be_enabled()
    start = time.perf_counter()
    button.click()
    # Checked on every animation frame: expect() polls at growing intervals and would round
    # the latency up to its next poll.
    page.wait_for_function(
        f"() => document.querySelector('.salesim-clock')?.dataset.day === '{before + 1}'",
        polling="raf",
        timeout=20_000,
    )
    if times is not None:
        times.append(time.perf_counter() - start)


def choose(page, label: str, option: str) -> None:
    select = page.locator(".v-select", has=page.locator("label", has_text=label))
    select.click()
    page.get_by_role("option", name=option, exact=True).click()
    expect(select).to_contain_text(option)


def type_into(page, label: str, text: str) -> None:
    box = page.get_by_role("textbox", name=label, exact=True)
    box.fill(text)
    box.press("Enter")


def reset(page) -> None:
    """Press Reset once the page has taken in every changed field."""
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Reset").click()


def kpi(page, name: str) -> str:
    return page.locator(f'.salesim-kpi[data-kpi="{name}"]').get_attribute("data-value")


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def playing_rate(page, seconds: float, horizon: int = 504) -> float:
    """Business days a second while Play runs (read from the clock on the page).

    Measured from one second after Play (past the first frame) for ``seconds``, or until the
    run is about a second of fast play (120 days) from its end, whichever comes first. Play
    may still reach the end before Pause is clicked (Pause is then disabled): that is fine.
    """
    page.get_by_role("button", name="▶ Play").click()
    time.sleep(1.0)
    d0, t0 = day(page), time.perf_counter()
    d1, t1 = d0, t0
    while t1 - t0 < seconds and d1 < horizon - 120:
        time.sleep(0.2)
        d1, t1 = day(page), time.perf_counter()
    try:
        page.get_by_role("button", name="❚❚ Pause").click(timeout=5_000)
    except PlaywrightTimeout:
        assert day(page) == horizon  # the run ended first, so there was nothing to pause
    expect(page.get_by_role("button", name="▶ Play")).to_be_visible()
    return (d1 - d0) / (t1 - t0)


def test_each_visitor_has_a_model_of_their_own(server, browser):
    first_ctx, first = open_page(browser, server)
    assert day(first) == 0
    for _ in range(3):
        step(first)
    assert day(first) == 3
    value = kpi(first, "mean_response_hours")

    # Someone opening the page later starts at day 0, and their steps leave the first alone.
    second_ctx, second = open_page(browser, server)
    assert day(second) == 0
    step(second)
    assert day(second) == 1
    first.wait_for_timeout(500)
    assert day(first) == 3 and kpi(first, "mean_response_hours") == value

    # A reload is a fresh model at day 0 for that visitor only.
    first.reload()
    expect(first.locator('.salesim-clock[data-day="0"]')).to_be_visible(timeout=120_000)
    second.wait_for_timeout(500)
    assert day(second) == 1
    first_ctx.close()
    second_ctx.close()


def test_page_in_a_real_browser(server, browser, tmp_path):
    shots = Path(os.environ.get("SALESIM_VIZ_SCREENSHOTS", tmp_path))
    requested: list[str] = []
    times: list[float] = []
    context, page = open_page(browser, server, requested)
    assert day(page) == 0
    expect(page.locator(".salesim-clock")).to_have_text("Start of month 1")
    # Running values from the first day: response times once the first requests resolve, the
    # volume KPIs as month 1's expectation (marked ≈) until it closes.
    expect(page.locator('.salesim-kpi[data-kpi="direct_sales_rate"] .v')).to_contain_text("≈")
    for _ in range(6):
        step(page, times)
    assert day(page) == 6
    assert float(kpi(page, "mean_response_hours")) > 0
    expect(page.locator(".salesim-clock")).to_have_text("Month 1 · day 6 of 21")
    for name in ("retention_rate", "direct_sales_rate", "plan_completion_rate", "market_share"):
        assert kpi(page, name) not in ("None", "nan"), name

    # Mesa's internal controls are not on the page; the speed control reads as a speed.
    for gone in ("Use Threads", "Render Interval", "Play Interval", "PAGE 0"):
        expect(page.get_by_text(gone, exact=True)).to_have_count(0)
    expect(page.get_by_text("Play speed (business days a second)")).to_be_visible()

    # Next month closes month 1: measured values replace the expectation.
    page.get_by_role("button", name="Next month").click()
    expect(page.locator('.salesim-clock[data-day="21"]')).to_be_visible(timeout=20_000)
    expect(page.locator('.salesim-kpi[data-kpi="direct_sales_rate"] .v')).not_to_contain_text("≈")

    # A changed field says that Reset applies it, and Reset does.
    choose(page, "Organisation design", "Product organisation")
    expect(page.locator(".salesim-pending")).to_contain_text("Reset applies")
    assert day(page) == 21
    reset(page)
    expect(page.locator('.salesim-clock[data-day="0"]')).to_be_visible()
    expect(page.locator(".salesim-pending")).to_have_count(0)
    expect(page.locator('.salesim-kpi .v[data-design="product"]').first).to_be_visible()

    # Side by side on the same seed: both designs, the gap, an organisation picture each.
    choose(page, "Side by side with", "Customer managers")
    expect(page.locator(".salesim-pending")).to_contain_text("Side by side with")
    reset(page)
    expect(page.locator(".salesim-kpi .gap").first).to_be_visible()
    for _ in range(10):
        step(page, times)
    expect(page.locator('.salesim-kpi .v[data-design="customer_manager"]').first).to_be_visible()
    panes = page.locator("svg.salesim-org")
    expect(panes).to_have_count(2)
    for k in range(2):
        pane = panes.nth(k)
        assert pane.locator(".legend").count() == 1
        assert pane.locator("path.flow").count() > 0, "no request flows drawn"
        assert pane.locator("path.flow.handoff").count() > 0, "no handoffs drawn"
        assert pane.locator("g.staff").count() > 0

    # At 1400 x 900 the KPI table is whole: its last row inside the table's box, the table
    # inside its column, and its column clear of the charts beside it.
    last = box(page, ".salesim-kpi:last-child")
    table = box(page, "table.salesim-kpis")
    column = box(page, ".salesim-table-box")
    charts = box(page, ".salesim-charts-box")
    assert last["y"] + last["height"] <= table["y"] + table["height"] + 1
    assert table["x"] + table["width"] <= column["x"] + column["width"] + 1
    assert table["x"] + table["width"] <= VIEWPORT["width"]
    clear = (
        table["x"] + table["width"] <= charts["x"] or charts["y"] >= table["y"] + table["height"]
    )
    assert clear, (table, charts)
    gap_cell = page.locator(".salesim-kpi .gap").last.bounding_box()
    assert gap_cell["x"] + gap_cell["width"] <= VIEWPORT["width"]
    # The organisation pictures sit side by side, each within the page's width.
    left, right = panes.nth(0).bounding_box(), panes.nth(1).bounding_box()
    assert left["x"] + left["width"] <= right["x"] + 1
    assert right["x"] + right["width"] <= VIEWPORT["width"]
    # Every label in a staff box stays inside its box (checked on the drawn SVG).
    overflow = page.evaluate(
        """() => [...document.querySelectorAll('svg.salesim-org g.staff')].flatMap(g => {
            const r = g.querySelector('rect').getBBox();
            return [...g.querySelectorAll(':scope > text')].map(t => t.getBBox())
              .filter(b => b.x < r.x - 0.5 || b.x + b.width > r.x + r.width + 0.5)
              .map(() => g.getAttribute('data-node'));
        })"""
    )
    assert overflow == [], overflow
    page.screenshot(path=str(shots / "side_by_side.png"))

    # Follow a customer: click a dot in the picture; its story appears in both designs.
    page.locator("svg.salesim-org g.customer").first.click()
    stories = page.locator(".salesim-story")
    expect(stories).to_have_count(2)
    slot = stories.first.get_attribute("data-customer")
    assert stories.nth(1).get_attribute("data-customer") == slot
    expect(stories.first).to_contain_text("Deals with")
    type_into(page, "Customer number", "99999")
    expect(page.get_by_text("Customer number: enter a whole number from 0 to")).to_be_visible()

    # A negative head-count: a message naming the field, and the last good model keeps running.
    before = day(page)
    type_into(page, "Front-line head-count", "-5")
    reset(page)
    expect(page.get_by_text("Not applied")).to_be_visible()
    expect(page.get_by_text("greater than or equal to 1")).to_be_visible()
    assert day(page) == before
    step(page, times)
    assert day(page) == before + 1

    # Text in a number field: the same.
    type_into(page, "Front-line head-count", "30")
    type_into(page, "Customers at the start", "lots")
    reset(page)
    expect(page.get_by_text("Customers at the start: expected a number")).to_be_visible()
    assert day(page) == before + 1

    # Fixed: Reset starts a fresh model without the message.
    type_into(page, "Customers at the start", "1500")
    reset(page)
    expect(page.locator('.salesim-clock[data-day="0"]')).to_be_visible()
    expect(page.get_by_text("Not applied")).to_have_count(0)

    # Play at the default 20 business days a second, then as fast as it goes, side by side.
    at_20 = playing_rate(page, 4.0)
    choose(page, "Play speed", "as fast as it goes")
    fastest = playing_rate(page, 6.0)

    # One design at baseline scale: the figure the issue sets (>= 20 business days a second).
    choose(page, "Side by side with", "nothing (one design)")
    reset(page)
    expect(page.locator(".salesim-kpi .gap")).to_have_count(0)
    single_times: list[float] = []
    for _ in range(12):
        step(page, single_times)
    single_fastest = playing_rate(page, 6.0)

    # Run to the end, from the start: the clock reaches the horizon and Step is not offered.
    reset(page)
    expect(page.locator('.salesim-clock[data-day="0"]')).to_be_visible()
    page.get_by_role("button", name="Run to the end").click()
    expect(page.locator('.salesim-clock[data-day="504"]')).to_be_visible(timeout=240_000)
    expect(page.get_by_role("button", name="Step", exact=True)).to_be_disabled()
    page.screenshot(path=str(shots / "finished.png"))
    context.close()

    # data: and blob: URLs live in the page; a blob's origin is the server it came from.
    hosts = {
        u: urlparse(u.removeprefix("blob:")).hostname
        for u in requested
        if not u.startswith("data:")
    }
    foreign = sorted(u for u, host in hosts.items() if host not in ("127.0.0.1", "localhost"))
    assert not foreign, f"the page asked for non-local URLs: {foreign[:5]}"
    figures = {
        "load_average": os.getloadavg()[0],
        "step_to_update_median_s": round(statistics.median(times + single_times), 3),
        "step_to_update_median_s_one_design": round(statistics.median(single_times), 3),
        "step_to_update_median_s_side_by_side": round(statistics.median(times), 3),
        "step_to_update_max_s": round(max(times + single_times), 3),
        "steps": len(times) + len(single_times),
        "play_days_per_s_one_design_fastest": round(single_fastest, 1),
        "play_days_per_s_side_by_side_fastest": round(fastest, 1),
        "play_days_per_s_side_by_side_at_20": round(at_20, 1),
    }
    print(f"\nviz figures at baseline scale (1,500 customers): {json.dumps(figures)}")
