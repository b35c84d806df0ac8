"""What one visitor's page runs: a design, and optionally a second on the same seed, in lockstep.

The page's fields are typed by people, so ``VizModel.from_fields`` turns them into a config
and raises ``ConfigError`` with one line naming the field; the page keeps running the model it
had. Each simulated organisation comes with a ``Tracker`` that keeps what the page shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from salesim.experiments.config import validate_config
from salesim.model.inputs.config_files import apply_overrides
from salesim.model.inputs.files import cut
from salesim.model.inputs.params import ConfigError, ModelConfig
from salesim.model.inputs.registry import registered_designs
from salesim.model.sales_model import SalesModel
from salesim.viz.style import DESIGN_COLOURS, short_title
from salesim.viz.tracker import Tracker

NONE = "none"
#: Side by side with the same design, the config's reorganisation switched off.
NO_REORGANISATION = "no_reorganisation"


@dataclass(frozen=True)
class Field:
    """A page field: the config path it sets, its label and the unit shown after the value."""

    path: str
    label: str
    kind: type
    unit: str = ""
    #: Whether "none" (or a blank) is a value: the parameter may be left unset.
    optional: bool = False

    @property
    def hint(self) -> str:
        """The parameter's allowed range, read from its declaration in the model's schema."""
        section: Any = ModelConfig
        info = None
        for part in self.path.split(".")[1:]:
            info = section.model_fields[part]
            section = info.annotation
        words = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
        bounds = [
            f"{words[k]} {getattr(m, k):,}"
            for m in info.metadata
            for k in words
            if getattr(m, k, None) is not None and abs(getattr(m, k)) < 1e12
        ]
        hint = ("whole number " if self.kind is int else "") + ", ".join(bounds)
        return hint + (", or none" if self.optional else "")


FIELDS: dict[str, Field] = {
    "customers": Field("model.population.customers", "Customers at the start", int, "customers"),
    "sales_staff": Field(
        "model.staff.sales_staff", "Front-line head-count", int, "people", optional=True
    ),
    "pm_hours_per_day": Field(
        "model.staff.pm_hours_per_day", "Product-manager time for requests", float, "hours a day"
    ),
    "needs_per_customer_year": Field(
        "model.requests.needs_per_customer_year", "Needs a median customer raises", float, "a year"
    ),
    "multi_line_share": Field(
        "model.population.multi_line_share", "Customers buying two or more lines", float, "share"
    ),
    "surge": Field("model.market.surge", "Market surge of 2006–07", bool),
    "seed": Field("model.seed", "Seed (same seed: same customers and demand)", int),
}


@dataclass
class Pane:
    """One simulated organisation on the page."""

    model: SalesModel
    tracker: Tracker
    name: str
    short: str
    colour: str


def default_fields(base: ModelConfig) -> dict[str, Any]:
    """The page's fields (design choices included) as ``base`` sets them."""
    data = {"model": base.model_dump()}
    values: dict[str, Any] = {"design": base.design, "compare_with": NONE}
    for name, f in FIELDS.items():
        node: Any = data
        for part in f.path.split("."):
            node = node[part]
        values[name] = node if f.kind is bool else NONE if node is None else str(node)
    return values


def compare_choices(base: ModelConfig) -> list[str]:
    """What the second pane can run: nothing, any design, or (with a reorganisation) none."""
    extra = [NO_REORGANISATION] if base.reorganisation.month is not None else []
    return [NONE, *registered_designs(), *extra]


def _parse(name: str, value: Any) -> Any:
    """A field's text as its value; whole numbers never pass through float (seeds stay exact).

    As with ``--set``, a whole-number field takes digits only: ``1e3`` and ``40.0`` are refused.
    """
    f = FIELDS[name]
    if f.kind is bool:
        return bool(value)
    text = str(value).strip()
    if f.optional and text.lower() in ("", NONE):
        return None  # unset: each design's own head-count
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(f"{f.label}: expected a number, got {cut(repr(value))}") from None
    if f.kind is int:
        if not re.fullmatch(r"[-+]?[0-9]+", text) or len(text) > 40:
            raise ConfigError(
                f"{f.label}: expected a whole number in digits, got {cut(repr(value))}"
            )
        return int(text)
    return number


