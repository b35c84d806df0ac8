"""Commands that need no simulation load neither Mesa nor pandas (the layers: test_layers.py).

Each check runs in a fresh interpreter, so what it sees in ``sys.modules`` is what the command
itself imported (behaviour, not timing: the timings are in benchmarks/bench_startup.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def loaded_after(code: str) -> set[str]:
    """Module names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def cli(*args: str) -> str:
    return (
        "import contextlib, io, salesim.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert salesim.cli.main({list(args)!r}) == 0\n"
    )


def test_the_whole_model_layer_loads_nothing_above_it():
    every = " ".join(
        f"import {'.'.join(p.relative_to(ROOT / 'src').with_suffix('').parts)};"
        for p in (ROOT / "src" / "salesim" / "model").rglob("[!_]*.py")
    )
    loaded = loaded_after(every)
    above = ("salesim.experiments", "salesim.report", "salesim.viz", "salesim.cli")
    assert "salesim.model.sales_model" in loaded
    assert not {m for m in loaded if m.startswith(above)}


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("simulate", "--help"),
        ("validate", "configs/baseline.yaml"),
        ("validate", "configs/compare_designs.yaml"),
        ("validate", "configs/sensitivity.yaml"),  # a Morris sweep: counted, not sampled
        ("schema",),
        ("params",),
        ("params", "staff"),
    ],
)
def test_commands_without_a_simulation_load_neither_mesa_nor_pandas(args):
    loaded = loaded_after(cli(*args))
    assert "salesim.cli" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("mesa", "pandas")}


def test_help_alone_loads_no_pydantic_or_numpy():
    loaded = loaded_after(cli("--help"))
    assert not {m for m in loaded if m.split(".")[0] in ("pydantic", "numpy")}


def test_simulate_loads_the_model_but_not_the_experiment_machinery(tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text("model: {horizon_days: 21, population: {customers: 100}}\n")
    loaded = loaded_after(cli("simulate", str(config)))
    assert {"mesa", "pandas", "salesim.model.sales_model"} <= loaded
    unused = (
        "matplotlib", "dask", "distributed", "SALib", "jinja2", "salesim.report.build",
        "salesim.report.study", "salesim.report.plots", "salesim.experiments.runner",
        "salesim.experiments.driver", "salesim.experiments.store",
        "salesim.experiments.calibration", "salesim.viz",
    )  # fmt: skip
    assert not {m for m in loaded if m.startswith(unused)}


def test_public_names_are_imported_on_first_use():
    loaded = loaded_after("import salesim")
    assert "salesim.model.sales_model" not in loaded and "mesa" not in loaded
    loaded = loaded_after("from salesim import SalesModel, load_config, ConfigError")
    assert {"salesim.model.sales_model", "salesim.experiments.config", "mesa"} <= loaded


def test_every_public_name_resolves_and_unknown_names_fail():
    import salesim

    for name in salesim.__all__:
        assert getattr(salesim, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        salesim.nonsense  # noqa: B018


@pytest.mark.parametrize("method", ["grid", "lhs", "sobol", "morris"])
def test_validate_counts_sweep_points_without_sampling(method):
    from salesim.experiments.config import load_config
    from salesim.experiments.plan import sweep_plan, sweep_size

    sampled = {"bounds": {"low": 0.2, "high": 0.8}}
    sweep = {
        "method": method,
        "samples": 4,
        "parameters": [
            {"path": "model.competition.pressure", "role": "uncertainty", **sampled},
            {"path": "model.wallet.initial", "role": "uncertainty", **sampled},
            {"path": "model.staff.sales_staff", "role": "lever", "bounds": {"low": 20, "high": 40}},
        ],
    }
    if method == "grid":
        for p, values in zip(sweep["parameters"], ([0.2, 0.5], [0.3], [20, 30, 40]), strict=True):
            del p["bounds"]
            p["values"] = values
    cfg = load_config(None, {"experiment": {"designs": ["product"], "sweep": sweep}})
    assert sweep_size(cfg.experiment.sweep) == len(sweep_plan(cfg.experiment.sweep, 1).points)
