"""What the browser page costs per business day, piece by piece, without a browser.

Usage:
    .venv/bin/python benchmarks/bench_viz.py            # 1,500 and 15,000 customers
    .venv/bin/python benchmarks/bench_viz.py --quick    # 1,500 only
    .venv/bin/python benchmarks/bench_viz.py --browser  # the real page in headless Chromium

``--browser`` serves `salesim viz configs/baseline.yaml` and drives it in Debian's Chromium
(as the browser test does, with the same helpers): the time from a Step click to the page
showing the next day, side by side (the default page), side by side while "Run 10 seeds"
computes on the process pool (only the steps taken before the seeds were all in count), and one
design, and the business days a second while Play runs at the default speed and as fast as it
goes. The browser test checks only behaviour.

For each scale it runs one design to mid-horizon (so the request log is as long as it gets
half-way), then times over the next month: the model's day, the page's bookkeeping (the
tracker), and each drawing. "Before" is the page as it was at commit BEFORE (its components are
loaded from git history and timed on the same model in the same run); it needs the repository's
git history and prints "-" without it. Staff scale with customers as in bench_model.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "929bda7"  # the page before issue 11


def old_components():
    """The pre-issue-11 components module, from git history (None if unavailable)."""
    try:
        source = subprocess.run(
            ["git", "show", f"{BEFORE}:src/salesim/viz/components.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(tempfile.mkdtemp()) / "old_viz_components.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_viz_components", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError:  # it imports modules the package has since moved (issue 23's layers)
        return None
    return module


def timed(fn, repeats: int) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return 1e3 * times[len(times) // 2]


def one_scale(customers: int, old) -> list[tuple[str, float | None, float, str]]:
    from salesim import load_config
    from salesim.viz.charts import charts_svg, response_histogram_svg
    from salesim.viz.components import queue_panels
    from salesim.viz.org import flow_scale, key_accounts, organisation_svg
    from salesim.viz.panes import VizModel, default_fields
    from salesim.viz.story import RequestIndex, customer_story, story_html
    from salesim.viz.table import kpi_table_html

    per = customers / 1500
    base = load_config(
        "configs/baseline.yaml",
        [
            f"model.population.customers={customers}",
            f"model.staff.sales_staff={max(30, round(30 * per))}",
            f"model.staff.product_managers_per_line={max(1, round(per))}",
            f"model.staff.regional_managers_per_region={max(1, round(per))}",
            f"model.staff.planners={max(3, round(3 * per))}",
        ],
    ).model
    viz = VizModel.from_fields(base, default_fields(base))
    pane = viz.panes[0]
    model, tracker = pane.model, pane.tracker
    for _ in range(base.horizon_days // 2 - 1):
        viz.step()

    days = model.days_per_month
    step_ms, track_ms = [], []
    for _ in range(days):
        t = time.perf_counter()
        model.step()
        t1 = time.perf_counter()
        tracker.update()
        t2 = time.perf_counter()
        step_ms.append(1e3 * (t1 - t))
        track_ms.append(1e3 * (t2 - t1))
    step, track = sorted(step_ms)[days // 2], sorted(track_ms)[days // 2]

    accounts = key_accounts(model)
    slot = int(accounts[0][0])
    index = RequestIndex()
    repeats = 15
    org = timed(
        lambda: organisation_svg(
            model, tracker, scale=flow_scale([tracker]), selected=slot, accounts=accounts
        ),
        repeats,
    )
    table = timed(lambda: kpi_table_html(viz.panes), repeats)
    charts = timed(lambda: charts_svg(viz.panes), repeats)
    story = timed(lambda: story_html(customer_story(model, slot, tracker, index)), repeats)
    waiting = timed(
        lambda: (
            charts_svg(viz.panes, panels=queue_panels(viz)),
            response_histogram_svg(viz.panes),
        ),
        repeats,
    )
    drawing = org + table + charts + story + waiting

    old_org = old_table = old_charts = None
    if old is not None:
        import matplotlib.pyplot as plt

        page = SimpleNamespace(left=model, right=None, models=[model])
        old_org = timed(lambda: old.organisation_svg(model), repeats)
        old_table = timed(lambda: old.kpi_html(page), repeats)

        def figure():
            plt.close(old.series_figure(page))

        old_charts = timed(figure, 3)
    old_drawing = None if old is None else old_org + old_table  # charts redrew once a month
    rows = [
        ("model: one business day", step, step, "per day"),
        ("page bookkeeping (tracker)", 0.0 if old else None, track, "per day"),
        ("organisation picture", old_org, org, "per drawing"),
        ("KPI table", old_table, table, "per drawing"),
        ("charts", old_charts, charts, "per drawing (before: monthly, matplotlib)"),
        ("customer story", None, story, "per drawing"),
        ("queues and response histograms", None, waiting, "per drawing"),
        (
            "Step: a day and a drawing",
            None if old is None else step + old_drawing,
            step + track + drawing,
            "per click, server side",
        ),
    ]
    # Play draws once a frame: every day before; now as many days as the frame's time allows.
    for k in (1, 5):
        before = None if old is None else 1e3 / (step + old_drawing)
        after = 1e3 / (step + track + drawing / k)
        rows.append((f"Play, fastest, a drawing every {k} day(s)", before, after, "days a second"))
    return rows


def step_latencies(page, count: int, while_seeds: bool = False) -> list[float]:
    """Seconds from each of ``count`` Step clicks to the page showing the next day.

    ``while_seeds``: only steps that ended with the seeds still computing count, and the
    measuring stops once they are all in.
    """
    import browser_page as bp

    out = []
    for _ in range(count):
        if while_seeds and bp.seeds_state(page)["done"]:
            break
        before = bp.day(page)
        button = page.get_by_role("button", name="Step", exact=True)
        button.wait_for(state="visible")
        start = time.perf_counter()
        button.click()
        bp.wait_for_day(page, f"=== {before + 1}", timeout=20_000)
        took = time.perf_counter() - start
        if while_seeds and bp.seeds_state(page)["done"]:
            break
        out.append(took)
    return out


def play_rate(page, seconds: float, horizon: int) -> float:
    """Business days a second while Play runs, measured after its first second.

    Stops early about 120 days before the horizon (so the run is still playing when the last
    reading is taken); returns nan when Play reached that point within its first second.
    """
    import browser_page as bp

    bp.play_button(page).click()
    time.sleep(1.0)
    d0, t0 = bp.day(page), time.perf_counter()
    d1, t1 = d0, t0
    while t1 - t0 < seconds and d1 < horizon - 120:
        time.sleep(0.2)
        d1, t1 = bp.day(page), time.perf_counter()
    if bp.pause_button(page).is_enabled():
        bp.pause_button(page).click()
    bp.play_button(page).wait_for(state="visible")
    return (d1 - d0) / (t1 - t0) if t1 > t0 else float("nan")


def browser_figures() -> None:
    """Step latency and play speed of the real page at baseline scale (1,500 customers)."""
    import statistics
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    import browser_page as bp

    horizon = 504
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        with bp.viz_server(log) as url, bp.chromium() as browser:
            context, page = bp.open_page(browser, url)
            both = step_latencies(page, 12)
            clicked = time.perf_counter()
            page.get_by_role("button", name="Run 10 seeds").click()
            bp.wait_for_seeds(page, "s.dataset.total === '20'")
            seeds_load = os.getloadavg()[0]
            seeding = step_latencies(page, 40, while_seeds=True)
            bp.wait_for_seeds(page, "s.dataset.done === 'True'")
            seeds_took = time.perf_counter() - clicked
            after = step_latencies(page, 12)  # the bands and CIs drawn as well
            both_at_20 = play_rate(page, 4.0, horizon)
            bp.choose(page, "Compared with", "nothing (one design)")
            bp.reset(page, "Compared with")
            page.locator('.salesim-clock[data-day="0"]').wait_for()
            one = step_latencies(page, 12)
            one_play = play_rate(page, 6.0, horizon)
            bp.choose(page, "Compared with", "Customer managers")
            bp.reset(page, "Compared with")
            page.locator('.salesim-clock[data-day="0"]').wait_for()
            bp.choose(page, "Play speed", "as fast as it goes")
            both_play = play_rate(page, 6.0, horizon)
            context.close()
    print(f"uptime: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (load, 1 and 5 min)")
    print(
        f"10 seeds x 2 designs: all in {seeds_took:.1f} s after the click (load when they "
        f"started, 1 min: {seeds_load:.2f}; Step pressed meanwhile)"
    )
    print("the real page, 1,500 customers (configs/baseline.yaml), headless Chromium")
    for name, times in (
        ("side by side", both),
        ("side by side, 10 seeds computing", seeding),
        ("side by side, 10 seeds in", after),
        ("one design", one),
    ):
        if not times:
            print(f"  Step to page update, {name}: no step measured")
            continue
        print(
            f"  Step to page update, {name:32s}: median {statistics.median(times):.3f} s, "
            f"max {max(times):.3f} s ({len(times)} steps)"
        )
    print(f"  Play, one design, default speed (20):   {one_play:6.1f} business days a second")
    print(f"  Play, side by side, default speed (20): {both_at_20:6.1f} business days a second")
    print(f"  Play, side by side, as fast as it goes: {both_play:6.1f} business days a second")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,500 customers only")
    parser.add_argument("--browser", action="store_true", help="the real page in Chromium")
    args = parser.parse_args()
    os.chdir(ROOT)
    if args.browser:
        browser_figures()
        return
    old = old_components()
    print(f"uptime: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (load, 1 and 5 min)")
    print(
        f"before = commit {BEFORE}"
        + ("" if old else " (not available: no git history, or it no longer imports)")
    )
    print(f"{'customers':>9s}  {'':42s} {'before':>9s} {'after':>9s}  unit")
    for customers in (1500,) if args.quick else (1500, 15000):
        for k, (name, before, after, unit) in enumerate(one_scale(customers, old)):
            b = "-" if before is None else f"{before:9.2f}"
            first = f"{customers:9,d}" if k == 0 else ""
            print(f"{first:>9s}  {name:42s} {b:>9s} {after:9.2f}  {unit}")
    print("Timings are medians; ms unless the unit says days a second.")


if __name__ == "__main__":
    main()
