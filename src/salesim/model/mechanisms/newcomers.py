"""New customers nobody prospected: they settle with a distributor (ours) or a competitor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from salesim.model.cycle import Mechanism, register_mechanism
from salesim.model.inputs.codes import DISTRIBUTOR, ELSEWHERE, OPEN

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel


@register_mechanism
class OpenWindow(Mechanism):
    """A new customer stays open for ``prospecting.window_months``, then settles.

    With probability ``prospecting.distributor_share`` it ends up buying our product through a
    distributor, otherwise from a competitor (assumption: new customers are
    won direct only if someone prospects them first).
    """

    slot = "newcomers"
    name = "open_window"
    while_settling = False

    def month_end(self, model: SalesModel, month: int) -> None:
        """Settle the customers whose window closes this month."""
        book = model.customers
        u = model.streams["prospecting.settle"].random(book.size)
        closing = (book.channel == OPEN) & (book.open_until_month <= month)
        to_dist = closing & (u < model.config.prospecting.distributor_share)
        book.channel[to_dist] = DISTRIBUTOR
        book.channel[closing & ~to_dist] = ELSEWHERE
        model.welcome(to_dist.nonzero()[0])
