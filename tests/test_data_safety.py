"""Never lose, shrink or mix a user's data; every input checked at the boundary, in one line.

Each case is one a hostile probe found on an earlier version (issues 24 and 28): a report that
deleted or shrank stored tables, outputs written over their inputs, data files outside the
study's identity, YAML 1.1 numbers, booleans taken as volumes, zip bombs, FIFOs, URIs for
directories. Every test makes its inputs in ``tmp_path`` and checks, with ``Untouched``, that
no file outside the study's own outputs changed. Bounds of time and memory are enforced by
running the command in a child process with an address-space limit (and a generous timeout
as a guard against a hang), never by reading a clock.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from salesim import cli
from salesim.experiments import runner, store
from salesim.model.inputs.params import ConfigError, ModelConfig
from salesim.viz.panes import build_config

SMALL = """\
name: safety
model:
  horizon_days: 21
  population: {customers: 60}
  staff: {sales_staff: 9}
experiment:
  designs: [product, customer_manager]
  replications: 3
  seed: 5
"""
TABLES = ("runs.parquet", "timeseries.parquet", "responses.parquet")
HEADER = "customer_id,region,channel,HDPE,PP\n"
ROWS = "".join(f"C{i},{'North' if i % 2 else 'South'},direct,{i + 1},{i % 3}\n" for i in range(40))
GiB = 1 << 30


class Untouched:
    """The hash of every file under a folder now; ``check()`` says none changed or vanished.

    Files under ``outputs`` (the study's own directory) are left out; new files elsewhere are
    reported too (nothing may be written outside the outputs).
    """

    def __init__(self, root: Path, *outputs: Path) -> None:
        self.root, self.outputs = root, [o.resolve() for o in outputs]
        self.before = self._hashes()

    def _hashes(self) -> dict[Path, str]:
        out = {}
        for path in self.root.rglob("*"):
            if any(o == path.resolve() or o in path.resolve().parents for o in self.outputs):
                continue
            if path.is_file() and not path.is_symlink():
                out[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        return out

    def check(self) -> None:
        assert self._hashes() == self.before


def one_line(capsys, argv: list[str], status: int = 2) -> str:
    """Run the CLI; assert ``status`` and exactly one line ``salesim: error: ...`` on stderr."""
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("salesim: error: "), err
    assert "Traceback" not in err
    return lines[0]


def run_argv(cfg: Path, out: Path, *extra: str) -> list[str]:
    return ["run", str(cfg), "--out", str(out), "--executor", "sequential", "--no-report", *extra]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def with_customers(tmp_path: Path, name: str, extra: str = "") -> Path:
    """A small experiment on the customer file ``name`` (lines HDPE and PP)."""
    return write(
        tmp_path / "cfg.yaml",
        SMALL.replace(
            "population: {customers: 60}",
            f"population: {{customers_file: {name}, lines: [HDPE, PP]}}",
        )
        + extra,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The small study, run once uninterrupted: what every repair must give."""
    root = tmp_path_factory.mktemp("reference")
    cfg = write(root / "cfg.yaml", SMALL)
    assert cli.main(run_argv(cfg, root / "out")) == 0
    return {t: pd.read_parquet(root / "out" / t) for t in TABLES}


@pytest.fixture
def finished(reference, tmp_path, capsys):
    """A finished copy of the small study in ``tmp_path/out`` (and its config)."""
    cfg = write(tmp_path / "cfg.yaml", SMALL)
    assert cli.main(run_argv(cfg, tmp_path / "out")) == 0
    capsys.readouterr()
    return cfg, tmp_path / "out"


def same_tables(out: Path, reference: dict[str, pd.DataFrame]) -> None:
    for table in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(out / table), reference[table])


def stored(out: Path) -> dict[str, bytes]:
    return {t: (out / t).read_bytes() for t in TABLES}


# --- 1. no command deletes, shrinks or overwrites what it did not write ------------------------


def damage_parts_missing(out: Path) -> None:
    shutil.rmtree(out / "parts")


def damage_parts_a_file(out: Path) -> None:
    shutil.rmtree(out / "parts")
    (out / "parts").write_text("not a folder")


