"""Key performance indicators (docs/model.md, 7.19): per run and per month."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from salesim.model.cycle import COST_PARTS
from salesim.model.inputs.outcomes import OUTCOMES
from salesim.model.inputs.params import PAY_ROLES

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel

ROLES = ("sales", "product_manager", "regional_manager", "service_outlet")

#: Run-level KPIs, in the order ``SalesModel.kpis()`` returns them (declared in ``outcomes``).
RUN = tuple(OUTCOMES)

#: The KPIs a strategist reads first (report tables, forest plots, summaries).
HEADLINE = tuple(name for name, o in OUTCOMES.items() if o.headline)

#: Monthly series collected by the DataCollector.
MONTHLY = (
    "retention_rate",
    "mean_response_hours",
    "p90_response_hours",
    "direct_sales_rate",
    "plan_completion_rate",
    "budget_fulfilment_rate",
    "market_share",
    "satisfaction",
    "active_customers",
    "direct_customers",
    "requests",
    "churned",
    "queue_sales",
    "queue_product_manager",
    "market_volume",
    "wallet_share",
    "relationship",
    "knowledge",
    "operating_profit",
    "reorganisation_cost",
    "utilisation_sales",
)


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b > 0 else float("nan")


def from_accounts(t: dict[str, float]) -> dict[str, float]:
    """The KPIs that are sums and ratios of the accounts: a run's totals or one month's.

    One rule for the run's KPIs, the monthly series and the page's preview of month 1.
    """
    parts = {name: t[name] for name in COST_PARTS}
    staff = sum(parts[f"staff_cost_{role}"] for role in PAY_ROLES)
    return {
        "direct_sales_rate": _ratio(t["direct"], t["sold"]),
        "plan_completion_rate": _ratio(t["sold"], t["plan"]),
        "budget_fulfilment_rate": _ratio(t["sold"], t["declared"]),
        "market_share": _ratio(t["sold"], t["market"]),
        "revenue": t["revenue"],
        "gross_margin": t["margin"],
        "operating_profit": t["margin"] - staff - t["travel_cost"] - t["reorganisation_cost"],
        # The parts in order, so that they add up to the total exactly.
        "cost_to_serve": sum(parts.values()),
        **parts,
        "wallet_share": _ratio(t["sold"], t["demand_ours"]),
        "price_index": _ratio(t["revenue"], t["list_value"]),
    }


def _role_mask(model: SalesModel, role: str) -> np.ndarray:
    # The current organisation's people: after a reorganisation the old front line is gone.
    mask = np.zeros(len(model.station_role), dtype=bool)
    if role == "sales":
        mask[model.sales_stations] = True
    elif role == "service_outlet":
        mask[[o.station for o in model.outlets]] = True
    else:
        mask = model.station_role == role
    return mask


def responses(
    model: SalesModel, since: float = -np.inf
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(resolution hours, contacts, handoffs) of requests resolved that arrived after ``since``."""
    v = model.log.view
    done = (v("pending") == 0) & (v("arrival") >= since)
    return (v("resolution") - v("arrival"))[done], v("contacts")[done], v("handoffs")[done]


def run_kpis(model: SalesModel) -> dict[str, float]:
    """KPIs over the time simulated so far."""
    book = model.customers
    acc = model.acc
    t = acc.totals
    since = model.measure_from_day * model.hours_per_day
    hours, contacts, handoffs = responses(model, since)
    arrival = model.log.view("arrival")
    answered = np.isfinite(model.log.view("first_response")) & (arrival >= since)
    first = model.log.view("first_response")[answered] - arrival[answered]
    start = book.active_at_start
    months = max(model.month - model.acc.measure_from_month, 1)
    years = months / model.config.calendar.months_per_year
    retention = _ratio((start & book.active).sum(), start.sum())
    util = model.station_utilisation()
    out = {
        **from_accounts(t),
        "retention_rate": retention,
        "annual_churn_rate": 1 - retention ** (1 / years)
        if retention == retention
        else float("nan"),
        "mean_response_hours": float(hours.mean()) if len(hours) else float("nan"),
        "p90_response_hours": quantile(hours, 0.9),
        "mean_first_response_hours": float(first.mean()) if len(first) else float("nan"),
        "contacts_per_need": float(contacts.mean()) if len(contacts) else float("nan"),
        "handoffs_per_request": float(handoffs.mean()) if len(handoffs) else float("nan"),
        "customers_at_start": float(start.sum()),
        "front_line_staff": float(model.front_line_people()),
        **customer_value(model, float(start.sum())),
        "satisfaction": float(book.satisfaction[book.active].mean())
        if book.active.any()
        else float("nan"),
        "requests": float((arrival >= since).sum()),
        "open_requests_share": _ratio(
            ((model.log.view("pending") > 0) & (arrival >= since)).sum(), (arrival >= since).sum()
        ),
        "new_customers_won": t["won_direct"],
        "knowledge": _measured_mean(model, "knowledge"),
        "relationship": _measured_mean(model, "relationship"),
    }
    for role in ROLES:
        mask = _role_mask(model, role)
        out[f"utilisation_{role}"] = float(util[mask].mean()) if mask.any() else float("nan")
    return {name: out[name] for name in RUN}


