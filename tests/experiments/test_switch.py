"""The switch study: its runs switch, its payback and NPV are right, bad fields are one line."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from report_checks import parse
from salesim import ConfigError, load_config
from salesim.experiments.compare import with_keys
from salesim.experiments.driver import run_experiment
from salesim.experiments.switch import analyse, analyse_one, npv, npv_gap, payback_month
from salesim.report.build import build_report

SWITCH_MONTH = 2
COST = 40_000.0
SMALL = {
    "model.horizon_days": 126,  # six months
    "model.population.customers": 150,
    "model.staff.sales_staff": 9,
    "model.costs.reorganisation_cost_per_person": COST,
    "model.reorganisation.learning_months": 2.0,
}


def small_switch(**experiment):
    return load_config(
        None,
        {
            **SMALL,
            "experiment": {
                "switch": {
                    "in_place": "product",
                    "candidates": ["customer_manager", "three_in_one"],
                    "month": SWITCH_MONTH,
                    "discount_rate": 0.1,
                },
                "replications": 2,
                "seed": 3,
                **experiment,
            },
        },
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("switch") / "out"
    cfg = small_switch(scenarios={"slow": {"model.reorganisation.relationship_kept": 0.3}})
    run_experiment(cfg, out, executor="sequential", progress=False)
    return cfg, out


# --- payback and NPV on hand-made series ----------------------------------------------------------


@pytest.mark.parametrize(
    ("diff", "expected"),
    [
        ([0, 0, -10, -5, 4, 6, 8], 7),  # cumulative 0 0 -10 -15 -11 -5 +3
        ([-1, 2, -2, 5], 4),  # positive at month 2, but not for good until month 4
        ([3, -1, 1], 1),  # positive from the first month
        ([0, -4, 1, 1], None),  # still below zero at the horizon
        ([0, 0, 0], None),  # exactly zero is not paid back
    ],
)
def test_payback_month_is_when_the_cumulative_sum_turns_positive_for_good(diff, expected):
    assert payback_month(np.array(diff, dtype=float)) == expected


def test_npv_discounts_each_month_at_its_end():
    # 110 at the end of month 12 at 10% a year is worth 100 today.
    flows = np.zeros(12)
    flows[-1] = 110.0
    assert npv(flows, 0.10, 12) == pytest.approx(100.0)
    # Without discounting it is the plain sum; per replication along axis 1.
    table = np.array([[1.0, 2.0], [3.0, -4.0]])
    assert np.allclose(npv(table, 0.0, 12), [4.0, -2.0])
    # A level annuity: the closed form.
    monthly = 1.08 ** (1 / 12) - 1
    assert npv(np.ones(24), 0.08, 12) == pytest.approx((1 - (1 + monthly) ** -24) / monthly)


def test_payback_and_npv_of_a_paired_table_with_known_answers():
    # Three replications (columns) over six months; the mean curve is -6, -3, 0, 3, 6, 9:
    # cumulative -6, -9, -9, -6, 0, 9, so it pays back in month 6. Replication 3 never does.
    d = pd.DataFrame(
        {
            0: [-6.0, -3.0, 0.0, 3.0, 6.0, 15.0],
            1: [-6.0, -3.0, 0.0, 3.0, 6.0, 15.0],
            2: [-6.0, -3.0, 0.0, 3.0, 6.0, -3.0],
        },
        index=range(6),
    )
    got = analyse_one(d, 0.0, 12, 400, np.random.default_rng(0))
    assert got["payback"] == 6
    assert got["paid_back_share"] == pytest.approx(2 / 3)
    own = d.sum().to_numpy()  # NPV at 0%: each replication's total
    assert got["npv"] == pytest.approx(own.mean())
    assert got["npv_hw"] == pytest.approx(4.303 * own.std(ddof=1) / math.sqrt(3), rel=1e-3)
    assert list(got["curve"].index) == [1, 2, 3, 4, 5, 6]
    assert got["curve"]["cum_mean"].iloc[-1] == pytest.approx(9.0)
    # A resample of only replication 3 never pays back: the interval reaches beyond the horizon.
    assert got["payback_low"] == 6 and got["payback_high"] == math.inf
    # After a two-month warm-up the same months are months 3 to 8 of the run.
    later = analyse_one(d, 0.0, 12, 400, np.random.default_rng(0), offset=2)
    assert later["payback"] == 8 and later["payback_low"] == 8
    assert list(later["curve"].index) == [3, 4, 5, 6, 7, 8]


def test_identical_replications_give_a_payback_interval_of_one_month():
    d = pd.DataFrame({i: [-2.0, 1.0, 1.0, 1.0] for i in range(4)})
    got = analyse_one(d, 0.05, 12, 200, np.random.default_rng(1))
    assert got["payback"] == got["payback_low"] == got["payback_high"] == 4
    assert got["npv_hw"] == pytest.approx(0.0)


# --- the runs -------------------------------------------------------------------------------------


def test_switch_runs_switch_at_the_month_and_stay_runs_never_do(study):
    cfg, out = study
    runs = pd.read_parquet(out / "runs.parquet")
    ts = with_keys(pd.read_parquet(out / "timeseries.parquet"), runs).reset_index()
    assert set(runs.design) == {"product", "customer_manager", "three_in_one"}
    stay = ts[ts.design == "product"]
    assert (stay.reorganisation_cost == 0).all()
    moved = ts[ts.design != "product"]
    charged = moved[moved.reorganisation_cost > 0]
    assert set(charged.month) == {SWITCH_MONTH}
    # One charge per run: the whole new front line appointed once, at the declared cost each.
    assert len(charged) == len(runs[runs.design != "product"])
    assert np.allclose(charged.reorganisation_cost % COST, 0)
    per_run = runs.set_index("run_id").reorganisation_cost
    assert (per_run[runs.set_index("run_id").design == "product"] == 0).all()
    # Same seeds: before the switch a candidate's months are the stay run's, to the last digit.
    before = ts[ts.month < SWITCH_MONTH].set_index(["scenario", "replication", "month"])
    for candidate in ("customer_manager", "three_in_one"):
        a = before[before.design == candidate].operating_profit.sort_index()
        b = before[before.design == "product"].operating_profit.sort_index()
        assert a.to_numpy().tolist() == b.to_numpy().tolist()
    after = ts[ts.month == SWITCH_MONTH].set_index(["scenario", "replication"])
    assert not np.allclose(
        after[after.design == "customer_manager"].operating_profit.sort_index(),
        after[after.design == "product"].operating_profit.sort_index(),
    )


def test_the_report_opens_with_the_switch_section_and_its_hooks(study):
    cfg, out = study
    report = build_report(out)
    root = parse(report)
    body = root.find("body")
    first = next(el for el in body if el.tag in ("section", "details"))
    assert first.get("id") == "switch"
    runs = pd.read_parquet(out / "runs.parquet")
    ts = with_keys(pd.read_parquet(out / "timeseries.parquet"), runs)
    expected = {
        r.candidate: r for r in analyse(cfg, ts, runs) if r.scenario == "base" and r.point == 0
    }
    # Exactly one element per candidate carries the hooks' attributes.
    elements = first.findall(".//*[@data-candidate]")
    assert all(e.get("data-npv") and e.get("data-payback-month") for e in elements)
    assert [e.get("data-candidate") for e in elements] == ["customer_manager", "three_in_one"]
    for e in elements:
        r = expected[e.get("data-candidate")]
        payback = e.get("data-payback-month")
        assert payback == "none" or int(payback) >= SWITCH_MONTH + 1
        assert payback == ("none" if r.payback is None else str(r.payback))
        assert float(e.get("data-npv")) == pytest.approx(r.npv)
    text = "".join(first.itertext())
    for path in ("learning_months", "relationship_kept", "reorganisation_cost_per_person"):
        assert f"model.reorganisation.{path}" in text or f"model.costs.{path}" in text
    assert "assumption" in text and "slow" in text
    figure = first.find(".//figure")
    assert figure is not None and (out / "figures" / "switch-base-p0.png").is_file()


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("experiment", "expected"),
    [
        ({"switch": {"candidates": ["matrix"]}}, ["experiment.switch.candidates", "matrix"]),
        ({"switch": {"in_place": "matrix"}}, ["experiment.switch.in_place", "matrix"]),
        ({"switch": {}, "baseline": "three_in_one"}, ["baseline", "leave baseline out"]),
        ({"switch": {"candidates": ["product"]}}, ["experiment.switch", "in place"]),
        ({"switch": {"month": 6}}, ["experiment.switch.month", "allowed: 1 to 5"]),
        (
            {"switch": {"month": 1}, "warmup_days": 42},  # the warm-up is two months
            ["experiment.switch.month", "allowed: 2 to 5"],
        ),
        ({"switch": {"discount_rate": 2}}, ["experiment.switch.discount_rate", "1"]),
        (
            {"switch": {}, "designs": ["product", "customer_manager"]},
            ["designs", "leave designs out"],
        ),
        (
            {"switch": {}, "scenarios": {"late": {"model.reorganisation.month": 4}}},
            ["scenarios.late", "model.reorganisation.month", "set by the switch study"],
        ),
    ],
)
def test_a_bad_switch_field_is_one_line(experiment, expected):
    with pytest.raises(ConfigError) as err:
        load_config(None, {**SMALL, "experiment": experiment})
    line = str(err.value)
    assert "\n" not in line
    for part in expected:
        assert part in line


def test_a_bad_switch_field_on_the_command_line_exits_2(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "model: {horizon_days: 126, population: {customers: 50}}\n"
        "experiment:\n  switch: {in_place: product, candidates: [matrix]}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "salesim", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"salesim: error: {path}: experiment.switch")
    assert "matrix" in line


def test_npv_is_the_discounted_paired_profit_difference_of_the_stored_months(study):
    cfg, out = study
    runs = pd.read_parquet(out / "runs.parquet")
    stored = pd.read_parquet(out / "timeseries.parquet")
    ts = stored.merge(runs[["run_id", "scenario", "design", "replication"]])
    ts = ts[ts.scenario == "base"]
    by_rep = {
        d: ts[ts.design == d].pivot(index="month", columns="replication", values="operating_profit")
        for d in ("product", "customer_manager", "three_in_one")
    }
    assert len(by_rep["product"]) == 6
    monthly = (1 + 0.1) ** (1 / 12) - 1
    factor = (1 + monthly) ** -np.arange(1, 7)
    found = {r.candidate: r for r in analyse(cfg, with_keys(stored, runs), runs)
             if r.scenario == "base"}  # fmt: skip
    own = {}
    for c in ("customer_manager", "three_in_one"):
        d = by_rep[c] - by_rep["product"]
        own[c] = (d.to_numpy().T * factor).sum(axis=1)
        assert found[c].npv == pytest.approx(own[c].mean())
        mine = runs[(runs.design == c) & (runs.scenario == "base")]
        assert found[c].one_off_cost == pytest.approx(mine.reorganisation_cost.mean())
    gap, _ = npv_gap(found["customer_manager"], found["three_in_one"])
    assert gap == pytest.approx((own["customer_manager"] - own["three_in_one"]).mean())
