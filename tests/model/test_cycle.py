"""The monthly behaviour: declarations, knowledge, plans, field work, the steady start, profit,
swappable mechanisms and each customer's history."""

from __future__ import annotations

import numpy as np
import pytest

from salesim import SalesModel
from salesim.model.cycle import Mechanism, make_mechanisms
from salesim.model.information import knowledge
from salesim.model.inputs.codes import LOST
from salesim.model.inputs.params import ConfigError, ModelConfig
from salesim.model.inputs.registry import registered_mechanisms
from salesim.model.mechanisms.churn import LogisticChurn

SMALL = {
    "model.horizon_days": 126,
    "model.population.customers": 300,
    "model.population.regions": 2,
    "model.staff.sales_staff": 10,
    "model.start.settle_months": 12,
}


def small(design: str = "product", seed: int = 3, **extra) -> SalesModel:
    return SalesModel(overrides={**SMALL, **extra}, design=design, rng=seed)


def test_budget_fulfilment_is_delivered_over_declared_and_wallet_share_is_its_own_kpi():
    m = small().run()
    t = m.acc.totals
    k = m.kpis()
    assert k["budget_fulfilment_rate"] == pytest.approx(t["sold"] / t["declared"])
    assert k["wallet_share"] == pytest.approx(t["sold"] / t["demand_ours"])
    # What customers declare to us is not what they buy from everyone.
    assert t["declared"] != pytest.approx(t["demand_ours"], rel=0.05)


def test_unknown_customers_overstate_and_known_ones_declare_what_they_buy():
    honest = small(
        **{"model.information.base": 1.0, "model.information.whole_customer_weight": 0.0}
    ).run()
    vague = small(**{"model.information.base": 0.0, "model.information.relationship_effect": 0.0})
    vague.run()
    # Full knowledge: declarations are what customers will buy (up to supply and noise).
    assert honest.kpis()["budget_fulfilment_rate"] == pytest.approx(1.0, abs=0.05)
    o = vague.config.declarations.overstatement
    assert vague.kpis()["budget_fulfilment_rate"] == pytest.approx(1 / (1 + o), rel=0.1)


def test_a_rep_knows_its_own_line_through_the_relationship():
    m = small(**{"model.information.whole_customer_weight": 0.0})
    book = m.customers
    k = knowledge(m)
    info = m.config.information
    expected = np.clip(info.base + info.relationship_effect * book.relationship, 0, 1)
    owned = book.buys & (m.owner >= 0)
    np.testing.assert_allclose(k[owned], expected[owned])
    assert (k[owned] > 0).all()


def test_seeing_the_whole_customer_adds_knowledge_only_for_multi_line_customers():
    rep = small("product", **{"model.population.multi_line_share": 1.0})
    cm = small("customer_manager", **{"model.population.multi_line_share": 1.0})
    # Same relationships on both sides, so only the view differs.
    cm.customers.relationship = rep.customers.relationship.copy()
    assert knowledge(cm)[cm.customers.buys].mean() > knowledge(rep)[rep.customers.buys].mean()
    one = small("product", **{"model.population.multi_line_share": 0.0})
    one_cm = small("customer_manager", **{"model.population.multi_line_share": 0.0})
    one_cm.customers.relationship = one.customers.relationship.copy()
    np.testing.assert_allclose(knowledge(one), knowledge(one_cm))


def test_plans_follow_orders_as_far_as_the_planners_revise_them():
    stubborn = small(**{"model.planning.order_weight": 0.0}).run()
    adaptive = small(**{"model.planning.order_weight": 1.0}).run()
    assert adaptive.kpis()["plan_completion_rate"] > stubborn.kpis()["plan_completion_rate"]
    assert adaptive.kpis()["plan_completion_rate"] == pytest.approx(1.0, abs=0.05)
    # Planners with no time revise nothing.
    busy = small(
        **{
            "model.planning.order_weight": 1.0,
            "model.staff.planners": 1,
            "model.staff.planner_hours_per_day": 0.1,
            "model.staff.planner_minutes_per_record": 10_000,
        }
    ).run()
    assert busy.acc.coverage < 0.01
    assert busy.kpis()["plan_completion_rate"] < adaptive.kpis()["plan_completion_rate"]


