"""``salesim optimise``: a known optimum is found, verification uses fresh seeds, the SQLite
study resumes without redoing trials, bad input is one line, a second optimise on one --out
refuses, and SIGTERM keeps the finished trials.

The known optimum: one customer manager forwards every request to the line's pooled product
managers (an M/M/1 queue feeding an M/M/c queue). Minimising the PMs' pay subject to a mean
response bound picks the fewest PMs whose response meets it, which Erlang C gives (the theory
tests check the network against these formulas: tests/model/test_theory.py).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import psutil
import pytest
import yaml

from salesim import cli
from salesim.experiments.config import load_config
from salesim.experiments.optimise import DB_FILE, open_study, search
from salesim.experiments.optimise_eval import candidate_model
from salesim.experiments.optimise_spec import search_config
from waiting import until

LAMBDA, CM_HOURS, PM_HOURS = 2.0, 0.1, 1.0  # arrivals an hour; mean service hours
BOUND = 1.35  # hours of mean response: between what 3 PMs (1.57 h) and 4 PMs (1.21 h) give
CUSTOMERS, HOURS, DAYS_PER_YEAR = 200, 8.0, 252

MODEL = {
    "design": "customer_manager",
    "horizon_days": 150,
    "population": {
        "customers": CUSTOMERS,
        "regions": 1,
        "lines": ["A"],
        "multi_line_share": 0.0,
        "new_customers_per_year": 0.0,
        "direct_share": 1.0,
    },
    "requests": {
        "needs_per_customer_year": LAMBDA * HOURS * DAYS_PER_YEAR / CUSTOMERS,
        "volume_elasticity": 0.0,
        "satisfaction_effect": 0.0,
        "kind_mix": {"order": 1.0, "price_enquiry": 0.0, "technical": 0.0, "logistics": 0.0},
        "pm_bound": {"order": 1.0},
        "escalation_prob": 0.0,
        "handoff_delay": {"distribution": "fixed", "mean_hours": 0.0},
        "service": {"order": {"distribution": "exponential", "mean_hours": CM_HOURS}},
        "pm_service": {"distribution": "exponential", "mean_hours": PM_HOURS},
    },
    "staff": {
        "sales_staff": 1,
        "desk_hours_per_day": HOURS,
        "pm_hours_per_day": HOURS,
        "expert_resolution": 0.0,
        "portfolio_target": 1e9,
    },
    "satisfaction": {"enabled": False},
    "churn": {"enabled": False},
    "channel": {"enabled": False},
    "prospecting": {"enabled": False},
    "market": {"growth_per_year": 0.0},
    "start": {"settle_months": 0},
}
LEVER = "model.staff.product_managers_per_line"


def optimise_section(**changes) -> dict:
    section = {
        "levers": [{"path": LEVER, "low": 1, "high": 6}],
        "objective": {"kpi": "staff_cost_product_manager"},
        "constraints": [{"kpi": "mean_response_hours", "at_most": BOUND}],
        "n_trials": 10,
        "replications": 3,
        "seed": 3,
        "verification": {"top": 2, "replications": 4},
    }
    section.update(changes)
    return section


def write(tmp_path: Path, name: str = "pm.yaml", **changes) -> Path:
    path = tmp_path / name
    data = {"name": "pm_queue", "model": MODEL, "optimise": optimise_section(**changes)}
    path.write_text(yaml.safe_dump(data))
    return path


def erlang_c(c: int, offered: float) -> float:
    """Probability an arrival waits in M/M/c with offered load lambda/mu (< c)."""
    top = offered**c / math.factorial(c) / (1 - offered / c)
    return top / (sum(offered**k / math.factorial(k) for k in range(c)) + top)


def fewest_pms_meeting_the_bound() -> int:
    mu = 1 / PM_HOURS
    for c in range(1, 10):
        if LAMBDA / (c * mu) >= 1:
            continue  # unstable: response grows without bound
        cm = 1 / (1 / CM_HOURS - LAMBDA)  # M/M/1 sojourn at the customer manager
        pm = erlang_c(c, LAMBDA / mu) / (c * mu - LAMBDA) + 1 / mu
        if cm + pm <= BOUND:
            return c
    raise AssertionError("no head-count meets the bound")


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("optimise")
    config, out = write(tmp), tmp / "out"
    assert cli.main(["optimise", str(config), "--out", str(out), "--workers", "2"]) == 0
    return config, out


def test_the_search_finds_the_head_count_erlang_c_gives(searched):
    config, out = searched
    expected = fewest_pms_meeting_the_bound()
    assert expected == 4  # by construction: 3 PMs miss the bound by 15%, 4 meet it by 10%
    best = yaml.safe_load((out / "best.yaml").read_text())
    assert best["model"]["staff"]["product_managers_per_line"] == expected
    trials = pd.read_csv(out / "trials.csv")
    assert {LEVER, "staff_cost_product_manager", "constraints_met"} <= set(trials.columns)
    assert trials[LEVER].is_unique  # one row per candidate
    met = trials.set_index(LEVER).constraints_met
    assert met[expected] and not met[expected - 1]
    assert cli.main(["validate", str(out / "best.yaml")]) == 0
    # best.yaml is the candidate's whole model: loaded, it is what the search ran.
    cfg = search_config(load_config(config))
    ran = candidate_model(cfg, {LEVER: expected}).model_copy(update={"seed": cfg.model.seed})
    assert load_config(out / "best.yaml").model == ran
    page = (out / "report.html").read_text()
    assert '<section id="optimise"' in page and "What won" in page
    assert (out / "figures" / "optimise_progress.png").stat().st_size > 0
    assert cli.main(["report", str(out)]) == 0  # the page is rebuilt from what is stored


def test_verification_runs_on_seeds_the_search_never_used(searched):
    config, out = searched
    cfg = load_config(config)
    study = open_study(out, cfg, 0)
    searched_seeds = {r["seed"] for r in study.user_attrs["baseline"]}
    verified = pd.read_csv(out / "verification.csv")
    fresh = set(verified.seed)
    assert len(searched_seeds) == 3 and len(fresh) == 4
    assert not fresh & searched_seeds
    # Every verified candidate ran on the same fresh seeds as the organisation in place.
    for _, runs in verified.groupby("candidate"):
        assert set(runs.seed) == fresh
    summary = json.loads((out / "optimise.json").read_text())
    assert set(summary["winner"]["seeds"]) == fresh


def _continuous(tmp_path: Path) -> Path:
    """A lever searched on a continuous scale, so that trials are distinct candidates."""
    lever = {"path": "model.staff.pm_hours_per_day", "low": 4.0, "high": 8.0}
    return write(
        tmp_path,
        levers=[lever],
        objective={"kpi": "mean_response_hours"},
        constraints=[],
        replications=2,
        verification={"top": 1, "replications": 2},
    )


def test_a_second_session_continues_without_redoing_finished_trials(tmp_path):
    config, out = _continuous(tmp_path), tmp_path / "out"
    first = search(load_config(config, ["optimise.n_trials=3"]), out, executor="sequential")
    assert (first.trials, first.evaluated) == (3, 3)
    before = {t.number: (t.params, t.datetime_complete) for t in _study(config, out).trials}
    second = search(load_config(config, ["optimise.n_trials=5"]), out, executor="sequential")
    assert (second.trials, second.evaluated) == (5, 2)
    assert second.runs <= 2 * 2  # two candidates x two replications; the baseline is stored
    after = {t.number: (t.params, t.datetime_complete) for t in _study(config, out).trials}
    assert {n: after[n] for n in before} == before
    assert len(pd.read_csv(out / "trials.csv")) == 5


def test_a_trial_left_running_by_a_killed_session_is_asked_again(tmp_path):
    config, out = _continuous(tmp_path), tmp_path / "out"
    search(load_config(config, ["optimise.n_trials=2"]), out, executor="sequential")
    study = _study(config, out)
    orphan = study.ask()  # as a session killed mid-trial leaves it
    orphan.suggest_float("model.staff.pm_hours_per_day", 4.0, 8.0)
    notices = []
    result = search(
        load_config(config, ["optimise.n_trials=3"]), out, executor="sequential",
        notify=notices.append,
    )  # fmt: skip
    assert result.trials == 3 and result.evaluated == 1
    assert any("asked again" in n for n in notices)
    states = [t.state.name for t in _study(config, out).trials]
    assert states.count("FAIL") == 1 and states.count("COMPLETE") == 3


def _study(config: Path, out: Path):
    return open_study(out, load_config(config), 0)


def error_line(capsys, argv: list[str]) -> str:
    status = cli.main(argv)
    captured = capsys.readouterr()
    assert status == 2, (status, captured.err)
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    return lines[0]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"objective": {"kpi": "profit"}}, "unknown KPI 'profit'"),
        ({"constraints": [{"kpi": "p99_response", "at_most": 8}]}, "unknown KPI 'p99_response'"),
        ({"constraints": [{"kpi": "nothing_*", "at_most": 1}]}, "unknown KPI 'nothing_*'"),
        ({"levers": [{"path": "model.staff.bosses", "low": 1, "high": 3}]}, "model.staff.bosses"),
        ({"levers": [{"path": LEVER, "low": 1, "high": 500}]}, "high 500 is outside"),
        ({"levers": [{"path": "model.design", "choices": ["matrix"]}]}, "matrix"),
        ({"robust": {"samples": 3}}, "optimise.robust: no uncertainties"),
        (
            {
                "robust": {
                    "uncertainties": [
                        {"path": "model.market.growth_per_year", "low": 0.0, "high": 9.0}
                    ]
                }
            },
            "outside the parameter's declared range",
        ),
    ],
    ids=[
        "objective-kpi",
        "constraint-kpi",
        "pattern",
        "not-a-parameter",
        "bounds",
        "design",
        "robust-without-uncertainties",
        "uncertainty-bounds",
    ],
)
def test_bad_input_is_one_line_naming_it(tmp_path, capsys, changes, named):
    config, out = write(tmp_path, **changes), tmp_path / "out"
    line = error_line(capsys, ["optimise", str(config), "--out", str(out)])
    assert named in line
    assert not out.exists()  # refused before anything was written


def test_no_candidate_meeting_the_constraints_is_said_not_an_error(tmp_path, capsys):
    config = write(
        tmp_path,
        constraints=[{"kpi": "mean_response_hours", "at_most": 0.2}],  # below any service time
        n_trials=4,
        verification={"top": 1, "replications": 2},
    )
    out = tmp_path / "out"
    assert cli.main(["optimise", str(config), "--out", str(out), "--executor", "sequential"]) == 0
    assert "0 meet every constraint" in capsys.readouterr().out
    assert not pd.read_csv(out / "trials.csv").constraints_met.any()
    page = (out / "report.html").read_text()
    assert "No candidate met every constraint" in page and 'data-feasible="0"' in page
    assert cli.main(["validate", str(out / "best.yaml")]) == 0  # the closest, ready to run


def test_a_second_optimise_on_the_same_out_refuses_and_sigterm_keeps_trials(tmp_path, capsys):
    config = _continuous(tmp_path)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = ["-m", "salesim", "optimise", str(config), "--out", str(out), "--workers", "1"]
    first = subprocess.Popen(
        [sys.executable, *argv, "--n-trials", "100000"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        until(lambda: (out / ".salesim.lock.json").exists(), 60, "the first to hold the lock")
        line = error_line(capsys, ["optimise", str(config), "--out", str(out)])
        assert f"in use by salesim optimise (PID {first.pid} on " in line
        until(lambda: _finished(out) >= 2, 120, "two finished trials")
        workers = psutil.Process(first.pid).children(recursive=True)
        assert workers  # the pool's processes
    finally:
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=60)
    assert first.returncode == 143, err
    assert "trials kept" in err and "Traceback" not in err
    until(lambda: not any(_alive(p) for p in workers), 2, "the workers to stop")
    kept = pd.read_csv(out / "trials.csv")
    assert len(kept) >= 2
    assert cli.main(["report", str(out)]) == 0
    assert "stopped before it finished" in (out / "report.html").read_text()
    # Free again, and it continues from the kept trials (n_trials below them: verify only).
    assert cli.main(["optimise", str(config), "--out", str(out), "--n-trials", "1"]) == 0
    assert (out / "best.yaml").exists()


def _alive(process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _finished(out: Path) -> int:
    """Complete trials in the study, read from its SQLite file without touching it."""
    import sqlite3

    db = out / DB_FILE
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            rows = con.execute("SELECT count(*) FROM trials WHERE state = 'COMPLETE'").fetchall()
    except sqlite3.OperationalError:  # the first session is still creating its tables
        return 0
    return int(rows[0][0])


def test_robust_mode_optimises_the_worst_regret_over_an_lhs_sample(tmp_path):
    uncertain = {"path": "model.requests.needs_per_customer_year", "low": 14.0, "high": 20.0}
    config = write(
        tmp_path,
        objective={"kpi": "mean_response_hours"},
        constraints=[],
        n_trials=3,
        replications=2,
        robust={"samples": 3, "measure": "worst_regret", "uncertainties": [uncertain]},
        verification={"top": 2, "replications": 2},
    )
    out = tmp_path / "out"
    result = search(load_config(config), out, executor="sequential")
    points = result.summary["points"]
    rates = [p[uncertain["path"]] for p in points]
    assert len(points) == 3 and all(14.0 <= r <= 20.0 for r in rates)
    assert len({int((r - 14.0) // 2) for r in rates}) == 3  # one point in each third (LHS)
    assert "worst_regret_mean_response_hours" in pd.read_csv(out / "trials.csv")
    # The verified regret is the largest shortfall against the organisation in place at any
    # point, from the fresh runs themselves.
    runs = pd.read_csv(out / "verification.csv")
    per_point = runs.groupby(["candidate", "point"]).mean_response_hours.mean().unstack()
    for v in result.summary["verified"]:
        regret = (per_point.loc[str(v["trial"])] - per_point.loc["baseline"]).max()
        assert v["objective"][0] == pytest.approx(regret)
        assert set(runs[runs.candidate == str(v["trial"])].point) == {0, 1, 2}


def test_two_objectives_give_a_pareto_front_over_designs(tmp_path):
    config = write(
        tmp_path,
        levers=[
            {"path": "model.design", "choices": ["product", "customer_manager"]},
            {"path": LEVER, "low": 2, "high": 6},
        ],
        objective=None,
        objectives=[{"kpi": "staff_cost_product_manager"}, {"kpi": "mean_response_hours"}],
        constraints=[],
        n_trials=6,
        replications=2,
        verification={"top": 3, "replications": 2},
    )
    out = tmp_path / "out"
    result = search(load_config(config), out, executor="sequential")
    assert result.summary["sampler"] == "nsga2"
    trials = pd.read_csv(out / "trials.csv")
    assert set(trials["model.design"]) <= {"product", "customer_manager"}
    both = trials[["staff_cost_product_manager", "mean_response_hours"]].to_numpy()
    for v in result.summary["verified"]:  # each verified one is on the search's front
        mine = both[trials.trial.to_numpy() == v["trial"]][0]
        dominated = ((both <= mine).all(axis=1) & (both < mine).any(axis=1)).any()
        assert not dominated, v
    from salesim.report.optimise import build_optimise_report

    build_optimise_report(out)
    assert (out / "figures" / "optimise_pareto.png").stat().st_size > 0


def test_the_shipped_example_runs_shrunk(tmp_path, capsys):
    """configs/optimise_staffing.yaml end to end, on a small world and few trials."""
    config = Path(__file__).resolve().parents[2] / "configs" / "optimise_staffing.yaml"
    small = [
        "model.horizon_days=42",
        "model.population.customers=150",
        "optimise.replications=1",
        "optimise.verification.replications=2",
        "optimise.verification.top=1",
    ]
    sets = [arg for pair in small for arg in ("--set", pair)]
    out = tmp_path / "out"
    argv = ["optimise", str(config), "--out", str(out), "--n-trials", "3", *sets]
    assert cli.main([*argv, "--executor", "sequential"]) == 0
    assert len(pd.read_csv(out / "trials.csv")) >= 1
    assert cli.main(["validate", str(out / "best.yaml")]) == 0


def test_a_candidate_over_the_head_count_cap_is_not_run(tmp_path):
    # 1 customer manager, 1 regional manager, 3 planners and c PMs: c + 5 people.
    config = write(
        tmp_path,
        levers=[{"path": LEVER, "low": 4, "high": 6}],
        head_count_cap=9,
        n_trials=5,
        replications=1,
        verification={"top": 1, "replications": 2},
    )
    out = tmp_path / "out"
    result = search(load_config(config), out, executor="sequential")
    trials = pd.read_csv(out / "trials.csv").set_index(LEVER)
    over = trials[trials.head_count > 9]
    assert len(over) and (over.status == "over head-count cap, not run").all()
    assert over.staff_cost_product_manager.isna().all() and not over.constraints_met.any()
    assert (trials[trials.head_count <= 9].status == "evaluated").all()
    assert result.summary["winner"]["values"] == {LEVER: 4}


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ({"notes.txt": "mine"}, "holds files but no salesim manifest"),
        ({"manifest.json": '{"status": "complete"}'}, "holds a salesim study, not an optimisation"),
    ],
    ids=["your-files", "a-run-study"],
)
def test_an_out_that_is_not_this_optimisation_is_refused(tmp_path, capsys, content, named):
    config, out = write(tmp_path), tmp_path / "out"
    out.mkdir()
    for name, text in content.items():
        (out / name).write_text(text)
    line = error_line(capsys, ["optimise", str(config), "--out", str(out)])
    assert named in line
    left = sorted(p.name for p in out.iterdir() if p.name != ".salesim.lock")  # the lock's file
    assert left == sorted(content)  # nothing else added, nothing of theirs touched


def test_another_config_on_the_same_out_is_refused(tmp_path, capsys):
    config, out = _continuous(tmp_path), tmp_path / "out"
    search(load_config(config, ["optimise.n_trials=2"]), out, executor="sequential")
    argv = ["optimise", str(config), "--out", str(out), "--executor", "sequential"]
    line = error_line(capsys, [*argv, "--set", "optimise.replications=3"])
    assert "holds an optimisation of another config" in line
    assert cli.main([*argv, "--n-trials", "3"]) == 0  # more trials of the same one: continues


def test_robust_mode_takes_the_sweep_uncertainties_by_default(tmp_path):
    from salesim.experiments.optimise_spec import uncertainties

    config = write(tmp_path, robust={"samples": 2})
    data = yaml.safe_load(config.read_text())
    data["experiment"] = {
        "designs": ["customer_manager"],
        "replications": 1,
        "sweep": {
            "method": "lhs",
            "samples": 2,
            "parameters": [
                {"path": LEVER, "role": "lever", "bounds": {"low": 1, "high": 3}},
                {
                    "path": "model.requests.needs_per_customer_year",
                    "role": "uncertainty",
                    "bounds": {"low": 15.0, "high": 20.0},
                },
            ],
        },
    }
    config.write_text(yaml.safe_dump(data))
    found = uncertainties(load_config(config))
    assert [(u.path, u.low, u.high) for u in found] == [
        ("model.requests.needs_per_customer_year", 15.0, 20.0)
    ]
