"""Each asymmetry between the designs, switched off, moves the gap the way its table says; each
parameter only some designs read changes those designs only."""

from __future__ import annotations

import sys

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


# --- nothing undeclared: a parameter that moves some designs but not all is in a table ------

#: A small world where every mechanism has room to act: multi-line customers, escalations, and
#: the customer-manager designs reorganised from the product organisation at day 0.
PROBE_WORLD = {
    "model.horizon_days": 42,
    "model.population.customers": 150,
    "model.population.regions": 2,
    "model.staff.sales_staff": 10,
    "model.start.settle_months": 2,
    "model.start.design": "product",
    "model.population.multi_line_share": 0.8,
    "model.requests.escalation_prob": 0.3,
}
#: What a run is, not a behaviour: every design reads these alike.
NOT_BEHAVIOUR = {"model.seed", "model.horizon_days", "model.warmup_days", "model.design"}


def _leaves(cls, prefix: str):
    from pydantic import BaseModel

    for name, f in cls.model_fields.items():
        if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel):
            yield from _leaves(f.annotation, f"{prefix}.{name}")
        else:
            yield f"{prefix}.{name}", f


def _probe(value, field):
    """Another allowed value of a number or a switch (None for anything else)."""
    import annotated_types as at

    if isinstance(value, bool):
        return not value
    if not isinstance(value, int | float):
        return None
    low = next((m.ge for m in field.metadata if isinstance(m, at.Ge)), None)
    low = next((m.gt for m in field.metadata if isinstance(m, at.Gt)), low)
    high = next((m.le for m in field.metadata if isinstance(m, at.Le)), None)
    new = value * 1.5 if value else 0.5
    if high is not None and new > high:
        new = (value + high) / 2
    if new == value and low is not None:
        new = (value + low) / 2
    if isinstance(value, int):
        new = int(round(new)) if round(new) != value else value + 1
    return new


def _declared(path: str) -> bool:
    name = path.removeprefix("model.")
    texts = [a.parameter for a in ASYMMETRIES] + [d.parameter for d in DESIGN_PARAMETERS]
    return any(name in text.replace(" and ", " ").replace(" vs ", " ").split() for text in texts)


def test_no_parameter_moves_some_designs_only_without_being_declared():
    """Each number and switch of the model, moved once: if it changes the KPIs of some designs
    and leaves the others exactly as they were (common random numbers), it is an asymmetry or
    a design's own parameter, and must be in one of the two tables."""
    from salesim.model.inputs.params import ModelConfig

    designs = ("product", "customer_manager", "three_in_one")

    def kpis(overrides):
        return {
            d: SalesModel(overrides={**PROBE_WORLD, **overrides}, design=d, rng=3).run().kpis()
            for d in designs
        }

    base = kpis({})
    defaults = ModelConfig()
    undeclared, probed = [], 0
    for path, field in _leaves(ModelConfig, "model"):
        if path in NOT_BEHAVIOUR:
            continue
        value = PROBE_WORLD.get(path)
        if value is None:
            value = defaults
            for part in path.split(".")[1:]:
                value = getattr(value, part)
        new = _probe(value, field)
        if new is None:
            continue
        probed += 1
        moved = kpis({path: new})
        changed = [d for d in designs if not same(moved[d], base[d])]
        if 0 < len(changed) < len(designs) and not _declared(path):
            undeclared.append(f"{path}={new} moves {', '.join(changed)} only")
    assert probed > 100
    assert undeclared == []


def test_the_probe_finds_an_undeclared_asymmetry(monkeypatch):
    """The check above can fail: without its row, extra_line_work is found."""
    import salesim.model.asymmetries as asym

    monkeypatch.setattr(
        asym,
        "ASYMMETRIES",
        tuple(a for a in ASYMMETRIES if a.parameter != "requests.extra_line_work"),
    )
    monkeypatch.setattr(sys.modules[__name__], "ASYMMETRIES", asym.ASYMMETRIES)
    assert not _declared("model.requests.extra_line_work")
    moved = {
        d: SalesModel(
            overrides={**PROBE_WORLD, "model.requests.extra_line_work": 0.75}, design=d, rng=3
        )
        .run()
        .kpis()
        for d in ("product", "customer_manager")
    }
    base = {
        d: SalesModel(overrides=PROBE_WORLD, design=d, rng=3).run().kpis()
        for d in ("product", "customer_manager")
    }
    assert same(moved["product"], base["product"])
    assert not same(moved["customer_manager"], base["customer_manager"])
