"""The customer population as columns: one row per customer slot, present or future.

Customers stay Mesa agents (``agents.Customer``), but their state lives here so that
population-wide monthly updates are numpy operations. Slots for customers who appear later
(market growth) are drawn up front, so the population is the same under every design.
"""

from __future__ import annotations

import numpy as np

from salesim.params import ModelConfig

DIRECT, DISTRIBUTOR, LOST, OPEN, FUTURE, ELSEWHERE = range(6)
CHANNELS = ("direct", "distributor", "lost", "open", "future", "elsewhere")
SEGMENTS = ("key", "medium", "small")


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return float(np.log(p / (1 - p)))


class CustomerBook:
    """Columns of customer state; index = customer slot."""

    def __init__(self, cfg: ModelConfig, rng: np.random.Generator) -> None:
        pop = cfg.population
        n_lines = len(pop.lines)
        years = cfg.horizon_days / (cfg.calendar.days_per_month * cfg.calendar.months_per_year)
        n0 = pop.customers
        n_new = int(rng.poisson(pop.new_customers_per_year * n0 * years))
        n = n0 + n_new
        self.n_initial = n0
        self.size = n

        self.region = rng.integers(0, pop.regions, n)
        weights = np.asarray(pop.line_weights or [1.0] * n_lines, dtype=float)
        most = min(pop.max_lines_per_customer, n_lines)
        multi = rng.random(n) < pop.multi_line_share
        count = np.where(multi & (most > 1), rng.integers(2, most + 1, n) if most > 1 else 1, 1)
        # Weighted sampling without replacement: the top-k of log-weight + Gumbel noise.
        keys = np.log(weights) + rng.gumbel(size=(n, n_lines))
        rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
        self.buys = rank < count[:, None]
        self.n_lines = self.buys.sum(axis=1)
        # Each line's part of the customer, ordered by rank, padded with -1.
        order = np.argsort(rank, axis=1)[:, :most]
        self.line_slots = np.where(np.arange(most)[None, :] < count[:, None], order, -1)

        pareto = pop.volume_min_tonnes * (1 - rng.random((n, n_lines))) ** (
            -1 / pop.volume_pareto_shape
        )
        self.volume = np.where(self.buys, pareto, 0.0)  # tonnes a year per line, at start
        total = self.volume.sum(axis=1)
        self.log_volume = np.log(total / np.median(total))

        order_by_size = np.argsort(-total)
        self.segment = np.full(n, 2, dtype=np.int8)
        n_key = int(round(pop.key_share * n))
        n_med = int(round(pop.medium_share * n))
        self.segment[order_by_size[:n_key]] = 0
        self.segment[order_by_size[n_key : n_key + n_med]] = 1

        # Large customers are more likely to buy direct (Taylor 2003).
        z = (self.log_volume - self.log_volume.mean()) / (self.log_volume.std() + 1e-12)
        p_direct = 1 / (1 + np.exp(-(_logit(pop.direct_share) + 0.8 * z)))
        direct = rng.random(n) < p_direct
        self.channel = np.where(direct, DIRECT, DISTRIBUTOR).astype(np.int8)
        self.appear_day = np.zeros(n, dtype=np.int64)
        self.appear_day[n0:] = rng.integers(1, max(cfg.horizon_days, 2), n_new)
        self.channel[n0:] = FUTURE
        self.open_until_month = np.full(n, -1, dtype=np.int64)

        sat = cfg.satisfaction.initial + 0.1 * rng.standard_normal(n)
        self.satisfaction = np.clip(sat, 0.0, 1.0)
        self.expectation = self.satisfaction.copy()
        rel = cfg.relationship.initial + 0.1 * rng.standard_normal(n)
        # Relationship per (customer, line): with the person who owns that line of the customer.
        self.relationship = np.where(self.buys, np.clip(rel, 0.0, 1.0)[:, None], 0.0)
        wal = cfg.wallet.initial + 0.05 * rng.standard_normal(n)
        self.wallet = np.clip(wal, 0.01, 1.0)
        self.tenure_months = np.where(self.channel <= DISTRIBUTOR, rng.integers(0, 120, n), 0)
        self.calloff = np.zeros((n, n_lines))  # volume declared to us for this month, tonnes
        self.declaration_error = np.zeros((n, n_lines))  # this year's error, standard normal
        self.active_at_start = self.channel <= DISTRIBUTOR

    def customer_relationship(self) -> np.ndarray:
        """Per customer: relationship with the people who own its lines, weighted by volume."""
        vol = np.where(self.buys, self.volume, 0.0)
        total = np.maximum(vol.sum(axis=1), 1e-12)
        return (vol * self.relationship).sum(axis=1) / total

    @property
    def active(self) -> np.ndarray:
        """Customers buying from us (direct or via a distributor)."""
        return self.channel <= DISTRIBUTOR
