"""The ``experiment:`` section of a config file: designs, replications, scenarios, sweep.

Levers (what the company controls) and uncertainties (what it does not) are labelled so that
a report can keep them apart (EMA Workbench's habit). Every dotted path is checked against the
model's parameters, and every scenario and sweep value against the model's validation, before
anything runs.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from salesim.model.inputs import registry
from salesim.model.inputs.outcomes import OUTCOMES
from salesim.model.inputs.params import F, ModelConfig, Section, check_name

#: Most values one swept parameter may take (a grid multiplies them).
MAX_VALUES = 10_000

#: Every run-level KPI (as ``kpis.RUN``, read from the declarations so that validating a config
#: does not import the simulation's numerics).
KPI_NAMES = tuple(OUTCOMES)


def parameter_type(path: str) -> Any:
    """The annotation of the model parameter a dotted path names; ValueError if none."""
    parts = path.split(".")
    if parts[0] != "model" or len(parts) < 2:
        raise ValueError(
            f"{path!r} names no parameter; paths start with 'model.', e.g. model.staff.sales_staff"
        )
    node: Any = ModelConfig
    for i, part in enumerate(parts[1:], start=1):
        if isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(part)
            if field is None:
                where = ".".join(parts[:i])
                raise ValueError(
                    f"{path!r} names no parameter: {where} has no {part!r}; "
                    f"allowed: {', '.join(node.model_fields)}"
                )
            node = field.annotation
        elif typing.get_origin(node) is dict:
            node = typing.get_args(node)[1]
        else:
            raise ValueError(
                f"{path!r} names no parameter: {'.'.join(parts[:i])} is a value, not a section"
            )
    if isinstance(node, type) and issubclass(node, BaseModel):
        raise ValueError(
            f"{path!r} is a section; name one of its fields: {', '.join(node.model_fields)}"
        )
    return node


def is_integer(annotation: Any) -> bool:
    """Whether a parameter takes whole numbers (so sampled values are rounded)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(is_integer(a) for a in typing.get_args(annotation))
    return annotation is int


class Range(Section):
    """Values first, first + step, ... up to and including last."""

    first: float = F(..., "first value")
    step: float = F(..., "increment (> 0)", gt=0)
    last: float = F(..., "last value (>= first)")

    @model_validator(mode="after")
    def _order(self) -> Range:
        if self.last < self.first:
            raise ValueError(f"last ({self.last}) must be >= first ({self.first})")
        if (self.last - self.first) / self.step >= MAX_VALUES:
            raise ValueError(f"more than {MAX_VALUES:,} values; use a larger step")
        return self

    def count(self) -> int:
        """How many values the range has."""
        return int((self.last - self.first) / self.step + 1e-9) + 1

    def values(self) -> list[float]:
        """The values of the range."""
        return [round(self.first + i * self.step, 12) for i in range(self.count())]


class Bounds(Section):
    """An interval sampled by lhs, sobol or morris."""

    low: float = F(..., "lower bound")
    high: float = F(..., "upper bound (> low)")

    @model_validator(mode="after")
    def _order(self) -> Bounds:
        if not self.high > self.low:
            raise ValueError(f"high ({self.high}) must be greater than low ({self.low})")
        return self


class Parameter(Section):
    """One swept parameter: its path, whether it is a lever or an uncertainty, its values."""

    path: str = F(..., "dotted path of a model parameter, e.g. model.staff.sales_staff")
    role: Literal["lever", "uncertainty"] = F(
        ..., "lever: the company controls it; uncertainty: it does not"
    )
    values: list[Any] | None = F(
        None, f"explicit values (grid), at most {MAX_VALUES:,}", max_length=MAX_VALUES
    )
    range: Range | None = F(None, "first/step/last (grid)")
    bounds: Bounds | None = F(None, "interval for lhs, sobol, morris")

    @model_validator(mode="after")
    def _one_source(self) -> Parameter:
        given = [k for k in ("values", "range", "bounds") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"parameter {self.path}: give exactly one of values, range, bounds "
                f"(got {', '.join(given) or 'none'})"
            )
        if self.values is not None and not self.values:
            raise ValueError(f"parameter {self.path}: values is empty")
        parameter_type(self.path)
        return self


