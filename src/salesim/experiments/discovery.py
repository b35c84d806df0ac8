"""Scenario discovery: where in the swept space a design loses to the baseline, as PRIM boxes.

For each KPI and each design other than the baseline, every run is paired with the baseline's
run at the same scenario, sweep point and seed (common random numbers); the paired difference
is averaged over a point's replications, and the point *loses* when that mean lies on the worse
side of zero by the KPI's declared direction (``salesim.model.inputs.outcomes``). When a design
loses somewhere but not everywhere, PRIM (Friedman & Fisher 1999, the ``prim`` package, the
EMA Workbench's algorithm) peels the swept parameters (uncertainties and levers) down to a box
of losing points.

Which box of the peeling trajectory is reported (``choose``): among the boxes that restrict at
least one parameter, hold at least ``MIN_COVERAGE`` of the losing points and are denser in
losing points than the whole sample, the densest; of boxes within ``DENSITY_TOLERANCE`` of that
density, the one restricting fewest parameters, then the one covering most. Coverage is the
share of the losing points inside the box, density the share of the box's points that lose.
Then any restriction that is not significant (quasi-p above ``MAX_QUASI_P``, Bryant & Lempert
2010) is dropped, so that run-to-run noise does not add conditions; a box whose last condition
is not significant either is no box (the losses are scattered).

Nothing here draws or writes; ``records`` gives the flat table the report saves as
``scenario_discovery.csv``. ``find_box`` takes any boolean outcome over any points, so other
questions ("where does the model reproduce a figure?") can reuse it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from salesim.model.inputs.outcomes import outcome
from salesim.model.kpis import HEADLINE

if TYPE_CHECKING:
    from salesim.experiments.config import SalesimConfig

#: A reported box holds at least this share of the losing points (assumption: the usual
#: scenario-discovery habit of trading density for coverage no lower than about 80%).
MIN_COVERAGE = 0.8
#: Boxes this close to the densest eligible one count as equally dense (then fewer restricted
#: parameters win): a point or two of density is not worth another condition in a sentence.
DENSITY_TOLERANCE = 0.02
#: After the choice, a restriction whose quasi-p value (Bryant & Lempert 2010: a one-sided
#: binomial test of the box's density against the box without that restriction) exceeds this
#: is dropped, so noise does not add conditions; the usual 5% level.
MAX_QUASI_P = 0.05
#: A sample with fewer points than this gets no box (PRIM peels 5% at a time).
MIN_POINTS = 8
#: PRIM's peeling step (share of the box's points removed per peel) and smallest box (share of
#: all points): the package's defaults.
PEEL_ALPHA = 0.05
MASS_MIN = 0.05
#: ... and a box holds at least this many points, so that a small sample's box is not one point.
MIN_BOX_POINTS = 3

#: The stable columns of ``scenario_discovery.csv`` (extra columns follow them).
COLUMNS = ("kpi", "design", "box", "parameter", "lower", "upper", "coverage", "density")


@dataclass(frozen=True)
class Limit:
    """One restricted parameter of a box: lower <= value <= upper, and which sides restrict."""

    parameter: str
    lower: float
    upper: float
    restricts_lower: bool
    restricts_upper: bool
    #: Share of the parameter's range the box keeps (0 to 1): smaller is more restricted.
    width: float


@dataclass
class Box:
    """A PRIM box: its restricted parameters (most restricted first) and how good it is."""

    limits: list[Limit]
    coverage: float
    density: float
    mass: float
    inside: np.ndarray
    #: The whole peeling trajectory (coverage, density, mass, restricted) and the chosen step.
    trajectory: pd.DataFrame
    chosen: int

    @property
    def parameters(self) -> list[str]:
        """The restricted parameters, most restricted first."""
        return [lim.parameter for lim in self.limits]


@dataclass
class Finding:
    """Where one design loses to the baseline on one KPI in one scenario."""

    scenario: str
    kpi: str
    design: str
    baseline: str
    #: One row per point: the swept values, ``diff`` (mean paired difference) and ``loses``.
    points: pd.DataFrame
    parameters: list[str]
    roles: dict[str, str]
    boxes: list[Box] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Points with a paired difference."""
        return len(self.points)

    @property
    def lose_share(self) -> float:
        """Share of the points where the design loses."""
        return float(self.points.loses.mean()) if self.n else float("nan")

    @property
    def win_share(self) -> float:
        """Share of the points where the design is better than the baseline."""
        if not self.n:
            return float("nan")
        return float((self.points["diff"] * outcome(self.kpi).direction > 0).mean())

    @property
    def status(self) -> str:
        """One word: never (loses nowhere), everywhere, box (found one) or scattered (none fits)."""
        losing = int(self.points.loses.sum())
        if losing == 0:
            return "never"
        if losing == self.n:
            return "everywhere"
        return "box" if self.boxes else "scattered"


