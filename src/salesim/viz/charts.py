"""Small multiples of the KPIs over time, one line per design, drawn as one SVG.

The x axis is the whole horizon in months (counted from 1), so a chart fills as the run goes
on. Series that move daily (response times over the last month, queues, satisfaction,
retention) have a point per business day from day 1; the volume KPIs a point per month closed,
with the month-1 expectation as an open circle at 0 until then.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from salesim.model.inputs.outcomes import outcome
from salesim.viz.style import direction, esc

if TYPE_CHECKING:
    from salesim.viz.panes import Pane

#: (series, where it comes from: "daily" tracker series or "monthly" model rows, subtitle)
PANELS = (
    ("mean_response_hours", "daily", "resolved in the last 21 business days"),
    ("p90_response_hours", "daily", "resolved in the last 21 business days"),
    ("load_product_manager", "daily", "work taken on ÷ hours available"),
    ("satisfaction", "daily", "mean of active customers"),
    ("retention_rate", "daily", "of the customers at the start"),
    ("direct_sales_rate", "monthly", "in the month"),
    ("plan_completion_rate", "monthly", "in the month"),
    ("budget_fulfilment_rate", "monthly", "in the month"),
    ("market_share", "monthly", "in the month"),
)
#: Series that are not KPIs (so not in ``outcomes``) are named here.
SERIES_TITLES = {"load_product_manager": ("Product managers' load", "rate")}
W, H = 186, 118
LEFT, RIGHT, TOP, BOTTOM = 34, 6, 30, 16
GAP = 12
MAX_POINTS = 120


def _title(name: str) -> str:
    return SERIES_TITLES[name][0] if name in SERIES_TITLES else outcome(name).label


def _kind(name: str) -> str:
    return SERIES_TITLES[name][1] if name in SERIES_TITLES else outcome(name).kind


def _ticks(lo: float, hi: float) -> list[float]:
    """Two or three round numbers spanning [lo, hi]."""
    span = hi - lo
    step = 10 ** math.floor(math.log10(span)) if span > 0 else 1.0
    for mult in (1, 2, 5, 10):
        if span / (step * mult) <= 3:
            step *= mult
            break
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def _fmt(name: str, v: float) -> str:
    kind = _kind(name)
    if kind == "rate":
        return f"{100 * v:.0f}%"
    if abs(v) >= 100 or kind == "count":
        return f"{v:.0f}"
    return f"{v:.2g}" if abs(v) < 1 else f"{v:.1f}"


def _points(pane: Pane, name: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    """(months, values) of one series; months are fractional for daily series."""
    t = pane.tracker
    if source == "daily":
        x = np.asarray(t.series["day"]) / t.window
        y = np.asarray(t.series[name], dtype=float)
        if len(x) > MAX_POINTS:
            keep = np.unique(
                np.append(np.linspace(0, len(x) - 1, MAX_POINTS).astype(int), len(x) - 1)
            )
            x, y = x[keep], y[keep]
        return x, y
    y = np.array([row.get(name, np.nan) for row in t.monthly_rows], dtype=float)
    return np.arange(1, len(y) + 1, dtype=float), y


def _panel(panes: list[Pane], name: str, source: str, subtitle: str, months: float) -> str:
    series = [_points(p, name, source) for p in panes]
    opening = [p.tracker.opening.get(name) for p in panes] if source == "monthly" else []
    opening = [
        v if not p.tracker.monthly_rows else None for p, v in zip(panes, opening, strict=False)
    ]
    values = np.concatenate(
        [y[np.isfinite(y)] for _, y in series]
        + [np.array([v for v in opening if v is not None], dtype=float)]
    )
    out = [
        f'<g class="chart" data-series="{name}">',
        f'<text x="0" y="11" font-size="11" font-weight="bold">{esc(_title(name))}</text>',
        f'<text x="{W - RIGHT}" y="11" font-size="9" text-anchor="end" fill="#666">'
        f"{esc(direction(name)) if name not in SERIES_TITLES else ''}</text>",
        f'<text x="0" y="22" font-size="9" fill="#777">{esc(subtitle)}</text>',
    ]
    x0, x1, y0, y1 = LEFT, W - RIGHT, TOP, H - BOTTOM
    out.append(
        f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="#fbfbfb" '
        'stroke="#ddd"/>'
    )
    if len(values) == 0:
        empty = "first point after day 1" if source == "daily" else "first point after month 1"
        out.append(
            f'<text x="{(x0 + x1) / 2}" y="{(y0 + y1) / 2 + 3}" font-size="9" fill="#999" '
            f'text-anchor="middle">{empty}</text>'
        )
    else:
        lo, hi = float(values.min()), float(values.max())
        pad = (hi - lo) * 0.1 or max(abs(hi) * 0.05, 0.01)
        lo, hi = lo - pad, hi + pad
        if _kind(name) in ("rate", "hours"):
            lo = max(lo, 0.0)

        def sx(m):
            return x0 + (x1 - x0) * np.asarray(m) / months

        def sy(v):
            return y1 - (y1 - y0) * (np.asarray(v) - lo) / (hi - lo)

        for tick in _ticks(lo, hi):
            ty = float(sy(tick))
            out.append(f'<line x1="{x0}" x2="{x1}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#e6e6e6"/>')
            out.append(
                f'<text x="{x0 - 3}" y="{ty + 3:.1f}" font-size="9" text-anchor="end" '
                f'fill="#666">{_fmt(name, tick)}</text>'
            )
        for pane, (x, y), first in zip(panes, series, opening or [None] * len(panes), strict=True):
            ok = np.isfinite(y)
            if ok.sum() > 1:
                px, py = np.round(sx(x[ok]), 1).tolist(), np.round(sy(y[ok]), 1).tolist()
                pts = " ".join(f"{a},{b}" for a, b in zip(px, py, strict=True))
                out.append(
                    f'<polyline points="{pts}" fill="none" stroke="{pane.colour}" '
                    'stroke-width="1.6"/>'
                )
            if source == "monthly":
                for a, b in zip(sx(x[ok]), sy(y[ok]), strict=True):
                    out.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.2" fill="{pane.colour}"/>')
            if first is not None and np.isfinite(first):
                out.append(
                    f'<circle cx="{x0:.1f}" cy="{float(sy(first)):.1f}" r="3" fill="#fff" '
                    f'stroke="{pane.colour}" stroke-width="1.4"><title>≈ month 1, expected'
                    "</title></circle>"
                )
    for m in _month_ticks(months):
        tx = x0 + (x1 - x0) * m / months
        out.append(
            f'<text x="{tx:.1f}" y="{H - 4}" font-size="9" text-anchor="middle" fill="#666">'
            f"{m}</text>"
        )
    reorg = panes[0].model.config.reorganisation.month
    if reorg is not None and reorg < months:
        rx = x0 + (x1 - x0) * reorg / months
        out.append(
            f'<line x1="{rx:.1f}" x2="{rx:.1f}" y1="{y0}" y2="{y1}" stroke="#c9a227" '
            'stroke-dasharray="3 2"><title>reorganisation</title></line>'
        )
    out.append("</g>")
    return "".join(out)


def _month_ticks(months: float) -> list[int]:
    step = 6 if months > 18 else 3 if months > 6 else 1
    return [1] + list(range(step, int(months) + 1, step))


def charts_svg(panes: list[Pane], columns: int = 3) -> str:
    """All panels in a grid; the x axis runs over the horizon in months."""
    cfg = panes[0].model.config
    months = cfg.horizon_days / cfg.calendar.days_per_month
    cells = []
    for k, (name, source, subtitle) in enumerate(PANELS):
        gx, gy = (k % columns) * (W + GAP), (k // columns) * (H + 10) + 20
        panel = _panel(panes, name, source, subtitle, months)
        cells.append(f'<g transform="translate({gx},{gy})">{panel}</g>')
    rows = math.ceil(len(PANELS) / columns)
    width = columns * (W + GAP) - GAP
    height = rows * (H + 10) + 20
    legend = "".join(
        f'<rect x="{i * 230}" y="3" width="14" height="4" fill="{p.colour}"/>'
        f'<text x="{i * 230 + 18}" y="9" font-size="10">{esc(p.short)}</text>'
        for i, p in enumerate(panes)
    )
    legend += (
        f'<text x="{width}" y="9" font-size="9.5" text-anchor="end" fill="#666">'
        "x axis: month</text>"
    )
    return (
        f'<svg class="salesim-charts" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" width="100%" '
        f'style="max-width:{width * 1.2:.0f}px;font-family:system-ui,sans-serif;display:block">'
        + legend
        + "".join(cells)
        + "</svg>"
    )
