"""Every difference between the designs that is not the design itself, as a named parameter.

A design only decides who the front-line people are, who owns each (customer, line) and who takes
each part of a need. Whatever makes that matter runs through a parameter that applies to everyone
alike; ``ASYMMETRIES`` names each one, its default and range, its source (or "assumption"), the
value that switches it off, and which way switching it off moves the gap between
``customer_manager`` and ``product`` on one KPI. ``tests/model/test_asymmetries.py`` switches each
off and checks the gap moves that way; ``docs/model.md`` carries the same table.

``DESIGN_PARAMETERS`` lists the parameters that only some designs read: each design's own
front-line levers (head-count, territory, field staff, desk hours) and the outlets of
``three_in_one``. At their defaults every design has the same head-count and hours; a test sets
each to another value and checks that only the designs named change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Asymmetry:
    """One asymmetry between the designs and the parameter that carries it.

    ``off`` overrides neutralise it; ``gap_moves`` is +1 if switching it off raises
    (customer_manager - product) on ``kpi``, -1 if it lowers it.
    """

    name: str
    parameter: str
    source: str
    works_through: str
    off: dict[str, Any]
    kpi: str
    gap_moves: int
    #: Overrides of the small world the test uses, where the asymmetry has room to act.
    setting: dict[str, Any] = field(default_factory=dict)
    #: Default and range in words, for an asymmetry carried by more than one parameter; else
    #: they are read from the parameter's own definition (``salesim.model.inputs.params``).
    default_text: str | None = None
    range_text: str | None = None

    @property
    def default(self) -> str:
        """The parameter's default, as ``salesim params`` shows it."""
        return self.default_text or _row(self.parameter).default

    @property
    def range(self) -> str:
        """The parameter's allowed values, as ``salesim params`` shows them."""
        return self.range_text or _row(self.parameter).allowed


