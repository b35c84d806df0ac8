"""Figures of an experiment's results, for the HTML report and for notebooks.

Every function takes the stored tables (``runs``, ``summary``, ``timeseries``, ``responses``,
``sensitivity`` as pandas DataFrames) and returns a matplotlib Figure; nothing is shown or
saved here. The Agg backend is used unless a notebook has chosen another.
"""

from __future__ import annotations

import matplotlib

if matplotlib.get_backend().lower() not in {"module://matplotlib_inline.backend_inline", "nbagg"}:
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy import stats  # noqa: E402

from salesim.outcomes import OUTCOMES  # noqa: E402

LABELS = {name: f"{o.label} (h)" if o.kind == "hours" else o.label for name, o in OUTCOMES.items()}
TIME_SERIES = (
    "retention_rate",
    "mean_response_hours",
    "direct_sales_rate",
    "plan_completion_rate",
    "budget_fulfilment_rate",
)
ROLES = ("sales", "product_manager", "regional_manager", "service_outlet")


LOWER_IS_BETTER = {name for name, o in OUTCOMES.items() if o.direction < 0}


def label(metric: str) -> str:
    """A readable name for a KPI or a parameter path (its last part)."""
    return LABELS.get(metric, metric.rsplit(".", 1)[-1].replace("_", " "))


def _colours(designs: list[str]) -> dict[str, str]:
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {d: cycle[i % len(cycle)] for i, d in enumerate(designs)}


def forest(summary: pd.DataFrame, metrics: list[str], title: str = "") -> Figure:
    """Paired differences to the baseline, as % of the baseline mean, one row per KPI."""
    base_design = summary["baseline"].iloc[0]
    base = summary[summary.design == base_design].set_index("metric")["mean"]
    others = [d for d in summary.design.unique() if d != base_design]
    rows = [m for m in metrics if m in base.index and np.isfinite(base[m]) and base[m] != 0]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) * max(1, len(others)) + 1.4))
    colours = _colours(list(summary.design.unique()))
    step = 0.8 / max(1, len(others))
    for j, design in enumerate(others):
        d = summary[summary.design == design].set_index("metric")
        y = np.arange(len(rows)) + (j - (len(others) - 1) / 2) * step
        scale = 100 / base[rows].abs().to_numpy()
        mid = d.loc[rows, "diff_mean"].to_numpy() * scale
        err = d.loc[rows, "diff_ci95_half_width"].to_numpy() * scale
        sig = d.loc[rows, "diff_excludes_zero"].astype(bool).to_numpy()
        ax.errorbar(mid, y, xerr=err, fmt="none", ecolor=colours[design], capsize=3)
        ax.scatter(
            mid[sig], y[sig], color=colours[design], zorder=3, label=f"{design} (CI excludes 0)"
        )
        ax.scatter(
            mid[~sig],
            y[~sig],
            facecolor="white",
            edgecolor=colours[design],
            zorder=3,
            label=f"{design} (CI includes 0)",
        )
    ax.axvline(0, color="0.3", lw=1)
    ax.set_yticks(np.arange(len(rows)), [label(m) for m in rows])
    ax.invert_yaxis()
    ax.set_xlabel(f"difference to {base_design}, % of its mean (95% paired CI)")
    ax.set_title(title or f"Paired differences to {base_design}")
    if others:
        ax.legend(fontsize=7, loc="best")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def time_series(
    timeseries: pd.DataFrame, runs: pd.DataFrame, metrics=TIME_SERIES, title: str = ""
) -> Figure:
    """Monthly KPIs: mean over replications per design, with a 95% CI band."""
    data = timeseries.merge(runs[["run_id", "design"]], on="run_id")
    designs = list(runs.design.unique())
    colours = _colours(designs)
    metrics = [m for m in metrics if m in data.columns]
    fig, axes = plt.subplots(
        len(metrics), 1, figsize=(7.5, 2.1 * len(metrics)), sharex=True, squeeze=False
    )
    for ax, metric in zip(axes[:, 0], metrics, strict=True):
        for design in designs:
            g = data[data.design == design].groupby("month")[metric]
            mean, sd, n = g.mean(), g.std(ddof=1), g.count()
            hw = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
            ax.plot(mean.index + 1, mean, color=colours[design], label=design)
            ax.fill_between(
                mean.index + 1, mean - hw, mean + hw, color=colours[design], alpha=0.2, lw=0
            )
        ax.set_ylabel(label(metric), fontsize=8)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncol=len(designs))
    axes[-1, 0].set_xlabel("month")
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    return fig


