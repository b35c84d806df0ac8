"""The README's two commands: exactly two, and the main one works (shrunk to run in seconds)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.strip().splitlines()]


def test_readme_opens_with_the_two_commands():
    assert readme_commands() == ["make compare", "make test"]
    assert "make test" in (ROOT / ".ci/run").read_text().splitlines()


def test_main_command_writes_a_report(tmp_path):
    """`make compare` on the default study (the switch), shrunk by overrides."""
    out = tmp_path / "out"
    small = "--set model.horizon_days=126 --set model.population.customers=150 --replications 2"
    cmd = [*readme_commands()[0].split(), f"OUT={out}", f"ARGS={small}"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = (out / "report.html").read_text()
    for design in ("product", "customer_manager", "three_in_one"):
        assert design in report
    assert "Retention" in report and "paired 95% CI" in report
    assert report.index('<section id="switch">') < report.index('<section id="verdict">')
    assert 'data-candidate="customer_manager"' in report
    runs = len(pd.read_parquet(out / "runs.parquet"))
    assert runs == 3 * 4 * 2  # stay and two candidates, four transition scenarios
    # Again: the finished study is recognised, not re-run, and its report rebuilt.
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert len(pd.read_parquet(out / "runs.parquet")) == runs
