"""Your own organisation: the customer book and the staff roster from files (issue 12).

Malformed files go through the real command line (``cli.main``, in-process for speed, and one
case in a subprocess): exit status 2, one line naming the file, the row and the column, no
traceback, and ``salesim run`` refuses before its output directory exists.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from salesim import SalesModel, cli, load_config
from salesim.experiments.config import ConfigError
from salesim.model.population import CustomerBook
from salesim.model.streams import RandomStreams

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "configs/own_data_example.yaml"

GOOD = (
    "customer_id,region,channel,HDPE,LDPE,PP\n"
    "A1,North,direct,10,0,5\n"
    "A2,South,distributor,0,20,0\n"
    "A3,North,distributor,3,4,0\n"
)
CONFIG = """\
model:
  horizon_days: 21
  population: {{lines: [HDPE, LDPE, PP], customers_file: {customers}}}
  staff: {{sales_staff: 6{roster}}}
experiment: {{designs: [{designs}], replications: 1}}
"""


def write_config(
    folder: Path,
    customers: str = "customers.csv",
    roster: str | None = None,
    designs: str = "product, customer_manager, three_in_one",
) -> Path:
    path = folder / "study.yaml"
    extra = f", roster_file: {roster}" if roster else ""
    path.write_text(CONFIG.format(customers=customers, roster=extra, designs=designs))
    return path


def refused(capsys, *argv: str) -> str:
    """Run the CLI; assert exit 2, one line on stderr, nothing on stdout; return the line."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("salesim: error: ")
    assert out == ""
    return lines[0]


def refuse_run(tmp_path: Path, capsys, config: Path) -> str:
    """``salesim run``: refused, and its output directory never created."""
    out = tmp_path / "results"
    line = refused(capsys, "run", str(config), "--out", str(out))
    assert not out.exists()
    return line


# --- malformed customer files ------------------------------------------------------------

HEADER = "customer_id,region,channel,HDPE,LDPE,PP\n"
CUSTOMER_CASES = [
    ("empty file", "", ["customers.csv: the file is empty"]),
    ("header only", HEADER, ["customers.csv: the file has no rows"]),
    (
        "missing line column",
        "customer_id,region,channel,HDPE,LDPE\nA1,North,direct,1,2\n",
        ["customers.csv: column PP: missing", "model.population.lines (HDPE, LDPE, PP)"],
    ),
    (
        "missing required column",
        "customer_id,region,HDPE,LDPE,PP\nA1,North,1,2,3\n",
        ["customers.csv: column channel: missing", "customer_id, region, channel"],
    ),
    (
        "unknown column",
        HEADER.strip() + ",notes\nA1,North,direct,1,2,3,call back\n",
        ["customers.csv: column notes: unknown column", "allowed: customer_id, region"],
    ),
    (
        "line column not in population.lines",
        HEADER.strip() + ",PVC\nA1,North,direct,1,2,3,4\n",
        ["customers.csv: column PVC: not a line in model.population.lines (HDPE, LDPE, PP)"],
    ),
    (
        "column twice",
        HEADER.strip() + ",HDPE\nA1,North,direct,1,2,3,4\n",
        ["customers.csv: column HDPE: appears more than once"],
    ),
    (
        "duplicate id",
        HEADER + "A1,North,direct,1,2,3\nA2,North,direct,1,2,3\nA1,South,direct,1,0,0\n",
        ["customers.csv: line 4, column customer_id: duplicate id 'A1' (also on line 2)"],
    ),
    (
        "negative volume",
        HEADER + "A1,North,direct,1,2,3\nA2,North,direct,1,-2,3\n",
        ["customers.csv: line 3, column LDPE: negative volume -2.0"],
    ),
    (
        "non-numeric volume",
        HEADER + 'A1,North,direct,1,2,3\nA2,North,direct,1,"1,200",3\n',
        ["customers.csv: line 3, column LDPE: not a number: '1,200'"],
    ),
    (
        "NaN volume",
        HEADER + "A1,North,direct,1,NaN,3\n",
        ["customers.csv: line 2, column LDPE: missing volume (blank or NaN)"],
    ),
    (
        "blank volume",
        HEADER + "A1,North,direct,1,2,3\nA2,North,direct,,2,3\n",
        ["customers.csv: line 3, column HDPE: missing volume (blank or NaN)"],
    ),
    (
        "infinite volume",
        HEADER + "A1,North,direct,1,inf,3\n",
        ["customers.csv: line 2, column LDPE: not a finite number: inf"],
    ),
    (
        "unknown channel",
        HEADER + "A1,North,retail,1,2,3\n",
        ["customers.csv: line 2, column channel: unknown channel 'retail'", "direct, distributor"],
    ),
    (
        "blank region",
        HEADER + "A1,,direct,1,2,3\n",
        ["customers.csv: line 2, column region: blank; every customer needs a region"],
    ),
    (
        "buys no line",
        HEADER + "A1,North,direct,1,2,3\nA2,North,direct,0,0,0\n",
        ["customers.csv: line 3, columns HDPE, LDPE, PP: all 0", "buys no line"],
    ),
    (
        "unknown segment",
        HEADER.strip() + ",segment\nA1,North,direct,1,2,3,huge\n",
        ["customers.csv: line 2, column segment: unknown segment 'huge'", "key, medium, small"],
    ),
    (
        "satisfaction above 1",
        HEADER.strip() + ",satisfaction\nA1,North,direct,1,2,3,\nA2,North,direct,1,2,3,7\n",
        ["customers.csv: line 3, column satisfaction: must be between 0 and 1, got 7.0"],
    ),
    (
        "zero share of wallet",
        HEADER.strip() + ",wallet_share\nA1,North,direct,1,2,3,0\n",
        ["customers.csv: line 2, column wallet_share: must be 0.001 to 1, got 0.0"],
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "expected"), CUSTOMER_CASES, ids=[c[0] for c in CUSTOMER_CASES]
)
def test_malformed_customer_file_is_one_line_and_writes_nothing(
    tmp_path, capsys, case, text, expected
):
    (tmp_path / "customers.csv").write_text(text)
    line = refuse_run(tmp_path, capsys, write_config(tmp_path))
    for part in expected:
        assert part in line


