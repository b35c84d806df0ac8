"""The monthly cycle: what customers experience, buy, feel and decide; what staff do outside.

Functional forms follow MODEL.md section 4; each mechanism can be switched off in the config.

- Satisfaction (Bolton 1998; Johnson, Anderson & Fornell 1995): perceived performance P mixes
  response time, one-stop service (1/contacts) and order fill; S_t = a S_{t-1} + (1-a) f(P, P-E)
  with f = clip(P + d (P - E), 0, 1) so that both the level of performance and its surprise
  count; E_t = g E_{t-1} + (1-g) P_t.
- Share of wallet and churn: logistic in satisfaction, relationship, failed orders and
  competitor pressure, less a switching cost (Bolton 1998; Rust, Lemon & Zeithaml 2004).
- Channel: direct customers fall back to distributors when dissatisfied or slowly served, less
  so if large (Taylor 2003); distributor customers convert to direct only when prospected
  (Anderson 1985).
- Field work: time not spent on requests goes to visits (relationship and information) and
  then prospecting. Travel per visit grows with the regions a person covers.
- Planning: the plan per line is built from the budget information staff hold. Where the
  informant sees only part of the customer (one line of several) or the relationship is thin,
  the record carries the customer's stated budget rather than what it will actually buy from
  us, and is noisier; records the planners cannot consolidate stay uninformed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from salesim.population import DIRECT, DISTRIBUTOR, ELSEWHERE, FUTURE, LOST, OPEN

if TYPE_CHECKING:
    from salesim.model import SalesModel


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
        self.margin_recent = np.zeros(n_customers)
        self.clv = np.zeros(n_customers)
        self.ever_ours = np.zeros(n_customers, dtype=bool)
        self.plan = np.zeros(n_lines)
        self.supply = np.zeros(n_lines)
        self.work_at_month_start: np.ndarray | None = None
        self.measure_from_month = 0
        self.reorganisation_cost_due = 0.0
        self.ledger: list[
            dict[str, np.ndarray | int]
        ] = []  # per month: plan, supply, orders, sold by line
        self.totals: dict[str, float] = dict.fromkeys(
            [
                "plan",
                "sold",
                "budget",
                "direct",
                "market",
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
                "staff_cost",
                "travel_cost",
                "reorganisation_cost",
                "demand_ours",
            ],
            0.0,
        )
        self.month: dict[str, float] = dict(self.totals)

    def start_measuring(self, active: np.ndarray) -> None:
        """Forget the warm-up: totals and lifetime values count from now."""
        self.totals = dict.fromkeys(self.totals, 0.0)
        self.clv[:] = 0.0
        self.ever_ours = active.copy()
        self.measure_from_month = len(self.ledger)


def start_year(model: SalesModel, year: int) -> None:
    """Customers state their budgets for the year: planned purchases per line."""
    cfg = model.config
    book = model.customers
    rng = model.streams["market.budget"]
    mpy = cfg.calendar.months_per_year
    trend = model.market.growth(year * mpy + mpy / 2)
    noise = np.exp(cfg.market.budget_noise * rng.standard_normal(book.volume.shape))
    book.budget = book.volume * trend * noise


def update_overload(model: SalesModel) -> None:
    """Service slows as a portfolio grows past its target (customer-lines per person)."""
    st = model.config.staff
    sales = model.sales_stations
    portfolio = model.portfolio_sizes()[sales]
    excess = np.maximum(0.0, portfolio / st.portfolio_target - 1.0)
    model.station_overload[sales] = 1.0 + st.overload_slope * excess


def _owners_per_line(model: SalesModel) -> np.ndarray:
    """For each (customer, line): how many of the customer's lines the same person owns."""
    owner = model.owner
    buys = model.customers.buys
    same = np.zeros(owner.shape)
    for k in range(owner.shape[1]):
        same += (owner == owner[:, [k]]) & buys[:, [k]]
    return np.where(buys, same, 0.0)


def information(model: SalesModel, same: np.ndarray | None = None) -> np.ndarray:
    """Completeness of what the informant(s) know of each customer's purchasing, 0-1."""
    book = model.customers
    same = _owners_per_line(model) if same is None else same
    seen = np.where(book.buys, same / np.maximum(book.n_lines, 1)[:, None], 0.0).sum(axis=1)
    return book.relationship * seen / np.maximum(book.n_lines, 1)


