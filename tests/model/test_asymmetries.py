"""Each asymmetry between the designs, switched off, moves the gap the way its table says; each
parameter only some designs read changes those designs only."""

from __future__ import annotations

import numpy as np
import pytest

from salesim import SalesModel
from salesim.model.asymmetries import ASYMMETRIES, DESIGN_PARAMETERS, design_parameters_table, table

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


# --- parameters only some designs read ---------------------------------------------------------

#: A small world at the default head-counts (no sales_staff: each design's levers may be set).
LEVER_WORLD = {
    "model.horizon_days": 84,
    "model.population.customers": 300,
    "model.population.regions": 2,
    "model.start.settle_months": 6,
}
DESIGNS = ("product", "customer_manager", "three_in_one")


def kpis_by_design(overrides: dict) -> dict[str, dict[str, float]]:
    return {
        d: SalesModel(overrides={**LEVER_WORLD, **overrides}, design=d, rng=5).run().kpis()
        for d in DESIGNS
    }


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    return all(a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]) for k in a)


@pytest.fixture(scope="module")
def base_kpis():
    return kpis_by_design({})


@pytest.mark.parametrize("lever", DESIGN_PARAMETERS, ids=lambda d: d.parameter)
def test_a_design_parameter_changes_only_the_designs_that_read_it(lever, base_kpis):
    """Each design starts from its own world here, so another design's lever cannot reach it."""
    changed = kpis_by_design({f"model.{lever.parameter}": lever.probe})
    for design in DESIGNS:
        if design in lever.designs:
            assert not same(changed[design], base_kpis[design]), (lever.parameter, design)
        else:
            assert same(changed[design], base_kpis[design]), (lever.parameter, design)


def test_every_lever_of_a_designs_own_staff_is_declared():
    from salesim.model.inputs.params import FrontLine, Staff

    declared = {d.parameter for d in DESIGN_PARAMETERS}
    for name, field in Staff.model_fields.items():
        if isinstance(field.annotation, type) and issubclass(field.annotation, FrontLine):
            for lever in field.annotation.model_fields:
                assert f"staff.{name}.{lever}" in declared, f"staff.{name}.{lever}"


def test_the_docs_carry_the_design_parameters():
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "model.md").read_text()
    assert design_parameters_table() in doc