def test_the_surge_raises_needs_declarations_and_orders():
    calm = small().run()
    surge = small(
        **{
            "model.market.surge": True,
            "model.market.surge_start_month": 0,
            "model.market.surge_months": 12,
            "model.market.surge_factor": 1.5,
            "model.market.supply_share": 5.0,
        }
    ).run()
    for key in ("declared", "sold", "market"):
        assert surge.acc.totals[key] > 1.3 * calm.acc.totals[key], key
    assert surge.kpis()["requests"] > 1.3 * calm.kpis()["requests"]
    # Supply follows the adaptive plan: the surge does not starve the orders.
    assert surge.kpis()["plan_completion_rate"] == pytest.approx(
        calm.kpis()["plan_completion_rate"], abs=0.05
    )


def test_every_rep_prospects_with_its_reserved_field_time():
    m = small("product", **{"model.field_work.prospecting_share": 0.3}).run()
    assert m.acc.totals["prospect_attempts"] > 0
    none = small("product", **{"model.field_work.prospecting_share": 0.0})
    none.run()
    assert none.acc.totals["prospect_attempts"] < m.acc.totals["prospect_attempts"]


def test_operating_profit_is_margin_less_cost_to_serve():
    m = small("customer_manager").run()
    k = m.kpis()
    assert k["operating_profit"] == pytest.approx(k["gross_margin"] - k["cost_to_serve"])
    assert k["travel_cost"] > 0 and k["staff_cost_sales"] > 0
    # Hiring more costs more.
    more = small("customer_manager", **{"model.staff.sales_staff": 14}).run().kpis()
    assert more["staff_cost_sales"] == pytest.approx(1.4 * k["staff_cost_sales"])


def test_customers_at_start_counts_the_book():
    m = small().run()
    assert m.kpis()["customers_at_start"] == 300


def test_a_reorganisation_at_day_zero_costs_and_loses_part_of_the_relationship():
    stay = small("product", **{"model.start.design": "product"})
    move = small("customer_manager", **{"model.start.design": "product"})
    # The same world at day 0 ...
    np.testing.assert_array_equal(stay.customers.channel, move.customers.channel)
    np.testing.assert_allclose(stay.customers.satisfaction, move.customers.satisfaction)
    # ... but the new owners inherit only part of the relationship.
    kept = move.config.reorganisation.relationship_kept
    a = stay.customers.active
    r_stay = stay.customers.customer_relationship()[a]
    r_move = move.customers.customer_relationship()[a]
    assert r_move.mean() == pytest.approx(kept * r_stay.mean(), rel=0.05)
    stay.run()
    move.run()
    appointed = len(move.sales_staff)
    assert move.acc.totals["reorganisation_cost"] == pytest.approx(
        appointed * move.config.costs.reorganisation_cost_per_person
    )
    assert stay.acc.totals["reorganisation_cost"] == 0


def test_the_product_world_does_not_drift_without_shocks():
    """Year 1 and year 3 of the product design agree (steady start, no growth, no surge).

    Tolerances: three seeds, monthly means over a year; the slow population turnover (churn
    against new customers) may move levels a little, so rates must agree within 3 points and
    response time within 10%.
    """
    years = []
    for seed in (1, 2, 3):
        m = SalesModel(
            overrides={"model.horizon_days": 756, "model.market.growth_per_year": 0.0},
            design="product",
            rng=seed,
        ).run()
        years.append(m.monthly_kpis())
    first = {k: np.mean([y[k].iloc[:12].mean() for y in years]) for k in years[0]}
    last = {k: np.mean([y[k].iloc[24:].mean() for y in years]) for k in years[0]}
    for kpi in (
        "satisfaction",
        "direct_sales_rate",
        "plan_completion_rate",
        "budget_fulfilment_rate",
        "wallet_share",
        "relationship",
        "knowledge",
    ):
        assert abs(last[kpi] - first[kpi]) < 0.03, (kpi, first[kpi], last[kpi])
    assert last["mean_response_hours"] == pytest.approx(first["mean_response_hours"], rel=0.10)
    churn_first = np.mean([y["churned"].iloc[:12].sum() for y in years])
    churn_last = np.mean([y["churned"].iloc[24:].sum() for y in years])
    assert churn_last == pytest.approx(churn_first, rel=0.25)


