"""The case's mechanisms the model can now express, each off by default (issue 27 item 4).

Each test checks the direction its mechanism implies, paired on common random numbers.
"""

from __future__ import annotations

from salesim import SalesModel

WORLD = {
    "model.horizon_days": 126,
    "model.population.customers": 300,
    "model.population.regions": 2,
    "model.staff.sales_staff": 10,
    "model.start.settle_months": 6,
}


def run(design: str = "customer_manager", seed: int = 4, **overrides) -> SalesModel:
    over = {**WORLD, **{f"model.{k.replace('__', '.')}": v for k, v in overrides.items()}}
    return SalesModel(overrides=over, design=design, rng=seed).run()


def test_defaults_leave_the_model_as_it_was():
    """Each new parameter at its default is the model without it (same KPIs exactly)."""
    base = run().kpis()
    for key, value in {
        "declarations__allocation_by_accuracy": 0.0,
        "prospecting__volume_targeting": 0.0,
        "market__surge_new_customers_per_year": 0.0,
        "staff__pm_planning_share": 0.0,
    }.items():
        again = run(**{key: value}).kpis()
        assert all(base[k] == again[k] or (base[k] != base[k]) for k in base), key


def test_a_pms_other_duty_takes_hours_from_requests_under_its_design_only():
    """Planning hours load the PM queue under customer managers; supervision hours under
    product reps; neither touches the other design."""
    for design, duty, other in (
        ("customer_manager", "pm_planning_share", "pm_supervision_share"),
        ("product", "pm_supervision_share", "pm_planning_share"),
    ):
        base = run(design).kpis()
        busy = run(design, **{f"staff__{duty}": 0.5}).kpis()
        idle = run(design, **{f"staff__{other}": 0.5}).kpis()
        assert busy["utilisation_product_manager"] > base["utilisation_product_manager"]
        assert busy["mean_response_hours"] > base["mean_response_hours"]
        assert all(idle[k] == base[k] or base[k] != base[k] for k in base)


def test_allocation_by_forecast_accuracy_curbs_inflated_budgets():
    base = run().kpis()
    accurate = run(declarations__allocation_by_accuracy=0.8).kpis()
    # Declared budgets shrink towards what is bought: fulfilment (bought / declared) rises.
    assert accurate["budget_fulfilment_rate"] > base["budget_fulfilment_rate"] + 0.05


def test_a_reform_that_brings_the_rule_changes_the_reorganised_arm():
    over = {"start__design": "product", "reorganisation__allocation_by_accuracy": 0.8}
    switched = run("customer_manager", **over).kpis()
    kept = run("customer_manager", start__design="product").kpis()
    assert switched["budget_fulfilment_rate"] > kept["budget_fulfilment_rate"] + 0.05
    # The organisation in place has no reform: the rule does not reach it.
    stay = run("product", start__design="product").kpis()
    stay_rule = run("product", **over).kpis()
    assert stay_rule["budget_fulfilment_rate"] == stay["budget_fulfilment_rate"]


def test_prospecting_aimed_at_volume_wins_larger_customers():
    flat = run(**{"prospecting__volume_targeting": 0.0, "start__settle_months": 0})
    aimed = run(**{"prospecting__volume_targeting": 2.0, "start__settle_months": 0})
    # Volume-weighted direct sales rise when the same visits go to the large candidates.
    assert aimed.kpis()["direct_sales_rate"] > flat.kpis()["direct_sales_rate"]


def test_the_surge_brings_new_entrants_while_it_lasts():
    surge = {"market__surge": True, "market__surge_start_month": 2, "market__surge_months": 3}
    plain = run(**surge)
    more = run(**surge, market__surge_new_customers_per_year=1.0)
    book, base_book = more.customers, plain.customers
    assert book.size > base_book.size
    # As many regular newcomers (their count is drawn first), then the entrants, who appear
    # inside the surge's days.
    entrants = book.appear_day[base_book.size :]
    assert entrants.min() >= 2 * 21 and entrants.max() < (2 + 3) * 21
    assert more.kpis()["requests"] > plain.kpis()["requests"]
