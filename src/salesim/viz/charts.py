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
from salesim.model.kpis import quantile
from salesim.viz.style import direction, esc
from salesim.viz.tracker import QUEUE_GROUPS

if TYPE_CHECKING:
    from salesim.viz.panes import Pane
    from salesim.viz.seeds import SeedSummary

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
#: Requests waiting or in service by role, a point per business day.
QUEUE_PANELS = tuple(
    (f"queue_{g}", "daily", "requests waiting or in service") for g in QUEUE_GROUPS
)
#: Series that are not KPIs (so not in ``outcomes``) are named here.
SERIES_TITLES = {
    "load_product_manager": ("Product managers' load", "rate"),
    "queue_front": ("Queue: front line", "count"),
    "queue_service_outlet": ("Queue: service outlets", "count"),
    "queue_product_manager": ("Queue: product managers", "count"),
    "queue_regional_manager": ("Queue: regional managers", "count"),
}
W, H = 186, 118
LEFT, RIGHT, TOP, BOTTOM = 34, 6, 30, 16
GAP = 12
MAX_POINTS = 120


def _title(name: str) -> str:
    return SERIES_TITLES[name][0] if name in SERIES_TITLES else outcome(name).label


def _kind(name: str) -> str:
    return SERIES_TITLES[name][1] if name in SERIES_TITLES else outcome(name).kind


def _ticks(lo: float, hi: float) -> list[float]:
    """Two to four round numbers (1, 2 or 5 times a power of ten apart) within [lo, hi]."""
    span = hi - lo
    if span <= 0:
        return [lo]
    power = 10 ** math.floor(math.log10(span))
    ticks = [lo]
    for mult in (5, 2, 1, 0.5, 0.2, 0.1):
        step = power * mult
        first = math.ceil(lo / step - 1e-9) * step
        ticks = [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]
        if 2 <= len(ticks) <= 4:
            return ticks
    return ticks


def _fmt(name: str, v: float, step: float) -> str:
    """A tick label with as many decimals as the step between ticks needs (no '100%' twice)."""
    kind = _kind(name)
    scale = 100 if kind == "rate" else 1
    decimals = max(0, -math.floor(math.log10(step * scale) + 1e-9)) if step > 0 else 0
    if kind == "rate":
        return f"{scale * v:.{decimals}f}%"
    return f"{v:,.{decimals}f}"


#: The least span a chart's y axis shows, by kind: a flat series still gets a readable axis.
MIN_SPAN = {"rate": 0.02, "hours": 0.2, "count": 2.0}


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


