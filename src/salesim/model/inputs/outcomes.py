"""Every KPI declared once: its label, unit, kind and direction (better up, better down or neither).

The report, its verdict, robustness and regret, the plots and the browser page all read a KPI's
direction and unit from here, never from its name (EMA Workbench's outcomes carry a kind the same
way). ``kpis.RUN`` and ``kpis.HEADLINE`` are derived from this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Colours for better / worse / no detectable difference, used everywhere (report and browser).
BETTER_COLOUR = "#1b7837"
WORSE_COLOUR = "#b2182b"
NEUTRAL_COLOUR = "#6b6b6b"

Kind = Literal["rate", "hours", "money", "count", "ratio", "index"]


@dataclass(frozen=True)
class Outcome:
    """A KPI: ``direction`` +1 if higher is better, -1 if lower is better, 0 if neither."""

    name: str
    label: str
    unit: str
    kind: Kind
    direction: int
    headline: bool = False
    description: str = ""

    def better(self, difference: float) -> bool | None:
        """Whether a difference (design - baseline) is an improvement; None if no direction."""
        if self.direction == 0 or difference == 0 or difference != difference:
            return None
        return (difference > 0) == (self.direction > 0)


def _o(name, label, unit, kind, direction, headline=False, description=""):
    return Outcome(name, label, unit, kind, direction, headline, description)


_TABLE = (
    _o("retention_rate", "Retention", "share", "rate", +1, True,
       "customers active at the start still buying from us at the end / active at the start"),
    _o("annual_churn_rate", "Annual churn", "share/year", "rate", -1, False,
       "1 - retention ** (1 / years)"),
    _o("mean_response_hours", "Mean response", "business hours", "hours", -1, True,
       "request arrival to full resolution"),
    _o("p90_response_hours", "p90 response", "business hours", "hours", -1, True,
       "90th percentile of arrival to full resolution"),
    _o("mean_first_response_hours", "First response", "business hours", "hours", -1, False,
       "arrival to the start of the first front-line job"),
    _o("direct_sales_rate", "Direct-sales rate", "share", "rate", +1, True,
       "volume sold directly / total volume we sold"),
    _o("plan_completion_rate", "Plan completion", "share", "rate", +1, True,
       "realised sales / planned sales, summed over months and lines"),
    _o("budget_fulfilment_rate", "Budget fulfilment", "share", "rate", +1, True,
       "volume delivered / volume customers' budgets declared to us (the case's 预算兑现率)"),
    _o("market_share", "Market share", "share", "rate", +1, True,
       "our volume / market volume"),
    _o("contacts_per_need", "Contacts per need", "people", "ratio", -1, True,
       "distinct staff a customer dealt with per need (the customer's cost)"),
    _o("handoffs_per_request", "Handoffs per request", "handoffs", "ratio", -1, True,
       "internal handoffs per request"),
    _o("revenue", "Revenue", "currency", "money", +1, False, "sales revenue"),
    _o("gross_margin", "Gross margin", "currency", "money", +1, True,
       "revenue - cost of goods sold"),
    _o("operating_profit", "Operating profit", "currency", "money", +1, True,
       "gross margin - cost to serve (staff, travel, reorganisation)"),
    _o("cost_to_serve", "Cost to serve", "currency", "money", -1, False,
       "staff, travel and one-off reorganisation costs over the measured horizon: the sum of "
       "the seven parts below"),
    _o("staff_cost_sales", "Staff cost: sales staff", "currency", "money", -1, False,
       "pay-roll of the front line (reps or customer managers, field staff) over the measured "
       "horizon"),
    _o("staff_cost_product_manager", "Staff cost: product managers", "currency", "money", -1,
       False, "pay-roll of the product managers over the measured horizon"),
    _o("staff_cost_regional_manager", "Staff cost: regional managers", "currency", "money", -1,
       False, "pay-roll of the regional managers over the measured horizon"),
    _o("staff_cost_planner", "Staff cost: planners", "currency", "money", -1, False,
       "pay-roll of the planning & information department over the measured horizon"),
    _o("staff_cost_service_outlet", "Staff cost: service outlets", "currency", "money", -1,
       False, "pay-roll of the regional service outlets over the measured horizon"),
    _o("travel_cost", "Travel cost", "currency", "money", -1, False,
       "travel to customers (visits and prospecting) over the measured horizon"),
    _o("reorganisation_cost", "Reorganisation cost", "currency", "money", -1, False,
       "one-off cost of appointing a new front line, booked in the month of the reorganisation "
       "(day 0 when the start design differs) within the measured horizon"),
    _o("wallet_share", "Share of wallet", "share", "rate", +1, False,
       "our deliveries / what our customers bought from every supplier"),
    _o("customers_at_start", "Customers at start", "customers", "count", 0, False,
       "customers buying from us at the start of the measured horizon"),
    _o("front_line_staff", "Front-line staff", "people", "count", 0, False,
       "reps or customer managers, field staff and outlet staff at the end of the horizon"),
    _o("price_index", "Price index", "ratio to list", "index", +1, True,
       "revenue / list value of what we sold"),
    _o("customer_lifetime_value", "Customer lifetime value", "currency", "money", +1, True,
       "mean discounted margin per customer ever ours (Gupta, Lehmann & Stuart 2004): winning "
       "many small customers lowers it even when the total rises; compare the total"),
    _o("customer_value_total", "Customers' lifetime value, total", "currency", "money", +1,
       False, "sum over customers ever ours of their lifetime value (the mean times their "
       "number)"),
    _o("customer_value_per_start_customer", "Lifetime value per customer at start", "currency",
       "money", +1, False, "total customers' lifetime value / customers ours at the start of the "
       "measured horizon (one denominator for both arms of a comparison)"),
    _o("satisfaction", "Satisfaction", "0-1", "index", +1, False,
       "mean satisfaction of active customers at the end"),
    _o("requests", "Requests", "requests", "count", 0, False, "requests raised"),
    _o("open_requests_share", "Requests open at the end", "share", "rate", -1, False,
       "share of the requests raised in the measured horizon still open at its end: well above "
       "a few per cent, a queue has not settled and response times grow with the horizon"),
    _o("new_customers_won", "New customers won", "customers", "count", +1, False,
       "new customers won direct by prospecting"),
    _o("knowledge", "Knowledge of customers", "0-1", "index", 0, False,
       "how well each line's owner knows what the customer will buy, volume-weighted, mean of "
       "the measured months"),
    _o("relationship", "Relationship", "0-1", "index", 0, False,
       "customers' relationship with the people who own their lines, mean of the measured "
       "months"),
    _o("utilisation_sales", "Utilisation: sales staff", "share", "rate", 0, False,
       "request work / request hours available"),
    _o("utilisation_product_manager", "Utilisation: product managers", "share", "rate", 0, False,
       "request work / request hours available"),
    _o("utilisation_regional_manager", "Utilisation: regional managers", "share", "rate", 0,
       False, "request work / request hours available"),
    _o("utilisation_service_outlet", "Utilisation: service outlets", "share", "rate", 0, False,
       "request work / request hours available"),
)  # fmt: skip

OUTCOMES: dict[str, Outcome] = {o.name: o for o in _TABLE}


def outcome(name: str) -> Outcome:
    """The declared KPI ``name``; an information-only entry for anything else (e.g. a series)."""
    found = OUTCOMES.get(name)
    if found is not None:
        return found
    return Outcome(name, name.rsplit(".", 1)[-1].replace("_", " "), "", "ratio", 0)
