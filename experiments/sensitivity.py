"""What if our assumptions are wrong? Robustness, regret and what the gap between designs hangs on.

.venv/bin/python experiments/sensitivity.py [--out DIR]

Runs configs/sensitivity.yaml (Morris over the uncertainties) and prints, per KPI, where the
customer-manager design beats the product design (robustness.csv) and the two parameters its
gap depends on most (sensitivity_gap.csv); the report has the maps and the figures.
"""

from __future__ import annotations

import argparse

import pandas as pd

from salesim import load_config
from salesim.experiments.driver import run_experiment
from salesim.report.build import build_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/sensitivity_api")
    args = parser.parse_args()
    cfg = load_config("configs/sensitivity.yaml")
    run_experiment(cfg, args.out, resume=True)
    print(f"report {build_report(args.out)}")
    robust = pd.read_csv(f"{args.out}/robustness.csv")
    gaps = pd.read_csv(f"{args.out}/sensitivity_gap.csv")
    top = (
        gaps.sort_values("mu_star", ascending=False)
        .groupby(["design", "metric"])
        .parameter.apply(lambda p: ", ".join(p.head(2).str.rsplit(".", n=1).str[-1]))
        .rename("gap depends most on")
    )
    table = robust.merge(top.reset_index(), on=["design", "metric"], how="left")
    columns = ["design", "metric", "win_share", "tie_share", "lose_share", "regret_max"]
    print(table[[*columns, "gap depends most on"]].to_string(index=False))


if __name__ == "__main__":
    main()
