"""The page's levers: each a parameter of the model, with its unit and allowed range beside it.

A field is a config path and a label; its kind (whole number, number, yes/no), its unit and its
allowed range are read from the parameter's declaration in ``salesim.model.inputs.params``, so
the page can never offer a range the model refuses. Fields are typed by people, so
``Field.parse`` turns text into a value or a ``FieldError`` in plain words ("must be a whole
number from 1 to 100,000 (you typed -5)"), checked as the value is typed, before anything is
built. Fields that a company's own data files fix (head-count from a roster, customers from a
customer file) are shown as fixed, with the file's numbers (``fixed_fields``).
"""

from __future__ import annotations

import math
import re
import types
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import annotated_types

from salesim.model.data_files import own_data
from salesim.model.inputs import registry
from salesim.model.inputs.files import cut
from salesim.model.inputs.params import ConfigError, ModelConfig, Section
from salesim.viz.style import short_title

MARKET = "Customers and market"
STAFF = "Staff and hours"
PRODUCT_MANAGERS = "Product managers"
SKILLS = "Skills"
TRANSITION = "Learning and transition (a design switched to at day 0 or later)"
COSTS = "Costs and prices"
#: Groups in the order the page shows them; the first is open.
GROUPS = (MARKET, STAFF, PRODUCT_MANAGERS, SKILLS, TRANSITION, COSTS)


class FieldError(ValueError):
    """A value a field does not take, in plain words (the field's label is shown beside it)."""


@dataclass(frozen=True)
class Field:
    """A page field: the config path it sets, its label, its group and, optionally, a unit.

    ``unit`` overrides the declaration's unit where the page says it better ("hours a day").
    ``bounds`` is for an entry of a dict parameter only, whose allowed range its validator
    states rather than its type (``costs.staff_cost_per_year``); tests check the two agree.
    """

    path: str
    label: str
    group: str = MARKET
    unit: str = ""
    bounds: tuple[float, float] | None = None

    @property
    def kind(self) -> type:
        """bool, int or float, as the parameter is declared."""
        return _declaration(self.path)[0]

    @property
    def shown_unit(self) -> str:
        """The unit shown after the value."""
        return self.unit or _declaration(self.path)[2]

    @property
    def optional(self) -> bool:
        """Whether the parameter may be left unset (none): an empty field leaves it so."""
        return self.bounds is None and _declaration(self.path)[3]

    @property
    def limits(self) -> dict[str, float]:
        """The declared bounds: some of ge, gt, le, lt."""
        if self.bounds is not None:
            return {"ge": self.bounds[0], "le": self.bounds[1]}
        return _declaration(self.path)[1]

    @property
    def hint(self) -> str:
        """The allowed values in plain words: 'whole number from 1 to 100,000'."""
        if self.kind is bool:
            return ""
        return _allowed(self.kind, self.limits) + (
            ", or empty (none): not set" if self.optional else ""
        )

    def parse(self, text: Any) -> Any:
        """The value typed, or ``FieldError`` saying in plain words what the field takes.

        As with ``--set``, a whole number is digits only (``1e3`` and ``40.0`` are refused) and
        never passes through a float, so a large seed stays exact; long text is named, not
        echoed.
        """
        if self.kind is bool:
            return bool(text)
        typed = "" if text is None else str(text).strip()
        if self.optional and typed.lower() in ("", "none"):
            return None
        shown = cut(typed, 40)
        if not typed:
            raise FieldError(f"empty: enter a {self.hint}")
        if self.kind is int:
            if not re.fullmatch(r"[-+]?[0-9]{1,40}", typed):
                try:
                    float(typed)
                except ValueError:
                    raise FieldError(
                        f"expected a number ({self.hint}); '{shown}' is not one"
                    ) from None
                raise FieldError(f"expected a whole number in digits (you typed {shown})")
            number: float = int(typed)
        else:
            try:
                number = float(typed)
            except ValueError:
                number = float("nan")
            if not math.isfinite(number):
                raise FieldError(f"expected a number ({self.hint}); '{shown}' is not one")
        lim = self.limits
        inside = (
            number >= lim.get("ge", -math.inf)
            and number > lim.get("gt", -math.inf)
            and number <= lim.get("le", math.inf)
            and number < lim.get("lt", math.inf)
        )
        if not inside:
            raise FieldError(f"must be a {self.hint} (you typed {shown})")
        return number


