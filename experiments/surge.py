"""The 2006-2007 surge and a strong competitor: does the design hold customers and prices?

.venv/bin/python experiments/surge.py [--replications N] [--out DIR]
"""

from __future__ import annotations

import argparse

import pandas as pd

from salesim import load_config
from salesim.experiments.driver import run_experiment
from salesim.report.build import build_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=None)
    parser.add_argument("--out", default="results/surge_api")
    args = parser.parse_args()
    overrides = [f"experiment.replications={args.replications}"] if args.replications else []
    cfg = load_config("configs/surge.yaml", overrides)
    run_experiment(cfg, args.out, resume=True)
    print(f"report {build_report(args.out)}")
    summary = pd.read_csv(f"{args.out}/summary.csv")
    table = summary[summary.metric.isin(["retention_rate", "price_index", "market_share"])]
    print(
        table.pivot_table(index=["scenario", "metric"], columns="design", values="mean").to_string(
            float_format=lambda v: f"{v:.3f}"
        )
    )


if __name__ == "__main__":
    main()
