"""The customer population as columns: one row per customer slot, present or future.

Customers stay Mesa agents (``agents.Customer``), but their state lives here so that
population-wide monthly updates are numpy operations. Slots for customers who appear later
(market growth) are drawn up front, so the population is the same under every design.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np

from salesim.model.inputs.codes import DIRECT, DISTRIBUTOR, FUTURE, synthetic_region_names
from salesim.model.inputs.params import ModelConfig

if TYPE_CHECKING:
    from salesim.model.own_data.customers import CustomerTable


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return float(np.log(p / (1 - p)))


def _segments(total: np.ndarray, key_share: float, medium_share: float) -> np.ndarray:
    """Key, medium and small by rank of total volume."""
    n = len(total)
    order_by_size = np.argsort(-total)
    segment = np.full(n, 2, dtype=np.int8)
    n_key = int(round(key_share * n))
    n_med = int(round(medium_share * n))
    segment[order_by_size[:n_key]] = 0
    segment[order_by_size[n_key : n_key + n_med]] = 1
    return segment


class CustomerBook:
    """Columns of customer state; index = customer slot.

    With ``table`` (the company's own customers, ``salesim.model.own_data.customers``) the first
    ``len(table)`` slots are the file's rows; customers who appear later are still drawn.
    """

    def __init__(
        self, cfg: ModelConfig, rng: np.random.Generator, table: CustomerTable | None = None
    ) -> None:
        pop = cfg.population
        n_lines = len(pop.lines)
        years = cfg.horizon_days / (cfg.calendar.days_per_month * cfg.calendar.months_per_year)
        n0 = pop.customers
        n_new = int(rng.poisson(pop.new_customers_per_year * n0 * years))
        market = cfg.market
        dpm = cfg.calendar.days_per_month
        days_per_year = dpm * cfg.calendar.months_per_year
        surge_from = market.surge_start_month * dpm
        surge_to = min(cfg.horizon_days, surge_from + market.surge_months * dpm)
        n_surge = (
            int(rng.poisson(market.surge_new_customers_per_year * n0 * (surge_to - surge_from)
                            / days_per_year))
            if market.surge and market.surge_new_customers_per_year > 0 and surge_to > surge_from
            else 0
        )  # fmt: skip
        n = n0 + n_new + n_surge
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

        self.segment = _segments(total, pop.key_share, pop.medium_share)

        # Large customers are more likely to buy direct (Taylor 2003).
        z = (self.log_volume - self.log_volume.mean()) / (self.log_volume.std() + 1e-12)
        p_direct = 1 / (1 + np.exp(-(_logit(pop.direct_share) + 0.8 * z)))
        direct = rng.random(n) < p_direct
        self.channel = np.where(direct, DIRECT, DISTRIBUTOR).astype(np.int8)
        self.appear_day = np.zeros(n, dtype=np.int64)
        self.appear_day[n0 : n0 + n_new] = rng.integers(1, max(cfg.horizon_days, 2), n_new)
        if n_surge:  # the surge's entrants appear while it lasts
            self.appear_day[n0 + n_new :] = rng.integers(max(surge_from, 1), surge_to, n_surge)
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
        self.ids: np.ndarray | None = None
        self.region_names = synthetic_region_names(pop.regions)
        #: State the company's file gives (column -> (slots, values)); the steady start keeps it.
        self.given: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._derive_from_volumes()
        if table is not None:
            self._take_file(table, cfg)
            self._derive_from_volumes()
        self.active_at_start = self.channel <= DISTRIBUTOR

    def copy(self) -> CustomerBook:
        """An independent copy (every column copied)."""
        return copy.deepcopy(self)

    def _derive_from_volumes(self) -> None:
        # Lines bought and volumes are fixed for good once built: keep what the monthly cycle
        # derives from them.
        self.pairs = np.nonzero(self.buys)  # (customer, line) of every line bought
        # The same pairs as positions in a flattened (customer, line) array: ``take`` and
        # ``put`` with one flat index cost far less than indexing with two arrays.
        self.pair_flat = self.pairs[0] * self.volume.shape[1] + self.pairs[1]
        self.pair_volume = self.volume.take(self.pair_flat)
        self.volume_share = self.volume / np.maximum(self.volume.sum(axis=1, keepdims=True), 1e-12)

    def _take_file(self, table: CustomerTable, cfg: ModelConfig) -> None:
        """The company's customers replace the first draws; what the file leaves blank stays drawn.

        The file gives what each customer buys from us; its requirement is that over its share
        of wallet. Everything is drawn first in full, so the draws do not depend on the file.
        """
        n0 = self.n_initial
        if len(table) != n0 or len(table.region_names) != cfg.population.regions:
            raise ValueError("the config's customers and regions must follow the customer file")
        self.ids = table.ids
        self.region_names = table.region_names
        self.region[:n0] = table.region
        rel = self.customer_relationship()
        for name, given, column in (
            ("satisfaction", table.satisfaction, self.satisfaction),
            ("relationship", table.relationship, rel),
            ("wallet", table.wallet, self.wallet),
        ):
            known = np.flatnonzero(~np.isnan(given))
            column[known] = given[known]
            if len(known):
                self.given[name] = (known, given[known])
        # The file's volumes are what each customer buys from us at day 0, so its share of
        # wallet (given, or drawn where blank) stands at day 0 too.
        self.given["wallet"] = (np.arange(n0), self.wallet[:n0].copy())
        self.expectation = self.satisfaction.copy()
        self.volume[:n0] = table.volume / self.wallet[:n0, None]
        self.channel[:n0] = table.channel
        self.given["channel"] = (np.arange(n0), self.channel[:n0].copy())
        self.buys[:n0] = table.volume > 0
        self.n_lines = self.buys.sum(axis=1)
        self.relationship = np.where(self.buys, rel[:, None], 0.0)
        # Line slots of file customers: their lines by volume, largest first.
        width = max(self.line_slots.shape[1], int(self.n_lines[:n0].max()))
        slots = np.full((self.size, width), -1, dtype=self.line_slots.dtype)
        slots[:, : self.line_slots.shape[1]] = self.line_slots
        order = np.argsort(-table.volume, axis=1, kind="stable")[:, :width]
        slots[:n0] = np.where(np.arange(width)[None, :] < self.n_lines[:n0, None], order, -1)
        self.line_slots = slots
        total = self.volume.sum(axis=1)
        self.log_volume = np.log(total / np.median(total))
        pop = cfg.population
        self.segment = _segments(total, pop.key_share, pop.medium_share)
        known = table.segment >= 0
        self.segment[:n0][known] = table.segment[known]

    def keep_given(self) -> None:
        """Put back what the company's file says, over whatever the steady start settled."""
        for name, (slots, values) in self.given.items():
            if name == "relationship":
                self.relationship[slots] = np.where(self.buys[slots], values[:, None], 0.0)
            else:
                getattr(self, name)[slots] = values

    def customer_ids(self) -> np.ndarray:
        """Ids of every slot: the file's for its customers, ``C00001``... for drawn ones."""
        drawn = np.array([f"C{i + 1:05d}" for i in range(self.size)], dtype=object)
        if self.ids is not None:
            drawn[: self.n_initial] = self.ids
        return drawn

    def customer_relationship(self) -> np.ndarray:
        """Per customer: relationship with the people who own its lines, weighted by volume."""
        return np.einsum("ij,ij->i", self.volume_share, self.relationship)

    @property
    def active(self) -> np.ndarray:
        """Customers buying from us (direct or via a distributor)."""
        return self.channel <= DISTRIBUTOR
