"""The organisation drawn as it works: who customers deal with and where requests go.

Three columns: customers by region; the front line they deal with (reps by product line, or
customer managers and outlets by region); the second line that takes handoffs (product
managers, regional managers). A line between two boxes is the requests that went that way in
the last month (21 business days), its width proportional to their number on one scale for
both panes. A box's colour is its load over the same month and its number the requests
waiting or in service now. Dots are each region's largest customers; clicking one follows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from salesim.model.inputs.codes import DIRECT, LOST
from salesim.viz.style import (
    FLOW_COLOUR,
    HANDOFF_COLOUR,
    LOAD_COLOURS,
    LOAD_INK,
    LOAD_LABELS,
    LOST_COLOUR,
    SAT_COLOURS,
    design_title,
    esc,
    load_bin,
    sat_bin,
    short_title,
)
from salesim.viz.tracker import CUSTOMERS, FRONT, SECOND, Tracker, customer_name

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel

WIDTH = 540
COLUMNS = {CUSTOMERS: (2, 126), FRONT: (162, 346), SECOND: (382, 538)}
HEADINGS = {
    CUSTOMERS: "Customers by region",
    FRONT: "Front line: who they deal with",
    SECOND: "Handoffs go to",
}
BOX_H, PITCH = 32, 38
REGION_H, REGION_PITCH = 70, 78
KEY_ACCOUNTS = 8  # dots per region
MAX_WIDTH = 12.0  # px of the busiest line on the shared scale


def key_accounts(model: SalesModel, per_region: int = KEY_ACCOUNTS) -> list[np.ndarray]:
    """Each region's largest customers at the start (the same slots under every design)."""
    book = model.customers
    start = np.arange(book.n_initial)
    total = book.volume[start].sum(axis=1)
    order = start[np.argsort(-total, kind="stable")]
    return [
        order[book.region[order] == r][:per_region] for r in range(model.config.population.regions)
    ]


def region_stats(model: SalesModel) -> dict[str, np.ndarray]:
    """Per region: active, direct and lost customers, and mean satisfaction of the active."""
    book = model.customers
    regions = model.config.population.regions
    active = book.active
    n = np.bincount(book.region[active], minlength=regions)
    sat = np.bincount(book.region[active], weights=book.satisfaction[active], minlength=regions)
    return {
        "active": n,
        "direct": np.bincount(book.region[book.channel == DIRECT], minlength=regions),
        "lost": np.bincount(book.region[book.channel == LOST], minlength=regions),
        "satisfaction": np.where(n > 0, sat / np.maximum(n, 1), np.nan),
    }


def flow_scale(trackers: list[Tracker]) -> float:
    """The largest flow in any pane: every pane draws line widths on this one scale."""
    return max([float(t.node_flows().max(initial=0.0)) for t in trackers] + [1.0])


def _node_order(tracker: Tracker, i: int) -> tuple:
    node = tracker.nodes[i]
    if node.column != FRONT:
        return (0, 0, 0, *node.key)  # ("region" | "pm" | "rm", index)
    era, role, kind, index = node.key
    return (1, -era, ROLE_ORDER.get(role, len(ROLE_ORDER)), role, kind, index)


#: Front-line roles top to bottom (others after them, by name).
ROLE_ORDER = {"product_rep": 0, "customer_manager": 1, "service_outlet": 2}


def _text(x, y, text, size=10.0, anchor="start", weight="normal", fill="#222", raw=False):
    body = text if raw else esc(text)
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'font-weight="{weight}" fill="{fill}">{body}</text>'
    )


def _visible_nodes(tracker: Tracker, queues: np.ndarray, flows: np.ndarray) -> list[int]:
    """Current boxes, and boxes of a replaced front line while they still have work."""
    keep = []
    for i, node in enumerate(tracker.nodes):
        if tracker.current(node):
            keep.append(i)
        elif queues[node.stations].sum() > 0 or flows[:, i].sum() > 0 or flows[i].sum() > 0:
            keep.append(i)
    return keep


