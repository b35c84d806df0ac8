"""Search the customer-manager organisation's staffing (the Python API).

    .venv/bin/python experiments/optimise_staffing.py [--n-trials N] [--out DIR]

The same search as ``salesim optimise configs/optimise_staffing.yaml``: optuna's TPE over
customer managers per region and product managers per line within a head-count cap, each
candidate on the same seeds as the organisation in place, the best verified on fresh seeds.
Running it again continues the study in DIR. Prints the verified candidates' paired difference
in operating profit to the organisation in place.
"""

from __future__ import annotations

import argparse

from salesim import load_config
from salesim.experiments.optimise import search
from salesim.report.optimise import build_optimise_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=None)
    parser.add_argument("--out", default="results/optimise_staffing_api")
    args = parser.parse_args()
    overrides = [f"optimise.n_trials={args.n_trials}"] if args.n_trials else []
    cfg = load_config("configs/optimise_staffing.yaml", overrides)
    result = search(cfg, args.out)
    print(f"{result.trials} trials, report {build_optimise_report(args.out)}")
    for v in result.summary["verified"]:
        profit = v["kpis"]["operating_profit"]
        print(
            f"trial {v['trial']} {v['values']}: constraints met {v['constraints_met']}, "
            f"profit {profit['difference']:+,.0f} +- {profit['half_width']:,.0f} against in place"
        )


if __name__ == "__main__":
    main()