def _measured_mean(model: SalesModel, series: str) -> float:
    """Mean of a monthly series over the measured months (after warm-up)."""
    values = model.datacollector.model_vars.get(series, [])[model.acc.measure_from_month :]
    values = [v for v in values if v == v]
    return float(np.mean(values)) if values else float("nan")


def customer_value(model: SalesModel, at_start: float) -> dict[str, float]:
    """The customers' lifetime value: mean per customer ever ours, total, per customer at start.

    Each customer's value is the discounted margin realised over the horizon plus, if still
    active, the retention-adjusted perpetuity of its recent monthly margin: m r / (1 + i - r)
    (Gupta, Lehmann & Stuart 2004). The mean over customers ever ours falls when a design wins
    many small customers even if the total rises, so a comparison reads the total, or the total
    per customer at the start (the same denominator in both arms of a paired comparison).
    """
    acc = model.acc
    book = model.customers
    if not acc.ever_ours.any():
        nan = float("nan")
        return {
            "customer_lifetime_value": nan,
            "customer_value_total": 0.0,
            "customer_value_per_start_customer": nan,
        }
    mpy = model.config.calendar.months_per_year
    i = (1 + model.config.value.discount_rate_per_year) ** (1 / mpy) - 1
    r = 1 - acc.hazard
    disc = (1 + i) ** (-(model.month - acc.measure_from_month))
    future = np.where(book.active, acc.margin_recent * r / (1 + i - r) * disc, 0.0)
    value = (acc.clv + future)[acc.ever_ours]
    total = float(value.sum())
    return {
        "customer_lifetime_value": float(value.mean()),
        "customer_value_total": total,
        "customer_value_per_start_customer": _ratio(total, at_start),
    }


def monthly(model: SalesModel) -> dict[str, float]:
    """The month just ended (ratios of volumes within the month, responses resolved in it)."""
    book = model.customers
    acc = model.acc
    m = acc.month
    hours = acc.resolved_hours  # what the month's experience took in
    start = book.active_at_start
    queues = model.queue_lengths()
    volumes = from_accounts(m)
    return {
        "retention_rate": _ratio((start & book.active).sum(), start.sum()),
        "mean_response_hours": float(hours.mean()) if len(hours) else float("nan"),
        "p90_response_hours": quantile(hours, 0.9),
        "direct_sales_rate": volumes["direct_sales_rate"],
        "plan_completion_rate": volumes["plan_completion_rate"],
        "budget_fulfilment_rate": volumes["budget_fulfilment_rate"],
        "market_share": volumes["market_share"],
        "satisfaction": float(book.satisfaction[book.active].mean())
        if book.active.any()
        else float("nan"),
        "active_customers": float(book.active.sum()),
        "direct_customers": float((book.channel == 0).sum()),
        "requests": float(len(hours)),
        "churned": m["churned"],
        "queue_sales": float(queues[_role_mask(model, "sales")].sum()),
        "queue_product_manager": float(queues[_role_mask(model, "product_manager")].sum()),
        "market_volume": m["market"],
        "wallet_share": volumes["wallet_share"],
        "relationship": float(book.customer_relationship()[book.active].mean())
        if book.active.any()
        else float("nan"),
        "knowledge": _mean_knowledge(model),
        "operating_profit": volumes["operating_profit"],
        "reorganisation_cost": volumes["reorganisation_cost"],
        "utilisation_sales": _month_utilisation(model, "sales"),
    }


def _month_utilisation(model: SalesModel, role: str) -> float:
    """Work the role's current stations did this month / their request hours available in it.

    The run's ``utilisation_<role>`` counts each station from its creation, so after a
    reorganisation it covers only the months since the switch; this series lets the same
    months be compared in both arms of a paired comparison.
    """
    work = model.stations.work_done
    before = np.zeros(len(work))
    before[: len(model.work_at_month_start)] = model.work_at_month_start
    model.work_at_month_start = work
    mask = _role_mask(model, role)
    days = np.clip(model.time - model.station_created, 0, model.days_per_month)
    available = model.stations.speed * model.stations.servers * model.hours_per_day * days
    return _ratio((work - before)[mask].sum(), available[mask].sum())


def quantile(values: np.ndarray, q: float) -> float:
    """``np.quantile(values, q)`` (its default, linear method), nan for no values.

    The same arithmetic on one partition of a copy: numpy's general version costs about as
    much as the rest of a month's KPIs.
    """
    n = len(values)
    if n == 0:
        return float("nan")
    at = (n - 1) * q
    lo = math.floor(at)
    if at >= n - 1:
        return float(np.max(values))
    part = np.partition(values, [lo, lo + 1, n - 1])
    if math.isnan(part[-1]):
        return float("nan")
    a, b, t = float(part[lo]), float(part[lo + 1]), at - lo
    # numpy's lerp: from the nearer end, so the result stays between a and b.
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def _mean_knowledge(model: SalesModel) -> float:
    """Volume-weighted knowledge of the lines the active customers buy."""
    book = model.customers
    vol = np.where(book.buys & book.active[:, None], book.volume, 0.0)
    total = vol.sum()
    return float((model.acc.knowledge * vol).sum() / total) if total > 0 else float("nan")