def test_malformed_file_in_a_real_process(tmp_path):
    """The same through the installed entry point: a subprocess, exit 2, one line."""
    (tmp_path / "customers.csv").write_text(HEADER + "A1,North,direct,1,-2,3\n")
    config = write_config(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "salesim", "simulate", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "salesim: error: customers.csv: line 2, column LDPE: negative volume -2.0; "
        "volumes are tonnes a year, 0 or more"
    ]


@pytest.mark.parametrize(
    ("suffix", "row"), [(".xlsx", "sheet 'Sheet1', row 3"), (".parquet", "row 2")]
)
def test_excel_and_parquet_name_the_row_as_their_tools_do(tmp_path, capsys, suffix, row):
    frame = pd.read_csv(io.StringIO(GOOD))
    frame.loc[1, "LDPE"] = -5
    path = tmp_path / f"customers{suffix}"
    if suffix == ".xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    line = refuse_run(tmp_path, capsys, write_config(tmp_path, customers=path.name))
    assert f"customers{suffix}: {row}, column LDPE: negative volume -5.0" in line, line


def test_missing_file_and_unsupported_type(tmp_path, capsys):
    line = refuse_run(tmp_path, capsys, write_config(tmp_path, customers="absent.csv"))
    assert line.endswith("absent.csv: no such file")
    (tmp_path / "customers.txt").write_text(GOOD)
    line = refuse_run(tmp_path, capsys, write_config(tmp_path, customers="customers.txt"))
    assert "model.population.customers_file: unsupported file type '.txt'" in line
    assert ".csv, .parquet, .xlsx" in line


def test_corrupt_excel_file_is_one_line(tmp_path, capsys):
    (tmp_path / "customers.xlsx").write_bytes(b"not a zip archive")
    line = refuse_run(tmp_path, capsys, write_config(tmp_path, customers="customers.xlsx"))
    assert "customers.xlsx: cannot read it as xlsx" in line


# --- what the file sets ------------------------------------------------------------------


