"""Planning: the monthly plan and supply per line, from declarations and orders."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from salesim.model.cycle import Mechanism, register_mechanism
from salesim.model.information import records

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel


@register_mechanism
class AdaptivePlanning(Mechanism):
    """Plan from call-offs, revised towards orders by the planners, within their capacity.

    The planning & information department balances plan and resources annually and monthly and
    the product department adjusts them (the case, docs/case.md). Each record is one (customer,
    informant): a customer with three reps is three records. The planners revise the records they
    can consolidate this month (``coverage`` = capacity / records, at most 1) towards the last
    month's orders, carried forward by the market's demand index:
    ``plan = (1 - w c) * call-off + w c * orders``, with ``w = planning.order_weight``.
    Supply follows the plan with ``market.plan_safety`` on top, within the group's allocation.
    """

    slot = "planning"
    name = "adaptive"

    def month_start(self, model: SalesModel, month: int) -> None:
        """Plan and supply per line for ``month``."""
        cfg = model.config
        book = model.customers
        acc = model.acc
        ours = book.active[:, None]
        market = model.market
        if not cfg.planning.enabled:
            expected = book.volume / cfg.calendar.months_per_year * market.demand_index(month)
            plan_cl = np.where(ours, expected * book.wallet[:, None], 0.0)
        else:
            capacity = sum(p.records_per_month for p in model.planners)
            acc.coverage = min(1.0, capacity / max(records(model), 1.0))
            weight = cfg.planning.order_weight * acc.coverage
            plan_cl = book.calloff
            if acc.orders_cl is not None and weight > 0:
                trend = market.demand_index(month) / market.demand_index(acc.orders_month)
                plan_cl = (1 - weight) * book.calloff + weight * acc.orders_cl * trend
            plan_cl = np.where(ours, plan_cl, 0.0)
        acc.plan_cl = plan_cl
        acc.plan = plan_cl.sum(axis=0)
        acc.supply = np.minimum(
            acc.plan * (1 + cfg.market.plan_safety), market.supply_capacity(month)
        )
