"""End to end: the real `salesim viz` server driven by headless Chromium through Playwright.

Needs Debian's chromium, which `make test` installs (tools/install-browser.sh). Behaviour only:
every wait polls for a state of the page and nothing is timed (the page's step latency and play
speed are figures of `benchmarks/bench_viz.py --browser`).
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from browser_page import (
    VIEWPORT,
    choose,
    chromium,
    day,
    open_group,
    open_page,
    pause_button,
    play_button,
    reset,
    seeds_state,
    step,
    type_into,
    viz_server,
    wait_for_day,
    wait_for_seeds,
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
    expect(page.locator('.salesim-kpi[data-kpi="direct_sales_rate"] .v').first).to_contain_text("≈")
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

    # Today's organisation first, the reference; the gap says what it subtracts.
    expect(page.locator("th.gap-head")).to_contain_text("customer managers − product organisation")

    # Next month closes month 1: measured values replace the expectation.
    page.get_by_role("button", name="Next month").click()
    expect(page.locator('.salesim-clock[data-day="21"]')).to_be_visible(timeout=20_000)
    expect(page.locator('.salesim-kpi[data-kpi="direct_sales_rate"] .v').first).not_to_contain_text(
        "≈"
    )

    # A changed field says that Reset applies it, and Reset does.
    choose(page, "Compared with", "nothing (one design)")
    expect(page.locator(".salesim-pending")).to_contain_text("Reset applies")
    assert day(page) == 21
    reset(page, "Compared with")
    expect(page.locator('.salesim-clock[data-day="0"]')).to_be_visible()
    expect(page.locator(".salesim-pending")).to_have_count(0)
    expect(page.locator('.salesim-kpi .v[data-design="product"]').first).to_be_visible()
    expect(page.locator(".salesim-kpi .gap")).to_have_count(0)

    # Side by side on the same seed: both designs, the gap, an organisation picture each.
    choose(page, "Compared with", "Customer managers")
    expect(page.locator(".salesim-pending")).to_contain_text("Compared with")
    reset(page, "Compared with")
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

    # A negative head-count: refused at the field in plain words as it is typed; Reset says it
    # is not applied, and the model's day does not change (the last good model keeps running).
    before = day(page)
    open_group(page, "Staff and hours")
    type_into(page, "Front-line head-count", "-5")
    field = page.locator(".v-input", has=page.get_by_role("textbox", name="Front-line head-count"))
    expect(field).to_contain_text("must be a whole number from 1 to 100,000")
    expect(field).to_contain_text("(you typed -5)")
    expect(field).to_have_class(re.compile("error--text"))
    assert day(page) == before
    reset(page, "Front-line head-count")
    expect(page.get_by_text("Not applied")).to_be_visible()
    expect(page.get_by_text("Input should")).to_have_count(0)  # never the library's wording
    assert day(page) == before
    step(page)
    assert day(page) == before + 1

    # Text in a number field: the same.
    type_into(page, "Front-line head-count", "")  # unset, as baseline.yaml has it
    expect(field).not_to_contain_text("must be")
    type_into(page, "Customers at the start", "lots")
    customers = page.locator(
        ".v-input", has=page.get_by_role("textbox", name="Customers at the start")
    )
    expect(customers).to_contain_text("expected a number")
    reset(page, "lots")
    expect(page.get_by_text("Not applied")).to_be_visible()
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
    choose(page, "Compared with", "nothing (one design)")
    reset(page, "Compared with")
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


def test_ten_seeds_run_in_the_background_while_step_still_advances_the_day(server, browser):
    context, page = open_page(browser, server)
    assert seeds_state(page) == {"finished": 0, "total": 0, "done": False}
    page.get_by_role("button", name="Run 10 seeds").click()
    wait_for_seeds(page, "s.dataset.total === '20'")
    # Pressed while the seeds compute, Step still advances the visitor's own day.
    before = day(page)
    step(page)
    step(page)
    assert day(page) == before + 2
    state = seeds_state(page)
    assert not state["done"] and state["finished"] < 20, "the seeds were in before the steps"
    expect(page.locator(".salesim-seeds-progress")).to_be_visible()
    # Once in: a band per design on every KPI chart, and each gap with its paired CI.
    wait_for_seeds(page, "s.dataset.done === 'True'")
    expect(page.locator(".salesim-charts polygon.band").first).to_be_visible()
    assert page.locator(".salesim-charts polygon.band").count() >= 2 * 9
    gaps = page.locator(".salesim-kpi .seeds-gap")
    expect(gaps.first).to_contain_text("10 seeds:")
    expect(gaps.first).to_contain_text("±")
    assert gaps.count() == page.locator(".salesim-kpi").count()
    context.close()


def test_a_csv_download_has_the_expected_columns(server, browser, tmp_path):
    context, page = open_page(browser, server)
    page.get_by_role("button", name="Next month").click()
    wait_for_day(page, "=== 21")
    with page.expect_download() as caught:
        page.get_by_role("button", name="Monthly KPIs (CSV)").click()
    path = tmp_path / caught.value.suggested_filename
    caught.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert list(rows[0])[:4] == ["organisation", "design", "seed", "month"]
    assert {"retention_rate", "mean_response_hours", "market_share"} <= set(rows[0])
    assert [(r["design"], r["month"]) for r in rows] == [
        ("product", "1"),
        ("customer_manager", "1"),
    ]
    context.close()


def test_own_data_region_names_appear_and_a_roster_fixes_the_head_count(browser, tmp_path):
    with viz_server(tmp_path / "own.log", "configs/own_data_example.yaml") as url:
        context, page = open_page(browser, url)
        step(page)
        picture = page.locator("svg.salesim-org").first
        for name in ("East", "North", "South", "West"):
            expect(picture.locator("text", has_text=re.compile(f"^{name}$"))).to_have_count(1)
        expect(picture).not_to_contain_text("Region 1")
        open_group(page, "Staff and hours")
        heads = page.get_by_role("textbox", name="Front-line head-count")
        expect(heads).to_be_disabled()
        expect(heads).to_have_value("12")
        box = page.locator(".v-input", has=heads)
        expect(box).to_contain_text("fixed by roster.csv")
        context.close()
    assert "Traceback" not in (tmp_path / "own.log").read_text()


TINY = """\
extends: {baseline}
name: tiny
model:
  design: customer_manager
  seed: 31
  horizon_days: 63
  population: {{customers: 300}}
  staff: {{sales_staff: 10}}
  start: {{design: product}}
