"""Page components: KPI cards, monthly series, the organisation at a glance.

Each takes the page's ``VizModel`` and re-renders after every step (Mesa's update counter).
At the baseline scale the organisation view draws aggregates (region x line cells, staff by
group), not one dot per customer.
"""

from __future__ import annotations

import html

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import solara  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from salesim.plots import LOWER_IS_BETTER  # noqa: E402
from salesim.viz.model import VizModel  # noqa: E402

CARDS = (
    ("retention_rate", "Retention", "pct"),
    ("mean_response_hours", "Mean response", "h"),
    ("p90_response_hours", "p90 response", "h"),
    ("direct_sales_rate", "Direct-sales rate", "pct"),
    ("plan_completion_rate", "Plan completion", "pct"),
    ("budget_fulfilment_rate", "Budget fulfilment", "pct"),
    ("market_share", "Market share", "pct"),
)
TH = 'style="text-align:right;padding:2px 8px;font-size:0.85em;color:#555"'
CELL = "text-align:right;padding:2px 8px;border-top:1px solid #eee"
TD = f'style="{CELL}"'
SERIES = (
    ("retention_rate", "Retention"),
    ("mean_response_hours", "Mean response (h)"),
    ("p90_response_hours", "p90 response (h)"),
    ("direct_sales_rate", "Direct-sales rate"),
    ("plan_completion_rate", "Plan completion"),
    ("budget_fulfilment_rate", "Budget fulfilment"),
    ("market_share", "Market share"),
)


