"""Scenario discovery on synthetic studies whose losing region is known (no simulation).

Each study is a runs table built directly: two designs at every point of a sample over two
parameters uniform in [0, 1], the candidate's KPI shifted against the baseline's by a rule of
the point's values. PRIM peels 5% of a box's points at a time, so on 400 points a threshold is
found to about the spacing of the points near it; the tolerance asked for is 5% of the range.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from salesim import load_config
from salesim.experiments.discovery import (
    COLUMNS,
    applies,
    choose,
    discover,
    find_box,
    records,
)
from salesim.report.discovery import recommendation

X1 = "model.information.whole_customer_weight"
X2 = "model.information.relationship_effect"
N = 400


def config(replications: int = 1, method: str = "lhs"):
    params = [
        {"path": p, "role": "uncertainty", "bounds": {"low": 0.0, "high": 1.0}} for p in (X1, X2)
    ]
    return load_config(
        None,
        {
            "experiment": {
                "designs": ["product", "customer_manager"],
                "replications": replications,
                "sweep": {"method": method, "samples": N, "parameters": params},
            }
        },
    )


def sample(n: int = N, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({X1: rng.uniform(size=n), X2: rng.uniform(size=n)})


def runs_table(x: pd.DataFrame, gaps: dict[str, np.ndarray], replications: int = 1):
    """Runs of product (every KPI 100) and customer_manager (100 + gap) at each point.

    ``gaps[kpi]`` has one value per point, or one per point and replication (shape n x r).
    """
    rows = []
    for point, values in x.iterrows():
        for rep in range(replications):
            for design in ("product", "customer_manager"):
                row = {
                    "run_id": f"p{point}-r{rep}-{design}",
                    "scenario": "base",
                    "point": point,
                    "design": design,
                    "replication": rep,
                    "seed": 1 + rep,
                    "status": "ok",
                    **values.to_dict(),
                }
                for kpi, gap in gaps.items():
                    g = gap[point, rep] if gap.ndim == 2 else gap[point]
                    row[kpi] = 100.0 + (g if design == "customer_manager" else 0.0)
                rows.append(row)
    return pd.DataFrame(rows)


def only(findings, kpi):
    (f,) = [f for f in findings if f.kpi == kpi]
    return f


def test_a_threshold_on_one_parameter_is_recovered_within_5_percent_of_its_range():
    x = sample()
    # Loses profit (higher is better) iff x1 < 0.3, whatever x2.
    gap = np.where(x[X1] < 0.3, -5.0, 5.0)
    f = only(discover(runs_table(x, {"operating_profit": gap}), config()), "operating_profit")
    assert f.status == "box" and len(f.boxes) == 1
    (box,) = f.boxes
    assert box.parameters == [X1]  # x2 plays no part, so the box leaves it alone
    (lim,) = box.limits
    assert lim.restricts_upper and not lim.restricts_lower
    assert lim.lower == 0.0  # the unrestricted side is the declared bound
    assert abs(lim.upper - 0.3) <= 0.05 * 1.0
    assert box.coverage >= 0.8 and box.density >= 0.95
    # Coverage and density are what the box's limits give on the points.
    inside = (x[X1] >= lim.lower) & (x[X1] <= lim.upper)
    loses = x[X1] < 0.3
    assert box.coverage == pytest.approx((inside & loses).sum() / loses.sum())
    assert box.density == pytest.approx((inside & loses).sum() / inside.sum())


def test_with_noise_the_box_keeps_to_the_parameter_that_matters():
    """One point in 20 flips its sign at random; x2 still gets no condition."""
    x = sample(seed=23)
    flip = np.random.default_rng(29).uniform(size=N) < 0.05
    gap = np.where((x[X1] < 0.3) != flip, -5.0, 5.0)
    f = only(discover(runs_table(x, {"operating_profit": gap}), config()), "operating_profit")
    (box,) = f.boxes
    assert box.parameters == [X1]
    assert abs(box.limits[0].upper - 0.3) <= 0.05


def test_losses_that_are_pure_noise_get_no_box():
    """Signs drawn independently of x: PRIM's first peels gain a little density by chance, and
    no condition passes the quasi-p test."""
    x = sample(seed=31)
    gap = np.where(np.random.default_rng(37).uniform(size=N) < 0.4, -1.0, 1.0)
    f = only(discover(runs_table(x, {"operating_profit": gap}), config()), "operating_profit")
    assert f.status == "scattered" and f.boxes == []


def test_direction_comes_from_the_kpi_declaration():
    """Mean response is better low: a design whose response is higher above x2 = 0.6 loses there."""
    x = sample(seed=5)
    gap = np.where(x[X2] > 0.6, +2.0, -2.0)
    findings = discover(
        runs_table(x, {"mean_response_hours": gap, "retention_rate": gap}), config()
    )
    response = only(findings, "mean_response_hours")
    (lim,) = response.boxes[0].limits
    assert lim.parameter == X2 and lim.restricts_lower and not lim.restricts_upper
    assert abs(lim.lower - 0.6) <= 0.05 and lim.upper == 1.0
    # The same gap on retention (better high) loses on the other side.
    (lim,) = only(findings, "retention_rate").boxes[0].limits
    assert lim.parameter == X2 and lim.restricts_upper and abs(lim.upper - 0.6) <= 0.05


def test_replications_are_averaged_per_point_before_a_point_counts_as_losing():
    x = sample(seed=7)
    sign = np.where(x[X1] < 0.3, -1.0, 1.0)
    # Each replication's noise is larger than the effect, but sums to zero at every point:
    # single runs flip sign, their mean does not.
    noise = np.array([3.0, -3.0, 0.0])
    gap = sign[:, None] * 1.0 + noise[None, :]
    f = only(discover(runs_table(x, {"operating_profit": gap}, 3), config(3)), "operating_profit")
    assert f.points.loses.to_numpy().tolist() == (x[X1] < 0.3).tolist()
    (lim,) = f.boxes[0].limits
    assert abs(lim.upper - 0.3) <= 0.05


def test_a_design_that_wins_everywhere_gets_no_box_and_no_row():
    x = sample()
    f = only(
        discover(runs_table(x, {"operating_profit": np.full(N, 3.0)}), config()),
        "operating_profit",
    )
    assert f.status == "never" and f.boxes == [] and f.win_share == 1.0
    table = records([f])
    assert table.empty and list(table.columns[: len(COLUMNS)]) == list(COLUMNS)


def test_a_design_that_loses_everywhere_gets_no_box():
    x = sample()
    f = only(
        discover(runs_table(x, {"operating_profit": np.full(N, -3.0)}), config()),
        "operating_profit",
    )
    assert f.status == "everywhere" and f.boxes == []


def test_records_have_one_row_per_restricted_parameter_with_the_stable_columns():
    x = sample(seed=11)
    # A corner: loses iff x1 < 0.4 and x2 > 0.5.
    gap = np.where((x[X1] < 0.4) & (x[X2] > 0.5), -1.0, 1.0)
    findings = discover(runs_table(x, {"operating_profit": gap}), config())
    table = records(findings)
    assert list(table.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert sorted(table.parameter) == sorted([X1, X2])
    assert set(table.box) == {1} and set(table.kpi) == {"operating_profit"}
    assert set(table.design) == {"customer_manager"}
    by = table.set_index("parameter")
    assert abs(by.loc[X1, "upper"] - 0.4) <= 0.05 and by.loc[X1, "lower"] == 0.0
    assert abs(by.loc[X2, "lower"] - 0.5) <= 0.05 and by.loc[X2, "upper"] == 1.0
    assert table.coverage.nunique() == 1 and table.density.nunique() == 1


def test_find_box_takes_any_outcome_and_says_nothing_without_contrast():
    x = sample(seed=13)
    box = find_box(x, (x[X2] < 0.25).to_numpy(), {X1: (0, 1), X2: (0, 1)})
    assert box.parameters == [X2] and abs(box.limits[0].upper - 0.25) <= 0.05
    assert find_box(x, np.ones(N, dtype=bool)) is None
    assert find_box(x, np.zeros(N, dtype=bool)) is None
    assert find_box(x.head(5), np.array([True, False, True, False, False])) is None


def test_the_box_chosen_is_the_densest_with_enough_coverage_and_fewest_conditions():
    trajectory = pd.DataFrame(
        {
            "coverage": [1.0, 0.95, 0.9, 0.85, 0.7],
            "density": [0.3, 0.80, 0.9, 0.91, 1.0],
            "mass": [1.0, 0.4, 0.3, 0.28, 0.2],
            "restricted": [0, 1, 1, 2, 2],
        }
    )
    # 0.7 coverage is too little; 0.91 with two conditions is within 0.02 of 0.9 with one.
    assert choose(trajectory, 0.3, 0.8) == 2
    assert choose(trajectory, 0.3, 0.99) is None  # only the unrestricted box covers that much
    assert choose(trajectory, 0.95, 0.8) is None  # nothing denser than the whole sample


def test_a_study_without_a_sweep_or_a_grid_of_levers_only_is_not_discovered():
    assert applies(config())
    both = {"designs": ["product", "customer_manager"]}
    assert not applies(load_config(None, {"experiment": both}))
    grid = load_config(
        None,
        {
            "experiment": {
                "designs": ["product", "customer_manager"],
                "sweep": {
                    "parameters": [
                        {"path": "model.staff.sales_staff", "role": "lever", "values": [20, 30]}
                    ]
                },
            }
        },
    )
    assert not applies(grid) and discover(pd.DataFrame(), grid) == []


def fake_study(cfg):
    """What ``recommendation`` reads of a report's Study."""
    return SimpleNamespace(
        cfg=cfg,
        baseline="product",
        designs=["product", "customer_manager"],
        scenarios=["base"],
        reference="base",
        verdict_metrics=["operating_profit", "mean_response_hours"],
    )


