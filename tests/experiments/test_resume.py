"""Nothing lost: kill `salesim run` at any moment (SIGKILL or Ctrl-C), resume, same results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from salesim import load_config
from salesim.experiments.driver import run_experiment
from terminal import start_interruptible
from waiting import until

CONFIG = """
name: resumable
model:
  horizon_days: 126
  population: {customers: 300}
  staff: {sales_staff: 9}
experiment:
  designs: [product, customer_manager]
  replications: 24
  seed: 3
"""
TABLES = ("runs.parquet", "timeseries.parquet", "responses.parquet")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The same experiment, uninterrupted, in this process."""
    root = tmp_path_factory.mktemp("reference")
    path = root / "exp.yaml"
    path.write_text(CONFIG)
    run_experiment(load_config(path), root / "out", executor="sequential", progress=False)
    return path, {t: pd.read_parquet(root / "out" / t) for t in TABLES}


def command(config: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "salesim", "run", str(config), "--out", str(out),
            "--executor", "process", "--workers", "2", "--no-report", *extra]  # fmt: skip


def start(config: Path, out: Path) -> subprocess.Popen:
    return start_interruptible(
        command(config, out),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_parts(out: Path, proc: subprocess.Popen, count: int) -> int:
    def done() -> int:
        assert proc.poll() is None, proc.communicate()
        parts = out / "parts"
        n = len(list(parts.glob("runs-*.parquet"))) if parts.exists() else 0
        return n if n >= count else 0

    return until(done, 120, f"{count} stored parts")


def finish(config: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        command(config, out, "--resume"), capture_output=True, text=True, timeout=300
    )


def assert_same(out: Path, expected: dict[str, pd.DataFrame]) -> None:
    for table in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(out / table), expected[table])


def test_sigkill_then_resume_equals_an_uninterrupted_run(reference, tmp_path):
    config, expected = reference
    out = tmp_path / "out"
    proc = start(config, out)
    stored = wait_for_parts(out, proc, 4)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "running" and stored < 24
    # Without --resume the directory is refused, and left as it is.
    refused = subprocess.run(
        [sys.executable, "-m", "salesim", "run", str(config), "--out", str(out), "--no-report"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "--resume" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    done = finish(config, out)
    assert done.returncode == 0, done.stderr
    assert_same(out, expected)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["runs"] == {"planned": 48, "done": 48, "failed": 0}
    assert len(manifest["sessions"]) == 2


def test_ctrl_c_keeps_finished_runs_and_resume_completes(reference, tmp_path):
    config, expected = reference
    out = tmp_path / "out"
    proc = start(config, out)
    wait_for_parts(out, proc, 3)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    kept = pd.read_parquet(out / "runs.parquet")
    assert 0 < len(kept) == manifest["runs"]["done"] < 48
    done = finish(config, out)
    assert done.returncode == 0, done.stderr
    assert_same(out, expected)
