"""Model parameters: every parameter of one replication, its default, unit and allowed range.

The sections here describe the model only; the config-file schema (model + experiment) and the
loader live in ``salesim.experiments.config``, which builds on this module. Design and mechanism
names are checked against ``registry``, never against the implementations.
"""

from __future__ import annotations

import os
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from salesim.model.inputs import registry

KINDS = ("order", "price_enquiry", "technical", "logistics")
#: File types a company's own data (customers, staff roster) may come in.
DATA_SUFFIXES = (".csv", ".parquet", ".xlsx")


class ConfigError(ValueError):
    """A configuration problem, described in one line that names the field or file and line."""


def F(default: Any, description: str, unit: str = "", **bounds: Any) -> Any:
    """Field with a description and a unit shown in the JSON schema."""
    extra = {"unit": unit} if unit else None
    return Field(default, description=description, json_schema_extra=extra, **bounds)


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, types are strict.

    Strict: ``true`` is not the integer 1 nor ``1`` a boolean, ``"40"`` is not a number and
    ``40.5`` is not a head-count (a whole float such as ``40.0`` is refused too, so that what
    was written is what runs); an integer is accepted where a real number is expected. NaN and
    infinities are refused everywhere.
    """

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, strict=True, allow_inf_nan=False
    )


Probability = Annotated[float, Field(ge=0.0, le=1.0)]
#: Logit intercepts lie in -20 .. 20 (probabilities 2e-9 to 1 - 2e-9) and logit coefficients in
#: 0 .. 20 (20 per unit of a 0-1 state): beyond that a probability only saturates at 0 or 1.
LOGIT = {"ge": -20.0, "le": 20.0}

#: Names that become file names (scenarios, experiments, designs, product lines).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$"
NAME_RULE = (
    "letters, digits and _ . + - only, starting with a letter or digit, at most 64 characters"
)


def check_name(what: str, name: object) -> str:
    """``name`` if it is a safe file-name component, else ValueError naming ``what``."""
    if not isinstance(name, str) or not re.match(NAME_PATTERN, name):
        raise ValueError(f"{what}: {name!r} is not a valid name; use {NAME_RULE}")
    return name


def data_file(value: str | None) -> str | None:
    """A data file's path made absolute, so that worker processes find it from any folder.

    Config files give paths relative to themselves (``salesim.model.inputs.config_files`` resolves
    them); a path from ``--set`` or from Python is relative to the working directory.
    """
    if value is None:
        return None
    if not value.strip():
        raise ValueError("expected a file name (.csv, .parquet or .xlsx) or null")
    path = Path(value.strip()).expanduser()
    if path.suffix.lower() not in DATA_SUFFIXES:
        allowed = ", ".join(DATA_SUFFIXES)
        raise ValueError(f"unsupported file type {path.suffix or '(none)'!r}; allowed: {allowed}")
    return os.path.abspath(path)


class ServiceTime(Section):
    """Distribution of the work a request needs at one stage, in business hours."""

    distribution: Literal["exponential", "lognormal", "fixed"] = F(
        "exponential", "shape of the service-time distribution"
    )
    mean_hours: float = F(0.5, "mean work (or delay) per request", "business hours", ge=0, le=80)
    cv: float = F(1.0, "coefficient of variation (lognormal only)", "ratio", gt=0, le=5)


class Calendar(Section):
    """The business calendar: the model clock runs in business days and hours."""

    hours_per_day: float = F(8.0, "business hours in a business day", "hours", ge=0.1, le=24)
    days_per_month: int = F(21, "business days in a month", "days", ge=1, le=31)
    months_per_year: int = F(12, "months in a business year", "months", ge=1, le=12)
    start: str | None = F(
        None,
        "first simulated month (day 0) as YYYY-MM, e.g. 2005-01; the measured period starts "
        "warmup_days later (none: periods are given in months only); it only labels periods "
        "in reports",
        pattern=r"^(19|20|21)\d\d-(0[1-9]|1[0-2])$",
    )


class Population(Section):
    """Customers at the start and the new ones who appear later."""

    customers: int = F(
        1500,
        "customers at the start of the horizon (with customers_file: the file's rows)",
        "customers",
        ge=1,
        le=1_000_000,
    )
    regions: int = F(
        3,
        "sales regions (with customers_file: the file's distinct regions)",
        "regions",
        ge=1,
        le=50,
    )
    lines: list[str] = F(
        ["HDPE", "LDPE", "LLDPE", "PP", "PS"], "product lines sold", min_length=1, max_length=20
    )
    line_weights: list[Annotated[float, Field(gt=0, le=1e6)]] | None = F(
        None,
        "relative popularity of each line, each above 0 and at most 1e6 (default: equal)",
        "weight",
    )
    multi_line_share: float = F(
        0.4, "share of customers buying two or more lines", "share", ge=0, le=1
    )
    max_lines_per_customer: int = F(3, "most lines one customer buys", "lines", ge=1, le=20)
    volume_pareto_shape: float = F(
        1.4, "Pareto tail index of annual volume per line (smaller = heavier tail)", "", gt=1, le=10
    )
    volume_min_tonnes: float = F(
        50.0, "smallest annual volume per line", "tonnes", ge=0.001, le=1_000_000
    )
    key_share: float = F(
        0.1, "share of customers (largest volume) in the key segment", "share", ge=0, le=1
    )
    medium_share: float = F(0.3, "share of customers in the medium segment", "share", ge=0, le=1)
    direct_share: float = F(
        0.25,
        "probability an initial customer buys direct rather than via a distributor, before the "
        "start settles the channels (start.channel_equilibrium)",
        "share",
        ge=0,
        le=1,
    )
    new_customers_per_year: float = F(
        0.25,
        "new potential customers appearing per year, as a share of the initial count (the "
        "default brings in about as many customers as churn takes: a steady book)",
        "share/year",
        ge=0,
        le=2,
    )
    customers_file: str | None = F(
        None,
        "the company's own customers (CSV, Parquet or .xlsx; docs/own-data.md) instead of the "
        "synthetic draw; relative to the config file that names it",
    )

    @field_validator("customers_file")
    @classmethod
    def _customers_file(cls, value: str | None) -> str | None:
        return data_file(value)

    @model_validator(mode="after")
    def _check(self) -> Population:
        if self.line_weights is not None and len(self.line_weights) != len(self.lines):
            raise ValueError(
                f"line_weights: needs one weight per line ({len(self.lines)}), "
                f"got {len(self.line_weights)}"
            )
        if self.key_share + self.medium_share > 1:
            raise ValueError("key_share + medium_share: must be at most 1")
        for line in self.lines:
            check_name("lines", line)
        if len(set(self.lines)) != len(self.lines):
            raise ValueError("lines: names must be distinct")
        return self


#: The front-line head-count of a design that sets none of its own, when ``staff.sales_staff`` is
#: not given: 6 reps per line, 10 customer managers per region at the default 5 lines, 3 regions.
DEFAULT_SALES_STAFF = 30
#: Roles on the pay-roll, in the order cost to serve is itemised (``costs.staff_cost_per_year``).
PAY_ROLES = ("sales", "product_manager", "regional_manager", "planner", "service_outlet")


class FrontLine(Section):
    """Base of a design's own front-line levers: people per group, field people, their hours.

    A group is what one person's portfolio is drawn from: a product line or a region. The desk
    people own customers and serve their requests; field people own none and give the whole
    business day to prospecting their group's distributor customers and open new ones.
    """

    #: ``salesim params`` shows the section as a table of its own.
    own_table: ClassVar[bool] = True
    #: The fields holding desk people and field people per group; what a group is; who they are.
    desk_field: ClassVar[str]
    field_field: ClassVar[str]
    group: ClassVar[str]
    people: ClassVar[str]

    def headcount(self, staff: Staff, groups: int, besides: int = 0) -> tuple[int, int]:
        """(desk people, field people) of the design in all, over ``groups`` groups.

        Its own people per group if set; otherwise the common head-count (``staff.sales_staff``)
        less its field people and ``besides`` (outlet staff), as before there were levers per
        design.
        """
        field = getattr(self, self.field_field) * groups
        own = getattr(self, self.desk_field)
        if own is not None:
            return own * groups, field
        return staff.common_headcount - field - besides, field

    def conflict(self, staff: Staff, groups: int, besides: int, where: str) -> str | None:
        """What is wrong if this section's head-count and ``staff.sales_staff`` disagree.

        Both must be set for a conflict; ``where`` is the section's dotted name.
        """
        own = getattr(self, self.desk_field)
        if own is None or staff.sales_staff is None:
            return None
        desk, field = self.headcount(staff, groups)
        if desk + field + besides == staff.sales_staff:
            return None
        extra = getattr(self, self.field_field)
        per = f"({own} + {extra} in the field)" if extra else str(own)
        made = f"{per} {self.people} per {self.group} x {groups} {self.group}s"
        made += f" + {besides} outlet staff" if besides else ""
        return (
            f"{where}.{self.desk_field}: {made} = {desk + field + besides} people, but "
            f"model.staff.sales_staff is {staff.sales_staff}; set one of the two"
        )


def _desk_hours(who: str) -> Any:
    return F(
        None,
        f"hours a day {who} gives to requests: the speed of its request work (none: "
        "staff.desk_hours_per_day)",
        "hours",
        ge=0.1,
        le=24,
    )


def _field_hours(who: str) -> Any:
    return F(
        None,
        f"most hours a business day {who} spends in the field, visiting and prospecting (none: "
        "every hour request work leaves, idle desk time included; assumption)",
        "hours",
        ge=0,
        le=24,
    )


class ProductStaff(FrontLine):
    """The product design's own front line: reps per line, their territory, field reps, hours."""

    desk_field: ClassVar[str] = "reps_per_line"
    field_field: ClassVar[str] = "field_reps_per_line"
    group: ClassVar[str] = "line"
    people: ClassVar[str] = "reps"

    reps_per_line: int | None = F(
        None,
        "product reps per line who own customers (none: staff.sales_staff less field reps, rep "
        "i on line i mod the number of lines)",
        "people",
        ge=1,
        le=5_000,
    )
    territory: Literal["all_regions", "one_region"] = F(
        "all_regions",
        "what each rep covers: all_regions (the case's product organisation: travel per visit "
        "grows with the regions) or one_region (reps per line per region: a line's rep j works "
        "region j mod the number of regions, and owns that region's customers of the line; "
        "assumption)",
    )
    field_reps_per_line: int = F(
        0,
        "reps per line who own no customers and give the whole business day to prospecting "
        "their line, in their territory (front-line redeployment; assumption)",
        "people",
        ge=0,
        le=5_000,
    )
    desk_hours_per_day: float | None = _desk_hours("a rep")
    field_hours_per_day: float | None = _field_hours("a rep")


