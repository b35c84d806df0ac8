"""The README's two commands: exactly two, and the main one works (on a small config)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.strip().splitlines()]


def test_readme_opens_with_the_two_commands():
    assert readme_commands() == ["make compare", "make test"]
    assert "make test" in (ROOT / ".ci/run").read_text().splitlines()


def test_main_command_writes_a_report(tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text(
        "model:\n  horizon_days: 42\n  population: {customers: 120}\n  staff: {sales_staff: 9}\n"
    )
    out = tmp_path / "out"
    cmd = readme_commands()[0].split() + [f"CONFIG={config}", "SEEDS=2", f"OUT={out}"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = (out / "report.md").read_text()
    for design in ("product", "customer_manager", "three_in_one"):
        assert design in report
    assert "retention_rate" in report and "Paired difference" in report
    runs = (out / "runs.csv").read_text().splitlines()
    assert len(runs) == 1 + 3 * 2
