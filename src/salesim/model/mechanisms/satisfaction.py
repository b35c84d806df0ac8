"""Satisfaction: expectation-disconfirmation with anchoring."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from salesim.model.cycle import Mechanism, register_mechanism

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel


@register_mechanism
class ExpectationDisconfirmation(Mechanism):
    """S_t = a S_{t-1} + (1-a) f(P, P-E), E_t = g E_{t-1} + (1-g) P_t.

    Bolton 1998; Johnson, Anderson & Fornell 1995. Perceived performance P mixes the response
    component (mean exp(-hours / scale) of the month's resolved requests), one-stop service
    (mean 1 / contacts) and order fill; f = clip(P + d (P - E), 0, 1) so that both the level of
    performance and its surprise count. A customer without requests this month perceives its
    expectation on those components.
    """

    slot = "satisfaction"
    name = "expectation_disconfirmation"

    def month_end(self, model: SalesModel, month: int) -> None:
        """Update satisfaction and expectation of active customers."""
        cfg = model.config.satisfaction
        if not cfg.enabled:
            return
        book = model.customers
        acc = model.acc
        resp = np.where(np.isnan(acc.response_component), book.expectation, acc.response_component)
        contact = np.where(np.isnan(acc.contact_component), book.expectation, acc.contact_component)
        w = np.array([cfg.weight_response, cfg.weight_contacts, cfg.weight_fulfilment])
        w = w / w.sum() if w.sum() > 0 else np.array([1.0, 0.0, 0.0])
        perf = w[0] * resp + w[1] * contact + w[2] * acc.fill
        target = np.clip(perf + cfg.disconfirmation * (perf - book.expectation), 0.0, 1.0)
        ours = book.active
        book.satisfaction = np.where(
            ours, cfg.memory * book.satisfaction + (1 - cfg.memory) * target, book.satisfaction
        )
        book.expectation = np.where(
            ours,
            cfg.expectation_memory * book.expectation + (1 - cfg.expectation_memory) * perf,
            book.expectation,
        )