def damage_fingerprint(out: Path) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["fingerprint"] = "0" * 16
    (out / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "damage",
    [damage_parts_missing, damage_parts_a_file, damage_fingerprint],
    ids=lambda f: f.__name__,
)
def test_report_never_deletes_stored_tables(finished, capsys, damage):
    """These used to delete runs.parquet, timeseries.parquet and responses.parquet."""
    cfg, out = finished
    damage(out)
    before = stored(out)
    keep = Untouched(out.parent, out / "report.html", out / "figures", out / ".salesim.lock")
    one_line(capsys, ["report", str(out)])
    assert stored(out) == before
    keep.check()


def test_report_on_a_damaged_part_does_not_shrink_the_whole_table(finished, capsys):
    """runs.parquet, intact and checksum-verified, used to be rewritten from 6 rows to 4."""
    cfg, out = finished
    part = out / "parts" / "runs-r000-b000001.parquet"
    part.write_bytes(part.read_bytes()[:60])
    before = stored(out)
    assert cli.main(["report", str(out)]) == 0
    text = (out / "report.html").read_text()
    assert "Partial results" in text and "fails its checksum" in text
    assert stored(out) == before and len(pd.read_parquet(out / "runs.parquet")) == 6


def test_resume_of_a_damaged_whole_study_rebuilds_it(finished, capsys, reference):
    """One damaged batch: the line says it is re-run, and never 'already complete'."""
    cfg, out = finished
    part = out / "parts" / "ts-r000-b000002.parquet"
    part.write_bytes(b"garbage")
    assert cli.main(run_argv(cfg, out, "--resume")) == 0
    err = capsys.readouterr().err
    assert "re-running them" in err and "already complete" not in err
    same_tables(out, reference)


TARGETS = """\
targets:
  retention_rate: {value: 0.8, tolerance: 0.05}
parameters:
  - {path: model.churn.intercept, low: -3, high: 0}
replications: 1
max_evaluations: 2
"""


@pytest.mark.parametrize("which", ["config", "its parent", "targets", "customers"])
def test_calibrate_out_that_is_an_input_is_refused(tmp_path, capsys, which):
    """--out equal to the config used to overwrite it; equal to the targets, silently."""
    write(tmp_path / "customers.csv", HEADER + ROWS)
    write(tmp_path / "base.yaml", SMALL.split("experiment:")[0])
    cfg = write(
        tmp_path / "cfg.yaml",
        "extends: base.yaml\nmodel:\n  population: {customers_file: customers.csv, "
        "lines: [HDPE, PP]}\n",
    )
    targets = write(tmp_path / "targets.yaml", TARGETS)
    out = {
        "config": cfg,
        "its parent": tmp_path / "base.yaml",
        "targets": targets,
        "customers": tmp_path / "customers.csv",
    }[which]
    keep = Untouched(tmp_path)
    argv = ["calibrate", str(cfg), "--targets", str(targets), "--out", str(out)]
    assert "is an input of this command" in one_line(capsys, argv)
    keep.check()


def test_calibrate_never_overwrites_a_file_it_did_not_write(tmp_path, capsys):
    cfg = write(tmp_path / "cfg.yaml", SMALL.split("experiment:")[0])
    targets = write(tmp_path / "targets.yaml", TARGETS)
    mine = write(tmp_path / "notes.yaml", "my notes\n")
    keep = Untouched(tmp_path)
    argv = ["calibrate", str(cfg), "--targets", str(targets), "--out", str(mine)]
    assert "salesim did not write it" in one_line(capsys, argv)
    keep.check()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_template_out_never_overwrites_the_customer_file(tmp_path, capsys, suffix):
    """It used to fill 198 blank cells of the user's file with drawn values, exit 0."""
    path = tmp_path / f"customers{suffix}"
    frame = pd.read_csv(io.StringIO(HEADER + ROWS))
    frame["satisfaction"] = np.nan
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_excel(path, index=False)
    cfg = write(
        tmp_path / "cfg.yaml",
        f"model: {{population: {{customers_file: customers{suffix}, lines: [HDPE, PP]}}}}\n",
    )
    keep = Untouched(tmp_path)
    argv = ["template", "customers", "--config", str(cfg), "--out", str(path)]
    assert "is an input of this command" in one_line(capsys, argv)
    other = write(tmp_path / "other.csv", "mine\n")
    keep = Untouched(tmp_path)
    argv = ["template", "customers", "--config", str(cfg), "--out", str(other)]
    assert "salesim did not write it" in one_line(capsys, argv)
    keep.check()