class Sweep(Section):
    """Parameters to vary and how to choose their combinations."""

    method: Literal["grid", "lhs", "sobol", "morris"] = F("grid", "grid | lhs | sobol | morris")
    samples: int = F(
        8,
        "lhs: points; sobol: base samples N (N*(D+2) points); morris: trajectories (N*(D+1))",
        "",
        ge=1,
        le=100_000,
    )
    levels: int = F(4, "morris grid levels", "", ge=2, le=100)
    parameters: list[Parameter] = F(..., "the swept parameters", min_length=1, max_length=100)

    @model_validator(mode="after")
    def _sources(self) -> Sweep:
        paths = [p.path for p in self.parameters]
        if len(set(paths)) != len(paths):
            raise ValueError("a parameter is swept twice")
        for p in self.parameters:
            if self.method == "grid" and p.bounds is not None:
                raise ValueError(
                    f"parameters: {p.path}: method grid needs values or range, not bounds"
                )
            if self.method != "grid" and p.bounds is None:
                raise ValueError(
                    f"parameters: {p.path}: method {self.method} needs bounds (low, high)"
                )
        if self.method in ("sobol", "morris") and len(self.parameters) < 2:
            raise ValueError(f"method {self.method} needs at least two parameters")
        return self


class Precision(Section):
    """Add replications until every cell's CI is narrow enough (or the maximum is reached)."""

    metrics: list[str] = F(["retention_rate"], "KPIs whose CI must meet the target", min_length=1)
    relative_half_width: float = F(0.02, "target 95% CI half-width / |mean|", "share", gt=0, le=1)
    initial: int = F(5, "replications before the first check", "", ge=2, le=10_000)
    step: int = F(5, "replications added per round", "", ge=1, le=10_000)
    maximum: int = F(50, "most replications", "", ge=2, le=100_000)

    @model_validator(mode="after")
    def _check(self) -> Precision:
        for m in self.metrics:
            if m not in KPI_NAMES:
                raise ValueError(f"unknown KPI {m!r}; allowed: {', '.join(KPI_NAMES)}")
        if self.maximum < self.initial:
            raise ValueError(f"maximum ({self.maximum}) must be >= initial ({self.initial})")
        return self


class Target(Section):
    """An observed KPI value the model should reproduce: a value with a tolerance, or a bound."""

    kpi: str = F(..., "the KPI observed, e.g. plan_completion_rate")
    label: str = F("", "when or what was observed, e.g. 2005 or 2006-07")
    value: float | None = F(None, "observed value (met within +- tolerance)")
    tolerance: float = F(0.0, "acceptable miss around value", "", ge=0)
    at_least: float | None = F(None, "one-sided: met when the model is at least this")
    at_most: float | None = F(None, "one-sided: met when the model is at most this")
    scenario: str | None = F(None, "scenario it applies to (default: the reference scenario)")
    design: str | None = F(None, "design it applies to (default: the baseline design)")

    @model_validator(mode="after")
    def _check(self) -> Target:
        if self.kpi not in KPI_NAMES:
            raise ValueError(f"kpi: unknown KPI {self.kpi!r}; allowed: {', '.join(KPI_NAMES)}")
        if self.value is None and self.at_least is None and self.at_most is None:
            raise ValueError(f"give value (with tolerance), at_least or at_most for {self.kpi}")
        if self.value is not None and (self.at_least is not None or self.at_most is not None):
            raise ValueError(f"give value or at_least/at_most for {self.kpi}, not both")
        if self.value is None and self.tolerance:
            raise ValueError(f"tolerance goes with value, not at_least/at_most ({self.kpi})")
        if self.at_least is not None and self.at_most is not None and self.at_most < self.at_least:
            raise ValueError(f"at_most ({self.at_most}) is below at_least ({self.kpi})")
        return self

    def bounds(self) -> tuple[float, float]:
        """The interval of model values that meet the target."""
        if self.value is not None:
            return self.value - self.tolerance, self.value + self.tolerance
        low = self.at_least if self.at_least is not None else float("-inf")
        high = self.at_most if self.at_most is not None else float("inf")
        return low, high


class ReportOptions(Section):
    """How the report writes money and draws the 'where each design wins' map."""

    currency: str | None = F(
        None, "label for money in this report (none: the model's model.costs.currency)"
    )
    map_axes: list[str] | None = F(
        None,
        "one or two swept parameter paths for the 'where each design wins' map "
        "(default: the first two swept, uncertainties first)",
        min_length=1,
        max_length=2,
    )


