"""Limits and faults: head-counts at the top of their range, refusals, and how fast runs stop.

Usage:
    .venv/bin/python benchmarks/bench_limits.py                 # everything
    .venv/bin/python benchmarks/bench_limits.py --only staff    # staff | refuse | stop
    .venv/bin/python benchmarks/bench_limits.py --against ../other/src   # staff, both trees

``staff``: building and running the model with 1,000 to 100,000 sales staff (the documented
maximum), each size in a fresh subprocess; ``--against SRC`` runs the same sizes with another
source tree in the same session, for a before/after comparison under the same load.
``refuse``: seconds until a hostile config (alias bomb, a 10-million-point grid) is refused.
``stop``: seconds from SIGINT (to the process group, as Ctrl-C), SIGTERM or SIGKILL to the
coordinator's exit and to its last worker's death, with ``--executor process``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def uptime() -> str:
    try:
        return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "load average unknown"


def one_size(staff: int, days: int) -> dict:
    from salesim import SalesModel

    overrides = {"model.staff.sales_staff": staff, "model.horizon_days": days}
    t = time.perf_counter()
    model = SalesModel(overrides=overrides)
    built = time.perf_counter() - t
    model.run()
    return {"build_s": built, "run_s": time.perf_counter() - t - built}


def staff(days: int, sources: list[str], timeout: int) -> None:
    print(f"\nstaff: customer_manager, 1,500 customers, {days} days ({uptime()})")
    print(f"{'source':30s} {'staff':>7s} {'build s':>8s} {'run s':>8s}")
    for size in (1_000, 10_000, 30_000, 100_000):
        for src in sources:
            env = {**os.environ, "PYTHONPATH": src}
            try:
                done = subprocess.run(
                    [sys.executable, __file__, "--one", str(size), "--days", str(days)],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=timeout,
                )
            except subprocess.TimeoutExpired:
                print(f"{src[-30:]:30s} {size:7d} no answer in {timeout} s")
                continue
            if done.returncode != 0:
                print(f"{src[-30:]:30s} {size:7d} failed: {done.stderr.strip()[-200:]}")
                continue
            r = json.loads(done.stdout)
            print(f"{src[-30:]:30s} {size:7d} {r['build_s']:8.2f} {r['run_s']:8.2f}")


def refuse() -> None:
    from salesim import ConfigError, load_config

    bomb = "a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    params = [f"model.churn.{k}" for k in ("satisfaction", "relationship", "competitor")]
    params += [f"model.wallet.{k}" for k in ("satisfaction", "relationship", "competitor")]
    params += ["model.channel.fallback_response"]
    grid = "experiment:\n  sweep:\n    parameters:\n" + "".join(
        f"      - {{path: {p}, role: lever, range: {{first: 0, step: 0.1, last: 0.9}}}}\n"
        for p in params
    )
    print(f"\nrefuse ({uptime()})")
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in (("alias bomb", bomb), ("grid of 10^7 points", grid)):
            path = Path(tmp) / "hostile.yaml"
            path.write_text(text)
            t = time.perf_counter()
            try:
                load_config(path)
                outcome = "accepted"
            except ConfigError as exc:
                outcome = str(exc).split(": ", 1)[1][:70]
            took = time.perf_counter() - t
            print(f"{name:22s} {len(text):5d} bytes  {took:6.3f} s  {outcome}")


CONFIG = """
name: stop
model: {horizon_days: 252, population: {customers: 600}, staff: {sales_staff: 9}}
experiment: {designs: [product, customer_manager], replications: 40}
"""


def stop(repeats: int) -> None:
    import psutil

    print(f"\nstop: salesim run --executor process --workers 2 ({uptime()})")
    print(f"{'signal':8s} {'exit s':>7s} {'workers gone s':>15s}")
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "stop.yaml"
        config.write_text(CONFIG)
        for how in ("SIGINT", "SIGTERM", "SIGKILL"):
            for i in range(repeats):
                out = Path(tmp) / f"out-{how}-{i}"
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "salesim",
                        "run",
                        str(config),
                        "--out",
                        str(out),
                        "--workers",
                        "2",
                        "--no-report",
                    ],  # fmt: skip
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                while not list(out.glob("parts/batch-*.json")):
                    time.sleep(0.05)
                workers = psutil.Process(proc.pid).children(recursive=True)
                t = time.perf_counter()
                sig = getattr(signal, how)
                os.killpg(proc.pid, sig) if how == "SIGINT" else os.kill(proc.pid, sig)
                proc.wait()
                exited = time.perf_counter() - t
                while any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers):
                    time.sleep(0.01)
                print(f"{how:8s} {exited:7.2f} {time.perf_counter() - t:15.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("staff", "refuse", "stop"))
    parser.add_argument("--days", type=int, default=504)
    parser.add_argument("--against", help="another source tree (its src/) to compare with")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per size (staff)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.days)))
        return
    sources = [str(HERE / "src"), *([str(Path(args.against).resolve())] if args.against else [])]
    if args.only in (None, "staff"):
        staff(args.days, sources, args.timeout)
    if args.only in (None, "refuse"):
        refuse()
    if args.only in (None, "stop"):
        stop(args.repeats)


if __name__ == "__main__":
    main()
