"""Start-up time of the ``salesim`` command, and where the import time goes.

Prints, for each command, the best of 5 whole-process wall times, then the import time of
each command split by top-level package (``python -X importtime``, self times summed), and
what Mesa's own import costs, child by child. Run on an idle machine for the figures quoted
in issues; ``uptime`` is printed alongside because the machine is shared.

    python benchmarks/bench_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMANDS = {
    "salesim --help": ["--help"],
    "salesim validate configs/baseline.yaml": ["validate", "configs/baseline.yaml"],
    "salesim params": ["params"],
    "salesim schema": ["schema"],
    "salesim simulate configs/baseline.yaml": ["simulate", "configs/baseline.yaml"],
}
#: Commands whose import split is printed.
SPLIT = (
    "salesim --help",
    "salesim validate configs/baseline.yaml",
    "salesim simulate configs/baseline.yaml",
)


def run(args: list[str], importtime: bool = False) -> tuple[float, str]:
    """Wall time of ``python -m salesim ARGS`` as a whole process, and its stderr."""
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "salesim", *args]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=os.environ)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return seconds, done.stderr


def parse_importtime(stderr: str) -> list[tuple[int, int, int, str]]:
    """(depth, self us, cumulative us, module) per line of ``-X importtime`` output."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = line[len("import time:") :].split("|")
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        rows.append((depth, int(self_us), int(cum_us), name.strip()))
    return rows


def split_by_package(rows: list[tuple[int, int, int, str]]) -> dict[str, float]:
    """Seconds of import time per top-level package (Python's own modules as 'stdlib')."""
    out: dict[str, float] = defaultdict(float)
    for _, self_us, _, name in rows:
        top = name.split(".")[0]
        key = "stdlib" if top in sys.stdlib_module_names or top.startswith("_") else top
        out[key] += self_us / 1e6
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def mesa_children(rows: list[tuple[int, int, int, str]]) -> tuple[float, list[tuple[str, float]]]:
    """Mesa's cumulative import time and that of each module it imports directly."""
    for i, (depth, _, cum_us, name) in enumerate(rows):
        if name == "mesa":
            # -X importtime prints children before their parent, one level deeper.
            children = []
            j = i - 1
            while j >= 0 and rows[j][0] > depth:
                if rows[j][0] == depth + 1:
                    children.append((rows[j][3], rows[j][2] / 1e6))
                j -= 1
            return cum_us / 1e6, sorted(children, key=lambda kv: -kv[1])
    return 0.0, []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (best is shown)")
    args = parser.parse_args()
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"uptime: {load}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores\n")
    print(f"whole process, best of {args.repeat} (median in brackets):")
    for label, cmd in COMMANDS.items():
        times = sorted(run(cmd)[0] for _ in range(args.repeat))
        print(f"  {label:<42} {times[0]:6.2f} s  ({times[len(times) // 2]:.2f} s)")
    for label in SPLIT:
        rows = parse_importtime(run(COMMANDS[label], importtime=True)[1])
        split = split_by_package(rows)
        total = sum(split.values())
        print(f"\nimport time of '{label}': {total:.2f} s (one run, self times by package)")
        for package, seconds in list(split.items())[:12]:
            print(f"  {package:<20} {seconds:6.3f} s  {100 * seconds / total:5.1f}%")
        loaded = {name.split(".")[0] for *_, name in rows}
        print(f"  loads mesa: {'mesa' in loaded}, pandas: {'pandas' in loaded}")
        mesa_total, children = mesa_children(rows)
        if mesa_total:
            print(f"  'import mesa' altogether: {mesa_total:.2f} s; its direct imports:")
            for name, seconds in children[:8]:
                print(f"    {name:<32} {seconds:6.3f} s")
            cumulative = {name: cum / 1e6 for _, _, cum, name in rows}
            own = {name: self_us / 1e6 for _, self_us, _, name in rows}
            print("  of which (cumulative, wherever first imported):")
            for name in ("networkx", "scipy.spatial", "mesa.batchrunner", "tqdm"):
                if name in cumulative:
                    print(f"    {name:<32} {cumulative[name]:6.3f} s")
            if "mesa.model" in own:
                print(
                    f"    {'mesa.model (own code)':<32} {own['mesa.model']:6.3f} s"
                    "  <- create_module_logger() calls inspect.stack()"
                )
    print(f"\nuptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
