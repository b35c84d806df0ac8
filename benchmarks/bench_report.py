"""Report build time: the 60-run comparison (target < 10 s) or the 5,120-run Sobol (< 60 s).

Usage:
    .venv/bin/python benchmarks/bench_report.py [--out results/compare_designs] [--repeat 3]
    .venv/bin/python benchmarks/bench_report.py --config configs/robustness_sobol.yaml \
        --out results/robustness_sobol --repeat 1      # 2,560 sweep points (a long run first)

Runs the config into --out first if it is not complete there (a few minutes), then builds
report.html --repeat times in fresh processes (so each build pays for its imports, as
``salesim report`` does) and prints wall and CPU seconds per build, the load average beside
them (the machine may be shared: CPU seconds are the steadier figure), the number of figures
and the size of the report.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

BUILD = """
import json, sys, time
t0 = time.perf_counter()
c0 = time.process_time()
from salesim.report.build import build_report
t1 = time.perf_counter()
c1 = time.process_time()
build_report(sys.argv[1])
t2 = time.perf_counter()
c2 = time.process_time()
print(json.dumps({"import": t1 - t0, "build": t2 - t1, "total": t2 - t0,
                  "cpu": c2 - c0, "build_cpu": c2 - c1}))
"""


def ensure_results(config: str, out: Path) -> None:
    manifest = out / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("status") == "complete":
        return
    print(f"running {config} into {out} first ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "salesim", "run", config, "--out", str(out), "--resume",
         "--no-report"],
        check=True,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/compare_designs.yaml")
    parser.add_argument("--out", default="results/compare_designs")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    out = Path(args.out)
    ensure_results(args.config, out)
    runs = json.loads((out / "manifest.json").read_text())["runs"]["done"]
    times = []
    for _ in range(args.repeat):
        load = os.getloadavg()[0]
        done = subprocess.run(
            [sys.executable, "-c", BUILD, str(out)], capture_output=True, text=True, check=True
        )
        t = json.loads(done.stdout)
        times.append(t)
        print(
            f"build {t['build']:.2f} s wall, {t['build_cpu']:.2f} s CPU (+ imports "
            f"{t['import']:.2f} s; total {t['total']:.2f} s wall, {t['cpu']:.2f} s CPU), "
            f"load average {load:.2f}",
            flush=True,
        )
    figures = len(list((out / "figures").glob("*.png")))
    size = (out / "report.html").stat().st_size / 1e6
    total = statistics.median(t["total"] for t in times)
    cpu = statistics.median(t["cpu"] for t in times)
    build_cpu = statistics.median(t["build_cpu"] for t in times)
    print(
        f"{runs} runs: median {total:.2f} s wall, {cpu:.2f} s CPU per `salesim report` "
        f"({build_cpu:.2f} s CPU building, the rest imports; target < "
        f"{10 if runs <= 1000 else 60} s); "
        f"{figures} figures, report.html {size:.1f} MB; uptime: "
        + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    )


if __name__ == "__main__":
    main()
