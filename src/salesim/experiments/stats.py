"""Confidence intervals, paired differences on common random numbers, sensitivity indices."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:
    from salesim.config import SalesimConfig
    from salesim.experiments.plan import Plan

CONFIDENCE = 0.95


def half_width(values: np.ndarray, confidence: float = CONFIDENCE) -> float:
    """Student-t confidence-interval half-width of the mean (NaN below two values)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = len(values)
    if n < 2:
        return float("nan")
    return float(stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))


def _cell_keys(cfg: SalesimConfig) -> list[str]:
    swept = [p.path for p in cfg.experiment.sweep.parameters] if cfg.experiment.sweep else []
    return ["scenario", "point", *swept]


def summarise(runs: pd.DataFrame, cfg: SalesimConfig) -> pd.DataFrame:
    """Per cell x design x metric: mean, std, n, CI; and two paired differences.

    ``diff_*`` pairs replication i of a design with replication i of the baseline design in the
    same scenario and sweep point; ``scenario_diff_*`` pairs it with replication i of the same
    design in the reference scenario (the first: ``base`` unless it is excluded). Both share
    seeds, so both are paired-t intervals.
    """
    exp = cfg.experiment
    ok = runs[runs["status"] == "ok"]
    keys = _cell_keys(cfg)
    index = ["scenario", "point", "replication"]
    base = ok[ok["design"] == exp.baseline_design].set_index(index)
    reference = next(iter(exp.scenario_overrides()))
    ref_runs = ok[ok["scenario"] == reference].set_index(["design", "point", "replication"])
    rows = []
    for key, group in ok.groupby([*keys, "design"], sort=False):
        cell_values = dict(zip([*keys, "design"], key, strict=True))
        g = group.set_index(index)
        same_design = group.set_index(["design", "point", "replication"])
        for metric in exp.metrics:
            x = g[metric].to_numpy(dtype=float)
            finite = x[np.isfinite(x)]
            paired = (g[metric] - base[metric].reindex(g.index)).to_numpy(dtype=float)
            paired = paired[np.isfinite(paired)]
            vs_ref = same_design[metric] - ref_runs[metric].reindex(same_design.index)
            vs_ref = vs_ref.to_numpy(dtype=float)
            vs_ref = vs_ref[np.isfinite(vs_ref)]
            rows.append(
                {
                    **cell_values,
                    "metric": metric,
                    "n": len(finite),
                    "mean": finite.mean() if len(finite) else np.nan,
                    "std": finite.std(ddof=1) if len(finite) > 1 else np.nan,
                    "ci95_half_width": half_width(finite),
                    "baseline": exp.baseline_design,
                    "diff_mean": paired.mean() if len(paired) else np.nan,
                    "diff_ci95_half_width": half_width(paired),
                    "diff_n": len(paired),
                    "reference_scenario": reference,
                    "scenario_diff_mean": vs_ref.mean() if len(vs_ref) else np.nan,
                    "scenario_diff_ci95_half_width": half_width(vs_ref),
                }
            )
    out = pd.DataFrame(rows)
    for prefix in ("diff", "scenario_diff") if len(out) else ():
        lo = out[f"{prefix}_mean"] - out[f"{prefix}_ci95_half_width"]
        hi = out[f"{prefix}_mean"] + out[f"{prefix}_ci95_half_width"]
        out[f"{prefix}_excludes_zero"] = (lo > 0) | (hi < 0)
    return out


def precision_met(runs: pd.DataFrame, cfg: SalesimConfig) -> bool:
    """Whether every cell x design meets the target relative CI half-width."""
    prec = cfg.experiment.precision
    ok = runs[runs["status"] == "ok"]
    for _, group in ok.groupby([*_cell_keys(cfg), "design"]):
        for metric in prec.metrics:
            x = group[metric].to_numpy(dtype=float)
            mean = np.nanmean(x) if np.isfinite(x).any() else np.nan
            hw = half_width(x)
            if not np.isfinite(hw) or hw > prec.relative_half_width * abs(mean):
                return False
    return True


def sensitivity(runs: pd.DataFrame, cfg: SalesimConfig, plan: Plan) -> pd.DataFrame:
    """Sobol (S1, ST with CIs) or Morris (mu*, sigma) indices per scenario x design x metric.

    Each sample point's output is its mean over replications; points with no successful run
    leave the metric out (the estimators need every point).
    """
    from SALib.analyze import morris, sobol

    exp = cfg.experiment
    method = exp.sweep.method
    roles = {p.path: p.role for p in exp.sweep.parameters}
    ok = runs[runs["status"] == "ok"]
    n_points = len(plan.points)
    rows = []
    for (scenario, design), group in ok.groupby(["scenario", "design"], sort=False):
        means = group.groupby("point")[list(exp.metrics)].mean().reindex(range(n_points))
        for metric in exp.metrics:
            y = means[metric].to_numpy(dtype=float)
            if not np.isfinite(y).all() or np.ptp(y) == 0:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if method == "sobol":
                    res = sobol.analyze(plan.problem, y, calc_second_order=False, seed=0)
                    cols = {
                        "S1": res["S1"],
                        "S1_conf": res["S1_conf"],
                        "ST": res["ST"],
                        "ST_conf": res["ST_conf"],
                    }
                else:
                    res = morris.analyze(
                        plan.problem, plan.samples, y, num_levels=exp.sweep.levels, seed=0
                    )
                    cols = {
                        "mu_star": res["mu_star"],
                        "mu_star_conf": res["mu_star_conf"],
                        "sigma": res["sigma"],
                    }
            for i, name in enumerate(plan.problem["names"]):
                rows.append(
                    {
                        "scenario": scenario,
                        "design": design,
                        "metric": metric,
                        "parameter": name,
                        "role": roles[name],
                        "method": method,
                        **{k: float(v[i]) for k, v in cols.items()},
                    }
                )
    return pd.DataFrame(rows)
