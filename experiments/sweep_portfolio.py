"""Customers per sales person x product-manager capacity: where does the PM become the bottleneck?

.venv/bin/python experiments/sweep_portfolio.py [--replications N] [--out DIR]
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
    parser.add_argument("--out", default="results/sweep_portfolio_api")
    args = parser.parse_args()
    overrides = [f"experiment.replications={args.replications}"] if args.replications else []
    cfg = load_config("configs/sweep_portfolio.yaml", overrides)
    run_experiment(cfg, args.out, resume=True)
    print(f"report {build_report(args.out)}")
    summary = pd.read_csv(f"{args.out}/summary.csv")
    cm = summary[(summary.design == "customer_manager") & (summary.metric == "mean_response_hours")]
    print("customer_manager minus product, mean response hours:")
    print(
        cm.pivot_table(
            index="model.staff.pm_hours_per_day",
            columns="model.staff.sales_staff",
            values="diff_mean",
        ).to_string(float_format=lambda v: f"{v:+.2f}")
    )


if __name__ == "__main__":
    main()