# --- PRIM on any boolean outcome -----------------------------------------------------------------


def _restricted(limits: np.ndarray, init: np.ndarray, names: list[str]) -> list[tuple]:
    out = []
    for i, name in enumerate(names):
        key = f"x{i}"
        lo, hi = float(limits[key][0]), float(limits[key][1])
        lo0, hi0 = float(init[key][0]), float(init[key][1])
        low, high = lo > lo0, hi < hi0
        if low or high:
            out.append((name, lo, hi, low, high))
    return out


def choose(trajectory: pd.DataFrame, base_density: float, min_coverage: float) -> int | None:
    """The step of a peeling trajectory to report, by the rule in the module's docstring."""
    t = trajectory
    eligible = t[(t.restricted >= 1) & (t.coverage >= min_coverage) & (t.density > base_density)]
    if eligible.empty:
        return None
    dense = eligible[eligible.density >= eligible.density.max() - DENSITY_TOLERANCE]
    best = dense.sort_values(["restricted", "coverage"], ascending=[True, False], kind="stable")
    return int(best.index[0])


def _prune(found, step: int) -> int:
    """Drop the least significant restriction while its quasi-p exceeds ``MAX_QUASI_P``.

    Each drop appends the wider box to the trajectory and selects it; returns the step kept.
    One restriction is always kept.
    """
    while True:
        qp = found._calculate_quasi_p(step)
        if len(qp) <= 1:
            return step
        name, worst = max(qp.items(), key=lambda kv: kv[1])
        if not worst > MAX_QUASI_P:
            return step
        found.drop_restriction(name)
        step = len(found.peeling_trajectory) - 1