class Switch(Section):
    """A switch study: from the organisation in place to each candidate at a month, or stay.

    Each candidate's runs start from the world of ``in_place`` (its steady state) and switch at
    ``month`` (``model.reorganisation``: the new front line's learning, the relationships carried
    over, the one-off cost); the "stay" runs keep ``in_place`` throughout. Replication i of
    every side has the same seed, so the monthly differences are paired.
    """

    in_place: str = F("product", "the organisation in place (customers know it at day 0)")
    candidates: list[str] = F(
        ["customer_manager", "three_in_one"],
        "the designs that could replace it (registered names)",
        min_length=1,
        max_length=20,
    )
    month: int = F(
        3,
        "month (0 = first) a candidate takes over; the months before are the same world under "
        "the organisation in place (assumption: a quarter to prepare)",
        "month",
        ge=1,
        le=5000,
    )
    discount_rate: float = F(
        0.08,
        "annual rate the monthly profit differences are discounted at for the net present value "
        "(assumption: a typical corporate cost of capital)",
        "share/year",
        ge=0,
        le=1,
    )
    bootstrap: int = F(
        1000,
        "bootstrap resamples of the replications for the payback month's CI",
        "",
        ge=100,
        le=100_000,
    )

    @field_validator("in_place")
    @classmethod
    def _registered(cls, name: str) -> str:
        return registry.check_design(name)

    @field_validator("candidates")
    @classmethod
    def _all_registered(cls, names: list[str]) -> list[str]:
        for name in names:
            registry.check_design(name)
        return names

    @model_validator(mode="after")
    def _designs(self) -> Switch:
        if self.in_place in self.candidates:
            raise ValueError(
                f"candidates: {self.in_place!r} is the organisation in place (staying is always "
                "compared); list only designs to switch to"
            )
        if len(set(self.candidates)) != len(self.candidates):
            raise ValueError("candidates: a design is listed twice")
        return self


#: What a switch study sets itself in every run; a scenario or sweep may not set them.
SWITCH_SETS = (
    "model.design",
    "model.start.design",
    "model.reorganisation.month",
    "model.reorganisation.design",
)


def _switch_defaults(data: Any) -> Any:
    """A switch study's designs are the organisation in place then the candidates."""
    if not isinstance(data, dict) or not isinstance(data.get("switch"), dict):
        return data
    given = data["switch"]
    fields = Switch.model_fields
    in_place = given.get("in_place", fields["in_place"].default)
    candidates = given.get("candidates", fields["candidates"].default)
    if isinstance(in_place, str) and isinstance(candidates, list):
        data = dict(data)
        data.setdefault("designs", [in_place, *candidates])
        data.setdefault("baseline", in_place)
    return data


