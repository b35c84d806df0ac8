"""Reading the largest customer files salesim takes, and refusing the ones it does not.

Usage:
    .venv/bin/python benchmarks/bench_data_files.py            # every case
    .venv/bin/python benchmarks/bench_data_files.py --only csv # csv | parquet | xlsx | bomb

Each case writes its file in a temporary directory and runs ``salesim validate`` on it in a
fresh process, printing the wall time and that process's peak resident memory (``ru_maxrss``
of the child). The cases: a million customers (the top of ``model.population.customers``) as
CSV and as Parquet, an .xlsx at its row limit (``MAX_XLSX_ROWS``), and an .xlsx zip bomb of
under a megabyte that expands past the uncompressed limit. tests/test_data_safety.py checks
the same files behave within 1 GiB; this script says how long and how much.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

CASES = ("csv", "parquet", "xlsx", "bomb")


def frame(n: int):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "customer_id": np.char.add("C", np.arange(n).astype(str)),
            "region": rng.choice(["North", "South", "East"], n),
            "channel": rng.choice(["direct", "distributor"], n),
            "HDPE": rng.integers(1, 500, n),
            "PP": rng.integers(0, 500, n),
        }
    )


def make(case: str, folder: Path) -> Path:
    from salesim.model.own_data.excel import MAX_XLSX_ROWS
    from salesim.model.own_data.tables import MAX_ROWS

    if case == "csv":
        path = folder / "customers.csv"
        frame(MAX_ROWS).to_csv(path, index=False)
    elif case == "parquet":
        path = folder / "customers.parquet"
        frame(MAX_ROWS).to_parquet(path, index=False)
    else:
        import openpyxl

        path = folder / "customers.xlsx"
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("Customers")
        data = frame(MAX_XLSX_ROWS if case == "xlsx" else 1)
        sheet.append(list(data.columns))
        for row in data.itertuples(index=False):
            sheet.append([row.customer_id, row.region, row.channel, int(row.HDPE), int(row.PP)])
        book.save(path)
        if case == "bomb":
            with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
                with archive.open("xl/worksheets/padding.xml", "w", force_zip64=True) as fh:
                    for _ in range(1_400):
                        fh.write(b"<row/>" * 100_000)
    (folder / "cfg.yaml").write_text(
        f"model: {{population: {{customers_file: {path.name}, lines: [HDPE, PP]}}}}\n"
    )
    return path


def measure(folder: Path) -> tuple[float, int, int, str]:
    """(seconds, peak RSS in MiB, exit status, last stderr line) of ``salesim validate``."""
    code = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run([sys.executable, '-m', 'salesim', 'validate', 'cfg.yaml'],"
        " capture_output=True, text=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)\n"
        "print((done.stderr.strip().splitlines() or [''])[-1][:160])\n"
    )
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - began
    first, message = (done.stdout.splitlines() + [""])[:2]
    rss, status = map(int, first.split())
    return seconds, rss // 1024, status, message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=CASES)
    args = parser.parse_args()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for case in [args.only] if args.only else CASES:
        with tempfile.TemporaryDirectory() as tmp:
            path = make(case, Path(tmp))
            size = path.stat().st_size
            seconds, rss, status, message = measure(Path(tmp))
            said = f" ({message})" if status else ""
            print(
                f"{case:8s} {size / 1e6:7.2f} MB file: exit {status} in {seconds:5.1f} s, "
                f"peak {rss:4d} MiB{said}"
            )


if __name__ == "__main__":
    main()
