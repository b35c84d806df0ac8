"""Confidence intervals, paired differences on common random numbers, sensitivity indices."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from salesim.outcomes import outcome

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


def verdict(difference: float, half_width: float, direction: int) -> str:
    """better, worse or none: the paired CI must exclude zero and the KPI must have a direction.

    ``difference`` is (design - baseline) or (scenario - reference); ``direction`` is +1 when
    higher is better and -1 when lower is better (``salesim.outcomes``).
    """
    if direction == 0 or not np.isfinite(difference) or not np.isfinite(half_width):
        return "none"
    if difference - half_width > 0 or difference + half_width < 0:
        return "better" if (difference > 0) == (direction > 0) else "worse"
    return "none"


def _columns(values: np.ndarray, confidence: float = CONFIDENCE) -> dict[str, np.ndarray]:
    """Per column of a (replications x metrics) array, ignoring NaN: n, mean, std, CI half-width.

    The same Student-t interval as ``half_width``, for all columns at once.
    """
    finite = np.isfinite(values)
    n = finite.sum(axis=0)
    x = np.where(finite, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, x.sum(axis=0) / n, np.nan)
        dev = np.where(finite, values - mean, 0.0)
        std = np.where(n > 1, np.sqrt((dev**2).sum(axis=0) / (n - 1)), np.nan)
        t = stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1))
        hw = np.where(n > 1, t * std / np.sqrt(n), np.nan)
    return {"n": n, "mean": mean, "std": std, "hw": hw}


def _cell_keys(cfg: SalesimConfig) -> list[str]:
    swept = [p.path for p in cfg.experiment.sweep.parameters] if cfg.experiment.sweep else []
    return ["scenario", "point", *swept]


def summarise(runs: pd.DataFrame, cfg: SalesimConfig) -> pd.DataFrame:
    """Per cell x design x metric: mean, std, n, CI; and two paired differences.

    ``diff_*`` pairs replication i of a design with replication i of the baseline design in the
    same scenario and sweep point; ``scenario_diff_*`` pairs it with replication i of the same
    design in the reference scenario (``reference_scenario``, else the first: ``base`` unless it
    is excluded). Both share seeds, so both are paired-t intervals. ``*_verdict`` is better,
    worse or none by ``verdict``.
    """
    exp = cfg.experiment
    ok = runs[runs["status"] == "ok"]
    keys = _cell_keys(cfg)
    index = ["scenario", "point", "replication"]
    base = ok[ok["design"] == exp.baseline_design].set_index(index)
    reference = exp.reference
    ref_runs = ok[ok["scenario"] == reference].set_index(["design", "point", "replication"])
    metrics = list(exp.metrics)
    rows = []
    for key, group in ok.groupby([*keys, "design"], sort=False):
        cell_values = dict(zip([*keys, "design"], key, strict=True))
        g = group.set_index(index)[metrics]
        same_design = group.set_index(["design", "point", "replication"])[metrics]
        level = _columns(g.to_numpy(dtype=float))
        paired = _columns((g - base[metrics].reindex(g.index)).to_numpy(dtype=float))
        vs_ref = same_design - ref_runs[metrics].reindex(same_design.index)
        vs_ref = _columns(vs_ref.to_numpy(dtype=float))
        for i, metric in enumerate(metrics):
            rows.append(
                {
                    **cell_values,
                    "metric": metric,
                    "n": level["n"][i],
                    "mean": level["mean"][i],
                    "std": level["std"][i],
                    "ci95_half_width": level["hw"][i],
                    "baseline": exp.baseline_design,
                    "diff_mean": paired["mean"][i],
                    "diff_ci95_half_width": paired["hw"][i],
                    "diff_n": paired["n"][i],
                    "reference_scenario": reference,
                    "scenario_diff_mean": vs_ref["mean"][i],
                    "scenario_diff_ci95_half_width": vs_ref["hw"][i],
                }
            )
    out = pd.DataFrame(rows)
    for prefix in ("diff", "scenario_diff") if len(out) else ():
        lo = out[f"{prefix}_mean"] - out[f"{prefix}_ci95_half_width"]
        hi = out[f"{prefix}_mean"] + out[f"{prefix}_ci95_half_width"]
        out[f"{prefix}_excludes_zero"] = (lo > 0) | (hi < 0)
        out[f"{prefix}_verdict"] = [
            verdict(d, h, outcome(m).direction)
            for d, h, m in zip(
                out[f"{prefix}_mean"], out[f"{prefix}_ci95_half_width"], out["metric"], strict=True
            )
        ]
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


def _indices(plan: Plan, sweep, y: np.ndarray) -> dict[str, np.ndarray]:
    """Sobol S1/ST (with CIs) or Morris mu*/sigma of one output over the sweep's points."""
    from SALib.analyze import morris, sobol

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if sweep.method == "sobol":
            res = sobol.analyze(plan.problem, y, calc_second_order=False, seed=0)
            return {k: res[k] for k in ("S1", "S1_conf", "ST", "ST_conf")}
        res = morris.analyze(plan.problem, plan.samples, y, num_levels=sweep.levels, seed=0)
        return {k: res[k] for k in ("mu_star", "mu_star_conf", "sigma")}


