"""Organisation designs as registered policy objects.

A design decides three things and nothing else: which front-line people exist (and what they
cover), who owns each (customer, line), and who takes each part of a need. Everything a
comparison measures follows from the model's mechanisms acting on those choices: handoffs,
contacts, travel per visit, information a planner gets, load on product managers.

Add a design by subclassing ``OrganisationDesign`` and decorating it with ``@register``; the
model and agents need no change.

With a staff roster (``model.staff.roster_file``, ``salesim.model.own_data.roster``) a design takes
its front line from the rows of its ``roster_roles``, each person once: head-count, regions, lines
and hours come from the roster instead of ``model.staff``. Where the roster cannot staff the design
(no row of its roles, a line or region nobody covers) the design says so in one line.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, ClassVar, override

import numpy as np

from salesim.model.inputs import registry
from salesim.model.inputs.params import ConfigError, check_name

if TYPE_CHECKING:
    from salesim.model.inputs.params import CustomerManagerStaff, ModelConfig
    from salesim.model.own_data.roster import Person, Roster
    from salesim.model.sales_model import SalesModel

#: Up to this many customers, ``assign`` places them in plain Python (same result, less overhead).
FEW = 64


def register(cls: type[OrganisationDesign]) -> type[OrganisationDesign]:
    """Class decorator: make a design available by its ``name`` (a safe file-name part)."""
    check_name(f"design {cls.__name__}", cls.name)  # names end up in file names
    registry.add_design(cls.name, cls)
    return cls


def make_design(name: str) -> OrganisationDesign:
    """An instance of the design registered as ``name``."""
    problem = registry.unknown_design(name)
    if problem:
        raise ConfigError(f"model.design: {problem}")
    return registry.design_class(name)()


class OrganisationDesign:
    """Base policy. Subclasses set ``name`` and implement ``build_staff`` and ``owner_group``."""

    name: ClassVar[str] = ""
    #: What a reader sees (reports, the page); the code name stays in configs and on hover.
    label: ClassVar[str] = ""
    #: What a product manager does besides requests under this design (staff.pm_*_share).
    pm_duty: ClassVar[str] = ""
    #: Request kinds a regional service outlet takes directly (none unless the design has outlets).
    outlet_kinds: ClassVar[tuple[str, ...]] = ()
    #: Roster roles of this design's front line, in order of preference (a person listed under
    #: several is taken once, in the first). Empty: the design cannot be staffed from a roster.
    roster_roles: ClassVar[tuple[str, ...]] = ()

    def roster_people(self, roster: Roster, cfg: ModelConfig) -> list[Person]:
        """The roster's people this design takes; a one-line ConfigError where it does not fit."""
        if not self.roster_roles:
            raise ConfigError(
                f"model.staff.roster_file: the {self.name} design cannot take its staff from a "
                "roster (it declares no roster_roles)"
            )
        return roster.take(self.roster_roles, self.name)

    def build_staff(self, model: SalesModel) -> None:
        """Create the front-line staff agents via ``model.add_sales_staff``/``add_outlet``."""
        raise NotImplementedError

    def owner_group(self, model: SalesModel, customers: np.ndarray, line: int) -> np.ndarray:
        """For each customer, the group of staff (``staff.group``) that may own its ``line``."""
        raise NotImplementedError

    def escalation_station(
        self, model: SalesModel, customers: np.ndarray, lines: np.ndarray
    ) -> np.ndarray:
        """Station an escalated complaint goes to: the regional manager by default."""
        return model.rm_station[model.customers.region[customers]]

    def prospect_membership(self, model: SalesModel) -> tuple[np.ndarray, np.ndarray]:
        """(group of each staff member, customers x groups bool: may that group prospect it)."""
        book = model.customers
        groups = model.staff_group
        member = np.zeros((book.size, groups.max() + 1), dtype=bool)
        for g in range(member.shape[1]):
            member[:, g] = self.owner_group_all(model, g)
        return groups, member

    def owner_group_all(self, model: SalesModel, group: int) -> np.ndarray:
        """Customers that ``group`` could own for at least one of their lines."""
        book = model.customers
        idx = np.arange(book.size)
        hit = np.zeros(book.size, dtype=bool)
        for line in range(book.buys.shape[1]):
            hit |= book.buys[:, line] & (self.owner_group(model, idx, line) == group)
        return hit

    def assign(self, model: SalesModel, customers: np.ndarray) -> None:
        """Give each (customer, line) an owner: the least-loaded member of its owner group.

        Load is the expected hours of front-line work a year, so portfolios are balanced by
        workload (largest customers placed first), not by head-count. All of a customer's lines
        in one group go to one person. Groups do not share staff, so each group's customers are
        placed in turn from its own heap of (load, station).
        """
        book = model.customers
        customers = np.asarray(customers, dtype=np.int64)
        if not len(customers):
            return
        model.owners_changed(customers)
        hours = model.line_hours(customers)
        buys = book.buys[customers]
        n_lines = buys.shape[1]
        groups = np.column_stack([self.owner_group(model, customers, li) for li in range(n_lines)])
        order = np.argsort(-hours.sum(axis=1), kind="stable")
        if len(customers) <= FEW:  # a month's newcomers: plain Python beats numpy's overhead
            self._assign_few(model, customers, hours, buys, groups, order)
            return
        customers, hours, buys, groups = customers[order], hours[order], buys[order], groups[order]
        staff = model.staff_by_group
        present = np.unique(groups[buys]).tolist()
        self._check_staffed(model, groups, buys, set(present))
        # Per group: its customers in order and their hours in it (summed line by line).
        placed = {}
        for g in present:
            mine = (groups == g) & buys
            rows = np.flatnonzero(mine.any(axis=1))
            h = np.where(mine[rows], hours[rows], 0.0).sum(axis=1)
            placed[g] = _place(model, staff[g], list(zip(rows.tolist(), h.tolist(), strict=True)))
        for g, chosen in placed.items():
            rows = np.fromiter(chosen, dtype=np.int64, count=len(chosen))
            person = np.fromiter(chosen.values(), dtype=np.int64, count=len(chosen))
            r, li = np.nonzero((groups[rows] == g) & buys[rows])
            model.owner[customers[rows[r]], li] = person[r]

    def _assign_few(self, model, customers, hours, buys, groups, order) -> None:
        """``assign`` for a few customers, row by row in Python: the same owners."""
        order = order.tolist()
        customers, hours, groups, buys = (
            [a[i] for i in order]
            for a in (customers.tolist(), hours.tolist(), groups.tolist(), buys.tolist())
        )
        # Per group: its customers in order and their hours in it (summed line by line).
        items: dict[int, list[tuple[int, float]]] = {}
        for i, (h_row, g_row, b_row) in enumerate(zip(hours, groups, buys, strict=True)):
            mine: dict[int, float] = {}
            for h, g, b in zip(h_row, g_row, b_row, strict=True):
                if b:
                    mine[g] = mine.get(g, 0.0) + h
            for g, h in mine.items():
                items.setdefault(g, []).append((i, h))
        staff = model.staff_by_group
        if not set(items) <= set(staff):
            self._check_staffed(model, np.array(groups), np.array(buys), set(items))
        owner = model.owner
        for g in sorted(items):
            for i, person in _place(model, staff[g], items[g]).items():
                for line, (gg, b) in enumerate(zip(groups[i], buys[i], strict=True)):
                    if b and gg == g:
                        owner[customers[i], line] = person

    def _check_staffed(self, model, groups: np.ndarray, buys: np.ndarray, needed: set) -> None:
        """One line naming a line and group nobody on the staff can own, if there is one."""
        missing = needed - set(model.staff_by_group)
        if missing:
            g = min(missing)
            line = int(np.flatnonzero((groups == g) & buys)[0] % buys.shape[1])
            raise ConfigError(
                f"model.design: {self.name} has no staff to own line "
                f"{model.config.population.lines[line]} in group {g}"
            )


