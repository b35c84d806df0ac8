"""Hostile input and faults: one line and exit 2, or a correct result; nothing outside --out.

Each case is what a hostile (or unlucky) user did to an earlier version: duplicate keys,
booleans as numbers, NaN, alias bombs, names that are paths, huge plans, damaged results,
full disks, a locked directory, a Dask scheduler that does not answer. Everything runs
in-process through ``cli.main`` so the suite stays fast; killing processes is
``experiments/test_processes.py``.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from salesim import cli, load_config, register
from salesim.experiments import runner, store
from salesim.model.designs import CustomerManagerDesign
from salesim.model.inputs.config_files import MAX_CONFIG_BYTES
from salesim.model.inputs.registry import registered_designs, remove_design
from salesim.report.build import file_name

SMALL_MODEL = """\
model:
  horizon_days: 21
  population: {customers: 60}
  staff: {sales_staff: 9}
"""
EXPERIMENT = (
    "name: hostile\n"
    + SMALL_MODEL
    + """\
experiment:
  designs: [product, customer_manager]
  replications: 3
  seed: 5
"""
)
TABLES = ("runs.parquet", "timeseries.parquet", "responses.parquet")


def error_line(capsys, argv: list[str]) -> str:
    """Run the CLI; assert exit 2 with exactly one line on stderr, no traceback, no stdout."""
    status = cli.main(argv)
    captured = capsys.readouterr()
    assert status == 2, (status, captured.err)
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("salesim: error: ") and "Traceback" not in captured.err
    assert captured.out == ""
    return lines[0]


def write(tmp_path: Path, text: str, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def files_outside(root: Path, *allowed: Path) -> list[Path]:
    """Files under ``root`` that are none of ``allowed`` and not inside an allowed directory."""
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and not any(p == a or a in p.parents for a in allowed)
    ]


# --- config files: silent wrong results and crashes become one line ---------------------------

ALIAS_BOMB = "a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)

CONFIG_CASES = [
    (
        "duplicate section: the last used to win silently",
        "model: {design: product, horizon_days: 10}\nmodel: {seed: 3}\n",
        ["cfg.yaml:2: duplicate key 'model' (first on line 1)"],
    ),
    (
        "duplicate nested key",
        "model:\n  staff:\n    sales_staff: 3\n    sales_staff: 40\n",
        ["cfg.yaml:4: duplicate key 'sales_staff' (first on line 3)"],
    ),
    ("duplicate key in a flow mapping", "model: {seed: 1, seed: 2}\n", ["duplicate key 'seed'"]),
    (
        "boolean as a day count (ran 1 day)",
        "model: {horizon_days: true}\n",
        ["model.horizon_days: Input should be a valid integer (got True)", "1 to 100,000"],
    ),
    ("yes as a head-count", "model: {staff: {sales_staff: yes}}\n", ["valid integer"]),
    (
        "integer as a boolean",
        "model: {market: {surge: 1}}\n",
        ["model.market.surge: Input should be a valid boolean", "allowed: true or false"],
    ),
    ("text as a boolean", "model: {market: {surge: 'true'}}\n", ["valid boolean"]),
    ("text as a number", "model: {staff: {sales_staff: '40'}}\n", ["valid integer", "'40'"]),
    ("fraction of a person", "model: {staff: {sales_staff: 40.5}}\n", ["valid integer"]),
    (
        "NaN churn intercept (gave retention 1.0)",
        "model: {churn: {intercept: .nan}}\n",
        ["model.churn.intercept: Input should be a finite number", "-20 to 20"],
    ),
    ("+inf logit", "model: {channel: {convert_intercept: .inf}}\n", ["finite number"]),
    ("-inf logit", "model: {wallet: {intercept: -.inf}}\n", ["model.wallet.intercept"]),
    (
        "need rate numpy cannot draw",
        "model: {requests: {needs_per_customer_year: 1.0e+308}}\n",
        ["model.requests.needs_per_customer_year", "at most 1,000"],
    ),
    (
        "volume beyond any market",
        "model: {population: {volume_min_tonnes: 1.0e+300}}\n",
        ["model.population.volume_min_tonnes", "0.001 to 1,000,000"],
    ),
    (
        "NaN line weight",
        "model: {population: {line_weights: [1, 1, .nan, 1, 1]}}\n",
        ["model.population.line_weights.2: Input should be a finite number"],
    ),
    (
        "NaN switching cost",
        "model: {churn: {switching_cost: {key: .nan, medium: 0, small: 0}}}\n",
        ["model.churn.switching_cost.key"],
    ),
    (
        "switching cost without a segment",
        "model: {churn: {switching_cost: {key: 1}}}\n",
        ["model.churn.switching_cost", "key, medium, small"],
    ),
    (
        "NaN share of a request kind",
        "model: {requests: {kind_mix: {order: .nan}}}\n",
        ["model.requests.kind_mix.order", "finite number"],
    ),
    (
        "visits beyond a month",
        "model: {relationship: {visits_per_month: {key: 1.0e+308, medium: 1, small: 1}}}\n",
        ["model.relationship.visits_per_month.key", "between 0 and 100"],
    ),
    (
        "infinite salary",
        "model: {costs: {staff_cost_per_year: {sales: .inf, product_manager: 1, "
        "regional_manager: 1, planner: 1, service_outlet: 1}}}\n",
        ["model.costs.staff_cost_per_year.sales", "finite number"],
    ),
    (
        "portfolio target of a denormal",
        "model: {staff: {portfolio_target: 1.0e-300}}\n",
        ["model.staff.portfolio_target", "1 to 1,000,000,000"],
    ),
    (
        "desk hours that never end a job",
        "model: {staff: {desk_hours_per_day: 5.0e-324}}\n",
        ["model.staff.desk_hours_per_day", "0.1 to 24"],
    ),
    ("seed past 64 bits", "model: {seed: 18446744073709551616}\n", ["model.seed"]),
    ("negative seed", "model: {seed: -1}\n", ["model.seed", "0 to"]),
    (
        "python tag",
        "model: {seed: !!python/object/apply:os.system ['touch MARKER']}\n",
        ["YAML tag '!!python/object/apply:os.system' is not allowed"],
    ),
    (
        "alias bomb (took 91 s and 3.2 GB)",
        ALIAS_BOMB,
        ["aliases expand to more than 200,000 values"],
    ),
    ("alias that contains itself", "a: &a [1, *a]\n", ["refers to the node that contains it"]),
    ("nesting 60 deep", "model: " + "[" * 60 + "]" * 60 + "\n", ["nested more than 40 levels"]),
    (
        "scenario name with ../ (wrote a PNG outside --out)",
        EXPERIMENT + "  scenarios: {'../../evil': {model.market.surge: true}}\n",
        ["experiment.scenarios: '../../evil' is not a valid name"],
    ),
    (
        "scenario name with / (crashed every later report)",
        EXPERIMENT + "  scenarios: {'a/b': {model.market.surge: true}}\n",
        ["'a/b' is not a valid name"],
    ),
    (
        "absolute scenario name",
        EXPERIMENT + "  scenarios: {'/tmp/evil': {model.market.surge: true}}\n",
        ["'/tmp/evil' is not a valid name"],
    ),
    (
        "scenario name with NUL",
        EXPERIMENT + '  scenarios: {"a\\0b": {model.market.surge: true}}\n',
        ["'a\\x00b' is not a valid name"],
    ),
    (
        "hidden scenario name",
        EXPERIMENT + "  scenarios: {'.x': {model.market.surge: true}}\n",
        ["'.x' is not a valid name"],
    ),
    (
        "experiment name that is a path (default --out results/NAME)",
        EXPERIMENT.replace("name: hostile", "name: ../../etc"),
        ["name: '../../etc' is not a valid name"],
    ),
    (
        "product line that is a path",
        "model: {population: {lines: [HDPE, 'PP/../..']}}\n",
        ["model.population.lines: 'PP/../..' is not a valid name"],
    ),
    (
        "grid of 10 million points in 400 bytes (ended in MemoryError)",
        EXPERIMENT
        + "  sweep:\n    parameters:\n"
        + "".join(
            f"      - {{path: {p}, role: lever, range: {{first: 0, step: 0.1, last: 0.9}}}}\n"
            for p in (
                "model.churn.satisfaction",
                "model.churn.relationship",
                "model.churn.competitor",
                "model.wallet.satisfaction",
                "model.wallet.relationship",
                "model.wallet.competitor",
                "model.channel.fallback_response",
            )
        ),
        ["plans 60,000,000 runs", "10,000,000 sweep points", "limit of 100,000", "--max-runs"],
    ),
    (
        "sobol of a million points",
        EXPERIMENT
        + "  sweep:\n    method: sobol\n    samples: 100000\n    parameters:\n"
        + "".join(
            f"      - {{path: {p}, role: lever, bounds: {{low: 0, high: 1}}}}\n"
            for p in ("model.churn.satisfaction", "model.churn.relationship")
        ),
        ["plans 2,400,000 runs", "400,000 sweep points"],
    ),
    (
        "adaptive replications up to 100,000",
        EXPERIMENT + "  precision: {maximum: 100000}\n",
        ["plans 200,000 runs", "100,000 replications"],
    ),
    (
        "10,001 values for one parameter",
        EXPERIMENT
        + "  sweep:\n    parameters:\n      - {path: model.churn.intercept, role: lever, values: ["
        + ", ".join(["-3"] * 10_001)
        + "]}\n",
        ["experiment.sweep.parameters.0.values: List should have at most 10000 items"],
    ),
    (
        "sweep range of 1e300 values",
        EXPERIMENT
        + "  sweep:\n    parameters:\n      - {path: model.churn.satisfaction, role: lever,"
        " range: {first: 0, step: 1.0e-300, last: 1}}\n",
        ["more than 10,000 values"],
    ),
    (
        "NaN sweep bound",
        EXPERIMENT
        + "  sweep:\n    method: lhs\n    parameters:\n      - {path: model.churn.satisfaction,"
        " role: lever, bounds: {low: 0, high: .nan}}\n",
        ["experiment.sweep.parameters.0.bounds.high: Input should be a finite number"],
    ),
    (
        "boolean sweep value for a head-count",
        EXPERIMENT
        + "  sweep:\n    parameters:\n      - {path: model.staff.sales_staff, role: lever,"
        " values: [9, true]}\n",
        ["model.staff.sales_staff=True", "valid integer"],
    ),
    (
        "NaN sweep value",
        EXPERIMENT + "  sweep:\n    parameters:\n      - {path: model.churn.intercept, role: lever,"
        " values: [-3, .nan]}\n",
        ["model.churn.intercept=nan", "finite number"],
    ),
    (
        "infinite scenario value",
        EXPERIMENT + "  scenarios: {hot: {model.market.surge_factor: .inf}}\n",
        ["experiment.scenarios.hot: model.market.surge_factor", "finite number"],
    ),
    (
        "seed whose replications overflow 64 bits",
        EXPERIMENT.replace("seed: 5", "seed: 9223372036854775806"),
        ["experiment.seed", "exceeds 9223372036854775807"],
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "expected"), CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES]
)
def test_bad_config_is_one_line(tmp_path, monkeypatch, capsys, case, text, expected):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, text)
    line = error_line(capsys, ["validate", str(path)])
    for part in expected:
        assert part in line, line
    assert not (tmp_path / "MARKER").exists()
    assert files_outside(tmp_path, path) == []


VALID_CASES = [
    (
        "a merge key (<<) may be overridden: not a duplicate",
        "model: {staff: {<<: {sales_staff: 9, planners: 2}, sales_staff: 12}}\n",
        {"model.staff.sales_staff": 12, "model.staff.planners": 2},
    ),
    (
        "1e4 is a number, as in YAML 1.2",
        "model: {value: {price_per_tonne: 1e4}}\n",
        {"model.value.price_per_tonne": 10_000.0},
    ),
    (
        "an integer where a real number is expected",
        "model: {staff: {desk_hours_per_day: 5}}\n",
        {"model.staff.desk_hours_per_day": 5.0},
    ),
]


@pytest.mark.parametrize(("case", "text", "values"), VALID_CASES, ids=[c[0] for c in VALID_CASES])
def test_what_is_valid_stays_valid(tmp_path, capsys, case, text, values):
    path = write(tmp_path, text)
    assert cli.main(["validate", str(path)]) == 0, capsys.readouterr().err
    cfg = load_config(path)
    for dotted, expected in values.items():
        node = cfg
        for part in dotted.split("."):
            node = getattr(node, part)
        assert node == expected and type(node) is type(expected)


def test_max_runs_raises_the_limit(tmp_path, capsys):
    path = write(tmp_path, EXPERIMENT.replace("replications: 3", "replications: 60000"))
    assert "limit of 100,000" in error_line(capsys, ["validate", str(path)])
    assert cli.main(["validate", str(path), "--max-runs", "120000"]) == 0
    assert "120000 runs at most" in capsys.readouterr().out


def test_duplicate_keys_never_pick_a_section_silently(tmp_path, capsys):
    """The issue's case: product over 10 days asked for, customer_manager over 504 days ran."""
    path = write(tmp_path, "model:\n  design: product\n  horizon_days: 10\nmodel:\n  seed: 1\n")
    line = error_line(capsys, ["simulate", str(path), "--json"])
    assert "duplicate key 'model'" in line