class CustomerManagerStaff(FrontLine):
    """The customer_manager design's own front line: managers per region, field managers, hours."""

    desk_field: ClassVar[str] = "managers_per_region"
    field_field: ClassVar[str] = "field_managers_per_region"
    group: ClassVar[str] = "region"
    people: ClassVar[str] = "customer managers"

    managers_per_region: int | None = F(
        None,
        "customer managers per region who own customers (none: staff.sales_staff less field "
        "managers, manager i in region i mod the number of regions)",
        "people",
        ge=1,
        le=2_000,
    )
    field_managers_per_region: int = F(
        0,
        "customer managers per region who own no customers and give the whole business day to "
        "prospecting the region (the case: managers moved to the front line; size: assumption)",
        "people",
        ge=0,
        le=2_000,
    )
    desk_hours_per_day: float | None = _desk_hours("a customer manager")
    field_hours_per_day: float | None = _field_hours("a customer manager")


class ThreeInOneStaff(CustomerManagerStaff):
    """The three_in_one design's own front line (its outlets: staff.outlet_staff_per_region)."""

    managers_per_region: int | None = F(
        None,
        "customer managers per region who own customers (none: staff.sales_staff less outlet "
        "and field staff, manager i in region i mod the number of regions)",
        "people",
        ge=1,
        le=2_000,
    )


