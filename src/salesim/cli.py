"""Command line: ``salesim simulate | run | validate | ... | calibrate | optimise | template``.

Every user error (config, argument, output directory) is one line ``salesim: error: ...`` on
stderr and exit status 2, without a traceback; Ctrl-C is one line and exit status 130, SIGTERM
the same with 143 (an experiment keeps every finished run and its workers stop at once). Long
commands show progress with an ETA on stderr when it is a terminal, and nothing when it is not.

Imports are deferred to the command that needs them: ``--help``, ``validate``, ``schema`` and
``params`` load neither Mesa nor pandas, so they answer at once.
"""

from __future__ import annotations

import argparse
import json
import math
import numbers
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salesim.experiments.config import SalesimConfig

PROG = "salesim"
DEFAULT_EXECUTOR = "process"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


# --- help texts: every command's summary and examples, in one place ------------------------


@dataclass(frozen=True)
class Command:
    """What ``salesim --help`` says of a command, and the examples its own ``--help`` shows."""

    help: str
    examples: tuple[str, ...]

    @property
    def epilog(self) -> str:
        """The examples as an argparse epilog."""
        return "examples:\n" + "\n".join(f"  {line}" for line in self.examples)


COMMANDS = {
    "simulate": Command(
        "run one replication and print its KPIs",
        (
            "salesim simulate configs/baseline.yaml --design product --seed 7",
            "salesim simulate configs/baseline.yaml --set model.staff.sales_staff=40 --json",
        ),
    ),
    "run": Command(
        "run an experiment (designs x scenarios x sweep x replications) and write its report",
        (
            "salesim run configs/compare_designs.yaml --out results/compare",
            "salesim run configs/compare_designs.yaml --scenario hire6cm "
            "model.staff.customer_manager.managers_per_region=12 --out results/hire6cm",
            "salesim run configs/compare_designs.yaml --scenario hire5 "
            "model.staff.sales_staff=35 --out results/hire5",
            "salesim run configs/surge.yaml --out results/surge --resume   # after Ctrl-C",
            "salesim run configs/sensitivity.yaml --executor dask --scheduler tcp://HOST:8786",
        ),
    ),
    "validate": Command(
        "check a config file, and any option of run, without running it (--estimate: time a "
        "few of its runs)",
        (
            "salesim validate configs/sweep_portfolio.yaml",
            "salesim validate configs/baseline.yaml --set model.population.customers=3000",
            "salesim validate configs/robustness_sobol.yaml --estimate   # how long it takes",
            "salesim validate configs/compare_designs.yaml --scenario hire6cm "
            "model.staff.customer_manager.managers_per_region=12   # as run would take it",
        ),
    ),
    "schema": Command(
        "print the JSON Schema of config files (for editors)",
        ("salesim schema > salesim.schema.json",),
    ),
    "params": Command(
        "list the model's parameters: defaults, units, allowed values",
        (
            "salesim params                 # every parameter",
            "salesim params staff           # one section",
            "salesim params model.churn.satisfaction",
            "salesim params --markdown      # the table in docs/model.md",
        ),
    ),
    "viz": Command(
        f"open the browser visualisation on http://{DEFAULT_HOST}:{DEFAULT_PORT}",
        (
            "salesim viz configs/baseline.yaml",
            "salesim viz configs/baseline.yaml --host 0.0.0.0 --port 9000   # serve others",
        ),
    ),
    "report": Command(
        "rebuild DIR/report.html from stored results",
        ("salesim report results/compare_designs",),
    ),
    "template": Command(
        "write the config's customers or staff roster in the file format, to fill in",
        (
            "salesim template customers --config configs/baseline.yaml > customers.csv",
            "salesim template roster --config configs/baseline.yaml --out roster.xlsx",
        ),
    ),
    "optimise": Command(
        "search the levers of a config's optimise: section for the best organisation, then "
        "verify the best few on fresh seeds",
        (
            "salesim optimise configs/optimise_staffing.yaml --out results/optimise_staffing",
            "salesim optimise configs/optimise_staffing.yaml --n-trials 200   # continue to 200",
            "salesim optimise configs/optimise_staffing.yaml --executor dask "
            "--scheduler tcp://HOST:8786",
        ),
    ),
    "calibrate": Command(
        "fit unstated parameters to observed KPIs",
        (
            "salesim calibrate configs/g_company_base.yaml --targets configs/targets_2005.yaml "
            "--out configs/g_company_2005.yaml",
            "salesim calibrate configs/g_company_base.yaml --targets configs/targets_2005.yaml "
            "--samples 8 --out results/samples_2005.csv   # sets that all reproduce 2005",
        ),
    ),
}

