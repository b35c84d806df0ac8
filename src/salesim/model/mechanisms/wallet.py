"""Share of wallet: the share of its demand a customer buys from us."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from salesim.model.cycle import Mechanism, register_mechanism, sigmoid

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel


@register_mechanism
class LogisticTarget(Mechanism):
    """Share of wallet moves towards a logistic target in satisfaction, relationship, pressure.

    Bolton 1998; Rust, Lemon & Zeithaml 2004. The relationship is the customer's volume-weighted
    relationship with the people who own its lines.
    """

    slot = "wallet"
    name = "logistic_target"

    def month_end(self, model: SalesModel, month: int) -> None:
        """Move each active customer's share of wallet a step towards its target."""
        cfg = model.config.wallet
        book = model.customers
        target = sigmoid(
            cfg.intercept
            + cfg.satisfaction * (book.satisfaction - 0.5)
            + cfg.relationship * (book.customer_relationship() - 0.5)
            - cfg.competitor * model.market.pressure(month)
        )
        book.wallet = np.where(
            book.active, book.wallet + cfg.adjustment * (target - book.wallet), book.wallet
        )