class ExperimentSpec(Section):
    """What to compare, under which scenarios and sweep points, how many times."""

    designs: list[str] = F(
        ["product", "customer_manager", "three_in_one"], "designs to compare", min_length=1
    )
    baseline: str | None = F(None, "design the others are compared with (default: the first)")
    replications: int = F(10, "replications per design x scenario x point", "", ge=1, le=100_000)
    precision: Precision | None = F(None, "adaptive replications (replaces replications)")
    seed: int | None = F(
        None,
        "seed of replication 0 (default: model.seed); replication i uses seed + i",
        "",
        ge=0,
        le=2**63 - 1,
    )
    warmup_days: int | None = F(None, "overrides model.warmup_days", "days", ge=0, le=100_000)
    horizon_days: int | None = F(None, "overrides model.horizon_days", "days", ge=1, le=100_000)
    include_base: bool = F(
        True, "run the unmodified model as scenario 'base' besides the named ones"
    )
    scenarios: dict[str, dict[str, Any]] = F(
        {}, "named sets of dotted overrides, e.g. surge: {model.market.surge: true}"
    )
    reference_scenario: str | None = F(
        None, "scenario the others are compared with (default: the first, base if included)"
    )
    sweep: Sweep | None = F(None, "parameters to vary")
    switch: Switch | None = F(
        None,
        "a switch study: from the organisation in place to each candidate at a month, against "
        "staying (sets designs and baseline)",
    )
    targets: list[Target] = Field(
        default_factory=list, description="observed KPI values the report checks the model against"
    )
    report: ReportOptions = Field(default_factory=ReportOptions, description="report options")
    metrics: list[str] = Field(
        default_factory=lambda: list(KPI_NAMES), description="KPIs to summarise"
    )

    @model_validator(mode="before")
    @classmethod
    def _switch_designs(cls, data: Any) -> Any:
        return _switch_defaults(data)

    @model_validator(mode="after")
    def _check(self) -> ExperimentSpec:
        self._check_switch()
        for d in self.designs:
            problem = registry.unknown_design(d)
            if problem:
                raise ValueError(f"designs: {problem}")
        if len(set(self.designs)) != len(self.designs):
            raise ValueError("designs: a design is listed twice")
        if self.baseline is not None and self.baseline not in self.designs:
            raise ValueError(
                f"baseline: {self.baseline!r} is not among designs ({', '.join(self.designs)})"
            )
        for m in self.metrics:
            if m not in KPI_NAMES:
                raise ValueError(f"metrics: unknown KPI {m!r}; allowed: {', '.join(KPI_NAMES)}")
        for name, overrides in self.scenarios.items():
            check_name("scenarios", name)
            if name == "base":
                raise ValueError("scenarios: 'base' is reserved for the unmodified model")
            if not isinstance(overrides, dict) or not overrides:
                raise ValueError(f"scenarios.{name}: needs a mapping of dotted paths to values")
            for path in overrides:
                try:
                    parameter_type(path)
                except ValueError as exc:
                    raise ValueError(f"scenarios.{name}: {exc}") from None
        if not self.include_base and not self.scenarios:
            raise ValueError("include_base: false needs at least one named scenario")
        scenarios = list(self.scenario_overrides())
        if self.reference_scenario is not None and self.reference_scenario not in scenarios:
            raise ValueError(
                f"reference_scenario: {self.reference_scenario!r} is not a scenario "
                f"({', '.join(scenarios)})"
            )
        for i, t in enumerate(self.targets):
            if t.scenario is not None and t.scenario not in scenarios:
                raise ValueError(
                    f"targets.{i}.scenario: unknown scenario {t.scenario!r}; "
                    f"allowed: {', '.join(scenarios)}"
                )
            if t.design is not None and t.design not in self.designs:
                raise ValueError(
                    f"targets.{i}.design: {t.design!r} is not among designs "
                    f"({', '.join(self.designs)})"
                )
        swept = [p.path for p in self.sweep.parameters] if self.sweep else []
        axes = self.report.map_axes or []
        if len(set(axes)) != len(axes):
            raise ValueError("report.map_axes: a parameter is named twice")
        for path in axes:
            if path not in swept:
                raise ValueError(
                    f"report.map_axes: {path!r} is not swept; allowed: {', '.join(swept) or 'none'}"
                )
        return self

    def _check_switch(self) -> None:
        sw = self.switch
        if sw is None:
            return
        wanted = [sw.in_place, *sw.candidates]
        if self.designs != wanted:
            raise ValueError(
                f"designs: a switch study compares switch.in_place then switch.candidates "
                f"({', '.join(wanted)}); leave designs out"
            )
        if self.baseline_design != sw.in_place:
            raise ValueError(
                f"baseline: a switch study's baseline is switch.in_place ({sw.in_place!r}); "
                "leave baseline out"
            )
        for where, path in self.varied():
            if path in SWITCH_SETS:
                raise ValueError(
                    f"{where}: {path} is set by the switch study (switch.in_place, "
                    "switch.candidates, switch.month); vary the transition instead, e.g. "
                    "model.reorganisation.learning_months"
                )

    @property
    def baseline_design(self) -> str:
        """The design paired differences are taken against."""
        return self.baseline or self.designs[0]

    @property
    def reference(self) -> str:
        """The scenario the others are compared with."""
        return self.reference_scenario or next(iter(self.scenario_overrides()))

    def map_axes(self) -> list[str]:
        """Axes of the 'where each design wins' map: configured, or uncertainties first."""
        if self.sweep is None:
            return []
        if self.report.map_axes:
            return list(self.report.map_axes)
        params = sorted(self.sweep.parameters, key=lambda p: p.role != "uncertainty")
        return [p.path for p in params[:2]]

    def varied(self) -> list[tuple[str, str]]:
        """(where, parameter path) of everything the sweep and the scenarios set."""
        out = [("sweep", p.path) for p in self.sweep.parameters] if self.sweep else []
        for name, overrides in self.scenarios.items():
            out += [(f"scenarios.{name}", path) for path in overrides]
        return out

    def scenario_overrides(self) -> dict[str, dict[str, Any]]:
        """Scenario name -> overrides, base first."""
        out = {"base": {}} if self.include_base else {}
        out.update(self.scenarios)
        return out
