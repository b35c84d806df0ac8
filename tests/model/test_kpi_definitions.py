"""KPI definitions that a comparison can rely on (issue 27 item 5).

Lifetime value as a total and per customer at the start beside the mean over customers ever
ours; front-line utilisation per month, so that the months after a switch compare alike in both
arms; and the G-branch world holding its headline KPIs flat when nothing grows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from salesim import SalesModel, load_config

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "model.horizon_days": 126,
    "model.population.customers": 300,
    "model.staff.sales_staff": 9,
}


def test_customer_value_total_is_the_mean_times_customers_ever_ours():
    """total = mean over customers ever ours x their number = per start customer x at start."""
    m = SalesModel(overrides=TINY, design="product", rng=3).run()
    k = m.kpis()
    ever = int(m.acc.ever_ours.sum())
    assert ever > k["customers_at_start"]  # newcomers joined: the two denominators differ
    assert k["customer_value_total"] == pytest.approx(k["customer_lifetime_value"] * ever)
    assert k["customer_value_total"] == pytest.approx(
        k["customer_value_per_start_customer"] * k["customers_at_start"]
    )


def test_more_newcomers_raise_the_total_value_though_each_is_worth_less():
    """Why the mean misleads: customers won late have a short tenure and little margin so far.

    On the same seed, more new customers per year leave the customers at the start alike, add
    customers ever ours and their value to the total, and pull the mean per customer ever ours
    down relative to the total per customer at the start.
    """
    few = SalesModel(overrides={**TINY, "model.population.new_customers_per_year": 0.1}, rng=2)
    many = SalesModel(overrides={**TINY, "model.population.new_customers_per_year": 1.0}, rng=2)
    a, b = few.run().kpis(), many.run().kpis()
    assert many.acc.ever_ours.sum() > few.acc.ever_ours.sum()
    assert b["customer_value_total"] > a["customer_value_total"]
    ratio_few = a["customer_lifetime_value"] / a["customer_value_per_start_customer"]
    ratio_many = b["customer_lifetime_value"] / b["customer_value_per_start_customer"]
    assert ratio_many < ratio_few


def test_monthly_front_line_utilisation_adds_up_to_the_run_kpi():
    """Without a switch, the monthly series' mean is the run's utilisation (equal capacities).

    Tolerance 2%: a job that runs over a month end is counted in the month it was taken.
    """
    m = SalesModel(overrides=TINY, design="product", rng=1).run()
    monthly = m.monthly_kpis()["utilisation_sales"]
    assert monthly.notna().all() and (monthly > 0).all()
    assert monthly.mean() == pytest.approx(m.kpis()["utilisation_sales"], rel=0.02)


def test_after_a_switch_the_run_kpi_covers_only_the_new_front_lines_months():
    """The run's utilisation of new customer managers counts from their appointment; the monthly
    series gives the same months for the arm that did not switch."""
    switch = 3
    over = {
        **TINY,
        "model.reorganisation.month": switch,
        "model.reorganisation.design": "customer_manager",
    }
    moved = SalesModel(overrides=over, design="product", rng=1).run()
    series = moved.monthly_kpis()["utilisation_sales"]
    after = series.iloc[switch:].mean()
    assert moved.kpis()["utilisation_sales"] == pytest.approx(after, rel=0.02)
    # The arm that stays: its run KPI spans every month, its series gives the same months.
    stay = SalesModel(overrides=TINY, design="product", rng=1).run()
    same_months = stay.monthly_kpis()["utilisation_sales"].iloc[switch:]
    assert len(same_months) == len(series) - switch and same_months.notna().all()
    whole = stay.monthly_kpis()["utilisation_sales"].mean()
    assert stay.kpis()["utilisation_sales"] == pytest.approx(whole, rel=0.02)


def test_the_g_branch_world_holds_its_headline_kpis_flat_without_growth():
    """The fitted 2005 world over 36 months with no demand, supply or customer growth.

    Tolerances (year 1 against year 3, monthly means, three seeds of a small book of 300
    customers and 9 people): 0.02 in satisfaction, 3 points in plan completion, budget
    fulfilment and direct sales, 10% in mean response. Churn still takes about 2.7% of the book
    a year, so the book shrinks a little and response does not rise. With the shipped 5% a year
    growth of demand and 8% a year new customers on fixed staff, response rises by more than a
    fifth: the drift of the steady start is staffing, not noise.
    """
    still = {
        "model.horizon_days": 756,
        "model.population.customers": 300,
        "model.staff.sales_staff": 9,
        "model.market.growth_per_year": 0.0,
        "model.market.supply_growth_per_year": 0.0,
        "model.population.new_customers_per_year": 0.0,
    }

    def years(overrides: dict) -> tuple[dict, dict]:
        sets = [f"{k}={v}" for k, v in overrides.items()]
        cfg = load_config(ROOT / "configs/g_company_2005.yaml", sets).model
        runs = [SalesModel(cfg, rng=seed).run().monthly_kpis() for seed in (1, 2, 3)]
        first = {k: np.mean([r[k].iloc[:12].mean() for r in runs]) for k in runs[0]}
        last = {k: np.mean([r[k].iloc[24:].mean() for r in runs]) for k in runs[0]}
        return first, last

    first, last = years(still)
    assert abs(last["satisfaction"] - first["satisfaction"]) < 0.02
    for kpi in ("plan_completion_rate", "budget_fulfilment_rate", "direct_sales_rate"):
        assert abs(last[kpi] - first[kpi]) < 0.03, (kpi, first[kpi], last[kpi])
    assert last["mean_response_hours"] == pytest.approx(first["mean_response_hours"], rel=0.10)
    shipped = {k: still[k] for k in ("model.horizon_days", "model.population.customers")}
    first, last = years({**shipped, "model.staff.sales_staff": 9})
    assert last["mean_response_hours"] > 1.2 * first["mean_response_hours"]
