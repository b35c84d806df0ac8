"""Sales: what customers need, order from us, and get, at what price."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from salesim.model.cycle import Mechanism, register_mechanism
from salesim.model.inputs.codes import DIRECT, DISTRIBUTOR, FUTURE

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel


@register_mechanism
class SupplyLimitedSales(Mechanism):
    """Demand, orders to us, supply-limited deliveries, price and margin for the month.

    A customer's demand per line is its annual volume / 12 times the market's demand index and a
    lognormal month-to-month noise; it orders ``wallet`` of it from us. Deliveries per line are
    orders scaled down pro rata when they exceed the supply the plan secured. Price: list price,
    less a concession to dissatisfied customers under competitor pressure and a distributor
    discount, plus a premium when orders exceed supply (assumptions; the case reports prices
    "did not collapse" under the 2006-2007 pressure).
    """

    slot = "sales"
    name = "supply_limited"

    def month_end(self, model: SalesModel, month: int) -> None:
        """Demand, orders, deliveries and value of ``month``.

        Computed on the (customer, line) pairs customers buy (``customers.pairs``), not on
        every line of every customer.
        """
        cfg = model.config
        book = model.customers
        acc = model.acc
        n, n_lines = book.volume.shape
        mpy = cfg.calendar.months_per_year
        rng = model.streams["market.demand"]
        sigma = cfg.market.demand_noise
        rows, cols = book.pairs
        # Noise on the lines each customer buys (a shape that does not depend on the design).
        noise = np.exp(sigma * rng.standard_normal(len(rows)) - sigma**2 / 2)
        demand = book.pair_volume * (model.market.demand_index(month) / mpy) * noise
        ours = book.active
        orders = demand * np.where(ours, book.wallet, 0.0)[rows]
        line_orders = np.bincount(cols, weights=orders, minlength=n_lines)
        fill_line = np.minimum(1.0, acc.supply / np.maximum(line_orders, 1e-12))
        delivered = orders * fill_line[cols]
        ordered_c = np.bincount(rows, weights=orders, minlength=n)
        delivered_c = np.bincount(rows, weights=delivered, minlength=n)
        acc.fill = np.where(ordered_c > 0, delivered_c / np.maximum(ordered_c, 1e-12), 1.0)
        acc.failed = 1.0 - acc.fill
        acc.orders_cl = np.zeros((n, n_lines))
        acc.orders_cl.put(book.pair_flat, orders)
        acc.orders_month = month
        if model.settling:
            return  # the world before day 0 keeps its customers' state, not its accounts

        val = cfg.value
        pressure = model.market.pressure(month)
        scarcity = np.maximum(0.0, line_orders / np.maximum(acc.supply, 1e-12) - 1.0)
        concession = 1 - val.pressure_discount * pressure * (1 - book.satisfaction)
        concession = np.where(
            book.channel == DISTRIBUTOR, concession * (1 - val.distributor_discount), concession
        )
        price = val.price_per_tonne * concession[rows] * (1 + val.scarcity_premium * scarcity)[cols]
        revenue_c = np.bincount(rows, weights=delivered * price, minlength=n)
        margin_c = revenue_c - val.cost_per_tonne * delivered_c
        disc = (1 + val.discount_rate_per_year) ** (-(month + 1 - acc.measure_from_month) / mpy)
        acc.clv += margin_c * disc
        acc.margin_recent = np.where(ours, 0.7 * acc.margin_recent + 0.3 * margin_c, 0.0)
        declared = np.where(ours[rows], book.calloff.take(book.pair_flat), 0.0)
        demand_c = np.bincount(rows, weights=demand, minlength=n)
        present = book.channel != FUTURE  # not in the market yet
        sold = float(delivered.sum())

        acc.month.update(
            plan=float(acc.plan.sum()),
            # What we sold is at once plan realisation, budget delivery and our market volume.
            sold=sold,
            declared=float(declared.sum()),
            direct=float(delivered_c[book.channel == DIRECT].sum()),
            market=float(demand_c[present].sum()),
            demand_ours=float(demand_c[ours].sum()),
            revenue=float(revenue_c.sum()),
            margin=float(margin_c.sum()),
            list_value=sold * val.price_per_tonne,
        )
        acc.ledger.append(
            {
                "month": month,
                "plan": acc.plan.copy(),
                "supply": acc.supply.copy(),
                "orders": line_orders,
                "sold": np.bincount(cols, weights=delivered, minlength=n_lines),
                "declared": np.bincount(cols, weights=declared, minlength=n_lines),
            }
        )