experiment:
  designs: [product, customer_manager]
  baseline: product
  replications: 10
"""


def test_the_gap_agrees_with_the_report_in_sign_and_colour(browser, tmp_path):
    """The same config and seed as a tiny study: the page's gap at the end of the run has the
    sign of the study's replication-0 difference and the colour the report's rule gives it; its
    10 seeds give the report's paired difference and verdict (green, red or neither)."""
    import pandas as pd

    from salesim.report import units

    config = tmp_path / "tiny.yaml"
    config.write_text(TINY.format(baseline=Path("configs/baseline.yaml").resolve()))
    out = tmp_path / "study"
    subprocess.run(
        [sys.executable, "-m", "salesim", "run", str(config), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    runs = pd.read_parquet(out / "runs.parquet")
    first = runs[runs.replication == 0].set_index("design")
    report = (out / "report.html").read_text()
    cells = {
        m: (float(v), cls)
        for cls, m, v in re.findall(
            r'<td(?: class="(\w*)")? data-metric="(\w+)" data-design="customer_manager" '
            r'data-kind="diff" data-scenario="base" data-point="0" data-value="([^"]+)"',
            report,
        )
    }
    assert cells, "no paired differences found in the report"

    with viz_server(tmp_path / "tiny.log", str(config)) as url:
        context, page = open_page(browser, url)
        head = page.locator("th.gap-head")
        expect(head).to_have_attribute("data-direction", "customer managers − product organisation")
        expect(head).to_contain_text("customer managers − product organisation")
        page.get_by_role("button", name="Run to the end").click()
        wait_for_day(page, "=== 63")
        page.get_by_role("button", name="Run 10 seeds").click()
        wait_for_seeds(page, "s.dataset.done === 'True'")
        checked = 0
        for row in page.locator(".salesim-kpi").all():
            name = row.get_attribute("data-kpi")
            if name not in cells:
                continue
            gap_cell = row.locator("td.gap")
            gap = float(gap_cell.get_attribute("data-gap"))
            one = first.loc["customer_manager", name] - first.loc["product", name]
            assert (gap > 0) == (one > 0) and (gap < 0) == (one < 0), name
            colour = gap_cell.evaluate("e => e.style.color")
            assert colour == _rgb(units.colour(name, one)), name
            seeds = row.locator(".seeds-gap")
            value, cls = cells[name]
            assert float(seeds.get_attribute("data-mean")) == pytest.approx(
                value, rel=1e-9, abs=1e-12
            )
            assert seeds.get_attribute("data-verdict") == (cls or "none"), name
            checked += 1
        assert checked >= 10
        context.close()


def _rgb(hex_colour: str) -> str:
    """A #rrggbb colour as the browser reports a style's colour."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"
