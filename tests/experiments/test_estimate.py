"""`salesim validate --estimate`: a few of the study's own runs, timed, scaled to its plan."""

from __future__ import annotations

import pytest

from salesim import cli, load_config
from salesim.experiments import estimate as est
from salesim.experiments import runner

STUDY = """\
model: {horizon_days: 42, population: {customers: 150}, staff: {sales_staff: 6}}
experiment:
  designs: [product, customer_manager]
  baseline: product
  replications: 2
  sweep:
    method: grid
    parameters:
      - {path: model.staff.pm_hours_per_day, role: lever, values: [2, 3, 4, 5, 6]}
"""


@pytest.fixture
def study(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(STUDY)
    return path


@pytest.fixture
def ran(monkeypatch):
    """The run ids ``run_one`` is called with (the real runs still run)."""
    seen: list[str] = []
    real = runner.run_one

    def recording(cfg, run):
        seen.append(run.run_id)
        return real(cfg, run)

    monkeypatch.setattr(runner, "run_one", recording)
    return seen


@pytest.mark.parametrize(
    ("n", "k", "expected"),
    [
        (1, 8, [0]),
        (0, 3, []),
        (10, 2, [0, 9]),
        (9, 5, [0, 8, 4, 2, 6]),  # ends, middle, quarters
        (4, 10, [0, 3, 2, 1]),  # every index once when k >= n
    ],
)
def test_spread_spans_the_range_from_the_first_picks(n, k, expected):
    assert est.spread(n, k) == expected


def test_whole_cells_from_both_ends_of_the_plan_are_timed(study, ran):
    cfg = load_config(study)
    found = est.estimate(cfg, budget=1e9, max_cells=3)
    # 5 points x 2 replications = 10 cells in plan order; the first, the last and the middle.
    assert ran == [
        "p00000-base-product-r00000",
        "p00000-base-customer_manager-r00000",
        "p00004-base-product-r00001",
        "p00004-base-customer_manager-r00001",
        "p00002-base-product-r00000",
        "p00002-base-customer_manager-r00000",
    ]
    assert found.planned == 20 and found.timed == 6 and not found.failed
    assert found.per_run > 0
    assert found.study_seconds(2) == pytest.approx(found.study_seconds(1) / 2)
    assert found.study_seconds(1) == pytest.approx(20 * found.seconds / 6)


def test_the_budget_stops_after_the_first_cell(study, ran):
    found = est.estimate(load_config(study), budget=0.0)
    assert ran == ["p00000-base-product-r00000", "p00000-base-customer_manager-r00000"]
    assert found.timed == 2


def test_the_estimate_is_printed_for_one_and_n_workers(study, capsys):
    assert cli.main(["validate", str(study), "--estimate", "--workers", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{study}: valid (model and experiment; 20 runs at most)"
    # Eight of the ten cells (the most timed), both designs each: far within the budget.
    assert lines[1].startswith("estimate: 16 of its runs, spread over the plan, took ")
    assert "load average" in lines[1]
    assert lines[2].startswith("  20 runs: ")
    assert " on 1 worker, " in lines[2] and " on 3 workers if they share it perfectly" in lines[2]


def test_a_terminal_is_told_what_the_wait_is(study, capsys, monkeypatch):
    monkeypatch.setattr(cli, "stderr_is_tty", lambda: True)
    assert cli.main(["validate", str(study), "--estimate"]) == 0
    assert capsys.readouterr().err == "salesim: timing a few of its runs (about 10 s)...\n"


def test_adaptive_replications_count_at_most(study, capsys):
    precise = study.read_text().replace(
        "replications: 2", "precision: {initial: 2, step: 2, maximum: 4}"
    )
    study.write_text(precise)
    assert cli.main(["validate", str(study), "--estimate"]) == 0
    assert "\n  40 runs at most: " in capsys.readouterr().out


def test_a_model_config_times_one_replication(tmp_path, capsys):
    path = tmp_path / "model.yaml"
    path.write_text(STUDY.split("experiment:")[0])
    assert cli.main(["validate", str(path), "--estimate"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{path}: valid (model)"
    assert out[1].startswith("estimate: one replication took ") and out[1].endswith(" s here")


def test_a_failing_run_is_a_warning_and_exit_status_1(study, capsys, monkeypatch):
    def failing(cfg, run):
        return {"status": "failed", "error": "Traceback ...\nValueError: no staff left\n"}, {}

    monkeypatch.setattr(runner, "run_one", failing)
    assert cli.main(["validate", str(study), "--estimate"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "salesim: warning: run p00000-base-product-r00000 failed: ValueError: no staff left "
        "(15 more)\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0"], "salesim: error: --workers: must be at least 1, got 0\n"),
        (["--estimate", "--workers", "0"], "must be at least 1, got 0"),
    ],
)
def test_bad_workers_are_one_line(study, capsys, args, message):
    assert cli.main(["validate", str(study), *args]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and message in err
