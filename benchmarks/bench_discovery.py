"""Scenario discovery's share of a report, on a synthetic 5,120-run Sobol table (no simulation).

Usage:
    .venv/bin/python benchmarks/bench_discovery.py [--repeat 3]
    .venv/bin/python benchmarks/bench_discovery.py --report results/synthetic_sobol

Builds the runs table configs/robustness_sobol.yaml would store (its 2,560 Sobol points, two
designs, one replication, every verdict KPI), each KPI's gap a threshold on one or two of the
eight uncertainties plus noise, so every KPI gets a box. Then times, in this process, what the
report adds: finding the boxes (``salesim.experiments.discovery.discover``), and the whole
section (scenario_discovery.csv, the sentences, one figure per box) with the recommendation.
Prints wall and CPU seconds for each, the number of boxes, and ``uptime`` (the machine may be
shared: CPU seconds are the steadier figure). The report's target for the 5,120-run study is
< 60 s in all (benchmarks/bench_report.py times a real one).

``--report DIR`` stores the same synthetic study as results in DIR instead (the real driver, its
runs replaced by the synthetic rule, so nothing is simulated; a few seconds plus the Sobol
indices) and times the whole ``salesim report`` of it with benchmarks/bench_report.py.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from salesim import load_config
from salesim.experiments import discovery
from salesim.experiments.plan import seed_of, sweep_plan
from salesim.model.inputs.outcomes import outcome
from salesim.report import build
from salesim.report import discovery as words

ROOT = Path(__file__).resolve().parents[1]


def synthetic_runs(cfg) -> pd.DataFrame:
    """Two designs at every Sobol point; the candidate's gap a threshold rule plus noise."""
    plan = sweep_plan(cfg.experiment.sweep, seed_of(cfg))
    points = pd.DataFrame(plan.points)
    params = list(points.columns)
    scaled = (points - points.min()) / (points.max() - points.min())
    rng = np.random.default_rng(0)
    metrics = ["operating_profit"] + [
        m for m in discovery.HEADLINE if m != "operating_profit" and outcome(m).direction != 0
    ]
    frames = []
    for design in cfg.experiment.designs:
        f = points.copy()
        f["point"] = np.arange(len(points))
        f["design"], f["scenario"], f["replication"], f["status"] = design, "base", 0, "ok"
        f["seed"] = 1
        f["run_id"] = [f"{design}-{i}" for i in range(len(points))]
        for k, metric in enumerate(metrics):
            a, b = params[k % len(params)], params[(k + 3) % len(params)]
            loses = (scaled[a] < 0.35) & ((scaled[b] > 0.4) if k % 2 else True)
            gap = np.where(loses, -1.0, 1.0) + rng.normal(0, 0.3, len(points))
            gap *= outcome(metric).direction
            f[metric] = 100.0 + (gap if design != cfg.experiment.baseline_design else 0.0)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def store_synthetic(cfg, out: Path) -> None:
    """The synthetic study as a results directory: the driver with a rule for its runs."""
    from salesim.experiments import runner
    from salesim.experiments.driver import run_experiment
    from salesim.model.inputs.outcomes import OUTCOMES

    table = synthetic_runs(cfg).set_index(["design", "point"])
    names = [m for m in OUTCOMES if m in table.columns]

    def rule(cfg, run):
        kpis = table.loc[(run.design, run.point), names].to_dict()
        record = {
            "run_id": run.run_id, "point": run.point, "scenario": run.scenario,
            "design": run.design, "replication": run.replication, "seed": run.seed,
            **run.values, "status": "ok", "error": "",
            **{m: kpis.get(m, 1.0) for m in OUTCOMES},
        }  # fmt: skip
        return record, {}

    runner.run_one = rule  # the sequential executor calls it in this process
    run_experiment(cfg, out, executor="sequential", resume=out.exists(), progress=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--report", type=Path, default=None)
    args = parser.parse_args()
    cfg = load_config(ROOT / "configs/robustness_sobol.yaml")
    if args.report is not None:
        store_synthetic(cfg, args.report)
        subprocess.run(
            [sys.executable, str(ROOT / "benchmarks/bench_report.py"), "--out", str(args.report),
             "--repeat", str(args.repeat)],
            check=True,
        )  # fmt: skip
        return
    runs = synthetic_runs(cfg)
    metrics = discovery.discovery_metrics(runs)
    exp = cfg.experiment
    find, section = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "figures").mkdir()
            study = SimpleNamespace(
                out=Path(tmp), cfg=cfg, exp=exp, baseline=exp.baseline_design,
                designs=list(exp.designs), scenarios=["base"], reference="base",
                replications=1, verdict_metrics=metrics,
            )  # fmt: skip
            w0, c0 = time.perf_counter(), time.process_time()
            findings = discovery.discover(runs, cfg, metrics)
            w1, c1 = time.perf_counter(), time.process_time()
            sec = build._discovery_section(study, findings)
            words.recommendation(study, findings)
            w2, c2 = time.perf_counter(), time.process_time()
        find.append((w1 - w0, c1 - c0))
        section.append((w2 - w1, c2 - c1))
        boxes = sum(len(f.boxes) for f in findings)
        print(
            f"boxes {w1 - w0:.2f} s wall, {c1 - c0:.2f} s CPU; section with {len(sec.figures)} "
            f"figures {w2 - w1:.2f} s wall, {c2 - c1:.2f} s CPU ({boxes} boxes)",
            flush=True,
        )
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    wall_find = statistics.median(w for w, _ in find)
    wall_section = statistics.median(w for w, _ in section)
    cpu = statistics.median(c for _, c in find) + statistics.median(c for _, c in section)
    print(
        f"{len(runs)} runs, {len(metrics)} KPIs: median {wall_find:.2f} s to find the boxes, "
        f"{wall_section:.2f} s for the section (CPU {cpu:.2f} s in all); uptime: {uptime}"
    )


if __name__ == "__main__":
    main()