DESCRIPTION = "Simulate a B2B sales organisation under alternative organisation designs."
EPILOG = (
    "examples:\n"
    + "\n".join(f"  {c.examples[0]}" for c in COMMANDS.values())
    + "\n\nRun 'salesim COMMAND --help' for a command's options and more examples."
)

#: Help of the arguments several commands share.
ARG_HELP = {
    "config": "YAML config file (a 'model:' section, or 'extends: baseline.yaml'; "
    "'salesim params' lists every parameter)",
    "set": "override a config value (repeatable), e.g. model.staff.sales_staff=40",
    "workers": "parallel worker processes (default: all cores)",
}


# --- argparse plumbing -----------------------------------------------------------------------


def one_line(message: object) -> str:
    """``message`` as a single line (a multi-line message is joined with spaces)."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def inputs_of(config: str | None, cfg: SalesimConfig, *more: str) -> list[Path]:
    """Every file a command reads: the config and its ``extends:`` chain, data files, ``more``."""
    from salesim.experiments.store import study_files
    from salesim.model.inputs.config_files import config_chain

    chain = config_chain(config) if config else []
    return [*chain, *map(Path, study_files(cfg)), *map(Path, more)]


def refuse_inputs_as_output(option: str, out: Path, inputs: list[Path], folder: bool) -> None:
    """ConfigError before any work if ``out`` is one of ``inputs`` (or, a folder, holds one)."""
    from salesim.model.inputs.files import resolved
    from salesim.model.inputs.params import ConfigError

    target = resolved(out, f"{option} {out}")
    for path in inputs:
        source = resolved(path)
        if source == target:
            raise ConfigError(
                f"{option} {out}: is an input of this command; choose another "
                + ("directory" if folder else "file")
            )
        if folder and target in source.parents:
            raise ConfigError(
                f"{option} {out}: holds {source.name}, an input of this command; choose "
                "another directory"
            )


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line ``salesim: error: ...`` and exit status 2."""

    def error(self, message: str) -> None:  # noqa: D102
        self.exit(2, f"{PROG}: error: {one_line(message)}\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps examples as written; fills ``{designs}`` only when a help text is shown.

    Listing the registered designs imports ``salesim.model.designs`` (numpy); doing it while help is
    formatted, not while the parser is built, keeps every other command's start fast.
    """

    def _expand_help(self, action: argparse.Action) -> str:
        text = super()._expand_help(action)
        if "{designs}" in text:
            from salesim.model.inputs.registry import registered_designs

            text = text.replace("{designs}", ", ".join(registered_designs()))
        return text


def positive_int(text: str) -> int:
    """An integer of at least 1 (an argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_command(sub: Any, name: str) -> Parser:
    """A subcommand parser with its help and examples from ``COMMANDS``."""
    command = COMMANDS[name]
    return sub.add_parser(
        name,
        help=command.help,
        description=command.help[0].upper() + command.help[1:] + ".",
        epilog=command.epilog,
        formatter_class=HelpFormatter,
    )


def add_config(p: Parser, optional: bool = False) -> None:
    """The CONFIG positional."""
    if optional:
        p.add_argument("config", nargs="?", help=ARG_HELP["config"] + " (default: the defaults)")
    else:
        p.add_argument("config", help=ARG_HELP["config"])


def add_set(p: Parser) -> None:
    """The repeatable ``--set KEY=VALUE``."""
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=ARG_HELP["set"])


# --- output ----------------------------------------------------------------------------------


def kpi_table(kpis: dict[str, float]) -> str:
    """Two aligned columns: KPI name (left) and formatted value (right)."""
    if not kpis:
        return ""
    from salesim.report.units import value as shown

    values = {name: shown(name, value) for name, value in kpis.items()}
    left = max(map(len, values))
    right = max(map(len, values.values()))
    return "\n".join(f"  {name:<{left}}  {text:>{right}}" for name, text in values.items())


def json_value(value: Any) -> Any:
    """A KPI as plain JSON: NaN and infinities become null, numpy scalars plain numbers."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


def stderr_is_tty() -> bool:
    """Whether progress should be shown (stderr is a terminal)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """A one-line percentage with an ETA on stderr, updated once a month; erased when done."""

    def __init__(
        self,
        days: int,
        days_per_month: int,
        enabled: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.days = days
        self.days_per_month = days_per_month
        self.months = math.ceil(days / days_per_month)
        self.enabled = enabled
        self.width = 0
        self.clock = clock
        self.started = clock()

    def update(self, done: int) -> None:
        """Show ``done`` of ``days`` business days as a percentage, and the time left."""
        if not self.enabled:
            return
        month = math.ceil(done / self.days_per_month)
        text = f"simulating: {100 * done // self.days:3d}% (month {month}/{self.months})"
        now = self.clock()
        if done == 0:
            self.started = now  # the clock starts once the model is built
        elapsed = now - self.started
        if 0 < done < self.days:
            text += f", about {duration(elapsed * (self.days - done) / done)} left"
        self.width = max(self.width, len(text))
        print(f"\r{text.ljust(self.width)}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Erase the progress line so that stderr stays clean."""
        if self.enabled and self.width:
            print("\r" + " " * self.width + "\r", end="", file=sys.stderr, flush=True)
            self.width = 0


# --- simulate --------------------------------------------------------------------------------


def _overrides(args: argparse.Namespace) -> list[str]:
    """``--set`` values, then ``--design`` and ``--seed`` as ``model.design``/``model.seed``."""
    sets = list(args.set or [])
    if getattr(args, "design", None) is not None:
        sets.append(f"model.design={args.design}")
    if getattr(args, "seed", None) is not None:
        sets.append(f"model.seed={args.seed}")
    return sets


def cmd_simulate(args: argparse.Namespace) -> int:
    """One replication; print the KPI table or JSON."""
    from salesim.experiments.config import load_config

    cfg = load_config(args.config, _overrides(args)).model
    if args.days is not None:
        from salesim.model.inputs.params import ConfigError, ModelConfig

        most = _most(ModelConfig, "horizon_days")
        if args.days > most:
            raise ConfigError(f"--days: at most {most:,} (as model.horizon_days), got {args.days}")
    days = args.days or cfg.horizon_days
    from salesim.model.sales_model import simulate

    progress = Progress(days, cfg.calendar.days_per_month, stderr_is_tty())
    try:
        model = simulate(cfg, days, progress.update)
    finally:
        progress.close()
    kpis = model.kpis()
    if args.json:
        out = {
            "design": cfg.design,
            "seed": cfg.seed,
            "config": args.config,
            "kpis": {name: json_value(value) for name, value in kpis.items()},
        }
        print(json.dumps(out, indent=2, allow_nan=False))
    else:
        print(f"design {cfg.design}, seed {cfg.seed}, {days} business days, {args.config}")
        print(kpi_table(kpis))
    return 0


def _most(section: Any, name: str) -> int:
    """The upper bound (``le``) of a field."""
    import annotated_types

    meta = section.model_fields[name].metadata
    return next(m.le for m in meta if isinstance(m, annotated_types.Le))


def add_simulate(sub: Any) -> None:
    """``salesim simulate CONFIG [--design NAME] [--seed N] [--set K=V ...] [--json] [--days N]``.

    ``--design`` and ``--seed`` become overrides, so the config validates them.
    """
    p = add_command(sub, "simulate")
    add_config(p)
    p.add_argument(
        "--design",
        metavar="NAME",
        help="organisation design, one of {designs} (default: the config's model.design)",
    )
    p.add_argument("--seed", type=int, help="seed of every random stream (default: model.seed)")
    p.add_argument(
        "--days", type=positive_int, help="business days to run (default: model.horizon_days)"
    )
    add_set(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_simulate)


# --- run -------------------------------------------------------------------------------------


def check_execution(args: argparse.Namespace) -> None:
    """``--workers``, ``--executor`` and ``--scheduler`` that fit together (ConfigError)."""
    from salesim.model.inputs.params import ConfigError

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers: must be at least 1, got {args.workers}")
    if args.scheduler and executor(args) != "dask":
        raise ConfigError("--scheduler: only with --executor dask")
    if args.scheduler:
        check_scheduler(args.scheduler)


def study_out(args: argparse.Namespace, cfg: Any) -> Path:
    """A study's ``--out`` (default results/NAME), refused if it is unsafe or one of its inputs."""
    from salesim.experiments.store import check_out_name

    out = Path(args.out or Path("results") / cfg.name)
    check_out_name(out)
    refuse_inputs_as_output("--out", out, inputs_of(args.config, cfg), folder=True)
    return out


def study_options(args: argparse.Namespace) -> SalesimConfig:
    """Check a study's options as ``run`` does before it looks at ``--out``; return its config.

    The config is the file with ``--set``, ``--replications`` and ``--scenario`` applied;
    ``validate`` calls this too, so it refuses exactly what ``run`` refuses.
    """
    from salesim.experiments.config import study_config

    check_execution(args)
    return study_config(
        args.config, args.set, args.replications, args.scenario or [], args.max_runs
    )


def executor(args: argparse.Namespace) -> str:
    """The ``--executor`` given, else the default."""
    return args.executor or DEFAULT_EXECUTOR


def cmd_run(args: argparse.Namespace) -> int:
    """Run an experiment into --out, then write its report."""
    from salesim.experiments.driver import Interrupted, run_experiment

    cfg = study_options(args)
    out = study_out(args, cfg)
    terminated: list[int] = []
    previous = _on_sigterm(terminated)
    try:
        result = run_experiment(
            cfg,
            out,
            executor=executor(args),
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
        )
    except Interrupted as exc:
        # No report here: stopping promptly matters more; `salesim report DIR` builds it.
        print(f"{PROG}: {one_line(exc)} (report: salesim report {out})", file=sys.stderr)
        return 143 if terminated else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if result.already_complete:
        print(f"{out}: already complete - nothing to run", file=sys.stderr)
    report = _report(out) if not args.no_report else None
    failed = f", {result.failed} failed" if result.failed else ""
    print(f"{result.done} runs{failed} in {out}" + (f"; report {report}" if report else ""))
    if report is not None:
        print(_headline(out), end="")
    if result.done and result.failed == result.done:
        print(f"{PROG}: error: {_all_failed(out, result.done)}", file=sys.stderr)
        return 1
    return 0


def _all_failed(out: Path, n: int) -> str:
    """One line: every run failed, and the first reason."""
    from salesim.experiments.store import read_parquet

    path = out / "runs.parquet"
    runs = read_parquet(path, ["run_id", "error"]) if path.is_file() else None
    why = ""
    if runs is not None and len(runs):
        lines = [x for x in str(runs.error.iloc[0]).strip().splitlines() if x.strip()]
        why = f" (first, {runs.run_id.iloc[0]}: {lines[-1].strip()[:200]})" if lines else ""
    return f"all {n} runs failed{why}; nothing to compare: fix the config and run again"


def check_scheduler(address: str) -> None:
    """A Dask scheduler address of the form PROTOCOL://HOST[:PORT]; ConfigError (one line)."""
    import re

    from salesim.model.inputs.params import ConfigError

    if not re.fullmatch(r"(tcp|tls|inproc|ucx|ws|wss)://[^\s/]+", address):
        raise ConfigError(
            f"--scheduler {address!r}: not a scheduler address; e.g. tcp://10.0.0.5:8786"
        )


def _on_sigterm(flag: list[int]) -> Any:
    """Treat SIGTERM like Ctrl-C (finished runs kept, workers stopped); returns the old handler."""

    def stop(signum: int, frame: Any) -> None:
        flag.append(signum)
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread (e.g. cli.main called from a worker thread)
        return None


def _headline(out: Path) -> str:
    """The verdict's headline lines the report wrote (empty if it has none)."""
    from salesim.report.build import HEADLINE_FILE

    path = out / HEADLINE_FILE
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _report(out: Path) -> Path | None:
    if (out / "optimise.json").is_file() or (out / "optuna.db").is_file():
        from salesim.report.optimise import build_optimise_report

        return build_optimise_report(out)
    from salesim.report.build import build_report

    return build_report(out)


def add_execution(p: argparse.ArgumentParser) -> None:
    """``--workers``, ``--executor``, ``--scheduler``: where a study's runs execute."""
    from salesim.experiments import EXECUTORS

    p.add_argument("--workers", type=int, metavar="N", help=ARG_HELP["workers"])
    p.add_argument(
        "--executor",
        choices=EXECUTORS,
        help=f"where runs execute (default: {DEFAULT_EXECUTOR}, on this machine's cores)",
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://10.0.0.5:8786"
    )


def add_run(sub: Any) -> None:
    """``salesim run CONFIG [--out DIR] [--scenario NAME K=V ...] [--replications N] ...``."""
    p = add_command(sub, "run")
    add_config(p)
    add_study_options(p)
    p.set_defaults(func=cmd_run)


def add_study_options(p: Parser) -> None:
    """The options of a study: ``run`` takes them, and ``validate`` takes every one of them."""
    p.add_argument(
        "--out", metavar="DIR", help="results directory (default: results/NAME, NAME the config's)"
    )
    add_set(p)
    p.add_argument(
        "--scenario",
        nargs="+",
        action="append",
        metavar=("NAME", "KEY=VALUE"),
        help="add a scenario besides the config's (repeatable): a name, then the overrides that "
        "define it, e.g. --scenario hire6cm model.staff.customer_manager.managers_per_region=12 "
        "(one design's head-count) or --scenario hire5 model.staff.sales_staff=35 (every "
        "design's)",
    )
    p.add_argument(
        "--replications",
        type=int,
        metavar="N",
        help="replications per design x scenario x sweep point, seeds seed .. seed+N-1 "
        "(default: the config's experiment.replications)",
    )
    add_execution(p)
    p.add_argument(
        "--resume", action="store_true", help="finish an interrupted experiment in --out"
    )
    p.add_argument("--no-report", action="store_true", help="skip report.html")
    add_max_runs(p)


def add_max_runs(p: argparse.ArgumentParser) -> None:
    """``--max-runs N``: the most runs an experiment may plan (refused before anything runs)."""
    from salesim.experiments import DEFAULT_MAX_RUNS

    p.add_argument(
        "--max-runs",
        type=positive_int,
        default=DEFAULT_MAX_RUNS,
        metavar="N",
        help=f"refuse an experiment that plans more than N runs (default {DEFAULT_MAX_RUNS:,})",
    )


# --- validate, schema, params, report --------------------------------------------------------


#: Options that only a study has: given any, ``validate`` checks the config as ``run`` would.
STUDY_ONLY = ("out", "scenario", "replications", "executor", "scheduler", "resume", "no_report")


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a config (and its experiment) without running anything; ``--estimate`` runs a few.

    With any option only a study has (``--scenario``, ``--replications``, ``--out``, ...), the
    config and options are checked exactly as ``salesim run`` checks them before it starts;
    ``--out`` itself is not opened.
    """
    from salesim.experiments.config import load_config
    from salesim.model.inputs.params import ConfigError

    if any(getattr(args, name) not in (None, False) for name in STUDY_ONLY):
        cfg = study_options(args)
    else:
        if args.workers is not None and args.workers < 1:
            raise ConfigError(f"--workers: must be at least 1, got {args.workers}")
        cfg = load_config(args.config, args.set, max_runs=args.max_runs)
    what = "model and experiment" if cfg.experiment else "model"
    if cfg.experiment is not None:
        from salesim.experiments.plan import count_runs

        what += f"; {count_runs(cfg)[0]} runs at most"
    if cfg.optimise is not None:
        opt = cfg.optimise
        what += (
            f"; optimise: {len(opt.levers)} levers, {opt.n_trials} trials x "
            f"{opt.replications} replications (salesim optimise)"
        )
    print(f"{args.config}: valid ({what})")
    if cfg.model.population.customers_file or cfg.model.staff.roster_file:
        from salesim.model.data_files import describe_data_files

        for line in describe_data_files(cfg.model):
            print(f"  {line}")
    return print_estimate(cfg, args.workers) if args.estimate else 0


def print_estimate(cfg: SalesimConfig, workers: int | None) -> int:
    """Time a few of the study's runs here and print how long all of them would take."""
    from salesim.experiments.estimate import estimate
    from salesim.experiments.runner import default_workers

    if cfg.experiment is None:
        from salesim.model.sales_model import SalesModel

        began = time.perf_counter()
        SalesModel(cfg.model).run()
        print(f"estimate: one replication took {duration_fine(time.perf_counter() - began)} here")
        return 0
    if stderr_is_tty():
        print(f"{PROG}: timing a few of its runs (about 10 s)...", file=sys.stderr, flush=True)
    found = estimate(cfg)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"estimate: {found.timed} of its runs, spread over the plan, took "
        f"{duration_fine(found.per_run)} each here (load average {load})"
    )
    n = workers or default_workers()
    on = f"{duration(found.study_seconds(1))} on 1 worker"
    if n > 1:
        on += f", {duration(found.study_seconds(n))} on {n} workers if they share it perfectly"
    most = " at most" if cfg.experiment.precision is not None else ""
    print(f"  {found.planned:,} runs{most}: {on}; starting, storing and the report come on top")
    if found.failed:
        run_id, error = found.failed[0]
        more = f" ({len(found.failed) - 1} more)" if len(found.failed) > 1 else ""
        print(f"{PROG}: warning: run {run_id} failed: {error}{more}", file=sys.stderr)
        return 1
    return 0


def duration_fine(seconds: float) -> str:
    """``0.31 s`` below a minute (a run's time), else as ``duration``."""
    return f"{seconds:.2f} s" if seconds < 60 else duration(seconds)


def add_validate(sub: Any) -> None:
    """``salesim validate CONFIG [--estimate] [every option of salesim run]``."""
    p = add_command(sub, "validate")
    add_config(p)
    add_study_options(p)
    p.add_argument(
        "--estimate",
        action="store_true",
        help="time a few of the study's runs here and print how long the study would take "
        "(on --workers workers, default all cores)",
    )
    p.set_defaults(func=cmd_validate)


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the config format."""
    from salesim.experiments.config import SalesimConfig

    print(json.dumps(SalesimConfig.model_json_schema(), indent=2))
    return 0


def add_schema(sub: Any) -> None:
    """``salesim schema``."""
    p = add_command(sub, "schema")
    p.set_defaults(func=cmd_schema)


def cmd_params(args: argparse.Namespace) -> int:
    """Print the model's parameters as a table (or Markdown)."""
    from salesim.model.parameter_table import markdown_table, rows, text_table

    selected = rows(args.section)
    print(markdown_table(selected) if args.markdown else text_table(selected))
    return 0


def add_params(sub: Any) -> None:
    """``salesim params [SECTION] [--markdown]``."""
    p = add_command(sub, "params")
    p.add_argument(
        "section",
        nargs="?",
        help="a section (staff, model.requests, ...) or one parameter (default: all)",
    )
    p.add_argument("--markdown", action="store_true", help="print Markdown tables")
    p.set_defaults(func=cmd_params)


def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild DIR/report.html from stored results."""
    print(_report(Path(args.dir)))
    return 0


def add_report(sub: Any) -> None:
    """``salesim report DIR``."""
    p = add_command(sub, "report")
    p.add_argument("dir", metavar="DIR", help="results directory written by 'salesim run'")
    p.set_defaults(func=cmd_report)


# --- viz -------------------------------------------------------------------------------------


def cmd_viz(args: argparse.Namespace) -> int:
    """Serve the browser page until Ctrl-C."""
    from salesim.viz.serve import serve

    return serve(args.config, args.host, args.port)


def add_viz(sub: Any) -> None:
    """``salesim viz [CONFIG] [--host H] [--port P]``."""
    p = add_command(sub, "viz")
    add_config(p, optional=True)
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to bind (default: %(default)s, this machine only; 0.0.0.0 serves others)",
    )
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port to serve on (default: %(default)s)"
    )
    p.set_defaults(func=cmd_viz)


# --- optimise --------------------------------------------------------------------------------


def cmd_optimise(args: argparse.Namespace) -> int:
    """Search the levers, verify the best, write trials.csv, best.yaml and report.html."""
    from salesim.experiments.config import load_config
    from salesim.experiments.optimise import Interrupted, search
    from salesim.model.inputs.params import ConfigError

    check_execution(args)
    sets = list(args.set or [])
    if args.n_trials is not None:
        sets.append(f"optimise.n_trials={args.n_trials}")
    cfg = load_config(args.config, sets)
    if cfg.optimise is None:
        raise ConfigError(
            f"{args.config}: no 'optimise:' section; see configs/optimise_staffing.yaml"
        )
    out = study_out(args, cfg)
    terminated: list[int] = []
    previous = _on_sigterm(terminated)
    try:
        result = search(
            cfg, out, executor=executor(args), workers=args.workers, scheduler=args.scheduler
        )
    except Interrupted as exc:
        print(f"{PROG}: {one_line(exc)}", file=sys.stderr)
        return 143 if terminated else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    from salesim.report.optimise import build_optimise_report

    report = build_optimise_report(out)
    summary = result.summary
    print(
        f"{result.trials} trials ({result.evaluated} this session, {result.runs} runs), "
        f"{summary.get('candidates', 0)} candidates, {result.feasible} meet every constraint"
    )
    winner = summary.get("winner")
    if winner:
        shown = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in winner["values"].items()
        )
        print(f"best: {shown} ({summary.get('best_note')}); {out / 'best.yaml'}")
    print(f"report {report}")
    return 0


def add_optimise(sub: Any) -> None:
    """``salesim optimise CONFIG [--out DIR] [--n-trials N] [--set K=V ...] [--workers N] ...``."""
    p = add_command(sub, "optimise")
    add_config(p)
    p.add_argument(
        "--out",
        metavar="DIR",
        help="results directory (default: results/NAME); running again continues its study",
    )
    p.add_argument(
        "--n-trials",
        type=positive_int,
        metavar="N",
        help="candidates in all, earlier sessions included (default: optimise.n_trials)",
    )
    add_set(p)
    add_execution(p)
    p.set_defaults(func=cmd_optimise)


# --- calibrate -------------------------------------------------------------------------------


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit parameters to targets; write the fitted config."""
    from salesim.experiments.calibration import (
        FITTED_HEADER,
        calibrate,
        check_spec,
        load_targets,
        write_fitted_config,
    )
    from salesim.experiments.config import load_config
    from salesim.experiments.runner import kill_workers, process_pool
    from salesim.model.inputs.params import ConfigError

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers: must be at least 1, got {args.workers}")
    for option, value, most in (
        ("--samples", args.samples, 1000),
        ("--replications", args.replications, 1000),
        ("--max-evaluations", args.max_evaluations, 100_000),
    ):
        if value is not None and not 1 <= value <= most:
            raise ConfigError(f"{option}: must be a whole number 1 to {most:,}, got {value}")
    base = load_config(args.config, args.set)
    spec = load_targets(args.targets)
    changes = {"replications": args.replications, "max_evaluations": args.max_evaluations}
    spec = spec.model_copy(update={k: v for k, v in changes.items() if v is not None})
    check_spec(base, spec, args.targets)
    if args.samples is not None:
        return _calibrate_samples(args, base, spec)
    out = Path(args.out or Path(args.config).with_name(Path(args.config).stem + "_fitted.yaml"))
    refuse_inputs_as_output("--out", out, inputs_of(args.config, base, args.targets), folder=False)
    check_new_file("--out", out, header=FITTED_HEADER)
    terminated: list[int] = []
    previous = _on_sigterm(terminated)
    try:
        with process_pool(args.workers) as pool:
            try:
                fit = calibrate(base, spec, pool, progress=stderr_is_tty())
            except BaseException:
                kill_workers(pool)  # Ctrl-C or SIGTERM: stop now, not after the evaluations
                raise
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing written to {out}", file=sys.stderr)
        return 143 if terminated else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    write_fitted_config(fit, spec, args.config, out)
    ok = fit.within_tolerance(spec)
    print(f"{fit.evaluations} evaluations x {spec.replications} replications, {fit.seconds:.0f} s")
    for path, value in fit.values.items():
        print(f"  {path} = {value:.4g}")
    for name in [*spec.targets, *spec.bands]:
        print(f"  {name}: {fit.kpis[name]:.4f} ({'ok' if ok[name] else 'outside'})")
    print(f"wrote {out}")
    return 0 if all(ok.values()) else 1


def _calibrate_samples(args: argparse.Namespace, base: Any, spec: Any) -> int:
    """``calibrate --samples N``: accepted parameter sets to a CSV, every draw beside it."""
    from salesim.experiments.calibration import (
        SAMPLES_HEADER,
        calibrate_samples,
        samples_paths,
        write_samples,
    )
    from salesim.experiments.runner import kill_workers, process_pool
    from salesim.model.inputs.params import ConfigError

    if not spec.assumptions:
        raise ConfigError(
            f"{args.targets}: assumptions: --samples needs unstated parameters to draw (a list "
            "of {path, low, high}); without them every fit is the same"
        )
    out = Path(args.out or Path(args.config).with_name(Path(args.config).stem + "_samples.csv"))
    if out.suffix.lower() != ".csv":
        raise ConfigError(f"--out {out}: with --samples, a .csv file (the accepted sets)")
    for path in samples_paths(out):
        refuse_inputs_as_output(
            "--out", path, inputs_of(args.config, base, args.targets), folder=False
        )
        check_new_file("--out", path, header=SAMPLES_HEADER)
    terminated: list[int] = []
    previous = _on_sigterm(terminated)
    try:
        with process_pool(args.workers) as pool:
            try:
                result = calibrate_samples(base, spec, args.samples, pool, stderr_is_tty())
            except BaseException:
                kill_workers(pool)
                raise
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing written to {out}", file=sys.stderr)
        return 143 if terminated else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    accepted, draws = write_samples(result, out)
    n_ok, n = len(result.accepted), len(result.draws)
    evaluations = sum(row["evaluations"] for row in result.draws)
    print(
        f"{n_ok} of {n} draws accepted (wanted {args.samples}); {evaluations} evaluations x "
        f"{spec.replications} replications, {result.seconds:.0f} s"
    )
    names = [p.path for p in [*spec.assumptions, *spec.parameters]]
    for name in [*names, *spec.targets, *spec.bands]:
        values = [row[name] for row in result.accepted]
        if values:
            print(f"  {name}: {min(values):.4g} to {max(values):.4g}")
    print(f"wrote {accepted} (accepted sets) and {draws} (every draw)")
    return 0 if n_ok >= args.samples else 1


def add_calibrate(sub: Any) -> None:
    """``salesim calibrate CONFIG --targets TARGETS.yaml [--out FILE] [--samples N]``."""
    p = add_command(sub, "calibrate")
    add_config(p)
    p.add_argument(
        "--targets",
        required=True,
        metavar="FILE",
        help="YAML file: KPIs to hit, bands to keep, parameters to fit with their bounds",
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        help="fitted config to write (default: CONFIG_fitted.yaml); with --samples, the CSV of "
        "accepted sets (default: CONFIG_samples.csv; every draw goes beside it, _draws.csv)",
    )
    p.add_argument(
        "--samples",
        type=int,
        metavar="N",
        help="not one fit but N parameter sets that all meet the targets: the targets file's "
        "assumptions drawn by Latin hypercube, the parameters refitted at each draw",
    )
    p.add_argument(
        "--replications", type=int, metavar="N", help="override the targets file's replications"
    )
    p.add_argument(
        "--max-evaluations",
        type=int,
        metavar="N",
        help="override the targets file's max_evaluations (per fit)",
    )
    p.add_argument("--workers", type=int, metavar="N", help=ARG_HELP["workers"])
    add_set(p)
    p.set_defaults(func=cmd_calibrate)


def cmd_template(args: argparse.Namespace) -> int:
    """Write a template customer or roster file on stdout (CSV) or to --out (by its suffix)."""
    from salesim.experiments.config import load_config
    from salesim.model.data_template import template_frame
    from salesim.model.own_data.tables import write_table

    cfg = load_config(args.config, args.set)
    if args.out is not None:
        out = Path(args.out)
        refuse_inputs_as_output("--out", out, inputs_of(args.config, cfg), folder=False)
        check_new_file("--out", out)
    write_table(template_frame(cfg.model, args.what), args.out)
    return 0


def check_new_file(option: str, out: Path, header: str | None = None) -> None:
    """ConfigError unless ``out`` can be written without destroying a file of the user's.

    A file that exists is replaced only if it starts with ``header`` (salesim wrote it);
    the folder must exist and be writable, and the name must be UTF-8.
    """
    from salesim.model.inputs.params import ConfigError

    try:
        str(out).encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(
            f"{option} {ascii(os.fsencode(out))}: not UTF-8; use a UTF-8 name"
        ) from None
    if os.path.lexists(out):
        if not out.is_file():
            raise ConfigError(f"{option} {out}: exists and is not a regular file")
        ours = False
        if header is not None:
            with open(out, "rb") as fh:
                ours = fh.read(len(header)) == header.encode()
        if not ours:
            raise ConfigError(
                f"{option} {out}: exists and salesim did not write it; choose a new file name "
                "(salesim never overwrites your files)"
            )
    folder = out.parent
    if not folder.is_dir():
        raise ConfigError(f"{option} {out}: no such directory {folder}")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"{option} {out}: cannot write in {folder}")


def add_template(sub: Any) -> None:
    """``salesim template customers|roster [--config CONFIG] [--out FILE] [--set K=V ...]``."""
    p = add_command(sub, "template")
    p.add_argument("what", choices=("customers", "roster"), help="which file to write")
    p.add_argument("--config", help=ARG_HELP["config"] + " (default: the defaults)")
    p.add_argument("--out", help="write to this file (.csv, .parquet, .xlsx) instead of stdout")
    add_set(p)
    p.set_defaults(func=cmd_template)


# --- entry point -----------------------------------------------------------------------------

SUBCOMMANDS = (
    add_simulate,
    add_run,
    add_validate,
    add_schema,
    add_params,
    add_viz,
    add_report,
    add_calibrate,
    add_optimise,
    add_template,
)


def build_parser() -> Parser:
    """The argument parser with every subcommand."""
    parser = Parser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    sub = parser.add_subparsers(
        title="commands", dest="command", required=True, parser_class=Parser, metavar="COMMAND"
    )
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def _silence_stdout() -> None:
    """After a broken pipe (``salesim ... | head``), send further output nowhere."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``salesim`` command; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already reported)
        return exc.code if isinstance(exc.code, int) else 0
    except BrokenPipeError:
        _silence_stdout()
        return 0
    from salesim.model.inputs.params import ConfigError  # after parsing: --help needs no pydantic

    try:
        return args.func(args)
    except ConfigError as exc:
        from salesim.model.inputs.files import cut

        print(f"{PROG}: error: {cut(one_line(exc), 1000)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except OSError as exc:  # e.g. a file that vanished or a device error, not named elsewhere
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{PROG}: error: {where}{one_line(exc.strerror or exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
