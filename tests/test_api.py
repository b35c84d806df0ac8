"""The Python API: docs/api.md's example runs as written, and a script without a guard stops."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import salesim
from salesim.api import VERDICT_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"model.horizon_days": 42, "model.population.customers": 120}


def _example() -> str:
    text = (ROOT / "docs" / "api.md").read_text()
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


def test_the_documented_example_runs(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(_example().replace("results/api_example", str(tmp_path / "out")))
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(
        "Customer-manager organisation vs Product organisation: operating profit"
    )
    assert (tmp_path / "out" / "report.html").is_file()
    assert (tmp_path / "out" / "summary.xlsx").is_file()


def test_run_study_returns_the_tables_as_dataframes(tmp_path):
    study = salesim.run_study(
        "configs/compare_designs.yaml",
        tmp_path / "s",
        overrides=SMALL,
        replications=2,
        executor="sequential",
        report=False,
    )
    assert len(study.runs) == 6 and set(study.runs.design) == {
        "product", "customer_manager", "three_in_one"
    }  # fmt: skip
    assert len(study.timeseries) == 6 * 2  # two months a run
    summary = pd.read_csv(tmp_path / "s" / "summary.csv")
    pd.testing.assert_frame_equal(
        study.summary.reset_index(drop=True)[summary.columns], summary, check_dtype=False
    )
    v = study.verdict
    assert list(v.columns) == VERDICT_COLUMNS
    assert set(v.design) == {"customer_manager", "three_in_one"}
    row = v[(v.design == "customer_manager") & (v.kpi == "operating_profit")].iloc[0]
    cell = summary[(summary.design == "customer_manager") & (summary.metric == "operating_profit")]
    assert row.difference == pytest.approx(cell.diff_mean.iloc[0])
    assert row.level - row.baseline_level == pytest.approx(row.difference, rel=1e-9)
    assert study.report().name == "report.html" and study.headline


def test_bad_input_is_one_config_error_naming_the_field(tmp_path):
    with pytest.raises(salesim.ConfigError, match=r"model\.staff\.sales_stuff"):
        salesim.run_study("configs/compare_designs.yaml", tmp_path / "x",
                          overrides={"model.staff.sales_stuff": 3})  # fmt: skip
    assert not (tmp_path / "x").exists()


def test_a_script_without_a_main_guard_stops_at_once_with_one_line(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import salesim\n"
        f"salesim.run_study('configs/compare_designs.yaml', {str(tmp_path / 'o')!r}, "
        f"overrides={SMALL!r}, replications=1, workers=2)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and 'if __name__ == "__main__":' in lines[0], done.stderr