FILE_CASES = [
    ("a file over the size limit", "big", ["larger than 1,000,000 bytes"]),
    ("an endless device", "/dev/zero", ["/dev/zero: is a character device, not a regular file"]),
    ("a directory", "dir", ["is a directory, not a regular file"]),
    ("a FIFO (used to block for ever)", "fifo", ["c.yaml: is a FIFO (named pipe)"]),
    ("a symlink loop (used to be a RuntimeError)", "loop", ["c.yaml: a symlink loop"]),
    ("not UTF-8", "latin1", ["not UTF-8 text"]),
    ("a NUL in the name", "nul", ["not a valid file name"]),
    ("extends an endless device", "extends", ["/dev/zero: is a character device"]),
    ("extends a FIFO", "extends fifo", ["p.yaml: is a FIFO"]),
    ("extends a directory", "extends dir", ["sub: is a directory"]),
    ("extends a symlink loop", "extends loop", ["extends: c.yaml: a symlink loop"]),
    ("extends itself", "extends self", ["cfg.yaml extends itself (cfg.yaml -> cfg.yaml)"]),
    ("extends a cycle", "extends cycle", ["cfg.yaml closes a cycle (cfg.yaml -> b.yaml -> cfg"]),
    ("a customer file that is a FIFO", "customers fifo", ["p.csv: is a FIFO"]),
    ("a customer file in a symlink loop", "customers loop", ["customers_file: c.csv: a symlink"]),
]


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def loop(path: Path) -> Path:
    os.symlink(path, path)
    return path


