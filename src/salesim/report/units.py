"""How a KPI's value, difference and interval are written, the same in tables, figures and text.

The unit comes from the KPI's kind in ``salesim.model.inputs.outcomes``: rates as % with differences
and intervals in percentage points ("+6.3 pts ± 0.3 pts"), hours as h, money with a currency label
and one scale for a value and its interval ("+168.1 M CNY ± 5.0 M CNY"). A figure that shows a
number the report's table shows calls the same function, so the two cannot disagree.
"""

from __future__ import annotations

import math

from salesim.model.inputs import registry
from salesim.model.inputs.outcomes import (
    BETTER_COLOUR,
    NEUTRAL_COLOUR,
    OUTCOMES,
    WORSE_COLOUR,
    outcome,
)

#: Label for money when the experiment does not name a currency.
DEFAULT_CURRENCY = "CU"

_MONEY_SCALES = ((1e9, "bn"), (1e6, "M"), (1e3, "k"))


def label(metric: str) -> str:
    """A readable name for a KPI (hours marked h), or for a parameter path its section and field."""
    if metric in OUTCOMES:
        o = OUTCOMES[metric]
        return f"{o.label} (h)" if o.kind == "hours" else o.label
    parts = metric.removeprefix("model.").split(".")
    field = parts[-1].replace("_", " ")
    return f"{parts[-2].replace('_', ' ')}: {field}" if len(parts) > 1 else field


def design(name: str) -> str:
    """A design's label for readers ("Customer-manager organisation"); code names: configs."""
    return registry.design_label(name)


def colour(metric: str, difference: float) -> str:
    """Green if a difference (design - baseline) is an improvement, red if worse, else grey.

    The one better/worse colour rule: the report's tables and figures and the browser page's gap
    column all ask it, so the same gain is the same colour everywhere.
    """
    better = outcome(metric).better(difference)
    return NEUTRAL_COLOUR if better is None else BETTER_COLOUR if better else WORSE_COLOUR


def _finite(x: float | None) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _decimals(base: int, hw: float | None, scale: float = 1.0) -> int:
    """Enough decimals to show an interval's first significant digit (at most base + 4)."""
    if not _finite(hw) or hw == 0:
        return base
    return int(min(base + 4, max(base, -math.floor(math.log10(abs(hw) / scale)))))


def _money_scale(reference: float) -> tuple[float, str]:
    for scale, suffix in _MONEY_SCALES:
        if abs(reference) >= scale:
            return scale, suffix
    return 1.0, ""


def money_scale(reference: float) -> tuple[float, str]:
    """(divisor, prefix such as "M ") for money of about ``reference``, as the tables write it."""
    scale, suffix = _money_scale(reference)
    return scale, f"{suffix} " if suffix else ""


def value(metric: str, x: float | None, currency: str = DEFAULT_CURRENCY) -> str:
    """A level: 62.1%, 3.27 h, 601.0 M CNY, 1,500, 0.984."""
    return _one(metric, x, currency, diff=False)


def diff(metric: str, x: float | None, currency: str = DEFAULT_CURRENCY) -> str:
    """A signed difference: +6.3 pts, -0.21 h, +168.1 M CNY, +0.009."""
    return _one(metric, x, currency, diff=True)


def _one(metric: str, x: float | None, currency: str, diff: bool, hw: float | None = None) -> str:
    """One number in the KPI's unit.

    ``hw`` (an interval shown beside it) sets the scale and the decimals, so that a value and
    its interval read alike.
    """
    if not _finite(x):
        return "–"
    kind = outcome(metric).kind
    sign = "+" if diff else ""
    if kind == "rate":
        if diff:
            return f"{100 * x:+.{_decimals(1, hw, 0.01)}f} pts"
        return f"{100 * x:.{_decimals(1, hw, 0.01)}f}%"
    if kind == "hours":
        return f"{x:{sign}.{_decimals(2, hw)}f} h"
    if kind == "money":
        scale, suffix = _money_scale(max(abs(x), abs(hw) if _finite(hw) else 0.0))
        digits = _decimals(2 if scale >= 1e9 else 1, hw, scale)
        return f"{x / scale:{sign},.{digits}f} {suffix} {currency}".replace("  ", " ")
    if kind == "count":
        return f"{x:{sign},.{_decimals(0 if abs(x) >= 100 else 1, hw)}f}"
    return f"{x:{sign}.{_decimals(3, hw)}f}"


def half_width(
    metric: str, hw: float | None, reference: float = 0.0, currency: str = DEFAULT_CURRENCY
) -> str:
    """An interval's half-width (or any unsigned gap) in the unit of differences.

    Points for rates; for money, the scale of ``reference`` (the value it goes with).
    """
    if not _finite(hw):
        return "–"
    kind = outcome(metric).kind
    if kind == "rate":
        return f"{100 * hw:.{_decimals(1, hw, 0.01)}f} pts"
    if kind == "money":
        ref = abs(reference) if _finite(reference) else 0.0
        scale, suffix = _money_scale(max(abs(hw), ref))
        digits = _decimals(2 if scale >= 1e9 else 1, hw, scale)
        return f"{hw / scale:,.{digits}f} {suffix} {currency}".replace("  ", " ")
    if kind == "count":
        big = _finite(reference) and abs(reference) >= 100
        return f"{hw:,.{_decimals(0 if big else 1, hw)}f}"
    return _one(metric, hw, currency, diff=False, hw=hw)


def with_ci(
    metric: str,
    x: float | None,
    hw: float | None,
    *,
    signed: bool = False,
    currency: str = DEFAULT_CURRENCY,
) -> str:
    """A mean or difference with its 95% CI half-width, both in one unit and scale."""
    shown = _one(metric, x, currency, diff=signed, hw=hw)
    if not _finite(x) or not _finite(hw):
        return shown
    return f"{shown} ± {half_width(metric, hw, x if _finite(x) else 0.0, currency)}"
