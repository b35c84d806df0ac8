"""Instructions per replication, counted by valgrind: a cost that does not drift with the load.

Usage:
    .venv/bin/python benchmarks/bench_instructions.py                  # this tree
    .venv/bin/python benchmarks/bench_instructions.py --against HEAD~3  # and another commit

On a shared machine the CPU time of one replication drifts by a third within minutes, which
hides a 5-10% change. The number of instructions executed does not: valgrind's cachegrind
counts them (Python's hash seed fixed, one BLAS thread; repeats give the same count). Cold = a lone
replication (it computes its steady start); warm = another design of the same replication
(the steady start is cached, as in an experiment). Each figure is the difference between two
processes that do the same imports, so start-up is not counted. It takes a few minutes:
valgrind runs Python about 50 times slower. Needs ``valgrind`` (Debian: ``apt-get install
valgrind``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

from revision import ROOT, checkout

#: Builds the model ``runs`` times on seed 1: 0 = imports only, 1 = cold, 2 = cold then warm.
CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from salesim import SalesModel, load_config
cfg = load_config(sys.argv[2]).model
designs = [sys.argv[4], sys.argv[5]][: int(sys.argv[3])]
# Both from one steady start, as an experiment runs them (its baseline design's if unset).
start = {"model.start.design": cfg.start.design or sys.argv[4]}
for design in designs:
    m = SalesModel(cfg, design=design, rng=1, overrides=start)
    m.run()
    m.kpis()
"""


def instructions(src: Path, config: Path, runs: int, cold: str, warm: str) -> int:
    """Instructions valgrind counts for the child with ``runs`` replications."""
    cmd = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-c",
        CHILD,
        str(src),
        str(config),
        str(runs),
        cold,
        warm,
    ]
    # A fixed hash seed, and no idle BLAS threads spinning for a varying number of instructions.
    env = {**os.environ, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stderr
    found = re.search(r"I\s+refs:\s+([\d,]+)", out)
    if found is None:
        raise RuntimeError(f"valgrind printed no instruction count:\n{out[-2000:]}")
    return int(found.group(1).replace(",", ""))


def measure(src: Path, config: Path, cold: str, warm: str) -> tuple[int, int]:
    """(cold, warm) instructions of one replication from the package in ``src``."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = list(pool.map(lambda k: instructions(src, config, k, cold, warm), (0, 1, 2)))
    return counts[1] - counts[0], counts[2] - counts[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(ROOT / "configs" / "baseline.yaml"))
    ap.add_argument("--design", default="customer_manager", help="the cold replication's design")
    ap.add_argument("--warm-design", default="product", help="the warm replication's design")
    ap.add_argument("--against", metavar="REV", help="also measure this git revision")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("bench_instructions: needs valgrind (Debian: apt-get install valgrind)")
    config = Path(args.config).resolve()
    rows = [("this tree", ROOT / "src")]
    with checkout(args.against) if args.against else nullcontext() as other:
        if other is not None:
            rows.append((args.against, other / "src"))
        print(f"{config.name}, seed 1: cold {args.design}, warm {args.warm_design}")
        print(f"{'source':16s} {'cold M instr':>13s} {'warm M instr':>13s}")
        first = None
        for name, src in rows:
            cold, warm = measure(src, config, args.design, args.warm_design)
            first = first or (cold, warm)
            change = ""
            if (cold, warm) != first:
                change = f"   this tree is {100 * (first[0] / cold - 1):+.1f}% cold, "
                change += f"{100 * (first[1] / warm - 1):+.1f}% warm"
            print(f"{name:16s} {cold / 1e6:13.1f} {warm / 1e6:13.1f}{change}")


if __name__ == "__main__":
    main()