def _number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def _allowed(kind: type, lim: dict[str, float]) -> str:
    what = "whole number" if kind is int else "number"
    # Bounds far beyond anything typed (a seed's 2**63 - 1) are not worth stating.
    lim = {k: v for k, v in lim.items() if abs(v) < 1e12}
    low = ("from", lim["ge"]) if "ge" in lim else ("above", lim["gt"]) if "gt" in lim else None
    high = ("to", lim["le"]) if "le" in lim else ("below", lim["lt"]) if "lt" in lim else None
    if low and high:
        if low[0] == "from" and high[0] == "to":
            return f"{what} from {_number(low[1])} to {_number(high[1])}"
        upper = f"up to {_number(high[1])}" if high[0] == "to" else f"below {_number(high[1])}"
        lower = f"from {_number(low[1])}" if low[0] == "from" else f"above {_number(low[1])}"
        return f"{what} {lower}, {upper}"
    if low:
        return (
            f"{what}, {_number(low[1])} or more"
            if low[0] == "from"
            else f"{what} above {_number(low[1])}"
        )
    if high:
        return (
            f"{what}, {_number(high[1])} or less"
            if high[0] == "to"
            else f"{what} below {_number(high[1])}"
        )
    return what


@cache
def _declaration(path: str) -> tuple[type, dict[str, float], str, bool]:
    """(kind, bounds, unit, may be none) of the parameter at ``path`` ('model.seed')."""
    section: Any = ModelConfig
    info = None
    optional = False
    parts = path.split(".")[1:]
    for k, part in enumerate(parts):
        if isinstance(section, type) and issubclass(section, Section):
            info = section.model_fields[part]
            section = info.annotation
            optional = False
            if typing.get_origin(section) in (typing.Union, types.UnionType):  # X | None
                optional = type(None) in typing.get_args(section)
                section = next(a for a in typing.get_args(section) if a is not type(None))
        elif typing.get_origin(section) is dict and k == len(parts) - 1:
            section = typing.get_args(section)[1]  # an entry of a dict: its value type
        else:
            raise KeyError(path)
    assert info is not None
    kind = section if section in (bool, int, float) else float
    bounds = {}
    for m in info.metadata:
        for key, cls in (
            ("ge", annotated_types.Ge),
            ("gt", annotated_types.Gt),
            ("le", annotated_types.Le),
            ("lt", annotated_types.Lt),
        ):
            if isinstance(m, cls):
                bounds[key] = getattr(m, key)  # an int bound stays exact (a seed's 2**63 - 1)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    return kind, bounds, str(extra.get("unit", "")), optional


#: name -> field; the name is the parameter's, or says which entry of a dict parameter it is.
FIELDS: dict[str, Field] = dict(
    [
        ("customers", Field("model.population.customers", "Customers at the start")),
        (
            "needs_per_customer_year",
            Field(
                "model.requests.needs_per_customer_year",
                "Needs a median customer raises",
                unit="a year",
            ),
        ),
        (
            "multi_line_share",
            Field("model.population.multi_line_share", "Customers buying two or more lines"),
        ),
        ("surge", Field("model.market.surge", "Market surge of 2006–07")),
        ("seed", Field("model.seed", "Seed (same seed: same customers and demand)")),
        ("sales_staff", Field("model.staff.sales_staff", "Front-line head-count", STAFF)),
        (
            "reps_per_line",
            Field("model.staff.product.reps_per_line", "Product reps per line", STAFF),
        ),
        (
            "field_reps_per_line",
            Field(
                "model.staff.product.field_reps_per_line", "Field reps per line (product)", STAFF
            ),
        ),
        (
            "cm_managers_per_region",
            Field(
                "model.staff.customer_manager.managers_per_region",
                "Customer managers per region",
                STAFF,
            ),
        ),
        (
            "cm_field_managers_per_region",
            Field(
                "model.staff.customer_manager.field_managers_per_region",
                "Field customer managers per region",
                STAFF,
            ),
        ),
        (
            "tio_managers_per_region",
            Field(
                "model.staff.three_in_one.managers_per_region",
                "Customer managers per region (three-in-one)",
                STAFF,
            ),
        ),
        (
            "desk_hours_per_day",
            Field(
                "model.staff.desk_hours_per_day",
                "Front-line time for requests",
                STAFF,
                "hours a day",
            ),
        ),
        (
            "portfolio_target",
            Field("model.staff.portfolio_target", "Portfolio one person can look after", STAFF),
        ),
        (
            "outlet_staff_per_region",
            Field(
                "model.staff.outlet_staff_per_region",
                "Outlet staff per region (three-in-one)",
                STAFF,
            ),
        ),
        (
            "regional_managers_per_region",
            Field(
                "model.staff.regional_managers_per_region", "Regional managers per region", STAFF
            ),
        ),
        (
            "rm_hours_per_day",
            Field(
                "model.staff.rm_hours_per_day",
                "Regional-manager time for escalations",
                STAFF,
                "hours a day",
            ),
        ),
        ("planners", Field("model.staff.planners", "Planners", STAFF)),
        (
            "product_managers_per_line",
            Field(
                "model.staff.product_managers_per_line",
                "Product managers per line",
                PRODUCT_MANAGERS,
            ),
        ),
        (
            "pm_hours_per_day",
            Field(
                "model.staff.pm_hours_per_day",
                "Product-manager time for requests",
                PRODUCT_MANAGERS,
                "hours a day",
            ),
        ),
        (
            "pm_service_hours",
            Field(
                "model.requests.pm_service.mean_hours",
                "Product-manager work per forwarded line",
                PRODUCT_MANAGERS,
            ),
        ),
        (
            "rep_line_skill",
            Field("model.staff.rep_line_skill", "Rep's skill on its own line", SKILLS),
        ),
        (
            "cm_line_skill",
            Field("model.staff.cm_line_skill", "Customer manager's skill on a line", SKILLS),
        ),
        (
            "expert_resolution",
            Field(
                "model.staff.expert_resolution",
                "PM-bound requests a fully skilled person settles",
                SKILLS,
            ),
        ),
        (
            "learning_months",
            Field(
                "model.reorganisation.learning_months",
                "Months for a new front line to learn",
                TRANSITION,
            ),
        ),
        (
            "initial_skill",
            Field("model.reorganisation.initial_skill", "Skill at the switch", TRANSITION),
        ),
        (
            "relationship_kept",
            Field(
                "model.reorganisation.relationship_kept",
                "Relationship a new owner inherits",
                TRANSITION,
            ),
        ),
        (
            "reorganisation_cost_per_person",
            Field(
                "model.costs.reorganisation_cost_per_person",
                "One-off cost per person appointed",
                TRANSITION,
            ),
        ),
        *(
            (
                f"cost_{role}",
                Field(
                    f"model.costs.staff_cost_per_year.{role}",
                    f"Cost of a person-year: {title}",
                    COSTS,
                    "a person-year",
                    (0.0, 1e9),
                ),
            )
            for role, title in (
                ("sales", "sales staff"),
                ("service_outlet", "outlet staff"),
                ("product_manager", "product manager"),
                ("regional_manager", "regional manager"),
                ("planner", "planner"),
            )
        ),
        (
            "travel_cost_per_hour",
            Field("model.costs.travel_cost_per_hour", "Travel cost", COSTS, "an hour"),
        ),
        ("price_per_tonne", Field("model.value.price_per_tonne", "List price", COSTS, "a tonne")),
        ("cost_per_tonne", Field("model.value.cost_per_tonne", "Unit cost", COSTS, "a tonne")),
    ]
)


