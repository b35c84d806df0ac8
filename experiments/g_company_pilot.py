"""The G-branch pilot: the fitted 2005 world, then 2006-2007 with customer managers from March 2006.

    .venv/bin/python experiments/g_company_pilot.py [--replications N] [--out DIR] [--set K=V ...]

1. 2005 (configs/g_company_2005.yaml, product organisation, fitted to the case's 2005 figures).
2. 2006-2007 (configs/g_company_2006.yaml): the same world, nothing refitted, reorganised in
   March 2006 with the market surge; and the counterfactual without the reorganisation.
Writes both studies under DIR (each with its report.html) and prints KPI, case figure, model
2005, model 2006-2007 with its 95% CI, the counterfactual, and the paired effect of the
reorganisation (same seeds, so paired-t).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from salesim import load_config
from salesim.experiments.driver import run_experiment
from salesim.experiments.stats import half_width
from salesim.report import build_report

ROWS = [
    ("plan_completion_rate", "33.49% (2005) -> over 95%"),
    ("budget_fulfilment_rate", "about 20% (2005) -> over 85%"),
    ("direct_sales_rate", "rose markedly"),
    ("retention_rate", "customers not lost"),
    ("price_index", "prices did not collapse"),
    ("market_share", "market stable"),
    ("contacts_per_need", "one point of contact"),
    ("mean_response_hours", "service quality rose"),
]


def pct(metric: str, v: float, diff: bool = False) -> str:
    if metric.endswith("_rate") or metric == "market_share":
        return f"{100 * v:+.1f} pts" if diff else f"{100 * v:.1f}%"
    return f"{v:+.3f}" if diff else f"{v:.3f}"


def study(
    config: str, out: Path, sets: list[str], replications: int | None, experiment=None
) -> pd.DataFrame:
    extra = (
        [f"experiment.replications={replications}"] if replications and experiment is None else []
    )
    cfg = load_config(config, [*sets, *extra])
    if experiment is not None:
        cfg = cfg.model_copy(update={"experiment": experiment})
    run_experiment(cfg, out, resume=True)
    build_report(out)
    return pd.read_parquet(out / "runs.parquet")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=None)
    parser.add_argument("--out", default="results/g_company_pilot")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    out = Path(args.out)
    from salesim.calibration import load_targets
    from salesim.experiments.spec import ExperimentSpec

    reps = args.replications or load_config("configs/g_company_2006.yaml").experiment.replications
    # The 2005 report checks the model against the case's 2005 figures (the calibration targets).
    observed = load_targets("configs/targets_2005.yaml").targets
    targets = [
        {"kpi": kpi, "value": t.value, "tolerance": t.tolerance, "label": "2005"}
        for kpi, t in observed.items()
    ]
    spec_2005 = ExperimentSpec(designs=["product"], replications=reps, seed=1, targets=targets)
    y2005 = study("configs/g_company_2005.yaml", out / "2005", args.set, None, spec_2005)
    later = study("configs/g_company_2006.yaml", out / "2006-2007", args.set, args.replications)
    reorganised = later[later.scenario == "base"].set_index("replication")
    stay = later[later.scenario == "stay_product"].set_index("replication")
    lines = [
        f"{'KPI':24s} {'case':32s} {'model 2005':>12s} {'model 2006-07':>22s} "
        f"{'no reorganisation':>18s} {'effect (paired)':>22s}"
    ]
    for metric, case in ROWS:
        a = y2005[metric].to_numpy(float)
        b = reorganised[metric]
        c = stay[metric]
        d = (b - c.reindex(b.index)).to_numpy(float)
        effect = f"{pct(metric, np.nanmean(d), True)} ± {pct(metric, half_width(d), True)[1:]}"
        lines.append(
            f"{metric:24s} {case:32s} {pct(metric, np.nanmean(a)):>12s} "
            f"{pct(metric, b.mean()) + ' ± ' + pct(metric, half_width(b.to_numpy(float))):>22s} "
            f"{pct(metric, c.mean()):>18s} "
            f"{effect:>22s}"
        )
    table = "\n".join(lines)
    (out / "pilot_table.txt").write_text(table + "\n")
    print(table)
    print(f"\nreports: {out / '2005' / 'report.html'}, {out / '2006-2007' / 'report.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
