"""What a customer file adds to a run: model construction from a Parquet book vs the synthetic draw.

Usage:
    .venv/bin/python benchmarks/bench_customer_file.py                  # 100,000 customers
    .venv/bin/python benchmarks/bench_customer_file.py --customers 20000 --repeats 5

The file is the config's own synthetic book written by ``salesim template customers``, so both
sides build the same world. Both sides are measured in this process, interleaved, so machine
load hits them alike. "first" is the first model built from the file in a fresh process: it
pays the pandera import and the read, which an experiment worker pays once (the validated book
is then cached per process); "reread" clears that cache. Staff scale with customers (one
sales person per 50 customers) as in bench_model.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 2.0


def config(customers: int, customers_file: str | None = None):
    from salesim.params import ModelConfig

    per = customers / 1500
    return ModelConfig.model_validate(
        {
            "population": {"customers": customers, "customers_file": customers_file},
            "staff": {
                "sales_staff": max(30, round(30 * per)),
                "product_managers_per_line": max(1, round(per)),
                "regional_managers_per_region": max(1, round(per)),
                "planners": max(3, round(3 * per)),
            },
        }
    )


def build_seconds(cfg) -> tuple[float, float]:
    """(wall, CPU) seconds to construct a model; CPU time is less sensitive to other load."""
    from salesim import SalesModel

    t, c = time.perf_counter(), time.process_time()
    SalesModel(cfg)
    return time.perf_counter() - t, time.process_time() - c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from salesim.customer_file import customers_frame
    from salesim.datafiles import _read_once
    from salesim.population import CustomerBook
    from salesim.streams import RandomStreams

    synthetic = config(args.customers)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "customers.parquet"
        book = CustomerBook(synthetic, RandomStreams(synthetic.seed)["customers"])
        customers_frame(book, synthetic).to_parquet(path, index=False)
        own = config(args.customers, str(path))
        size = path.stat().st_size / 2**20

        build_seconds(synthetic)  # warm the model's own imports and caches first
        first = build_seconds(own)
        syn, reread = [], []
        for _ in range(args.repeats):
            syn.append(build_seconds(synthetic))
            _read_once.cache_clear()
            reread.append(build_seconds(own))

    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    s = [statistics.median(x[i] for x in syn) for i in (0, 1)]
    r = [statistics.median(x[i] for x in reread) for i in (0, 1)]
    print(f"uptime: {load}")
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
    print(f"{args.customers:,} customers, Parquet file {size:.1f} MiB, median of {args.repeats}")
    print(f"{'model construction':40s} {'wall s':>8s} {'added':>7s} {'CPU s':>8s} {'added':>7s}")
    for label, (wall, cpu) in [
        ("synthetic draw", s),
        ("from the file", r),
        ("first from the file (+ pandera import)", first),
    ]:
        print(f"{label:40s} {wall:8.2f} {wall - s[0]:+7.2f} {cpu:8.2f} {cpu - s[1]:+7.2f}")
    worst = first[1] - s[1]
    verdict = "under" if worst < TARGET_SECONDS else "OVER"
    print(f"added to a run: {worst:.2f} CPU s at most, {verdict} the {TARGET_SECONDS:.0f} s target")


if __name__ == "__main__":
    main()
