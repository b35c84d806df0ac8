"""Bad input: one line naming the field (or file and line) and what is allowed; CLI exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from salesim import ConfigError, load_config


def lever(**kw):
    return {"path": "model.staff.sales_staff", "role": "lever", **kw}


MODEL_CASES = [
    (
        "unknown top-level key",
        {"modle": {}},
        ["modle: unknown field", "allowed: name, model, experiment"],
    ),
    (
        "unknown nested key",
        {"model": {"staff": {"salesstaff": 3}}},
        ["model.staff.salesstaff: unknown field", "allowed: sales_staff"],
    ),
    (
        "wrong type",
        {"model": {"staff": {"sales_staff": "many"}}},
        ["model.staff.sales_staff", "valid integer"],
    ),
    (
        "negative head-count",
        {"model": {"staff": {"sales_staff": -3}}},
        ["model.staff.sales_staff", "greater than or equal to 1", "-3"],
    ),
    (
        "probability above 1",
        {"model": {"population": {"multi_line_share": 1.5}}},
        ["model.population.multi_line_share", "less than or equal to 1"],
    ),
    (
        "unknown design",
        {"model": {"design": "matrix"}},
        ["model.design", "matrix", "customer_manager, product, three_in_one"],
    ),
    (
        "unknown request kind",
        {"model": {"requests": {"kind_mix": {"orders": 1.0}}}},
        ["model.requests.kind_mix", "'orders'", "order, price_enquiry, technical, logistics"],
    ),
    (
        "unknown distribution",
        {"model": {"requests": {"pm_service": {"distribution": "gamma"}}}},
        ["model.requests.pm_service.distribution", "'exponential', 'lognormal' or 'fixed'"],
    ),
    (
        "line weights of the wrong length",
        {"model": {"population": {"line_weights": [1, 2]}}},
        ["model.population.line_weights", "one weight per line (5)"],
    ),
    (
        "warm-up past the horizon",
        {"model": {"horizon_days": 42, "warmup_days": 42}},
        ["model.warmup_days", "less than horizon_days (42)"],
    ),
]

EXPERIMENT_CASES = [
    (
        "unknown experiment key",
        {"replicas": 3},
        ["experiment.replicas: unknown field", "allowed: designs"],
    ),
    (
        "unregistered design",
        {"designs": ["product", "matrix"]},
        ["experiment.designs", "'matrix'", "customer_manager, product, three_in_one"],
    ),
    (
        "baseline not compared",
        {"designs": ["product"], "baseline": "three_in_one"},
        ["experiment.baseline", "not among designs (product)"],
    ),
    (
        "zero replications",
        {"replications": 0},
        ["experiment.replications", "greater than or equal to 1"],
    ),
    (
        "replications not a number",
        {"replications": "many"},
        ["experiment.replications", "valid integer"],
    ),
    (
        "sweep path naming no parameter",
        {"sweep": {"parameters": [lever(path="model.staff.salesstaff", values=[1])]}},
        ["experiment.sweep.parameters.0", "names no parameter", "allowed: sales_staff"],
    ),
    (
        "sweep path without model.",
        {"sweep": {"parameters": [lever(path="staff.sales_staff", values=[1])]}},
        ["experiment.sweep.parameters.0", "paths start with 'model.'"],
    ),
    (
        "sweep path naming a section",
        {"sweep": {"parameters": [lever(path="model.staff", values=[1])]}},
        ["'model.staff' is a section", "sales_staff"],
    ),
    (
        "grid given bounds",
        {"sweep": {"parameters": [lever(bounds={"low": 1, "high": 2})]}},
        ["experiment.sweep.parameters", "grid needs values or range"],
    ),
    (
        "lhs given values",
        {"sweep": {"method": "lhs", "parameters": [lever(values=[1, 2])]}},
        ["experiment.sweep.parameters", "lhs needs bounds"],
    ),
    (
        "bounds reversed",
        {"sweep": {"method": "lhs", "parameters": [lever(bounds={"low": 3, "high": 2})]}},
        ["experiment.sweep.parameters.0.bounds", "high (2.0) must be greater than low (3.0)"],
    ),
    (
        "range reversed",
        {"sweep": {"parameters": [lever(range={"first": 5, "step": 1, "last": 2})]}},
        ["experiment.sweep.parameters.0.range", "last (2.0) must be >= first (5.0)"],
    ),
    (
        "role neither lever nor uncertainty",
        {"sweep": {"parameters": [lever(role="knob", values=[1])]}},
        ["experiment.sweep.parameters.0.role", "'lever' or 'uncertainty'"],
    ),
    (
        "two value sources",
        {"sweep": {"parameters": [lever(values=[1], range={"first": 1, "step": 1, "last": 2})]}},
        ["experiment.sweep.parameters.0", "exactly one of values, range, bounds"],
    ),
    (
        "unknown sampling method",
        {"sweep": {"method": "random", "parameters": [lever(values=[1])]}},
        ["experiment.sweep.method", "'grid', 'lhs', 'sobol' or 'morris'"],
    ),
    (
        "sobol with one parameter",
        {"sweep": {"method": "sobol", "parameters": [lever(bounds={"low": 9, "high": 20})]}},
        ["experiment.sweep", "at least two parameters"],
    ),
    (
        "sweep value out of the model's range",
        {"sweep": {"parameters": [lever(values=[10, -5])]}},
        ["model.staff.sales_staff=-5", "greater than or equal to 1"],
    ),
    (
        "scenario overriding no parameter",
        {"scenarios": {"surge": {"model.market.surgefactor": 2}}},
        ["experiment.scenarios.surge", "has no 'surgefactor'", "surge_factor"],
    ),
    (
        "scenario value out of range",
        {"scenarios": {"surge": {"model.market.surge_factor": -1}}},
        ["experiment.scenarios.surge", "model.market.surge_factor", "greater than 0"],
    ),
    (
        "scenario called base",
        {"scenarios": {"base": {"model.market.surge": True}}},
        ["'base' is reserved"],
    ),
    (
        "unknown KPI",
        {"metrics": ["happiness"]},
        ["experiment.metrics", "'happiness'", "retention_rate"],
    ),
    (
        "precision maximum below initial",
        {"precision": {"initial": 10, "maximum": 5}},
        ["experiment.precision", "maximum (5) must be >= initial (10)"],
    ),
]


def one_line(exc: ConfigError) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(("case", "data", "expected"), MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_model_config_errors(tmp_path, case, data, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = one_line(err.value)
    assert text.startswith(str(path))
    for part in expected:
        assert part in text


@pytest.mark.parametrize(
    ("case", "experiment", "expected"), EXPERIMENT_CASES, ids=[c[0] for c in EXPERIMENT_CASES]
)
def test_experiment_file_errors(tmp_path, case, experiment, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"model": {"horizon_days": 42}, "experiment": experiment}))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = one_line(err.value)
    for part in expected:
        assert part in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["the file is empty"]),
        ("42\n", ["expected a mapping at the top level, got int"]),
        ("model:\n  staff: [1, 2\n", ["bad.yaml:3", "malformed YAML"]),
        (
            "model:\n  design: product\n  seed: !!python/object/apply:os.system ['touch MARKER']\n",
            ["bad.yaml:3", "YAML tag", "not allowed"],
        ),
        ("extends: bad.yaml\n", ["extends itself"]),
    ],
    ids=["empty", "scalar", "malformed", "python tag", "extends cycle"],
)
def test_file_errors_name_file_and_line(tmp_path, monkeypatch, text, expected):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    line = one_line(err.value)
    for part in expected:
        assert part in line
    assert not (tmp_path / "MARKER").exists()


def test_missing_file_and_bad_overrides(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_config(None, ["model.staff.sales_staff"])
    with pytest.raises(ConfigError, match="model.staff.salesstaff: unknown field"):
        load_config(None, ["model.staff.salesstaff=3"])
    with pytest.raises(
        ConfigError, match="model.staff.sales_staff: Input should be a valid integer"
    ):
        load_config(None, ["model.staff.sales_staff.x=3"])


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["simulate", "{cfg}", "--set", "model.staff.sales_staff=-3"], "model.staff.sales_staff"),
        (["simulate", "{cfg}", "--design", "matrix"], "invalid choice: 'matrix'"),
        (["simulate", "{cfg}", "--seed", "abc"], "invalid int value: 'abc'"),
        (["simulate"], "the following arguments are required: config"),
        (["run", "{cfg}", "--executor", "gpu"], "--executor: invalid choice: 'gpu'"),
        (["run", "{cfg}", "--workers", "0"], "--workers: must be at least 1"),
        (["run", "{cfg}"], "no 'experiment:' section"),
        (["validate", "{bad}"], "experiment.replications"),
        (["report", "{tmp}"], "no manifest.json"),
    ],
)
def test_cli_errors_are_one_line_exit_2(tmp_path, argv, expected):
    cfg = tmp_path / "ok.yaml"
    cfg.write_text("model:\n  horizon_days: 21\n  population: {customers: 50}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("experiment:\n  replications: 0\n")
    args = [a.format(cfg=cfg, bad=bad, tmp=tmp_path) for a in argv]
    done = subprocess.run(
        [sys.executable, "-m", "salesim", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert expected in lines[0]
