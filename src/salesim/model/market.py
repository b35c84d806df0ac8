"""Exogenous market: demand growth, the surge scenario, competitor pressure, group supply."""

from __future__ import annotations

import numpy as np

from salesim.model.inputs.params import ModelConfig


class Market:
    """Indices by month; nothing here depends on the organisation design."""

    def __init__(self, cfg: ModelConfig, initial_line_volume: np.ndarray) -> None:
        self.cfg = cfg
        self.months_per_year = cfg.calendar.months_per_year
        self.initial_line_volume = initial_line_volume  # tonnes a year per line, at start

    def surging(self, month: int) -> bool:
        """Whether the surge scenario is on in ``month``."""
        m = self.cfg.market
        return m.surge and m.surge_start_month <= month < m.surge_start_month + m.surge_months

    def growth(self, month: float) -> float:
        """Trend growth of demand since the start."""
        return (1 + self.cfg.market.growth_per_year) ** (month / self.months_per_year)

    def demand_index(self, month: int) -> float:
        """Demand relative to the start, surge included."""
        return self.growth(month) * (self.cfg.market.surge_factor if self.surging(month) else 1.0)

    def pressure(self, month: int) -> float:
        """Competitor pressure in ``month`` (0 when competition is switched off)."""
        c = self.cfg.competition
        if not c.enabled:
            return 0.0
        return c.pressure_during_surge if self.surging(month) else c.pressure

    def supply_capacity(self, month: int) -> np.ndarray:
        """Tonnes per line the group can allocate to us this month."""
        m = self.cfg.market
        grow = (1 + m.supply_growth_per_year) ** (month / self.months_per_year)
        return m.supply_share * self.initial_line_volume / self.months_per_year * grow
