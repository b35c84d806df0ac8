"""Command line: ``salesim simulate | run | validate | schema | report``.

Every user error (config, argument, output directory) is one line on stderr and exit status
2; Ctrl-C is exit status 130 with every finished run kept.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from salesim.config import ConfigError, SalesimConfig, load_config


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> None:  # noqa: D102
        self.exit(2, f"{self.prog}: error: {message}\n")


def _fmt(name: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if (
        name.endswith("_rate")
        or name in {"market_share", "satisfaction"}
        or name.startswith("utilisation_")
    ):
        return f"{100 * value:.1f}%"
    if name.endswith("_hours"):
        return f"{value:.1f} h"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3f}"


def _overrides(args: argparse.Namespace) -> list[str]:
    sets = list(args.set or [])
    if getattr(args, "design", None):
        sets.append(f"model.design={args.design}")
    if getattr(args, "seed", None) is not None:
        sets.append(f"model.seed={args.seed}")
    return sets


def cmd_simulate(args: argparse.Namespace) -> int:
    """One replication; print the KPI table or JSON."""
    from salesim.model import SalesModel

    cfg = load_config(args.config, _overrides(args)).model
    model = SalesModel(cfg)
    days = args.days or cfg.horizon_days
    show = sys.stderr.isatty()
    step = cfg.calendar.days_per_month
    done = 0
    while done < days:
        chunk = min(step, days - done)
        model.run(chunk)
        done += chunk
        if show:
            print(f"\r  day {done}/{days}", end="", file=sys.stderr, flush=True)
    if show:
        print(file=sys.stderr)
    kpis = model.kpis()
    if args.json:
        clean = {
            k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in kpis.items()
        }
        print(
            json.dumps(
                {"design": cfg.design, "seed": cfg.seed, "config": args.config, "kpis": clean},
                indent=2,
            )
        )
    else:
        print(f"design {cfg.design}, seed {cfg.seed}, {days} business days, {args.config}")
        width = max(map(len, kpis))
        for name, value in kpis.items():
            print(f"  {name:<{width}}  {_fmt(name, value):>16}")
    return 0


def _experiment_config(args: argparse.Namespace) -> SalesimConfig:
    sets = list(args.set or [])
    if args.replications is not None:
        if args.replications < 1:
            raise ConfigError(f"--replications: must be at least 1, got {args.replications}")
        sets.append(f"experiment.replications={args.replications}")
    cfg = load_config(args.config, sets)
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
        _report(out, quiet=True)
        print(f"salesim: {exc}", file=sys.stderr)
        return 130
    report = _report(out) if not args.no_report else None
    failed = f", {result.failed} failed" if result.failed else ""
    print(f"{result.done} runs{failed} in {out}" + (f"; report {report}" if report else ""))
    return 0


def _report(out: Path, quiet: bool = False) -> Path | None:
    from salesim.report import build_report

    try:
        return build_report(out)
    except ConfigError:
        if quiet:
            return None
        raise


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a config (and its experiment) without running anything."""
    cfg = load_config(args.config, args.set)
    what = "model and experiment" if cfg.experiment else "model"
    if cfg.experiment is not None:
        from salesim.experiments.plan import runs_for, seed_of, sweep_plan

        plan = sweep_plan(cfg.experiment.sweep, seed_of(cfg))
        reps = (
            cfg.experiment.precision.maximum
            if cfg.experiment.precision
            else cfg.experiment.replications
        )
        what += f"; {len(runs_for(cfg, plan, range(reps)))} runs at most"
    print(f"{args.config}: valid ({what})")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the config format."""
    print(json.dumps(SalesimConfig.model_json_schema(), indent=2))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Rebuild DIR/report.html from stored results."""
    print(_report(Path(args.dir)))
    return 0


def build_parser() -> Parser:
    """The argument parser with every subcommand."""
    from salesim.designs import registered_designs
    from salesim.experiments.runner import EXECUTORS

    parser = Parser(
        prog="salesim", description="Simulate a B2B sales organisation under alternative designs."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    sets = {
        "action": "append",
        "default": [],
        "metavar": "KEY=VALUE",
        "help": "override, e.g. model.staff.sales_staff=40",
    }

    p = sub.add_parser("simulate", help="run one replication and print its KPIs")
    p.add_argument("config")
    p.add_argument("--design", choices=registered_designs())
    p.add_argument("--seed", type=int)
    p.add_argument("--days", type=int, help="business days to run (default: the horizon)")
    p.add_argument("--set", **sets)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_simulate)

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
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check a config file")
    p.add_argument("config")
    p.add_argument("--set", **sets)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of config files")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("report", help="rebuild DIR/report.html from stored results")
    p.add_argument("dir")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``salesim`` command."""
    args = build_parser().parse_args(argv)
    if args.command == "simulate" and args.days is not None and args.days < 1:
        print(f"salesim: error: --days: must be at least 1, got {args.days}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"salesim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("salesim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head & co.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0


if __name__ == "__main__":
    sys.exit(main())
