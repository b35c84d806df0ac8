"""Experiment engine: speed-up with workers (processes and Dask), overhead, mesa.batch_run, memory.

Usage:
    .venv/bin/python benchmarks/bench_experiments.py            # 60 two-year runs
    .venv/bin/python benchmarks/bench_experiments.py --replications 10 --no-batch-run

1. A study of baseline runs (configs/baseline.yaml, two business years, product vs
   customer_manager, paired replications): a plain Python loop, then ``run_experiment``
   sequential, with 1 and 2 processes, and on Dask with 1 and 2 workers (in turn, ``--repeats``
   rounds; medians, and each round's speed-up). Speed-ups are over the same executor with one
   worker; "after start" leaves out starting the workers (imports, a Dask cluster), which a
   long study pays once. Processes fork from a server that imported the model once per
   coordinating process ("first start"; later pools start in about 0.15 s): a study started
   from the command line pays the first start, once.
2. The same runs through ``mesa.batch_run`` (2 processes), beside ``salesim run``.
3. Peak memory (ru_maxrss) of the coordinating process for 40 and 1,000 tiny runs: results
   stream to disk, so it should not grow with the number of runs.

The machine is usually shared with other work: the load average is printed beside each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from salesim import load_config


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def plain_loop(cfg) -> float:
    from salesim import SalesModel
    from salesim.experiments.plan import model_config, runs_for, seed_of, sweep_plan

    runs = runs_for(cfg, sweep_plan(None, seed_of(cfg)), range(cfg.experiment.replications))
    t = time.perf_counter()
    for run in runs:
        SalesModel(model_config(cfg, run)).run().kpis()
    return time.perf_counter() - t


def start_up(executor: str, workers: int) -> float:
    """Seconds to start the executor and have every worker run a model (imports included)."""
    from salesim.experiments.runner import make_executor

    t = time.perf_counter()
    with make_executor(executor, workers) as (pool, n):
        futures = [pool.submit(_warm, i) for i in range(n)]
        for f in futures:
            f.result()
        return time.perf_counter() - t


def _warm(i: int) -> int:
    from salesim import SalesModel

    SalesModel(overrides={"model.horizon_days": 21, "model.population.customers": 60}).run()
    return i


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=30)
    parser.add_argument("--no-batch-run", action="store_true", help="skip mesa.batch_run")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument(
        "--repeats", type=int, default=3, help="rounds of 1 and 2 workers (medians printed)"
    )
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats: at least 1, not {args.repeats}")
    study = {
        "experiment": {
            "designs": ["product", "customer_manager"],
            "replications": args.replications,
            "seed": 1,
        }
    }
    cfg = load_config("configs/baseline.yaml", study)
    n = 2 * cfg.experiment.replications
    print(f"{n} runs: baseline config, {cfg.model.horizon_days} days, product vs customer_manager")
    loop = plain_loop(cfg)
    print(f"  plain loop                 {loop:7.2f} s  {loop / n:.3f} s a run  ({load()})")
    seq = engine(cfg, "sequential", 1)
    overhead = 100 * (seq / loop - 1)
    print(f"  salesim run, sequential    {seq:7.2f} s  overhead over the loop {overhead:+.1f}%")
    executors = ["process"] if args.no_dask else ["process", "dask"]
    for executor in executors:
        # The first process pool of a process starts the fork server, which imports the model
        # once for every later pool: start it here, so that 1 and 2 workers start alike.
        first = start_up(executor, 2)
        print(f"  {executor:7s} first start in this process {first:.1f} s  ({load()})")
        # 1 and 2 workers in turn, so that a slower spell of a shared machine hits both.
        rounds = []
        for _ in range(args.repeats):
            one, two = engine(cfg, executor, 1), engine(cfg, executor, 2)
            s1, s2 = start_up(executor, 1), start_up(executor, 2)
            rounds.append(
                {
                    "one": one,
                    "two": two,
                    "s1": s1,
                    "s2": s2,
                    "speed-up": one / two,
                    "after start": (one - s1) / (two - s2),
                    "fresh": (one - s1 + first) / (two - s2 + first),
                }
            )
        med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        each = ", ".join(f"{r['speed-up']:.2f}x" for r in rounds)
        print(
            f"  {executor:7s} 1 worker           {med['one']:7.2f} s  "
            f"(start {med['s1']:.1f} s; {load()})"
        )
        print(
            f"  {executor:7s} 2 workers          {med['two']:7.2f} s  "
            f"(start {med['s2']:.1f} s; {load()})  speed-up {med['speed-up']:.2f}x ({each}), "
            f"after start {med['after start']:.2f}x; over sequential {seq / med['two']:.2f}x"
        )
        print(
            f"  {executor:7s} speed-up in a fresh process (both pay the first start) "
            f"{med['fresh']:.2f}x"
        )
    if not args.no_batch_run:
        two = engine(cfg, "process", 2)
        batch = with_batch_run(cfg, 2)
        ratio = batch / two
        print(f"  mesa.batch_run, 2 procs    {batch:7.2f} s  batch_run / salesim run = {ratio:.2f}")
    for runs in (40, 1000):
        print(f"  coordinator peak RSS, {runs:4d} tiny runs: {coordinator_memory(runs):6.0f} MiB")
    print("  " + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
