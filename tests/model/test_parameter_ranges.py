"""Every numeric parameter at each end of its documented range runs, or is refused in one line.

The ranges in ``salesim.model.inputs.params`` promise what the model can compute: a value the
validator accepts must not overflow, divide by zero or crash deep inside numpy. Each field is run at
its lower and upper bound (the smallest positive float above an exclusive lower bound of 0) on a
small organisation that reorganises from the product design to three-in-one in month 1, so both
designs and the reorganisation see the value. Numpy warnings are errors here. Only the size bounds
(customers, staff, horizon) are left to ``benchmarks/bench_model.py``, which runs them at full size.
"""

from __future__ import annotations

import math
import sys
import types
import typing
import warnings

import annotated_types
import pytest
from pydantic import BaseModel

from salesim import ConfigError, SalesModel
from salesim.model.inputs.config_files import apply_overrides
from salesim.model.inputs.params import ModelConfig

BASE = {
    "horizon_days": 63,
    "population": {"customers": 80},
    "reorganisation": {"month": 1, "design": "three_in_one", "learning_months": 1.0},
    "design": "product",
}
#: Upper bounds that only make a run long or large (measured by benchmarks/bench_model.py).
SIZES = {
    "population.customers",
    "staff.sales_staff",
    "staff.product.reps_per_line",
    "staff.product.field_reps_per_line",
    "staff.customer_manager.managers_per_region",
    "staff.customer_manager.field_managers_per_region",
    "staff.three_in_one.managers_per_region",
    "staff.three_in_one.field_managers_per_region",
    "horizon_days",
    "warmup_days",
}


def numeric_fields(model: type[BaseModel], prefix: str = ""):
    for name, info in model.model_fields.items():
        node = info.annotation
        if typing.get_origin(node) in (typing.Union, types.UnionType):
            node = next(a for a in typing.get_args(node) if a is not type(None))
        if isinstance(node, type) and issubclass(node, BaseModel):
            yield from numeric_fields(node, f"{prefix}{name}.")
        elif node in (int, float):
            yield f"{prefix}{name}", node, info.metadata


def bound(meta: list, kind: type, attr: str):
    return next((getattr(m, attr) for m in meta if isinstance(m, kind)), None)


def extremes():
    for path, kind, meta in numeric_fields(ModelConfig):
        ge, gt, le = (
            bound(meta, getattr(annotated_types, k), k.lower()) for k in ("Ge", "Gt", "Le")
        )
        if ge is not None:
            yield path, ge
        elif gt is not None:
            yield path, gt + 1 if kind is int else math.nextafter(gt, math.inf)
        if le is not None and path not in SIZES:
            yield path, le


KINDS = ("order", "price_enquiry", "technical", "logistics")
SEGMENTS = ("key", "medium", "small")
ROLES = ("sales", "product_manager", "regional_manager", "planner", "service_outlet")
#: Fields holding a mapping or a list, at the ends of their ranges.
MAPPINGS = [
    ("relationship.visits_per_month", dict.fromkeys(SEGMENTS, 100.0)),
    ("churn.switching_cost", dict.fromkeys(SEGMENTS, 20.0)),
    ("costs.staff_cost_per_year", dict.fromkeys(ROLES, 1e9)),
    ("requests.kind_mix", {"order": 0.0, "price_enquiry": 0.0, "technical": 1.0, "logistics": 0}),
    ("requests.pm_bound", dict.fromkeys(KINDS, 1.0)),
    (
        "requests.service",
        {k: {"distribution": "lognormal", "mean_hours": 80.0, "cv": 5.0} for k in KINDS},
    ),
    ("population.line_weights", [1e6, math.nextafter(0, 1), 1.0, 1e6, 1.0]),
]
CASES = [*extremes(), *MAPPINGS]


def test_every_numeric_field_is_bounded_on_both_sides():
    for path, _, meta in numeric_fields(ModelConfig):
        kinds = {type(m) for m in meta}
        assert kinds & {annotated_types.Ge, annotated_types.Gt}, f"{path}: no lower bound"
        assert kinds & {annotated_types.Le, annotated_types.Lt}, f"{path}: no upper bound"


@pytest.mark.parametrize(
    ("path", "value"),
    CASES,
    ids=[f"{p}={v:g}" if isinstance(v, float | int) else p for p, v in CASES],
)
def test_a_field_at_its_bound_runs_or_is_refused_in_one_line(path, value):
    data = apply_overrides(BASE, {path: value})
    if path == "warmup_days":
        data["warmup_days"] = 0
    cfg = ModelConfig.model_validate(data) if not _combination_refused(data) else None
    if cfg is None:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an overflow or 0/0 is a failure here
            kpis = SalesModel(cfg).run().kpis()
    except ConfigError as exc:  # a design that cannot be built from this head-count
        assert "\n" not in str(exc) and str(exc).startswith("model.")
        return
    assert not any(isinstance(v, float) and math.isinf(v) for v in kpis.values()), kpis


def _combination_refused(data: dict) -> bool:
    """key_share and medium_share at 1 together exceed 1: refused by the validator, rightly."""
    try:
        ModelConfig.model_validate(data)
    except ValueError as exc:
        assert "key_share + medium_share" in str(exc), exc
        return True
    return False


if __name__ == "__main__":
    print(len(CASES), "cases", file=sys.stderr)
