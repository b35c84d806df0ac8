"""The ``optimise:`` section of a config file: levers to search, objective(s), constraints.

A lever is a model parameter (a dotted path, checked like a sweep's) with bounds inside the
parameter's declared range, or a list of choices (``model.design`` takes registered designs).
Objectives and constraints name declared KPIs (``salesim.model.inputs.outcomes``); a
constraint's KPI may end in ``*`` (``utilisation_*``: every KPI that starts so), and its bound
may be ``baseline``: the organisation in place's mean on the same seeds. Everything is checked
here, before anything runs or is written (EMA Workbench's levers, outcomes and constraints).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

import annotated_types as at
from pydantic import BaseModel, Field, ValidationError, model_validator

from salesim.experiments.spec import KPI_NAMES, ExperimentSpec, is_integer, parameter_type
from salesim.model.inputs import registry
from salesim.model.inputs.outcomes import OUTCOMES
from salesim.model.inputs.params import F, ModelConfig, Section, error_line

if TYPE_CHECKING:
    from salesim.experiments.config import SalesimConfig

#: The path of the design lever: its choices are registered designs, not a model field's range.
DESIGN = "model.design"


def declared_range(path: str) -> tuple[float, float]:
    """(lowest, highest) value the parameter at ``path`` takes, from its declaration."""
    parts = path.split(".")
    node: Any = ModelConfig
    field = None
    for part in parts[1:]:
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields[part]
            node = field.annotation
        else:  # a mapping's value: no declared bounds of its own
            field = None
    low, high = -math.inf, math.inf
    for m in field.metadata if field is not None else []:
        if isinstance(m, at.Ge | at.Gt):
            low = float(m.ge if isinstance(m, at.Ge) else m.gt)
        elif isinstance(m, at.Le | at.Lt):
            high = float(m.le if isinstance(m, at.Le) else m.lt)
    return low, high


def kpis_matching(name: str) -> list[str]:
    """The KPIs a constraint names: itself, or every KPI starting with what precedes ``*``."""
    if name.endswith("*"):
        return [k for k in KPI_NAMES if k.startswith(name[:-1])]
    return [name] if name in KPI_NAMES else []


class Lever(Section):
    """One lever to search: a model parameter with bounds (numbers) or choices (any values)."""

    path: str = F(
        ..., "dotted path of a model parameter, e.g. model.staff.product_managers_per_line"
    )
    low: float | None = F(None, "lowest value searched (within the parameter's declared range)")
    high: float | None = F(None, "highest value searched (> low)")
    step: float | None = F(None, "grid step for numbers (integers: default 1)", "", gt=0)
    log: bool = F(False, "search on a log scale (low > 0)")
    choices: list[Any] | None = F(
        None, "the values to choose from (categorical), e.g. designs", min_length=1, max_length=100
    )

    @model_validator(mode="after")
    def _check(self) -> Lever:
        if self.path != DESIGN:
            parameter_type(self.path)
        numeric = self.low is not None or self.high is not None
        if numeric == (self.choices is not None):
            raise ValueError(f"lever {self.path}: give low and high, or choices (not both)")
        if self.path == DESIGN:
            if self.choices is None:
                raise ValueError(f"lever {DESIGN}: give choices (registered designs)")
            for d in self.choices:
                problem = registry.unknown_design(d)
                if problem:
                    raise ValueError(f"lever {DESIGN}: {problem}")
        if self.choices is not None:
            if not all(c is None or isinstance(c, bool | int | float | str) for c in self.choices):
                raise ValueError(f"lever {self.path}: choices must be numbers, text or true/false")
            if len({repr(c) for c in self.choices}) != len(self.choices):
                raise ValueError(f"lever {self.path}: a choice is listed twice")
            return self
        if self.low is None or self.high is None:
            raise ValueError(f"lever {self.path}: give both low and high")
        if not self.high > self.low:
            raise ValueError(f"lever {self.path}: high ({self.high}) must exceed low ({self.low})")
        lowest, highest = declared_range(self.path)
        for name, value in (("low", self.low), ("high", self.high)):
            if not lowest <= value <= highest:
                raise ValueError(
                    f"lever {self.path}: {name} {value:g} is outside the parameter's declared "
                    f"range [{lowest:g}, {highest:g}]"
                )
        if self.integer and (not self.low.is_integer() or not self.high.is_integer()):
            raise ValueError(f"lever {self.path}: takes whole numbers; low and high must be too")
        if self.log and self.step is not None:
            raise ValueError(f"lever {self.path}: give log or step, not both")
        if self.log and self.low <= 0:
            raise ValueError(f"lever {self.path}: log needs low > 0")
        return self

    @property
    def integer(self) -> bool:
        """Whether the parameter takes whole numbers."""
        return self.choices is None and is_integer(parameter_type(self.path))


class Objective(Section):
    """A KPI to optimise and which way (default: the KPI's declared better direction)."""

    kpi: str = F("operating_profit", "the KPI, e.g. operating_profit or p90_response_hours")
    direction: Literal["maximise", "minimise"] | None = F(
        None, "maximise | minimise (default: the KPI's better direction)"
    )

    @model_validator(mode="after")
    def _check(self) -> Objective:
        if self.kpi not in KPI_NAMES:
            raise ValueError(f"kpi: unknown KPI {self.kpi!r}; allowed: {', '.join(KPI_NAMES)}")
        if self.direction is None and OUTCOMES[self.kpi].direction == 0:
            raise ValueError(f"{self.kpi} has no better direction; give direction")
        return self

    @property
    def sign(self) -> int:
        """+1 to maximise, -1 to minimise."""
        if self.direction is not None:
            return 1 if self.direction == "maximise" else -1
        return OUTCOMES[self.kpi].direction


class Constraint(Section):
    """A bound on a KPI's mean over a candidate's runs: at most, at least, or the baseline's."""

    kpi: str = F(..., "a KPI, or a prefix ending in * (utilisation_*: every role's)")
    at_most: float | Literal["baseline"] | None = F(
        None, "met when the mean is at most this (baseline: the organisation in place's mean)"
    )
    at_least: float | Literal["baseline"] | None = F(
        None, "met when the mean is at least this (baseline: the organisation in place's mean)"
    )

    @model_validator(mode="after")
    def _check(self) -> Constraint:
        if not kpis_matching(self.kpi):
            raise ValueError(f"kpi: unknown KPI {self.kpi!r}; allowed: {', '.join(KPI_NAMES)}")
        if (self.at_most is None) == (self.at_least is None):
            raise ValueError(f"constraint on {self.kpi}: give at_most or at_least (one)")
        return self

    @property
    def label(self) -> str:
        """E.g. ``p90_response_hours <= 8``."""
        if self.at_most is not None:
            return f"{self.kpi} <= {_shown(self.at_most)}"
        return f"{self.kpi} >= {_shown(self.at_least)}"


def _shown(bound: float | str) -> str:
    return bound if isinstance(bound, str) else f"{bound:g}"


class Uncertainty(Section):
    """An uncertain parameter of the robust mode and the interval it is sampled from."""

    path: str = F(..., "dotted path of a model parameter the company does not control")
    low: float = F(..., "lower bound")
    high: float = F(..., "upper bound (> low)")

    @model_validator(mode="after")
    def _check(self) -> Uncertainty:
        parameter_type(self.path)
        if not self.high > self.low:
            raise ValueError(f"{self.path}: high ({self.high}) must exceed low ({self.low})")
        lowest, highest = declared_range(self.path)
        if not (lowest <= self.low and self.high <= highest):
            raise ValueError(
                f"{self.path}: [{self.low:g}, {self.high:g}] is outside the parameter's "
                f"declared range [{lowest:g}, {highest:g}]"
            )
        return self


class Robust(Section):
    """Evaluate each candidate over a Latin-hypercube sample of uncertainties."""

    samples: int = F(8, "points of the Latin-hypercube sample", "", ge=2, le=1000)
    measure: Literal["mean", "worst_regret"] = F(
        "mean",
        "mean: the objective's mean over the points; worst_regret: the largest shortfall "
        "against the organisation in place at any point (minimised)",
    )
    uncertainties: list[Uncertainty] = F(
        [],
        "the uncertain parameters and their intervals (default: the experiment sweep's "
        "parameters labelled uncertainty, with bounds)",
        max_length=50,
    )


class Verification(Section):
    """Re-run the best candidates on fresh seeds, paired against the organisation in place."""

    top: int = F(3, "candidates verified (best feasible first, else the closest)", "", ge=1, le=50)
    replications: int = F(10, "fresh replications each (seeds the search never used)", "", ge=2)


class OptimiseSpec(Section):
    """What ``salesim optimise`` searches, for what, under which constraints, how long."""

    levers: list[Lever] = F(..., "the levers searched", min_length=1, max_length=50)
    objective: Objective | None = F(None, "one objective (default: operating_profit, maximised)")
    objectives: list[Objective] | None = F(
        None, "two objectives for a Pareto front (NSGA-II)", min_length=2, max_length=2
    )
    constraints: list[Constraint] = F([], "bounds on KPIs every recommended candidate meets")
    head_count_cap: int | None = F(
        None,
        "most people in all roles (front line, field, outlets, PMs, regional managers, "
        "planners); a candidate over it is not run",
        "people",
        ge=1,
        le=1_000_000,
    )
    budget_cap: float | None = F(
        None, "most cost_to_serve over the measured horizon (a constraint)", "currency", gt=0
    )
    n_trials: int = F(50, "candidates to try (in all, counting earlier sessions)", "", ge=1)
    replications: int = F(4, "replications per candidate (the same seeds for all)", "", ge=1)
    sampler: Literal["tpe", "nsga2"] | None = F(
        None, "tpe | nsga2 (default: tpe for one objective, nsga2 for two)"
    )
    seed: int = F(0, "seed of the sampler", "", ge=0, le=2**31 - 1)
    verification: Verification = Field(
        default_factory=Verification, description="re-running the best on fresh seeds"
    )
    robust: Robust | None = F(None, "optimise over a sample of uncertainties")

    @model_validator(mode="after")
    def _check(self) -> OptimiseSpec:
        paths = [lever.path for lever in self.levers]
        if len(set(paths)) != len(paths):
            raise ValueError("levers: a lever is listed twice")
        if self.objective is not None and self.objectives is not None:
            raise ValueError("give objective or objectives (two, for a Pareto front), not both")
        if self.robust is not None and self.objectives is not None:
            raise ValueError("robust: optimises one objective; give objective, not objectives")
        robust_paths = [u.path for u in self.robust.uncertainties] if self.robust else []
        both = set(robust_paths) & set(paths)
        if both:
            raise ValueError(f"robust: {sorted(both)[0]} is a lever, not an uncertainty")
        return self

    @property
    def goals(self) -> list[Objective]:
        """The objective(s), the default when none is given."""
        if self.objectives is not None:
            return list(self.objectives)
        return [self.objective or Objective()]

    @property
    def sampler_name(self) -> str:
        """The sampler used."""
        return self.sampler or ("nsga2" if len(self.goals) == 2 else "tpe")

    def all_constraints(self) -> list[Constraint]:
        """The declared constraints and the budget cap (a bound on cost_to_serve)."""
        extra = (
            [Constraint(kpi="cost_to_serve", at_most=self.budget_cap)] if self.budget_cap else []
        )
        return [*self.constraints, *extra]


def baseline_design(cfg: SalesimConfig) -> str:
    """The organisation in place: the experiment's baseline, else the start or model design."""
    if cfg.experiment is not None:
        return cfg.experiment.baseline_design
    return cfg.model.start.design or cfg.model.design


def search_config(cfg: SalesimConfig) -> SalesimConfig:
    """``cfg`` with an experiment section (the baseline alone) for the runner, if it has none."""
    if cfg.experiment is not None:
        return cfg
    exp = ExperimentSpec(designs=[baseline_design(cfg)], replications=1)
    return cfg.model_copy(update={"experiment": exp})


def uncertainties(cfg: SalesimConfig) -> list[Uncertainty]:
    """The robust mode's uncertainties: its own, else the sweep's labelled uncertainty."""
    robust = cfg.optimise.robust
    if robust is None:
        return []
    if robust.uncertainties:
        return list(robust.uncertainties)
    sweep = cfg.experiment.sweep if cfg.experiment is not None else None
    return [
        Uncertainty(path=p.path, low=p.bounds.low, high=p.bounds.high)
        for p in (sweep.parameters if sweep else [])
        if p.role == "uncertainty" and p.bounds is not None
    ]


def check_optimise(cfg: SalesimConfig) -> None:
    """Build the model config of each lever's extremes and choices; ValueError naming a misfit."""
    from salesim.experiments.plan import Run, model_config, seed_of

    spec = cfg.optimise
    full = search_config(cfg)
    if spec.robust is not None and not uncertainties(cfg):
        raise ValueError(
            "optimise.robust: no uncertainties; list them (path, low, high) or label sweep "
            "parameters role: uncertainty with bounds"
        )
    probes: list[tuple[str, dict[str, Any]]] = []
    for i, lever in enumerate(spec.levers):
        if lever.path == DESIGN:
            continue
        values = lever.choices if lever.choices is not None else [lever.low, lever.high]
        for v in values:
            v = int(v) if lever.integer and isinstance(v, float) else v
            probes.append((f"optimise.levers.{i} ({lever.path}={v})", {lever.path: v}))
    for u in uncertainties(cfg):
        for v in (u.low, u.high):
            v = int(round(v)) if is_integer(parameter_type(u.path)) else v
            probes.append((f"optimise.robust ({u.path}={v})", {u.path: v}))
    design = baseline_design(cfg)
    for label, values in probes:
        run = Run("probe", 0, "base", design, 0, seed_of(cfg), values)
        try:
            model_config(full, run)
        except ValidationError as err:
            raise ValueError(f"{label}: model.{error_line(err, ModelConfig)}") from None