def value_at(data: dict, path: str) -> Any:
    """The value at a dotted ``path`` of nested dicts."""
    node: Any = data
    for part in path.split("."):
        node = node[part]
    return node


def shown_file(path: str) -> str:
    """A data file as the page names it: its file name."""
    return Path(path).name


def fixed_fields(base: ModelConfig) -> dict[str, tuple[str, str]]:
    """Fields the config's own data files fix: name -> (value shown, why, with the numbers).

    A roster gives each design its front line (head-count and hours per person), so the page's
    head-count and hours are not used; a customer file gives the customers and what they buy.
    """
    cfg, table, roster = own_data(base)
    fixed: dict[str, tuple[str, str]] = {}
    if table is not None:
        name = shown_file(cfg.population.customers_file)
        fixed["customers"] = (
            f"{len(table):,}",
            f"fixed by {name}: {len(table):,} customers in {len(table.region_names)} regions",
        )
        fixed["multi_line_share"] = ("from the file", f"fixed by {name}: its lines per customer")
    if roster is not None:
        name = shown_file(cfg.staff.roster_file)
        counts, heads = [], set()
        for design in registry.registered_designs():
            try:
                people = registry.design_class(design)().roster_people(roster, cfg)
            except ConfigError:
                continue  # that design cannot be staffed from it: the page says so if chosen
            by_role: dict[str, int] = {}
            for p in people:
                by_role[p.role] = by_role.get(p.role, 0) + 1
            roles = " + ".join(f"{n} {ROLE_WORDS.get(r, r)}" for r, n in by_role.items())
            counts.append(f"{short_title(design)}: {roles}")
            heads.add(len(people))
        fixed["sales_staff"] = (
            " or ".join(str(h) for h in sorted(heads)) or "–",
            f"fixed by {name}: " + "; ".join(counts),
        )
        hours = sorted({p.hours for p in roster.people})
        fixed["desk_hours_per_day"] = (
            "per person",
            f"fixed by {name}: each person's own, {_number(hours[0])} to {_number(hours[-1])}",
        )
        fixed["outlet_staff_per_region"] = ("from the roster", f"fixed by {name}: its outlet rows")
        for field in ROSTER_HEADCOUNTS:
            fixed[field] = ("from the roster", fixed["sales_staff"][1])
    return fixed


#: Per-design head-counts a roster sets (it gives each design its people).
ROSTER_HEADCOUNTS = (
    "reps_per_line",
    "field_reps_per_line",
    "cm_managers_per_region",
    "cm_field_managers_per_region",
    "tio_managers_per_region",
)

ROLE_WORDS = {
    "product_rep": "reps",
    "customer_manager": "customer managers",
    "service_outlet": "outlet staff",
}
