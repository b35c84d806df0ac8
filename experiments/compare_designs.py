"""Compare the organisation designs on one config: same customers, same demand, paired seeds.

    .venv/bin/python experiments/compare_designs.py configs/baseline.yaml --seeds 10

Writes ``runs.csv`` (one row per design x seed, with every KPI), ``summary.csv`` (mean and 95%
CI per design, paired difference to the baseline design with its paired-t CI) and
``report.md``; prints the summary. The experiment engine (``salesim run``) will supersede this
script for sweeps; it stays as an example of the Python API.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from salesim import ConfigError, SalesModel, load_config, registered_designs

HEADLINE = [
    "retention_rate",
    "mean_response_hours",
    "p90_response_hours",
    "direct_sales_rate",
    "plan_completion_rate",
    "budget_fulfilment_rate",
    "market_share",
    "contacts_per_need",
    "handoffs_per_request",
    "gross_margin",
    "customer_lifetime_value",
]


def run_all(config_path: str, designs: list[str], seeds: int, overrides: list[str]) -> pd.DataFrame:
    cfg = load_config(config_path, overrides).model
    rows = []
    total = len(designs) * seeds
    started = time.perf_counter()
    for i in range(seeds):
        for design in designs:
            kpis = SalesModel(cfg, design=design, rng=cfg.seed + i).run().kpis()
            rows.append({"design": design, "replication": i, "seed": cfg.seed + i, **kpis})
            done = len(rows)
            eta = (time.perf_counter() - started) / done * (total - done)
            if sys.stderr.isatty():
                print(
                    f"\r  runs {done}/{total}  eta {eta:5.0f} s",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
    if sys.stderr.isatty():
        print(file=sys.stderr)
    return pd.DataFrame(rows)


def half_width(values: np.ndarray) -> float:
    n = len(values)
    if n < 2:
        return float("nan")
    return float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n))


def summarise(runs: pd.DataFrame, baseline: str) -> pd.DataFrame:
    rows = []
    base = runs[runs.design == baseline].set_index("replication")
    for design, group in runs.groupby("design", sort=False):
        g = group.set_index("replication")
        for kpi in HEADLINE:
            diff = (g[kpi] - base[kpi]).dropna().to_numpy()
            rows.append(
                {
                    "design": design,
                    "kpi": kpi,
                    "mean": g[kpi].mean(),
                    "ci95": half_width(g[kpi].to_numpy()),
                    "n": len(g),
                    "diff_vs_" + baseline: diff.mean(),
                    "diff_ci95": half_width(diff),
                }
            )
    return pd.DataFrame(rows)


def markdown(frame: pd.DataFrame) -> str:
    """A DataFrame as a GitHub-flavoured Markdown table (index as first column)."""
    head = [frame.index.name or "", *map(str, frame.columns)]
    rows = [[str(i), *map(str, r)] for i, r in zip(frame.index, frame.to_numpy(), strict=True)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compare organisation designs on paired seeds.")
    parser.add_argument("config")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--baseline", default="product", help="design the others are compared with")
    parser.add_argument("--designs", nargs="+", default=None)
    parser.add_argument("--out", default="results/compare_designs")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    designs = args.designs or ["product", "customer_manager", "three_in_one"]
    for name in [*designs, args.baseline]:
        if name not in registered_designs():
            print(
                f"compare: error: --designs: unknown design {name!r}; allowed: "
                f"{', '.join(registered_designs())}",
                file=sys.stderr,
            )
            return 2
    if args.seeds < 1:
        print("compare: error: --seeds: must be at least 1", file=sys.stderr)
        return 2
    if args.baseline not in designs:
        designs.insert(0, args.baseline)
    try:
        runs = run_all(args.config, designs, args.seeds, args.set)
    except ConfigError as exc:
        print(f"compare: error: {exc}", file=sys.stderr)
        return 2
    summary = summarise(runs, args.baseline)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(out / "runs.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    table = summary.pivot(index="kpi", columns="design", values="mean").loc[HEADLINE, designs]
    ci = summary.pivot(index="kpi", columns="design", values="ci95").loc[HEADLINE, designs]
    shown = table.map(lambda v: f"{v:,.3f}") + " ± " + ci.map(lambda v: f"{v:,.3f}")
    others = [d for d in designs if d != args.baseline]
    col = "diff_vs_" + args.baseline
    diff = summary.pivot(index="kpi", columns="design", values=col).loc[HEADLINE, others]
    dci = summary.pivot(index="kpi", columns="design", values="diff_ci95").loc[HEADLINE, others]
    star = (diff.abs() > dci).map(lambda s: " *" if s else "")
    paired = diff.map(lambda v: f"{v:+,.3f}") + " ± " + dci.map(lambda v: f"{v:,.3f}") + star
    text = (
        f"# Design comparison: {args.config}\n\n{args.seeds} paired replications per design "
        f"(seeds {runs.seed.min()}-{runs.seed.max()}, common random numbers).\n\n"
        f"## Mean ± 95% CI half-width\n\n{markdown(shown)}\n\n"
        f"## Paired difference to `{args.baseline}` ± 95% paired-t CI (* : CI excludes 0)\n\n"
        f"{markdown(paired)}\n"
    )
    (out / "report.md").write_text(text)
    print(text)
    print(f"wrote {out}/runs.csv, summary.csv, report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