ASYMMETRIES = (
    Asymmetry(
        name="territory travel",
        parameter="staff.travel_region_exponent",
        source="the case: reps were organised by line across all regions (docs/case.md); "
        "travel per region: assumption",
        works_through="a rep covering 3 regions travels 3 h per visit, a CM 1 h: fewer visits "
        "(relationship, knowledge, declarations) and fewer prospecting attempts per field hour",
        off={"model.staff.travel_region_exponent": 0.0},
        kpi="budget_fulfilment_rate",
        gap_moves=-1,
    ),
    Asymmetry(
        name="reps across every region",
        parameter="staff.product.territory",
        source="the case: reps were organised by line across all regions (docs/case.md); "
        "one_region (reps per line per region): assumption",
        works_through="with one_region a rep travels to one region, as a customer manager does, "
        "and owns only that region's customers of its line",
        off={"model.staff.product.territory": "one_region"},
        kpi="budget_fulfilment_rate",
        gap_moves=-1,
        # Each design from its own world: from the product world both would gain.
        setting={"model.start.design": None},
    ),
    Asymmetry(
        name="line expertise",
        parameter="staff.cm_line_skill vs staff.rep_line_skill",
        default_text="0.75 vs 1.0",
        range_text="[0.01, 1] each",
        source="the case: product reps are line specialists, CMs cover every line; size: "
        "assumption",
        works_through="technical work takes 1/skill as long; a person settles a PM-bound line "
        "alone with probability skill x staff.expert_resolution",
        off={"model.staff.cm_line_skill": 1.0},
        kpi="mean_response_hours",
        gap_moves=-1,
    ),
    Asymmetry(
        name="expert settlement",
        parameter="staff.expert_resolution",
        source="assumption (every PM-bound line a CM forwards lands on one PM per line)",
        works_through="with less skill, CMs forward more lines to the product manager",
        off={"model.staff.expert_resolution": 0.0},
        kpi="utilisation_product_manager",
        gap_moves=-1,
    ),
    Asymmetry(
        name="cross-team coordination",
        parameter="requests.coordination_delay.mean_hours",
        source="Hammer 1990 (each handoff between departments adds delay); size: assumption",
        works_through="a multi-line need split between reps waits for the second team",
        off={"model.requests.coordination_delay.mean_hours": 0.0},
        kpi="mean_response_hours",
        gap_moves=+1,
        setting={"model.population.multi_line_share": 0.8},
    ),
    Asymmetry(
        name="one point of contact",
        parameter="satisfaction.weight_contacts",
        source="the case (one contact lowers the customer's cost); Bolton 1998 for the form; "
        "weight: assumption",
        works_through="perceived performance counts 1 / contacts per need",
        off={"model.satisfaction.weight_contacts": 0.0},
        kpi="satisfaction",
        gap_moves=-1,
        setting={"model.population.multi_line_share": 0.8},
    ),
    Asymmetry(
        name="whole-customer view",
        parameter="information.whole_customer_weight",
        source="the case (the product organisation's picture of each customer was "
        "fragmented); size: assumption",
        works_through="a line's owner knows it less well without seeing the customer's other "
        "lines: more inflated declarations, a plan further from sales",
        off={"model.information.whole_customer_weight": 0.0},
        kpi="budget_fulfilment_rate",
        gap_moves=-1,
        setting={"model.population.multi_line_share": 0.8},
    ),
    Asymmetry(
        name="planning records",
        parameter="staff.planner_minutes_per_record",
        source="the case (the planning department balances plan and resources from the records "
        "staff hold); one record per (customer, informant): assumption",
        works_through="a customer with three reps is three records; planners who cannot "
        "consolidate them all revise fewer towards orders",
        off={"model.staff.planner_minutes_per_record": 0.01},
        kpi="plan_completion_rate",
        gap_moves=-1,
        setting={"model.staff.planners": 1, "model.staff.planner_hours_per_day": 0.5},
    ),
    Asymmetry(
        name="longer multi-line visits",
        parameter="field_work.extra_line_visit_share",
        source="assumption (a visit covering three lines takes longer than one)",
        works_through="a CM's visit to a multi-line customer takes longer than a rep's",
        off={"model.field_work.extra_line_visit_share": 0.0},
        kpi="budget_fulfilment_rate",
        gap_moves=+1,
        setting={
            "model.population.multi_line_share": 0.8,
            "model.field_work.extra_line_visit_share": 2.0,
        },
    ),
    Asymmetry(
        name="escalation route",
        parameter="requests.escalation_prob",
        source="the case (reps reported to their line's product manager; CMs report to a "
        "regional manager); rate: assumption",
        works_through="escalated complaints load the PM under product, the regional manager "
        "under customer managers",
        off={"model.requests.escalation_prob": 0.0},
        kpi="utilisation_product_manager",
        gap_moves=+1,
        setting={"model.requests.escalation_prob": 0.6},
    ),
    Asymmetry(
        name="relationship carried over",
        parameter="reorganisation.relationship_kept",
        source="assumption (the case: CMs contacted their customers quickly, none were lost)",
        works_through="at a reorganisation (day 0 when start.design differs) new owners "
        "inherit this share of the relationship",
        off={"model.reorganisation.relationship_kept": 1.0},
        kpi="budget_fulfilment_rate",
        gap_moves=+1,
        setting={"model.reorganisation.relationship_kept": 0.0},
    ),
    Asymmetry(
        name="several lines in one job",
        parameter="requests.extra_line_work",
        source="assumption (one person handling a multi-line need does each extra line in less "
        "than a line's work; no source gives the size)",
        works_through="only a customer manager takes several lines of a need in one job, so "
        "only that design gets the saving; a rep takes its own line",
        off={"model.requests.extra_line_work": 1.0},
        kpi="mean_response_hours",
        gap_moves=+1,
        setting={"model.population.multi_line_share": 0.8},
    ),
    Asymmetry(
        name="learning dip",
        parameter="reorganisation.learning_months and reorganisation.initial_skill",
        default_text="0 months (no dip); initial skill 0.6",
        range_text="[0, 120] months; [0.01, 1]",
        source="Lee et al. 2015 for the initial skill; the length: assumption",
        works_through="a reorganised front line starts at initial_skill of its skill and "
        "learns linearly over learning_months; the organisation in place has no dip",
        off={"model.reorganisation.learning_months": 0.0},
        kpi="mean_response_hours",
        gap_moves=-1,
        setting={
            "model.reorganisation.learning_months": 12.0,
            "model.reorganisation.initial_skill": 0.3,
        },
    ),
    Asymmetry(
        name="allocation rule after the reform",
        parameter="reorganisation.allocation_by_accuracy",
        source="Lee, Padmanabhan & Whang 1997 (shortage gaming); POMS 2019, doi "
        "10.1111/poms.13066 (allocation by forecast accuracy curbs inflation); that the reform "
        "brought it: assumption",
        works_through="from the switch on, that share of scarce supply follows forecast "
        "accuracy, so customers inflate their budgets less; the organisation in place keeps "
        "declarations.allocation_by_accuracy",
        off={"model.reorganisation.allocation_by_accuracy": None},
        kpi="budget_fulfilment_rate",
        gap_moves=-1,
        setting={"model.reorganisation.allocation_by_accuracy": 0.8},
    ),
    Asymmetry(
        name="reorganisation cost",
        parameter="costs.reorganisation_cost_per_person",
        source="assumption",
        works_through="charged once for each person appointed at a reorganisation",
        off={"model.costs.reorganisation_cost_per_person": 0.0},
        kpi="operating_profit",
        gap_moves=+1,
    ),
)


