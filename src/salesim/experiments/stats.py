"""Confidence intervals, paired differences on common random numbers, sensitivity indices."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from salesim.experiments.plan import seed_of
from salesim.model.inputs.outcomes import outcome
from salesim.model.streams import RandomStreams

if TYPE_CHECKING:
    from salesim.experiments.config import SalesimConfig
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
    higher is better and -1 when lower is better (``salesim.model.inputs.outcomes``).
    """
    if direction == 0 or not np.isfinite(difference) or not np.isfinite(half_width):
        return "none"
    if difference - half_width > 0 or difference + half_width < 0:
        return "better" if (difference > 0) == (direction > 0) else "worse"
    return "none"


def _cell_keys(cfg: SalesimConfig) -> list[str]:
    swept = [p.path for p in cfg.experiment.sweep.parameters] if cfg.experiment.sweep else []
    return ["scenario", "point", *swept]


def summarise(runs: pd.DataFrame, cfg: SalesimConfig) -> pd.DataFrame:
    """Per cell x design x metric: mean, std, n, CI; and two paired differences.

    ``diff_*`` pairs replication i of a design with replication i of the baseline design in the
    same scenario and sweep point; ``scenario_diff_*`` pairs it with replication i of the same
    design in the reference scenario (``reference_scenario``, else the first: ``base`` unless it
    is excluded). Both share seeds, so both are paired-t intervals. ``*_verdict`` is better,
    worse or none by ``verdict``. Cells and designs come in the order of the runs, metrics in
    the config's order; every cell is computed at once, so thousands of sweep points take a
    moment.
    """
    exp = cfg.experiment
    ok = runs[runs["status"] == "ok"].reset_index(drop=True)
    keys = [*_cell_keys(cfg), "design"]
    metrics = list(exp.metrics)
    if ok.empty:
        return pd.DataFrame()
    values = ok[metrics].to_numpy(dtype=float)
    reference = exp.reference
    base = _partner(ok, ok["design"] == exp.baseline_design, ["scenario", "point", "replication"])
    ref = _partner(ok, ok["scenario"] == reference, ["design", "point", "replication"])
    group = ok.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    level = _grouped(values, group)
    paired = _grouped(values - _rows(values, base), group)
    vs_ref = _grouped(values - _rows(values, ref), group)
    first = np.unique(group, return_index=True)[1]
    n_groups, n_metrics = len(first), len(metrics)
    cells = ok.loc[first, keys].reset_index(drop=True)
    out = cells.loc[np.repeat(np.arange(n_groups), n_metrics)].reset_index(drop=True)
    out["metric"] = np.tile(metrics, n_groups)

    def flat(a: np.ndarray) -> np.ndarray:
        return a.reshape(-1)

    out["n"] = flat(level["n"])
    out["mean"] = flat(level["mean"])
    out["std"] = flat(level["std"])
    out["ci95_half_width"] = flat(level["hw"])
    out["baseline"] = exp.baseline_design
    out["diff_mean"] = flat(paired["mean"])
    out["diff_ci95_half_width"] = flat(paired["hw"])
    out["diff_n"] = flat(paired["n"])
    out["reference_scenario"] = reference
    out["scenario_diff_mean"] = flat(vs_ref["mean"])
    out["scenario_diff_ci95_half_width"] = flat(vs_ref["hw"])
    direction = np.tile([outcome(m).direction for m in metrics], n_groups)
    for prefix in ("diff", "scenario_diff"):
        mean, hw = out[f"{prefix}_mean"].to_numpy(), out[f"{prefix}_ci95_half_width"].to_numpy()
        out[f"{prefix}_excludes_zero"] = (mean - hw > 0) | (mean + hw < 0)
        out[f"{prefix}_verdict"] = verdicts(mean, hw, direction)
    return out


def verdicts(difference: np.ndarray, half_width: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """``verdict`` of many differences at once."""
    with np.errstate(invalid="ignore"):
        known = (direction != 0) & np.isfinite(difference) & np.isfinite(half_width)
        excludes = (difference - half_width > 0) | (difference + half_width < 0)
        up = (difference > 0) == (direction > 0)
    return np.where(known & excludes, np.where(up, "better", "worse"), "none")


def _partner(ok: pd.DataFrame, among: pd.Series, on: list[str]) -> np.ndarray:
    """For each run, the row of the run ``among`` with the same ``on`` values (-1 if none)."""
    candidates = ok[among.to_numpy()]
    where = pd.Series(candidates.index.to_numpy(), index=pd.MultiIndex.from_frame(candidates[on]))
    found = where.reindex(pd.MultiIndex.from_frame(ok[on]))
    return found.fillna(-1).to_numpy(dtype=np.int64)


def _rows(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values[rows]``, NaN where a row is -1."""
    out = values[np.maximum(rows, 0)]
    out[rows < 0] = np.nan
    return out


def _grouped(values: np.ndarray, group: np.ndarray) -> dict[str, np.ndarray]:
    """Per group x column of ``values``, ignoring NaN: n, mean, std and CI half-width."""
    finite = np.isfinite(values)
    x = np.where(finite, values, 0.0)
    n_groups = group.max() + 1
    n = np.zeros((n_groups, values.shape[1]))
    total = np.zeros((n_groups, values.shape[1]))
    np.add.at(n, group, finite)
    np.add.at(total, group, x)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        dev = np.where(finite, values - mean[group], 0.0)
        squares = np.zeros((n_groups, values.shape[1]))
        np.add.at(squares, group, dev**2)
        std = np.where(n > 1, np.sqrt(squares / (n - 1)), np.nan)
        t = stats.t.ppf(0.5 + CONFIDENCE / 2, np.maximum(n - 1, 1))
        hw = np.where(n > 1, t * std / np.sqrt(n), np.nan)
    return {"n": n.astype(np.int64), "mean": mean, "std": std, "hw": hw}


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


def _indices(plan: Plan, sweep, y: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Sobol S1/ST (with CIs) or Morris mu*/sigma of one output over the sweep's points.

    The bootstrap CIs draw from a stream of the experiment's seed (a generator, not an int:
    SALib's Sobol analysis reads a seed of 0 as none and bootstraps from numpy's global state).
    """
    from SALib.analyze import morris, sobol

    boot = RandomStreams(seed)["sensitivity.bootstrap"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if sweep.method == "sobol":
            res = sobol.analyze(plan.problem, y, calc_second_order=False, seed=boot)
            return {k: res[k] for k in ("S1", "S1_conf", "ST", "ST_conf")}
        res = morris.analyze(plan.problem, plan.samples, y, num_levels=sweep.levels, seed=boot)
        return {k: res[k] for k in ("mu_star", "mu_star_conf", "sigma")}


def _index_rows(plan: Plan, cfg: SalesimConfig, keys: dict, y: np.ndarray) -> list[dict]:
    if not np.isfinite(y).all() or np.ptp(y) == 0:
        return []  # the estimators need every point, and a flat output has nothing to explain
    sweep = cfg.experiment.sweep
    roles = {p.path: p.role for p in sweep.parameters}
    cols = _indices(plan, sweep, y, seed_of(cfg))
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
