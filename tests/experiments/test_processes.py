"""No orphans: workers die with their coordinator, whatever stops it, and free the output pipe.

An earlier version left the forkserver and its workers running for minutes after SIGTERM or
SIGKILL, holding the coordinator's stdout and stderr, so a caller reading them (``| tee``,
``subprocess.communicate``) hung; Ctrl-C waited for every running batch. Here the caller
reads the pipes before reaping the coordinator, the hardest case for the workers' watchdog.
And workers start quickly: they fork from a server that has imported the model.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from terminal import start_interruptible
from waiting import until

CONFIG = """
name: orphans
model:
  horizon_days: 252
  population: {customers: 600}
  staff: {sales_staff: 9}
experiment:
  designs: [product, customer_manager]
  replications: 40
"""


def wait_for_a_batch(out: Path, proc: subprocess.Popen) -> None:
    def stored() -> bool:
        assert proc.poll() is None, proc.communicate()
        return (out / "parts").is_dir() and any((out / "parts").glob("batch-*.json"))

    until(stored, 180, "a batch to be stored")


def alive(processes: list[psutil.Process]) -> list[int]:
    out = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p.pid)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.mark.parametrize(
    ("how", "status", "manifest_status"),
    [
        ("SIGKILL", -signal.SIGKILL, "running"),
        ("SIGTERM", 128 + signal.SIGTERM, "interrupted"),
        ("Ctrl-C", 128 + signal.SIGINT, "interrupted"),
    ],
)
def test_no_worker_survives_its_coordinator(tmp_path, how, status, manifest_status):
    config = tmp_path / "exp.yaml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    proc = start_interruptible(
        [
            sys.executable,
            "-m",
            "salesim",
            "run",
            str(config),
            "--out",
            str(out),
            "--executor",
            "process",
            "--workers",
            "2",
            "--no-report",
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    wait_for_a_batch(out, proc)
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert len(workers) >= 2  # the forkserver and its workers (and the resource tracker)
    if how == "Ctrl-C":
        os.killpg(proc.pid, signal.SIGINT)  # a terminal sends it to the whole group
    else:
        os.kill(proc.pid, getattr(signal, how))  # only the coordinator
    # Read the pipes first: they close only when no descendant holds them any more.
    _, err = proc.communicate(timeout=60)
    try:
        until(lambda: not alive(workers), 10, "the workers to exit")
    except AssertionError:
        raise AssertionError(f"survived {how}: {alive(workers)}") from None
    assert proc.returncode == status, err
    if how != "SIGKILL":  # SIGKILL leaves no chance to say anything
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "interrupted" in lines[0] and "--resume" in lines[0], err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == manifest_status


def test_pool_workers_start_with_the_model_imported():
    """Workers fork from a server that imported the model: a pool starts without importing it."""
    code = """
from salesim.experiments.runner import process_pool
ask = "[m for m in ('mesa', 'salesim.model.sales_model') if m in __import__('sys').modules]"
with process_pool(1) as pool:
    print(pool.submit(eval, ask).result())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert ast.literal_eval(out.stdout.strip()) == ["mesa", "salesim.model.sales_model"]


CALIBRATE_TARGETS = """
targets:
  retention_rate: {value: 0.8, tolerance: 0.01}
parameters:
  - {path: model.churn.intercept, low: -3, high: 0}
replications: 4
max_evaluations: 400
"""


@pytest.mark.parametrize(
    ("how", "status"), [("SIGTERM", 128 + signal.SIGTERM), ("Ctrl-C", 128 + signal.SIGINT)]
)
def test_calibrate_stops_at_once_and_writes_nothing(tmp_path, how, status):
    """Each of its processes gone within about 2 s of the signal; no fitted config written."""
    config = tmp_path / "base.yaml"
    config.write_text("model: {horizon_days: 252, population: {customers: 600}}\n")
    targets = tmp_path / "targets.yaml"
    targets.write_text(CALIBRATE_TARGETS)
    out = tmp_path / "fitted.yaml"
    proc = start_interruptible(
        [
            sys.executable,
            "-m",
            "salesim",
            "calibrate",
            str(config),
            "--targets",
            str(targets),
            "--out",
            str(out),
            "--workers",
            "2",
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )

    def pool_busy() -> list[psutil.Process]:
        assert proc.poll() is None, proc.communicate()
        kids = psutil.Process(proc.pid).children(recursive=True)
        # The fork server (it imported the model) and both workers at work: none still starting.
        busy = [k for k in kids if k.cpu_times().user > 0.5]
        return kids if len(busy) >= 3 else []

    workers = until(pool_busy, 180, "calibrate's workers to run")
    if how == "Ctrl-C":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGTERM)
    until(lambda: proc.poll() is not None and not alive(workers), 2, "every process to exit")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted; nothing written" in lines[0], err
    assert not out.exists()
