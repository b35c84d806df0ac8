"""Morris screening of the main uncertainties (and one lever) for both designs.

.venv/bin/python experiments/sensitivity.py [--out DIR]
"""

from __future__ import annotations

import argparse

import pandas as pd

from salesim import load_config
from salesim.experiments.driver import run_experiment
from salesim.report import build_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/sensitivity_api")
    args = parser.parse_args()
    cfg = load_config("configs/sensitivity.yaml")
    run_experiment(cfg, args.out, resume=True)
    print(f"report {build_report(args.out)}")
    sens = pd.read_csv(f"{args.out}/sensitivity.csv")
    top = sens.sort_values("mu_star", ascending=False).groupby(["design", "metric"]).head(2)
    print(top[["design", "metric", "parameter", "role", "mu_star", "sigma"]].to_string(index=False))


if __name__ == "__main__":
    main()