@dataclass(frozen=True)
class DesignParameter:
    """A parameter that only ``designs`` read; ``probe`` is another value it may take."""

    parameter: str
    designs: tuple[str, ...]
    source: str
    probe: Any

    @property
    def default(self) -> str:
        """The parameter's default, as ``salesim params`` shows it."""
        return _row(self.parameter).default

    @property
    def range(self) -> str:
        """The parameter's allowed values, as ``salesim params`` shows them."""
        return _row(self.parameter).allowed


def _row(parameter: str):
    from salesim.model.parameter_table import rows

    return next(r for r in rows() if r.path == f"model.{parameter}")


_HEADCOUNT = "30 front-line people in every design by default (docs/case.md); assumption"
_FIELD = (
    "the case: customer managers moved to the front line of the target markets; size: assumption"
)
_DESK = "as staff.desk_hours_per_day unless set; assumption"
_FIELD_HOURS = "none: idle desk time goes to the field (assumption); a cap: assumption"

DESIGN_PARAMETERS = (
    DesignParameter("staff.product.reps_per_line", ("product",), _HEADCOUNT, 7),
    DesignParameter(
        "staff.product.territory",
        ("product",),
        "the case: every rep covered every region; one_region: assumption",
        "one_region",
    ),
    DesignParameter("staff.product.field_reps_per_line", ("product",), "assumption", 1),
    DesignParameter("staff.product.desk_hours_per_day", ("product",), _DESK, 5.0),
    DesignParameter("staff.product.field_hours_per_day", ("product",), _FIELD_HOURS, 1.0),
    DesignParameter(
        "staff.customer_manager.managers_per_region", ("customer_manager",), _HEADCOUNT, 12
    ),
    DesignParameter(
        "staff.customer_manager.field_managers_per_region", ("customer_manager",), _FIELD, 1
    ),
    DesignParameter("staff.customer_manager.desk_hours_per_day", ("customer_manager",), _DESK, 5.0),
    DesignParameter(
        "staff.customer_manager.field_hours_per_day", ("customer_manager",), _FIELD_HOURS, 1.0
    ),
    DesignParameter("staff.three_in_one.managers_per_region", ("three_in_one",), _HEADCOUNT, 12),
    DesignParameter("staff.three_in_one.field_managers_per_region", ("three_in_one",), _FIELD, 1),
    DesignParameter("staff.three_in_one.desk_hours_per_day", ("three_in_one",), _DESK, 5.0),
    DesignParameter("staff.three_in_one.field_hours_per_day", ("three_in_one",), _FIELD_HOURS, 1.0),
    DesignParameter(
        "staff.outlet_staff_per_region",
        ("three_in_one",),
        "the case: regional service outlets; one person per region from the same head-count: "
        "assumption",
        2,
    ),
    DesignParameter("staff.outlet_hours_per_day", ("three_in_one",), "assumption", 5.0),
    DesignParameter(
        "staff.pm_supervision_share",
        ("product",),
        "the case: reps reported to their line's product manager; size: assumption",
        0.2,
    ),
    DesignParameter(
        "staff.pm_planning_share",
        ("customer_manager", "three_in_one"),
        "the case: PMs guided customer managers on planning and allocation; size: assumption",
        0.2,
    ),
    DesignParameter(
        "staff.rm_hours_per_day",
        ("customer_manager", "three_in_one"),
        "the case: customer managers report to a regional manager, who takes escalations; "
        "hours: assumption",
        4.5,
    ),
)


def table() -> str:
    """The asymmetries as a Markdown table (the one in docs/model.md)."""
    rows = [
        "| asymmetry | parameter | default | range | source | works through | switched off by "
        "| gap (CM - product) when off |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for a in ASYMMETRIES:
        off = ", ".join(f"`{k.removeprefix('model.')}={v}`" for k, v in a.off.items())
        moves = "rises" if a.gap_moves > 0 else "falls"
        rows.append(
            f"| {a.name} | `{a.parameter}` | {a.default} | {_cell(a.range)} | {a.source} | "
            f"{a.works_through} | {off} | `{a.kpi}` {moves} |"
        )
    return "\n".join(rows)


def _cell(text: str) -> str:
    """Text for a Markdown table cell (a choice 'a | b' would split the cell)."""
    return text.replace("|", "\\|")


def design_parameters_table() -> str:
    """The parameters only some designs read, as a Markdown table (the one in docs/model.md)."""
    rows = [
        "| parameter | read by | default | range | source |",
        "| --- | --- | --- | --- | --- |",
    ]
    for d in DESIGN_PARAMETERS:
        designs = ", ".join(f"`{name}`" for name in d.designs)
        rows.append(
            f"| `{d.parameter}` | {designs} | {d.default} | {_cell(d.range)} | {d.source} |"
        )
    return "\n".join(rows)
