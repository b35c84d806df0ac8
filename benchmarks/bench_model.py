"""Model speed and memory: one baseline replication, what it costs, and cost per request at scale.

Usage:
    .venv/bin/python benchmarks/bench_model.py            # baseline + scaling up to 100,000
    .venv/bin/python benchmarks/bench_model.py --quick    # baseline + scaling up to 10,000
    .venv/bin/python benchmarks/bench_model.py --against 0c3ed57   # cold runs, both trees

1. A 2-year baseline replication (configs/baseline.yaml, 1,500 customers) per design, median and
   fastest of a few seeds, CPU and wall time: *cold* computes the steady start (a lone
   replication), *warm* finds it cached (every design of a pair after the first, as an
   experiment runs them); their average is what a replication of a paired experiment costs. On
   a shared machine the fastest run is the one least slowed by other work; for a figure the load
   does not move, count instructions (``bench_instructions.py``).
2. Where the time goes, at 100% and 1% of the demand: building the model, the steady start,
   requests (``RequestNetwork.window``), the monthly cycle, and the rest (Mesa's daily steps).
   Fixed cost = the 1% run; marginal cost per request = the difference over the difference in
   requests.
3. Scaling: customers 1k..100k, staff in proportion, each in a fresh subprocess so its peak
   resident memory (ru_maxrss) is its own.

The machine is usually shared: ``uptime`` is printed beside the figures, and CPU time (not wall
time) is the figure to compare.

``--against REV`` times cold replications of another revision (its ``src`` and
``configs/baseline.yaml``, ``revision.checkout``; a revision with the steady start,
``salesim.model.start``, as ``0c3ed57`` and later have) and of this tree in the same run, each in a
fresh process, the two in turn for ``--rounds`` rounds. The other revision is a yardstick that
slows down with the machine. ``0c3ed57`` is where the work on issue 15 started, so the code the
issue timed at 0.74-1.1 s a replication as far as the history tells (the issue names no
commit): when it takes that long here, this tree's figure is the one to set against the
issue's 0.25 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import contextmanager

from revision import ROOT, checkout

DESIGNS = ("product", "customer_manager", "three_in_one")


def uptime() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


@contextmanager
def phases():
    """CPU seconds spent in the model's main parts while the block runs (each part exclusive:
    the steady start's own month of requests counts as steady start)."""
    from salesim.model import network, sales_model, start

    spent: dict[str, float] = defaultdict(float)
    stack: list[list] = []  # [label, CPU time when it last resumed]
    wrapped = [
        (start, "_settle", "steady start"),
        (network.RequestNetwork, "window", "requests"),
        (sales_model.SalesModel, "_month_end", "monthly cycle"),
    ]
    saved = []
    for owner, name, label in wrapped:
        original = getattr(owner, name)
        saved.append((owner, name, original))

        def timed(*args, _f=original, _label=label, **kwargs):
            now = time.process_time()
            if stack:
                spent[stack[-1][0]] += now - stack[-1][1]
            stack.append([_label, now])
            try:
                return _f(*args, **kwargs)
            finally:
                label_, since = stack.pop()
                now = time.process_time()
                spent[label_] += now - since
                if stack:
                    stack[-1][1] = now

        setattr(owner, name, timed)
    try:
        yield spent
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def one_replication(cfg, design: str, seed: int, demand: float, cold: bool) -> dict:
    from salesim import SalesModel, start

    overrides = {"model.requests.needs_per_customer_year": cfg.requests.needs_per_customer_year}
    overrides["model.requests.needs_per_customer_year"] *= demand
    if cold:
        start._CACHE.clear()
    with phases() as spent:
        c0, w0 = time.process_time(), time.perf_counter()
        m = SalesModel(cfg, design=design, rng=seed, overrides=overrides)
        built = time.process_time() - c0
        m.run()
        m.kpis()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    settle = spent["steady start"]
    return {
        "cpu": cpu,
        "wall": wall,
        "build": built - settle,
        "steady start": settle,
        "requests": spent["requests"],
        "monthly cycle": spent["monthly cycle"],
        "n_requests": m.log.n,
    }