def organisation_svg(
    model: SalesModel,
    tracker: Tracker,
    *,
    scale: float,
    colour: str = "#1f77b4",
    selected: int | None = None,
    accounts: list[np.ndarray] | None = None,
) -> str:
    """The SVG of one organisation; ``scale`` is the flow drawn ``MAX_WIDTH`` wide."""
    queues = model.queue_lengths()
    load = tracker.load()
    flows = tracker.node_flows()
    visible = _visible_nodes(tracker, queues, flows)
    # In a fixed order whatever order the staff were built in (a roster's rows): by role, then
    # the line or region each box covers, old front line last.
    order = sorted(visible, key=lambda i: _node_order(tracker, i))
    by_column = {c: [i for i in order if tracker.nodes[i].column == c] for c in COLUMNS}
    rows = max(
        len(by_column[CUSTOMERS]) * REGION_PITCH,
        len(by_column[FRONT]) * PITCH,
        len(by_column[SECOND]) * PITCH,
    )
    parts: list[str] = []
    top = _header(model, tracker, colour, parts)
    y0 = top + 18
    for c, (x0, _) in COLUMNS.items():
        parts.append(_text(x0, top + 6, HEADINGS[c], 10, weight="bold", fill="#555"))

    # Box positions: each column centred in the height of the tallest.
    pos: dict[int, tuple[float, float, float, float]] = {}  # node -> x0, y, x1, height
    for c, members in by_column.items():
        x0, x1 = COLUMNS[c]
        h, pitch = (REGION_H, REGION_PITCH) if c == CUSTOMERS else (BOX_H, PITCH)
        start = y0 + (rows - len(members) * pitch) / 2
        for k, i in enumerate(members):
            pos[i] = (x0, start + k * pitch, x1, h)

    owners = set()
    if selected is not None and 0 <= selected < len(model.owner):
        row = model.owner[selected]
        owners = {int(tracker.node_of[s]) for s in row[row >= 0]}
    parts.extend(_edges(tracker, flows, pos, scale))
    stats = region_stats(model)
    accounts = accounts if accounts is not None else key_accounts(model)
    for r, i in enumerate(tracker.region_node.tolist()):
        if i in pos:
            parts.extend(_region_box(model, tracker, r, pos[i], stats, accounts[r], selected))
    for i in visible:
        node = tracker.nodes[i]
        if node.column != CUSTOMERS:
            parts.extend(_staff_box(tracker, i, pos[i], queues, load, i in owners))
    height = y0 + rows + 4
    parts.extend(_legend(height, scale))
    height += 76
    return (
        f'<svg class="salesim-org" data-design="{esc(model.design.name)}" '
        f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" width="100%" '
        f'style="max-width:{WIDTH * 1.25:.0f}px;font-family:system-ui,sans-serif;display:block">'
        + "".join(parts)
        + "</svg>"
    )


def _header(model: SalesModel, tracker: Tracker, colour: str, parts: list[str]) -> float:
    parts.append(f'<rect x="0" y="0" width="5" height="18" fill="{colour}"/>')
    parts.append(_text(10, 14, design_title(model.design.name), 13, weight="bold"))
    reorg = model.config.reorganisation
    y = 34.0
    if tracker.reorganised:
        month, before, after = tracker.reorganised[-1]
        note = (
            f"Reorganised from month {month + 1}: {short_title(before).lower()} → "
            f"{short_title(after).lower()}. Dashed: the old front line."
        )
        parts.append(
            f'<rect class="salesim-reorg" x="0" y="22" width="{WIDTH}" height="18" rx="3" '
            'fill="#fff3cd" stroke="#e0b84a"/>'
        )
        parts.append(_text(6, 35, note, 10, fill="#6b4e00"))
        y = 54.0
    elif reorg.month is not None and model.design.name != reorg.design:
        parts.append(
            _text(
                WIDTH - 2,
                14,
                f"reorganises to {short_title(reorg.design).lower()} from month {reorg.month + 1}",
                10,
                anchor="end",
                fill="#6b4e00",
            )
        )
    return y


