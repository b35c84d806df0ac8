"""Compare the three organisation designs on the baseline organisation (the Python API).

    .venv/bin/python experiments/compare_designs.py [--replications N] [--out DIR]

The same study as ``salesim run configs/compare_designs.yaml``: paired replications on common
random numbers, results in DIR (runs.parquet, summary.csv, report.html). Prints the paired
difference of each design to ``product`` for the headline KPIs.
"""

from __future__ import annotations

import argparse

import pandas as pd

from salesim import load_config
from salesim.experiments.driver import run_experiment
from salesim.model.kpis import HEADLINE
from salesim.report.build import build_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=None)
    parser.add_argument("--out", default="results/compare_designs_api")
    args = parser.parse_args()
    overrides = [f"experiment.replications={args.replications}"] if args.replications else []
    cfg = load_config("configs/compare_designs.yaml", overrides)
    result = run_experiment(cfg, args.out, resume=True)
    print(f"{result.done} runs, report {build_report(args.out)}")
    summary = pd.read_csv(f"{args.out}/summary.csv")
    rows = summary[(summary.design != summary.baseline) & summary.metric.isin(HEADLINE)]
    print(
        rows[
            ["design", "metric", "diff_mean", "diff_ci95_half_width", "diff_excludes_zero"]
        ].to_string(index=False, float_format=lambda v: f"{v:.4f}")
    )


if __name__ == "__main__":
    main()
