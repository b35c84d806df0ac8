"""The experiment engine: executors agree, failures are data, storage refuses to mix studies."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from salesim import ConfigError, load_config, register
from salesim.experiments.driver import run_experiment
from salesim.experiments.plan import runs_for, seed_of, sweep_plan
from salesim.experiments.stats import half_width, summarise
from salesim.model.designs import CustomerManagerDesign
from salesim.model.inputs.registry import remove_design

TINY_MODEL = {
    "model.horizon_days": 42,
    "model.population.customers": 120,
    "model.staff.sales_staff": 9,
}


def tiny(experiment: dict, **model) -> object:
    return load_config(None, {**TINY_MODEL, **model, "experiment": experiment})


EXPERIMENT = {
    "designs": ["product", "customer_manager"],
    "replications": 3,
    "seed": 11,
    "scenarios": {"surge": {"model.market.surge": True, "model.market.surge_start_month": 0}},
    "sweep": {
        "method": "grid",
        "parameters": [
            {"path": "model.staff.desk_hours_per_day", "role": "lever", "values": [5, 7]}
        ],
    },
}


def test_executors_give_identical_results(tmp_path):
    cfg = tiny(EXPERIMENT)
    frames = {}
    for executor in ("sequential", "process", "dask"):
        out = tmp_path / executor
        result = run_experiment(cfg, out, executor=executor, workers=2, progress=False)
        assert result.done == 2 * 2 * 2 * 3 and result.failed == 0
        frames[executor] = (
            pd.read_parquet(out / "runs.parquet"),
            pd.read_parquet(out / "timeseries.parquet"),
        )
    for executor in ("process", "dask"):
        pd.testing.assert_frame_equal(frames["sequential"][0], frames[executor][0])
        pd.testing.assert_frame_equal(frames["sequential"][1], frames[executor][1])
    runs = frames["sequential"][0]
    # Common random numbers: replication i has one seed across designs, scenarios and points.
    assert (runs.groupby("replication").seed.nunique() == 1).all()
    assert sorted(runs.seed.unique()) == [11, 12, 13]
    assert runs["model.staff.desk_hours_per_day"].tolist().count(5) == 12
    months = pd.read_parquet(tmp_path / "sequential" / "timeseries.parquet")
    assert set(months.run_id) == set(runs.run_id) and months.month.max() == 1


def test_a_failing_run_is_recorded_and_the_rest_go_on(tmp_path):
    @register
    class Fragile(CustomerManagerDesign):
        name = "fragile"

        def build_staff(self, model):
            if model.seed % 2:
                raise RuntimeError("no staff today")
            super().build_staff(model)

    try:
        cfg = tiny({"designs": ["customer_manager", "fragile"], "replications": 4, "seed": 0})
        result = run_experiment(cfg, tmp_path / "out", executor="sequential", progress=False)
        runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
        failed = runs[runs.status == "failed"]
        assert result.failed == 2 and list(failed.seed) == [1, 3]
        assert all("RuntimeError: no staff today" in e for e in failed.error)
        assert (
            failed.retention_rate.isna().all()
            and runs[runs.status == "ok"].retention_rate.notna().all()
        )
        manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
        assert manifest["runs"] == {"planned": 8, "done": 8, "failed": 2}
        summary = pd.read_csv(tmp_path / "out" / "summary.csv")
        assert summary[summary.design == "fragile"].n.max() == 2
    finally:
        remove_design("fragile")


def test_confidence_intervals_equal_scipy():
    rng = np.random.default_rng(5)
    x = rng.normal(3, 2, 12)
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert half_width(x) == pytest.approx((hi - lo) / 2, rel=1e-12)
    base, other = rng.normal(5, 1, 10), rng.normal(5.5, 1, 10)
    runs = pd.DataFrame(
        {
            "run_id": range(20),
            "scenario": "base",
            "point": 0,
            "status": "ok",
            "design": ["product"] * 10 + ["customer_manager"] * 10,
            "replication": list(range(10)) * 2,
            "retention_rate": np.r_[base, other],
        }
    )
    cfg = tiny({"designs": ["product", "customer_manager"], "metrics": ["retention_rate"]})
    row = summarise(runs, cfg).set_index("design").loc["customer_manager"]
    ci = stats.ttest_rel(other, base).confidence_interval(0.95)
    assert row.diff_mean == pytest.approx((ci.high + ci.low) / 2, rel=1e-12)
    assert row.diff_ci95_half_width == pytest.approx((ci.high - ci.low) / 2, rel=1e-12)
    assert row.ci95_half_width == pytest.approx(half_width(other))
    assert bool(row.diff_excludes_zero) == (ci.low > 0 or ci.high < 0)


def test_out_directory_is_never_mixed(tmp_path):
    cfg = tiny({"designs": ["product"], "replications": 2})
    out = tmp_path / "study"
    run_experiment(cfg, out, executor="sequential", progress=False)
    before = (out / "runs.parquet").read_bytes()
    other = tiny({"designs": ["product"], "replications": 3})
    with pytest.raises(ConfigError, match="holds a different experiment"):
        run_experiment(other, out, executor="sequential", progress=False)
    assert (out / "runs.parquet").read_bytes() == before
    # The same, complete experiment again: nothing re-run, outputs rebuilt.
    again = run_experiment(cfg, out, executor="sequential", progress=False)
    assert again.done == 2 and (out / "runs.parquet").read_bytes() == before
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="no salesim manifest"):
        run_experiment(cfg, stranger, executor="sequential", progress=False)


def test_adaptive_replications_stop_at_the_target_or_the_maximum(tmp_path):
    loose = {
        "metrics": ["retention_rate"],
        "relative_half_width": 0.5,
        "initial": 3,
        "step": 2,
        "maximum": 9,
    }
    cfg = tiny({"designs": ["product"], "precision": loose})
    assert run_experiment(cfg, tmp_path / "a", executor="sequential", progress=False).done == 3
    tight = {**loose, "relative_half_width": 1e-6}
    cfg = tiny({"designs": ["product"], "precision": tight})
    assert run_experiment(cfg, tmp_path / "b", executor="sequential", progress=False).done == 9


@pytest.mark.parametrize("method", ["lhs", "sobol", "morris"])
def test_sampled_sweeps(method, tmp_path):
    sweep = {
        "method": method,
        "samples": 4 if method != "morris" else 3,
        "parameters": [
            {"path": "model.staff.sales_staff", "role": "lever", "bounds": {"low": 6, "high": 12}},
            {
                "path": "model.competition.pressure",
                "role": "uncertainty",
                "bounds": {"low": 0.1, "high": 0.9},
            },
        ],
    }
    cfg = tiny(
        {
            "designs": ["customer_manager"],
            "replications": 1,
            "sweep": sweep,
            "metrics": ["retention_rate", "mean_response_hours"],
        }
    )
    plan = sweep_plan(cfg.experiment.sweep, seed_of(cfg))
    staff = [p["model.staff.sales_staff"] for p in plan.points]
    assert all(isinstance(s, int) and 6 <= s <= 12 for s in staff)
    assert all(0.1 <= p["model.competition.pressure"] <= 0.9 for p in plan.points)
    assert len(runs_for(cfg, plan, range(1))) == len(plan.points)
    run_experiment(cfg, tmp_path / method, executor="sequential", progress=False)
    sens = tmp_path / method / "sensitivity.csv"
    if method == "lhs":
        assert not sens.exists()
        return
    table = pd.read_csv(sens)
    assert set(table.parameter) == {"model.staff.sales_staff", "model.competition.pressure"}
    assert set(table.role) == {"lever", "uncertainty"}
    wanted = {"S1", "S1_conf", "ST", "ST_conf"} if method == "sobol" else {"mu_star", "sigma"}
    assert wanted <= set(table.columns)
    # The bootstrap CIs come from the experiment's seed: summarising again gives the same table.
    from salesim.experiments.stats import sensitivity

    runs = pd.read_parquet(tmp_path / method / "runs.parquet")
    again = [sensitivity(runs, cfg, plan) for _ in range(2)]
    pd.testing.assert_frame_equal(again[0], again[1])
    assert np.allclose(again[0].filter(like="conf").to_numpy(), table.filter(like="conf"))


def test_shipped_configs_validate():
    from pathlib import Path

    from salesim.experiments.calibration import load_targets

    paths = sorted(Path(__file__).resolve().parents[2].glob("configs/*.yaml"))
    assert len(paths) >= 8
    for path in paths:
        if path.name.startswith("targets"):
            assert load_targets(path).parameters
            continue
        cfg = load_config(path)
        if cfg.model.population.customers_file is None:  # else the file's rows (test_own_data)
            assert cfg.model.population.customers == 1500, path


def test_dask_scheduler_address(tmp_path):
    """`--scheduler ADDRESS`: a cluster started elsewhere (here on 127.0.0.1), same runs."""
    from distributed import LocalCluster

    cfg = tiny({"designs": ["product", "customer_manager"], "replications": 2, "seed": 5})
    run_experiment(cfg, tmp_path / "here", executor="sequential", progress=False)
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        run_experiment(
            cfg,
            tmp_path / "there",
            executor="dask",
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    for table in ("runs.parquet", "timeseries.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "here" / table), pd.read_parquet(tmp_path / "there" / table)
        )


def test_scenario_differences_are_paired_against_the_reference_scenario():
    rng = np.random.default_rng(2)
    base, surge = rng.normal(0.8, 0.05, 6), rng.normal(0.75, 0.05, 6)
    runs = pd.DataFrame(
        {
            "run_id": range(12),
            "point": 0,
            "status": "ok",
            "design": "product",
            "scenario": ["base"] * 6 + ["surge"] * 6,
            "replication": list(range(6)) * 2,
            "retention_rate": np.r_[base, surge],
        }
    )
    cfg = tiny(
        {
            "designs": ["product"],
            "metrics": ["retention_rate"],
            "scenarios": {"surge": {"model.market.surge": True}},
        }
    )
    row = summarise(runs, cfg).set_index("scenario").loc["surge"]
    ci = stats.ttest_rel(surge, base).confidence_interval(0.95)
    assert row.reference_scenario == "base"
    assert row.scenario_diff_mean == pytest.approx((ci.high + ci.low) / 2, rel=1e-12)
    assert row.scenario_diff_ci95_half_width == pytest.approx((ci.high - ci.low) / 2, rel=1e-12)


def test_designs_of_one_replication_share_a_task():
    """Each task holds whole (point, scenario, replication) groups, so the designs of a pair
    start from one steady start computed once; every run is in exactly one task."""
    from salesim.experiments.driver import batch_size, round_batches

    cfg = load_config(
        None,
        {
            "experiment": {
                "designs": ["product", "customer_manager", "three_in_one"],
                "replications": 7,
                "scenarios": {"more": {"model.staff.sales_staff": 35}},
                "sweep": {
                    "method": "grid",
                    "parameters": [
                        {
                            "path": "model.staff.cm_line_skill",
                            "role": "uncertainty",
                            "values": [0.6, 0.8, 1.0],
                        }
                    ],
                },
            }
        },
    )
    plan = sweep_plan(cfg.experiment.sweep, seed_of(cfg))
    runs = runs_for(cfg, plan, range(7))
    tasks = round_batches(cfg, plan, 0, range(7))
    assert sorted(r.run_id for t in tasks.values() for r in t) == sorted(r.run_id for r in runs)
    where = {}
    for name, task in tasks.items():
        assert len(task) >= batch_size(len(runs)) or name == max(tasks)
        for r in task:
            where.setdefault((r.point, r.scenario, r.replication), set()).add(name)
    assert all(len(names) == 1 for names in where.values())
    assert list(tasks) == sorted(tasks)  # names sort in plan order


def _worker_settings():
    import os

    import dask

    return (
        os.environ.get("MALLOC_TRIM_THRESHOLD_"),
        dask.config.get("distributed.worker.profile.enabled"),
        dask.config.get("distributed.admin.tick.interval"),
    )


def test_local_dask_workers_keep_glibcs_mmap_threshold_and_do_not_profile(monkeypatch):
    """Dask sets MALLOC_TRIM_THRESHOLD_ in its workers by default, which makes every large
    numpy array a fresh mmap (thousands of page faults a run); our local cluster leaves it
    unset, turns the statistical profiler off and checks its event loop once a second."""
    from salesim.experiments.runner import make_executor

    # As a cluster of Dask's own defaults leaves it in this process's environment.
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with make_executor("dask", 1) as (pool, _):
        assert pool.submit(_worker_settings).result() == (None, False, "1s")