def median_of(rows: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def baseline(repeats: int) -> None:
    from salesim import SalesModel, load_config

    cfg = load_config("configs/baseline.yaml").model
    SalesModel(cfg, rng=10_000, overrides={"model.horizon_days": 21}).run()  # imports, caches
    print(
        f"baseline: {cfg.population.customers} customers, {cfg.horizon_days} days; "
        f"{repeats} seeds: median and fastest (the least disturbed by other work); {uptime()}"
    )
    print(
        f"{'design':18s} {'cold cpu s':>10s} {'fastest':>8s} {'warm cpu s':>10s} {'fastest':>8s} "
        f"{'wall s':>7s} {'requests':>9s} {'req/cpu s':>10s}"
    )
    pairs = []
    for design in DESIGNS:
        colds = [one_replication(cfg, design, s, 1.0, True) for s in range(repeats)]
        warms = [one_replication(cfg, design, s, 1.0, False) for s in range(repeats)]
        cold, warm = median_of(colds), median_of(warms)
        pairs += [(c["cpu"] + w["cpu"]) / 2 for c, w in zip(colds, warms, strict=True)]
        print(
            f"{design:18s} {cold['cpu']:10.3f} {min(r['cpu'] for r in colds):8.3f} "
            f"{warm['cpu']:10.3f} {min(r['cpu'] for r in warms):8.3f} {cold['wall']:7.3f} "
            f"{cold['n_requests']:9.0f} {cold['n_requests'] / cold['cpu']:10.0f}"
        )
    # An experiment runs the designs of a replication one after another from one steady start.
    print(
        f"a replication in a paired experiment (cold and warm, averaged): median "
        f"{statistics.median(pairs):.3f} s, fastest {min(pairs):.3f} s"
    )

    print(f"\nwhere a cold customer_manager replication spends its CPU ({uptime()})")
    parts = ("build", "steady start", "requests", "monthly cycle")
    print(f"{'demand':>7s} {'total s':>8s} " + " ".join(f"{p:>13s}" for p in parts) + " rest s")
    split = {}
    for demand in (1.0, 0.01):
        r = median_of(
            [one_replication(cfg, "customer_manager", s, demand, True) for s in range(repeats)]
        )
        split[demand] = r
        rest = r["cpu"] - sum(r[p] for p in parts)
        print(
            f"{demand:7.0%} {r['cpu']:8.3f} "
            + " ".join(f"{r[p]:13.3f}" for p in parts)
            + f" {rest:6.3f}"
        )
    full, low = split[1.0], split[0.01]
    days = cfg.horizon_days
    marginal = (full["cpu"] - low["cpu"]) / max(full["n_requests"] - low["n_requests"], 1)
    per_day = low["cpu"] - low["build"] - low["steady start"] - low["monthly cycle"]
    print(
        f"fixed cost (the 1% run): {low['cpu']:.3f} s = {low['cpu'] / full['cpu']:.0%} of a "
        f"baseline run, of which per simulated day (requests and steps at 1%): "
        f"{1e3 * per_day / days:.3f} ms a day = {per_day / full['cpu']:.1%} of the run; "
        f"per month (monthly cycle) {1e3 * low['monthly cycle'] / (days / 21):.2f} ms; "
        f"marginal cost {1e6 * marginal:.2f} us per request"
    )


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
    t, c = time.perf_counter(), time.process_time()
    m = SalesModel(overrides=overrides)
    built = time.process_time() - c
    m.run()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "customers": customers,
        "build_s": built,
        "cpu_s": cpu,
        "wall_s": wall,
        "requests": m.log.n,
        "peak_mib": peak,
    }


def scaling(sizes: list[int], days: int) -> None:
    print(f"\nscaling: customer_manager, {days} days, staff in proportion ({uptime()})")
    print(
        f"{'customers':>9s} {'build s':>8s} {'cpu s':>8s} {'wall s':>8s} {'requests':>9s} "
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
        us = 1e6 * r["cpu_s"] / max(r["requests"], 1)
        print(
            f"{n:9d} {r['build_s']:8.2f} {r['cpu_s']:8.2f} {r['wall_s']:8.2f} {r['requests']:9d} "
            f"{us:10.2f} {r['peak_mib']:9.0f}"
        )


#: One process: imports, a short warm-up run, then cold replications of every design x 2 seeds.
AB_CHILD = """
import json, os, sys, time
os.chdir(sys.argv[1])
sys.path.insert(0, os.path.join(sys.argv[1], "src"))
import salesim
from salesim import SalesModel, load_config
try:  # the layered tree (issue 23) and before it
    from salesim.model import start
except ImportError:
    from salesim import start
tree = os.path.realpath(sys.argv[1])
if not os.path.realpath(salesim.__file__).startswith(tree + os.sep):
    sys.exit(f"salesim came from {salesim.__file__}, not from {tree}")
cfg = load_config("configs/baseline.yaml").model
SalesModel(cfg, rng=10_000, overrides={"model.horizon_days": 21}).run()
cpu = []
for design in ("product", "customer_manager", "three_in_one"):
    for seed in (0, 1):
        start._CACHE.clear()
        c = time.process_time()
        m = SalesModel(cfg, design=design, rng=seed)
        m.run()
        m.kpis()
        cpu.append(time.process_time() - c)
print(json.dumps(cpu))
"""


def against(rev: str, rounds: int) -> None:
    """Cold replications of ``rev`` and of this tree, in turn, in fresh processes."""
    with checkout(rev) as other:
        trees = [(rev, str(other)), ("this tree", str(ROOT))]
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
        cpu: dict[str, list[float]] = {name: [] for name, _ in trees}
        print(
            f"cold 2-year baseline replications, 3 designs x 2 seeds a process, CPU s: {rev} "
            f"against this tree, {rounds} rounds in turn ({uptime()})"
        )
        print(f"{'round':>5s} {'tree':>10s} {'median':>7s} {'fastest':>8s}  load")
        for r in range(rounds):
            for name, path in trees if r % 2 == 0 else trees[::-1]:
                out = subprocess.run(
                    [sys.executable, "-c", AB_CHILD, path],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=env,
                )
                times = json.loads(out.stdout)
                cpu[name] += times
                print(
                    f"{r:5d} {name:>10s} {statistics.median(times):7.3f} {min(times):8.3f}  "
                    f"{os.getloadavg()[0]:.2f}"
                )
    old, new = (statistics.median(cpu[name]) for name, _ in trees)
    print(
        f"medians: {rev} {old:.3f} s, this tree {new:.3f} s (n = {len(cpu[rev])} each): "
        f"this tree is {old / new:.2f}x faster"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--days", type=int, default=252)
    parser.add_argument("--against", metavar="REV", help="only: cold runs of REV and this tree")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of --against (default 4)")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_scale(args.one, args.days)))
        return
    if args.against:
        if args.rounds < 1:
            parser.error(f"--rounds: must be at least 1, got {args.rounds}")
        against(args.against, args.rounds)
        return
    baseline(repeats=args.repeats)
    sizes = [1_000, 3_000, 10_000] if args.quick else [1_000, 3_000, 10_000, 30_000, 100_000]
    scaling(sizes, args.days)


if __name__ == "__main__":
    main()