@pytest.mark.parametrize(("case", "kind", "expected"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_unreadable_config_files_are_one_line(tmp_path, capsys, case, kind, expected):
    target = {
        "big": lambda: write(tmp_path, "# " + "x" * MAX_CONFIG_BYTES + "\n"),
        "/dev/zero": lambda: Path("/dev/zero"),
        "dir": lambda: tmp_path,
        "latin1": lambda: write_bytes(tmp_path / "l.yaml", b"name: caf\xe9\n"),
        "nul": lambda: f"{tmp_path}/a\0b.yaml",
        "extends": lambda: write(tmp_path, "extends: /dev/zero\n"),
        "fifo": lambda: fifo(tmp_path / "c.yaml"),
        "loop": lambda: loop(tmp_path / "c.yaml"),
        "extends fifo": lambda: fifo(tmp_path / "p.yaml") and write(tmp_path, "extends: p.yaml\n"),
        "extends dir": lambda: (tmp_path / "sub").mkdir() or write(tmp_path, "extends: sub\n"),
        "extends loop": lambda: loop(tmp_path / "c.yaml") and write(tmp_path, "extends: c.yaml\n"),
        "extends self": lambda: write(tmp_path, "extends: cfg.yaml\n"),
        "extends cycle": lambda: (
            write(tmp_path, "extends: cfg.yaml\n", "b.yaml")
            and write(tmp_path, "extends: b.yaml\n")
        ),
        "customers fifo": lambda: (
            fifo(tmp_path / "p.csv")
            and write(tmp_path, "model: {population: {customers_file: p.csv}}\n")
        ),
        "customers loop": lambda: (
            loop(tmp_path / "c.csv")
            and write(tmp_path, "model: {population: {customers_file: c.csv}}\n")
        ),
    }[kind]()
    line = error_line(capsys, ["validate", str(target)])
    for part in expected:
        assert part in line, line


SET_CASES = [
    (["--set", "model.churn.intercept=.nan"], ["model.churn.intercept", "finite number"]),
    (["--set", "model.horizon_days=true"], ["model.horizon_days", "valid integer"]),
    (["--set", "model.staff={sales_staff: 3, sales_staff: 4}"], ["duplicate key 'sales_staff'"]),
    (["--set", "model.seed=!!python/name:os.system"], ["YAML tag", "not allowed"]),
    (["--set", "model.staff.sales_staff=100001"], ["1 to 100,000"]),
    (["--max-runs", "0"], ["--max-runs: must be at least 1"]),
]


@pytest.mark.parametrize(("extra", "expected"), SET_CASES, ids=[" ".join(c[0]) for c in SET_CASES])
def test_bad_overrides_are_one_line(tmp_path, capsys, extra, expected):
    path = write(tmp_path, EXPERIMENT)
    line = error_line(capsys, ["validate", str(path), *extra])
    for part in expected:
        assert part in line, line


def test_a_hundred_thousand_staff_complete(tmp_path, capsys):
    """Inside the documented range: used to get no answer in 3 minutes."""
    path = write(tmp_path, "model: {population: {customers: 300}}\n")
    argv = ["simulate", str(path), "--set", "model.staff.sales_staff=100000", "--days", "21"]
    assert cli.main([*argv, "--json"]) == 0, capsys.readouterr().err
    kpis = json.loads(capsys.readouterr().out)["kpis"]
    assert kpis["requests"] > 0 and 0 <= kpis["utilisation_sales"] < 0.01


# --- names that become paths ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../evil", "a/b", "/etc/passwd", "x\0y", "..", ".hidden"])
def test_figure_names_stay_one_component(name):
    slug = file_name(name)
    assert "/" not in slug and "\0" not in slug and not slug.startswith(".")
    assert slug != file_name(name + "x")  # changed names get a hash: no two share a file


@pytest.mark.parametrize("name", ["../evil", "a/b", ""])
def test_a_design_named_like_a_path_cannot_register(name):
    with pytest.raises(ValueError, match="is not a valid name"):
        register(type("Sneaky", (CustomerManagerDesign,), {"name": name}))
    assert name not in registered_designs()


def test_report_refuses_a_path_smuggled_into_stored_results(tmp_path, capsys, finished):
    """A manifest edited by hand to name a scenario '../../evil' writes nothing outside."""
    out = finished(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["config"]["experiment"]["scenarios"] = {"../../evil": {"model.market.surge": True}}
    (out / "manifest.json").write_text(json.dumps(manifest))
    line = error_line(capsys, ["report", str(out)])
    assert "'../../evil' is not a valid name" in line
    assert files_outside(tmp_path, out, tmp_path / "cfg.yaml") == []


# --- the output directory ---------------------------------------------------------------------


def run_argv(cfg: Path, out: Path, *extra: str) -> list[str]:
    return ["run", str(cfg), "--out", str(out), "--executor", "sequential", *extra]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The small experiment run once, uninterrupted: the tables every repair must reproduce."""
    root = tmp_path_factory.mktemp("reference")
    cfg = write(root, EXPERIMENT)
    assert cli.main(run_argv(cfg, root / "out", "--no-report")) == 0
    return {t: pd.read_parquet(root / "out" / t) for t in TABLES}


@pytest.fixture
def finished(reference, capsys):
    """A function: a finished copy of the small experiment in a given directory."""

    def make(root: Path, *extra: str) -> Path:
        cfg = write(root, EXPERIMENT)
        assert cli.main(run_argv(cfg, root / "out", "--no-report", *extra)) == 0
        capsys.readouterr()
        return root / "out"

    return make


def assert_same(out: Path, reference: dict[str, pd.DataFrame]) -> None:
    for table in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(out / table), reference[table])


def test_out_is_a_file(tmp_path, capsys):
    cfg = write(tmp_path, EXPERIMENT)
    (tmp_path / "taken").write_text("mine")
    line = error_line(capsys, run_argv(cfg, tmp_path / "taken"))
    assert "taken: is a file, not a directory" in line
    assert (tmp_path / "taken").read_text() == "mine"


def test_out_below_a_file(tmp_path, capsys):
    cfg = write(tmp_path, EXPERIMENT)
    (tmp_path / "taken").write_text("mine")
    line = error_line(capsys, run_argv(cfg, tmp_path / "taken" / "out"))
    assert "cannot create" in line and "Not a directory" in line


def test_out_with_a_nul(tmp_path, capsys):
    cfg = write(tmp_path, EXPERIMENT)
    line = error_line(capsys, run_argv(cfg, Path(f"{tmp_path}/o\0ut")))
    assert "not a valid directory name" in line


def test_out_that_cannot_be_created(tmp_path, capsys, monkeypatch):
    """A read-only parent (simulated: the tests may run as root, who may write anywhere)."""
    cfg = write(tmp_path, EXPERIMENT)
    real = Path.mkdir

    def refuse(self, *args, **kwargs):
        if "ro" in self.parts:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    line = error_line(capsys, run_argv(cfg, tmp_path / "ro" / "out"))
    assert "Permission denied; choose a directory you may write to" in line


def test_read_only_file_system(tmp_path, capsys, monkeypatch):
    cfg = write(tmp_path, EXPERIMENT)

    def refuse(path, data):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(store, "atomic_write_bytes", refuse)
    line = error_line(capsys, run_argv(cfg, tmp_path / "out"))
    assert "Read-only file system; choose a writable file system" in line


def test_a_locked_directory_names_the_holder(tmp_path, capsys):
    """Two runs (or a --resume and a report) at once on one directory: the second is refused."""
    cfg = write(tmp_path, EXPERIMENT)
    out = tmp_path / "out"
    code = (
        "import sys, time\n"
        "from salesim.experiments.store import Store\n"
        "with Store(sys.argv[1]).lock('run'):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(120)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        line = error_line(capsys, run_argv(cfg, out, "--resume"))
        assert f"in use by salesim run (PID {holder.pid} on " in line
        assert "wait for it to finish or stop it" in line
    finally:
        holder.kill()
        holder.wait()
    assert cli.main(run_argv(cfg, out, "--no-report", "--resume")) == 0  # free again


# --- completeness from the data -------------------------------------------------------------


def test_missing_part_is_rerun_and_said(tmp_path, capsys, finished, reference):
    """A directory missing a part used to count as complete: --resume exited 0, 34 of 36 runs."""
    out = finished(tmp_path)
    (out / "parts" / "runs-r000-b000001.parquet").unlink()
    line = error_line(capsys, run_argv(tmp_path / "cfg.yaml", out, "--no-report"))
    assert "missing or damaged" in line and "add --resume" in line
    assert cli.main(run_argv(tmp_path / "cfg.yaml", out, "--no-report", "--resume")) == 0
    err = capsys.readouterr().err
    assert "r000-b000001: runs-r000-b000001.parquet is missing" in err and "re-running" in err
    assert_same(out, reference)


def test_truncated_part_is_reported_then_rerun(tmp_path, capsys, finished, reference):
    out = finished(tmp_path)
    part = out / "parts" / "ts-r000-b000002.parquet"
    part.write_bytes(part.read_bytes()[:50])
    assert cli.main(["report", str(out)]) == 0
    text = (out / "report.html").read_text()
    assert "Partial results" in text and "fails its checksum" in text
    assert cli.main(run_argv(tmp_path / "cfg.yaml", out, "--no-report", "--resume")) == 0
    assert "ts-r000-b000002.parquet fails its checksum" in capsys.readouterr().err
    assert_same(out, reference)


def test_a_record_with_the_wrong_run_count_is_rerun(tmp_path, capsys, finished, reference):
    out = finished(tmp_path)
    record = out / "parts" / "batch-r000-b000000.json"
    planned = json.loads(record.read_text())["runs"]
    record.write_text(record.read_text().replace(f'"runs": {planned}', '"runs": 7'))
    assert cli.main(run_argv(tmp_path / "cfg.yaml", out, "--no-report", "--resume")) == 0
    assert f"it holds 7 runs, the plan gives it {planned}" in capsys.readouterr().err
    assert_same(out, reference)


def test_truncated_manifest_is_one_line_then_rebuilt(tmp_path, capsys, finished, reference):
    out = finished(tmp_path)
    manifest = out / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:40])
    line = error_line(capsys, ["report", str(out)])
    assert "manifest.json: damaged" in line and "--resume" in line
    assert cli.main(run_argv(tmp_path / "cfg.yaml", out, "--no-report", "--resume")) == 0
    assert json.loads(manifest.read_text())["status"] == "complete"
    assert_same(out, reference)


def test_garbage_manifest_is_one_line(tmp_path, capsys, finished):
    out = finished(tmp_path)
    (out / "manifest.json").write_bytes(b"\xff\xfe[not json")
    assert "manifest.json: damaged" in error_line(capsys, ["report", str(out)])
    (out / "manifest.json").write_text("[1, 2]")
    assert "not a salesim manifest" in error_line(capsys, ["report", str(out)])


def test_truncated_consolidated_table_is_rebuilt(tmp_path, capsys, finished, reference):
    """The report reads the verified parts and leaves the file alone; run rebuilds it."""
    out = finished(tmp_path)
    runs = out / "runs.parquet"
    runs.write_bytes(runs.read_bytes()[:100])
    assert cli.main(["report", str(out)]) == 0
    assert "Partial results" not in (out / "report.html").read_text()
    assert len(runs.read_bytes()) == 100
    assert cli.main(run_argv(tmp_path / "cfg.yaml", out, "--no-report")) == 0
    assert_same(out, reference)


def test_every_run_failing_gives_a_report_that_says_so(tmp_path, capsys):
    @register
    class Doomed(CustomerManagerDesign):
        name = "doomed"

        def build_staff(self, model):
            raise RuntimeError("no staff at all")

    try:
        cfg = write(tmp_path, EXPERIMENT.replace("[product, customer_manager]", "[doomed]"))
        assert cli.main(run_argv(cfg, tmp_path / "out")) == 1  # and one line: test_data_safety
        assert "3 runs, 3 failed" in capsys.readouterr().out
        text = (tmp_path / "out" / "report.html").read_text()
        assert "Every run failed" in text and "RuntimeError: no staff at all" in text
    finally:
        remove_design("doomed")


# --- Dask ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dask_scheduler_that_does_not_answer(tmp_path, capsys, monkeypatch, reference):
    monkeypatch.setattr(runner, "SCHEDULER_TIMEOUT", 2)
    cfg = write(tmp_path, EXPERIMENT)
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{free_port()}"
    argv = ["run", str(cfg), "--out", str(out), "--executor", "dask", "--scheduler", address]
    line = error_line(capsys, [*argv, "--no-report"])
    assert f"--scheduler {address}: no Dask scheduler answered within 2 s" in line
    assert "--resume" in line
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert cli.main(run_argv(cfg, out, "--no-report", "--resume")) == 0
    assert_same(out, reference)


def test_dask_scheduler_address_that_is_not_one(tmp_path, capsys):
    cfg = write(tmp_path, EXPERIMENT)
    argv = ["run", str(cfg), "--out", str(tmp_path / "out"), "--executor", "dask"]
    line = error_line(capsys, [*argv, "--scheduler", "nonsense://x"])
    assert "--scheduler 'nonsense://x'" in line or "--scheduler nonsense://x" in line
