"""The monthly cycle: the running accounts, what customers experienced, and the mechanisms in order.

The mechanisms themselves (``salesim.model.mechanisms``) are swappable components; this module holds
the interface they implement (``Mechanism``, ``@register_mechanism``, ``make_mechanisms``) and what
they share: the accounts (``Accumulators``), the experience of requests resolved in the month,
cost to serve, and the order in which the cycle runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from salesim.model.inputs import registry
from salesim.model.inputs.params import PAY_ROLES, ConfigError
from salesim.model.inputs.registry import END_SLOTS, SLOTS, START_SLOTS

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel

TOTALS = (
    "plan",
    "sold",
    "declared",
    "direct",
    "market",
    "demand_ours",
    "revenue",
    "margin",
    "list_value",
    "visits",
    "prospect_attempts",
    "won_direct",
    "churned",
    "fallbacks",
    "converted",
    "travel_hours",
    *(f"staff_cost_{role}" for role in PAY_ROLES),
    "travel_cost",
    "reorganisation_cost",
)
#: The parts of cost to serve, in the order they are summed (``kpis.from_accounts``).
COST_PARTS = (*(f"staff_cost_{role}" for role in PAY_ROLES), "travel_cost", "reorganisation_cost")


class Mechanism:
    """Base of a monthly mechanism. Subclasses set ``slot`` and ``name``."""

    slot: ClassVar[str] = ""
    name: ClassVar[str] = ""
    #: Whether it runs while the start settles (mechanisms that change who our customers are
    #: or which channel they buy through do not).
    while_settling: ClassVar[bool] = True

    def setup(self, model: SalesModel) -> None:
        """Called once when the model is built, before the first month starts."""

    def year_start(self, model: SalesModel, year: int) -> None:
        """Called at the start of each business year (before that year's first month starts)."""

    def month_start(self, model: SalesModel, month: int) -> None:
        """Called as ``month`` starts (start slots)."""

    def month_end(self, model: SalesModel, month: int) -> None:
        """Called as ``month`` ends (end slots)."""


def register_mechanism(cls: type[Mechanism]) -> type[Mechanism]:
    """Class decorator: make a mechanism available as ``model.mechanisms.<slot>: <name>``."""
    registry.add_mechanism(cls.slot, cls.name, cls)
    return cls


def make_mechanisms(
    names: dict[str, str], given: dict[str, Mechanism] | None = None
) -> dict[str, Mechanism]:
    """One instance per slot: ``given`` objects first, else the registered ``names``."""
    given = dict(given or {})
    unknown = set(given) - set(SLOTS)
    if unknown:
        raise ConfigError(
            f"mechanisms: unknown slot(s) {', '.join(sorted(unknown))}; slots: {', '.join(SLOTS)}"
        )
    out: dict[str, Mechanism] = {}
    for slot in SLOTS:
        if slot in given:
            out[slot] = given[slot]
            continue
        problem = registry.unknown_mechanism(slot, names[slot])
        if problem:
            raise ConfigError(f"model.mechanisms.{slot}: {problem}")
        out[slot] = registry.mechanism_class(slot, names[slot])()
    return out


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


class Accumulators:
    """Running totals for KPIs and per-customer memory between months."""

    def __init__(self, n_customers: int, n_lines: int) -> None:
        self.response_component = np.full(n_customers, np.nan)
        self.contact_component = np.full(n_customers, np.nan)
        self.fill = np.ones(n_customers)
        self.failed = np.zeros(n_customers)
        self.hazard = np.zeros(n_customers)
        #: The churn mechanism's logit terms of this month's hazard, per customer (name -> array).
        self.churn_terms: dict[str, np.ndarray] = {}
        self.margin_recent = np.zeros(n_customers)
        self.clv = np.zeros(n_customers)
        self.ever_ours = np.zeros(n_customers, dtype=bool)
        self.knowledge = np.zeros((n_customers, n_lines))
        self.plan_cl = np.zeros((n_customers, n_lines))  # planned volume per record, this month
        self.orders_cl: np.ndarray | None = None  # last month's orders per (customer, line)
        self.orders_month = -1  # the month orders_cl belongs to
        self.plan = np.zeros(n_lines)
        self.supply = np.zeros(n_lines)
        self.coverage = 1.0  # share of records the planners consolidated this month
        self.work_at_month_start: np.ndarray | None = None
        self.measure_from_month = 0
        self.reorganisation_cost_due = 0.0
        self.resolved_hours = np.zeros(0)  # of the needs resolved in the month just ended
        #: Per month: plan, supply, orders, sold and declared by line.
        self.ledger: list[dict[str, np.ndarray | int]] = []
        self.totals: dict[str, float] = dict.fromkeys(TOTALS, 0.0)
        self.month: dict[str, float] = dict(self.totals)

    def start_measuring(self, active: np.ndarray) -> None:
        """Forget the warm-up: totals and lifetime values count from now."""
        self.totals = dict.fromkeys(self.totals, 0.0)
        self.clv[:] = 0.0
        self.ever_ours = active.copy()
        self.measure_from_month = len(self.ledger)


def owners_per_line(model: SalesModel) -> np.ndarray:
    """For each (customer, line): how many of the customer's lines the same person owns.

    Owners change only when customers are assigned, so the answer is kept until they do.
    """

    def compute(rows: np.ndarray | None) -> np.ndarray:
        at = slice(None) if rows is None else rows
        owner = model.owner[at]
        buys = model.customers.buys[at]
        same = np.zeros(owner.shape)
        for k in range(owner.shape[1]):
            same += (owner == owner[:, k : k + 1]) & buys[:, k : k + 1]
        return np.where(buys, same, 0.0)

    return model.by_owner("owners_per_line", compute)


def update_overload(model: SalesModel) -> None:
    """Service slows as a portfolio grows past its target (customer-lines per person)."""
    staff = model.config.staff
    sales = model.sales_stations
    portfolio = model.by_portfolio("portfolio_sizes", model.portfolio_sizes)[sales]
    excess = np.maximum(0.0, portfolio / staff.portfolio_target - 1.0)
    model.station_overload[sales] = 1.0 + staff.overload_slope * excess


def experience(model: SalesModel, t_end: float) -> None:
    """Fold needs resolved by ``t_end`` into each customer's response and contact components.

    The resolution hours of those needs are kept for the month's KPIs (``acc.resolved_hours``).
    """
    log = model.log
    lo, hi = log.scan_from, log.n
    model.acc.resolved_hours = np.zeros(0)
    if hi <= lo:
        return
    cols = log.cols
    pending = cols["pending"][lo:hi]
    res = cols["resolution"][lo:hi]
    counted = cols["counted"][lo:hi]
    done = (pending == 0) & (res <= t_end) & ~counted
    idx = np.flatnonzero(done) + lo
    cols["counted"][idx] = True
    not_yet = np.flatnonzero(~cols["counted"][lo:hi])
    log.scan_from = lo + (int(not_yet[0]) if len(not_yet) else hi - lo)
    if not len(idx):
        return
    n = model.customers.size
    sat = model.config.satisfaction
    cust = cols["customer"][idx]
    hours = cols["resolution"][idx] - cols["arrival"][idx]
    model.acc.resolved_hours = hours
    count = np.bincount(cust, minlength=n)
    resp = np.bincount(cust, weights=np.exp(-hours / sat.response_scale_hours), minlength=n)
    contact = np.bincount(cust, weights=1.0 / cols["contacts"][idx], minlength=n)
    got = count > 0
    acc = model.acc
    acc.response_component[got] = resp[got] / count[got]
    acc.contact_component[got] = contact[got] / count[got]


def headcounts(model: SalesModel) -> dict[str, int]:
    """People on the pay-roll now, by role (``costs.staff_cost_per_year``'s roles)."""
    cfg = model.config
    staff = cfg.staff
    return {
        "sales": len(model.sales_staff) + len(model.field_staff),
        "product_manager": staff.product_managers_per_line * len(cfg.population.lines),
        "regional_manager": staff.regional_managers_per_region * cfg.population.regions,
        "planner": staff.planners,
        "service_outlet": sum(o.servers for o in model.outlets),
    }


def costs(model: SalesModel) -> None:
    """Cost to serve this month, by part: each role's pay-roll, and travel to customers."""
    cfg = model.config
    pay = cfg.costs.staff_cost_per_year
    month = model.acc.month
    for role, n in headcounts(model).items():
        month[f"staff_cost_{role}"] = pay[role] * n / cfg.calendar.months_per_year
    month["travel_cost"] = month["travel_hours"] * cfg.costs.travel_cost_per_hour
    month["reorganisation_cost"] = model.acc.reorganisation_cost_due
    model.acc.reorganisation_cost_due = 0.0


def month_end(model: SalesModel, month: int, now: float | None = None) -> None:
    """The end of ``month``: experience, then each end slot in order, then the accounts.

    ``now`` is the business hour the month ends (the model's clock unless given).
    """
    acc = model.acc
    acc.month = dict.fromkeys(TOTALS, 0.0)
    experience(model, model.time * model.hours_per_day if now is None else now)
    for slot in END_SLOTS:
        mechanism = model.mechanisms[slot]
        if model.settling and not mechanism.while_settling:
            continue
        mechanism.month_end(model, month)
        if slot == "sales":  # everyone who bought this month, before any of them leaves
            acc.ever_ours |= model.customers.active
    acc.ever_ours |= model.customers.active
    update_overload(model)
    costs(model)
    for k, v in acc.month.items():
        acc.totals[k] += v


def year_start(model: SalesModel, year: int) -> None:
    """A business year starts: every mechanism may renew what it keeps by the year."""
    for slot in END_SLOTS + START_SLOTS:
        model.mechanisms[slot].year_start(model, year)


def month_start(model: SalesModel, month: int) -> None:
    """``month`` starts: declarations (call-offs), then the plan and supply."""
    for slot in START_SLOTS:
        model.mechanisms[slot].month_start(model, month)
