"""What one candidate is: its runs, its head-count, and its objective and constraint values.

Every candidate runs on the same seeds (and, in the robust mode, on the same sample of
uncertainties), so candidates differ only by their levers (common random numbers), and the
organisation in place runs on them too: a constraint ``at_least: baseline`` and the regret
compare paired runs. Constraint values follow optuna's convention (feasible when <= 0) and are
relative to the bound, so that violations in hours and in money can be ranked together.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from salesim.experiments.optimise_spec import (
    DESIGN,
    Constraint,
    baseline_design,
    kpis_matching,
    uncertainties,
)
from salesim.experiments.plan import Run, model_config, seed_of
from salesim.experiments.spec import is_integer, parameter_type

if TYPE_CHECKING:
    from salesim.experiments.config import SalesimConfig
    from salesim.experiments.optimise_spec import OptimiseSpec
    from salesim.model.inputs.params import ModelConfig


def search_seeds(cfg: SalesimConfig) -> list[int]:
    """Seeds of the search's replications: ``seed .. seed + replications - 1``."""
    first = seed_of(cfg)
    return [first + i for i in range(cfg.optimise.replications)]


def verification_seeds(cfg: SalesimConfig) -> list[int]:
    """Fresh seeds for verification: the ones after the search's, so never used by it."""
    first = seed_of(cfg) + cfg.optimise.replications
    return [first + i for i in range(cfg.optimise.verification.replications)]


def uncertainty_points(cfg: SalesimConfig) -> list[dict[str, Any]]:
    """The robust mode's Latin-hypercube points (one empty point otherwise), seeded."""
    found = uncertainties(cfg)
    if not found:
        return [{}]
    from scipy.stats import qmc

    spec = cfg.optimise
    unit = qmc.LatinHypercube(d=len(found), seed=np.random.default_rng(spec.seed)).random(
        spec.robust.samples
    )
    low = np.array([u.low for u in found])
    high = np.array([u.high for u in found])
    rows = qmc.scale(unit, low, high)
    out = []
    for row in rows:
        point = {}
        for u, v in zip(found, row, strict=True):
            point[u.path] = int(round(v)) if is_integer(parameter_type(u.path)) else float(v)
        out.append(point)
    return out


def candidate_runs(
    cfg: SalesimConfig,
    tag: str,
    values: dict[str, Any],
    seeds: list[int],
    points: list[dict[str, Any]],
) -> list[Run]:
    """The runs of one candidate: its lever values, its design (a lever, else ``model.design``).

    ``tag`` ``baseline`` is the organisation in place: its design and the config's values.
    """
    default = baseline_design(cfg) if tag.endswith("baseline") else cfg.model.design
    design = values.get(DESIGN, default)
    model_values = {k: v for k, v in values.items() if k != DESIGN}
    scenario = cfg.experiment.reference
    return [
        Run(f"{tag}-p{p:03d}-r{rep:03d}", p, scenario, design, rep, seed, {**point, **model_values})
        for p, point in enumerate(points)
        for rep, seed in enumerate(seeds)
    ]


def candidate_model(cfg: SalesimConfig, values: dict[str, Any], tag: str = "c") -> ModelConfig:
    """The model config of a candidate (first search seed, no uncertainty applied)."""
    return model_config(cfg, candidate_runs(cfg, tag, values, [seed_of(cfg)], [{}])[0])


def head_count(model: ModelConfig) -> int | None:
    """People in every role a config builds; None when its design declares no head-count."""
    staff, pop = model.staff, model.population
    section = getattr(staff, model.design, None)
    if section is None or not hasattr(section, "headcount"):
        return None
    from salesim.model.designs import make_design

    design = make_design(model.design)
    outlet = design.outlet_staff(model) if hasattr(design, "outlet_staff") else 0
    groups = len(pop.lines) if section.group == "line" else pop.regions
    desk, field = section.headcount(staff, groups, outlet)
    others = (
        staff.product_managers_per_line * len(pop.lines)
        + staff.regional_managers_per_region * pop.regions
        + staff.planners
    )
    return int(desk + field + outlet + others)


def frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Run records as a table, failed runs dropped."""
    table = pd.DataFrame.from_records(records)
    if "status" in table:
        table = table[table.status == "ok"]
    return table


def means(table: pd.DataFrame) -> dict[str, float]:
    """Mean of every numeric column over the runs (NaN where a KPI is undefined)."""
    numeric = table.select_dtypes("number").drop(
        columns=["point", "replication", "seed"], errors="ignore"
    )
    return {k: _finite(v) for k, v in numeric.mean().items()}


def _finite(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def objective_values(
    spec: OptimiseSpec, table: pd.DataFrame, baseline: pd.DataFrame
) -> list[float]:
    """The optimised value of each goal: the mean, or the worst regret against the baseline."""
    out = []
    for goal in spec.goals:
        if spec.robust is not None and spec.robust.measure == "worst_regret":
            own = table.groupby("point")[goal.kpi].mean()
            base = baseline.groupby("point")[goal.kpi].mean()
            out.append(float((goal.sign * (base - own.reindex(base.index))).max()))
        else:
            out.append(float(table[goal.kpi].mean()))
    return out


def objective_names(spec: OptimiseSpec) -> list[str]:
    """Column names of the optimised values."""
    if spec.robust is not None and spec.robust.measure == "worst_regret":
        return [f"worst_regret_{g.kpi}" for g in spec.goals]
    return [g.kpi for g in spec.goals]


def directions(spec: OptimiseSpec) -> list[str]:
    """Optuna's direction of each optimised value."""
    if spec.robust is not None and spec.robust.measure == "worst_regret":
        return ["minimize" for _ in spec.goals]
    return ["maximize" if g.sign > 0 else "minimize" for g in spec.goals]


def bound(c: Constraint, kpi: str, baseline: dict[str, float | None]) -> float | None:
    """A constraint's bound for one KPI: the number given, or the baseline's mean."""
    value = c.at_most if c.at_most is not None else c.at_least
    return baseline.get(kpi) if value == "baseline" else float(value)


def constraint_values(
    spec: OptimiseSpec, kpis: dict[str, float | None], baseline: dict[str, float | None]
) -> list[float]:
    """Each constraint's relative violation (<= 0 met), the worst of the KPIs it matches."""
    out = []
    for c in spec.all_constraints():
        worst = -math.inf
        for kpi in kpis_matching(c.kpi):
            value, limit = kpis.get(kpi), bound(c, kpi, baseline)
            if value is None or limit is None:
                continue  # e.g. no outlets in this design: nothing to bound
            gap = value - limit if c.at_most is not None else limit - value
            worst = max(worst, gap / abs(limit) if limit else gap)
        out.append(worst if math.isfinite(worst) else 0.0)
    return out


def constraint_shown(
    spec: OptimiseSpec, kpis: dict[str, float | None], baseline: dict[str, float | None]
) -> dict[str, float | None]:
    """Per constraint label, the value it judged: the mean (the worst of a ``*`` pattern)."""
    out = {}
    for c in spec.all_constraints():
        values = [kpis.get(k) for k in kpis_matching(c.kpi)]
        values = [v for v in values if v is not None]
        if not values:
            out[c.label] = None
        else:
            out[c.label] = max(values) if c.at_most is not None else min(values)
    return out


def head_count_violation(spec: OptimiseSpec, people: int | None) -> float | None:
    """Relative excess over the head-count cap (<= 0 within it); None without a cap."""
    if spec.head_count_cap is None or people is None:
        return None
    return (people - spec.head_count_cap) / spec.head_count_cap
