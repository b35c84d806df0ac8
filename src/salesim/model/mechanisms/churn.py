"""Churn: customers leaving for a competitor."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from salesim.model.cycle import Mechanism, register_mechanism, sigmoid
from salesim.model.inputs.codes import LOST, SEGMENTS

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel


@register_mechanism
class LogisticChurn(Mechanism):
    """Monthly hazard, logistic in satisfaction, relationship, failed orders and pressure.

    Less a switching cost by segment (Bolton 1998; Rust, Lemon & Zeithaml 2004). The terms of
    the logit of each customer who leaves are kept (``model.history``), so that "why did this
    customer leave?" has an answer; the month's terms of every customer stay in
    ``model.acc.churn_terms`` until the next month end (the browser page's customer story reads
    them), so "how likely was it?" has one too. Keeping them draws nothing and changes nothing.
    """

    slot = "churn"
    name = "logistic"
    while_settling = False

    def terms(self, model: SalesModel, month: int) -> dict[str, np.ndarray]:
        """Each term of the hazard's logit, per customer (positive raises the hazard)."""
        c = model.config.churn
        book = model.customers
        switching = np.array([c.switching_cost[s] for s in SEGMENTS])[book.segment]
        n = book.size
        return {
            "intercept": np.full(n, c.intercept),
            "satisfaction": -c.satisfaction * (book.satisfaction - 0.5),
            "relationship": -c.relationship * (book.customer_relationship() - 0.5),
            "failed_orders": c.failed_orders * model.acc.failed,
            "competitor": np.full(n, c.competitor * model.market.pressure(month)),
            "switching_cost": -switching,
        }

    def month_end(self, model: SalesModel, month: int) -> None:
        """Draw who leaves this month."""
        book = model.customers
        acc = model.acc
        u = model.streams["churn"].random(book.size)
        ours = book.active
        if not model.config.churn.enabled:
            acc.hazard = np.zeros(book.size)
            acc.churn_terms = {}
            return
        terms = self.terms(model, month)
        acc.churn_terms = terms
        acc.hazard = np.where(ours, sigmoid(sum(terms.values())), 0.0)
        leave = ours & (u < acc.hazard)
        book.channel[leave] = LOST
        acc.month["churned"] = float(leave.sum())
        if leave.any() and model.history is not None:
            model.history.left(
                month, np.flatnonzero(leave), {k: v[leave] for k, v in terms.items()}
            )
