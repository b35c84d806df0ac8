"""`salesim run`: scenarios from the command line, "nothing to run", progress that is honest."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from tqdm import tqdm

from salesim import cli, load_config
from salesim.experiments.driver import _skip
from salesim.model.inputs.outcomes import OUTCOMES

ROOT = Path(__file__).resolve().parents[1]
SMALL = [
    "--set", "model.horizon_days=42",
    "--set", "model.population.customers=150",
    "--replications", "2",
    "--executor", "sequential",
]  # fmt: skip
HIRE5 = ["--scenario", "hire5", "model.staff.sales_staff=35"]
#: Bad --scenario arguments and the start of the one line each gets.
BAD_SCENARIOS = [
    (["hire5", "model.staff.sales_stuff=35"], "--scenario hire5: 'model.staff.sales_stuff'"),
    (["hire5", "model.staff.sales_staff=0"], "--scenario hire5: model.staff.sales_staff:"),
    (["hire5", "staff.sales_staff=35"], "--scenario hire5: 'staff.sales_staff' names no"),
    (["hire5", "model.staff.sales_staff"], "--scenario hire5: 'model.staff.sales_staff' is"),
    (["hire5"], "--scenario hire5: needs at least one KEY=VALUE"),
    (["model.staff.sales_staff=35"], "--scenario model.staff.sales_staff=35: give the"),
    (["base", "model.staff.sales_staff=35"], "--scenario base: the experiment already has"),
    (
        [
            "hire6cm",
            "model.staff.customer_manager.managers_per_region=12",
            "model.staff.sales_staff=35",
        ],
        "--scenario hire6cm: model.staff.customer_manager.managers_per_region: 12 customer "
        "managers per region x 3 regions = 36 people, but model.staff.sales_staff is 35",
    ),
]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["run", "configs/compare_designs.yaml", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_scenario_from_the_command_line_is_run_and_paired(tmp_path, capsys):
    out = tmp_path / "hire5"
    code, stdout, _ = run(capsys, *HIRE5, "--out", str(out), "--no-report", *SMALL)
    assert code == 0 and stdout.strip() == f"12 runs in {out}"
    runs = pd.read_parquet(out / "runs.parquet")
    assert sorted(runs.scenario.unique()) == ["base", "hire5"]
    config = json.loads((out / "manifest.json").read_text())["config"]
    assert config["experiment"]["scenarios"] == {"hire5": {"model.staff.sales_staff": 35}}
    # The override reached the model: 35 people share the same demand (same seeds) as 30.
    util = runs.pivot_table(
        index=["design", "replication"], columns="scenario", values="utilisation_sales"
    )
    assert (util["hire5"] < util["base"]).all()


def test_hiring_for_one_design_changes_that_design_only(tmp_path, capsys):
    """12 customer managers per region (36) against the base's 30: the other designs' runs are
    the base's to the last bit (common random numbers; the start world is the product
    organisation's, which the customer-manager head-count does not touch)."""
    out = tmp_path / "hire6cm"
    hire = ["--scenario", "hire6cm", "model.staff.customer_manager.managers_per_region=12"]
    code, _, _ = run(capsys, *hire, "--out", str(out), "--no-report", *SMALL)
    assert code == 0
    runs = pd.read_parquet(out / "runs.parquet")
    kpis = [c for c in runs.columns if c in OUTCOMES]
    base = runs[runs.scenario == "base"].set_index(["design", "replication"])[kpis]
    hired = runs[runs.scenario == "hire6cm"].set_index(["design", "replication"])[kpis]
    for design in ("product", "three_in_one"):
        pd.testing.assert_frame_equal(hired.loc[design], base.loc[design])
    assert (hired.loc["customer_manager", "front_line_staff"] == 36).all()
    assert (base.loc["customer_manager", "front_line_staff"] == 30).all()
    assert (
        hired.loc["customer_manager", "staff_cost_sales"]
        > base.loc["customer_manager", "staff_cost_sales"]
    ).all()