def test_file_sets_customers_regions_and_known_attributes(tmp_path):
    text = (
        "customer_id,region,channel,HDPE,LDPE,PP,segment,satisfaction,wallet_share\n"
        "A1,North,direct,10,0,5,key,0.9,0.5\n"
        "A2,South,Distributor,0,20,0,,,\n"
        "A3,North,distributor,3,4,0,,0.2,\n"
    )
    (tmp_path / "customers.csv").write_text(text)
    cfg = load_config(write_config(tmp_path)).model
    assert cfg.population.customers == 3 and cfg.population.regions == 2
    model = SalesModel(cfg)
    book = model.customers
    assert book.region_names == ("North", "South")
    assert book.region[:3].tolist() == [0, 1, 0]
    assert book.channel[:3].tolist() == [0, 1, 1]  # direct, distributor (any case)
    assert book.buys[:3].tolist() == [
        [True, False, True],
        [False, True, False],
        [True, True, False],
    ]
    # Known values are used; blanks keep the synthetic draw of the same seed.
    drawn = CustomerBook(
        cfg.model_copy(
            update={"population": cfg.population.model_copy(update={"customers_file": None})}
        ),
        RandomStreams(cfg.seed)["customers"],
    )
    assert book.satisfaction[0] == 0.9 and book.satisfaction[2] == 0.2
    # A blank satisfaction takes the steady start's value (the drawn one without it) ...
    assert 0 <= book.satisfaction[1] <= 1
    unsettled = SalesModel(cfg, overrides={"model.start.settle_months": 0})
    assert unsettled.customers.satisfaction[1] == drawn.satisfaction[1]
    # ... while the share of wallet stands as given or drawn: day 0 buys the file's volumes.
    assert book.wallet[0] == 0.5 and book.wallet[1] == drawn.wallet[1]
    assert book.segment[0] == 0  # key, as the file says
    # The file gives what each customer buys from us; the requirement is that over the wallet.
    np.testing.assert_allclose(book.volume[0], [20.0, 0.0, 10.0])
    np.testing.assert_allclose(book.volume[1] * book.wallet[1], [0.0, 20.0, 0.0])
    # Line slots: the file customer's lines, largest first.
    assert book.line_slots[0, :2].tolist() == [0, 2] and book.line_slots[2, :2].tolist() == [1, 0]
    assert model.kpis()["customers_at_start"] == 3