class EveryoneStays(Mechanism):
    """A churn rule of a test's own: nobody ever leaves."""

    slot = "churn"
    name = "everyone_stays"

    def month_end(self, model, month):
        model.acc.hazard = np.zeros(model.customers.size)


def test_a_churn_rule_can_be_replaced_without_touching_the_model():
    m = SalesModel(overrides=SMALL, design="product", rng=1, mechanisms={"churn": EveryoneStays()})
    m.run()
    assert m.kpis()["retention_rate"] == 1.0
    assert isinstance(m.mechanisms["churn"], EveryoneStays)
    default = small("product", seed=1).run()
    assert isinstance(default.mechanisms["churn"], LogisticChurn)
    assert default.kpis()["retention_rate"] < 1.0


def test_mechanisms_are_chosen_by_name_and_unknown_names_are_refused():
    assert "logistic" in registered_mechanisms("churn")
    with pytest.raises(ConfigError, match="model.mechanisms.churn: unknown mechanism 'nope'"):
        make_mechanisms({**ModelConfig().mechanisms.model_dump(), "churn": "nope"})
    with pytest.raises(ConfigError, match="mechanisms.churn: unknown mechanism 'nope'"):
        SalesModel(overrides={**SMALL, "model.mechanisms.churn": "nope"})


def test_a_customer_can_tell_why_it_left():
    m = small("product", seed=5, **{"model.churn.intercept": -2.0}).run()
    lost = np.flatnonzero(m.customers.channel == LOST)
    assert len(lost) > 0
    story = m.customer_agents[int(lost[0])].history()
    assert story["left"] is not None
    months = story["months"]
    assert months["month"].iloc[0] == 1 and len(months) == m.month
    assert months["channel"].iloc[-1] == "lost"
    left = story["left"]
    assert left["main_reason"] in left["logit_terms"]
    assert left["logit_terms"][left["main_reason"]] == max(left["logit_terms"].values())
    # Its requests, with response times, are there too.
    requests = story["requests"]
    assert (requests["response_hours"].dropna() >= 0).all()
    stayed = np.flatnonzero(m.customers.active)[0]
    assert m.customer_agents[int(stayed)].history()["left"] is None


def test_a_reorganisation_shows_in_each_customers_owners():
    m = small(
        "product",
        **{"model.reorganisation.month": 2, "model.reorganisation.design": "customer_manager"},
    ).run()
    c = int(np.flatnonzero(m.customers.active)[0])
    owners = m.customer_agents[c].history()["owners"]
    assert (owners["month"] == 3).all() and len(owners) == m.customers.n_lines[c]
    assert owners["to"].str.startswith("customer_manager").all()


def test_the_steady_start_given_the_drawn_customers_settles_as_if_it_drew_them():
    """The world before day 0 takes a copy of the customers the model drew, not a redraw."""
    import dataclasses

    from salesim.model import start
    from salesim.model.population import CustomerBook
    from salesim.model.streams import RandomStreams

    cfg = small(seed=5).config
    drawn = CustomerBook(cfg, RandomStreams(5)["customers"])
    book = drawn.copy()
    for name, value in vars(drawn).items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(getattr(book, name), value)
            assert not value.size or not np.shares_memory(getattr(book, name), value), name
    redrawn = start._settle(SalesModel, cfg, 5, "customer_manager")
    handed = start._settle(SalesModel, cfg, 5, "customer_manager", book)
    for field in dataclasses.fields(redrawn):
        np.testing.assert_array_equal(getattr(handed, field.name), getattr(redrawn, field.name))
    assert not np.array_equal(book.satisfaction, drawn.satisfaction)  # the world settled it
