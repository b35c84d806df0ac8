"""``salesim optimise`` on the baseline: 200 candidates x 4 replications, then verification.

Usage:
    .venv/bin/python benchmarks/bench_optimise.py                 # 200 trials, 2 workers
    .venv/bin/python benchmarks/bench_optimise.py --trials 40     # a shorter run, extrapolated

The levers (customer managers per region, product managers per line, both hours a day) include
two continuous ones, so the 200 trials are 200 distinct candidates that each run (a repeated
candidate would cost nothing). The whole command is timed, as a user runs it: starting the
workers, the organisation in place on the search seeds, every trial, verification of the best
3 on 10 fresh seeds with the organisation in place, and the report. With ``--trials`` below
200 it also prints the time 200 would take: the search part scaled by the runs, verification
and start as measured. The load average is printed beside the figures (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """\
extends: {baseline}
name: bench_optimise
optimise:
  levers:
    - {{path: model.staff.customer_manager.managers_per_region, low: 8, high: 14}}
    - {{path: model.staff.product_managers_per_line, low: 1, high: 3}}
    - {{path: model.staff.pm_hours_per_day, low: 4.0, high: 8.0}}
    - {{path: model.staff.customer_manager.desk_hours_per_day, low: 4.0, high: 8.0}}
  objective: {{kpi: operating_profit}}
  constraints:
    - {{kpi: p90_response_hours, at_most: 8}}
    - {{kpi: utilisation_*, at_most: 0.85}}
  n_trials: {trials}
  replications: 4
  seed: 1
  verification: {{top: 3, replications: 10}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench_optimise.yaml"
        config.write_text(
            CONFIG.format(baseline=ROOT / "configs" / "baseline.yaml", trials=args.trials)
        )
        out = Path(tmp) / "out"
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        argv = [sys.executable, "-m", "salesim", "optimise", str(config), "--out", str(out)]
        argv += ["--workers", str(args.workers)]
        print(f"before: load {os.getloadavg()[0]:.2f}, {args.trials} trials x 4 replications")
        began = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - began
        if done.returncode != 0:
            sys.exit(done.stderr)
        summary = json.loads((out / "optimise.json").read_text())
        trials = pd.read_csv(out / "trials.csv")
        verified = pd.read_csv(out / "verification.csv")
    evaluated = int((trials.status == "evaluated").sum())
    search_runs = 4 * (evaluated + 1)  # the candidates and the organisation in place
    print(done.stdout.strip())
    print(
        f"wall {wall:.0f} s ({wall / 60:.1f} min) on {args.workers} workers: {len(trials)} "
        f"distinct candidates, {evaluated} run, {search_runs} search runs + {len(verified)} "
        f"verification runs; load {os.getloadavg()[0]:.2f} after"
    )
    if args.trials < 200:
        per_run = wall / (search_runs + len(verified))
        full = per_run * (4 * 201 + len(verified))
        print(f"extrapolated to 200 candidates: about {full:.0f} s ({full / 60:.1f} min)")
    print(f"feasible {summary['feasible']}; winner {summary['winner']['values']}")


if __name__ == "__main__":
    main()