def test_same_book_under_every_design_and_newcomers_drawn_at_the_config_rate(tmp_path):
    rng = np.random.default_rng(4)
    n = 300
    frame = pd.DataFrame(
        {
            "customer_id": [f"K{i}" for i in range(n)],
            "region": rng.choice(["A", "B", "C"], n),
            "channel": rng.choice(["direct", "distributor"], n),
            "HDPE": rng.integers(1, 100, n),
            "LDPE": rng.integers(0, 50, n),
            "PP": 0,
        }
    )
    frame.to_csv(tmp_path / "customers.csv", index=False)
    over = ["model.population.new_customers_per_year=0.5", "model.horizon_days=252"]
    config = write_config(tmp_path)
    # Both designs start from the steady state of the organisation the customers know.
    cfg = load_config(config, [*over, "model.start.design=product"]).model
    books = {d: SalesModel(cfg, design=d).customers for d in ("product", "three_in_one")}
    a, b = books.values()
    for name in ("region", "channel", "volume", "satisfaction", "wallet", "appear_day", "buys"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    # Newcomers: as many, and appearing on the same days, as in the synthetic book of that size.
    drawn_only = ["model.population.customers_file=null", f"model.population.customers={n}"]
    synthetic = load_config(config, [*over, *drawn_only]).model
    drawn = SalesModel(synthetic).customers
    assert a.size - a.n_initial == drawn.size - drawn.n_initial > 0
    np.testing.assert_array_equal(a.appear_day, drawn.appear_day)


def test_template_round_trips_to_the_synthetic_book(tmp_path, capsys):
    config = tmp_path / "synthetic.yaml"
    config.write_text("model: {horizon_days: 63, population: {customers: 400}}\n")
    assert cli.main(["template", "customers", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    (tmp_path / "customers.csv").write_text(text)
    head = text.splitlines()[0].split(",")
    assert head[:3] == ["customer_id", "region", "channel"]
    assert head[3:8] == ["HDPE", "LDPE", "LLDPE", "PP", "PS"]
    assert head[8:] == ["segment", "satisfaction", "relationship", "wallet_share"]
    own = tmp_path / "own.yaml"
    own.write_text(
        "model: {horizon_days: 63, population: {customers: 400, customers_file: customers.csv}}\n"
    )
    a = SalesModel(load_config(config).model).customers
    b = SalesModel(load_config(own).model).customers
    for name in ("region", "channel", "segment", "buys", "appear_day", "tenure_months"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("volume", "satisfaction", "relationship", "wallet"):  # rounded in the file
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-2, err_msg=name)
    for suffix in (".xlsx", ".parquet"):
        out = tmp_path / f"customers{suffix}"
        assert cli.main(["template", "customers", "--config", str(config), "--out", str(out)]) == 0
        from salesim.model.own_data.customers import read_customers

        lines = tuple(load_config(config).model.population.lines)
        again = read_customers(str(out), lines)
        first = read_customers(str(tmp_path / "customers.csv"), lines)
        np.testing.assert_array_equal(again.volume, first.volume)
        np.testing.assert_array_equal(again.ids, first.ids)


def test_800_customers_4_regions_3_lines_under_every_design(tmp_path):
    """The issue's acceptance case, through `salesim simulate` in a real process."""
    rng = np.random.default_rng(800)
    n = 800
    volume = rng.pareto(1.4, (n, 3)) * 40 + 20
    volume[rng.random((n, 3)) < 0.5] = 0
    volume[volume.sum(axis=1) == 0, 0] = 35.0
    frame = pd.DataFrame(
        {
            "customer_id": [f"CRM-{i:05d}" for i in range(n)],
            "region": rng.choice(["Nord", "Sud", "Est", "Ouest"], n),
            "channel": rng.choice(["direct", "distributor"], n, p=[0.3, 0.7]),
            "PE": volume[:, 0].round(1),
            "PP": volume[:, 1].round(1),
            "PVC": volume[:, 2].round(1),
        }
    )
    frame.to_csv(tmp_path / "book.csv", index=False)
    (tmp_path / "mine.yaml").write_text(
        "model:\n  population: {lines: [PE, PP, PVC], customers_file: book.csv}\n"
        "  staff: {sales_staff: 16}\n"
    )
    for design in ("product", "customer_manager", "three_in_one"):
        done = subprocess.run(
            [sys.executable, "-m", "salesim", "simulate", "mine.yaml", "--design", design,
             "--days", "42", "--json"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["design"] == design
        assert out["kpis"]["customers_at_start"] == 800
        assert out["kpis"]["requests"] > 0


def test_shipped_example_runs_under_all_three_designs(capsys):
    capsys.readouterr()
    assert cli.main(["validate", str(EXAMPLE)]) == 0
    said = capsys.readouterr().out
    assert "customers from" in said and "120 in 4 regions (East, North, South, West)" in said
    assert "staff from" in said and "12 people" in said
    for design in ("product", "customer_manager", "three_in_one"):
        argv = ["simulate", str(EXAMPLE), "--design", design, "--days", "63", "--json"]
        assert cli.main(argv) == 0
        kpis = json.loads(capsys.readouterr().out)["kpis"]
        assert kpis["customers_at_start"] == 120
        assert kpis["requests"] > 0


def test_shipped_example_data_is_tracked_by_git():
    listed = subprocess.run(
        ["git", "ls-files", "--error-unmatch", "data/own_data_example/customers.csv",
         "data/own_data_example/roster.csv"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    ignored = subprocess.run(
        ["git", "check-ignore", "data/own_data_example/customers.csv"], cwd=ROOT
    )
    assert ignored.returncode == 1  # not ignored
    assert listed.returncode == 0, listed.stderr


# --- paths ---------------------------------------------------------------------------------


def test_paths_resolve_against_the_file_that_names_them(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    (shared / "data").mkdir(parents=True)
    (shared / "data" / "book.csv").write_text(GOOD)
    (shared / "base.yaml").write_text(
        "model:\n  population: {lines: [HDPE, LDPE, PP], customers_file: data/book.csv}\n"
    )
    study = tmp_path / "studies"
    study.mkdir()
    (study / "other.csv").write_text(GOOD.replace("A3,North", "A3,West"))
    (study / "child.yaml").write_text(
        "extends: ../shared/base.yaml\nmodel: {horizon_days: 21}\n"
        "experiment:\n  designs: [customer_manager]\n  replications: 1\n"
        "  scenarios: {other: {model.population.customers_file: other.csv}}\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config("../studies/child.yaml")
    assert cfg.model.population.customers_file == str(shared / "data" / "book.csv")
    other = cfg.experiment.scenarios["other"]["model.population.customers_file"]
    assert other == str(study / "other.csv")
    # --set is relative to the working directory, and becomes absolute too.
    (elsewhere / "here.csv").write_text(GOOD)
    cfg = load_config("../studies/child.yaml", ["model.population.customers_file=here.csv"])
    assert cfg.model.population.customers_file == str(elsewhere / "here.csv")


def test_a_bad_file_in_a_scenario_is_refused_at_load(tmp_path):
    (tmp_path / "customers.csv").write_text(GOOD)
    (tmp_path / "bad.csv").write_text(HEADER + "A1,North,direct,1,-1,0\n")
    config = write_config(tmp_path)
    text = config.read_text() + "  # \n"
    text = text.replace(
        "replications: 1}",
        "replications: 1, scenarios: {bad: {model.population.customers_file: bad.csv}}}",
    )
    config.write_text(text)
    with pytest.raises(ConfigError, match="bad.csv: line 2, column LDPE: negative volume"):
        load_config(config)


def test_process_pool_from_another_folder_and_report_without_the_file(tmp_path, monkeypatch):
    from salesim.experiments.driver import run_experiment
    from salesim.report.build import build_report

    (tmp_path / "customers.csv").write_text(GOOD)
    cfg = load_config(write_config(tmp_path, designs="product, customer_manager"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = tmp_path / "out"
    result = run_experiment(cfg, out, executor="process", workers=2, progress=False)
    assert result.done == 2 and result.failed == 0
    runs = pd.read_parquet(out / "runs.parquet")
    assert (runs.customers_at_start == 3).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["data_files"]) == [str(tmp_path / "customers.csv")]
    (tmp_path / "customers.csv").rename(tmp_path / "moved.csv")
    assert build_report(out).exists()  # the stored results need no data file


def test_edited_file_is_another_experiment(tmp_path):
    from salesim.experiments.store import fingerprint

    (tmp_path / "customers.csv").write_text(GOOD)
    config = write_config(tmp_path)
    before = fingerprint(load_config(config))
    (tmp_path / "customers.csv").write_text(
        GOOD.replace("A1,North,direct,10", "A1,North,direct,11")
    )
    assert fingerprint(load_config(config)) != before


# --- the staff roster ----------------------------------------------------------------------

ROSTER = (
    "person_id,role,region,lines,hours_per_day\n"
    "P1,product_rep,,HDPE,6\n"
    "P2,product_rep,all,LDPE,5\n"
    "P3,product_rep,,PP,\n"
    "P1,customer_manager,North,,6\n"
    "P2,customer_manager,South,all,5\n"
    "P3,customer_manager,North,,\n"
    "P3,service_outlet,North,,7\n"
    "P4,service_outlet,South,,4\n"
)
ROSTER_HEAD = "person_id,role,region,lines,hours_per_day\n"
ROSTER_CASES = [
    (
        "unknown role",
        ROSTER_HEAD + "P1,product_manager,,HDPE,6\n",
        ["roster.csv: line 2, column role: unknown role 'product_manager'", "come from model"],
    ),
    (
        "unknown region",
        ROSTER + "P9,customer_manager,Mars,,6\n",
        ["roster.csv: line 10, column region: unknown region in 'Mars'", "North, South"],
    ),
    (
        "unknown line",
        ROSTER + "P9,product_rep,,PVC,6\n",
        ["roster.csv: line 10, column lines: unknown line in 'PVC'", "HDPE, LDPE, PP"],
    ),
    (
        "rep with two lines",
        ROSTER + "P9,product_rep,,HDPE;PP,6\n",
        ["roster.csv: line 10, column lines: a product_rep sells exactly one line"],
    ),
    (
        "rep in one region",
        ROSTER + "P9,product_rep,North,HDPE,6\n",
        ["roster.csv: line 10, column region: a product_rep covers every region"],
    ),
    (
        "customer manager without a region",
        ROSTER + "P9,customer_manager,,,6\n",
        ["roster.csv: line 10, column region: customer managers and outlet staff work in one"],
    ),
    (
        "customer manager in two regions",
        ROSTER + "P9,customer_manager,North;South,,6\n",
        ["roster.csv: line 10, column region: customer managers and outlet staff work in one"],
    ),
    (
        "customer manager with lines",
        ROSTER + "P9,customer_manager,North,PP,6\n",
        ["roster.csv: line 10, column lines: customer managers and outlet staff take every line"],
    ),
    (
        "hours above the business day",
        ROSTER + "P9,customer_manager,North,,40\n",
        ["roster.csv: line 10, column hours_per_day: must be above 0 and at most the business"],
    ),
    (
        "hours not a number",
        ROSTER + "P9,customer_manager,North,,six\n",
        ["roster.csv: line 10, column hours_per_day: not a number: 'six'"],
    ),
    (
        "person twice in one role",
        ROSTER + "P1,customer_manager,South,,6\n",
        ["roster.csv: line 10, column person_id: 'P1' is listed twice in one role"],
    ),
    (
        "missing column",
        "person_id,role,region,lines\nP1,product_rep,,HDPE\n",
        ["roster.csv: column hours_per_day: missing"],
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "expected"), ROSTER_CASES, ids=[c[0] for c in ROSTER_CASES]
)
def test_malformed_roster_is_one_line_and_writes_nothing(tmp_path, capsys, case, text, expected):
    (tmp_path / "customers.csv").write_text(GOOD)
    (tmp_path / "roster.csv").write_text(text)
    line = refuse_run(tmp_path, capsys, write_config(tmp_path, roster="roster.csv"))
    for part in expected:
        assert part in line


FIT_CASES = [
    (
        "product design given only customer managers",
        ROSTER_HEAD + "P1,customer_manager,North,,6\nP2,customer_manager,South,,6\n",
        "product",
        "roster.csv: the product design takes its front line from product_rep rows, and the "
        "roster has none (it has customer_manager 2)",
    ),
    (
        "a line without a rep",
        ROSTER_HEAD + "P1,product_rep,,HDPE,6\nP2,product_rep,,LDPE,6\n",
        "product",
        "roster.csv: the product design needs a product_rep for every line; none for PP",
    ),
    (
        "a region without a customer manager",
        ROSTER_HEAD + "P1,customer_manager,North,,6\n",
        "customer_manager",
        "roster.csv: the customer_manager design needs a customer_manager in every region; "
        "none in South",
    ),
    (
        "three_in_one without outlet staff",
        ROSTER_HEAD + "P1,customer_manager,North,,6\nP2,customer_manager,South,,6\n",
        "three_in_one",
        "roster.csv: the three_in_one design needs a service_outlet in every region; none in "
        "North, South",
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "design", "expected"), FIT_CASES, ids=[c[0] for c in FIT_CASES]
)
def test_roster_that_does_not_fit_a_design_says_so(
    tmp_path, capsys, monkeypatch, case, text, design, expected
):
    monkeypatch.chdir(tmp_path)  # files are named relative to the working directory
    (tmp_path / "customers.csv").write_text(GOOD)
    (tmp_path / "roster.csv").write_text(text)
    line = refuse_run(
        tmp_path, capsys, write_config(tmp_path, "customers.csv", "roster.csv", design)
    )
    assert line == f"salesim: error: {expected}"


def test_each_design_takes_its_people_once_with_their_hours(tmp_path):
    (tmp_path / "customers.csv").write_text(GOOD)
    (tmp_path / "roster.csv").write_text(ROSTER)
    cfg = load_config(write_config(tmp_path, roster="roster.csv")).model
    desk = cfg.staff.desk_hours_per_day
    expected = {
        # role, group, hours a day for requests per front-line person
        "product": [("product_rep", 0, 6), ("product_rep", 1, 5), ("product_rep", 2, desk)],
        "customer_manager": [
            ("customer_manager", 0, 6),
            ("customer_manager", 1, 5),
            ("customer_manager", 0, desk),
        ],
        # P3 works in the North outlet, not also as a customer manager.
        "three_in_one": [("customer_manager", 0, 6), ("customer_manager", 1, 5)],
    }
    for design, people in expected.items():
        model = SalesModel(cfg, design=design)
        hours = model.stations.speed[model.sales_stations] * model.hours_per_day
        got = [(s.role, s.group, h) for s, h in zip(model.sales_staff, hours, strict=True)]
        assert got == [(r, g, pytest.approx(h)) for r, g, h in people], design
        assert model.config.staff.sales_staff == cfg.staff.sales_staff  # unused, not changed
    outlets = {o.region: o.servers for o in model.outlets}
    assert outlets == {0: 1, 1: 1}
    speed = model.stations.speed[[o.station for o in model.outlets]] * model.hours_per_day
    np.testing.assert_allclose(speed, [7, 4])
    # Pay-roll counts the roster's people: three_in_one has 2 CMs and 2 outlet people.
    model.run(21)
    assert model.acc.totals["staff_cost"] > 0


def test_roster_template_reproduces_the_synthetic_staffing(tmp_path, capsys):
    """Built from `salesim template roster`, every design runs exactly as without a roster."""
    config = tmp_path / "synthetic.yaml"
    config.write_text(
        "model: {horizon_days: 42, population: {customers: 150}, staff: {sales_staff: 9}}\n"
    )
    assert cli.main(["template", "roster", "--config", str(config)]) == 0
    (tmp_path / "roster.csv").write_text(capsys.readouterr().out)
    cfg = load_config(config).model
    with_roster = load_config(config, [f"model.staff.roster_file={tmp_path / 'roster.csv'}"]).model
    for design in ("product", "customer_manager", "three_in_one"):
        a = SalesModel(cfg, design=design).run().kpis()
        b = SalesModel(with_roster, design=design).run().kpis()
        assert a == pytest.approx(b, nan_ok=True), design


def test_template_refuses_an_unknown_output_type(tmp_path, capsys):
    line = refused(capsys, "template", "customers", "--out", str(tmp_path / "book.json"))
    assert "--out" in line and "unsupported file type '.json'" in line
    assert not (tmp_path / "book.json").exists()


def test_the_docs_examples_are_valid_files(tmp_path):
    """docs/own-data.md: its customer and roster examples pass the checks they describe."""
    import re

    from salesim.model.own_data.customers import read_customers
    from salesim.model.own_data.roster import read_roster

    text = (ROOT / "docs/own-data.md").read_text()
    customers, roster = re.findall(r"```csv\n(.*?)```", text, re.S)
    (tmp_path / "c.csv").write_text(customers)
    (tmp_path / "r.csv").write_text(roster)
    table = read_customers(str(tmp_path / "c.csv"), ("HDPE", "PP", "PS"))
    assert table.region_names == ("North", "West") and len(table) == 4
    staff = read_roster(
        str(tmp_path / "r.csv"), ("HDPE", "PP", "PS"), table.region_names, (6, 7, 8)
    )
    assert staff.counts() == {"product_rep": 3, "customer_manager": 3, "service_outlet": 1}
    assert [p.person_id for p in staff.take(("service_outlet", "customer_manager"), "x")] == [
        "S01",
        "S02",
        "S03",
    ]


def test_counts_the_file_sets_cannot_be_swept(tmp_path):
    (tmp_path / "customers.csv").write_text(GOOD)
    config = write_config(tmp_path)
    config.write_text(
        config.read_text().replace(
            "replications: 1}",
            "replications: 1, sweep: {method: grid, parameters: "
            "[{path: model.population.customers, role: uncertainty, values: [100, 200]}]}}",
        )
    )
    with pytest.raises(ConfigError) as err:
        load_config(config)
    assert str(err.value) == (
        "experiment.sweep: model.population.customers follows model.population.customers_file "
        "and cannot be varied"
    )


def test_excel_csv_exports_with_a_bom_are_read_and_semicolons_named(tmp_path, capsys):
    (tmp_path / "customers.csv").write_bytes(GOOD.encode("utf-8-sig"))
    assert load_config(write_config(tmp_path)).model.population.customers == 3
    (tmp_path / "customers.csv").write_text(GOOD.replace(",", ";"))
    line = refuse_run(tmp_path, capsys, write_config(tmp_path))
    assert "customers.csv: columns are separated by ';'" in line
