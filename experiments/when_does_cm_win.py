"""Where does the customer-manager design beat the product design, tie, or lose?

    .venv/bin/python experiments/when_does_cm_win.py [--replications N] [--out DIR] [--set K=V ...]

Runs configs/when_does_cm_win.yaml (the grid lives there, not here), writes its report (with the
"where each design wins" maps and robustness.csv) and prints the maps as text for two KPIs:
W where the design is better than product (paired 95% CI on the better side of zero), L where
worse, . where the CI includes 0 (a tie at this many replications).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from salesim import load_config
from salesim.experiments.driver import run_experiment
from salesim.report.build import build_report

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "when_does_cm_win.yaml"
SYMBOL = {"better": "W", "worse": "L", "none": "."}


def text_map(summary: pd.DataFrame, metric: str, design: str, x: str, y: str, at: dict) -> str:
    """One KPI's win / tie / lose map as text: rows y (largest first), columns x."""
    d = summary[(summary.metric == metric) & (summary.design == design)]
    for path, value in at.items():
        d = d[d[path] == value]
    grid = d.pivot(index=y, columns=x, values="diff_verdict").sort_index(ascending=False)
    where = ", ".join(f"{p.rsplit('.', 1)[-1]} = {v:g}" for p, v in at.items())
    lines = [
        f"  {metric}, {design} vs product{', ' + where if where else ''} "
        f"(rows: {y.rsplit('.', 1)[-1]}, columns: {x.rsplit('.', 1)[-1]})",
        "        " + " ".join(f"{c:>5g}" for c in grid.columns),
    ]
    for value, row in grid.iterrows():
        lines.append(f"  {value:>5g} " + " ".join(f"{SYMBOL[v]:>5}" for v in row))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int)
    parser.add_argument("--out", default="results/when_does_cm_win")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    sets = [*args.set]
    if args.replications:
        sets.append(f"experiment.replications={args.replications}")
    cfg = load_config(CONFIG, sets)
    out = Path(args.out)
    run_experiment(cfg, out, resume=True)
    report = build_report(out)
    summary = pd.read_csv(out / "summary.csv")
    x, y = cfg.experiment.map_axes()
    others = [p.path for p in cfg.experiment.sweep.parameters if p.path not in (x, y)]
    combos = summary[others].drop_duplicates().to_dict("records") if others else [{}]
    maps = []
    for metric in ("operating_profit", "retention_rate", "mean_response_hours"):
        for design in [d for d in cfg.experiment.designs if d != cfg.experiment.baseline_design]:
            for at in combos:
                maps.append(text_map(summary, metric, design, x, y, at))
    text = "\n\n".join(maps)
    (out / "verdicts.txt").write_text(text + "\n")
    print(text)
    print(f"\nreport (with the maps for every KPI) {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
