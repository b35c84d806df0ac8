"""Where does the customer-manager design beat the product design, tie, or lose?

    .venv/bin/python experiments/when_does_cm_win.py [--replications N] [--out DIR] [--set K=V ...]

A grid over the share of multi-line customers x product-manager capacity (hours a day for
requests), at two portfolio sizes (customers per sales person via head-count), all three
designs on common random numbers. For retention and mean response time it prints a map:
W where customer_manager is better than product (paired 95% CI excludes 0), L where worse,
. where the CI includes 0 (a tie at this many replications), and writes heat maps.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from salesim import load_config
from salesim.experiments.driver import run_experiment
from salesim.plots import LOWER_IS_BETTER, sweep_heatmap
from salesim.report import build_report

MULTI = [0.0, 0.2, 0.4, 0.6, 0.8]
PM_HOURS = [1.5, 3.0, 4.5, 6.0]
STAFF = [30, 20]  # 50 and 75 customers per person at 1,500 customers


def experiment(replications: int) -> dict:
    return {
        "designs": ["product", "customer_manager", "three_in_one"],
        "baseline": "product",
        "replications": replications,
        "seed": 1,
        "horizon_days": 252,
        "metrics": [
            "retention_rate",
            "mean_response_hours",
            "direct_sales_rate",
            "utilisation_product_manager",
        ],
        "sweep": {
            "method": "grid",
            "parameters": [
                {
                    "path": "model.population.multi_line_share",
                    "role": "uncertainty",
                    "values": MULTI,
                },
                {"path": "model.staff.pm_hours_per_day", "role": "lever", "values": PM_HOURS},
                {"path": "model.staff.sales_staff", "role": "lever", "values": STAFF},
            ],
        },
    }


def verdict_map(summary: pd.DataFrame, metric: str, staff: int, design: str) -> str:
    d = summary[
        (summary.metric == metric)
        & (summary.design == design)
        & (summary["model.staff.sales_staff"] == staff)
    ]
    better_if_lower = metric in LOWER_IS_BETTER
    rows = [
        f"  {metric}, {design} vs product, {staff} sales staff "
        "(rows: PM hours/day, columns: multi-line share)",
        "          " + " ".join(f"{m:>5.1f}" for m in MULTI),
    ]
    for pm in sorted(PM_HOURS, reverse=True):
        cells = []
        for m in MULTI:
            r = d[
                (d["model.staff.pm_hours_per_day"] == pm)
                & (d["model.population.multi_line_share"] == m)
            ]
            if r.empty:
                cells.append("    ?")
                continue
            r = r.iloc[0]
            if not r.diff_excludes_zero:
                cells.append("    .")
            else:
                win = (r.diff_mean < 0) if better_if_lower else (r.diff_mean > 0)
                cells.append("    W" if win else "    L")
        rows.append(f"  {pm:>6.1f}  " + " ".join(cells))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=5)
    parser.add_argument("--out", default="results/when_does_cm_win")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    cfg = load_config("configs/baseline.yaml", args.set)
    cfg = cfg.model_copy(
        update={
            "experiment": load_config(
                None, {"experiment": experiment(args.replications)}
            ).experiment
        }
    )
    out = Path(args.out)
    run_experiment(cfg, out, resume=True)
    build_report(out)
    summary = pd.read_csv(out / "summary.csv")
    maps = []
    for metric in ("retention_rate", "mean_response_hours"):
        for staff in STAFF:
            for design in ("customer_manager", "three_in_one"):
                maps.append(verdict_map(summary, metric, staff, design))
                part = summary[summary["model.staff.sales_staff"] == staff]
                fig = sweep_heatmap(
                    part,
                    "model.population.multi_line_share",
                    "model.staff.pm_hours_per_day",
                    metric,
                    design,
                )
                fig.savefig(out / f"wins-{metric}-{design}-staff{staff}.png", dpi=110)
    text = "\n\n".join(maps)
    (out / "verdicts.txt").write_text(text + "\n")
    print(text)
    print(f"\nheat maps and report in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
