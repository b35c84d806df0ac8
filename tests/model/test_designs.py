"""The comparison can go either way, and which way follows from the mechanisms.

Both scenarios run the same code with the same parameters except the ones named; no design
has a constant of its own. Paired seeds (common random numbers) and means over them.
"""

from __future__ import annotations

import numpy as np
import pytest

from salesim import SalesModel

SEEDS = range(3)


def compare(overrides: dict, seeds=SEEDS) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, list[float]]] = {}
    for design in ("product", "customer_manager"):
        runs = [SalesModel(design=design, rng=s, overrides=overrides).run().kpis() for s in seeds]
        out[design] = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
    return out


def test_default_world_follows_the_case():
    """Multi-line customers, product managers with room: the seed's direction."""
    k = compare({})
    prod, cm = k["product"], k["customer_manager"]
    assert cm["contacts_per_need"] < prod["contacts_per_need"] - 0.2
    assert cm["handoffs_per_request"] < prod["handoffs_per_request"]
    assert cm["direct_sales_rate"] > prod["direct_sales_rate"] + 0.05
    assert cm["plan_completion_rate"] > prod["plan_completion_rate"] + 0.1
    assert cm["budget_fulfilment_rate"] > prod["budget_fulfilment_rate"] + 0.03
    assert cm["retention_rate"] > prod["retention_rate"]
    assert cm["market_share"] > prod["market_share"]


def test_single_line_customers_and_a_slow_pm_favour_the_product_design():
    """No breadth to gain, and every extra forward to the PM costs: product no worse."""
    k = compare({"model.population.multi_line_share": 0.0, "model.staff.pm_hours_per_day": 2.0})
    prod, cm = k["product"], k["customer_manager"]
    assert prod["mean_response_hours"] < 0.5 * cm["mean_response_hours"]
    assert prod["utilisation_product_manager"] < cm["utilisation_product_manager"]
    assert prod["satisfaction"] > cm["satisfaction"]
    assert prod["retention_rate"] >= cm["retention_rate"] - 0.005
    # Contacts per need are equal when nobody has a second line to buy.
    assert abs(prod["contacts_per_need"] - cm["contacts_per_need"]) < 0.02


def test_reps_per_line_per_region_trade_travel_for_smaller_queues():
    """The either-way world with product reps per line per region (territory one_region).

    A rep now travels to one region, as a customer manager does: more visits per field hour,
    so better-known customers (plan, budget) and more prospecting (direct sales). But each
    (line, region) is its own, smaller pool of reps, and smaller pools wait longer (Erlang C):
    response worsens. The customer managers' lead on budget fulfilment, which rested on travel,
    shrinks.
    """
    world = {"model.population.multi_line_share": 0.0, "model.staff.pm_hours_per_day": 2.0}
    wide = compare(world)
    local = compare({**world, "model.staff.product.territory": "one_region"})
    before, after = wide["product"], local["product"]
    for kpi in ("plan_completion_rate", "budget_fulfilment_rate", "direct_sales_rate"):
        assert after[kpi] > before[kpi], kpi
    assert after["mean_response_hours"] > before["mean_response_hours"]
    cm = local["customer_manager"]
    same = wide["customer_manager"]  # the product design's own lever leaves CMs alone
    assert all(cm[k] == same[k] or (cm[k] != cm[k] and same[k] != same[k]) for k in cm)
    gap_before = cm["budget_fulfilment_rate"] - before["budget_fulfilment_rate"]
    gap_after = cm["budget_fulfilment_rate"] - after["budget_fulfilment_rate"]
    assert 0 <= gap_after < 0.5 * gap_before


def test_assignment_is_the_same_in_plain_python_and_in_numpy(monkeypatch):
    """A few customers (a month's newcomers) are placed in plain Python, many with numpy; both
    give every (customer, line) the same owner and every person the same load."""
    from salesim.model import designs

    for design in ("product", "customer_manager", "three_in_one"):
        m = SalesModel(design=design, rng=4, overrides={"model.population.customers": 400})
        active = np.flatnonzero(m.customers.active)
        results = []
        for few in (10**6, 0):
            monkeypatch.setattr(designs, "FEW", few)
            m.owner[:] = -1
            m.staff_load = np.zeros(len(m.stations))
            for i in range(0, len(active), 37):
                m.design.assign(m, active[i : i + 37])
            results.append((m.owner.copy(), m.staff_load.copy()))
        np.testing.assert_array_equal(results[0][0], results[1][0])
        np.testing.assert_array_equal(results[0][1], results[1][1])
        assert (m.owner[active][m.customers.buys[active]] >= 0).all()


def test_a_group_nobody_can_own_is_named_alike_by_both_paths(monkeypatch):
    from salesim.model import designs
    from salesim.model.inputs.params import ConfigError

    m = SalesModel(design="customer_manager", rng=4, overrides={"model.population.customers": 200})
    book = m.customers
    gone = int(book.region[np.flatnonzero(book.active)[0]])
    m.staff_by_group = {g: s for g, s in m.staff_by_group.items() if g != gone}
    who = np.flatnonzero(book.active)[:20]
    messages = []
    for few in (10**6, 0):
        monkeypatch.setattr(designs, "FEW", few)
        with pytest.raises(ConfigError, match=f"in group {gone}$") as err:
            m.design.assign(m, who)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith("model.design: customer_manager has no staff to own line ")
