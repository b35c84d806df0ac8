"""The model behind the page: one design, or two on the same seed stepping in lockstep.

SolaraViz re-creates the model from the page's fields on Reset. Fields are typed by people,
so this class never raises on bad input: it keeps simulating the last good organisation and
carries the message for the page to show.
"""

from __future__ import annotations

import weakref
from typing import Any

from mesa import Model

from salesim.config import validate_config
from salesim.designs import registered_designs
from salesim.loading import apply_overrides
from salesim.model import SalesModel
from salesim.params import ConfigError, ModelConfig

#: Page field -> (config path, label, kind)
FIELDS: dict[str, tuple[str, str, type]] = {
    "customers": ("model.population.customers", "Customers", int),
    "sales_staff": ("model.staff.sales_staff", "Sales staff (reps / CMs)", int),
    "pm_hours_per_day": ("model.staff.pm_hours_per_day", "PM hours a day for requests", float),
    "needs_per_customer_year": (
        "model.requests.needs_per_customer_year",
        "Needs per customer a year",
        float,
    ),
    "multi_line_share": (
        "model.population.multi_line_share",
        "Share of multi-line customers",
        float,
    ),
    "surge": ("model.market.surge", "2006-07 market surge", bool),
    "seed": ("model.seed", "Seed", int),
}
NONE = "none"


def _parse(name: str, value: Any) -> Any:
    kind, label = FIELDS[name][2], FIELDS[name][1]
    if kind is bool:
        return bool(value)
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ConfigError(f"{label}: expected a number, got {value!r}") from None
    if kind is int:
        if not number.is_integer():
            raise ConfigError(f"{label}: expected a whole number, got {value!r}")
        return int(number)
    return number


class VizModel(Model):
    """What the page runs: ``design`` and, side by side, ``compare_with`` on the same seed."""

    _last_good: weakref.ref | None = None

    def __init__(
        self,
        config: ModelConfig | None = None,
        design: str | None = None,
        compare_with: str = NONE,
        rng: Any = None,
        scenario: Any = None,
        **fields: Any,
    ) -> None:
        # SolaraViz passes Mesa's own ``scenario`` (and may pass ``rng``) on Reset; the seed that
        # matters is the page's ``seed`` field, which feeds every named stream.
        super().__init__(rng=0)
        self.error: str | None = None
        self._catching_up = False
        try:
            cfg = self.build_config(config or ModelConfig(), design, compare_with, fields)
            self.config = cfg
            self.models = [SalesModel(cfg)]
            if compare_with != NONE:
                self.models.append(SalesModel(cfg, design=compare_with))
        except ConfigError as exc:
            last = VizModel._last_good() if VizModel._last_good else None
            if last is None:
                raise
            self.error = str(exc).removeprefix("overrides: ")
            self.config, self.models = last.config, last.models
            self._catch_up(last.time)
        VizModel._last_good = weakref.ref(self)

    @staticmethod
    def build_config(
        base: ModelConfig, design: str | None, compare_with: str, fields: dict
    ) -> ModelConfig:
        """The page's fields over the base config; ConfigError names the bad field."""
        unknown = set(fields) - set(FIELDS)
        if unknown:
            raise ConfigError(f"unknown field(s): {', '.join(sorted(unknown))}")
        overrides = {FIELDS[k][0]: _parse(k, v) for k, v in fields.items() if v is not None}
        if design:
            overrides["model.design"] = design
        if compare_with not in (NONE, *registered_designs()):
            allowed = ", ".join([NONE, *registered_designs()])
            raise ConfigError(f"compare with: unknown design {compare_with!r}; allowed: {allowed}")
        data = apply_overrides({"model": base.model_dump()}, overrides)
        try:
            return validate_config(data, "overrides").model
        except ConfigError as exc:
            text = str(exc)
            for path, label, _ in FIELDS.values():
                text = text.replace(path + ":", f"{label} ({path}):")
            raise ConfigError(text) from None

    def _catch_up(self, time: float) -> None:
        """Advance this wrapper's clock to the adopted models' time without stepping them."""
        self._catching_up = True
        try:
            if time > self.time:
                self.run_until(time)
        finally:
            self._catching_up = False

    @property
    def left(self) -> SalesModel:
        """The design on the left (the one chosen first)."""
        return self.models[0]

    @property
    def right(self) -> SalesModel | None:
        """The design it is compared with, if any."""
        return self.models[1] if len(self.models) > 1 else None

    def step(self) -> None:
        """One business day for every simulated organisation."""
        if self._catching_up:
            return
        for model in self.models:
            if model.time < model.config.horizon_days:
                model.step()
        self.running = self.left.time < self.left.config.horizon_days


def page_params(base: ModelConfig) -> dict[str, Any]:
    """SolaraViz ``model_params``: the page's controls, with defaults read from ``base``."""
    designs = registered_designs()
    c = base
    return {
        "config": base,
        "design": {
            "type": "Select",
            "value": c.design,
            "values": designs,
            "label": "Organisation design",
        },
        "compare_with": {
            "type": "Select",
            "value": NONE,
            "values": [NONE, *designs],
            "label": "Side by side with",
        },
        "customers": {
            "type": "InputText",
            "value": str(c.population.customers),
            "label": FIELDS["customers"][1],
        },
        "sales_staff": {
            "type": "InputText",
            "value": str(c.staff.sales_staff),
            "label": FIELDS["sales_staff"][1],
        },
        "pm_hours_per_day": {
            "type": "SliderFloat",
            "value": c.staff.pm_hours_per_day,
            "min": 0.5,
            "max": 8.0,
            "step": 0.5,
            "label": FIELDS["pm_hours_per_day"][1],
        },
        "needs_per_customer_year": {
            "type": "SliderFloat",
            "value": c.requests.needs_per_customer_year,
            "min": 4.0,
            "max": 80.0,
            "step": 2.0,
            "label": FIELDS["needs_per_customer_year"][1],
        },
        "multi_line_share": {
            "type": "SliderFloat",
            "value": c.population.multi_line_share,
            "min": 0.0,
            "max": 1.0,
            "step": 0.05,
            "label": FIELDS["multi_line_share"][1],
        },
        "surge": {"type": "Checkbox", "value": c.market.surge, "label": FIELDS["surge"][1]},
        "seed": {"type": "InputText", "value": str(c.seed), "label": FIELDS["seed"][1]},
    }