def plan_month(model: SalesModel, month: int) -> None:
    """Planners set the plan per line from the records staff hold, bounded by supply."""
    cfg = model.config
    book = model.customers
    acc = model.acc
    ours = book.active
    monthly_budget = book.budget / cfg.calendar.months_per_year
    expected = monthly_budget * book.wallet[:, None]
    if cfg.planning.enabled:
        # One record per (customer, informant): a customer with three reps is three records.
        same = _owners_per_line(model)
        held = same[ours]
        records = float((1.0 / held[held > 0]).sum())
        capacity = sum(p.records_per_month for p in model.planners)
        coverage = min(1.0, capacity / max(records, 1))
        q = information(model, same) * coverage
        eps = model.streams["planning.forecast"].standard_normal(book.volume.shape)
        sigma = cfg.planning.forecast_noise * (1 - q)[:, None]
        believed = q[:, None] * expected + (1 - q)[:, None] * monthly_budget
        forecast = believed * np.exp(sigma * eps - sigma**2 / 2)
    else:
        forecast = expected
    acc.plan = np.where(ours[:, None], forecast, 0.0).sum(axis=0)
    acc.supply = np.minimum(
        acc.plan * (1 + cfg.market.plan_safety), model.market.supply_capacity(month)
    )


def experience(model: SalesModel, t_end: float) -> None:
    """Fold needs resolved by ``t_end`` into each customer's response and contact components."""
    log = model.log
    lo, hi = log.scan_from, log.n
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
    count = np.bincount(cust, minlength=n)
    resp = np.bincount(cust, weights=np.exp(-hours / sat.response_scale_hours), minlength=n)
    contact = np.bincount(cust, weights=1.0 / cols["contacts"][idx], minlength=n)
    got = count > 0
    acc = model.acc
    acc.response_component[got] = resp[got] / count[got]
    acc.contact_component[got] = contact[got] / count[got]


def volumes(model: SalesModel, month: int) -> None:
    """Demand, orders to us, supply-limited deliveries, price and margin for the month."""
    cfg = model.config
    book = model.customers
    acc = model.acc
    mpy = cfg.calendar.months_per_year
    rng = model.streams["market.demand"]
    noise = np.exp(
        cfg.market.demand_noise * rng.standard_normal(book.volume.shape)
        - cfg.market.demand_noise**2 / 2
    )
    demand = book.volume / mpy * model.market.demand_index(month) * noise
    present = book.channel != FUTURE  # not in the market yet
    ours = book.active
    orders = np.where(ours[:, None], demand * book.wallet[:, None], 0.0)
    line_orders = orders.sum(axis=0)
    fill_line = np.minimum(1.0, acc.supply / np.maximum(line_orders, 1e-12))
    delivered = orders * fill_line[None, :]
    ordered_c = orders.sum(axis=1)
    delivered_c = delivered.sum(axis=1)
    acc.fill = np.where(ordered_c > 0, delivered_c / np.maximum(ordered_c, 1e-12), 1.0)
    acc.failed = 1.0 - acc.fill

    val = cfg.value
    pressure = model.market.pressure(month)
    scarcity = np.maximum(0.0, line_orders / np.maximum(acc.supply, 1e-12) - 1.0)
    price = (
        val.price_per_tonne
        * (1 - val.pressure_discount * pressure * (1 - book.satisfaction))[:, None]
    )
    price = price * (1 + val.scarcity_premium * scarcity)[None, :]
    price = np.where(
        (book.channel == DISTRIBUTOR)[:, None], price * (1 - val.distributor_discount), price
    )
    revenue_c = (delivered * price).sum(axis=1)
    margin_c = revenue_c - val.cost_per_tonne * delivered_c
    disc = (1 + val.discount_rate_per_year) ** (-(month + 1 - acc.measure_from_month) / mpy)
    acc.clv += margin_c * disc
    acc.margin_recent = np.where(ours, 0.7 * acc.margin_recent + 0.3 * margin_c, 0.0)
    budget = np.where(ours[:, None], book.budget / mpy, 0.0).sum()

    m = dict.fromkeys(acc.totals, 0.0)
    m.update(
        plan=float(acc.plan.sum()),
        # What we sold is at once plan realisation, budget delivery and our market volume.
        sold=float(delivered.sum()),
        budget=float(budget),
        direct=float(delivered_c[book.channel == DIRECT].sum()),
        market=float(demand[present].sum()),
        demand_ours=float(np.where(ours[:, None], demand, 0.0).sum()),
        revenue=float(revenue_c.sum()),
        margin=float(margin_c.sum()),
        list_value=float(delivered.sum() * val.price_per_tonne),
    )
    acc.month = m
    acc.ledger.append(
        {
            "month": month,
            "plan": acc.plan.copy(),
            "supply": acc.supply.copy(),
            "orders": line_orders,
            "sold": delivered.sum(axis=0),
        }
    )