def test_the_recommendation_names_the_design_and_its_conditions():
    x = sample(seed=17)
    gaps = {
        "operating_profit": np.full(N, 5.0),  # customer managers earn more everywhere ...
        "mean_response_hours": np.where(x[X1] < 0.3, 2.0, -1.0),  # ... but respond slower here
    }
    cfg = config()
    text = recommendation(fake_study(cfg), discover(runs_table(x, gaps), cfg))
    assert text.startswith(
        "Choose Customer-manager organisation over Product organisation: its operating profit is "
        "higher at 100% of the "
        f"{N} points of the sweep, unless information: whole customer weight < 0."
    )
    assert "(there it is worse on mean response at" in text


def test_the_recommendation_keeps_the_baseline_unless_where_the_other_wins():
    x = sample(seed=19)
    gaps = {
        "operating_profit": np.where(x[X2] > 0.8, 5.0, -5.0),
        "mean_response_hours": np.full(N, -1.0),
    }
    cfg = config()
    text = recommendation(fake_study(cfg), discover(runs_table(x, gaps), cfg))
    assert text.startswith(
        f"Keep Product organisation: no design has higher operating profit at most of the {N} "
        f"points"
    )
    assert ", unless information: relationship effect > 0.8" in text
    assert "there Customer-manager organisation has higher operating profit" in text


def test_conditions_read_as_inequalities_and_name_a_lever():
    from salesim.experiments.discovery import Limit
    from salesim.report.discovery import condition

    upper = Limit("model.staff.cm_line_skill", 0.5, 0.7234, False, True, 0.4)
    assert condition(upper) == "staff: cm line skill < 0.723"
    both = Limit("model.staff.sales_staff", 20.0, 1250.0, True, True, 0.5)
    roles = {"model.staff.sales_staff": "lever"}
    assert condition(both, roles) == "20 < staff: sales staff (a lever) < 1,250"
    lower = Limit("model.competition.pressure", 0.41, 0.8, True, False, 0.6)
    assert condition(lower) == "competition: pressure > 0.41"


def test_a_few_points_in_thousands_are_not_written_as_none_or_all():
    from salesim.report.discovery import _pct

    assert _pct(9 / 2560) == "under 1%" and _pct(1 - 9 / 2560) == "over 99%"
    assert (_pct(0.0), _pct(1.0), _pct(0.494)) == ("0%", "100%", "49%")