def _panel(
    panes: list[Pane],
    name: str,
    source: str,
    subtitle: str,
    months: float,
    seeds: SeedSummary | None = None,
) -> str:
    series = [_points(p, name, source) for p in panes]
    opening = [p.tracker.opening.get(name) for p in panes] if source == "monthly" else []
    opening = [
        v if not p.tracker.monthly_rows else None for p, v in zip(panes, opening, strict=False)
    ]
    bands = [seeds.band(k, name) for k in range(len(panes))] if seeds is not None else []
    values = np.concatenate(
        [y[np.isfinite(y)] for _, y in series]
        + [np.array([v for v in opening if v is not None], dtype=float)]
        + [b[np.isfinite(b)] for _, lo, hi in bands for b in (lo, hi)]
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
        lo, hi = _y_range(name, float(values.min()), float(values.max()))

        def sx(m):
            return x0 + (x1 - x0) * np.asarray(m) / months

        def sy(v):
            return y1 - (y1 - y0) * (np.asarray(v) - lo) / (hi - lo)

        ticks = _ticks(lo, hi)
        step = ticks[1] - ticks[0] if len(ticks) > 1 else hi - lo
        for tick in ticks:
            ty = float(sy(tick))
            out.append(f'<line x1="{x0}" x2="{x1}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#e6e6e6"/>')
            out.append(
                f'<text class="tick" x="{x0 - 3}" y="{ty + 3:.1f}" font-size="9" '
                f'text-anchor="end" fill="#666">{_fmt(name, tick, step)}</text>'
            )
        for pane, (bx, blo, bhi) in zip(panes, bands, strict=False):
            ok = np.isfinite(blo) & np.isfinite(bhi)
            if ok.sum() > 1:
                upper = [f"{a:.1f},{b:.1f}" for a, b in zip(sx(bx[ok]), sy(bhi[ok]), strict=True)]
                lower = [f"{a:.1f},{b:.1f}" for a, b in zip(sx(bx[ok]), sy(blo[ok]), strict=True)]
                out.append(
                    f'<polygon class="band" points="{" ".join(upper + lower[::-1])}" '
                    f'fill="{pane.colour}" fill-opacity="0.16" stroke="none"><title>'
                    f"{esc(pane.short)}: lowest to highest of {seeds.n} seeds</title></polygon>"
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


def _y_range(name: str, low: float, high: float) -> tuple[float, float]:
    """The y axis for values in [low, high], padded and at least ``MIN_SPAN`` wide.

    Never below 0 for shares, hours and counts, and never above 100% for a share that stays at
    or below it (retention in month 1 is 100% with 99% below it, not 100% twice).
    """
    kind = _kind(name)
    span = max((high - low) * 1.2, MIN_SPAN.get(kind, max(abs(high) * 0.1, 0.01)))
    lo, hi = (low + high - span) / 2, (low + high + span) / 2
    if kind == "rate" and high <= 1 < hi:
        lo, hi = lo - (hi - 1), 1.0
    if kind in ("rate", "hours", "count") and lo < 0:
        lo, hi = 0.0, hi - lo
    return lo, hi


def _month_ticks(months: float) -> list[int]:
    step = 6 if months > 18 else 3 if months > 6 else 1
    return [1] + list(range(step, int(months) + 1, step))


def charts_svg(
    panes: list[Pane],
    columns: int = 3,
    seeds: SeedSummary | None = None,
    panels: tuple[tuple[str, str, str], ...] = PANELS,
) -> str:
    """Panels in a grid; the x axis runs over the horizon in months.

    With ``seeds`` each panel also shows, per pane, the band from the lowest to the highest of
    the seeds' monthly values.
    """
    cfg = panes[0].model.config
    months = cfg.horizon_days / cfg.calendar.days_per_month
    cells = []
    for k, (name, source, subtitle) in enumerate(panels):
        gx, gy = (k % columns) * (W + GAP), (k // columns) * (H + 10) + 20
        panel = _panel(panes, name, source, subtitle, months, seeds)
        cells.append(f'<g transform="translate({gx},{gy})">{panel}</g>')
    rows = math.ceil(len(panels) / columns)
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


HIST_W, HIST_H = 280, 130
HIST_BINS = 16


def response_histogram_svg(panes: list[Pane]) -> str:
    """A histogram of response times per design, of the requests resolved so far.

    Every pane on the same bins (to the 98th percentile of all, the last bin open) and the same
    scale, as a share of that design's requests, its mean and p90 marked.
    """
    hours = [p.tracker.hours_done.view() for p in panes]
    both = np.concatenate(hours)
    cells = []
    if len(both):
        top = max(quantile(both, 0.98), 1.0)
        ticks = _ticks(0.0, top)
        width = max((ticks[1] if len(ticks) > 1 else top) / 4, top / HIST_BINS)
        bins = int(math.ceil(top / width))
        edges = np.arange(bins + 1) * width
        # Equal bins, the last open: counted by bincount (np.histogram sorts for float edges).
        shares = [
            np.bincount(np.minimum((h / width).astype(np.int64), bins - 1), minlength=bins)
            / max(len(h), 1)
            for h in hours
        ]
        peak = max(float(s.max()) for s in shares) or 1.0
    for k, (pane, h) in enumerate(zip(panes, hours, strict=True)):
        x0, x1, y0, y1 = 34, HIST_W - 8, 30, HIST_H - 18
        gx = k * (HIST_W + GAP)
        out = [
            f'<g class="histogram" data-design="{esc(pane.name)}" data-requests="{len(h)}" '
            f'transform="translate({gx},0)">',
            f'<rect x="0" y="2" width="10" height="10" fill="{pane.colour}"/>',
            f'<text x="14" y="11" font-size="11" font-weight="bold">{esc(pane.short)}</text>',
            f'<text x="0" y="23" font-size="9" fill="#777">{len(h):,} requests resolved: share '
            "by business hours</text>",
            f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" fill="#fbfbfb" '
            'stroke="#ddd"/>',
        ]
        if not len(h):
            out.append(
                f'<text x="{(x0 + x1) / 2}" y="{(y0 + y1) / 2}" font-size="9" fill="#999" '
                'text-anchor="middle">no request resolved yet</text></g>'
            )
            cells.append("".join(out))
            continue

        def sx(v, x0=x0, x1=x1):
            return x0 + (x1 - x0) * v / edges[-1]

        def sy(v, y0=y0, y1=y1):
            return y1 - (y1 - y0) * v / peak

        for lo, share in zip(edges[:-1], shares[k], strict=True):
            if share > 0:
                out.append(
                    f'<rect x="{sx(lo) + 0.5:.1f}" y="{sy(share):.1f}" '
                    f'width="{max(sx(lo + width) - sx(lo) - 1, 0.5):.1f}" '
                    f'height="{y1 - sy(share):.1f}" fill="{pane.colour}" fill-opacity="0.75">'
                    f"<title>{lo:g}–{lo + width:g} h: {100 * share:.1f}% of requests</title></rect>"
                )
        for label, value, dash in (
            ("mean", float(h.mean()), ""),
            ("p90", quantile(h, 0.9), ' stroke-dasharray="3 2"'),
        ):
            x = sx(min(value, edges[-1]))
            out.append(
                f'<line class="{label}" x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{y1}" '
                f'stroke="#333"{dash}/><text x="{x + 2:.1f}" y="{y0 + 9}" font-size="8.5" '
                f'fill="#333">{label} {value:.1f} h</text>'
            )
        for tick in _ticks(0.0, edges[-1]):
            out.append(
                f'<text x="{sx(tick):.1f}" y="{HIST_H - 6}" font-size="9" text-anchor="middle" '
                f'fill="#666">{tick:g}{"+" if tick >= edges[-1] - 1e-9 else ""}</text>'
            )
        for tick in _ticks(0.0, peak):
            out.append(
                f'<text x="{x0 - 3}" y="{sy(tick) + 3:.1f}" font-size="9" text-anchor="end" '
                f'fill="#666">{100 * tick:.0f}%</text>'
            )
        out.append("</g>")
        cells.append("".join(out))
    total = len(panes) * (HIST_W + GAP) - GAP
    return (
        f'<svg class="salesim-histograms" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {total} {HIST_H}" width="100%" '
        f'style="max-width:{total * 1.2:.0f}px;font-family:system-ui,sans-serif;display:block">'
        + "".join(cells)
        + "</svg>"
    )
