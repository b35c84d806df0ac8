"""Declarations: the budgets and monthly call-offs customers declare to us, per line."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from salesim.model.cycle import Mechanism, register_mechanism
from salesim.model.information import knowledge

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel


@register_mechanism
class KnowledgeOverstatement(Mechanism):
    """Declared = expected purchases from us * (1 + o (1 - k)) * lognormal(sigma (1 - k)).

    Each month a customer calls off, per line, what it says it will buy from us: its own
    expectation of the month's need (it knows its needs, the surge included) times its share of
    wallet, inflated by ``declarations.overstatement`` where the line's owner knows little of it
    (k = ``information.knowledge``): customers overstate to secure allocation when supply is
    rationed and the declaration is cheap talk (Lee, Padmanabhan & Whang 1997; Cachon &
    Lariviere 2001), less so where they are known and trusted (Ozer, Zheng & Chen 2011; the
    dependence on k is an assumption). The error is drawn once a year per (customer, line), so a
    customer's bias persists through the year; the year's call-offs are its annual budget.
    """

    slot = "declarations"
    name = "knowledge_overstatement"

    def year_start(self, model: SalesModel, year: int) -> None:
        """Draw this year's declaration errors (a shape that does not depend on the design)."""
        book = model.customers
        book.declaration_error = model.streams["declarations"].standard_normal(book.volume.shape)

    def month_start(self, model: SalesModel, month: int) -> None:
        """Call-offs for ``month`` and the knowledge behind them."""
        cfg = model.config
        book = model.customers
        k = knowledge(model)
        model.acc.knowledge = k
        d = cfg.declarations
        # Only the lines each active customer buys declare anything.
        rows = book.pairs[0]
        on = book.active[rows]
        rows, flat = rows[on], book.pair_flat[on]
        unknown = 1 - k.take(flat)
        sigma = d.noise * unknown
        scale = model.market.demand_index(month) / cfg.calendar.months_per_year
        expected = book.volume.take(flat) * scale * book.wallet[rows]
        # Inflating pays only on the supply allocated by declaration (Lee et al. 1997).
        gaming = d.overstatement * (1 - model.allocation_by_accuracy)
        inflate = (1 + gaming * unknown) * np.exp(
            sigma * book.declaration_error.take(flat) - sigma**2 / 2
        )
        book.calloff = np.zeros(book.volume.shape)
        book.calloff.put(flat, expected * inflate)