def response_ecdf(responses: pd.DataFrame, runs: pd.DataFrame, title: str = "") -> Figure:
    """Distribution of resolution times per design (pooled over runs), p90 marked."""
    data = responses.merge(runs[["run_id", "design"]], on="run_id")
    designs = list(runs.design.unique())
    colours = _colours(designs)
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    right = 1.0
    for design in designs:
        counts = data[data.design == design].groupby("upper_hours")["count"].sum().sort_index()
        if counts.sum() == 0:
            continue
        cdf = (counts.cumsum() / counts.sum()).to_numpy()
        upper = counts.index.to_numpy()
        finite = np.isfinite(upper)
        p90 = upper[np.searchsorted(cdf, 0.9)]
        right = max(right, upper[min(np.searchsorted(cdf, 0.995), finite.sum() - 1)])
        ax.step(
            np.r_[0, upper[finite]],
            np.r_[0, cdf[finite]],
            where="post",
            color=colours[design],
            label=f"{design} (p90 {p90:g} h)",
        )
        if np.isfinite(p90):
            ax.axvline(p90, color=colours[design], ls="--", lw=1)
    ax.set_xlim(0, right)
    ax.axhline(0.9, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("request arrival to resolution, business hours")
    ax.set_ylabel("share of requests resolved")
    ax.set_title(title or "Response-time distribution")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def utilisation(summary: pd.DataFrame, title: str = "") -> Figure:
    """Mean utilisation per role and design, with 95% CIs: where the bottleneck is."""
    designs = list(summary.design.unique())
    colours = _colours(designs)
    roles = [r for r in ROLES if f"utilisation_{r}" in set(summary.metric)]
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    width = 0.8 / len(designs)
    for j, design in enumerate(designs):
        d = summary[summary.design == design].set_index("metric")
        vals = [d.loc[f"utilisation_{r}", "mean"] for r in roles]
        err = [d.loc[f"utilisation_{r}", "ci95_half_width"] for r in roles]
        x = np.arange(len(roles)) + (j - (len(designs) - 1) / 2) * width
        ax.bar(
            x,
            np.nan_to_num(vals),
            width,
            yerr=np.nan_to_num(err),
            color=colours[design],
            label=design,
            capsize=2,
        )
    ax.axhline(1.0, color="firebrick", lw=1, ls="--")
    ax.set_xticks(np.arange(len(roles)), [r.replace("_", " ") for r in roles])
    ax.set_ylabel("utilisation (work / hours for requests)")
    ax.set_title(title or "Staff utilisation by role")
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def sweep_lines(summary: pd.DataFrame, parameter: str, metric: str, title: str = "") -> Figure:
    """A KPI against one swept parameter (averaged over any others), per design, with CI bands."""
    designs = list(summary.design.unique())
    colours = _colours(designs)
    d = summary[summary.metric == metric]
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    for design in designs:
        g = (
            d[d.design == design]
            .groupby(parameter)
            .agg(mean=("mean", "mean"), hw=("ci95_half_width", "mean"))
        )
        x = g.index.to_numpy(dtype=float)
        ax.plot(x, g["mean"], marker="o", color=colours[design], label=design)
        ax.fill_between(
            x, g["mean"] - g["hw"], g["mean"] + g["hw"], color=colours[design], alpha=0.2, lw=0
        )
    ax.set_xlabel(label(parameter))
    ax.set_ylabel(label(metric))
    ax.set_title(title or f"{label(metric)} against {label(parameter)}")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def sweep_heatmap(summary: pd.DataFrame, x: str, y: str, metric: str, design: str) -> Figure:
    """Paired difference of ``design`` to the baseline over two swept parameters (a grid)."""
    d = summary[(summary.metric == metric) & (summary.design == design)]
    value = "diff_mean" if design != summary["baseline"].iloc[0] else "mean"
    grid = d.pivot_table(index=y, columns=x, values=value, aggfunc="mean").sort_index(
        ascending=False
    )
    sig = d.pivot_table(
        index=y, columns=x, values="diff_excludes_zero", aggfunc="max"
    ).reindex_like(grid)
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    lim = np.nanmax(np.abs(grid.to_numpy())) or 1.0
    # Blue where the design does better than the baseline, red where it does worse.
    cmap = (
        ("RdBu_r" if metric in LOWER_IS_BETTER else "RdBu") if value == "diff_mean" else "viridis"
    )
    vmin, vmax = (-lim, lim) if value == "diff_mean" else (None, None)
    im = ax.imshow(grid.to_numpy(dtype=float), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    for (i, j), v in np.ndenumerate(grid.to_numpy(dtype=float)):
        mark = "*" if value == "diff_mean" and bool(sig.iloc[i, j]) else ""
        ax.text(j, i, f"{v:.3g}{mark}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(grid.shape[1]), [f"{c:g}" for c in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{r:g}" for r in grid.index])
    ax.set_xlabel(label(x))
    ax.set_ylabel(label(y))
    what = f"{design} minus {summary['baseline'].iloc[0]}" if value == "diff_mean" else design
    ax.set_title(f"{label(metric)}: {what} (* CI excludes 0)", fontsize=9)
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    return fig


def sensitivity_bars(sensitivity: pd.DataFrame, metric: str, design: str) -> Figure:
    """Sobol total-order (or Morris mu*) indices per parameter, levers and uncertainties apart."""
    d = sensitivity[(sensitivity.metric == metric) & (sensitivity.design == design)]
    sobol = "ST" in d.columns and d["ST"].notna().any()
    value, err = ("ST", "ST_conf") if sobol else ("mu_star", "mu_star_conf")
    d = d.groupby(["parameter", "role"], as_index=False)[[value, err]].mean().sort_values(value)
    fig, ax = plt.subplots(figsize=(6.5, 0.4 * len(d) + 1.3))
    colour = d.role.map({"lever": "tab:green", "uncertainty": "tab:purple"})
    ax.barh([label(p) for p in d.parameter], d[value], xerr=d[err], color=colour, capsize=2)
    ax.set_xlabel(
        "total-order Sobol index ST" if sobol else "Morris mu* (mean |elementary effect|)"
    )
    ax.set_title(f"{label(metric)} under {design}: green levers, purple uncertainties", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