def satisfaction(model: SalesModel) -> None:
    """Expectation-disconfirmation update with anchoring."""
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


def field_work(model: SalesModel, month: int) -> None:
    """Visits to the portfolio (relationship, information), then prospecting with what is left."""
    cfg = model.config
    st = cfg.staff
    book = model.customers
    acc = model.acc
    sales = model.sales_stations
    work = model.stations.work_done
    start = np.zeros(len(work))
    if acc.work_at_month_start is not None:
        start[: len(acc.work_at_month_start)] = acc.work_at_month_start
    done = (work - start)[sales]
    acc.work_at_month_start = work.copy()
    field = np.maximum(0.0, model.hours_per_day * model.days_per_month - done)
    covered = np.array([len(s.regions) for s in model.sales_staff], dtype=float)
    cost = st.visit_hours + st.travel_hours_per_region * covered**st.travel_region_exponent

    ours = book.active
    target = np.array([cfg.relationship.visits_per_month[s] for s in ("key", "medium", "small")])[
        book.segment
    ]
    same = _owners_per_line(model)
    valid = ours[:, None] & book.buys & (model.owner >= 0)
    owner = model.owner[valid]
    per_customer = (target[:, None] / np.maximum(same, 1))[valid]
    required = np.bincount(owner, weights=per_customer, minlength=len(model.stations))[sales]
    frac = np.ones(len(model.stations))
    frac[sales] = np.where(
        required > 0, np.minimum(1.0, field / np.maximum(required * cost, 1e-12)), 1.0
    )
    rows = np.nonzero(valid)[0]
    visits = np.bincount(
        rows, weights=frac[owner] * target[rows] / book.n_lines[rows], minlength=book.size
    )
    rel = cfg.relationship
    book.relationship = np.where(
        ours,
        np.clip(book.relationship * (1 - rel.decay) + rel.gain_per_visit * visits, 0.0, 1.0),
        book.relationship,
    )
    acc.month["visits"] = float(visits.sum())
    travel_per_visit = cost - st.visit_hours
    visits_made = frac[sales] * required
    acc.month["travel_hours"] = float((visits_made * travel_per_visit).sum())

    if not cfg.prospecting.enabled:
        return
    spare = np.maximum(0.0, field - required * cost)
    attempts_staff = spare / cost
    acc.month["travel_hours"] += float((attempts_staff * travel_per_visit).sum())
    groups = model.prospect_groups
    rng = model.streams["prospecting"]
    per_group = np.bincount(
        groups, weights=attempts_staff, minlength=model.prospect_member.shape[1]
    )
    eligible = (book.channel == DISTRIBUTOR) | (book.channel == OPEN)
    ch = cfg.channel
    p_convert = sigmoid(
        ch.convert_intercept
        + ch.convert_log_volume * book.log_volume
        + ch.convert_satisfaction * (book.satisfaction - 0.5)
    )
    p_convert = np.where(book.channel == OPEN, cfg.prospecting.new_direct_prob, p_convert)
    if not cfg.channel.enabled:
        p_convert = np.where(book.channel == DISTRIBUTOR, 0.0, p_convert)
    won_new: list[np.ndarray] = []
    total_attempts = 0
    for g, attempts in enumerate(per_group):
        cand = np.flatnonzero(model.prospect_member[:, g] & eligible)
        k = int(attempts) + int(rng.random() < attempts - int(attempts))
        if k == 0 or len(cand) == 0:
            continue
        total_attempts += k
        hit = np.unique(cand[rng.integers(0, len(cand), k)])
        win = hit[rng.random(len(hit)) < p_convert[hit]]
        is_new = book.channel[win] == OPEN
        book.channel[win] = DIRECT
        won_new.append(win[is_new])
        eligible[win] = False
        acc.month["converted"] += float((~is_new).sum())
    acc.month["prospect_attempts"] = float(total_attempts)
    if won_new:
        new = np.concatenate(won_new)
        acc.month["won_direct"] = float(len(new))
        _welcome(model, new)


