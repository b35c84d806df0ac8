"""Each asymmetry between the designs, switched off, moves the gap the way its table says."""

from __future__ import annotations

import numpy as np
import pytest

from salesim import SalesModel
from salesim.model.asymmetries import ASYMMETRIES, table

WORLD = {
    "model.horizon_days": 126,
    "model.population.customers": 400,
    "model.population.regions": 2,
    "model.staff.sales_staff": 10,
    "model.start.settle_months": 12,
    "model.start.design": "product",
}
SEEDS = (1, 2, 3)


def gap(overrides: dict, kpi: str) -> float:
    """Mean over paired seeds of customer_manager minus product on ``kpi``."""
    diffs = []
    for seed in SEEDS:
        values = [
            SalesModel(overrides={**WORLD, **overrides}, design=d, rng=seed).run().kpis()[kpi]
            for d in ("customer_manager", "product")
        ]
        diffs.append(values[0] - values[1])
    return float(np.mean(diffs))


@pytest.mark.parametrize("asym", ASYMMETRIES, ids=lambda a: a.name)
def test_switching_an_asymmetry_off_moves_the_gap_the_expected_way(asym):
    on = gap(asym.setting, asym.kpi)
    off = gap({**asym.setting, **asym.off}, asym.kpi)
    assert np.sign(off - on) == asym.gap_moves, (asym.name, on, off)


def test_the_docs_carry_the_table():
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "model.md").read_text()
    for a in ASYMMETRIES:
        assert a.parameter in doc, a.name
    assert table().splitlines()[0] in doc
