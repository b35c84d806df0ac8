"""From an experiment spec to the list of runs it implies, each a flat record of its inputs.

A run is (sweep point, scenario, design, replication). Replication i has seed ``seed + i``
whatever the design, scenario or point, so every comparison is on common random numbers.
Run ids sort in plan order and do not depend on how runs are batched or where they ran.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from salesim.experiments import DEFAULT_MAX_RUNS
from salesim.experiments.spec import is_integer, parameter_type
from salesim.model.inputs.config_files import apply_overrides
from salesim.model.inputs.params import ModelConfig, error_line

if TYPE_CHECKING:
    from salesim.experiments.config import SalesimConfig
    from salesim.experiments.spec import Sweep, Switch


@dataclass(frozen=True)
class Run:
    """One replication to run, with everything needed to run it anywhere."""

    run_id: str
    point: int
    scenario: str
    design: str
    replication: int
    seed: int
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Plan:
    """The sweep points and the SALib problem (for sobol/morris) of an experiment."""

    points: list[dict[str, Any]]
    problem: dict[str, Any] | None = None
    samples: np.ndarray | None = None


def count_points(sweep: Sweep | None) -> int:
    """Number of sweep points, computed without building them."""
    if sweep is None:
        return 1
    if sweep.method == "grid":
        return math.prod(
            len(p.values) if p.values is not None else p.range.count() for p in sweep.parameters
        )
    d = len(sweep.parameters)
    return sweep.samples * {"lhs": 1, "sobol": d + 2, "morris": d + 1}[sweep.method]


def most_replications(cfg: SalesimConfig) -> int:
    """Replications per cell at most (the adaptive maximum when precision is set)."""
    exp = cfg.experiment
    return exp.precision.maximum if exp.precision is not None else exp.replications


def count_runs(cfg: SalesimConfig) -> tuple[int, str]:
    """(runs the experiment plans at most, how that number is made up), without expanding."""
    exp = cfg.experiment
    factors = [
        (len(exp.designs), "designs"),
        (len(exp.scenario_overrides()), "scenarios"),
        (count_points(exp.sweep), "sweep points"),
        (most_replications(cfg), "replications"),
    ]
    total = math.prod(n for n, _ in factors)
    return total, " x ".join(f"{n:,} {what}" for n, what in factors)


def check_run_count(cfg: SalesimConfig, max_runs: int | None) -> int:
    """The number of runs planned; ValueError if it exceeds ``max_runs`` (None: no limit)."""
    total, made_of = count_runs(cfg)
    if max_runs is not None and total > max_runs:
        raise ValueError(
            f"experiment: plans {total:,} runs ({made_of}), more than the limit of "
            f"{max_runs:,}; plan fewer or raise the limit with --max-runs"
        )
    return total


#: Largest seed a replication may have (numpy seeds and Parquet columns are 64-bit).
MAX_SEED = 2**63 - 1


def _cast(path: str, value: float) -> Any:
    return int(round(value)) if is_integer(parameter_type(path)) else float(value)


def sweep_plan(sweep: Sweep | None, seed: int) -> Plan:
    """The points of a sweep (one empty point when there is none)."""
    if sweep is None:
        return Plan(points=[{}])
    params = sweep.parameters
    paths = [p.path for p in params]
    if sweep.method == "grid":
        axes = [p.values if p.values is not None else p.range.values() for p in params]
        points = [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*axes)]
        return Plan(points=[{k: _grid_value(k, v) for k, v in pt.items()} for pt in points])
    low = np.array([p.bounds.low for p in params])
    high = np.array([p.bounds.high for p in params])
    problem = {
        "num_vars": len(params),
        "names": paths,
        "bounds": np.column_stack([low, high]).tolist(),
    }
    if sweep.method == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(params), seed=np.random.default_rng(seed)).random(
            sweep.samples
        )
        samples = qmc.scale(unit, low, high)
    elif sweep.method == "sobol":
        from SALib.sample import sobol

        samples = sobol.sample(problem, sweep.samples, calc_second_order=False, seed=seed)
    else:
        from SALib.sample import morris

        samples = morris.sample(problem, sweep.samples, num_levels=sweep.levels, seed=seed)
    points = [{p: _cast(p, v) for p, v in zip(paths, row, strict=True)} for row in samples]
    return Plan(points=points, problem=problem, samples=samples)


def sweep_size(sweep: Sweep | None) -> int:
    """How many points ``sweep_plan`` gives, without sampling (so SALib is not imported)."""
    if sweep is None:
        return 1
    dims = len(sweep.parameters)
    if sweep.method == "grid":
        return math.prod(
            len(p.values if p.values is not None else p.range.values()) for p in sweep.parameters
        )
    if sweep.method == "lhs":
        return sweep.samples
    if sweep.method == "sobol":
        return sweep.samples * (dims + 2)  # first-order and total indices only
    return sweep.samples * (dims + 1)  # morris: trajectories of dims + 1 points


def first_point(sweep: Sweep | None) -> dict[str, Any]:
    """A point of the sweep to check configs with: the first grid point, or the lower bounds."""
    if sweep is None:
        return {}
    if sweep.method == "grid":
        return sweep_plan(sweep, 0).points[0]
    return {p.path: _cast(p.path, p.bounds.low) for p in sweep.parameters}


def _grid_value(path: str, value: Any) -> Any:
    if isinstance(value, float) and is_integer(parameter_type(path)) and value.is_integer():
        return int(value)
    return value


def seed_of(cfg: SalesimConfig) -> int:
    """Seed of replication 0."""
    exp = cfg.experiment
    return exp.seed if exp is not None and exp.seed is not None else cfg.model.seed


def runs_for(cfg: SalesimConfig, plan: Plan, replications: range) -> list[Run]:
    """Every run for the given replications, in plan order."""
    exp = cfg.experiment
    base_seed = seed_of(cfg)
    runs = []
    for point, values in enumerate(plan.points):
        for scenario in exp.scenario_overrides():
            for design in exp.designs:
                for rep in replications:
                    runs.append(
                        Run(
                            run_id=f"p{point:05d}-{scenario}-{design}-r{rep:05d}",
                            point=point,
                            scenario=scenario,
                            design=design,
                            replication=rep,
                            seed=base_seed + rep,
                            values=values,
                        )
                    )
    return runs


def cells(runs: list[Run]) -> list[list[Run]]:
    """``runs`` grouped by (point, scenario, replication), in plan order.

    The designs of one cell start from the same settled world (``salesim.model.start``), which one
    process computes once for all of them when it runs them one after another.
    """
    groups: dict[tuple[int, str, int], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.point, run.scenario, run.replication), []).append(run)
    return list(groups.values())


def model_config(cfg: SalesimConfig, run: Run) -> ModelConfig:
    """The model config of one run: base, then scenario, then sweep values, design and seed."""
    exp = cfg.experiment
    overrides: dict[str, Any] = {}
    if exp.horizon_days is not None:
        overrides["model.horizon_days"] = exp.horizon_days
    if exp.warmup_days is not None:
        overrides["model.warmup_days"] = exp.warmup_days
    if cfg.model.start.design is None:
        # Every design of a comparison starts from the same world: the baseline's steady state.
        overrides["model.start.design"] = exp.baseline_design
    overrides.update(exp.scenario_overrides()[run.scenario])
    overrides.update(run.values)
    overrides["model.design"] = run.design
    overrides["model.seed"] = run.seed
    if exp.switch is not None:
        overrides.update(switch_overrides(exp.switch, run.design))
    data = apply_overrides({"model": cfg.model.model_dump()}, overrides)
    return ModelConfig.model_validate(data["model"])


def switch_overrides(switch: Switch, design: str) -> dict[str, Any]:
    """A switch study's run of ``design``: the organisation in place, switching at the month.

    The run of the organisation in place itself is the "stay" run: no reorganisation.
    """
    stays = design == switch.in_place
    return {
        "model.design": switch.in_place,
        "model.start.design": switch.in_place,
        "model.reorganisation.month": None if stays else switch.month,
        "model.reorganisation.design": switch.in_place if stays else design,
    }


def horizon_months(cfg: SalesimConfig) -> int:
    """Whole months a run of the experiment simulates."""
    exp = cfg.experiment
    days = exp.horizon_days if exp.horizon_days is not None else cfg.model.horizon_days
    return days // cfg.model.calendar.days_per_month


def check_experiment(cfg: SalesimConfig, max_runs: int | None = DEFAULT_MAX_RUNS) -> None:
    """Count the runs, then build the config of every scenario and sweep value.

    ValueError names the first problem. The count comes first and is arithmetic, so a plan of
    millions of runs is refused before anything is expanded.
    """
    exp = cfg.experiment
    check_run_count(cfg, max_runs)
    last_seed = seed_of(cfg) + most_replications(cfg) - 1
    if last_seed > MAX_SEED:
        raise ValueError(
            f"experiment.seed: the last replication's seed ({last_seed}) exceeds {MAX_SEED}; "
            "use a smaller seed"
        )
    if exp.switch is not None:
        # A switch during the warm-up would not be counted; one at the horizon never happens.
        warmup = exp.warmup_days if exp.warmup_days is not None else cfg.model.warmup_days
        first = max(1, math.ceil(warmup / cfg.model.calendar.days_per_month))
        last = horizon_months(cfg) - 1
        if not first <= exp.switch.month <= last:
            raise ValueError(
                f"experiment.switch.month: {exp.switch.month} is not within the measured "
                f"horizon of {horizon_months(cfg)} months; allowed: {first} to {last}"
            )
    # Each distinct value once: a list of 10,000 equal values is one probe, not 10,000.
    probes: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    if exp.sweep is not None:
        for p in exp.sweep.parameters:
            vals = (
                p.values
                if p.values is not None
                else (
                    [p.range.first, p.range.last]
                    if p.range is not None
                    else [p.bounds.low, p.bounds.high]
                )
            )
            for v in vals:
                value = _grid_value(p.path, v)
                label = f"experiment.sweep {p.path}={v}"
                probes.setdefault((p.path, repr(value)), (label, {p.path: value}))
    for label, values in [("experiment", first_point(exp.sweep)), *probes.values()]:
        for scenario in exp.scenario_overrides():
            run = Run("probe", 0, scenario, exp.designs[0], 0, seed_of(cfg), values)
            try:
                model_config(cfg, run)
            except ValidationError as err:
                where = f"experiment.scenarios.{scenario}" if scenario != "base" else label
                raise ValueError(f"{where}: model.{error_line(err, ModelConfig)}") from None