def find_boxes(
    x: pd.DataFrame,
    y: np.ndarray,
    bounds: dict[str, tuple[float, float]] | None = None,
    max_boxes: int = 1,
    min_coverage: float = MIN_COVERAGE,
) -> list[Box]:
    """PRIM boxes of the points where ``y`` is true, over the numeric columns of ``x``.

    ``bounds`` (parameter -> declared low, high) gives the limits of a side the box does not
    restrict (else the sample's own minimum and maximum). A second box (``max_boxes`` > 1) is
    sought among the points outside the first, PRIM's covering approach: its coverage is of all
    the points where ``y`` is true, its density among the points outside the first box. No box
    when ``y`` is everywhere or nowhere true, or the sample is too small.

    prim 1.0 has no public accessor for a trajectory step's limits or quasi-p values, so its
    ``_box_lims``, ``_box_init`` and ``_calculate_quasi_p`` are read here (and only here).
    """
    import prim  # imports matplotlib and more: only when a box is wanted

    y = np.asarray(y, dtype=bool)
    names = [c for c in x.columns if x[c].nunique() > 1]
    if len(x) < MIN_POINTS or not names or y.all() or not y.any():
        return []
    # PRIM's records want plain field names; the parameters' dotted paths go back on below.
    data = pd.DataFrame({f"x{i}": x[n].to_numpy(dtype=float) for i, n in enumerate(names)})
    mass_min = max(MASS_MIN, MIN_BOX_POINTS / len(x))
    p = prim.Prim(data, y, peel_alpha=PEEL_ALPHA, paste_alpha=PEEL_ALPHA, mass_min=mass_min)
    boxes = []
    base_density = float(y.mean())
    for _ in range(max_boxes):
        if not y[p.yi_remaining].any():
            break
        found = p.find_box()
        if found is None:
            break
        trajectory = found.peeling_trajectory.rename(columns={"res dim": "restricted"})
        trajectory = trajectory[["coverage", "density", "mass", "restricted"]].astype(float)
        step = choose(trajectory, base_density, min_coverage if not boxes else 0.0)
        if step is None:
            break
        found.select(step)  # the next box is sought outside this one
        step = _prune(found, step)
        if min(found._calculate_quasi_p(step).values()) > MAX_QUASI_P:
            break  # even its one condition is not significant: the losses are noise to PRIM
        trajectory = found.peeling_trajectory.rename(columns={"res dim": "restricted"})
        trajectory = trajectory[["coverage", "density", "mass", "restricted"]].astype(float)
        limits = []
        for name, lo, hi, low, high in _restricted(found._box_lims[step], p._box_init, names):
            lo0, hi0 = (bounds or {}).get(name, (float(x[name].min()), float(x[name].max())))
            lower, upper = (lo if low else lo0), (hi if high else hi0)
            span = hi0 - lo0
            limits.append(
                Limit(name, lower, upper, low, high, (upper - lower) / span if span > 0 else 1.0)
            )
        limits.sort(key=lambda lim: lim.width)
        inside = np.ones(len(x), dtype=bool)
        for lim in limits:
            v = x[lim.parameter].to_numpy(dtype=float)
            inside &= (v >= lim.lower) & (v <= lim.upper)
        row = trajectory.loc[step]
        boxes.append(
            Box(
                limits,
                float(row.coverage),
                float(row.density),
                float(row.mass),
                inside,
                trajectory,
                step,
            )
        )
    return boxes


def find_box(
    x: pd.DataFrame,
    y: np.ndarray,
    bounds: dict[str, tuple[float, float]] | None = None,
    min_coverage: float = MIN_COVERAGE,
) -> Box | None:
    """The one PRIM box of the points where ``y`` is true (None if none fits the rule)."""
    found = find_boxes(x, y, bounds, 1, min_coverage)
    return found[0] if found else None


# --- a study's losing points ---------------------------------------------------------------------


def applies(cfg: SalesimConfig) -> bool:
    """Whether a study is one scenario discovery reads: sampled, or a grid with uncertainties."""
    exp = cfg.experiment
    sweep = exp.sweep
    if sweep is None or len(exp.designs) < 2:
        return False
    return sweep.method != "grid" or any(p.role == "uncertainty" for p in sweep.parameters)


def discovery_metrics(runs: pd.DataFrame) -> list[str]:
    """Operating profit and the headline KPIs with a direction that the runs hold."""
    names = ["operating_profit", *[m for m in HEADLINE if m != "operating_profit"]]
    return [
        m
        for m in names
        if m in runs.columns and outcome(m).direction != 0 and runs[m].notna().any()
    ]


def bounds_of(cfg: SalesimConfig) -> dict[str, tuple[float, float]]:
    """Each swept parameter's declared interval (bounds, or the grid's smallest and largest)."""
    out = {}
    for p in cfg.experiment.sweep.parameters:
        if p.bounds is not None:
            out[p.path] = (float(p.bounds.low), float(p.bounds.high))
            continue
        values = p.values if p.values is not None else p.range.values()
        numbers = pd.to_numeric(pd.Series(values), errors="coerce")
        if numbers.notna().all():
            out[p.path] = (float(numbers.min()), float(numbers.max()))
    return out