def test_run_out_holding_an_input_or_foreign_files_is_refused(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    write(data / "customers.csv", HEADER + ROWS)
    cfg = with_customers(tmp_path, "data/customers.csv")
    keep = Untouched(tmp_path)
    assert "holds customers.csv, an input" in one_line(capsys, run_argv(cfg, data))
    assert "is an input of this command" in one_line(capsys, run_argv(cfg, cfg))
    (tmp_path / "mine").mkdir()
    write(tmp_path / "mine" / "thesis.txt", "years of work")
    keep = Untouched(tmp_path)
    assert "holds files but no salesim manifest" in one_line(
        capsys, run_argv(cfg, tmp_path / "mine")
    )
    keep.check()


# --- 2. a study's identity includes every file it reads ------------------------------------


def test_an_edited_scenario_data_file_is_named_and_never_mixed(tmp_path, capsys):
    """It used to say 'already complete' on the old file (revenue 388 M instead of 3,400 M)."""
    write(tmp_path / "customers.csv", HEADER + ROWS)
    write(tmp_path / "bigger.csv", HEADER + ROWS.replace(",direct,", ",distributor,"))
    scenario = "  scenarios:\n    bigger: {model.population.customers_file: bigger.csv}\n"
    cfg = with_customers(tmp_path, "customers.csv", scenario)
    out = tmp_path / "out"
    assert cli.main(run_argv(cfg, out)) == 0
    records = [json.loads(p.read_text()) for p in (out / "parts").glob("batch-*.json")]
    digest = hashlib.sha256((tmp_path / "bigger.csv").read_bytes()).hexdigest()
    assert all(r["data_files"][str(tmp_path / "bigger.csv")] == digest for r in records)
    write(tmp_path / "bigger.csv", HEADER + ROWS.replace(",1\n", ",100\n"))
    before = stored(out)
    for extra in ([], ["--resume"]):
        line = one_line(capsys, run_argv(cfg, out, *extra))
        assert "bigger.csv changed since this study started" in line
    assert stored(out) == before


def test_a_customer_file_replaced_during_the_run_stops_it(tmp_path, capsys, monkeypatch):
    """Replications 0-5 on the old book and 6-23 on the new, exit 0: now one line, exit 2."""
    book = write(tmp_path / "customers.csv", HEADER + ROWS)
    cfg = with_customers(tmp_path, "customers.csv")
    out = tmp_path / "out"
    real, calls = runner.run_one, []

    def replace_after_two(cfg, run):
        calls.append(run.run_id)
        if len(calls) == 3:
            write(book, HEADER + ROWS.replace(",direct,", ",distributor,"))
        return real(cfg, run)

    monkeypatch.setattr(runner, "run_one", replace_after_two)
    line = one_line(capsys, run_argv(cfg, out))
    assert "customers.csv: changed while the study ran" in line and "--resume" in line
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["runs"]["done"] == 2


# --- 3. inputs checked at the boundary ------------------------------------------------------

YAML_CASES = [
    ("leading zero (YAML 1.1: octal 24)", "staff: {sales_staff: 030}", "030 is read as 24"),
    ("sexagesimal (YAML 1.1: 90)", "staff: {sales_staff: 1:30}", "1:30 is read as 90"),
    ("hexadecimal", "staff: {sales_staff: 0x10}", "0x10 is read as 16"),
    ("underscores", "population: {customers: 1_000}", "write the number 1000"),
    ("1e3 where a whole number belongs", "seed: 1e3", "got 1000.0); write it as 1000"),
]


@pytest.mark.parametrize(("case", "text", "expected"), YAML_CASES, ids=[c[0] for c in YAML_CASES])
def test_ambiguous_yaml_numbers_are_refused(tmp_path, capsys, case, text, expected):
    cfg = write(tmp_path / "cfg.yaml", f"model:\n  {text}\n")
    assert expected in one_line(capsys, ["validate", str(cfg)])


def test_yaml_words_are_text_by_yaml_1_2(tmp_path, capsys):
    """A scenario named off, a line named NO: YAML 1.1 made them False ('got False')."""
    cfg = write(
        tmp_path / "cfg.yaml",
        "model:\n  horizon_days: 21\n  population: {customers: 60, lines: [HDPE, NO]}\n"
        "experiment:\n  designs: [product]\n  scenarios:\n    off: {model.market.surge: true}\n",
    )
    assert cli.main(["validate", str(cfg)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    line = one_line(capsys, ["validate", str(cfg), "--set", "model.market.surge=yes"])
    assert "model.market.surge: Input should be a valid boolean (got 'yes')" in line


def xlsx(path: Path, rows: list[list], sheets: dict[str, list[list]] | None = None) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Customers"
    for row in rows:
        sheet.append(row)
    for title, more in (sheets or {}).items():
        other = book.create_sheet(title)
        for row in more:
            other.append(row)
    book.save(path)
    return path


XLSX_HEADER = ["customer_id", "region", "channel", "HDPE", "PP"]


def xlsx_merged(path: Path) -> Path:
    xlsx(path, [XLSX_HEADER, ["A", "North", "direct", 1, 2], ["B", None, "direct", 3, 4]])
    book = openpyxl.load_workbook(path)
    book.active.merge_cells("B2:B3")
    book.save(path)
    return path


FILE_CASES = [
    (
        "xlsx TRUE cell as a volume",
        lambda p: xlsx(p / "c.xlsx", [XLSX_HEADER, ["A", "North", "direct", True, 2]]),
        "c.xlsx: sheet 'Customers', row 2, column HDPE: TRUE is a boolean cell",
    ),
    (
        "xlsx formula without a stored value",
        lambda p: xlsx(p / "c.xlsx", [XLSX_HEADER, ["A", "North", "direct", "=1+1", 2]]),
        "row 2, column HDPE: the formula =1+1 has no stored value",
    ),
    (
        "xlsx #DIV/0!",
        lambda p: xlsx(p / "c.xlsx", [XLSX_HEADER, ["A", "North", "direct", "#DIV/0!", 2]]),
        "row 2, column HDPE: Excel error #DIV/0!",
    ),
    (
        "xlsx date as a volume",
        lambda p: xlsx(
            p / "c.xlsx", [XLSX_HEADER, ["A", "North", "direct", pd.Timestamp("2005-01-03"), 2]]
        ),
        "row 2, column HDPE: 2005-01-03 00:00:00 is a date or time cell",
    ),
    ("xlsx merged cells", lambda p: xlsx_merged(p / "c.xlsx"), "cells B2:B3 are merged"),
    (
        "xlsx rows on the second sheet",
        lambda p: xlsx(p / "c.xlsx", [], {"Data": [XLSX_HEADER, ["A", "North", "direct", 1, 2]]}),
        "sheet 'Customers': is empty; salesim reads the first sheet of the workbook; the rows "
        "seem to be on sheet 'Data'",
    ),
    (
        "parquet boolean column",
        lambda p: pd.DataFrame(
            {
                "customer_id": ["A"],
                "region": ["N"],
                "channel": ["direct"],
                "HDPE": [True],
                "PP": [1],
            }
        ).to_parquet(p / "c.parquet"),
        "c.parquet: column HDPE: a boolean column",
    ),
    (
        "parquet nested column",
        lambda p: pd.DataFrame(
            {
                "customer_id": ["A"],
                "region": ["N"],
                "channel": ["direct"],
                "HDPE": [[1, 2]],
                "PP": [1],
            }
        ).to_parquet(p / "c.parquet"),
        "c.parquet: column HDPE: type list<element: int64> is not read",
    ),
    (
        "parquet date column",
        lambda p: pd.DataFrame(
            {
                "customer_id": ["A"],
                "region": ["N"],
                "channel": ["direct"],
                "HDPE": pd.to_datetime(["2005-01-01"]),
                "PP": [1],
            }
        ).to_parquet(p / "c.parquet"),  # fmt: skip
        "c.parquet: column HDPE: type timestamp",
    ),
    (
        "csv latin-1",
        lambda p: (p / "c.csv").write_bytes((HEADER + "A,Malm\xf6,direct,1,2\n").encode("latin-1")),
        "c.csv: line 2: not UTF-8 text (byte 0xf6); save it as 'CSV UTF-8'",
    ),
    (
        "csv with ; separators",
        lambda p: write(p / "c.csv", HEADER.replace(",", ";") + "A;North;direct;1;2\n"),
        "columns are separated by ';'",
    ),
    (
        "csv error after a quoted newline names its own line",
        lambda p: write(
            p / "c.csv", HEADER + 'A,"North\nby west",direct,1,2\nB,South,direct,-4,1\n'
        ),
        "c.csv: line 4, column HDPE: negative volume -4.0",
    ),
    (
        "csv with 100,000 columns",
        lambda p: write(p / "c.csv", ",".join(f"x{i}" for i in range(100_000)) + "\n"),
        "c.csv: line 1: 100,000 columns; a data file has at most 64",
    ),
    (
        "csv with an unclosed quote",
        lambda p: write(p / "c.csv", HEADER + 'A,"North,direct,1,2\nB,S,direct,1,2\n'),
        "c.csv: line 2: cannot read it as csv",
    ),
    (
        "csv with a row longer than its header",
        lambda p: write(p / "c.csv", HEADER + "A,N,direct,1,2\nB,S,direct,1,2,3,4\n"),
        "c.csv: line 3: cannot read it as csv",
    ),
    (
        "a parquet file that is not one",
        lambda p: (p / "c.parquet").write_bytes(b"PAR1" + bytes(range(256)) * 4),
        "c.parquet: cannot read it as parquet",
    ),
    (
        "a volume of 1e300",
        lambda p: write(p / "c.csv", HEADER + "A,North,direct,1e300,0\n"),
        "column HDPE: volume 1e+300 is more than 100,000,000 tonnes a year",
    ),
    (
        "a wallet share of 1e-300",
        lambda p: write(p / "c.csv", HEADER.strip() + ",wallet_share\nA,North,direct,1,0,1e-300\n"),
        "column wallet_share: must be 0.001 to 1, got 1e-300",
    ),
    (
        "a 240 kB value is cut",
        lambda p: write(p / "c.csv", HEADER + f"A,North,{'x' * 240_000},1,0\n"),
        "(240,002 characters)",
    ),
]


@pytest.mark.parametrize(("case", "make", "expected"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_customer_files_that_are_something_else(tmp_path, capsys, case, make, expected):
    make(tmp_path)
    name = next(p.name for p in tmp_path.iterdir() if p.stem == "c")
    cfg = with_customers(tmp_path, name)
    keep = Untouched(tmp_path)
    line = one_line(capsys, ["validate", str(cfg)])
    assert expected in line
    assert len(line) < 400
    keep.check()


READ_CASES = [
    ("csv with a BOM", lambda p: (p / "c.csv").write_bytes(
        b"\xef\xbb\xbf" + HEADER.encode() + b"A,N,direct,1,2\nB,S,direct,0,1\n")),
    ("csv with a quoted newline", lambda p: write(
        p / "c.csv", HEADER + 'A,"North\nwest",direct,1,2\nB,S,direct,1,0\n')),
    (
        "parquet with customer_id as the index",
        lambda p: pd.DataFrame(
            {"customer_id": ["A", "B"], "region": ["N", "S"], "channel": ["direct"] * 2,
             "HDPE": [1.0, 2.0], "PP": [0, 1]}
        ).set_index("customer_id").to_parquet(p / "c.parquet"),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("case", "make"), READ_CASES, ids=[c[0] for c in READ_CASES])
def test_customer_files_read_correctly(tmp_path, capsys, case, make):
    make(tmp_path)
    name = next(p.name for p in tmp_path.iterdir() if p.stem == "c")
    cfg = with_customers(tmp_path, name)
    assert cli.main(["validate", str(cfg)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f"customers from {tmp_path / name}: " in out and " in 2 regions" in out, out


def limited(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``salesim ARGV`` in a child limited to 1 GiB of address space (the timeout: a hang guard)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (GiB, GiB))

    return subprocess.run(
        [sys.executable, "-m", "salesim", *argv],
        cwd=cwd,
        preexec_fn=limit,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def test_an_xlsx_zip_bomb_is_refused_within_1_gib(tmp_path):
    """A sheet of 120 MB in a few hundred kB: it used to take minutes and 1.7 GB."""
    path = tmp_path / "c.xlsx"
    xlsx(path, [XLSX_HEADER, ["A", "North", "direct", 1, 2]])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/worksheets/padding.xml", "w", force_zip64=True) as fh:
            block = b"<row/>" * 100_000
            for _ in range(200):
                fh.write(block)
    assert path.stat().st_size < 1_000_000
    cfg = with_customers(tmp_path, "c.xlsx")
    keep = Untouched(tmp_path)
    done = limited(["validate", str(cfg)], tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"salesim: error: c.xlsx: expands to {_inflated(path):,} bytes, more than the "
        "100,000,000 salesim reads from an .xlsx file; save large tables as CSV or Parquet"
    ]
    keep.check()


def _inflated(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        return sum(i.file_size for i in archive.infolist())


def test_a_million_customers_are_read_within_1_gib(tmp_path):
    """The largest book the population allows; time and memory: benchmarks/bench_limits.py."""
    n = 1_000_000
    rng = np.random.default_rng(0)
    pd.DataFrame(
        {
            "customer_id": np.char.add("C", np.arange(n).astype(str)),
            "region": rng.choice(["North", "South", "East"], n),
            "channel": rng.choice(["direct", "distributor"], n),
            "HDPE": rng.integers(1, 500, n),
            "PP": rng.integers(0, 500, n),
        }
    ).to_parquet(tmp_path / "c.parquet", index=False)
    cfg = write(
        tmp_path / "cfg.yaml",
        "model: {population: {customers_file: c.parquet, lines: [HDPE, PP]}}\n",
    )
    done = limited(["validate", str(cfg)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1000000 in 3 regions" in done.stdout


def test_a_fifo_anywhere_is_one_line_at_once(tmp_path, capsys, finished):
    """A FIFO as a config, a batch record or a manifest used to block for ever."""
    cfg, out = finished
    os.mkfifo(tmp_path / "pipe.yaml")
    assert "pipe.yaml: is a FIFO" in one_line(capsys, ["validate", str(tmp_path / "pipe.yaml")])
    assert "pipe.yaml: is a FIFO" in one_line(capsys, ["viz", str(tmp_path / "pipe.yaml")])
    record = out / "parts" / "batch-r000-b000000.json"
    record.unlink()
    os.mkfifo(record)
    assert cli.main(["report", str(out)]) == 0  # the batch is unreadable: partial, said so
    assert "its record is unreadable" in (out / "report.html").read_text()
    (out / "manifest.json").unlink()
    os.mkfifo(out / "manifest.json")
    assert "manifest.json: is a FIFO" in one_line(capsys, ["report", str(out)])


def test_manifests_of_any_size_or_shape_are_one_line(finished, capsys):
    cfg, out = finished
    manifest = out / "manifest.json"
    good = json.loads(manifest.read_text())
    for shape in ({**good, "runs": "many"}, {**good, "sessions": {"a": 1}}, {"config": []}, []):
        manifest.write_text(json.dumps(shape))
        assert "not a salesim manifest" in one_line(capsys, ["report", str(out)])
        assert cli.main(run_argv(cfg, out, "--resume")) == 0  # rebuilt from the batches
        assert json.loads(manifest.read_text())["status"] == "complete"
    with open(manifest, "wb") as fh:
        fh.truncate(3 * GiB)  # sparse: 3 GB that take no disk
    line = one_line(capsys, ["report", str(out)])
    assert "larger than 64,000,000 bytes, the limit for a manifest" in line
    manifest.unlink()
    manifest.write_text(json.dumps(good))
    record = out / "parts" / "batch-r000-b000001.json"
    record.write_text(json.dumps({"fingerprint": good["fingerprint"], "runs": [], "files": 3}))
    assert cli.main(run_argv(cfg, out, "--resume")) == 0
    assert "its record is unreadable" in capsys.readouterr().err


def test_simulate_days_share_the_horizon_cap(tmp_path, capsys):
    cfg = write(tmp_path / "cfg.yaml", "model: {horizon_days: 21}\n")
    line = one_line(capsys, ["simulate", str(cfg), "--days", "1000000000"])
    assert "--days: at most 100,000 (as model.horizon_days), got 1000000000" in line


CALIBRATE_CASES = [
    ("a bound outside the range", "{path: model.churn.intercept, low: -30, high: 0}",
     "parameters: model.churn.intercept: low -30 is outside the parameter's range"),
    ("fitting the design", "{path: model.design, low: 0, high: 1}",
     "model.design: not a number; calibrate fits numeric parameters"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "param", "expected"), CALIBRATE_CASES, ids=[c[0] for c in CALIBRATE_CASES]
)
def test_calibrate_checks_parameters_before_fitting(tmp_path, capsys, case, param, expected):
    cfg = write(tmp_path / "cfg.yaml", SMALL.split("experiment:")[0])
    targets = write(
        tmp_path / "t.yaml",
        TARGETS.replace("{path: model.churn.intercept, low: -3, high: 0}", param),
    )
    keep = Untouched(tmp_path)
    assert expected in one_line(capsys, ["calibrate", str(cfg), "--targets", str(targets)])
    keep.check()


TARGET_CASES = [
    ("retention 2.0", "retention_rate: {value: 2.0, tolerance: 0.05}",
     "targets.retention_rate: value 2 cannot be reached; retention_rate is 0 to 1"),
    ("a band upside down", "retention_rate: {value: 0.8, tolerance: 0.05}\nbands:\n  market_share: "
     "{low: 0.5, high: 0.2}", "bands.market_share: low 0.5 is above high 0.2"),
    ("a KPI the design lacks", "utilisation_service_outlet: {value: 0.5, tolerance: 0.1}",
     "targets: utilisation_service_outlet: the customer_manager design has no value of it"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "target", "expected"), TARGET_CASES, ids=[c[0] for c in TARGET_CASES]
)
def test_calibrate_refuses_impossible_targets_before_fitting(
    tmp_path, capsys, case, target, expected
):
    cfg = write(tmp_path / "cfg.yaml", SMALL.split("experiment:")[0])
    text = TARGETS.replace("retention_rate: {value: 0.8, tolerance: 0.05}", target)
    targets = write(tmp_path / "t.yaml", text.replace("max_evaluations: 2", "max_evaluations: 50"))
    keep = Untouched(tmp_path)
    out = tmp_path / "fit.yaml"
    argv = ["calibrate", str(cfg), "--targets", str(targets), "--out", str(out), "--workers", "1"]
    assert expected in one_line(capsys, argv)
    assert not out.exists()
    keep.check()


def test_calibrate_out_in_a_missing_folder_is_refused_before_fitting(tmp_path, capsys):
    cfg = write(tmp_path / "cfg.yaml", SMALL.split("experiment:")[0])
    targets = write(tmp_path / "t.yaml", TARGETS)
    argv = [
        "calibrate",
        str(cfg),
        "--targets",
        str(targets),
        "--out",
        str(tmp_path / "no" / "f.yaml"),
    ]
    assert "no such directory" in one_line(capsys, argv)


# --- 4. failures, URIs and names -------------------------------------------------------------


def test_every_run_failing_exits_non_zero_in_one_line(tmp_path, capsys, monkeypatch):
    def broken(cfg, run):
        record, _ = real(cfg, run)
        record.update(status="failed", error="Traceback...\nValueError: lam value too large\n")
        return record, {}

    real = runner.run_one
    monkeypatch.setattr(runner, "run_one", broken)
    cfg = write(tmp_path / "cfg.yaml", SMALL)
    status = cli.main(run_argv(cfg, tmp_path / "out"))
    captured = capsys.readouterr()
    assert status == 1 and "6 runs, 6 failed" in captured.out
    assert captured.err.strip().splitlines() == [
        "salesim: error: all 6 runs failed (first, p00000-base-product-r00000: ValueError: lam "
        "value too large); nothing to compare: fix the config and run again"
    ]


@pytest.mark.parametrize("name", ["file:elsewhere/x", "study:v2"])
def test_an_out_that_looks_like_a_uri_stays_a_relative_path(
    tmp_path, capsys, monkeypatch, name, reference
):
    """pyarrow used to write file:elsewhere/x outside --out; study:v2 gave ArrowInvalid."""
    monkeypatch.chdir(tmp_path)
    cfg = write(tmp_path / "cfg.yaml", SMALL)
    assert cli.main(run_argv(cfg, Path(name))) == 0, capsys.readouterr().err
    assert not (tmp_path / "elsewhere").exists()
    same_tables(tmp_path / name, reference)
    assert cli.main(["report", name]) == 0


def test_an_out_that_is_not_utf8_is_refused_up_front(tmp_path, capsys):
    cfg = write(tmp_path / "cfg.yaml", SMALL)
    out = Path(os.fsdecode(bytes(tmp_path / "out") + b"\xff"))
    assert "not UTF-8 (byte 0xff)" in one_line(capsys, run_argv(cfg, out))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cfg.yaml"]


def test_a_bad_scheduler_creates_nothing(tmp_path, capsys):
    cfg = write(tmp_path / "cfg.yaml", SMALL)
    out = tmp_path / "out"
    argv = ["run", str(cfg), "--out", str(out), "--executor", "dask", "--scheduler", "nonsense"]
    assert "--scheduler 'nonsense': not a scheduler address" in one_line(capsys, argv)
    assert not out.exists()


def test_viz_on_a_port_in_use_is_one_line(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line(capsys, ["viz", "--port", str(port)])
    assert f"--port {port}: already in use on 127.0.0.1" in line
    assert cli.build_parser().parse_args(["viz"]).host == "127.0.0.1"


def test_the_page_seed_stays_exact_and_refuses_what_set_refuses():
    base = ModelConfig()
    assert build_config(base, {"seed": "9007199254740993"}).seed == 9007199254740993
    for text, expected in (
        ("1e3", "a whole number"),
        ("40.0", "a whole number"),
        ("x" * 20_000, "a number"),
    ):
        with pytest.raises(ConfigError, match=f"Seed.*expected {expected}") as err:
            build_config(base, {"seed": text})
        assert len(str(err.value)) < 200


# --- 6. disk full, two writers ---------------------------------------------------------------


def mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    return done.returncode == 0


def test_a_full_disk_mid_study_keeps_every_part_and_resumes(
    tmp_path, capsys, monkeypatch, reference
):
    """On a 96 kB tmpfs where root may mount one (else ENOSPC injected into the part writes)."""
    cfg = write(tmp_path / "cfg.yaml", SMALL)
    disk = tmp_path / "disk"
    mounted = mount_tmpfs(disk, "96k")
    if not mounted:
        real, calls = store.atomic_write_table, []

        def fill_up(path, table):
            calls.append(path)
            if len(calls) > 4:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            return real(path, table)

        monkeypatch.setattr(store, "atomic_write_table", fill_up)
    try:
        out = disk / "out"
        line = one_line(capsys, run_argv(cfg, out))
        assert "No space left on device; free some space" in line and "--resume" in line
        kept = store.Store(out)
        manifest = json.loads((out / "manifest.json").read_text())
        fp = manifest["fingerprint"]
        assert kept.check(fp, {}) == {} and kept.good  # every part written so far is intact
        if mounted:
            subprocess.run(["mount", "-o", "remount,size=4m", str(disk)], check=True)
        else:
            monkeypatch.setattr(store, "atomic_write_table", real)
        assert cli.main(run_argv(cfg, out, "--resume")) == 0, capsys.readouterr().err
        same_tables(out, reference)
    finally:
        if mounted:
            subprocess.run(["umount", str(disk)], check=True)


def test_two_runs_at_once_the_second_refused_the_first_complete(tmp_path, capsys):
    from waiting import until

    longer = SMALL.replace("horizon_days: 21", "horizon_days: 126").replace(
        "replications: 3", "replications: 24"
    )
    cfg = write(tmp_path / "cfg.yaml", longer)
    out = tmp_path / "out"
    first = subprocess.Popen(
        [sys.executable, "-m", "salesim", *run_argv(cfg, out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        until(lambda: (out / "parts").is_dir() and any((out / "parts").glob("batch-*.json")),
              120, "the first run to store a batch")  # fmt: skip
        line = one_line(capsys, run_argv(cfg, out, "--resume"))
        assert f"in use by salesim run (PID {first.pid} on " in line
        _, err = first.communicate(timeout=300)
        assert first.returncode == 0, err
    finally:
        first.kill()
        first.wait()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["runs"]["done"] == 48


def test_the_report_header_names_the_data_files_it_read(tmp_path):
    write(tmp_path / "customers.csv", HEADER + ROWS)
    cfg = with_customers(tmp_path, "customers.csv")
    out = tmp_path / "out"
    assert cli.main(run_argv(cfg, out)[:-1]) == 0
    header = (out / "report.html").read_text().split('id="data-files"')[1].split("</p>")[0]
    digest = hashlib.sha256((tmp_path / "customers.csv").read_bytes()).hexdigest()
    assert str(tmp_path / "customers.csv") in header
    assert digest[:12] in header
