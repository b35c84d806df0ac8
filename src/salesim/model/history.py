"""Each customer's story: its monthly state, owners, requests and, if it left, why.

Agent state lives in columns (``model.customers``) for speed; this recorder keeps a monthly
snapshot of the columns a story needs, and the events that change a customer's situation
(new owners, leaving), so that ``Customer.history()`` can answer "why did this customer leave?".
Months are numbered from 1 here, as in the report and on the browser page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from salesim.model.inputs.codes import CHANNELS
from salesim.model.inputs.params import KINDS

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel

#: Monthly columns kept per customer.
STATES = ("satisfaction", "relationship", "wallet_share", "knowledge", "churn_hazard")


class History:
    """Monthly snapshots and events for every customer slot."""

    def __init__(self) -> None:
        self.months: list[int] = []
        self.states: dict[str, list[np.ndarray]] = {name: [] for name in STATES}
        self.channel: list[np.ndarray] = []
        self.owner_events: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.departures: dict[int, tuple[int, dict[str, float]]] = {}

    def record(self, model: SalesModel, month: int) -> None:
        """Snapshot the end of ``month`` (0-based)."""
        book = model.customers
        acc = model.acc
        values = {
            "satisfaction": book.satisfaction,
            "relationship": book.customer_relationship(),
            "wallet_share": book.wallet,
            "knowledge": np.einsum("ij,ij->i", book.volume_share, acc.knowledge),
            "churn_hazard": acc.hazard,
        }
        self.months.append(month)
        for name in STATES:
            self.states[name].append(values[name].astype(np.float32))
        self.channel.append(book.channel.copy())

    def owners_changed(
        self, month: int, customer: np.ndarray, line: np.ndarray, old: np.ndarray, new: np.ndarray
    ) -> None:
        """Lines of customers that got a new owner as ``month`` (0-based) began."""
        if len(customer):
            self.owner_events.append((month, customer, line, old, new))

    def left(self, month: int, customers: np.ndarray, terms: dict[str, np.ndarray]) -> None:
        """Customers who left in ``month`` and the terms of their churn hazard's logit."""
        for i, c in enumerate(customers.tolist()):
            self.departures[c] = (month, {k: float(v[i]) for k, v in terms.items()})

    def story(self, model: SalesModel, slot: int) -> dict[str, Any]:
        """Everything recorded about one customer (see ``Customer.history``)."""
        lines = list(model.config.population.lines)
        months = pd.DataFrame(
            {
                "month": np.asarray(self.months, dtype=int) + 1,
                **{name: [float(a[slot]) for a in self.states[name]] for name in STATES},
                "channel": [CHANNELS[int(a[slot])] for a in self.channel],
            }
        )
        owners = []
        for month, cust, line, old, new in self.owner_events:
            for i in np.flatnonzero(cust == slot).tolist():
                owners.append(
                    {
                        "month": month + 1,
                        "line": lines[int(line[i])],
                        "from": _person(model, int(old[i])),
                        "to": _person(model, int(new[i])),
                    }
                )
        left = None
        if slot in self.departures:
            month, terms = self.departures[slot]
            reasons = sorted(
                ((k, v) for k, v in terms.items() if k != "intercept"), key=lambda kv: -kv[1]
            )
            left = {"month": month + 1, "logit_terms": dict(reasons), "main_reason": reasons[0][0]}
        return {
            "months": months,
            "requests": _requests(model, slot),
            "owners": pd.DataFrame(owners, columns=["month", "line", "from", "to"]),
            "left": left,
        }


def _person(model: SalesModel, station: int) -> str:
    if station < 0:
        return "nobody"
    return f"{model.station_role[station]} #{station}"


def _requests(model: SalesModel, slot: int) -> pd.DataFrame:
    v = model.log.view
    rows = np.flatnonzero(v("customer") == slot)
    arrival = v("arrival")[rows]
    done = v("pending")[rows] == 0
    kinds = np.asarray(KINDS)
    lines = np.asarray(model.config.population.lines)
    return pd.DataFrame(
        {
            "request_id": rows,
            "day": (arrival // model.hours_per_day).astype(int) + 1,
            "kind": kinds[v("kind")[rows]],
            "line": lines[v("line")[rows]],
            "response_hours": np.where(done, v("resolution")[rows] - arrival, np.nan),
            "first_response_hours": v("first_response")[rows] - arrival,
            "contacts": v("contacts")[rows],
            "handoffs": v("handoffs")[rows],
        }
    )
