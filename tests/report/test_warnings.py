"""Warnings beside the verdict, the scenario x KPI table and the report's title."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from report_checks import parse
from salesim import load_config
from salesim.experiments.driver import run_experiment
from salesim.report import warnings
from salesim.report.build import build_report

SMALL = {"model.horizon_days": 84, "model.population.customers": 150, "model.staff.sales_staff": 9}


@pytest.fixture(scope="module")
def slow_pm(tmp_path_factory):
    """A what-if whose product managers get far more work than hours: a queue that never settles."""
    out = tmp_path_factory.mktemp("warn") / "slow_pm_study"
    scenarios = {
        "slow_pm": {"model.staff.pm_hours_per_day": 0.3},
        **{f"more_{k}": {"model.population.customers": 150 + 10 * k} for k in range(1, 4)},
    }
    cfg = load_config(
        None,
        {
            **SMALL,
            "name": "warnings",
            "experiment": {
                "designs": ["product", "customer_manager"],
                "replications": 2,
                "scenarios": scenarios,
            },
        },
    )
    run_experiment(cfg, out, executor="sequential", progress=False)
    return out, parse(build_report(out))


def test_an_overloaded_role_is_the_first_warning(slow_pm):
    _, page = slow_pm
    verdict = page.find(".//section[@id='verdict']")
    asides = verdict.findall(".//aside[@class='warning']")
    assert asides, "no warning for product managers busy far beyond their hours"
    first = asides[0]
    assert first.get("data-warning") == "utilisation"
    assert first.get("data-kpi") == "utilisation_product_manager"
    text = "".join(first.itertext())
    assert "slow_pm" in text and "may not settle" in text


def _fake_study(rows: list[dict]) -> SimpleNamespace:
    summary = pd.DataFrame(rows)
    return SimpleNamespace(
        summary=summary,
        designs=["product", "customer_manager"],
        scenarios=["base", "surge"],
        n_points=1,
        verdict_metrics=["operating_profit"],
    )


def test_requests_left_open_at_the_horizon_are_warned_about_above_one_percent():
    rows = [
        {"scenario": sc, "point": 0, "design": d, "metric": "open_requests_share", "mean": share}
        for (sc, d), share in {
            ("base", "product"): 0.002,
            ("base", "customer_manager"): 0.009,
            ("surge", "product"): 0.004,
            ("surge", "customer_manager"): 0.031,
        }.items()
    ]
    found = warnings.build(_fake_study(rows), [])
    assert [(w["kind"], w["design"]) for w in found] == [("open-requests", "customer_manager")]
    assert "3.1% of the requests" in found[0]["text"] and "surge scenario" in found[0]["text"]


def test_a_ci_wider_than_the_difference_in_most_columns_is_warned_about():
    def row(sc, diff, hw):
        return {"scenario": sc, "point": 0, "design": "customer_manager",
                "metric": "operating_profit", "mean": 1.0, "diff_mean": diff,
                "diff_ci95_half_width": hw}  # fmt: skip

    comp = SimpleNamespace(
        kind="diff",
        title="Customer-manager organisation vs Product organisation",
        columns=[{"design": "customer_manager", "scenario": s} for s in ("base", "surge")],
    )
    noisy = warnings.build(_fake_study([row("base", 1.0, 3.0), row("surge", -1.0, 2.0)]), [comp])
    assert [w["kind"] for w in noisy] == ["wide-ci"]
    sharp = warnings.build(_fake_study([row("base", 5.0, 1.0), row("surge", 1.0, 2.0)]), [comp])
    assert sharp == []  # wide in one of two columns is not "most"


def test_many_scenarios_read_as_a_scenario_by_kpi_table(slow_pm):
    _, page = slow_pm
    table = page.find(".//section[@id='verdict']//table")
    rows = table.findall(".//tr")
    scenario_heads = [r.find("th") for r in rows if r.find("th") is not None]
    named = [th.get("data-scenario") for th in scenario_heads if th.get("data-scenario")]
    assert named == ["base", "slow_pm", "more_1", "more_2", "more_3"]
    # Every cell names its verdict and carries the full interval and levels on hover.
    cells = table.findall(".//td[@data-verdict]")
    assert cells and all(" → " in c.get("title") and "±" in c.get("title") for c in cells)
    # No wall of text: a KPI that depends on the scenario points at the table.
    paragraph = "".join(page.find(".//section[@id='verdict']/p[@class='comparison']").itertext())
    assert " at base" not in paragraph


def test_the_title_is_the_out_folder_when_it_is_not_the_config_name(slow_pm):
    _, page = slow_pm
    assert page.find(".//h1").text == "slow_pm_study (warnings)"
