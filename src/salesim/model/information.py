"""What the organisation knows of each customer's purchasing, per (customer, line, informant).

The informant for a (customer, line) is the person who owns that line of that customer: a rep
under the product design, the customer manager otherwise. A line owned by someone else is known
only through that person, so the planners' record of a line is as good as its owner's knowledge.
The owner knows its own line at a level set by the relationship; seeing the customer's other
lines helps, because a customer splits its purchases across lines and suppliers as a whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from salesim.model.cycle import owners_per_line

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel


def seen_share(model: SalesModel) -> np.ndarray:
    """Per (customer, line): share of the customer's volume whose lines the line's owner owns."""

    def compute(rows: np.ndarray | None) -> np.ndarray:
        at = slice(None) if rows is None else rows
        book = model.customers
        owner = model.owner[at]
        share = book.volume_share[at]
        seen = np.zeros(owner.shape)
        for k in range(owner.shape[1]):
            seen += np.where(owner == owner[:, k : k + 1], share[:, k : k + 1], 0.0)
        return np.where(book.buys[at], seen, 0.0)

    return model.by_owner("seen_share", compute)


def knowledge(model: SalesModel) -> np.ndarray:
    """Per (customer, line), 0-1: how well the line's owner knows what the customer will buy."""
    info = model.config.information
    book = model.customers

    def whole_view(rows: np.ndarray | None) -> np.ndarray:
        # The part that depends on owners only: 0 where nobody owns the line.
        at = slice(None) if rows is None else rows
        whole = 1.0 - info.whole_customer_weight * (1.0 - seen_share(model)[at])
        return np.where(book.buys[at] & (model.owner[at] >= 0), whole, 0.0)

    own = np.clip(info.base + info.relationship_effect * book.relationship, 0.0, 1.0)
    return own * model.by_owner("knowledge.whole_view", whole_view)


def records(model: SalesModel) -> float:
    """Demand records the planners consolidate: one per (active customer, informant)."""

    def count() -> float:
        same = owners_per_line(model)[model.customers.active]
        return float((1.0 / same[same > 0]).sum())

    return model.by_portfolio("records", count)