def _index_rows(plan: Plan, cfg: SalesimConfig, keys: dict, y: np.ndarray) -> list[dict]:
    if not np.isfinite(y).all() or np.ptp(y) == 0:
        return []  # the estimators need every point, and a flat output has nothing to explain
    sweep = cfg.experiment.sweep
    roles = {p.path: p.role for p in sweep.parameters}
    cols = _indices(plan, sweep, y)
    return [
        {
            **keys,
            "parameter": name,
            "role": roles[name],
            "method": sweep.method,
            **{k: float(v[i]) for k, v in cols.items()},
        }
        for i, name in enumerate(plan.problem["names"])
    ]


def sensitivity(runs: pd.DataFrame, cfg: SalesimConfig, plan: Plan) -> pd.DataFrame:
    """Sobol (S1, ST with CIs) or Morris (mu*, sigma) indices per scenario x design x metric.

    Each sample point's output is its mean over replications; points with no successful run
    leave the metric out (the estimators need every point).
    """
    exp = cfg.experiment
    ok = runs[runs["status"] == "ok"]
    n_points = len(plan.points)
    rows = []
    for (scenario, design), group in ok.groupby(["scenario", "design"], sort=False):
        means = group.groupby("point")[list(exp.metrics)].mean().reindex(range(n_points))
        for metric in exp.metrics:
            keys = {"scenario": scenario, "design": design, "metric": metric}
            rows += _index_rows(plan, cfg, keys, means[metric].to_numpy(dtype=float))
    return pd.DataFrame(rows)


def gap_sensitivity(runs: pd.DataFrame, cfg: SalesimConfig, plan: Plan) -> pd.DataFrame:
    """Indices of the paired gap (design - baseline) per scenario x design x metric.

    The output at each sample point is the mean over replications of the paired difference
    between a design and the baseline design (same seeds), so the indices say which
    parameters the comparison, not the level, depends on.
    """
    exp = cfg.experiment
    ok = runs[runs["status"] == "ok"]
    index = ["scenario", "point", "replication"]
    metrics = [m for m in exp.metrics if outcome(m).direction != 0]
    base = ok[ok["design"] == exp.baseline_design].set_index(index)[metrics]
    n_points = len(plan.points)
    rows = []
    for (scenario, design), group in ok.groupby(["scenario", "design"], sort=False):
        if design == exp.baseline_design:
            continue
        g = group.set_index(index)[metrics]
        gap = (g - base.reindex(g.index)).groupby(level="point").mean().reindex(range(n_points))
        for metric in metrics:
            keys = {
                "scenario": scenario,
                "design": design,
                "baseline": exp.baseline_design,
                "metric": metric,
            }
            rows += _index_rows(plan, cfg, keys, gap[metric].to_numpy(dtype=float))
    return pd.DataFrame(rows)
