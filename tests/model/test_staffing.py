"""Head-count per role and per design, field staff, the product reps' territory, itemised costs.

The single ``staff.sales_staff`` keeps its old meaning where it is unambiguous; each design's own
levers (``staff.product``, ``staff.customer_manager``, ``staff.three_in_one``) change that design
only (``tests/model/test_asymmetries.py`` checks each lever against every design).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from salesim import SalesModel, cli, load_config
from salesim.model.cycle import COST_PARTS
from salesim.model.inputs.params import ConfigError

SMALL = {
    "model.horizon_days": 84,
    "model.population.customers": 300,
    "model.start.settle_months": 6,
}


def build(design: str, seed: int = 2, **overrides) -> SalesModel:
    return SalesModel(overrides={**SMALL, **overrides}, design=design, rng=seed)


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    """Equal KPIs, NaN (e.g. no outlets) equal to NaN."""
    return all(a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]) for k in a)


def front_line(model: SalesModel) -> Counter:
    """(role, group) -> people, desk and field."""
    return Counter((p.role, int(p.group)) for p in [*model.sales_staff, *model.field_staff])


# --- the common head-count and each design's own ---------------------------------------------


def test_only_sales_staff_splits_it_as_before():
    """32 people: rep i on line i mod 5, manager i in region i mod 3, outlets first taken off."""
    reps = front_line(build("product", **{"model.staff.sales_staff": 32}))
    assert [reps["product_rep", line] for line in range(5)] == [7, 7, 6, 6, 6]
    cms = front_line(build("customer_manager", **{"model.staff.sales_staff": 32}))
    assert [cms["customer_manager", r] for r in range(3)] == [11, 11, 10]
    three = build("three_in_one", **{"model.staff.sales_staff": 32})
    assert [front_line(three)["customer_manager", r] for r in range(3)] == [10, 10, 9]
    assert [o.servers for o in three.outlets] == [1, 1, 1]


def test_the_defaults_are_each_designs_own_levers_at_todays_split():
    """Unset, every design has 30 people; its own levers at 6 per line, 10 (9 + 1) per region
    give the very same run."""
    pairs = {
        "product": {"model.staff.product.reps_per_line": 6},
        "customer_manager": {"model.staff.customer_manager.managers_per_region": 10},
        "three_in_one": {"model.staff.three_in_one.managers_per_region": 9},
    }
    for design, own in pairs.items():
        default, explicit = build(design).run(), build(design, **own).run()
        assert default.front_line_people() == 30
        assert same(default.kpis(), explicit.kpis()), design


def test_a_designs_own_head_count_and_sales_staff_may_agree_but_not_conflict():
    cfg = load_config(
        None, ["model.staff.sales_staff=36", "model.staff.customer_manager.managers_per_region=12"]
    )
    assert cfg.model.staff.customer_manager.managers_per_region == 12
    with pytest.raises(ConfigError) as caught:
        load_config(
            None,
            ["model.staff.sales_staff=30", "model.staff.customer_manager.managers_per_region=12"],
        )
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith("defaults: model.staff.customer_manager.managers_per_region: ")
    assert "= 36 people, but model.staff.sales_staff is 30" in text
    # three_in_one counts its outlet and field staff in the total too.
    with pytest.raises(ConfigError, match=r"\(9 \+ 1 in the field\) customer managers per region"):
        load_config(
            None,
            [
                "model.staff.sales_staff=30",
                "model.staff.three_in_one.managers_per_region=9",
                "model.staff.three_in_one.field_managers_per_region=1",
            ],
        )


def test_a_conflict_on_the_command_line_is_one_line_and_exit_status_2(capsys):
    args = ["validate", "configs/baseline.yaml", "--set", "model.staff.sales_staff=20"]
    args += ["--set", "model.staff.product.reps_per_line=6"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "model.staff.product.reps_per_line: 6 reps per line x 5 lines = 30 people" in err
    assert "model.staff.sales_staff is 20" in err


def test_too_few_people_for_a_design_is_named():
    with pytest.raises(ConfigError, match=r"^model.staff.sales_staff: the product design needs"):
        build("product", **{"model.staff.sales_staff": 4})
    with pytest.raises(ConfigError, match="after outlet and field staff, got 2"):
        build(
            "customer_manager",
            **{
                "model.staff.sales_staff": 5,
                "model.staff.customer_manager.field_managers_per_region": 1,
            },
        )


def test_a_roster_still_sets_the_head_count(tmp_path):
    roster = tmp_path / "roster.csv"
    rows = ["person_id,role,region,lines,hours_per_day"]
    rows += [f"C{i},customer_manager,R{i % 3 + 1},all,5" for i in range(7)]
    roster.write_text("\n".join(rows) + "\n")
    model = build(
        "customer_manager",
        **{
            "model.staff.roster_file": str(roster),
            "model.staff.customer_manager.managers_per_region": 12,
            "model.staff.customer_manager.field_managers_per_region": 2,
        },
    )
    assert len(model.sales_staff) == 7 and not model.field_staff


# --- desk hours and field staff ----------------------------------------------------------------


def test_a_designs_desk_hours_set_its_request_capacity_only():
    model = build("customer_manager", **{"model.staff.customer_manager.desk_hours_per_day": 4.0})
    speed = model.stations.speed[model.sales_stations]
    assert np.all(speed == 4.0 / model.hours_per_day)
    # The common value still holds for a design that sets none.
    product = build("product", **{"model.staff.customer_manager.desk_hours_per_day": 4.0})
    assert np.all(product.stations.speed[product.sales_stations] == 6.0 / 8.0)


def test_field_staff_own_no_customers_and_prospect_with_whole_days():
    """One field manager per region beyond 10 desk managers: the desk managers keep the same
    portfolios, and prospecting grows by the field's hours / (visit + travel) a month.

    Tolerance 3% of that growth: attempts are whole numbers per group and month (random
    rounding), and customers won change portfolios a little."""
    desk = {"model.staff.customer_manager.managers_per_region": 10}
    field = {**desk, "model.staff.customer_manager.field_managers_per_region": 1}
    m = build("customer_manager", **field).run()
    s = build("customer_manager", **desk).run()
    assert len(m.sales_staff) == 30 and len(m.field_staff) == 3
    assert m.front_line_people() == 33 == m.kpis()["front_line_staff"]
    owners = set(np.unique(m.owner[m.owner >= 0]).tolist())
    assert owners <= set(m.sales_stations.tolist())
    staff = m.config.staff
    per_month = m.hours_per_day * m.days_per_month / (staff.visit_hours + 1.0)  # one region
    expected = 3 * per_month * 4
    grown = m.acc.totals["prospect_attempts"] - s.acc.totals["prospect_attempts"]
    assert grown == pytest.approx(expected, rel=0.03)
    assert m.kpis()["staff_cost_sales"] == pytest.approx(1.1 * s.kpis()["staff_cost_sales"])


def test_moving_people_to_the_field_at_equal_head_count_keeps_the_field_hours():
    """Whoever is not busy with requests is in the field already (idle desk time included), so
    three of 30 managers moved to the field leave the front line's field hours where they were;
    in this small world the managers have time to spare, so prospecting stays within 2% too
    (where they are short of time, their visits shrink and prospecting grows instead)."""
    moved = build(
        "customer_manager", **{"model.staff.customer_manager.field_managers_per_region": 1}
    )
    stay = build("customer_manager")
    moved.run(), stay.run()
    assert len(moved.sales_staff) == 27
    attempts = moved.acc.totals["prospect_attempts"], stay.acc.totals["prospect_attempts"]
    assert attempts[0] == pytest.approx(attempts[1], rel=0.02)


def test_a_cap_on_field_hours_keeps_idle_desk_time_at_the_desk():
    capped = build("product", **{"model.staff.product.field_hours_per_day": 1.0}).run()
    free = build("product").run()
    field_work = capped.mechanisms["field_work"]
    assert field_work.field_hours.max() == pytest.approx(capped.days_per_month * 1.0)
    assert free.mechanisms["field_work"].field_hours.min() > capped.days_per_month * 1.0
    assert capped.acc.totals["visits"] < free.acc.totals["visits"]
    assert capped.kpis()["relationship"] < free.kpis()["relationship"]


def test_field_staff_beyond_the_desk_head_count_cost_more():
    base = build("three_in_one", **{"model.staff.three_in_one.managers_per_region": 9}).run()
    more = build(
        "three_in_one",
        **{
            "model.staff.three_in_one.managers_per_region": 9,
            "model.staff.three_in_one.field_managers_per_region": 2,
        },
    ).run()
    assert more.front_line_people() == base.front_line_people() + 6
    per_person = base.config.costs.staff_cost_per_year["sales"]
    assert more.kpis()["staff_cost_sales"] - base.kpis()["staff_cost_sales"] == pytest.approx(
        6 * per_person * 4 / 12
    )


# --- the product reps' territory ---------------------------------------------------------------


def test_reps_per_line_per_region_own_their_regions_customers_and_travel_less():
    one = build("product", **{"model.staff.product.territory": "one_region"})
    regions = one.config.population.regions
    assert all(len(p.regions) == 1 for p in one.sales_staff)
    book = one.customers
    by_station = {p.station: p for p in one.sales_staff}
    c, li = np.nonzero(book.buys & book.active[:, None])
    for customer, line in zip(c.tolist(), li.tolist(), strict=True):
        rep = by_station[int(one.owner[customer, line])]
        assert rep.lines == (line,) and rep.regions == (int(book.region[customer]),)
    # 30 reps on 15 (line, region) groups: two each.
    assert set(front_line(one).values()) == {2} and len(front_line(one)) == 5 * regions
    travel = one.mechanisms["field_work"].travel_per_visit(one)
    everywhere = build("product")
    assert travel.max() == one.config.staff.travel_hours_per_region
    assert everywhere.mechanisms["field_work"].travel_per_visit(everywhere).min() == 3.0


def test_reps_per_line_per_region_need_one_per_line_and_region():
    with pytest.raises(ConfigError, match=r"^model.staff.product.reps_per_line: .* per line and"):
        build(
            "product",
            **{
                "model.staff.product.territory": "one_region",
                "model.staff.product.reps_per_line": 2,
            },
        )


# --- cost to serve, itemised -------------------------------------------------------------------


def test_cost_to_serve_is_the_sum_of_its_parts_and_each_part_is_its_head_count():
    """Odd pay rates (not whole units a month), field staff and a reorganisation at day 0, so a
    part booked twice, missed or rounded apart would show."""
    pay = {
        "sales": 241_234.57,
        "product_manager": 310_000.01,
        "regional_manager": 365_432.1,
        "planner": 199_999.99,
        "service_outlet": 181_111.11,
    }
    model = build(
        "three_in_one",
        **{
            "model.costs.staff_cost_per_year": pay,
            "model.costs.travel_cost_per_hour": 151.3,
            "model.start.design": "product",
            "model.staff.three_in_one.field_managers_per_region": 1,
        },
    ).run()
    k = model.kpis()
    parts = [k[name] for name in COST_PARTS]
    assert sum(parts) == k["cost_to_serve"]
    assert math.fsum(parts) == pytest.approx(k["cost_to_serve"], rel=1e-14)
    assert k["operating_profit"] == pytest.approx(k["gross_margin"] - k["cost_to_serve"], rel=1e-12)
    years = 4 / 12
    staff = model.config.staff
    heads = {
        "sales": 27,  # 8 managers and 1 field manager per region: 30 less 3 outlet people
        "product_manager": 5 * staff.product_managers_per_line,
        "regional_manager": 3 * staff.regional_managers_per_region,
        "planner": staff.planners,
        "service_outlet": 3,
    }
    for role, n in heads.items():
        assert k[f"staff_cost_{role}"] == pytest.approx(pay[role] * n * years, rel=1e-12), role
    assert k["travel_cost"] == pytest.approx(model.acc.totals["travel_hours"] * 151.3, rel=1e-12)
    appointed = 30 * model.config.costs.reorganisation_cost_per_person
    assert k["reorganisation_cost"] == appointed
    # Every money part is declared as money, lower better.
    from salesim.model.inputs.outcomes import OUTCOMES

    assert all(OUTCOMES[p].kind == "money" and OUTCOMES[p].direction == -1 for p in COST_PARTS)