def test_validate_takes_every_option_run_takes():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))

    def options(command: str) -> set[str]:
        return {o for a in sub.choices[command]._actions for o in a.option_strings}

    assert options("run") <= options("validate")
    assert options("validate") - options("run") == {"--estimate"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        *[(["--scenario", *scenario], message) for scenario, message in BAD_SCENARIOS],
        (["--replications", "0"], "--replications: must be at least 1, got 0"),
        (["--workers", "0"], "--workers: must be at least 1, got 0"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler: only with --executor dask"),
        (
            ["--executor", "dask", "--scheduler", "nowhere"],
            "--scheduler 'nowhere': not a scheduler address",
        ),
        (["--executor", "threads"], "argument --executor: invalid choice: 'threads'"),
        (["--max-runs", "10"], "configs/compare_designs.yaml: experiment: plans 60 runs"),
    ],
)
def test_validate_refuses_what_run_refuses_in_the_same_words(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    common = ["configs/compare_designs.yaml", *args, "--out", str(out)]
    results = []
    for command in ("validate", "run"):
        code = cli.main([command, *common])
        results.append((code, capsys.readouterr().err))
    assert results[0] == results[1]
    code, err = results[0]
    assert code == 2 and err.startswith(f"salesim: error: {message}") and err.count("\n") == 1
    assert not out.exists()


def test_validate_with_runs_options_counts_the_runs_run_would_plan(capsys):
    hire = ["--scenario", "hire6cm", "model.staff.customer_manager.managers_per_region=12"]
    args = ["configs/compare_designs.yaml", *hire, "--replications", "3", "--out", "results/x"]
    assert cli.main(["validate", *args, "--executor", "sequential", "--resume"]) == 0
    assert capsys.readouterr().out == (
        "configs/compare_designs.yaml: valid (model and experiment; 18 runs at most)\n"
    )
    assert not Path("results/x").exists()


def test_a_finished_study_says_nothing_was_run(tmp_path, capsys):
    out = tmp_path / "done"
    assert run(capsys, *HIRE5, "--out", str(out), "--no-report", *SMALL)[0] == 0
    before = (out / "runs.parquet").stat().st_mtime_ns
    code, stdout, stderr = run(capsys, *HIRE5, "--out", str(out), "--no-report", *SMALL)
    assert code == 0
    assert stderr == f"{out}: already complete - nothing to run\n"
    assert stdout.strip() == f"12 runs in {out}"
    assert len(pd.read_parquet(out / "runs.parquet")) == 12
    assert (out / "runs.parquet").stat().st_mtime_ns >= before


@pytest.mark.parametrize(("scenario", "message"), BAD_SCENARIOS)
def test_a_bad_scenario_is_one_line_naming_it_and_nothing_is_written(
    tmp_path, capsys, scenario, message
):
    out = tmp_path / "bad"
    code, stdout, stderr = run(capsys, "--scenario", *scenario, "--out", str(out), *SMALL)
    assert code == 2 and stdout == ""
    assert stderr.startswith(f"salesim: error: {message}") and stderr.count("\n") == 1
    assert not out.exists()


def test_a_scenario_name_the_config_already_uses_is_refused(tmp_path, capsys):
    code = cli.main(
        ["run", "configs/surge.yaml", "--scenario", "surge", "model.market.surge=true"]
        + ["--out", str(tmp_path / "x"), *SMALL]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--scenario surge: the experiment already has a scenario" in err


def test_command_line_scenarios_validate_like_the_files(tmp_path):
    """The same scenario written in a file and given on the command line: the same config."""
    path = tmp_path / "hire5.yaml"
    base = ROOT / "configs/compare_designs.yaml"
    path.write_text(
        f"extends: {base}\nexperiment:\n  scenarios:\n    hire5: {{model.staff.sales_staff: 35}}\n"
    )
    from_file = load_config(path)
    args = cli.build_parser().parse_args(["run", str(base), *HIRE5])
    assert cli.study_options(args) == from_file


def test_resumed_runs_do_not_inflate_the_rate():
    """Runs an earlier session stored count as done but not as speed, so the ETA is honest."""
    bar = tqdm(total=100, file=io.StringIO(), disable=False, mininterval=0, smoothing=0)
    _skip(bar, 90)
    bar.update(1)
    assert bar.n == 91
    # tqdm's rate (and so its ETA) is (n - initial) / elapsed: the 90 stored runs are outside it.
    assert bar.format_dict["n"] - bar.format_dict["initial"] == 1
    bar.close()


def test_report_building_shows_progress_only_when_asked(tmp_path, capsys):
    from salesim.report.build import build_report

    out = tmp_path / "report"
    assert run(capsys, "--out", str(out), "--no-report", *SMALL)[0] == 0
    build_report(out, progress=True)
    assert "report" in capsys.readouterr().err
    build_report(out, progress=False)
    assert capsys.readouterr().err == ""


def test_calibration_shows_evaluations_and_best_loss_only_when_asked(capsys):
    from salesim.experiments.calibration import CalibrationSpec, calibrate

    base = load_config(None, {"model.horizon_days": 21, "model.population.customers": 100})
    spec = CalibrationSpec.model_validate(
        {
            "targets": {"retention_rate": {"value": 0.95, "tolerance": 0.05}},
            "parameters": [{"path": "model.churn.intercept", "low": -5, "high": -2}],
            "replications": 1,
            "max_evaluations": 2,
        }
    )
    fit = calibrate(base, spec, progress=True)
    err = capsys.readouterr().err
    assert "calibrating" in err and "eval" in err and "best_loss" in err
    assert f"/{spec.max_evaluations + 1}" in err  # of the most it may take, hence an ETA
    assert fit.evaluations >= 1
    calibrate(base, spec, progress=False)
    assert capsys.readouterr().err == ""


def test_run_ends_with_the_verdicts_headline(tmp_path, capsys):
    out = tmp_path / "three"
    code, stdout, _ = run(capsys, "--out", str(out), *SMALL, "--replications", "3")
    assert code == 0
    lines = stdout.splitlines()
    assert lines[0].startswith(f"9 runs in {out}; report ")
    # One line per candidate: its label, profit with the period and its verdict, what is worse.
    assert lines[1].startswith(
        "Customer-manager organisation vs Product organisation: operating profit over 2 "
    )
    assert lines[2].startswith(
        "Three-in-one organisation vs Product organisation: operating profit over 2 "
    )
    for line in lines[1:3]:
        assert " CU ± " in line and ("; worse on " in line or "; no other KPI is worse." in line)
    # The same lines as the report's, and then its warnings.
    assert stdout.endswith((out / "headline.txt").read_text())
    warned = [x for x in lines[3:] if x.startswith("Warning: ")]
    assert len(warned) == len(lines) - 3
