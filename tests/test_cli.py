"""`salesim simulate`: the KPI table, JSON output, seeds, designs and progress on a TTY only."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from salesim import SalesModel, cli, load_config
from salesim.model import sales_model
from salesim.model.kpis import RUN
from salesim.report import units

SMALL = "model: {horizon_days: 42, population: {customers: 150}, staff: {sales_staff: 6}}\n"


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def salesim(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "salesim", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done


def simulate_json(*args: str) -> dict:
    done = salesim("simulate", *args, "--json")
    assert done.stderr == ""  # not a TTY: no progress
    return json.loads(done.stdout)


def test_table_lists_every_kpi_aligned(small):
    done = salesim("simulate", str(small), "--seed", "3")
    assert done.stderr == ""  # not a TTY: no progress
    header, *rows = done.stdout.splitlines()
    assert header == f"design customer_manager, seed 3, 42 business days, {small}"
    names = [row.split()[0] for row in rows]
    assert names == list(RUN)
    assert "retention_rate" in names and "direct_sales_rate" in names
    # Two aligned columns: values right-aligned to one column.
    assert len({len(row) for row in rows}) == 1
    table = {row.split()[0]: row.split(None, 1)[1].strip() for row in rows}
    assert table["retention_rate"].endswith("%")
    assert table["mean_response_hours"].endswith(" h")
    assert table["revenue"].endswith(" CU")  # money with its currency label, as in the report
    assert table["utilisation_service_outlet"] == "–"  # no outlets under customer_manager


def test_json_has_every_kpi_and_the_seed(small):
    out = simulate_json(str(small), "--seed", "11")
    assert out["seed"] == 11
    assert out["design"] == "customer_manager"
    assert out["config"] == str(small)
    assert list(out["kpis"]) == list(RUN)
    assert out["kpis"]["utilisation_service_outlet"] is None  # NaN -> null
    assert 0 <= out["kpis"]["retention_rate"] <= 1


def test_same_seed_same_json_and_designs_differ(small):
    first = simulate_json(str(small), "--seed", "5")
    again = simulate_json(str(small), "--seed", "5")
    assert first == again
    product = simulate_json(str(small), "--seed", "5", "--design", "product")
    assert product["design"] == "product"
    assert product["kpis"]["contacts_per_need"] != first["kpis"]["contacts_per_need"]


def test_set_and_days_are_applied(small, capsys):
    assert cli.main(["simulate", str(small), "--json", "--days", "21"]) == 0
    short = json.loads(capsys.readouterr().out)
    args = ["simulate", str(small), "--json", "--set", "model.staff.sales_staff=12"]
    assert cli.main(args) == 0
    more_staff = json.loads(capsys.readouterr().out)
    assert cli.main(["simulate", str(small), "--json"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert short["kpis"]["requests"] < default["kpis"]["requests"]
    assert more_staff["kpis"] != default["kpis"]


def test_progress_on_a_tty_and_same_result_as_one_run(small, capsys, monkeypatch):
    monkeypatch.setattr(cli, "stderr_is_tty", lambda: True)
    assert cli.main(["simulate", str(small), "--json", "--seed", "9"]) == 0
    captured = capsys.readouterr()
    assert "simulating: 100% (month 2/2)" in captured.err
    assert captured.err.endswith("\r")  # the progress line is erased, not left behind
    printed = json.loads(captured.out)["kpis"]
    # Running month by month (for the progress) gives the same as one SalesModel.run().
    expected = SalesModel(load_config(small).model, rng=9).run().kpis()
    for name, value in expected.items():
        if math.isnan(value):
            assert printed[name] is None
        else:
            assert printed[name] == value


def test_in_process_errors_and_interrupt(small, capsys, monkeypatch):
    assert cli.main(["simulate", str(small), "--seed", "x"]) == 2
    assert capsys.readouterr().err == "salesim: error: argument --seed: invalid int value: 'x'\n"
    assert cli.main(["simulate", str(small), "--design", "matrix"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "customer_manager, product, three_in_one" in err

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sales_model, "simulate", interrupted)
    assert cli.main(["simulate", str(small)]) == 130
    assert capsys.readouterr().err == "salesim: interrupted\n"


def test_help_exits_0(capsys):
    assert cli.main(["--help"]) == 0
    assert "simulate" in capsys.readouterr().out
    assert cli.main(["simulate", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--design", "--seed", "--set", "--json", "--days", "three_in_one"):
        assert option in text


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("retention_rate", 0.9466, "94.7%"),
        ("utilisation_sales", 0.18, "18.0%"),
        ("mean_response_hours", 1.549, "1.55 h"),
        ("revenue", 16362761.4, "16.4 M CU"),
        ("requests", 378.0, "378"),
        ("satisfaction", 0.705, "0.705"),
        ("utilisation_service_outlet", float("nan"), "–"),
    ],
)
def test_the_kpi_table_writes_values_as_the_report_does(name, value, shown):
    """One formatter: a KPI in `salesim simulate`'s table reads as in the report and the page."""
    assert units.value(name, value) == shown
    assert cli.kpi_table({name: value}).endswith(f"  {shown}")


def test_progress_counts_months(capsys):
    progress = cli.Progress(days=50, days_per_month=21, enabled=True)
    for done in (0, 21, 42, 50):
        progress.update(done)
    progress.close()
    err = capsys.readouterr().err
    for text in ("  0% (month 0/3)", " 42% (month 1/3)", " 84% (month 2/3)", "100% (month 3/3)"):
        assert f"simulating: {text}" in err
    quiet = cli.Progress(days=50, days_per_month=21, enabled=False)
    quiet.update(21)
    quiet.close()
    assert capsys.readouterr().err == ""
