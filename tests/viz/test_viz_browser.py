"""End to end: the real `salesim viz` server driven by headless Chromium through Playwright.

Needs Debian's chromium, which `make test` installs (tools/install-browser.sh). Behaviour only:
every wait polls for a state of the page and nothing is timed (the page's step latency and play
speed are figures of `benchmarks/bench_viz.py --browser`).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from browser_page import (
    VIEWPORT,
    choose,
    chromium,
    day,
    open_page,
    pause_button,
    play_button,
    reset,
    step,
    type_into,
    viz_server,
    wait_for_day,
)

# Generous waits: the machines that run this are shared, and a wait is not a timing measurement.
expect.set_options(timeout=30_000)
HORIZON = 504


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("viz") / "server.log"
    with viz_server(log) as url:
        yield url
    # Whatever the browser saw, the server must not have failed behind it.
    assert "Traceback" not in log.read_text(), log.read_text()[-4000:]


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def kpi(page, name: str) -> str:
    return page.locator(f'.salesim-kpi[data-kpi="{name}"]').get_attribute("data-value")


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def test_each_visitor_has_a_model_of_their_own(server, browser):
    first_ctx, first = open_page(browser, server)
    assert day(first) == 0
    for _ in range(3):
        step(first)
    assert day(first) == 3

    # Someone opening the page later starts at day 0, and their steps leave the first alone:
    # had the second's step moved the first's model, the first's next step would not be day 4.
    second_ctx, second = open_page(browser, server)
    assert day(second) == 0
    step(second)
    assert day(second) == 1
    step(first)
    assert day(first) == 4

    # A reload is a fresh model at day 0 for that visitor only: the second goes on from day 1.
    first.reload()
    expect(first.locator('.salesim-clock[data-day="0"]')).to_be_visible(timeout=120_000)
    step(second)
    assert day(second) == 2
    first_ctx.close()
    second_ctx.close()


def test_page_in_a_real_browser(server, browser, tmp_path):
    shots = Path(os.environ.get("SALESIM_VIZ_SCREENSHOTS", tmp_path))
    requested: list[str] = []
    context, page = open_page(browser, server, requested)
    assert day(page) == 0
    expect(page.locator(".salesim-clock")).to_have_text("Start of month 1")
    # Running values from the first day: response times once the first requests resolve, the
    # volume KPIs as month 1's expectation (marked ≈) until it closes.
    expect(page.locator('.salesim-kpi[data-kpi="direct_sales_rate"] .v')).to_contain_text("≈")
    for _ in range(6):
        step(page)
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
    reset(page, "Organisation design")
    expect(page.locator('.salesim-clock[data-day="0"]')).to_be_visible()
    expect(page.locator(".salesim-pending")).to_have_count(0)
    expect(page.locator('.salesim-kpi .v[data-design="product"]').first).to_be_visible()

    # Side by side on the same seed: both designs, the gap, an organisation picture each.
    choose(page, "Side by side with", "Customer managers")
    expect(page.locator(".salesim-pending")).to_contain_text("Side by side with")
    reset(page, "Side by side with")
    expect(page.locator(".salesim-kpi .gap").first).to_be_visible()
    for _ in range(10):
        step(page)
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
    reset(page, "Front-line head-count")
    expect(page.get_by_text("Not applied")).to_be_visible()
    expect(page.get_by_text("greater than or equal to 1")).to_be_visible()
    assert day(page) == before
    step(page)
    assert day(page) == before + 1

    # Text in a number field: the same.
    type_into(page, "Front-line head-count", "none")  # as the config has it
    type_into(page, "Customers at the start", "lots")
    reset(page, "lots")
    expect(page.get_by_text("Customers at the start: expected a number")).to_be_visible()
    assert day(page) == before + 1

    # Fixed: Reset starts a fresh model without the message.
    type_into(page, "Customers at the start", "1500")
    reset(page, None)
    expect(page.locator('.salesim-clock[data-day="0"]')).to_be_visible()
    expect(page.get_by_text("Not applied")).to_have_count(0)

    # Play advances the day at the default speed; Pause stops it (Step is offered again, and
    # one Step moves exactly one day on from where Pause left the clock).
    start = day(page)
    play_button(page).click()
    wait_for_day(page, f"> {start}")
    pause_button(page).click()
    expect(play_button(page)).to_be_visible()
    paused_at = day(page)
    assert start < paused_at < HORIZON
    step(page)
    assert day(page) == paused_at + 1

    # As fast as it goes, Play runs to the horizon and then offers neither Play nor Step.
    choose(page, "Play speed", "as fast as it goes")
    play_button(page).click()
    expect(page.locator(f'.salesim-clock[data-day="{HORIZON}"]')).to_be_visible(timeout=240_000)
    expect(play_button(page)).to_be_disabled()
    expect(page.get_by_role("button", name="Step", exact=True)).to_be_disabled()

    # One design; Run to the end, from the start: the clock reaches the horizon.
    choose(page, "Side by side with", "nothing (one design)")
    reset(page, "Side by side with")
    expect(page.locator('.salesim-clock[data-day="0"]')).to_be_visible()
    expect(page.locator(".salesim-kpi .gap")).to_have_count(0)
    page.get_by_role("button", name="Run to the end").click()
    expect(page.locator(f'.salesim-clock[data-day="{HORIZON}"]')).to_be_visible(timeout=240_000)
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