def _edges(tracker: Tracker, flows: np.ndarray, pos: dict, scale: float) -> list[str]:
    """Flows as curves, spread along each box's side so that they stay apart."""
    src, dst = np.nonzero(flows)
    pairs = [(int(a), int(b)) for a, b in zip(src, dst, strict=True) if a in pos and b in pos]
    outgoing: dict[int, list[int]] = {}
    incoming: dict[int, list[int]] = {}
    for a, b in sorted(pairs, key=lambda p: pos[p[1]][1]):
        outgoing.setdefault(a, []).append(b)
    for a, b in sorted(pairs, key=lambda p: pos[p[0]][1]):
        incoming.setdefault(b, []).append(a)

    def offset(node: int, others: list[int], other: int) -> float:
        _, y, _, h = pos[node]
        k, n = others.index(other), len(others)
        return y + h / 2 + (0 if n == 1 else (k / (n - 1) - 0.5) * (h - 10))

    out = []
    for a, b in pairs:
        v = float(flows[a, b])
        width = max(0.8, MAX_WIDTH * v / scale)
        x1, y1 = pos[a][2], offset(a, outgoing[a], b)
        x2, y2 = pos[b][0], offset(b, incoming[b], a)
        mid = (x1 + x2) / 2
        handoff = tracker.nodes[a].column != CUSTOMERS
        colour = HANDOFF_COLOUR if handoff else FLOW_COLOUR
        label = f"{tracker.nodes[a].title} → {tracker.nodes[b].title}: {v:.0f} requests"
        out.append(
            f'<path class="flow{" handoff" if handoff else ""}" data-requests="{v:.0f}" '
            f'd="M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" '
            f'fill="none" stroke="{colour}" stroke-opacity="0.55" stroke-width="{width:.2f}">'
            f"<title>{esc(label)} in the last 21 business days</title></path>"
        )
    return out


def _region_box(model, tracker, r, box, stats, accounts, selected) -> list[str]:
    x0, y, x1, h = box
    active, direct, lost = (int(stats[k][r]) for k in ("active", "direct", "lost"))
    sat = float(stats["satisfaction"][r])
    out = [
        f'<rect class="region" x="{x0}" y="{y:.1f}" width="{x1 - x0}" height="{h}" rx="4" '
        'fill="#fafafa" stroke="#bbb"/>',
        _text(x0 + 6, y + 14, tracker.region_names[r], 11, weight="bold"),
        _text(x1 - 5, y + 14, f"{active:,} active", 9.5, anchor="end"),
        _text(
            x0 + 6,
            y + 28,
            f"{100 * direct / max(active, 1):.0f}% direct · {lost:,} lost",
            9.5,
            fill="#444",
        ),
    ]
    bar = x1 - x0 - 90
    fill = SAT_COLOURS[int(sat_bin(sat))]
    out.append(_text(x0 + 6, y + 42, "satisfied", 9.5, fill="#444"))
    out.append(_text(x1 - 5, y + 42, f"{sat:.2f}", 9.5, anchor="end", fill="#444"))
    out.append(
        f'<rect x="{x0 + 56}" y="{y + 35:.1f}" width="{bar}" height="8" fill="#eee" rx="2"/>'
        f'<rect x="{x0 + 56}" y="{y + 35:.1f}" width="{bar * np.nan_to_num(sat):.1f}" height="8" '
        f'fill="{fill}" rx="2"/>'
    )
    book = model.customers
    dots = list(accounts.tolist())
    if selected is not None and 0 <= selected < book.size and book.region[selected] == r:
        if selected not in dots:
            dots.append(int(selected))
    step = (x1 - x0 - 12) / max(len(dots), KEY_ACCOUNTS)
    colours = [SAT_COLOURS[b] for b in sat_bin(book.satisfaction[dots]).tolist()]
    for k, c in enumerate(dots):
        cx, cy = x0 + 10 + k * step, y + h - 12
        lost_c = book.channel[c] == LOST
        gone = not book.active[c]
        fill = LOST_COLOUR if gone else colours[k]
        ring = (
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="8.5" fill="none" stroke="#111" '
            'stroke-width="2"/>'
            if c == selected
            else ""
        )
        tip = (
            f"customer {customer_name(book, c)}: {book.volume[c].sum():,.0f} t a year, "
            f"satisfaction {book.satisfaction[c]:.2f}{', lost' if lost_c else ''} (click to follow)"
        )
        mark = (
            f'<text x="{cx:.1f}" y="{cy + 3.5:.1f}" font-size="10" text-anchor="middle" '
            'fill="#fff" pointer-events="none">×</text>'
            if lost_c
            else ""
        )
        out.append(
            f'<g class="customer" data-customer="{c}" style="cursor:pointer">{ring}'
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6" fill="{fill}" stroke="#333" '
            f'stroke-width="0.6"><title>{esc(tip)}</title></circle>{mark}</g>'
        )
    return out