def _place(model: SalesModel, stations: list[int], items: list[tuple[int, float]]) -> dict:
    """Each item (row, hours) to the least-loaded of ``stations``, in order: row -> station.

    Ties go to the lower station number; the loads the items add stay in ``model.staff_load``.
    """
    load = model.staff_load
    heap = [(float(load[s]), s) for s in stations]
    heapq.heapify(heap)
    chosen = {}
    for row, h in items:
        least, s = heap[0]
        chosen[row] = s
        heapq.heapreplace(heap, (least + h, s))
    for least, s in heap:
        load[s] = least
    return chosen


@register
class ProductDesign(OrganisationDesign):
    """Reps per product line (``staff.product``); one rep per (customer, line).

    Each rep covers every region (``territory: all_regions``, the case's product organisation)
    or one region (``one_region``: reps per line per region, each group a (line, region)).
    """

    name = "product"
    label = "Product organisation"
    pm_duty = "supervision"
    roster_roles = ("product_rep",)

    @override
    def roster_people(self, roster: Roster, cfg: ModelConfig) -> list[Person]:
        if cfg.staff.product.territory != "all_regions":
            raise ConfigError(
                f"model.staff.product.territory: {cfg.staff.product.territory} cannot take its "
                f"reps from {_shown(roster)} (a roster's product_rep covers every region); use "
                "all_regions, or no roster_file"
            )
        reps = super().roster_people(roster, cfg)
        covered = {p.lines[0] for p in reps if p.lines}
        missing = [n for i, n in enumerate(cfg.population.lines) if i not in covered]
        if missing:
            raise ConfigError(
                f"{_shown(roster)}: the product design needs a product_rep for every line; "
                f"none for {', '.join(missing)}"
            )
        return reps

    @override
    def build_staff(self, model: SalesModel) -> None:
        cfg = model.config
        levers = cfg.staff.product
        everywhere = tuple(range(cfg.population.regions))
        if model.roster is not None:
            for p in self.roster_people(model.roster, cfg):
                model.add_sales_staff(
                    role="product_rep",
                    group=p.lines[0],
                    regions=everywhere,
                    lines=p.lines,
                    hours=p.hours,
                    field_hours=levers.field_hours_per_day,
                )
            return
        n_lines, n_regions = len(cfg.population.lines), cfg.population.regions
        reps, field = levers.headcount(cfg.staff, n_lines)
        regional = levers.territory == "one_region"
        groups = n_lines * n_regions if regional else n_lines
        if reps < groups:
            own = levers.reps_per_line is not None
            where = "model.staff.product.reps_per_line" if own else "model.staff.sales_staff"
            what = "line and region" if regional else "line"
            less = " after field reps" if field and not own else ""
            raise ConfigError(
                f"{where}: the product design needs at least one rep per {what} ({groups}){less}, "
                f"got {reps}"
            )
        for i in range(reps):
            line, region, regions = self._territory(i, n_lines, n_regions, regional)
            model.add_sales_staff(
                role="product_rep",
                group=self._group(line, region, n_regions, regional),
                regions=regions,
                lines=(line,),
                hours=levers.desk_hours_per_day,
                field_hours=levers.field_hours_per_day,
            )
        for j in range(field):
            line, region, regions = self._territory(j, n_lines, n_regions, regional)
            model.add_field_staff(
                role="field_rep",
                group=self._group(line, region, n_regions, regional),
                regions=regions,
                lines=(line,),
            )

    @staticmethod
    def _territory(i: int, n_lines: int, n_regions: int, regional: bool):
        """(line, region, regions covered) of the i-th rep: line i mod K, region (i // K) mod R."""
        line = i % n_lines
        region = (i // n_lines) % n_regions
        return line, region, (region,) if regional else tuple(range(n_regions))

    @staticmethod
    def _group(line: int, region: int, n_regions: int, regional: bool) -> int:
        return line * n_regions + region if regional else line

    @override
    def owner_group(self, model: SalesModel, customers: np.ndarray, line: int) -> np.ndarray:
        if model.config.staff.product.territory == "one_region":  # (a roster cannot have it)
            return line * model.config.population.regions + model.customers.region[customers]
        return np.full(len(customers), line)

    def escalation_station(
        self, model: SalesModel, customers: np.ndarray, lines: np.ndarray
    ) -> np.ndarray:
        """Reps report to the product manager of their line, so complaints escalate there."""
        return model.pm_station[lines]


@register
class CustomerManagerDesign(OrganisationDesign):
    """One customer manager per customer, by region; PM-bound lines go to the line's PM."""

    name = "customer_manager"
    label = "Customer-manager organisation"
    pm_duty = "planning"
    roster_roles = ("customer_manager",)

    @override
    def roster_people(self, roster: Roster, cfg: ModelConfig) -> list[Person]:
        people = super().roster_people(roster, cfg)
        _each_region(roster, self.name, people, "customer_manager")
        return people

    def levers(self, cfg: ModelConfig) -> CustomerManagerStaff:
        """This design's own front-line levers (``staff.customer_manager``)."""
        return cfg.staff.customer_manager

    def outlet_staff(self, cfg: ModelConfig) -> int:
        """Outlet people taken from the common head-count (none in this design)."""
        return 0

    @override
    def build_staff(self, model: SalesModel) -> None:
        cfg = model.config
        lines = tuple(range(len(cfg.population.lines)))
        levers = self.levers(cfg)
        if model.roster is not None:
            for p in self.roster_people(model.roster, cfg):
                if p.role == "customer_manager":
                    model.add_sales_staff(
                        role="customer_manager",
                        group=p.region,
                        regions=(p.region,),
                        lines=lines,
                        hours=p.hours,
                        field_hours=levers.field_hours_per_day,
                    )
            return
        regions = cfg.population.regions
        managers, field = levers.headcount(cfg.staff, regions, self.outlet_staff(cfg))
        if managers < regions:
            after = "outlet and field staff" if field else "outlet staff"
            raise ConfigError(
                f"model.staff.sales_staff: {self.name} needs at least one customer manager per "
                f"region ({regions}) after {after}, got {managers}"
            )
        for i in range(managers):
            region = i % regions
            model.add_sales_staff(
                role="customer_manager",
                group=region,
                regions=(region,),
                lines=lines,
                hours=levers.desk_hours_per_day,
                field_hours=levers.field_hours_per_day,
            )
        for j in range(field):
            region = j % regions
            model.add_field_staff(
                role="field_manager", group=region, regions=(region,), lines=lines
            )

    @override
    def owner_group(self, model: SalesModel, customers: np.ndarray, line: int) -> np.ndarray:
        return model.customers.region[customers]


@register
class ThreeInOneDesign(CustomerManagerDesign):
    """Customer managers plus a regional service outlet for settlement and logistics."""

    name = "three_in_one"
    label = "Three-in-one organisation"
    outlet_kinds = ("logistics",)
    roster_roles = ("service_outlet", "customer_manager")

    @override
    def roster_people(self, roster: Roster, cfg: ModelConfig) -> list[Person]:
        people = super().roster_people(roster, cfg)
        _each_region(roster, self.name, people, "service_outlet")
        return people

    @override
    def levers(self, cfg: ModelConfig) -> CustomerManagerStaff:
        return cfg.staff.three_in_one

    @override
    def outlet_staff(self, cfg: ModelConfig) -> int:
        return cfg.staff.outlet_staff_per_region * cfg.population.regions

    @override
    def build_staff(self, model: SalesModel) -> None:
        super().build_staff(model)
        cfg = model.config
        if model.roster is not None:
            people = self.roster_people(model.roster, cfg)
            for region in range(cfg.population.regions):
                hours = [
                    p.hours for p in people if p.role == "service_outlet" and p.region == region
                ]
                # One pooled team per region; its people's hours are pooled as their mean.
                model.add_outlet(region=region, servers=len(hours), hours=float(np.mean(hours)))
            return
        if cfg.staff.outlet_staff_per_region < 1:
            raise ConfigError("model.staff.outlet_staff_per_region: three_in_one needs at least 1")
        for region in range(cfg.population.regions):
            model.add_outlet(region=region, servers=cfg.staff.outlet_staff_per_region)


def _shown(roster: Roster) -> str:
    from salesim.model.own_data.tables import shown

    return shown(roster.path)


def _each_region(roster: Roster, design: str, people: list[Person], role: str) -> None:
    """A one-line ConfigError if some region has nobody of ``role`` among ``people``."""
    have = {p.region for p in people if p.role == role}
    missing = [name for r, name in enumerate(roster.regions) if r not in have]
    if missing:
        raise ConfigError(
            f"{_shown(roster)}: the {design} design needs a {role} in every region; none in "
            f"{', '.join(missing)}"
        )
