"""Model speed and memory: one baseline replication, and cost per request as customers grow.

Usage:
    .venv/bin/python benchmarks/bench_model.py            # baseline + scaling up to 100,000
    .venv/bin/python benchmarks/bench_model.py --quick    # baseline + scaling up to 10,000

Each scale point runs in a fresh subprocess so its peak resident memory (ru_maxrss) is its own.
Staff scale with customers (one sales person per 50 customers, planners, PMs and regional
managers in proportion) so queues stay comparable.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def baseline(repeats: int) -> None:
    from salesim import SalesModel, load_config

    cfg = load_config("configs/baseline.yaml").model
    print(f"baseline: {cfg.population.customers} customers, {cfg.horizon_days} days, design x seed")
    print(
        f"{'design':18s} {'wall s':>8s} {'requests':>9s} {'jobs':>8s} {'req/s':>9s} {'jobs/s':>9s}"
    )
    for design in ("product", "customer_manager", "three_in_one"):
        walls, reqs, jobs = [], 0, 0
        for seed in range(repeats):
            t = time.perf_counter()
            m = SalesModel(cfg, design=design, rng=seed).run()
            walls.append(time.perf_counter() - t)
            reqs, jobs = m.log.n, sum(len(j[0]) for j in m.log.jobs)
        wall = statistics.median(walls)
        print(f"{design:18s} {wall:8.2f} {reqs:9d} {jobs:8d} {reqs / wall:9.0f} {jobs / wall:9.0f}")


def one_scale(customers: int, days: int) -> dict:
    import resource

    from salesim import SalesModel

    per = customers / 1500
    overrides = {
        "model.horizon_days": days,
        "model.population.customers": customers,
        "model.staff.sales_staff": max(30, round(30 * per)),
        "model.staff.product_managers_per_line": max(1, round(per)),
        "model.staff.regional_managers_per_region": max(1, round(per)),
        "model.staff.planners": max(3, round(3 * per)),
    }
    t = time.perf_counter()
    m = SalesModel(overrides=overrides)
    built = time.perf_counter() - t
    m.run()
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "customers": customers,
        "build_s": built,
        "wall_s": wall,
        "requests": m.log.n,
        "peak_mib": peak,
    }


def scaling(sizes: list[int], days: int) -> None:
    print(f"\nscaling: customer_manager, {days} days, staff in proportion")
    print(
        f"{'customers':>9s} {'build s':>8s} {'wall s':>8s} {'requests':>9s} "
        f"{'us/request':>10s} {'peak MiB':>9s}"
    )
    for n in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--days", str(days)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout)
        us = 1e6 * r["wall_s"] / max(r["requests"], 1)
        print(
            f"{n:9d} {r['build_s']:8.2f} {r['wall_s']:8.2f} {r['requests']:9d} "
            f"{us:10.2f} {r['peak_mib']:9.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--days", type=int, default=252)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_scale(args.one, args.days)))
        return
    baseline(repeats=3)
    sizes = [1_000, 3_000, 10_000] if args.quick else [1_000, 3_000, 10_000, 30_000, 100_000]
    scaling(sizes, args.days)


if __name__ == "__main__":
    main()