def _welcome(model: SalesModel, customers: np.ndarray) -> None:
    """Customers who start buying from us get owners and start from neutral state."""
    if not len(customers):
        return
    book = model.customers
    book.tenure_months[customers] = 0
    unowned = customers[(model.owner[customers] < 0).all(axis=1)]
    if len(unowned):
        model.design.assign(model, np.sort(unowned))


def settle_new(model: SalesModel, month: int) -> None:
    """New customers nobody prospected settle with a distributor (ours) or a competitor."""
    book = model.customers
    u = model.streams["prospecting.settle"].random(book.size)
    closing = (book.channel == OPEN) & (book.open_until_month <= month)
    to_dist = closing & (u < model.config.prospecting.distributor_share)
    book.channel[to_dist] = DISTRIBUTOR
    book.channel[closing & ~to_dist] = ELSEWHERE
    _welcome(model, np.flatnonzero(to_dist))


def wallet(model: SalesModel, month: int) -> None:
    """Share of wallet moves towards a logistic target."""
    cfg = model.config.wallet
    book = model.customers
    pressure = model.market.pressure(month)
    target = sigmoid(
        cfg.intercept
        + cfg.satisfaction * (book.satisfaction - 0.5)
        + cfg.relationship * (book.relationship - 0.5)
        - cfg.competitor * pressure
    )
    book.wallet = np.where(
        book.active, book.wallet + cfg.adjustment * (target - book.wallet), book.wallet
    )


def churn_and_channel(model: SalesModel, month: int) -> None:
    """Monthly churn hazard, then fallback of direct customers to distributors."""
    cfg = model.config
    book = model.customers
    acc = model.acc
    ours = book.active
    u = model.streams["churn"].random(book.size)
    v = model.streams["channel"].random(book.size)
    c = cfg.churn
    switching = np.array([c.switching_cost[s] for s in ("key", "medium", "small")])[book.segment]
    logit = (
        c.intercept
        - c.satisfaction * (book.satisfaction - 0.5)
        - c.relationship * (book.relationship - 0.5)
        + c.failed_orders * acc.failed
        + c.competitor * model.market.pressure(month)
        - switching
    )
    acc.hazard = np.where(ours, sigmoid(logit), 0.0) if c.enabled else np.zeros(book.size)
    leave = ours & (u < acc.hazard)
    book.channel[leave] = LOST
    acc.month["churned"] = float(leave.sum())

    if cfg.channel.enabled:
        ch = cfg.channel
        resp = np.where(np.isnan(acc.response_component), np.exp(-1.0), acc.response_component)
        slowness = -np.log(np.maximum(resp, 1e-12)) - 1.0
        p_fall = sigmoid(
            ch.fallback_intercept
            - ch.fallback_satisfaction * (book.satisfaction - 0.5)
            + ch.fallback_response * slowness
            - ch.fallback_log_volume * book.log_volume
        )
        fall = (book.channel == DIRECT) & (v < p_fall)
        book.channel[fall] = DISTRIBUTOR
        acc.month["fallbacks"] = float(fall.sum())
    book.tenure_months[book.active] += 1


def costs(model: SalesModel) -> None:
    """Cost to serve this month: every person on the pay-roll, and travel to customers."""
    cfg = model.config
    pay = cfg.costs.staff_cost_per_year
    st = cfg.staff
    heads = {
        "sales": len(model.sales_staff),
        "service_outlet": sum(o.servers for o in model.outlets),
        "product_manager": st.product_managers_per_line * len(cfg.population.lines),
        "regional_manager": st.regional_managers_per_region * cfg.population.regions,
        "planner": st.planners,
    }
    month = model.acc.month
    month["staff_cost"] = sum(pay[role] * n for role, n in heads.items()) / (
        cfg.calendar.months_per_year
    )
    month["travel_cost"] = month["travel_hours"] * cfg.costs.travel_cost_per_hour
    month["reorganisation_cost"] = model.acc.reorganisation_cost_due
    model.acc.reorganisation_cost_due = 0.0


def month_end(model: SalesModel, month: int) -> None:
    """The monthly cycle, in order."""
    acc = model.acc
    t_end = model.time * model.hours_per_day
    experience(model, t_end)
    volumes(model, month)
    acc.ever_ours |= model.customers.active
    satisfaction(model)
    field_work(model, month)
    costs(model)
    wallet(model, month)
    churn_and_channel(model, month)
    settle_new(model, month)
    acc.ever_ours |= model.customers.active
    update_overload(model)
    for k, v in acc.month.items():
        acc.totals[k] += v