def _staff_box(tracker, i, box, queues, load, owner) -> list[str]:
    node = tracker.nodes[i]
    x0, y, x1, h = box
    model = tracker.model
    stations = np.array(node.stations, dtype=np.int64)
    former = not tracker.current(node)
    queue = int(queues[stations].sum())
    value = tracker.group_load(stations, load)
    b = int(load_bin(value))
    people = int(model.stations.servers[stations].sum())
    title = node.title if node.column == SECOND else f"{node.title} ×{people}"
    detail = " · ".join(
        p
        for p in (
            "" if former else node.scope,
            f"{people} people" if node.column == SECOND and people > 1 else "",
            f"load {100 * value:.0f}%" if np.isfinite(value) else "load –",
            "leaving" if former else "",
        )
        if p
    )
    stroke = 'stroke="#111" stroke-width="2.4"' if owner else 'stroke="#666" stroke-width="0.8"'
    dash = ' stroke-dasharray="4 3"' if former else ""
    ink = LOAD_INK[b]
    return [
        f'<g class="staff{" former" if former else ""}" data-queue="{queue}" '
        f'data-load="{value:.3f}" data-node="{esc(node.title)}">'
        f'<rect x="{x0}" y="{y:.1f}" width="{x1 - x0}" height="{h}" rx="4" '
        f'fill="{LOAD_COLOURS[b]}" {stroke}{dash}/>'
        + _text(x0 + 6, y + 13.5, title, 10.5, weight="bold", fill=ink)
        + _text(x0 + 6, y + 27, detail, 9.5, fill=ink)
        + _text(
            x1 - 5,
            y + 27,
            f'<tspan font-weight="bold" font-size="11.5">{queue}</tspan> waiting',
            9.5,
            anchor="end",
            fill=ink,
            raw=True,
        )
        + f"<title>{esc(node.title)}: {queue} requests waiting or in service; load over the "
        f"last 21 business days {100 * np.nan_to_num(value):.0f}%{esc(_who(tracker, stations))}"
        "</title></g>"
    ]


def _who(tracker: Tracker, stations: np.ndarray) -> str:
    """'; people: S03, S07, S11' when a roster names the people of a box."""
    names = [tracker.names[s] for s in stations.tolist() if s in tracker.names]
    return f"; people: {', '.join(names)}" if names else ""


def _legend(y: float, scale: float) -> list[str]:
    out = [f'<g class="legend" transform="translate(0,{y:.0f})">']
    out.append(_text(0, 10, "Box colour: load over the last 21 business days", 9.5, fill="#444"))
    x = 232
    for colour, label in zip(LOAD_COLOURS, LOAD_LABELS, strict=True):
        out.append(f'<rect x="{x}" y="2" width="12" height="10" fill="{colour}" stroke="#999"/>')
        out.append(_text(x + 15, 10, label, 9, fill="#444"))
        x += 16 + 6.2 * len(label)
    out.append(
        _text(
            0,
            25,
            "(work taken on ÷ request hours available). "
            "Number: requests waiting or in service now.",
            9.5,
            fill="#444",
        )
    )
    out.append(
        f'<line x1="0" y1="38" x2="26" y2="38" stroke="{FLOW_COLOUR}" stroke-width="4" '
        'stroke-opacity="0.6"/>'
    )
    out.append(_text(30, 41, "customer → front line", 9.5, fill="#444"))
    out.append(
        f'<line x1="140" y1="38" x2="166" y2="38" stroke="{HANDOFF_COLOUR}" stroke-width="4" '
        'stroke-opacity="0.6"/>'
    )
    out.append(_text(170, 41, "handoff", 9.5, fill="#444"))
    out.append(
        f'<line x1="222" y1="38" x2="248" y2="38" stroke="#777" stroke-width="{MAX_WIDTH}" '
        'stroke-opacity="0.45"/>'
    )
    out.append(
        _text(252, 41, f"= {scale:,.0f} requests in the last 21 business days", 9.5, fill="#444")
    )
    out.append(
        _text(
            0,
            56,
            f"Dots: each region's {KEY_ACCOUNTS} largest customers; satisfaction",
            9.5,
            fill="#444",
        )
    )
    x = 268
    for colour in SAT_COLOURS:
        out.append(
            f'<circle cx="{x}" cy="52.5" r="4.5" fill="{colour}" stroke="#333" stroke-width="0.5"/>'
        )
        x += 11
    out.append(_text(x, 56, "low → high; grey × lost.", 9.5, fill="#444"))
    out.append(
        _text(0, 71, "Click a dot to follow that customer in the story below.", 9.5, fill="#444")
    )
    out.append("</g>")
    return out
