"""A CLI that talks: examples per command, help for every argument, the parameter table, ETA."""

from __future__ import annotations

import argparse

import pytest

from salesim import cli
from salesim.model.parameter_table import all_rows
from salesim.viz.serve import VIZ_QUIET

COMMANDS = (
    "simulate", "run", "validate", "schema", "params", "viz", "report", "calibrate", "optimise",
    "template",
)  # fmt: skip


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_is_listed_with_an_example(capsys):
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    assert set(subparsers()) == set(COMMANDS)
    examples = text.split("examples:", 1)[1]
    for command in COMMANDS:
        assert f"\n    {command}" in text.split("examples:")[0]  # listed with its summary
        assert f"salesim {command} " in examples or f"salesim {command}\n" in examples


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_has_examples_and_every_argument_has_help(command, capsys):
    assert cli.main([command, "--help"]) == 0
    text = capsys.readouterr().out
    examples = text.split("examples:\n", 1)[1].splitlines()
    assert examples and all(line.strip().startswith(f"salesim {command}") for line in examples)
    for action in subparsers()[command]._actions:
        assert action.help and action.help != argparse.SUPPRESS, action.dest


def test_viz_help_shows_the_default_port_and_host(capsys):
    assert cli.main(["viz", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default: {cli.DEFAULT_PORT})" in text and f"(default: {cli.DEFAULT_HOST}" in text


def test_run_help_explains_config_replications_and_scenario(capsys):
    assert cli.main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "YAML config file" in text
    assert "--replications N replications per design" in text
    assert "--scenario NAME [KEY=VALUE ...] add a scenario" in text


def test_params_prints_a_section_as_a_table(capsys):
    assert cli.main(["params", "staff"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("model.staff: Head-counts")
    assert (
        lines[1].split()
        == ["parameter", "default", "unit", "allowed", "description"][: len(lines[1].split())]
    )
    row = next(line for line in lines if line.split()[:1] == ["sales_staff"])
    # default (none: each design's own head-count, 30), unit, range none, or [1, 100,000]
    assert row.split()[1:5] == ["none", "people", "none,", "or"]
    assert not any("model.churn" in line for line in lines)


def test_params_of_one_parameter_and_nested_defaults(capsys):
    assert cli.main(["params", "model.requests.handoff_delay.mean_hours"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "handoff_delay.mean_hours" in line)
    # The nested default is the section's (1 h fixed), not ServiceTime's own 0.5.
    assert row.split()[1:3] == ["1", "business"]


def test_params_unknown_section_is_one_line_naming_the_sections(capsys):
    assert cli.main(["params", "stafff"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'stafff'" in err and "staff, requests" in err


def test_params_markdown_lists_every_parameter_once(capsys):
    assert cli.main(["params", "--markdown"]) == 0
    out = capsys.readouterr().out
    for row in all_rows():
        assert out.count(f"| `{row.path}` |") == 1, row.path


def test_parameter_rows_are_valid_override_keys():
    from salesim.experiments.config import load_config

    rows = all_rows()
    assert len({r.path for r in rows}) == len(rows)
    for row in rows:
        if row.default in ("true", "false") or row.path.endswith("design"):
            continue
        if ": " in row.default or "," in row.default or row.default == "none":
            continue  # mappings, lists and none are set in YAML, not echoed from the table
        value = row.default.replace(",", "")
        assert load_config(None, [f"{row.path}={value}"]), row.path


def test_progress_shows_time_left(capsys):
    ticks = iter([0.0, 0.0, 10.0, 20.0])
    progress = cli.Progress(days=42, days_per_month=21, enabled=True, clock=lambda: next(ticks))
    progress.update(0)
    progress.update(21)
    progress.update(42)
    progress.close()
    err = capsys.readouterr().err
    assert "simulating:  50% (month 1/2), about 10 s left" in err
    assert "100% (month 2/2)" in err and "left" not in err.split("100%")[1]


@pytest.mark.parametrize(
    ("seconds", "shown"), [(4.4, "4 s"), (65, "1 min 05 s"), (3725, "1 h 02 min")]
)
def test_duration(seconds, shown):
    assert cli.duration(seconds) == shown


def test_viz_silences_only_solaras_cookie_warning(monkeypatch, capsys):
    import subprocess
    import sys

    seen = {}
    monkeypatch.setattr(subprocess, "call", lambda cmd, env: seen.update(cmd=cmd, env=env) or 0)
    monkeypatch.setenv("PYTHONWARNINGS", "default")
    assert cli.main(["viz", "configs/baseline.yaml", "--port", "8799"]) == 0
    assert "http://127.0.0.1:8799" in capsys.readouterr().err
    filters = seen["env"]["PYTHONWARNINGS"]
    assert filters == f"default,{VIZ_QUIET}"  # the user's own filters are kept
    # The filter matches the warning solara raises, and nothing else.
    probe = (
        "import warnings\n"
        "for text in ('Cookies with samesite=none require https, but ...', 'another warning'):\n"
        "    warnings.warn_explicit(text, UserWarning, 'starlette.py', 1,"
        " module='solara.server.starlette')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONWARNINGS": filters},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "samesite" not in done.stderr and "another warning" in done.stderr