def _show(value: float, unit: str, gap: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    if unit == "pct":
        return f"{100 * value:+.1f} pts" if gap else f"{100 * value:.1f}%"
    return f"{value:+.1f} h" if gap else f"{value:.1f} h"


def kpi_html(model: VizModel) -> str:
    """The KPI cards as one compact table: a row per KPI, a column per design, then the gap.

    The gap is the second design minus the first, green where the second does better.
    """
    left, right = model.left, model.right
    a = left.kpis()
    b = right.kpis() if right is not None else None
    day = int(left.time)
    head = (
        f'<div class="salesim-clock" data-day="{day}" style="font-weight:bold">Business day {day} '
        f"of {left.config.horizon_days} (month {left.month})</div>"
    )
    names = [left.design.name] + ([right.design.name] if right is not None else [])
    header = "".join(f"<th {TH}>{html.escape(n)}</th>" for n in names)
    if right is not None:
        header += f"<th {TH}>gap ({html.escape(names[1])} − {html.escape(names[0])})</th>"
    rows = []
    for key, name, unit in CARDS:
        cells = f'<td {TD} class="v" data-design="{names[0]}"><b>{_show(a[key], unit)}</b></td>'
        if b is not None:
            gap = b[key] - a[key]
            better = (gap < 0) if key in LOWER_IS_BETTER else (gap > 0)
            colour = "#1b7837" if better else "#b2182b"
            cells += (
                f'<td {TD} class="v" data-design="{names[1]}"><b>{_show(b[key], unit)}</b></td>'
            )
            cells += (
                f'<td class="gap" style="{CELL};color:{colour}" data-gap="{gap!r}">'
                f"{_show(gap, unit, gap=True)}</td>"
            )
        rows.append(
            f'<tr class="salesim-kpi" data-kpi="{key}" data-value="{a[key]!r}">'
            f'<td style="padding:2px 8px">{html.escape(name)}</td>{cells}</tr>'
        )
    table = (
        f'<table style="border-collapse:collapse;margin-top:6px"><tr><th {TH}></th>{header}</tr>'
        + "".join(rows)
        + "</table>"
    )
    return head + table


@solara.component
def KPICards(model: VizModel):
    """KPI cards, updating every step; the gap when two designs run side by side."""
    update_counter.get()
    with solara.Column():
        if model.error:
            solara.Error(
                f"Not applied: {model.error}. Still running the last valid organisation.",
                classes=["salesim-error"],
            )
        solara.HTML(tag="div", unsafe_innerHTML=kpi_html(model))


def series_figure(model: VizModel):
    """Monthly KPIs of each simulated design."""
    # Shaped for half the page's width (SolaraViz lays components out in two columns).
    fig, axes = plt.subplots(4, 2, figsize=(7, 6), sharex=True, dpi=72)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.95, bottom=0.08, wspace=0.25, hspace=0.45)
    for ax, (key, name) in zip(axes.ravel(), SERIES, strict=False):
        for sim in model.models:
            frame = sim.monthly_kpis()
            if len(frame):
                ax.plot(np.arange(1, len(frame) + 1), frame[key], marker=".", label=sim.design.name)
        ax.set_title(name, fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    axes.ravel()[-1].axis("off")
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    if handles:
        axes.ravel()[-1].legend(handles, labels, loc="center", fontsize=8)
    fig.supxlabel("month", fontsize=8)
    return fig


@solara.component
def MonthlySeries(model: VizModel):
    """Monthly KPI plots (redrawn once a month)."""
    update_counter.get()
    fig = solara.use_memo(
        lambda: series_figure(model), dependencies=[id(model.left), model.left.month]
    )
    solara.FigureMatplotlib(fig, dependencies=[id(model.left), model.left.month], format="png")
    plt.close(fig)


def _hex(cmap, x: float) -> str:
    if not np.isfinite(x):
        return "#dddddd"
    r, g, b, _ = matplotlib.colormaps[cmap](float(np.clip(x, 0, 1)))
    return f"#{int(255 * r):02x}{int(255 * g):02x}{int(255 * b):02x}"


def organisation_svg(sim) -> str:
    """Customers by region x line (area: active, colour: satisfaction); staff sized by queue.

    Drawn as SVG: cheap enough to redraw on every step at any scale, since it shows
    aggregates (one circle per region x line, one dot per person), never one dot per customer.
    """
    book, cfg = sim.customers, sim.config
    regions, lines = cfg.population.regions, list(cfg.population.lines)
    active = book.active
    cell_w, cell_h, left = 86, 62, 150
    parts = [
        f'<text x="4" y="14" font-size="12" font-weight="bold">{html.escape(sim.design.name)}: '
        "customers by region x line (area: active, colour: satisfaction)</text>"
    ]
    for li, name in enumerate(lines):
        parts.append(
            f'<text x="{left + li * cell_w + cell_w / 2}" y="32" font-size="11" '
            f'text-anchor="middle">{html.escape(name)}</text>'
        )
    counts = np.array(
        [
            [
                int((active & (book.region == r) & book.buys[:, li]).sum())
                for li in range(len(lines))
            ]
            for r in range(regions)
        ]
    )
    biggest = max(int(counts.max()), 1)
    for r in range(regions):
        y = 40 + r * cell_h
        parts.append(
            f'<text x="{left - 8}" y="{y + cell_h / 2}" font-size="11" text-anchor="end">'
            f"region {r + 1}</text>"
        )
        for li in range(len(lines)):
            members = active & (book.region == r) & book.buys[:, li]
            n = counts[r, li]
            sat = float(book.satisfaction[members].mean()) if n else np.nan
            direct = float((book.channel[members] == 0).mean()) if n else 0.0
            cx, cy = left + li * cell_w + cell_w / 2, y + cell_h / 2 - 6
            radius = 4 + 18 * np.sqrt(n / biggest)
            parts.append(
                f'<circle class="cell" cx="{cx}" cy="{cy}" r="{radius:.1f}" '
                f'fill="{_hex("RdYlGn", (sat - 0.3) / 0.65)}" '
                f'stroke="#333" stroke-width="0.6"><title>{n} active, satisfaction {sat:.2f}, '
                f"{100 * direct:.0f}% direct</title></circle>"
            )
            parts.append(
                f'<text x="{cx}" y="{y + cell_h - 2}" font-size="9" text-anchor="middle">'
                f"{n} · {100 * direct:.0f}% direct</text>"
            )
    queues, util = sim.queue_lengths(), sim.station_utilisation()
    rows: dict[str, list[int]] = {}
    for s_ in sim.sales_staff:
        where = (
            f"region {s_.group + 1}" if s_.role == "customer_manager" else f"line {lines[s_.group]}"
        )
        rows.setdefault(f"{s_.role.replace('_', ' ')}s, {where}", []).append(s_.station)
    for pm in sim.product_managers:
        rows.setdefault(f"product manager {lines[pm.line]}", []).append(pm.station)
    for rm in sim.regional_managers:
        rows.setdefault(f"regional manager {rm.region + 1}", []).append(rm.station)
    for o in sim.outlets:
        rows.setdefault(f"service outlet, region {o.region + 1}", []).append(o.station)
    top = 40 + regions * cell_h + 24
    parts.append(
        f'<text x="4" y="{top - 6}" font-size="12" font-weight="bold">'
        "staff: dot area = requests waiting or in service, colour = utilisation</text>"
    )
    step = max(8.0, min(24.0, (cell_w * len(lines) - 10) / max(len(v) for v in rows.values())))
    for i, (label, stations) in enumerate(rows.items()):
        y = top + 12 + i * 18
        parts.append(
            f'<text x="{left - 8}" y="{y + 4}" font-size="10" text-anchor="end">'
            f"{html.escape(label)}</text>"
        )
        for j, st in enumerate(stations):
            q = int(queues[st])
            parts.append(
                f'<circle class="staff" data-queue="{q}" cx="{left + 6 + j * step}" cy="{y}" '
                f'r="{2.5 + 2 * np.sqrt(q):.1f}" fill="{_hex("viridis", util[st] / 1.2)}" '
                f'stroke="#333" stroke-width="0.4">'
                f"<title>{q} in queue, utilisation {util[st]:.0%}</title></circle>"
            )
    height = top + 12 + len(rows) * 18
    width = left + cell_w * len(lines) + 10
    return (
        '<svg class="salesim-org" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width * 1.4}px;font-family:sans-serif">'
        + "".join(parts)
        + "</svg>"
    )


@solara.component
def OrganisationView(model: VizModel):
    """Where the queue builds and which customers drift away, per simulated design."""
    update_counter.get()
    with solara.Row():
        for sim in model.models:
            with solara.Column(style={"flex": "1", "min-width": "0"}):
                solara.HTML(tag="div", unsafe_innerHTML=organisation_svg(sim))
