"""What one visitor's page runs: a design, and optionally a second on the same seed, in lockstep.

The page's fields are typed by people, so ``VizModel.from_fields`` turns them into a config
and raises ``ConfigError`` with one line naming the field; the page keeps running the model it
had. Each simulated organisation comes with a ``Tracker`` that keeps what the page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salesim.experiments.config import validate_config
from salesim.model.inputs.config_files import apply_overrides
from salesim.model.inputs.params import ConfigError, ModelConfig
from salesim.model.inputs.registry import registered_designs
from salesim.model.sales_model import SalesModel
from salesim.viz.fields import FIELDS, FieldError, fixed_fields, value_at
from salesim.viz.style import DESIGN_COLOURS, short_title
from salesim.viz.tracker import Tracker

NONE = "none"
#: Side by side with the same design, the config's reorganisation switched off.
NO_REORGANISATION = "no_reorganisation"


@dataclass
class Pane:
    """One simulated organisation on the page.

    ``gap_name`` is how the gap column's header names it ("customer managers − product
    organisation").
    """

    model: SalesModel
    tracker: Tracker
    name: str
    short: str
    colour: str
    gap_name: str = ""


def in_place(base: ModelConfig) -> str:
    """The organisation in place: the world before day 0 (``start.design``).

    Without one, the design the config runs first (with a reorganisation: the one it leaves).
    """
    return base.start.design or base.design


def default_fields(base: ModelConfig) -> dict[str, Any]:
    """The page's fields as ``base`` sets them.

    The organisation in place comes first, compared with the config's design (or, with a
    reorganisation, with not reorganising).
    """
    data = {"model": base.model_dump()}
    first = in_place(base)
    if base.reorganisation.month is not None:
        compare = NO_REORGANISATION
    elif base.design != first:
        compare = base.design
    else:
        compare = NONE
    values: dict[str, Any] = {"design": first, "compare_with": compare}
    fixed = fixed_fields(base)
    for name, f in FIELDS.items():
        if name in fixed:
            values[name] = fixed[name][0]
            continue
        node = value_at(data, f.path)
        values[name] = node if f.kind is bool else _text(node)
    return values


def _text(x: Any) -> str:
    """A config value as a field shows it: 6, not 6.0; none as an empty field."""
    if x is None:
        return ""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def compare_choices(base: ModelConfig) -> list[str]:
    """What the second pane can run: nothing, any design, or (with a reorganisation) none."""
    extra = [NO_REORGANISATION] if base.reorganisation.month is not None else []
    return [NONE, *registered_designs(), *extra]


def field_errors(values: dict[str, Any], fixed: dict[str, Any]) -> dict[str, str]:
    """Field name -> what is wrong with its value, in plain words (``fixed`` fields aside)."""
    errors = {}
    for name, f in FIELDS.items():
        if name in values and name not in fixed:
            try:
                f.parse(values[name])
            except FieldError as exc:
                errors[name] = str(exc)
    return errors


def build_config(base: ModelConfig, values: dict[str, Any]) -> ModelConfig:
    """The page's fields over ``base``; ``ConfigError`` names the field and what is allowed.

    The organisation in place (``design``) is both the design run first and the world every
    pane starts from (``start.design``), as in a study whose baseline it is.
    """
    unknown = set(values) - set(FIELDS) - {"design", "compare_with"}
    if unknown:
        raise ConfigError(f"unknown field(s): {', '.join(sorted(unknown))}")
    fixed = fixed_fields(base)
    errors = field_errors(values, fixed)
    if errors:
        name, problem = next(iter(errors.items()))
        raise ConfigError(f"{FIELDS[name].label}: {problem}")
    overrides = {
        FIELDS[k].path: FIELDS[k].parse(v)
        for k, v in values.items()
        if k in FIELDS and k not in fixed
    }
    design = values.get("design") or in_place(base)
    if design not in registered_designs():
        allowed = ", ".join(registered_designs())
        raise ConfigError(f"Organisation in place: unknown design {design!r}; allowed: {allowed}")
    overrides["model.design"] = design
    overrides["model.start.design"] = design
    compare = values.get("compare_with", NONE)
    if compare not in compare_choices(base):
        allowed = ", ".join(compare_choices(base))
        raise ConfigError(f"Compared with: unknown choice {compare!r}; allowed: {allowed}")
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


def field_of(message: str) -> str | None:
    """The field a ``ConfigError`` from ``build_config`` or a design names, if any."""
    for name, f in FIELDS.items():
        if f"{f.path}:" in message or f"({f.path})" in message or message.startswith(f.label):
            return name
    return None


class VizModel:
    """The organisations a visitor watches, stepped a business day at a time together.

    The first pane is the organisation in place, the reference of the gap column; the second,
    if any, another design on the same seed (starting from the same world, so a reorganisation
    at day 0) or, for a config with a reorganisation, the organisation in place reorganised.
    """

    def __init__(self, config: ModelConfig, compare_with: str = NONE) -> None:
        self.config = config
        self.compare_with = compare_with
        reorg = config.reorganisation
        first = short_title(config.design)
        if reorg.month is not None and reorg.design != config.design:
            first += f" → {short_title(reorg.design).lower()}"
        plan = [(config, first, first.lower())]
        if compare_with == NO_REORGANISATION:
            # The reference is the organisation in place, kept: it comes first.
            plain = config.model_copy(
                update={"reorganisation": reorg.model_copy(update={"month": None})}
            )
            plan = [
                (plain, f"{short_title(config.design)}, not reorganised", "not reorganised"),
                (config, first, "reorganised"),
            ]
        elif compare_with != NONE:
            second = short_title(compare_with)
            if reorg.month is not None and reorg.design != compare_with:
                second += f" → {short_title(reorg.design).lower()}"
            plan.append(
                (config.model_copy(update={"design": compare_with}), second, second.lower())
            )
        self.panes = []
        for k, (cfg, short, gap_name) in enumerate(plan):
            m = SalesModel(cfg)
            self.panes.append(
                Pane(m, Tracker(m), m.design.name, short, DESIGN_COLOURS[k], gap_name)
            )

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
