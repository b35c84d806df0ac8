"""Degenerate configurations in which the request network reduces to textbook queues."""

from __future__ import annotations

from salesim import load_config

HOURS = 8.0
DAYS_PER_YEAR = 252


def queue_config(arrival_per_hour: float, *, customers: int = 200, days: int = 2000, **overrides):
    """One region, one line, one kind of need, every behavioural mechanism off.

    Each customer raises Poisson needs at the same rate; with satisfaction and volume effects
    switched off the superposition is a Poisson stream of ``arrival_per_hour``.
    """
    per_customer_year = arrival_per_hour * HOURS * DAYS_PER_YEAR / customers
    base = {
        "model.horizon_days": days,
        "model.population.customers": customers,
        "model.population.regions": 1,
        "model.population.lines": ["A"],
        "model.population.multi_line_share": 0.0,
        "model.population.new_customers_per_year": 0.0,
        "model.population.direct_share": 1.0,
        "model.requests.needs_per_customer_year": per_customer_year,
        "model.requests.volume_elasticity": 0.0,
        "model.requests.satisfaction_effect": 0.0,
        "model.requests.kind_mix": {
            "order": 1.0,
            "price_enquiry": 0.0,
            "technical": 0.0,
            "logistics": 0.0,
        },
        "model.requests.pm_bound": {"order": 0.0},
        "model.requests.escalation_prob": 0.0,
        "model.requests.handoff_delay": {"distribution": "fixed", "mean_hours": 0.0},
        "model.staff.sales_staff": 1,
        "model.staff.desk_hours_per_day": HOURS,
        "model.staff.pm_hours_per_day": HOURS,
        "model.staff.outlet_hours_per_day": HOURS,
        "model.staff.expert_resolution": 0.0,
        "model.staff.portfolio_target": 1e9,
        "model.design": "customer_manager",
        "model.satisfaction.enabled": False,
        "model.churn.enabled": False,
        "model.channel.enabled": False,
        "model.prospecting.enabled": False,
        "model.market.growth_per_year": 0.0,  # a stationary arrival stream
        "model.start.settle_months": 0,  # nothing to settle: every mechanism is off
    }
    base.update(overrides)
    return load_config(None, base)
