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
from matplotlib.colors import LinearSegmentedColormap, to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402
from scipy import stats  # noqa: E402

from salesim.experiments.compare import one_run_per_point, point_verdicts  # noqa: E402
from salesim.model.inputs.outcomes import (  # noqa: E402
    BETTER_COLOUR,
    NEUTRAL_COLOUR,
    WORSE_COLOUR,
    outcome,
)
from salesim.report import units  # noqa: E402

TIME_SERIES = (
    "retention_rate",
    "mean_response_hours",
    "direct_sales_rate",
    "plan_completion_rate",
    "budget_fulfilment_rate",
)
ROLES = ("sales", "product_manager", "regional_manager", "service_outlet")

#: Design colours avoid green and red, which mean better and worse in every figure.
DESIGN_COLOURS = ("#1f5fa8", "#e08a1e", "#7b4fa0", "#2aa2b8", "#8c6d46", "#d45d9e")
#: A tie (no detectable difference) on a map of wins, lighter than the neutral text colour.
TIE_COLOUR = "#d9d9d9"
#: A sampled sweep's points are binned into this many groups for "KPI against a parameter".
SWEEP_BINS = 10
VERDICT_COLOURS = {"better": BETTER_COLOUR, "worse": WORSE_COLOUR, "none": TIE_COLOUR}
#: Worse (red) through white to better (green), for differences oriented by the KPI's direction.
BETTER_MAP = LinearSegmentedColormap.from_list(
    "worse_better", [WORSE_COLOUR, "#f7f7f7", BETTER_COLOUR]
)
MARKERS = ("o", "s", "^", "D", "v", "P")


def _colours(designs: list[str]) -> dict[str, str]:
    return {d: DESIGN_COLOURS[i % len(DESIGN_COLOURS)] for i, d in enumerate(designs)}


