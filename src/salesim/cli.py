"""Command line: ``salesim simulate | run | validate | schema | viz | report``.

Every user error (config, argument, output directory) is one line ``salesim: error: ...`` on
stderr and exit status 2, without a traceback; Ctrl-C is one line and exit status 130, SIGTERM
the same with 143 (an experiment keeps every finished run and its workers stop at once).
"""

from __future__ import annotations

import argparse
import json
import math
import numbers
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salesim.config import SalesimConfig, load_config
from salesim.params import ConfigError, ModelConfig

if TYPE_CHECKING:
    from salesim.model import SalesModel

PROG = "salesim"

#: KPIs shown as money (whole currency units with thousands separators).
MONEY = frozenset({"revenue", "gross_margin", "customer_lifetime_value"})
#: KPIs that count things.
COUNTS = frozenset({"requests", "new_customers_won"})
#: Shares on a 0-1 scale shown as percentages (besides ``*_rate`` and ``utilisation_*``).
SHARES = frozenset({"market_share"})


def one_line(message: object) -> str:
    """``message`` as a single line (a multi-line message is joined with spaces)."""
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line ``salesim: error: ...`` and exit status 2."""

    def error(self, message: str) -> None:  # noqa: D102
        self.exit(2, f"{PROG}: error: {one_line(message)}\n")


def positive_int(text: str) -> int:
    """An integer of at least 1 (an argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


# --- output ----------------------------------------------------------------------------------


def format_kpi(name: str, value: float | None) -> str:
    """A KPI value for the table: rates in %, hours with 1 decimal, money with separators."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if name.endswith("_rate") or name in SHARES or name.startswith("utilisation_"):
        return f"{100 * value:.1f}%"
    if name.endswith("_hours"):
        return f"{value:,.1f} h"
    if name in MONEY or name in COUNTS or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3f}"


def kpi_table(kpis: dict[str, float]) -> str:
    """Two aligned columns: KPI name (left) and formatted value (right)."""
    if not kpis:
        return ""
    values = {name: format_kpi(name, value) for name, value in kpis.items()}
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


class Progress:
    """A one-line percentage on stderr, updated once a month; erased when done."""

    def __init__(self, days: int, days_per_month: int, enabled: bool) -> None:
        self.days = days
        self.days_per_month = days_per_month
        self.months = math.ceil(days / days_per_month)
        self.enabled = enabled
        self.width = 0

    def update(self, done: int) -> None:
        """Show ``done`` of ``days`` business days as a percentage."""
        if not self.enabled:
            return
        month = math.ceil(done / self.days_per_month)
        text = f"simulating: {100 * done // self.days:3d}% (month {month}/{self.months})"
        self.width = max(self.width, len(text))
        print(f"\r{text}", end="", file=sys.stderr, flush=True)

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


def simulate(
    cfg: ModelConfig, days: int | None = None, progress: Callable[[int], None] | None = None
) -> SalesModel:
    """One replication of ``cfg`` (a ``ModelConfig``), run month by month; returns the model.

    Running in monthly chunks gives the same result as ``SalesModel(cfg).run(days)``.
    """
    from salesim.model import SalesModel

    model = SalesModel(cfg)
    days = cfg.horizon_days if days is None else days
    step = cfg.calendar.days_per_month
    done = 0
    if progress is not None:
        progress(done)
    while done < days:
        chunk = min(step, days - done)
        model.run(chunk)
        done += chunk
        if progress is not None:
            progress(done)
    return model


def cmd_simulate(args: argparse.Namespace) -> int:
    """One replication; print the KPI table or JSON."""
    cfg = load_config(args.config, _overrides(args)).model
    days = args.days or cfg.horizon_days
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


def add_simulate(sub: Any, sets: dict[str, Any]) -> None:
    """``salesim simulate CONFIG [--design NAME] [--seed N] [--set K=V ...] [--json] [--days N]``.

    ``--design`` and ``--seed`` become overrides, so the config validates them.
    """
    from salesim.designs import registered_designs

    p = sub.add_parser("simulate", help="run one replication and print its KPIs")
    p.add_argument("config", help="YAML config file")
    p.add_argument(
        "--design",
        metavar="NAME",
        help=f"organisation design, one of {', '.join(registered_designs())} "
        "(default: the config's model.design)",
    )
    p.add_argument("--seed", type=int, help="seed (default: the config's model.seed)")
    p.add_argument("--days", type=positive_int, help="business days to run (default: the horizon)")
    p.add_argument("--set", **sets)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_simulate)


# --- run -------------------------------------------------------------------------------------


def _experiment_config(args: argparse.Namespace) -> SalesimConfig:
    sets = list(args.set or [])
    if args.replications is not None:
        if args.replications < 1:
            raise ConfigError(f"--replications: must be at least 1, got {args.replications}")
        sets.append(f"experiment.replications={args.replications}")
    cfg = load_config(args.config, sets, max_runs=args.max_runs)
    if cfg.experiment is None:
        raise ConfigError(
            f"{args.config}: no 'experiment:' section; see configs/compare_designs.yaml"
        )
    if args.replications is not None and cfg.experiment.precision is not None:
        raise ConfigError("--replications: the experiment uses 'precision' (adaptive replications)")
    return cfg


def cmd_run(args: argparse.Namespace) -> int:
    """Run an experiment into --out, then write its report."""
    from salesim.experiments.driver import Interrupted, run_experiment

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers: must be at least 1, got {args.workers}")
    if args.scheduler and args.executor != "dask":
        raise ConfigError("--scheduler: only with --executor dask")
    cfg = _experiment_config(args)
    out = Path(args.out or Path("results") / cfg.name)
    terminated: list[int] = []
    previous = _on_sigterm(terminated)
    try:
        result = run_experiment(
            cfg,
            out,
            executor=args.executor,
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
    report = _report(out) if not args.no_report else None
    failed = f", {result.failed} failed" if result.failed else ""
    print(f"{result.done} runs{failed} in {out}" + (f"; report {report}" if report else ""))
    return 0


def _on_sigterm(flag: list[int]) -> Any:
    """Treat SIGTERM like Ctrl-C (finished runs kept, workers stopped); returns the old handler."""

    def stop(signum: int, frame: Any) -> None:
        flag.append(signum)
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread (e.g. cli.main called from a worker thread)
        return None


def _report(out: Path) -> Path | None:
    from salesim.report import build_report

    return build_report(out)


def add_run(sub: Any, sets: dict[str, Any]) -> None:
    """``salesim run CONFIG [--out DIR] [--replications N] [--executor E] ...``."""
    from salesim.experiments.runner import EXECUTORS

    p = sub.add_parser("run", help="run an experiment (designs x scenarios x sweep x replications)")
    p.add_argument("config")
    p.add_argument("--out", help="results directory (default results/NAME)")
    p.add_argument("--set", **sets)
    p.add_argument("--replications", type=int)
    p.add_argument("--workers", type=int, help="parallel workers (default: all cores)")
    p.add_argument("--executor", choices=EXECUTORS, default="process")
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="Dask scheduler, e.g. tcp://10.0.0.5:8786"
    )
    p.add_argument(
        "--resume", action="store_true", help="finish an interrupted experiment in --out"
    )
    p.add_argument("--no-report", action="store_true", help="skip report.html")
    add_max_runs(p)
    p.set_defaults(func=cmd_run)


def add_max_runs(p: argparse.ArgumentParser) -> None:
    """``--max-runs N``: the most runs an experiment may plan (refused before anything runs)."""
    from salesim.experiments.plan import DEFAULT_MAX_RUNS

    p.add_argument(
        "--max-runs",
        type=positive_int,
        default=DEFAULT_MAX_RUNS,
        metavar="N",
        help=f"refuse an experiment that plans more than N runs (default {DEFAULT_MAX_RUNS:,})",
    )


# --- validate, schema, report ----------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a config (and its experiment) without running anything."""
    cfg = load_config(args.config, args.set, max_runs=args.max_runs)
    what = "model and experiment" if cfg.experiment else "model"
    if cfg.experiment is not None:
        from salesim.experiments.plan import count_runs

        what += f"; {count_runs(cfg)[0]} runs at most"
    print(f"{args.config}: valid ({what})")
    return 0


def add_validate(sub: Any, sets: dict[str, Any]) -> None:
    """``salesim validate CONFIG [--set K=V ...]``."""
    p = sub.add_parser("validate", help="check a config file")
    p.add_argument("config")
    p.add_argument("--set", **sets)
    add_max_runs(p)
    p.set_defaults(func=cmd_validate)


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the config format."""
    print(json.dumps(SalesimConfig.model_json_schema(), indent=2))
    return 0


def add_schema(sub: Any, sets: dict[str, Any]) -> None:
    """``salesim schema``."""
    p = sub.add_parser("schema", help="print the JSON Schema of config files")
    p.set_defaults(func=cmd_schema)


def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild DIR/report.html from stored results."""
    print(_report(Path(args.dir)))
    return 0


def add_report(sub: Any, sets: dict[str, Any]) -> None:
    """``salesim report DIR``."""
    p = sub.add_parser("report", help="rebuild DIR/report.html from stored results")
    p.add_argument("dir")
    p.set_defaults(func=cmd_report)


# --- viz -------------------------------------------------------------------------------------


def cmd_viz(args: argparse.Namespace) -> int:
    """Serve the browser visualisation (Mesa SolaraViz) until Ctrl-C."""
    import subprocess

    if args.config is not None:
        load_config(args.config)  # a bad file is a one-line error here, not a broken page
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port: must be between 1 and 65535, got {args.port}")
    env = {
        **os.environ,
        "SALESIM_VIZ_CONFIG": str(Path(args.config).resolve()) if args.config else "",
        # Offline by design: no usage telemetry, no version check against the package index.
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    }
    cmd = [
        sys.executable, "-m", "solara", "run", "salesim.viz.app",
        "--host", args.host, "--port", str(args.port),
        "--production", "--no-open", "--no-check-version", "--log-level", "warning",
    ]  # fmt: skip
    print(f"salesim viz: http://{args.host}:{args.port}  (Ctrl-C to stop)", file=sys.stderr)
    return subprocess.call(cmd, env=env)


def add_viz(sub: Any, sets: dict[str, Any]) -> None:
    """``salesim viz [CONFIG] [--host H] [--port P]``."""
    p = sub.add_parser("viz", help="open the browser visualisation on http://127.0.0.1:8765")
    p.add_argument("config", nargs="?", help="config whose values are the page's defaults")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only)",
    )
    p.add_argument("--port", type=int, default=8765)
    p.set_defaults(func=cmd_viz)


