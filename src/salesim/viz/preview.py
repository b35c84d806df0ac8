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

from salesim.model import kpis

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel

#: The KPIs of the month's volumes that the preview gives.
PREVIEWED = (
    "direct_sales_rate",
    "plan_completion_rate",
    "budget_fulfilment_rate",
    "market_share",
    "price_index",
    "revenue",
    "gross_margin",
    "wallet_share",
)


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


def preview_month(model: SalesModel) -> dict[str, float]:
    """Expected volume KPIs of the month in progress; empty if the model cannot say."""
    scratch = _Scratch(model)
    try:
        model.mechanisms["sales"].month_end(scratch, model.month)
    except (AttributeError, KeyError, TypeError):  # the monthly cycle changed shape: say nothing
        return {}
    volumes = kpis.from_accounts(scratch.acc.month)
    return {k: volumes[k] for k in PREVIEWED}