def forest(
    summary: pd.DataFrame,
    metrics: list[str],
    title: str = "",
    currency: str = units.DEFAULT_CURRENCY,
) -> Figure:
    """Paired differences to the baseline, as % of the baseline mean, one row per KPI.

    Colour says better (green) or worse (red) by the KPI's direction; a filled marker says the
    paired 95% CI excludes zero, a hollow one that it does not. Each row is annotated with the
    difference exactly as the report's table writes it.
    """
    base_design = summary["baseline"].iloc[0]
    base = summary[summary.design == base_design].set_index("metric")["mean"]
    others = [d for d in summary.design.unique() if d != base_design]
    rows = [m for m in metrics if m in base.index and np.isfinite(base[m]) and base[m] != 0]
    height = 0.3 * len(rows) * max(1, len(others)) + 1.5
    fig, ax = plt.subplots(figsize=(9.5, height))
    step = 0.8 / max(1, len(others))
    for j, design in enumerate(others):
        d = summary[summary.design == design].set_index("metric")
        y = np.arange(len(rows)) + (j - (len(others) - 1) / 2) * step
        scale = 100 / base[rows].abs().to_numpy()
        diff = d.loc[rows, "diff_mean"].to_numpy(dtype=float)
        hw = d.loc[rows, "diff_ci95_half_width"].to_numpy(dtype=float)
        sig = d.loc[rows, "diff_excludes_zero"].astype(bool).to_numpy()
        colours = [units.colour(m, x) for m, x in zip(rows, diff, strict=True)]
        x = diff * scale
        ax.hlines(y, x - hw * scale, x + hw * scale, colors=colours, lw=1.5)
        ax.scatter(
            x,
            y,
            marker=MARKERS[j % len(MARKERS)],
            s=36,
            zorder=3,
            facecolors=[c if s else "white" for c, s in zip(colours, sig, strict=True)],
            edgecolors=colours,
        )
        for k, metric in enumerate(rows):
            ax.annotate(
                f"{design}: "
                + units.with_ci(metric, diff[k], hw[k], signed=True, currency=currency),
                xy=(1.01, y[k]),
                xycoords=("axes fraction", "data"),
                fontsize=7,
                va="center",
                # The text reads as the table does: coloured only when the CI excludes zero.
                color=colours[k] if sig[k] else NEUTRAL_COLOUR,
            )
    ax.axvline(0, color="0.3", lw=1)
    ax.set_yticks(np.arange(len(rows)), [units.label(m) for m in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlabel(f"difference to {units.design(base_design)}, % of its mean (95% paired CI)")
    ax.set_title(
        title or f"Paired differences to {units.design(base_design)}", loc="left", fontsize=10
    )
    handles = [
        Line2D([], [], ls="", marker=MARKERS[j % len(MARKERS)], color="0.2", label=units.design(d))
        for j, d in enumerate(others)
    ] + [
        Patch(color=BETTER_COLOUR, label="better"),
        Patch(color=WORSE_COLOUR, label="worse"),
        Line2D([], [], ls="", marker="o", color="0.2", label="filled: CI excludes 0"),
        Line2D([], [], ls="", marker="o", mfc="white", color="0.2", label="hollow: includes 0"),
    ]
    fig.legend(handles=handles, fontsize=7, loc="lower center", ncol=len(handles), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.subplots_adjust(left=0.2, right=0.66, top=1 - 0.4 / height, bottom=(0.45 + 0.35) / height)
    return fig


def _percent_axis(ax, metric: str, axis: str = "y") -> None:
    """Rates on a % axis, as the tables write them."""
    if outcome(metric).kind == "rate":
        target = ax.yaxis if axis == "y" else ax.xaxis
        target.set_major_formatter(PercentFormatter(xmax=1, decimals=0))


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
            ax.plot(mean.index + 1, mean, color=colours[design], label=units.design(design))
            ax.fill_between(
                mean.index + 1, mean - hw, mean + hw, color=colours[design], alpha=0.2, lw=0
            )
        ax.set_ylabel(units.label(metric), fontsize=8)
        _percent_axis(ax, metric)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncol=len(designs))
    axes[-1, 0].set_xlabel("month")
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    return fig


def response_ecdf(
    responses: pd.DataFrame,
    runs: pd.DataFrame,
    summary: pd.DataFrame | None = None,
    title: str = "",
) -> Figure:
    """Distribution of resolution times per design (pooled over runs), the table's p90 marked.

    The curve pools every replication's histogram. The dashed line and its band are the p90 the
    report's table shows: the mean over replications of each run's 90th percentile, with its
    95% CI (a pooled histogram's 0.9 crossing is a different, binned statistic). Without a
    summary the p90 is computed the same way from ``runs``.
    """
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
        right = max(right, upper[min(np.searchsorted(cdf, 0.995), finite.sum() - 1)])
        p90, hw = _p90(design, runs, summary)
        ax.step(
            np.r_[0, upper[finite]],
            np.r_[0, cdf[finite]],
            where="post",
            color=colours[design],
            label=f"{design} (p90 {units.with_ci('p90_response_hours', p90, hw)})",
        )
        if np.isfinite(p90):
            ax.axvline(p90, color=colours[design], ls="--", lw=1)
            if np.isfinite(hw):
                ax.axvspan(p90 - hw, p90 + hw, color=colours[design], alpha=0.15, lw=0)
    ax.set_xlim(0, right)
    ax.axhline(0.9, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("request arrival to resolution, business hours")
    ax.set_ylabel("share of requests resolved")
    ax.set_title(title or "Response-time distribution")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _p90(design: str, runs: pd.DataFrame, summary: pd.DataFrame | None) -> tuple[float, float]:
    """The p90 response of a design as the report's table has it: mean over runs, and CI."""
    if summary is not None:
        row = summary[(summary.design == design) & (summary.metric == "p90_response_hours")]
        if len(row):
            return float(row["mean"].iloc[0]), float(row["ci95_half_width"].iloc[0])
    from salesim.experiments.stats import half_width

    x = runs.loc[(runs.design == design) & (runs.status == "ok"), "p90_response_hours"]
    x = x.to_numpy(dtype=float)
    return (float(np.nanmean(x)) if np.isfinite(x).any() else np.nan), half_width(x)


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
            label=units.design(design),
            capsize=2,
        )
    ax.axhline(1.0, color="0.2", lw=1, ls="--", label="capacity")
    ax.set_xticks(np.arange(len(roles)), [r.replace("_", " ") for r in roles])
    ax.set_ylabel("utilisation (work / hours for requests)")
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    ax.set_title(title or "Staff utilisation by role")
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def _panels(n: int, width: float = 3.2, height: float = 2.5, top: float = 0.9):
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows + top), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat[:n]


def sweep_lines(
    summary: pd.DataFrame, parameter: str, metrics: str | list[str], title: str = ""
) -> Figure:
    """KPIs against one swept parameter, per design, with CI bands (one panel per KPI).

    With other swept parameters, each value is the mean over them (and so is the band). A
    sampled sweep (each point its own value) is binned: each tenth of the points by the
    parameter's value gives its mean and the 95% CI of that mean over the points.
    """
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    designs = list(summary.design.unique())
    colours = _colours(designs)
    binned = summary[parameter].nunique() > SWEEP_BINS + 2
    fig, axes = _panels(len(metrics))
    for ax, metric in zip(axes, metrics, strict=True):
        d = summary[summary.metric == metric]
        for design in designs:
            mine = d[d.design == design]
            if binned:
                g = _binned(mine, parameter)
            else:
                g = mine.groupby(parameter).agg(
                    mean=("mean", "mean"), hw=("ci95_half_width", "mean")
                )
            x = g.index.to_numpy(dtype=float)
            ax.plot(
                x, g["mean"], marker="o", ms=3, color=colours[design], label=units.design(design)
            )
            ax.fill_between(
                x, g["mean"] - g["hw"], g["mean"] + g["hw"], color=colours[design], alpha=0.2, lw=0
            )
        ax.set_title(units.label(metric), fontsize=9)
        ax.set_xlabel(units.label(parameter), fontsize=8)
        _percent_axis(ax, metric)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(title or f"KPIs against {units.label(parameter)}", fontsize=10)
    fig.tight_layout()
    return fig


def _binned(cells: pd.DataFrame, parameter: str) -> pd.DataFrame:
    """Mean and 95% CI half-width of the cells' means in ``SWEEP_BINS`` bins of ``parameter``.

    Indexed by the mean parameter value in each bin.
    """
    bins = pd.qcut(cells[parameter].rank(method="first"), SWEEP_BINS, labels=False)
    g = cells.groupby(bins)
    n = g["mean"].count()
    t = stats.t.ppf(0.975, np.maximum(n - 1, 1))
    out = pd.DataFrame(
        {"mean": g["mean"].mean(), "hw": np.where(n > 1, t * g["mean"].std() / np.sqrt(n), np.nan)}
    )
    out.index = g[parameter].mean().to_numpy()
    return out


def sweep_heatmap(summary: pd.DataFrame, x: str, y: str, metric: str, design: str) -> Figure:
    """Paired difference of ``design`` to the baseline over two swept parameters (a grid).

    Green where the design does better than the baseline, red where worse (by the KPI's
    direction); * marks cells whose paired 95% CI excludes zero.
    """
    d = summary[(summary.metric == metric) & (summary.design == design)]
    value = "diff_mean" if design != summary["baseline"].iloc[0] else "mean"
    grid = d.pivot_table(index=y, columns=x, values=value, aggfunc="mean").sort_index(
        ascending=False
    )
    sig = d.pivot_table(
        index=y, columns=x, values="diff_excludes_zero", aggfunc="max"
    ).reindex_like(grid)
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    values = grid.to_numpy(dtype=float)
    if value == "diff_mean":
        direction = outcome(metric).direction or 1
        lim = np.nanmax(np.abs(values)) if np.isfinite(values).any() else 1.0
        lim = lim or 1.0
        # The colour follows the oriented difference, so green is better whatever the KPI.
        im = ax.imshow(direction * values, cmap=BETTER_MAP, vmin=-lim, vmax=lim, aspect="auto")
    else:
        im = ax.imshow(values, cmap="Greys", aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        mark = "*" if value == "diff_mean" and bool(sig.iloc[i, j]) else ""
        ax.text(j, i, f"{v:.3g}{mark}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(grid.shape[1]), [f"{c:g}" for c in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{r:g}" for r in grid.index])
    ax.set_xlabel(units.label(x))
    ax.set_ylabel(units.label(y))
    what = f"{design} minus {summary['baseline'].iloc[0]}" if value == "diff_mean" else design
    ax.set_title(f"{units.label(metric)}: {what} (green better, * CI excludes 0)", fontsize=9)
    bar = fig.colorbar(im, ax=ax)
    if value == "diff_mean":
        bar.set_label("better →" if direction > 0 else "better → (lower values)", fontsize=8)
    fig.tight_layout()
    return fig


def win_map(
    summary: pd.DataFrame,
    axes: list[str],
    metrics: list[str],
    design: str,
    title: str = "",
) -> Figure:
    """Where ``design`` beats the baseline: one panel per KPI over one or two swept parameters.

    Each point of the sweep is green (paired 95% CI on the better side of zero), red (worse
    side) or grey (includes zero), from ``summary``'s ``diff_verdict``. A grid shows cells; a
    sampled sweep shows its points (jittered slightly where several share a position, as
    Morris points do when projected on two axes).
    """
    d = summary[(summary.design == design) & summary.metric.isin(metrics)]
    x = axes[0]
    y = axes[1] if len(axes) > 1 else None
    base = summary["baseline"].iloc[0]
    fig, panels = _panels(len(metrics), width=2.9, height=2.5, top=0.6)
    for ax, metric in zip(panels, metrics, strict=True):
        m = d[d.metric == metric]
        xs = m[x].to_numpy(dtype=float)
        ys = m[y].to_numpy(dtype=float) if y else np.zeros(len(m))
        verdicts = point_verdicts(m)
        if _is_grid(xs, ys):
            _cells(ax, xs, ys, verdicts)
        else:
            _points(ax, xs, ys, verdicts)
        ax.set_title(units.label(metric), fontsize=9)
        ax.set_xlabel(units.label(x), fontsize=8)
        ax.set_ylabel(units.label(y) if y else "", fontsize=8)
        ax.tick_params(labelsize=7)
        if not y:
            ax.set_yticks([])
    handles = [
        Patch(color=VERDICT_COLOURS[v], label=text)
        for v, text in (
            ("better", f"{design} better"),
            ("worse", f"{design} worse"),
            ("none", "no detectable difference"),
        )
    ]
    fig.legend(handles=handles, loc="upper right", fontsize=8, ncol=3)
    fig.suptitle(
        title
        or f"Where {design} wins against {base} ("
        + ("sign of the one paired run" if one_run_per_point(d) else "paired 95% CI")
        + " at each point)",
        fontsize=10,
        x=0.01,
        ha="left",
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    return fig


def _is_grid(xs: np.ndarray, ys: np.ndarray) -> bool:
    """Whether the points form a full grid, one point per cell."""
    cells = set(zip(xs.tolist(), ys.tolist(), strict=True))
    return len(cells) == len(xs) == len(np.unique(xs)) * len(np.unique(ys))


def _cells(ax, xs, ys, verdicts) -> None:
    ux, uy = np.unique(xs), np.unique(ys)
    rgb = np.ones((len(uy), len(ux), 3))
    for xv, yv, v in zip(xs, ys, verdicts, strict=True):
        rgb[np.searchsorted(uy, yv), np.searchsorted(ux, xv)] = to_rgb(VERDICT_COLOURS[v])
    ax.imshow(rgb, origin="lower", aspect="auto")
    ax.set_xticks(range(len(ux)), [f"{v:g}" for v in ux])
    ax.set_yticks(range(len(uy)), [f"{v:g}" for v in uy])
    ax.set_xticks(np.arange(len(ux) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(uy) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", lw=1.5)
    ax.tick_params(which="minor", length=0)


def _points(ax, xs, ys, verdicts) -> None:
    rng = np.random.default_rng(0)  # fixed jitter: the same figure every time
    span_x = np.ptp(xs) or 1.0
    span_y = np.ptp(ys) or 1.0
    shared = pd.Series(list(zip(xs, ys, strict=True))).duplicated(keep=False).to_numpy()
    jx = np.where(shared, rng.uniform(-0.04, 0.04, len(xs)) * span_x, 0)
    jy = np.where(shared, rng.uniform(-0.04, 0.04, len(ys)) * span_y, 0)
    for v in ("none", "worse", "better"):
        k = verdicts == v
        ax.scatter(
            xs[k] + jx[k],
            ys[k] + jy[k],
            s=16,
            color=VERDICT_COLOURS[v],
            edgecolor="0.4" if v == "none" else VERDICT_COLOURS[v],
            lw=0.5,
            zorder=3 if v != "none" else 2,
        )
    ax.grid(alpha=0.3)


def robustness_bars(robust: pd.DataFrame, design: str, title: str = "") -> Figure:
    """Share of the uncertainty space where ``design`` beats, ties or loses to the baseline."""
    d = robust[robust.design == design]
    metrics = list(dict.fromkeys(d.metric))
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(metrics) + 1.3))
    y = np.arange(len(metrics))
    left = np.zeros(len(metrics))
    for column, verdict, text in (
        ("win_share", "better", "beats"),
        ("tie_share", "none", "ties"),
        ("lose_share", "worse", "loses"),
    ):
        share = d.set_index("metric").loc[metrics, column].to_numpy(dtype=float) * 100
        ax.barh(y, share, left=left, color=VERDICT_COLOURS[verdict], label=text, height=0.7)
        for k, v in enumerate(share):
            if v >= 8:
                ax.text(left[k] + v / 2, y[k], f"{v:.0f}%", ha="center", va="center", fontsize=7)
        left += np.nan_to_num(share)
    ax.set_yticks(y, [units.label(m) for m in metrics], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the sweep's points, %")
    base = d["baseline"].iloc[0] if len(d) else ""
    ax.set_title(title or f"{design} against {base} across the uncertainties", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def sensitivity_matrix(indices: pd.DataFrame, design: str, title: str = "") -> Figure:
    """Which parameters each KPI depends on: of the gap (design - baseline) or of its level.

    ``indices`` is ``sensitivity_gap.csv`` (rows carry a baseline) or ``sensitivity.csv``. Each
    row is a KPI; each cell a parameter's total-order Sobol index ST (or Morris mu*) as a share
    of the row's largest, so rows with different units compare. The number in a cell is that
    share.
    """
    d = indices[indices.design == design]
    sobol = "ST" in d.columns and d["ST"].notna().any()
    value = "ST" if sobol else "mu_star"
    table = d.pivot_table(index="metric", columns="parameter", values=value, aggfunc="mean")
    metrics = [m for m in dict.fromkeys(d.metric) if m in table.index]
    table = table.loc[metrics]
    share = table.div(table.abs().max(axis=1).replace(0, np.nan), axis=0)
    roles = d.drop_duplicates("parameter").set_index("parameter")["role"]
    fig, ax = plt.subplots(figsize=(1.3 * table.shape[1] + 3.2, 0.34 * len(metrics) + 1.9))
    im = ax.imshow(share.to_numpy(dtype=float), cmap="Purples", vmin=0, vmax=1, aspect="auto")
    for (i, j), v in np.ndenumerate(share.to_numpy(dtype=float)):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if v > 0.6 else "black")  # fmt: skip
    ax.set_yticks(range(len(metrics)), [units.label(m) for m in metrics], fontsize=8)
    ax.set_xticks(
        range(table.shape[1]),
        [f"{units.label(p)}\n({roles.get(p, '')})" for p in table.columns],
        fontsize=7,
        rotation=30,
        ha="right",
    )
    what = "total-order Sobol ST" if sobol else "Morris mu*"
    if "baseline" in d.columns and len(d):
        default = f"What the gap {design} − {d['baseline'].iloc[0]} depends on"
    else:
        default = f"What each KPI under {design} depends on"
    ax.set_title(title or f"{default} ({what}, share of row max)", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.03)
    fig.tight_layout()
    return fig


def monthly_gap(
    gaps: dict[str, pd.DataFrame],
    metric: str,
    first_month: int,
    months_per_year: int,
    title: str = "",
) -> Figure:
    """The monthly paired difference of each comparison (name -> month, mean, CI half-width).

    The better side of zero is shaded green and the worse side red, by the KPI's direction;
    dotted lines mark the end of the first and the start of the last measured year.
    """
    fig, ax = plt.subplots(figsize=(7.5, 3.0))
    colours = _colours(list(gaps))
    for name, g in gaps.items():
        g = g[g.index >= first_month]
        x = g.index.to_numpy() + 1
        ax.plot(x, g["mean"], color=colours[name], label=name)
        ax.fill_between(
            x,
            g["mean"] - g["ci95_half_width"],
            g["mean"] + g["ci95_half_width"],
            color=colours[name],
            alpha=0.2,
            lw=0,
        )
    ax.axhline(0, color="0.3", lw=1)
    lo, hi = ax.get_ylim()
    lim = max(abs(lo), abs(hi))
    direction = outcome(metric).direction
    if direction:
        up, down = (BETTER_COLOUR, WORSE_COLOUR) if direction > 0 else (WORSE_COLOUR, BETTER_COLOUR)
        ax.axhspan(0, lim, color=up, alpha=0.07, lw=0)
        ax.axhspan(-lim, 0, color=down, alpha=0.07, lw=0)
    ax.set_ylim(-lim, lim)
    last = max((g.index.max() for g in gaps.values()), default=first_month) + 1
    for boundary in (first_month + months_per_year, last - months_per_year):
        ax.axvline(boundary + 0.5, color="0.4", ls=":", lw=1)
    ax.set_xlabel("month")
    ax.set_ylabel(f"difference in {units.label(metric).lower()}", fontsize=8)
    if outcome(metric).kind == "rate":  # differences of rates in points, as the tables say
        ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:+.0f} pts")
    ax.set_title(title or f"{units.label(metric)}: monthly paired difference, 95% CI", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def switch_curves(
    curves: dict[str, pd.DataFrame],
    switch_month: int,
    paybacks: dict[str, int | None],
    designs: list[str],
    currency: str = units.DEFAULT_CURRENCY,
    title: str = "",
) -> Figure:
    """The J-curve of each candidate against staying: monthly and cumulative paired difference.

    ``curves``: candidate -> month (1-based) x mean, ci95_half_width, cum_mean,
    cum_ci95_half_width of the operating-profit difference; ``paybacks`` marks each payback
    month on the cumulative panel; a dotted line marks the switch. Colours follow ``designs``.
    """
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 5.2), sharex=True)
    colours = _colours(designs)
    scale, prefix = units.money_scale(
        max((float(c["cum_mean"].abs().max()) for c in curves.values()), default=1.0)
    )
    for name, c in curves.items():
        x = c.index.to_numpy()
        for ax, mean, hw in (
            (top, "mean", "ci95_half_width"),
            (bottom, "cum_mean", "cum_ci95_half_width"),
        ):
            m = c[mean].to_numpy() / scale
            h = np.nan_to_num(c[hw].to_numpy() / scale)
            ax.plot(x, m, color=colours[name], label=units.design(name) if ax is top else None)
            ax.fill_between(x, m - h, m + h, color=colours[name], alpha=0.2, lw=0)
        month = paybacks.get(name)
        shown = units.design(name)
        said = f"{shown}: pays back in month {month}" if month else f"{shown}: no payback"
        at = month if month is not None else x[-1]
        y = c.loc[at, "cum_mean"] / scale if month is not None else np.nan
        bottom.plot([at], [y], "o", color=colours[name], label=said)
    for ax, what in ((top, "monthly"), (bottom, "cumulative")):
        ax.axhline(0, color="0.3", lw=1)
        ax.axvline(switch_month + 0.5, color="0.4", ls=":", lw=1)
        lo, hi = ax.get_ylim()
        ax.axhspan(0, max(hi, 0), color=BETTER_COLOUR, alpha=0.07, lw=0)
        ax.axhspan(min(lo, 0), 0, color=WORSE_COLOUR, alpha=0.07, lw=0)
        ax.set_ylim(lo, hi)
        ax.set_ylabel(f"{what}, {prefix}{currency}", fontsize=8)
        ax.grid(alpha=0.3)
    top.set_title(
        title or "Operating profit: switching − staying, paired, 95% CI (dotted: the switch)",
        fontsize=9,
    )
    top.legend(fontsize=7)
    bottom.legend(fontsize=7, loc="upper left")
    bottom.set_xlabel("month of the run")
    fig.tight_layout()
    return fig


def discovery_box(finding, box, number: int = 1, title: str = "") -> Figure:
    """A PRIM box of the points where a design loses (``salesim.experiments.discovery``).

    Left: the sweep's points on the box's two most restricted parameters (with one, the next
    swept parameter as the second axis), red where the design loses, grey elsewhere, the box
    dashed. Right: the peeling trajectory (coverage against density), the reported box ringed.
    """
    points = finding.points
    axes = box.parameters[:2]
    if len(axes) < 2:
        others = [p for p in finding.parameters if p not in axes]
        axes = axes + others[:1]
    fig, (ax, tr) = plt.subplots(1, 2, figsize=(9.5, 3.8), gridspec_kw={"width_ratios": [1.35, 1]})
    loses = points.loses.to_numpy()
    xs = points[axes[0]].to_numpy(dtype=float)
    ys = points[axes[1]].to_numpy(dtype=float) if len(axes) > 1 else np.zeros(len(points))
    size = 14 if len(points) <= 500 else 5
    ax.scatter(xs[~loses], ys[~loses], s=size, color=TIE_COLOUR, edgecolor="0.55", lw=0.3,
               label="not worse", zorder=2)  # fmt: skip
    ax.scatter(xs[loses], ys[loses], s=size, color=WORSE_COLOUR, lw=0, label="worse", zorder=3)
    limits = {lim.parameter: lim for lim in box.limits}

    def span(name: str, values: np.ndarray) -> tuple[float, float]:
        lim = limits.get(name)
        return (lim.lower, lim.upper) if lim else (float(values.min()), float(values.max()))

    x0, x1 = span(axes[0], xs)
    y0, y1 = span(axes[1], ys) if len(axes) > 1 else (-0.5, 0.5)
    ax.add_patch(
        plt.Rectangle(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            fill=False,
            ls="--",
            lw=1.4,
            color="black",
            zorder=4,
            label=f"box {number}",
        )  # fmt: skip
    )
    ax.set_xlabel(units.label(axes[0]), fontsize=8)
    ax.set_ylabel(units.label(axes[1]) if len(axes) > 1 else "", fontsize=8)
    if len(axes) < 2:
        ax.set_yticks([])
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    t = box.trajectory
    for k, (count, part) in enumerate(t.groupby("restricted", sort=True)):
        tr.scatter(part.coverage, part.density, s=14, color=DESIGN_COLOURS[k % 6], zorder=2,
                   label=f"{count:.0f} restricted")  # fmt: skip
    tr.scatter([box.coverage], [box.density], s=110, facecolor="none", edgecolor=WORSE_COLOUR,
               lw=1.6, zorder=3, label="reported")  # fmt: skip
    tr.set_xlim(0, 1.04)
    tr.set_ylim(0, 1.04)
    tr.set_xlabel("coverage: share of the worse points inside", fontsize=8)
    tr.set_ylabel("density: share of the box's points worse", fontsize=8)
    tr.xaxis.set_major_formatter(PercentFormatter(1.0))
    tr.yaxis.set_major_formatter(PercentFormatter(1.0))
    tr.tick_params(labelsize=7)
    tr.grid(alpha=0.3)
    tr.legend(fontsize=7, loc="lower left", frameon=False)
    fig.suptitle(
        title
        or f"Where {finding.design} is worse than {finding.baseline} on "
        f"{units.label(finding.kpi)} (box {number}; peeling trajectory right)",
        fontsize=9,
        x=0.01,
        ha="left",
    )
    fig.tight_layout()
    return fig