# --- calibrate -------------------------------------------------------------------------------


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Fit parameters to targets; write the fitted config."""
    from salesim.calibration import calibrate, load_targets, write_fitted_config
    from salesim.experiments.runner import process_pool

    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers: must be at least 1, got {args.workers}")
    base = load_config(args.config, args.set)
    spec = load_targets(args.targets)
    out = Path(args.out or Path(args.config).with_name(Path(args.config).stem + "_fitted.yaml"))
    with process_pool(args.workers) as pool:
        fit = calibrate(base, spec, pool)
    write_fitted_config(fit, spec, args.config, out)
    ok = fit.within_tolerance(spec)
    print(f"{fit.evaluations} evaluations x {spec.replications} replications, {fit.seconds:.0f} s")
    for path, value in fit.values.items():
        print(f"  {path} = {value:.4g}")
    for name in [*spec.targets, *spec.bands]:
        print(f"  {name}: {fit.kpis[name]:.4f} ({'ok' if ok[name] else 'outside'})")
    print(f"wrote {out}")
    return 0 if all(ok.values()) else 1


def add_calibrate(sub: Any, sets: dict[str, Any]) -> None:
    """``salesim calibrate CONFIG --targets TARGETS.yaml [--out FILE]``."""
    p = sub.add_parser("calibrate", help="fit unstated parameters to observed KPIs")
    p.add_argument("config")
    p.add_argument("--targets", required=True, help="targets, bands and parameters to fit (YAML)")
    p.add_argument("--out", help="fitted config to write (default CONFIG_fitted.yaml)")
    p.add_argument("--workers", type=int, help="parallel replications (default: all cores)")
    p.add_argument("--set", **sets)
    p.set_defaults(func=cmd_calibrate)


# --- entry point -----------------------------------------------------------------------------

SUBCOMMANDS = (
    add_simulate,
    add_run,
    add_validate,
    add_schema,
    add_viz,
    add_report,
    add_calibrate,
)


def build_parser() -> Parser:
    """The argument parser with every subcommand."""
    parser = Parser(
        prog=PROG, description="Simulate a B2B sales organisation under alternative designs."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    sets = {
        "action": "append",
        "default": [],
        "metavar": "KEY=VALUE",
        "help": "override a config value (repeatable), e.g. model.staff.sales_staff=40",
    }
    for add in SUBCOMMANDS:
        add(sub, sets)
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
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help (0) or a usage error (2, already reported)
            return exc.code if isinstance(exc.code, int) else 0
        return args.func(args)
    except ConfigError as exc:
        print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
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
