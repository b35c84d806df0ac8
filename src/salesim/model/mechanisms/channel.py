"""Channel: direct customers falling back to distributors.

Conversions the other way happen only through prospecting visits (``field_work``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from salesim.model.cycle import Mechanism, register_mechanism, sigmoid
from salesim.model.inputs.codes import DIRECT, DISTRIBUTOR

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel


@register_mechanism
class LogisticFallback(Mechanism):
    """Monthly probability that a direct customer falls back to a distributor.

    Logistic: less if satisfied or large (Taylor 2003: large customers buy direct), more if
    served slowly (the response component below 1/e of the response scale).
    """

    slot = "channel"
    name = "logistic_fallback"
    while_settling = False

    def fallback_probability(self, model: SalesModel) -> np.ndarray:
        """Per customer: the probability of falling back this month if it buys direct."""
        ch = model.config.channel
        if not ch.enabled:
            return np.zeros(model.customers.size)
        book = model.customers
        acc = model.acc
        resp = np.where(np.isnan(acc.response_component), np.exp(-1.0), acc.response_component)
        slowness = -np.log(np.maximum(resp, 1e-12)) - 1.0
        return sigmoid(
            ch.fallback_intercept
            - ch.fallback_satisfaction * (book.satisfaction - 0.5)
            + ch.fallback_response * slowness
            - ch.fallback_log_volume * book.log_volume
        )

    def month_end(self, model: SalesModel, month: int) -> None:
        """Draw the fallbacks, then age the customers who stay."""
        book = model.customers
        v = model.streams["channel"].random(book.size)
        if model.config.channel.enabled:
            fall = (book.channel == DIRECT) & (v < self.fallback_probability(model))
            book.channel[fall] = DISTRIBUTOR
            model.acc.month["fallbacks"] = float(fall.sum())
        book.tenure_months[book.active] += 1
