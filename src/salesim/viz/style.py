"""Colours and names the page's pieces share.

Scales are short fixed palettes looked up by bin (``np.digitize``), never a colour map per dot. KPI
labels, units and directions come from ``salesim.model.inputs.outcomes``; numbers and the
better/worse colour are written by ``salesim.report.units``, as in the report.
"""

from __future__ import annotations

import bisect
import html

import numpy as np

from salesim.model.inputs.outcomes import outcome

#: One colour per side-by-side pane (matplotlib's first two, as in the report's figures).
DESIGN_COLOURS = ("#1f77b4", "#ff7f0e")

#: Load of a box: work taken on over the last month / request hours available then.
LOAD_EDGES = (0.4, 0.7, 0.9, 1.1)
LOAD_COLOURS = ("#eef2f6", "#fde9b6", "#fbb868", "#e0601a", "#8c2d04")
LOAD_LABELS = ("< 40%", "40–70%", "70–90%", "90–110%", "> 110%")
LOAD_INK = ("#222", "#222", "#222", "#fff", "#fff")

#: Customer satisfaction (0-1), low to high.
SAT_EDGES = (0.35, 0.45, 0.55, 0.65)
SAT_COLOURS = ("#c0392b", "#f0a15e", "#f4e29b", "#9bcf7a", "#2e8b3e")

FLOW_COLOUR = "#5b84b1"  # customer -> front line
HANDOFF_COLOUR = "#8e5ba8"  # front line -> product or regional manager
LOST_COLOUR = "#9a9a9a"

#: How the page names the registered designs (others show their registered name).
DESIGN_TITLES = {
    "product": "Product organisation (reps by line)",
    "customer_manager": "Customer managers (by region)",
    "three_in_one": "Three-in-one (customer managers + regional outlets)",
}


def design_title(name: str) -> str:
    """A design's name as the page shows it."""
    return DESIGN_TITLES.get(name, name.replace("_", " "))


def short_title(name: str) -> str:
    """A design's name without its explanation: 'Customer managers'."""
    return design_title(name).split(" (")[0]


def _bin(x, edges: tuple[float, ...], missing: float):
    if np.ndim(x) == 0:
        x = float(x)
        return bisect.bisect_right(edges, missing if x != x else x)
    return np.digitize(np.nan_to_num(np.asarray(x, dtype=float), nan=missing), edges)


def load_bin(x: np.ndarray | float):
    """Palette index of a load, or of each load (NaN counts as idle)."""
    return _bin(x, LOAD_EDGES, 0.0)


def sat_bin(x: np.ndarray | float):
    """Palette index of a satisfaction, or of each (NaN counts as neutral)."""
    return _bin(x, SAT_EDGES, 0.5)


def esc(text: object) -> str:
    """Text safe inside HTML or SVG."""
    return html.escape(str(text), quote=True)


def unit(name: str) -> str:
    """The unit shown next to a KPI's label."""
    o = outcome(name)
    return {"rate": "%", "hours": "business hours", "money": "currency units"}.get(o.kind, o.unit)


def direction(name: str) -> str:
    """'↑ better', '↓ better' or '' for a KPI with no better direction."""
    d = outcome(name).direction
    return "↑ better" if d > 0 else "↓ better" if d < 0 else ""