def paired_points(
    runs: pd.DataFrame, cfg: SalesimConfig, metrics: list[str]
) -> dict[tuple[str, str], pd.DataFrame]:
    """Per (scenario, design): one row per point, its swept values and mean paired differences.

    Replication i of the design is paired with replication i of the baseline at the same
    scenario and point; the difference (design - baseline) is averaged over the replications
    both have.
    """
    exp = cfg.experiment
    baseline = exp.baseline_design
    swept = [p.path for p in exp.sweep.parameters]
    ok = runs[runs.status == "ok"] if "status" in runs else runs
    keys = ["scenario", "point", "replication"]
    wide = ok.set_index([*keys, "design"])[metrics].unstack("design")
    values = ok.drop_duplicates(["scenario", "point"]).set_index(["scenario", "point"])[swept]
    out = {}
    designs = [d for d in exp.designs if d != baseline and d in set(ok.design)]
    if baseline not in set(ok.design):
        return out
    for design in designs:
        diff = pd.DataFrame(
            {m: wide[(m, design)] - wide[(m, baseline)] for m in metrics}, index=wide.index
        )
        mean = diff.groupby(level=["scenario", "point"], sort=True).mean()
        joined = values.join(mean, how="inner")
        for scenario, part in joined.groupby(level="scenario", sort=False):
            out[(scenario, design)] = part.droplevel("scenario")
    return out


def discover(
    runs: pd.DataFrame,
    cfg: SalesimConfig,
    metrics: list[str] | None = None,
    max_boxes: int = 1,
) -> list[Finding]:
    """Per scenario, design (not the baseline) and KPI: where the design loses, and its box.

    ``metrics`` default to operating profit and the headline KPIs with a direction. A study
    that ``applies`` does not describe gives no findings.
    """
    if not applies(cfg):
        return []
    exp = cfg.experiment
    metrics = [m for m in (metrics or discovery_metrics(runs)) if outcome(m).direction != 0]
    metrics = [m for m in metrics if m in runs.columns]
    if not metrics:
        return []
    roles = {p.path: p.role for p in exp.sweep.parameters}
    bounds = bounds_of(cfg)
    swept = list(roles)
    findings = []
    for (scenario, design), table in paired_points(runs, cfg, metrics).items():
        x_all = table[swept].apply(pd.to_numeric, errors="coerce")
        numeric = [p for p in swept if x_all[p].notna().all()]
        for metric in metrics:
            part = table[table[metric].notna()]
            points = part[swept].copy()
            points["diff"] = part[metric].to_numpy(dtype=float)
            points["loses"] = points["diff"] * outcome(metric).direction < 0
            finding = Finding(
                scenario,
                metric,
                design,
                exp.baseline_design,
                points.reset_index(),
                numeric,
                roles,
            )
            if finding.status != "never":
                x = x_all.loc[part.index, numeric]
                finding.boxes = find_boxes(x, points.loses.to_numpy(), bounds, max_boxes)
            findings.append(finding)
    return findings


def records(findings: list[Finding]) -> pd.DataFrame:
    """The boxes as a flat table, one row per restricted parameter (``scenario_discovery.csv``).

    The stable columns (``COLUMNS``) come first; then the scenario, the box's mass, the
    parameter's role, the number of points and the share of them that lose.
    """
    rows: list[dict[str, Any]] = []
    for f in findings:
        for i, box in enumerate(f.boxes, start=1):
            for lim in box.limits:
                rows.append(
                    {
                        "kpi": f.kpi,
                        "design": f.design,
                        "box": i,
                        "parameter": lim.parameter,
                        "lower": lim.lower,
                        "upper": lim.upper,
                        "coverage": box.coverage,
                        "density": box.density,
                        "scenario": f.scenario,
                        "baseline": f.baseline,
                        "mass": box.mass,
                        "role": f.roles.get(lim.parameter, ""),
                        "points": f.n,
                        "lose_share": f.lose_share,
                    }
                )
    extra = ["scenario", "baseline", "mass", "role", "points", "lose_share"]
    return pd.DataFrame(rows, columns=[*COLUMNS, *extra])