class Staff(Section):
    """Head-counts, hours and skills of every role; each design's own front line in its section."""

    sales_staff: int | None = F(
        None,
        "one front-line head-count for every design that sets none of its own (staff.product, "
        "staff.customer_manager, staff.three_in_one): reps split over the lines, customer "
        "managers over the regions, less outlet and field staff; none: 30",
        "people",
        ge=1,
        le=100_000,
    )
    desk_hours_per_day: float = F(
        6.0,
        "hours a day a sales person gives to requests, unless the design sets its own; the "
        "business day's hours request work leaves are field time (visits, prospecting)",
        "hours",
        ge=0.1,
        le=24,
    )
    rep_line_skill: float = F(
        1.0,
        "skill of a product rep on its own line (work takes 1/skill as long)",
        "0-1",
        ge=0.01,
        le=1,
    )
    cm_line_skill: float = F(
        0.75,
        "skill of a customer manager on any one line (work takes 1/skill as long)",
        "0-1",
        ge=0.01,
        le=1,
    )
    expert_resolution: float = F(
        0.6,
        "share of PM-bound requests a fully skilled person settles without the PM",
        "share",
        ge=0,
        le=1,
    )
    portfolio_target: float = F(
        60.0,
        "customer-lines one person can look after before service degrades (1e9: never)",
        "customer-lines",
        ge=1,
        le=1e9,
    )
    overload_slope: float = F(
        0.5, "service-time increase per 100% of portfolio above target", "ratio", ge=0, le=10
    )
    product_managers_per_line: int = F(
        1, "product managers per line (pooled)", "people", ge=1, le=100
    )
    pm_hours_per_day: float = F(6.0, "hours a day a PM gives to requests", "hours", ge=0.1, le=24)
    pm_supervision_share: float = F(
        0.0,
        "under the product design: share of pm_hours_per_day a PM spends supervising its "
        "line's reps instead of requests (the case: reps reported to their line's product "
        "manager; size: assumption; 0 keeps the PM's hours for requests)",
        "share",
        ge=0,
        le=0.95,
    )
    pm_planning_share: float = F(
        0.0,
        "under the customer-manager designs: share of pm_hours_per_day a PM spends on market "
        "planning and allocation instead of requests (the case: PMs guided customer managers "
        "on matching production with sales, planning and allocation; size: assumption)",
        "share",
        ge=0,
        le=0.95,
    )
    regional_managers_per_region: int = F(1, "regional managers per region", "people", ge=1, le=100)
    rm_hours_per_day: float = F(
        3.0, "hours a day a regional manager gives to escalations", "hours", ge=0.1, le=24
    )
    planners: int = F(
        3, "planners in the planning & information department", "people", ge=1, le=1000
    )
    planner_hours_per_day: float = F(
        4.0, "hours a day a planner spends consolidating demand records", "hours", ge=0.1, le=24
    )
    planner_minutes_per_record: float = F(
        5.0,
        "planner time to consolidate one (customer, informant) budget record per month",
        "minutes",
        ge=0.01,
        le=10_000,
    )
    outlet_staff_per_region: int = F(
        1,
        "service-outlet staff per region (three_in_one's outlets; taken from sales_staff when "
        "three_in_one.managers_per_region is none)",
        "people",
        ge=0,
        le=1000,
    )
    outlet_hours_per_day: float = F(
        7.0, "hours a day outlet staff give to requests", "hours", ge=0.1, le=24
    )
    visit_hours: float = F(2.0, "time at the customer per visit", "hours", ge=0.01, le=24)
    travel_hours_per_region: float = F(
        1.0,
        "travel per visit for someone covering one region; grows with regions covered",
        "hours",
        ge=0,
        le=24,
    )
    travel_region_exponent: float = F(
        1.0,
        "travel per visit = travel_hours_per_region * regions_covered ** exponent",
        "",
        ge=0,
        le=3,
    )
    roster_file: str | None = F(
        None,
        "the company's front-line people (CSV, Parquet or .xlsx; docs/own-data.md): each design "
        "takes its front line from it instead of the head-counts here; relative to the config "
        "file",
    )
    product: ProductStaff = Field(default_factory=ProductStaff)
    customer_manager: CustomerManagerStaff = Field(default_factory=CustomerManagerStaff)
    three_in_one: ThreeInOneStaff = Field(default_factory=ThreeInOneStaff)

    @field_validator("roster_file")
    @classmethod
    def _roster_file(cls, value: str | None) -> str | None:
        return data_file(value)

    @property
    def common_headcount(self) -> int:
        """The front-line head-count of a design that sets none of its own."""
        return DEFAULT_SALES_STAFF if self.sales_staff is None else self.sales_staff

    def pm_request_hours(self, duty: str) -> float:
        """Hours a day a PM gives to requests, after its design's other duty."""
        other = {"supervision": self.pm_supervision_share, "planning": self.pm_planning_share}
        return self.pm_hours_per_day * (1 - other.get(duty, 0.0))

    def conflict(self, lines: int, regions: int) -> str | None:
        """A design's own head-count that disagrees with ``sales_staff`` (both set), if any."""
        outlets = self.outlet_staff_per_region * regions
        for name, groups, besides in (
            ("product", lines, 0),
            ("customer_manager", regions, 0),
            ("three_in_one", regions, outlets),
        ):
            problem = getattr(self, name).conflict(self, groups, besides, f"staff.{name}")
            if problem:
                return problem
        return None


