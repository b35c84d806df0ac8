"""What a decision turns on: verdict KPIs, robustness and regret, transitions, observed figures.

Every comparison is paired on common random numbers: replication i of one (design, scenario,
point) against replication i of another. Directions (higher or lower is better) come from
``salesim.model.inputs.outcomes``, never from a KPI's name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesim.experiments.stats import half_width, verdict
from salesim.model.inputs.outcomes import outcome
from salesim.model.kpis import HEADLINE

if TYPE_CHECKING:
    from salesim.experiments.config import SalesimConfig

#: Profit as the verdict reads it: operating profit, or gross margin for results that predate it.
PROFIT = ("operating_profit", "gross_margin")


def _has_values(summary: pd.DataFrame, metric: str) -> bool:
    return bool(summary.loc[summary.metric == metric, "mean"].notna().any())


def profit_metric(summary: pd.DataFrame) -> str | None:
    """operating_profit if the results hold it, else gross_margin, else None."""
    return next((m for m in PROFIT if _has_values(summary, m)), None)


def verdict_metrics(summary: pd.DataFrame) -> list[str]:
    """Profit first, then every other headline KPI with a direction that the results hold."""
    profit = profit_metric(summary)
    rest = [
        m for m in HEADLINE if m != profit and outcome(m).direction != 0 and _has_values(summary, m)
    ]
    return ([profit] if profit else []) + rest


# --- robustness and regret ---------------------------------------------------------------------


#: robustness.csv's ``basis`` where every point has one paired replication.
SIGN_BASIS = "sign of one paired run"


def one_run_per_point(rows: pd.DataFrame) -> bool:
    """Whether every point of these summary rows has at most one paired replication."""
    return bool((rows.diff_n.fillna(0) <= 1).all())


def point_verdicts(rows: pd.DataFrame) -> np.ndarray:
    """Per summary row, "better", "none" or "worse" against the baseline.

    The paired 95% CI's side of zero; where every point has one paired replication (no CI),
    the sign of its difference, oriented by each row's KPI direction.
    """
    if not one_run_per_point(rows):
        return rows["diff_verdict"].to_numpy()
    direction = np.array([outcome(m).direction for m in rows.metric])
    sign = np.sign(rows["diff_mean"].to_numpy(dtype=float) * direction)
    return np.where(sign > 0, "better", np.where(sign < 0, "worse", "none")).astype(object)


def robustness(summary: pd.DataFrame, cfg: SalesimConfig) -> pd.DataFrame:
    """Per design and verdict KPI: win / tie / lose shares over the uncertainty space, and regret.

    The uncertainty space is the sweep's points. In a grid, each combination of lever values is
    a policy and gets its own rows (its shares are over the uncertainty values); in a sampled
    sweep (lhs, sobol, morris) levers are sampled with the uncertainties, so the shares are over
    the whole sample. At each point a design wins (ties, loses) when its paired 95% CI against
    the baseline lies on the better side of zero (includes zero, lies on the worse side). A
    point with one paired replication has no CI (sampled sweeps usually spread their runs that
    way): it counts by the sign of its one paired difference, and ``basis`` says which rule
    gave the shares.

    Regret at a point is the best design's mean minus this design's mean, both oriented so that
    larger is better (multiplied by the KPI's direction): how much is given up by choosing this
    design if that point is the truth, in the KPI's unit, >= 0. ``regret_mean`` and
    ``regret_max`` are its mean and maximum over the points.
    """
    exp = cfg.experiment
    sweep = exp.sweep
    if sweep is None or not any(p.role == "uncertainty" for p in sweep.parameters):
        return pd.DataFrame()
    levers = (
        [p.path for p in sweep.parameters if p.role == "lever"] if sweep.method == "grid" else []
    )
    metrics = verdict_metrics(summary)
    designs = [d for d in exp.designs if d in set(summary.design)]
    rows = []
    for key, group in summary[summary.metric.isin(metrics)].groupby(
        ["scenario", *levers], sort=False
    ):
        where = dict(zip(["scenario", *levers], key, strict=True))
        for metric in metrics:
            m = group[group.metric == metric]
            oriented = (
                m.pivot(index="point", columns="design", values="mean") * outcome(metric).direction
            )
            regret = oriented.max(axis=1).to_numpy()[:, None] - oriented
            single = one_run_per_point(m)
            verdicts = m.assign(v=point_verdicts(m)).pivot(
                index="point", columns="design", values="v"
            )
            for design in designs:
                v = verdicts[design]
                r = regret[design].to_numpy(dtype=float)
                is_base = design == exp.baseline_design

                def share(word: str, v=v, is_base=is_base) -> float:
                    return np.nan if is_base else float((v == word).mean())

                rows.append(
                    {
                        **where,
                        "design": design,
                        "baseline": exp.baseline_design,
                        "metric": metric,
                        "points": len(v),
                        "basis": SIGN_BASIS if single else "paired 95% CI",
                        "win_share": share("better"),
                        "tie_share": share("none"),
                        "lose_share": share("worse"),
                        "regret_mean": float(np.nanmean(r)) if np.isfinite(r).any() else np.nan,
                        "regret_max": float(np.nanmax(r)) if np.isfinite(r).any() else np.nan,
                    }
                )
    return pd.DataFrame(rows)


# --- time: differences by month and by year ------------------------------------------------------


def first_measured_month(cfg: SalesimConfig) -> int:
    """The first month whose KPIs count (after the warm-up)."""
    exp = cfg.experiment
    warmup = exp.warmup_days if exp.warmup_days is not None else cfg.model.warmup_days
    return math.ceil(warmup / cfg.model.calendar.days_per_month)


#: How ``with_keys`` indexes the monthly table, and how a comparison names one side.
SIDE = ["scenario", "design", "point"]


def with_keys(timeseries: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Monthly KPIs indexed by each run's scenario, design and point, with its replication."""
    keys = runs[runs.status == "ok"][["run_id", *SIDE, "replication"]]
    return timeseries.merge(keys, on="run_id").set_index(SIDE).sort_index()


def paired_monthly(
    monthly: pd.DataFrame, metric: str, treated: dict, reference: dict
) -> pd.DataFrame:
    """Month x replication table of (treated - reference), each a scenario, design and point.

    ``monthly`` is indexed as ``with_keys`` leaves it.
    """

    def pick(where: dict) -> pd.DataFrame:
        rows = monthly.loc[[tuple(where[k] for k in SIDE)]]  # a frame even for one row
        return rows.pivot(index="month", columns="replication", values=metric)

    return pick(treated) - pick(reference)


def monthly_gap(monthly: pd.DataFrame, metric: str, treated: dict, reference: dict) -> pd.DataFrame:
    """Per month: mean paired difference and its 95% CI half-width."""
    d = paired_monthly(monthly, metric, treated, reference)
    return pd.DataFrame(
        {
            "mean": d.mean(axis=1),
            "ci95_half_width": [half_width(row) for row in d.to_numpy(dtype=float)],
        }
    )


@dataclass(frozen=True)
class YearGaps:
    """The paired difference in the first and the last measured year, with 95% CIs."""

    metric: str
    first: float
    first_hw: float
    last: float
    last_hw: float
    months_per_year: int

    @property
    def first_verdict(self) -> str:
        """Better, worse or none in the first year."""
        return verdict(self.first, self.first_hw, outcome(self.metric).direction)

    @property
    def last_verdict(self) -> str:
        """Better, worse or none in the last year."""
        return verdict(self.last, self.last_hw, outcome(self.metric).direction)

    @property
    def changes_sign(self) -> bool:
        """Both years' CIs exclude zero, on opposite sides: a transition effect."""
        return {self.first_verdict, self.last_verdict} == {"better", "worse"}


def year_gaps(
    monthly: pd.DataFrame, cfg: SalesimConfig, metric: str, treated: dict, reference: dict
) -> YearGaps | None:
    """Gaps in the first and the last measured year (each replication's mean over its months).

    None when the measured horizon is shorter than two years (the years would overlap) or the
    monthly series does not hold the KPI.
    """
    if metric not in monthly.columns:
        return None
    per_year = cfg.model.calendar.months_per_year
    d = paired_monthly(monthly, metric, treated, reference)
    d = d[d.index >= first_measured_month(cfg)]
    if len(d) < 2 * per_year:
        return None
    first = d.iloc[:per_year].mean(axis=0).to_numpy(dtype=float)
    last = d.iloc[-per_year:].mean(axis=0).to_numpy(dtype=float)
    return YearGaps(
        metric,
        float(np.nanmean(first)),
        half_width(first),
        float(np.nanmean(last)),
        half_width(last),
        per_year,
    )


# --- observed figures --------------------------------------------------------------------------


def check_targets(summary: pd.DataFrame, cfg: SalesimConfig) -> pd.DataFrame:
    """Each target against the model's mean (at every sweep point): met, and the miss.

    A target is met when the model's mean lies in its interval (value +- tolerance, or the
    one-sided bound). ``miss`` is signed: model minus the nearest end of that interval (0 when
    met).
    """
    exp = cfg.experiment
    rows = []
    for i, t in enumerate(exp.targets):
        scenario = t.scenario or exp.reference
        design = t.design or exp.baseline_design
        cells = summary[
            (summary.metric == t.kpi) & (summary.scenario == scenario) & (summary.design == design)
        ]
        low, high = t.bounds()
        for r in cells.itertuples():
            mean = float(r.mean)
            met = bool(low <= mean <= high)  # False for NaN: no value is a miss, said so
            miss = 0.0 if met else (mean - high if mean > high else mean - low)
            rows.append(
                {
                    "target": i,
                    "kpi": t.kpi,
                    "label": t.label,
                    "scenario": scenario,
                    "design": design,
                    "point": int(r.point),
                    "mean": mean,
                    "ci95_half_width": float(r.ci95_half_width),
                    "low": low,
                    "high": high,
                    "met": met,
                    "miss": miss,
                }
            )
    return pd.DataFrame(rows)
