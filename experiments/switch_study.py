"""Should we switch from product reps, and when does it pay back? (the Python API).

    .venv/bin/python experiments/switch_study.py [--replications N] [--out DIR]

The same study as ``salesim run configs/switch.yaml`` (``make compare``): each candidate
switches at the configured month, the stay runs keep the organisation in place, on common
random numbers. Prints, per transition scenario and candidate, the payback month with its
bootstrap CI and the NPV with its paired CI.
"""

from __future__ import annotations

import argparse
import math

import pandas as pd

from salesim import load_config
from salesim.experiments.compare import with_keys
from salesim.experiments.driver import run_experiment
from salesim.experiments.switch import analyse
from salesim.report.build import build_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=None)
    parser.add_argument("--out", default="results/switch_api")
    args = parser.parse_args()
    overrides = [f"experiment.replications={args.replications}"] if args.replications else []
    cfg = load_config("configs/switch.yaml", overrides)
    result = run_experiment(cfg, args.out, resume=True)
    print(f"{result.done} runs, report {build_report(args.out)}")
    runs = pd.read_parquet(f"{args.out}/runs.parquet")
    monthly = with_keys(pd.read_parquet(f"{args.out}/timeseries.parquet"), runs)
    for r in analyse(cfg, monthly, runs):
        high = "beyond" if math.isinf(r.payback_high) else f"{r.payback_high:.0f}"
        low = "beyond" if math.isinf(r.payback_low) else f"{r.payback_low:.0f}"
        print(
            f"{r.scenario:>8} {r.candidate:>16}: payback month {r.payback or 'none'} "
            f"(95% CI {low}-{high}), NPV {r.npv / 1e6:+.1f} M ± {r.npv_hw / 1e6:.1f} M"
        )


if __name__ == "__main__":
    main()