def build_config(base: ModelConfig, values: dict[str, Any]) -> ModelConfig:
    """The page's fields over ``base``; ``ConfigError`` names the field and what is allowed."""
    unknown = set(values) - set(FIELDS) - {"design", "compare_with"}
    if unknown:
        raise ConfigError(f"unknown field(s): {', '.join(sorted(unknown))}")
    overrides = {FIELDS[k].path: _parse(k, v) for k, v in values.items() if k in FIELDS}
    design = values.get("design") or base.design
    if design not in registered_designs():
        allowed = ", ".join(registered_designs())
        raise ConfigError(f"Organisation design: unknown design {design!r}; allowed: {allowed}")
    overrides["model.design"] = design
    compare = values.get("compare_with", NONE)
    if compare not in compare_choices(base):
        allowed = ", ".join(compare_choices(base))
        raise ConfigError(f"Side by side with: unknown choice {compare!r}; allowed: {allowed}")
    data = apply_overrides({"model": base.model_dump()}, overrides)
    try:
        return validate_config(data, "page").model
    except ConfigError as exc:
        raise _labelled(exc) from None


def _labelled(exc: ConfigError) -> ConfigError:
    """The error with config paths named as the page's fields are."""
    text = str(exc).removeprefix("page: ")
    for f in FIELDS.values():
        text = text.replace(f.path + ":", f"{f.label} ({f.path}):")
    return ConfigError(text)


class VizModel:
    """The organisations a visitor watches, stepped a business day at a time together."""

    def __init__(self, config: ModelConfig, compare_with: str = NONE) -> None:
        self.config = config
        self.compare_with = compare_with
        models = [SalesModel(config)]
        if compare_with == NO_REORGANISATION:
            plain = config.model_copy(
                update={"reorganisation": config.reorganisation.model_copy(update={"month": None})}
            )
            models.append(SalesModel(plain))
        elif compare_with != NONE:
            models.append(SalesModel(config, design=compare_with))
        self.panes = []
        reorg = config.reorganisation
        for k, m in enumerate(models):
            short = short_title(m.design.name)
            if m.config.reorganisation.month is not None and reorg.design != m.design.name:
                short += f" → {short_title(reorg.design).lower()}"
            elif k and compare_with == NO_REORGANISATION:
                short += ", not reorganised"
            self.panes.append(Pane(m, Tracker(m), m.design.name, short, DESIGN_COLOURS[k]))

    @classmethod
    def from_fields(cls, base: ModelConfig, values: dict[str, Any]) -> VizModel:
        """A model from the page's fields; ``ConfigError`` (one line) if a field is bad."""
        config = build_config(base, values)
        try:  # a design can refuse a config (e.g. fewer reps than product lines)
            return cls(config, values.get("compare_with", NONE))
        except ConfigError as exc:
            raise _labelled(exc) from None

    @property
    def left(self) -> SalesModel:
        """The organisation chosen first."""
        return self.panes[0].model

    @property
    def right(self) -> SalesModel | None:
        """The organisation it is compared with, if any."""
        return self.panes[1].model if len(self.panes) > 1 else None

    @property
    def day(self) -> int:
        """Business days simulated."""
        return int(round(self.left.time))

    @property
    def horizon(self) -> int:
        """Business days in the run."""
        return self.config.horizon_days

    @property
    def running(self) -> bool:
        """Whether there are days left to simulate."""
        return self.day < self.horizon

    def step(self) -> None:
        """One business day for every organisation on the page."""
        if not self.running:
            return
        for pane in self.panes:
            pane.model.step()
            pane.tracker.update()
