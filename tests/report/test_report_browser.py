"""The report in a real browser at 1366 px: no table is cut off or scrolls sideways.

Needs Debian's chromium, which `make test` installs (tools/install-browser.sh).
"""

from __future__ import annotations

import pytest

from browser_page import chromium
from salesim import load_config
from salesim.experiments.driver import run_experiment
from salesim.report.build import build_report

SMALL = {"model.horizon_days": 42, "model.population.customers": 120, "model.staff.sales_staff": 9}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Three designs in five scenarios: the report that used to scroll sideways."""
    out = tmp_path_factory.mktemp("wide") / "hire5"
    scenarios = {f"more_customers_{k}": {"model.population.customers": 120 + 10 * k}
                 for k in range(1, 5)}  # fmt: skip
    cfg = load_config(
        None,
        {
            **SMALL,
            "experiment": {
                "designs": ["product", "customer_manager", "three_in_one"],
                "replications": 2,
                "scenarios": scenarios,
            },
        },
    )
    run_experiment(cfg, out, executor="sequential", progress=False)
    return build_report(out)


def test_the_report_fits_a_1366_px_screen(report):
    with chromium() as b:
        page = b.new_context(viewport={"width": 1366, "height": 768}).new_page()
        page.goto(report.as_uri())
        tables = page.locator("#verdict table")
        assert tables.count() == 2  # one per candidate design
        wide = page.evaluate(
            """() => [...document.querySelectorAll('.scroll')]
                .filter((d) => d.scrollWidth > d.clientWidth + 1)
                .map((d) => d.querySelector('caption')?.textContent)"""
        )
        assert wide == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366
        # Designs by their labels, the code names on hover.
        head = page.locator("#verdict p.comparison b").first
        assert head.text_content() == "Customer-manager organisation vs Product organisation."
        assert head.get_attribute("title") == "customer_manager vs product"
