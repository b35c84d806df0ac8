"""Experiment engine: speed-up with workers, overhead over a plain loop, mesa.batch_run, memory.

Usage:
    .venv/bin/python benchmarks/bench_experiments.py

1. A 40-run study (baseline config, product vs customer_manager, 20 paired replications):
   a plain Python loop, then ``run_experiment`` sequential, process pool with 1 and 2 workers.
2. The same 40 runs through ``mesa.batch_run`` (2 processes), timed beside ``salesim run``.
3. Peak memory (ru_maxrss) of the coordinating process for 40 and 400 small runs: results
   stream to disk, so it should not grow with the number of runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time

from salesim import load_config

STUDY = {"experiment": {"designs": ["product", "customer_manager"], "replications": 20, "seed": 1}}


def plain_loop(cfg) -> float:
    from salesim import SalesModel
    from salesim.experiments.plan import model_config, runs_for, seed_of, sweep_plan

    runs = runs_for(cfg, sweep_plan(None, seed_of(cfg)), range(cfg.experiment.replications))
    t = time.perf_counter()
    for run in runs:
        SalesModel(model_config(cfg, run)).run().kpis()
    return time.perf_counter() - t


def engine(cfg, executor: str, workers: int) -> float:
    from salesim.experiments.driver import run_experiment

    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        run_experiment(cfg, f"{out}/x", executor=executor, workers=workers, progress=False)
        return time.perf_counter() - t


def with_batch_run(cfg, processes: int) -> float:
    from mesa.batchrunner import batch_run

    from salesim import SalesModel

    t = time.perf_counter()
    batch_run(
        SalesModel,
        parameters={"config": [cfg.model], "design": ["product", "customer_manager"]},
        number_processes=processes,
        iterations=None,
        rng=[1 + i for i in range(cfg.experiment.replications)],
        max_steps=cfg.model.horizon_days,
        display_progress=False,
    )
    return time.perf_counter() - t


def coordinator_memory(n_runs: int) -> float:
    code = f"""
import resource, tempfile, json
from salesim import load_config
from salesim.experiments.driver import run_experiment
cfg = load_config(None, {{"model.horizon_days": 21, "model.population.customers": 60,
    "model.staff.sales_staff": 6,
    "experiment": {{"designs": ["product"], "replications": {n_runs}}}}})
with tempfile.TemporaryDirectory() as out:
    run_experiment(cfg, out + "/x", executor="process", workers=2, progress=False)
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    cfg = load_config("configs/baseline.yaml", STUDY)
    n = 2 * cfg.experiment.replications
    print(f"{n} runs: baseline config, {cfg.model.horizon_days} days, product vs customer_manager")
    loop = plain_loop(cfg)
    seq = engine(cfg, "sequential", 1)
    one = engine(cfg, "process", 1)
    two = engine(cfg, "process", 2)
    print(f"  plain loop                 {loop:7.2f} s")
    overhead = 100 * (seq / loop - 1)
    print(f"  salesim run, sequential    {seq:7.2f} s   overhead over the loop {overhead:+.1f}%")
    print(f"  salesim run, 1 process     {one:7.2f} s")
    print(f"  salesim run, 2 processes   {two:7.2f} s   speed-up over 1 process {one / two:.2f}x")
    batch = with_batch_run(cfg, 2)
    ratio = batch / two
    print(f"  mesa.batch_run, 2 procs    {batch:7.2f} s   batch_run / salesim run = {ratio:.2f}")
    for runs in (40, 400):
        print(f"  coordinator peak RSS, {runs:4d} tiny runs: {coordinator_memory(runs):6.0f} MiB")


if __name__ == "__main__":
    main()
