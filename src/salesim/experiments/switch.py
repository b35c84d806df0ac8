"""A switch study's numbers: per candidate against staying, the J-curve, payback and NPV.

Every number is built from the paired monthly difference of operating profit, replication i of
the candidate (which switched at ``switch.month``) minus replication i of the organisation in
place (which stayed): the same seed, so the months before the switch differ by exactly zero and
what follows is the switch's own effect plus the noise it changes.

- **J-curve**: per month, the mean paired difference and its paired-t 95% CI; the same for
  the cumulative difference.
- **Payback month**: the first month of the run (1 = the first) at whose end the cumulative mean
  difference is positive and stays positive to the horizon; none if it is not positive at the
  horizon. Its 95% CI is a percentile bootstrap over replications (the replications resampled
  with replacement, the payback month of each resample's mean curve), seeded from the
  experiment's seed so that a report is the same each time; a resample that does not pay back
  counts as "beyond the horizon".
- **NPV**: each month's difference discounted to the start of the measured horizon (day 0
  unless there is a warm-up) at the annual ``switch.discount_rate``
  (monthly rate ``(1 + r) ** (1 / months_per_year) - 1``, a month's flow at its end), summed
  over the horizon only (no value after it); per replication, so its CI is a paired-t interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesim.experiments.compare import first_measured_month, paired_monthly
from salesim.experiments.plan import seed_of
from salesim.experiments.stats import half_width
from salesim.model.streams import RandomStreams

if TYPE_CHECKING:
    from salesim.experiments.config import SalesimConfig

#: The KPI a switch is judged by, monthly.
PROFIT = "operating_profit"


def payback_month(diff: np.ndarray) -> int | None:
    """First month (1-based) from which the cumulative sum of ``diff`` stays > 0; None if never.

    ``diff`` is one monthly series, month 1 first.
    """
    cum = np.cumsum(np.asarray(diff, dtype=float))
    if not len(cum) or not cum[-1] > 0:
        return None
    not_positive = np.flatnonzero(~(cum > 0))
    return int(not_positive[-1]) + 2 if len(not_positive) else 1


def monthly_rate(annual: float, months_per_year: int) -> float:
    """The monthly rate equivalent to an annual one (compounded)."""
    return (1.0 + annual) ** (1.0 / months_per_year) - 1.0


def npv(diff: np.ndarray, annual_rate: float, months_per_year: int) -> np.ndarray | float:
    """Net present value at day 0 of monthly flows (axis 0: months, month 1 first).

    A month's flow counts at its end: month m is discounted by ``(1 + monthly) ** m``.
    """
    diff = np.asarray(diff, dtype=float)
    months = np.arange(1, diff.shape[0] + 1)
    factor = (1.0 + monthly_rate(annual_rate, months_per_year)) ** -months
    return (diff.T * factor).sum(axis=-1) if diff.ndim > 1 else float((diff * factor).sum())


def bootstrap_payback(
    diffs: np.ndarray, resamples: int, rng: np.random.Generator
) -> tuple[float, float]:
    """95% percentile interval of the payback month of the mean curve (months x replications).

    A resample that does not pay back within the horizon is ``inf``.
    """
    n = diffs.shape[1]
    picks = rng.integers(0, n, size=(resamples, n))
    # In chunks of about a million numbers, so many replications and resamples fit in memory.
    chunk = max(1, 1_000_000 // max(1, n * diffs.shape[0]))
    months = []
    for start in range(0, resamples, chunk):
        means = diffs[:, picks[start : start + chunk]].mean(axis=2)  # months x resamples
        months += [payback_month(means[:, b]) for b in range(means.shape[1])]
    values = np.array([math.inf if m is None else m for m in months], dtype=float)
    low, high = np.quantile(values, [0.025, 0.975], method="inverted_cdf")
    return float(low), float(high)


@dataclass
class SwitchResult:
    """One candidate against staying, in one scenario and sweep point."""

    candidate: str
    scenario: str
    point: int
    switch_month: int
    replications: int
    curve: pd.DataFrame  # month (1-based) -> mean, ci95_half_width, cum_mean, cum_ci95_half_width
    payback: int | None
    payback_low: float  # inf: beyond the horizon
    payback_high: float
    paid_back_share: float  # replications whose own cumulative difference pays back
    npv: float
    npv_hw: float
    one_off_cost: float
    horizon_months: int
    npv_values: np.ndarray  # each replication's NPV, in the order of replication_ids
    replication_ids: list[int]  # the replications behind the numbers (those with every month)

    @property
    def pays_back(self) -> bool:
        """Whether the mean curve pays back within the horizon."""
        return self.payback is not None


def analyse_one(
    diffs: pd.DataFrame,
    annual_rate: float,
    months_per_year: int,
    resamples: int,
    rng: np.random.Generator,
    offset: int = 0,
) -> dict:
    """Curve, payback, its CI, NPV and its CI from a month x replication table of differences.

    ``diffs``' rows are consecutive months, the first being month ``offset + 1`` of the run
    (``offset``: the warm-up months left out); months in the result are months of the run, and
    the NPV is discounted to the start of the first row.
    """
    whole = np.isfinite(diffs.to_numpy(dtype=float)).all(axis=0)
    d = diffs.to_numpy(dtype=float)[:, whole]  # a replication missing a month cannot be paired
    cum = np.cumsum(d, axis=0)
    curve = pd.DataFrame(
        {
            "mean": d.mean(axis=1),
            "ci95_half_width": [half_width(row) for row in d],
            "cum_mean": cum.mean(axis=1),
            "cum_ci95_half_width": [half_width(row) for row in cum],
        },
        index=pd.RangeIndex(offset + 1, offset + len(d) + 1, name="month"),
    )
    own = [payback_month(d[:, i]) for i in range(d.shape[1])]
    low, high = bootstrap_payback(d, resamples, rng) if d.shape[1] else (math.inf, math.inf)
    mean_payback = payback_month(d.mean(axis=1)) if d.shape[1] else None
    values = np.atleast_1d(npv(d, annual_rate, months_per_year))
    return {
        "curve": curve,
        "payback": None if mean_payback is None else mean_payback + offset,
        "payback_low": low + offset,
        "payback_high": high + offset,
        "paid_back_share": float(np.mean([m is not None for m in own])) if own else math.nan,
        "npv": float(values.mean()),
        "npv_hw": half_width(values),
        "npv_values": values,
        "replication_ids": [int(c) for c in diffs.columns[whole]],
        "replications": d.shape[1],
    }


def analyse(cfg: SalesimConfig, monthly: pd.DataFrame, runs: pd.DataFrame) -> list[SwitchResult]:
    """Every candidate against staying, per scenario and sweep point.

    ``monthly`` is indexed as ``compare.with_keys`` leaves it; ``runs`` is runs.parquet.
    """
    exp = cfg.experiment
    sw = exp.switch
    if sw is None or monthly.empty or PROFIT not in monthly.columns:
        return []
    per_year = cfg.model.calendar.months_per_year
    first = first_measured_month(cfg)
    streams = RandomStreams(seed_of(cfg))
    ok = runs[runs.status == "ok"]
    present = set(monthly.index.unique())
    results = []
    for scenario in exp.scenario_overrides():
        for point in sorted(ok.point.unique()):
            stay = {"scenario": scenario, "design": sw.in_place, "point": point}
            if (scenario, sw.in_place, point) not in present:
                continue
            for candidate in sw.candidates:
                if (scenario, candidate, point) not in present:
                    continue
                moved = {**stay, "design": candidate}
                diffs = paired_monthly(monthly, PROFIT, moved, stay)
                diffs = diffs[diffs.index >= first].dropna(axis=1, how="all")
                # A stream per comparison: one candidate's interval does not depend on the others.
                rng = streams[f"switch.bootstrap/{scenario}/{point}/{candidate}"]
                numbers = analyse_one(
                    diffs, sw.discount_rate, per_year, sw.bootstrap, rng, offset=first
                )
                mine = ok[
                    (ok.scenario == scenario) & (ok.point == point) & (ok.design == candidate)
                ]
                results.append(
                    SwitchResult(
                        candidate=candidate,
                        scenario=scenario,
                        point=int(point),
                        switch_month=sw.month,
                        one_off_cost=float(mine["reorganisation_cost"].mean()),
                        horizon_months=len(diffs),
                        **numbers,
                    )
                )
    return results


def npv_gap(a: SwitchResult, b: SwitchResult) -> tuple[float, float]:
    """Mean and 95% CI half-width of NPV(a) - NPV(b), paired by replication."""
    va = dict(zip(a.replication_ids, a.npv_values, strict=True))
    vb = dict(zip(b.replication_ids, b.npv_values, strict=True))
    both = sorted(set(va) & set(vb))
    gaps = np.array([va[i] - vb[i] for i in both], dtype=float)
    return (float(gaps.mean()) if len(gaps) else math.nan), half_width(gaps)