class Requests(Section):
    """How often customers need something, what kind, and how much work each stage takes."""

    needs_per_customer_year: float = F(
        24.0,
        "needs a median-volume customer raises per year at neutral satisfaction",
        "needs/year",
        gt=0,
        le=1000,
    )
    volume_elasticity: float = F(
        0.35, "need rate grows as (volume / median) ** elasticity", "", ge=0, le=2
    )
    distributor_need_share: float = F(
        0.3,
        "need rate of a distributor-served customer relative to a direct one",
        "ratio",
        ge=0,
        le=1,
    )
    satisfaction_effect: float = F(
        0.5,
        "need rate multiplier 1 + effect * (satisfaction - 0.5) (Ho, Park & Zhou 2006)",
        "",
        ge=0,
        le=2,
    )
    kind_mix: dict[str, float] = F(
        {"order": 0.45, "price_enquiry": 0.25, "technical": 0.15, "logistics": 0.15},
        "share of needs of each kind",
    )
    service: dict[str, ServiceTime] = F(
        {
            "order": ServiceTime(mean_hours=0.5),
            "price_enquiry": ServiceTime(mean_hours=0.4),
            "technical": ServiceTime(distribution="lognormal", mean_hours=1.2, cv=1.0),
            "logistics": ServiceTime(mean_hours=0.5),
        },
        "front-line work per line of a need, by kind",
    )
    pm_bound: dict[str, float] = F(
        {"order": 0.1, "price_enquiry": 0.5, "technical": 0.4, "logistics": 0.0},
        "probability a line of a need requires the product manager, by kind",
    )
    pm_service: ServiceTime = F(
        ServiceTime(mean_hours=0.6), "product-manager work per forwarded line"
    )
    escalation_prob: float = F(
        0.08,
        "probability a technical complaint is escalated after front-line handling",
        "share",
        ge=0,
        le=1,
    )
    escalation_service: ServiceTime = F(ServiceTime(mean_hours=1.0), "work per escalation")
    multi_line_need_prob: float = F(
        0.5,
        "probability a need of a multi-line customer spans all the lines it buys",
        "share",
        ge=0,
        le=1,
    )
    extra_line_work: float = F(
        0.5,
        "front-line work for each extra line handled in one contact, as a share of a line's work",
        "share",
        ge=0,
        le=1,
    )
    handoff_delay: ServiceTime = F(
        ServiceTime(distribution="fixed", mean_hours=1.0), "delay each internal handoff adds"
    )
    coordination_delay: ServiceTime = F(
        ServiceTime(distribution="fixed", mean_hours=4.0),
        "delay before a second team picks up its part of a need another team received",
    )

    @field_validator("kind_mix", "pm_bound")
    @classmethod
    def _kinds(cls, value: dict[str, float]) -> dict[str, float]:
        for key, share in value.items():
            if key not in KINDS:
                raise ValueError(f"unknown request kind {key!r}; allowed: {', '.join(KINDS)}")
            if not 0 <= share <= 1:
                raise ValueError(f"{key}: must be between 0 and 1, got {share}")
        return value

    @field_validator("service")
    @classmethod
    def _service_kinds(cls, value: dict[str, ServiceTime]) -> dict[str, ServiceTime]:
        for key in value:
            if key not in KINDS:
                raise ValueError(f"unknown request kind {key!r}; allowed: {', '.join(KINDS)}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Requests:
        if sum(self.kind_mix.values()) <= 0:
            raise ValueError("kind_mix: at least one kind needs a positive share")
        missing = [k for k in self.kind_mix if self.kind_mix[k] > 0 and k not in self.service]
        if missing:
            raise ValueError(f"service: no service time for kind(s) {', '.join(missing)}")
        return self


class Satisfaction(Section):
    """Expectation-disconfirmation satisfaction with anchoring (Bolton 1998)."""

    enabled: bool = F(
        True, "update satisfaction from experience (off: satisfaction stays at its start)"
    )
    initial: float = F(0.5, "mean satisfaction at the start", "0-1", ge=0, le=1)
    memory: float = F(0.7, "weight a of last month's satisfaction (anchoring)", "", ge=0, le=1)
    expectation_memory: float = F(0.8, "weight g of last month's expectation", "", ge=0, le=1)
    disconfirmation: float = F(0.5, "effect of performance minus expectation", "", ge=0, le=5)
    response_scale_hours: float = F(
        8.0,
        "response time at which the response component falls to 1/e",
        "business hours",
        ge=0.01,
        le=10_000,
    )
    weight_response: float = F(
        0.5, "weight of response time in perceived performance", "", ge=0, le=100
    )
    weight_contacts: float = F(
        0.2, "weight of one-stop service (1 / contacts per need)", "", ge=0, le=100
    )
    weight_fulfilment: float = F(0.3, "weight of order fill rate", "", ge=0, le=100)


def _per_segment(value: dict[str, float], low: float, high: float) -> dict[str, float]:
    """A value per customer segment, each within [low, high]."""
    if set(value) != {"key", "medium", "small"}:
        raise ValueError(f"needs exactly the segments key, medium, small; got {', '.join(value)}")
    for segment, x in value.items():
        if not low <= x <= high:
            raise ValueError(f"{segment}: must be between {low:g} and {high:g}, got {x}")
    return value


class Relationship(Section):
    """Relationship strength built by visits, lost without them."""

    initial: float = F(
        0.4, "mean relationship strength before the start settles", "0-1", ge=0, le=1
    )
    decay: float = F(
        0.08, "share of relationship lost each month without visits", "share/month", ge=0, le=1
    )
    gain_per_visit: float = F(
        0.12,
        "relationship gained per visit, on each line the visitor owns (visit credit per line)",
        "0-1",
        ge=0,
        le=1,
    )
    visits_per_month: dict[str, float] = F(
        {"key": 2.0, "medium": 1.0, "small": 0.25},
        "target visits per month by each person who owns lines of a customer, by segment (key, "
        "medium, small), 0 to 100",
        "visits/month",
    )

    @field_validator("visits_per_month")
    @classmethod
    def _segments(cls, value: dict[str, float]) -> dict[str, float]:
        return _per_segment(value, 0, 100)


class Churn(Section):
    """Monthly hazard of leaving for a competitor (Rust, Lemon & Zeithaml 2004)."""

    enabled: bool = F(True, "customers may leave for a competitor")
    intercept: float = F(-4.0, "logit of the monthly hazard at neutral state", "logit", **LOGIT)
    satisfaction: float = F(
        4.0, "hazard falls with satisfaction above 0.5", "logit/unit", ge=0, le=20
    )
    relationship: float = F(
        1.5, "hazard falls with relationship strength above 0.5", "logit/unit", ge=0, le=20
    )
    failed_orders: float = F(
        3.0,
        "hazard rises with the share of ordered volume not delivered",
        "logit/unit",
        ge=0,
        le=20,
    )
    competitor: float = F(1.0, "hazard rises with competitor pressure", "logit/unit", ge=0, le=20)
    switching_cost: dict[str, float] = F(
        {"key": 0.8, "medium": 0.4, "small": 0.0},
        "switching cost by segment (key, medium, small), subtracted from the logit, 0 to 20",
        "logit",
    )

    @field_validator("switching_cost")
    @classmethod
    def _segments(cls, value: dict[str, float]) -> dict[str, float]:
        return _per_segment(value, 0, 20)


class Channel(Section):
    """Moves between buying direct and via distributors (Anderson 1985; Taylor 2003)."""

    enabled: bool = F(True, "customers may move between direct and distributor channels")
    fallback_intercept: float = F(
        -3.5, "logit of a direct customer falling back to a distributor", "logit", **LOGIT
    )
    fallback_satisfaction: float = F(
        4.0, "fallback falls with satisfaction above 0.5", "logit/unit", ge=0, le=20
    )
    fallback_response: float = F(
        1.0, "fallback rises with (mean response / response scale - 1)", "logit/unit", ge=0, le=20
    )
    fallback_log_volume: float = F(
        0.5, "large customers fall back less (Taylor 2003)", "logit/log-unit", ge=0, le=20
    )
    convert_intercept: float = F(
        -5.0,
        "logit of converting a distributor customer per prospecting visit",
        "logit",
        **LOGIT,
    )
    convert_log_volume: float = F(
        0.6, "large customers convert more readily (Anderson 1985)", "logit/log-unit", ge=0, le=20
    )
    convert_satisfaction: float = F(
        2.0, "satisfied customers convert more readily", "logit/unit", ge=0, le=20
    )


class Prospecting(Section):
    """New customers and who wins them."""

    enabled: bool = F(True, "sales staff prospect with their spare field time")
    window_months: int = F(
        3, "months a new customer stays open before settling elsewhere", "months", ge=1, le=120
    )
    distributor_share: float = F(
        0.5,
        "share of unprospected new customers that end up buying our product via distributors",
        "share",
        ge=0,
        le=1,
    )
    new_direct_prob: float = F(
        0.35, "probability a prospecting visit wins a new customer direct", "share", ge=0, le=1
    )
    volume_targeting: float = F(
        0.0,
        "how far prospecting aims at large customers: a candidate's chance of a visit is "
        "proportional to (its volume / the mean volume) to this power (0: uniform over "
        "candidates; 1: proportional to volume). The case: customer managers moved to the "
        "front line of the target markets; size: assumption",
        "",
        ge=0,
        le=2,
    )


class Market(Section):
    """Demand growth, the surge scenario and the supply the group allocates."""

    growth_per_year: float = F(
        0.05, "growth of customers' demand per year", "share/year", ge=-0.5, le=2
    )
    surge: bool = F(False, "apply the market surge scenario (2006-2007)")
    surge_start_month: int = F(6, "first month of the surge", "month", ge=0, le=5000)
    surge_months: int = F(12, "length of the surge", "months", ge=1, le=5000)
    surge_factor: float = F(1.4, "demand multiplier during the surge", "ratio", gt=0, le=10)
    surge_new_customers_per_year: float = F(
        0.0,
        "new customers entering the market during the surge, per year, as a share of the "
        "customers at start, on top of population.new_customers_per_year (the case: the market "
        "volume surged in 2006-2007; entrants as well as higher demand: assumption)",
        "share/year",
        ge=0,
        le=5,
    )
    demand_noise: float = F(
        0.15, "month-to-month noise in a customer's demand (lognormal sigma)", "", ge=0, le=2
    )
    supply_share: float = F(
        1.0,
        "supply the group allocates to us, as a share of initial market volume",
        "share",
        gt=0,
        le=10,
    )
    supply_growth_per_year: float = F(
        0.03, "growth of that allocation per year", "share/year", ge=-0.5, le=2
    )
    plan_safety: float = F(0.05, "supply ordered above plan", "share", ge=0, le=1)


class Competition(Section):
    """Pressure from competitors (multinationals) on wallet, churn and price."""

    enabled: bool = F(True, "competitors exert pressure on share of wallet, churn and price")
    pressure: float = F(0.5, "competitor pressure (0 none, 1 strong)", "0-1", ge=0, le=1)
    pressure_during_surge: float = F(
        0.3, "pressure while the market surges (competitors are short too)", "0-1", ge=0, le=1
    )


class Wallet(Section):
    """Share of its demand a customer buys from us."""

    initial: float = F(
        0.3, "mean share of its demand a customer buys from us at the start", "share", ge=0, le=1
    )
    intercept: float = F(-0.2, "logit of target share of wallet at neutral state", "logit", **LOGIT)
    satisfaction: float = F(
        4.0, "share of wallet rises with satisfaction above 0.5", "logit/unit", ge=0, le=20
    )
    relationship: float = F(
        2.0, "share of wallet rises with relationship above 0.5", "logit/unit", ge=0, le=20
    )
    competitor: float = F(
        1.5, "share of wallet falls with competitor pressure", "logit/unit", ge=0, le=20
    )
    adjustment: float = F(
        0.15, "monthly speed of movement towards the target share", "share/month", ge=0, le=1
    )


class Information(Section):
    """What the owner of a (customer, line) knows of what the customer will really buy.

    ``knowledge = clip(base + relationship_effect * r, 0, 1) * (1 - whole_customer_weight *
    (1 - seen))``, with ``r`` the relationship between the customer and the line's owner and
    ``seen`` the share of the customer's volume that the same person owns. A line owned by
    someone else is known only through that person. Forms: assumption; the case says the
    product organisation's picture of each customer was fragmented (docs/case.md).
    """

    base: float = F(
        0.1, "knowledge of a line's purchases with no relationship (assumption)", "0-1", ge=0, le=1
    )
    relationship_effect: float = F(
        0.9, "knowledge gained per unit of relationship with the line's owner (assumption)",
        "0-1", ge=0, le=1,
    )  # fmt: skip
    whole_customer_weight: float = F(
        0.5,
        "share of a line's knowledge that depends on seeing the customer's other lines: a "
        "customer splits its purchases across lines and suppliers as a whole (assumption; "
        "0 switches the whole-customer advantage off)",
        "0-1",
        ge=0,
        le=1,
    )


class Declarations(Section):
    """Budgets declared to us: annual budgets and monthly call-offs, per line.

    ``declared = expected purchases from us * (1 + overstatement * (1 - knowledge)) * noise``,
    noise lognormal with sigma ``noise * (1 - knowledge)``, drawn once a year per (customer,
    line). Customers inflate what they declare when supply is allocated and the declaration is
    cheap talk (Lee, Padmanabhan & Whang 1997, shortage gaming; Cachon & Lariviere 2001), less
    so where they are known and trusted (Ozer, Zheng & Chen 2011): the dependence on knowledge
    is an assumption.
    """

    overstatement: float = F(
        4.0,
        "how far an unknown customer inflates its declared budget: declared / real - 1 at zero "
        "knowledge (fitted to the 2005 budget fulfilment)",
        "ratio",
        ge=0,
        le=50,
    )
    noise: float = F(
        0.3, "lognormal sigma of a declaration's error at zero knowledge (assumption)", "",
        ge=0, le=3,
    )  # fmt: skip
    allocation_by_accuracy: float = F(
        0.0,
        "share of scarce supply allocated by a customer's past forecast accuracy rather than by "
        "what it declares: inflating a declaration pays only on the rest, so overstatement "
        "scales by 1 - this (Lee, Padmanabhan & Whang 1997 on shortage gaming; allocation by "
        "forecast accuracy curbs it in the lab, POMS 2019, doi 10.1111/poms.13066; the linear "
        "form: assumption). 0: allocation by declaration, as in 2005",
        "share",
        ge=0,
        le=1,
    )


class Planning(Section):
    """Plans from declarations, revised monthly from orders within the planners' capacity."""

    enabled: bool = F(
        True, "plan from the declarations staff hold (off: plan equals what customers will order)"
    )
    order_weight: float = F(
        0.5,
        "weight planners give last month's orders over the call-off when they revise a record "
        "(the planning department's monthly balancing; fitted to the 2005 plan completion)",
        "0-1",
        ge=0,
        le=1,
    )


class FieldWork(Section):
    """How each person splits the time not spent on requests between visits and prospecting."""

    prospecting_share: float = F(
        0.2,
        "share of field time each person keeps for prospecting; visits take the rest and any "
        "visit time left over also goes to prospecting (assumption)",
        "share",
        ge=0,
        le=1,
    )
    extra_line_visit_share: float = F(
        0.25,
        "extra time at the customer for each further line the visitor owns, as a share of a "
        "visit (assumption: a visit covering three lines takes longer than one)",
        "share",
        ge=0,
        le=2,
    )


class Mechanisms(Section):
    """Which registered implementation fills each slot of the monthly cycle."""

    sales: str = F("supply_limited", "demand, orders, supply-limited deliveries, price")
    satisfaction: str = F("expectation_disconfirmation", "satisfaction from experience")
    field_work: str = F("reserved_prospecting", "visits and prospecting in field time")
    wallet: str = F("logistic_target", "share of wallet")
    churn: str = F("logistic", "customers leaving for a competitor")
    channel: str = F("logistic_fallback", "direct customers falling back to distributors")
    newcomers: str = F("open_window", "new customers nobody prospected settling elsewhere")
    declarations: str = F("knowledge_overstatement", "budgets and call-offs declared to us")
    planning: str = F("adaptive", "plan and supply from declarations and orders")

    @model_validator(mode="after")
    def _registered(self) -> Mechanisms:
        for slot, name in self.model_dump().items():
            problem = registry.unknown_mechanism(slot, name)
            if problem:
                raise ValueError(f"{slot}: {problem}")
        return self


class Start(Section):
    """The state of the world at day 0: the steady state of the organisation customers know."""

    settle_months: int = F(
        36,
        "months of the monthly mechanisms iterated before day 0 so that satisfaction, "
        "relationships, share of wallet and plans start at their steady state (0: start from the "
        "drawn initial values)",
        "months",
        ge=0,
        le=240,
    )
    design: str | None = F(
        None,
        "the organisation in force before day 0; none: the run's own design, or in an "
        "experiment its baseline design, so that every design starts from the same world and "
        "any other design is a reorganisation at day 0",
    )
    channel_equilibrium: bool = F(
        True,
        "draw each customer's channel from the steady state of prospecting conversions and "
        "fallbacks (off: keep population.direct_share)",
    )

    @field_validator("design")
    @classmethod
    def _registered(cls, name: str | None) -> str | None:
        problem = None if name is None else registry.unknown_design(name)
        if problem:
            raise ValueError(problem)
        return name


class Value(Section):
    """Prices, costs and discounting for revenue, margin and lifetime value."""

    price_per_tonne: float = F(10_000.0, "list price", "currency/tonne", gt=0, le=1e7)
    cost_per_tonne: float = F(8_500.0, "unit cost", "currency/tonne", gt=0, le=1e7)
    distributor_discount: float = F(0.04, "discount to distributors", "share of price", ge=0, le=1)
    pressure_discount: float = F(
        0.06, "price concession at full pressure from a dissatisfied customer", "share", ge=0, le=1
    )
    scarcity_premium: float = F(
        0.1, "price rise per unit of excess demand over supply", "share", ge=0, le=2
    )
    discount_rate_per_year: float = F(
        0.1,
        "discount rate for customer lifetime value; at least 0.001, because a customer who "
        "never leaves is worth a perpetuity",
        "share/year",
        ge=0.001,
        le=1,
    )


class Costs(Section):
    """Cost to serve: staff, travel and a reorganisation (all assumptions; the case gives none)."""

    currency: str = F(
        "CU",
        "label for every money figure, e.g. CNY (default CU: currency units, since the costs "
        "and prices are assumptions, not a company's books)",
        min_length=1,
        max_length=12,
        pattern=r"^[A-Za-z$€£¥ .]+$",
    )

    staff_cost_per_year: dict[str, float] = F(
        {
            "sales": 240_000.0,
            "product_manager": 300_000.0,
            "regional_manager": 360_000.0,
            "planner": 200_000.0,
            "service_outlet": 180_000.0,
        },
        "cost per person-year by role, salary and overheads, 0 to 1e9 (assumption)",
        "currency/person-year",
    )
    travel_cost_per_hour: float = F(
        150.0, "cost of an hour of travel to customers (assumption)", "currency/hour", ge=0, le=1e6
    )
    reorganisation_cost_per_person: float = F(
        50_000.0,
        "one-off cost per front-line person appointed at a reorganisation: recruiting, training, "
        "hand-over (assumption)",
        "currency/person",
        ge=0,
        le=1e8,
    )

    @field_validator("staff_cost_per_year")
    @classmethod
    def _roles(cls, value: dict[str, float]) -> dict[str, float]:
        if set(value) != set(PAY_ROLES):
            raise ValueError(f"needs exactly the roles {', '.join(PAY_ROLES)}")
        for role, cost in value.items():
            if not 0 <= cost <= 1e9:
                raise ValueError(f"{role}: must be between 0 and 1e9, got {cost}")
        return value


class Reorganisation(Section):
    """A switch of organisation design during the run (the 2006 pilot: March 2006)."""

    month: int | None = F(
        None,
        "month (0 = first) the new design takes over; none: no switch",
        "month",
        ge=1,
        le=5000,
    )
    design: str = F("customer_manager", "the design switched to (a registered name)")
    learning_months: float = F(
        0.0,
        "months for the new front line to reach full skill (0: at once; assumption, optimistic: "
        "Lee et al. 2015 find customer-centric structures pay off only after a dip)",
        "months",
        ge=0,
        le=120,
    )
    relationship_kept: float = F(
        0.8,
        "share of a customer-line's relationship its new owner inherits at a reorganisation "
        "(assumption, optimistic: the case's customer managers contacted their customers "
        "quickly; Bendapudi and Leone 2002: part of a customer's loyalty leaves with its "
        "account manager)",
        "share",
        ge=0,
        le=1,
    )
    allocation_by_accuracy: float | None = F(
        None,
        "declarations.allocation_by_accuracy from the switch on: the reform may bring forecast "
        "accountability with it (customer managers answer for their customers' budgets); none: "
        "unchanged (assumption)",
        "share",
        ge=0,
        le=1,
    )
    initial_skill: float = F(
        0.6,
        "share of full skill at the switch when learning_months > 0 (assumption; Lee et al. "
        "2015: a dip before customer-centric structures pay off)",
        "share",
        ge=0.01,
        le=1,
    )

    @field_validator("design")
    @classmethod
    def _registered(cls, name: str) -> str:
        return registry.check_design(name)


class ModelConfig(Section):
    """Everything one replication needs."""

    design: str = F("customer_manager", "organisation design (a registered name)")
    seed: int = F(2005, "seed of every random stream", "", ge=0, le=2**63 - 1)
    horizon_days: int = F(
        504, "simulated business days (504 = two business years)", "days", ge=1, le=100_000
    )
    warmup_days: int = F(
        0, "business days simulated before KPIs start counting", "days", ge=0, le=100_000
    )
    calendar: Calendar = Field(default_factory=Calendar)
    population: Population = Field(default_factory=Population)
    staff: Staff = Field(default_factory=Staff)
    requests: Requests = Field(default_factory=Requests)
    satisfaction: Satisfaction = Field(default_factory=Satisfaction)
    relationship: Relationship = Field(default_factory=Relationship)
    churn: Churn = Field(default_factory=Churn)
    channel: Channel = Field(default_factory=Channel)
    prospecting: Prospecting = Field(default_factory=Prospecting)
    market: Market = Field(default_factory=Market)
    competition: Competition = Field(default_factory=Competition)
    wallet: Wallet = Field(default_factory=Wallet)
    information: Information = Field(default_factory=Information)
    declarations: Declarations = Field(default_factory=Declarations)
    planning: Planning = Field(default_factory=Planning)
    field_work: FieldWork = Field(default_factory=FieldWork)
    start: Start = Field(default_factory=Start)
    mechanisms: Mechanisms = Field(default_factory=Mechanisms)
    value: Value = Field(default_factory=Value)
    costs: Costs = Field(default_factory=Costs)
    reorganisation: Reorganisation = Field(default_factory=Reorganisation)

    @model_validator(mode="after")
    def _staffing(self) -> ModelConfig:
        problem = self.staff.conflict(len(self.population.lines), self.population.regions)
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _warmup(self) -> ModelConfig:
        if self.warmup_days >= self.horizon_days:
            raise ValueError(
                f"warmup_days: must be less than horizon_days ({self.horizon_days}), "
                f"got {self.warmup_days}"
            )
        return self

    @field_validator("design")
    @classmethod
    def _registered(cls, name: str) -> str:
        return registry.check_design(name)


#: Error types after which the allowed range of the field is worth stating.
_RANGE_ERRORS = frozenset(
    {
        "int_type",
        "int_from_float",
        "float_type",
        "bool_type",
        "finite_number",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
    }
)


def _number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _leaf(root: Any, loc: tuple) -> tuple[Any, list] | None:
    """(type, constraints) of the field a validation error's location names, if known."""
    node, meta = root, []
    for part in loc:
        node, meta = _unwrap(node, meta)
        if isinstance(node, type) and issubclass(node, BaseModel):
            info = node.model_fields.get(str(part))
            if info is None:
                return None
            node, meta = info.annotation, list(info.metadata)
        elif typing.get_origin(node) is dict:
            node, meta = typing.get_args(node)[1], []
        elif typing.get_origin(node) is list and isinstance(part, int):
            node, meta = typing.get_args(node)[0], []
        else:
            return None
    return _unwrap(node, meta)


def _unwrap(node: Any, meta: list) -> tuple[Any, list]:
    """Strip Optional[...] and Annotated[...] (collecting the latter's constraints)."""
    while True:
        origin = typing.get_origin(node)
        if origin is typing.Annotated:
            node, *extra = typing.get_args(node)
            for item in extra:
                meta = [*meta, *getattr(item, "metadata", [item])]
        elif origin in (typing.Union, types.UnionType):
            node = next(a for a in typing.get_args(node) if a is not type(None))
        else:
            return node, meta


def allowed_values(root: Any, loc: tuple) -> str | None:
    """What a numeric or boolean field accepts, e.g. ``whole numbers 1 to 100,000``."""
    found = _leaf(root, loc)
    if found is None:
        return None
    kind, meta = found
    if kind is bool:
        return "true or false"
    if kind not in (int, float):
        return None
    low = next((("", m.ge) for m in meta if isinstance(m, annotated_types.Ge)), None)
    low = low or next((("above ", m.gt) for m in meta if isinstance(m, annotated_types.Gt)), None)
    high = next((("", m.le) for m in meta if isinstance(m, annotated_types.Le)), None)
    high = high or next((("below ", m.lt) for m in meta if isinstance(m, annotated_types.Lt)), None)
    what = "whole numbers" if kind is int else "finite numbers"
    if low and high and not low[0] and not high[0]:
        return f"{what} {_number(low[1])} to {_number(high[1])}"
    parts = [
        *([f"{low[0] or 'at least '}{_number(low[1])}"] if low else []),
        *([f"{high[0] or 'at most '}{_number(high[1])}"] if high else []),
    ]
    return f"{what} {' and '.join(parts)}" if parts else what


def error_line(err: ValidationError, root: Any = None) -> str:
    """One line naming the field and the problem, from the first pydantic error.

    With ``root`` (the model class validated), a type or range error also says what the field
    allows.
    """
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        return f"{loc}: unknown field"
    msg = first["msg"].removeprefix("Value error, ")
    # A validator's message that starts with a field name continues the location.
    named = re.match(r"([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*): ", msg)
    if loc and named:
        loc, msg = f"{loc}.{named.group(1)}", msg[named.end() :]
    got = first.get("input")
    text = repr(got)
    if len(text) > 80:  # a value of 240 kB is named, not echoed
        text = f"{text[:80]}... ({len(text):,} characters)"
    shown = "" if isinstance(got, dict | list) or got is None else f" (got {text})"
    if first["type"].startswith("int") and isinstance(got, float) and got.is_integer():
        shown += f"; write it as {int(got)}" if abs(got) < 1e18 else ""
    allowed = (
        allowed_values(root, tuple(first["loc"]))
        if root is not None and first["type"] in _RANGE_ERRORS
        else None
    )
    shown += f"; allowed: {allowed}" if allowed else ""
    return f"{loc}: {msg}{shown}" if loc else f"{msg}{shown}"
