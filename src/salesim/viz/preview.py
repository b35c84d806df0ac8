"""The first month's volume KPIs as expected from the state at day 0.

The model books what customers buy once a month (the ``sales`` mechanism), so the KPIs built on
volume (direct-sales rate, plan completion, budget fulfilment, market share, price index, gross
margin) have no measured value until the first month closes on business day 21. Until then the
page shows what that month is expected to give: the model's own ``sales`` run against a
throw-away copy of its monthly accumulators with demand noise at its median (every normal
draw 0), so nothing is written back to the model and no random stream of the model is used.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from salesim.model import SalesModel


class _MedianNoise:
    """Stands in for a random stream: every standard normal draw is 0."""

    def standard_normal(self, size: Any = None) -> np.ndarray:
        return np.zeros(size)


class _Streams:
    def __getitem__(self, name: str) -> _MedianNoise:
        return _MedianNoise()


class _Scratch:
    """The model, read-only, with private accumulators and noise-free streams."""

    def __init__(self, model: SalesModel) -> None:
        self._model = model
        self.acc = copy.deepcopy(model.acc)
        self.streams = _Streams()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def preview_month(model: SalesModel) -> dict[str, float]:
    """Expected volume KPIs of the month in progress; empty if the model cannot say."""
    scratch = _Scratch(model)
    try:
        model.mechanisms["sales"].month_end(scratch, model.month)
    except (AttributeError, KeyError, TypeError):  # the monthly cycle changed shape: say nothing
        return {}
    m = scratch.acc.month
    return {
        "direct_sales_rate": _ratio(m["direct"], m["sold"]),
        "plan_completion_rate": _ratio(m["sold"], m["plan"]),
        "budget_fulfilment_rate": _ratio(m["sold"], m["declared"]),
        "market_share": _ratio(m["sold"], m["market"]),
        "price_index": _ratio(m["revenue"], m["list_value"]),
        "revenue": m["revenue"],
        "gross_margin": m["margin"],
        "wallet_share": _ratio(m["sold"], m["demand_ours"]),
    }
