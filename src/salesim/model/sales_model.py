"""The sales organisation model: Mesa agents, the request network and the monthly cycle.

One Mesa time unit is one business day. ``step()`` runs a day of requests; a recurring event at
the end of each month runs the monthly cycle (volumes, satisfaction, visits and prospecting,
churn and channel moves, planning) and collects the monthly KPIs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from mesa import DataCollector, Model
from mesa.time import Priority, Schedule
from pydantic import ValidationError

from salesim.model import cycle, kpis, start
from salesim.model.agents import (
    Customer,
    FieldStaff,
    Planner,
    ProductManager,
    RegionalManager,
    SalesStaff,
    ServiceOutlet,
)
from salesim.model.cycle import Mechanism, make_mechanisms
from salesim.model.data_files import own_data
from salesim.model.designs import make_design
from salesim.model.history import History
from salesim.model.inputs.codes import OPEN
from salesim.model.inputs.config_files import apply_overrides
from salesim.model.inputs.params import KINDS, ConfigError, ModelConfig, error_line
from salesim.model.market import Market
from salesim.model.network import RequestNetwork
from salesim.model.population import CustomerBook
from salesim.model.queueing import Stations
from salesim.model.requests import NeedLog, NeedSource, Router
from salesim.model.streams import RandomStreams


def _model_config(config: Any, overrides: dict | None) -> ModelConfig:
    """The ModelConfig of ``config`` (a ModelConfig, or a config file's ``.model``)."""
    config = getattr(config, "model", config) or ModelConfig()
    if overrides:
        dotted = {k.removeprefix("model."): v for k, v in overrides.items()}
        try:
            config = ModelConfig.model_validate(apply_overrides(config.model_dump(), dotted))
        except ValidationError as err:
            raise ConfigError(f"overrides: model.{error_line(err)}") from None
    return config


class SalesModel(Model):
    """A B2B sales organisation under one organisation design.

    Args:
        config: a ``ModelConfig`` (or a whole config file's ``SalesimConfig``); defaults if omitted.
        rng: the seed of every random stream; ``config.seed`` if omitted.
        design: name of a registered design; ``config.design`` if omitted.
        overrides: dotted overrides such as ``{"model.staff.sales_staff": 40}``.
        mechanisms: objects for slots of the monthly cycle, e.g. ``{"churn": MyChurn()}``;
            the others are the registered ones the config names (``model.mechanisms``).
    """

    def __init__(
        self,
        config: Any = None,
        *,
        rng: int | None = None,
        design: str | None = None,
        overrides: dict[str, Any] | None = None,
        mechanisms: dict[str, Mechanism] | None = None,
        _settling: bool = False,
        _customers: CustomerBook | None = None,
    ) -> None:
        cfg, table, roster = own_data(_model_config(config, overrides))
        seed = int(cfg.seed if rng is None else rng)
        super().__init__(rng=seed)
        self.config = cfg
        self.roster = roster
        self.seed = seed
        #: True while this model is the world before day 0 that the start settles in: it draws
        #: from streams of its own (the same customers, other demand) and changes nobody's
        #: membership or channel.
        self.settling = _settling
        self.streams = (
            RandomStreams(seed, prefix="start/", shared=("customers",))
            if _settling
            else RandomStreams(seed)
        )
        self.design = make_design(design or cfg.design)
        #: Share of scarce supply allocated by forecast accuracy (declarations; a reform may
        #: change it: reorganisation.allocation_by_accuracy).
        self.allocation_by_accuracy = cfg.declarations.allocation_by_accuracy
        cal = cfg.calendar
        self.hours_per_day = cal.hours_per_day
        self.days_per_month = cal.days_per_month
        self.month = 0
        n_lines = len(cfg.population.lines)

        # The steady start's world is given a copy of the customers as drawn here (it would
        # draw the very same: the stream is shared) instead of drawing them again.
        self.customers = (
            CustomerBook(cfg, self.streams["customers"], table)
            if _customers is None
            else _customers
        )
        book = self.customers
        settles = bool(cfg.start.settle_months) and not _settling
        drawn = book.copy() if settles else None
        self.market = Market(cfg, book.volume[: book.n_initial].sum(axis=0))
        self.source = NeedSource(self)
        self._hours_per_need: float | None = None

        # Stations are added as staff are created: the design's front line, then PMs and RMs.
        self.stations = Stations(np.zeros(0, dtype=np.int64), np.zeros(0))
        self.station_role = np.zeros(0, dtype=object)
        self.station_skill = np.zeros((0, n_lines))
        self.station_overload = np.zeros(0)
        self.station_created = np.zeros(0)
        self.station_appointed = np.zeros(0)  # when appointed by a reorganisation, else nan
        self._new_stations: list[tuple[int, float, str, np.ndarray]] = []
        self._build_front_line()
        staff = cfg.staff
        self.pm_station = np.array(
            [
                self._add_station(
                    staff.product_managers_per_line,
                    staff.pm_request_hours(self.design.pm_duty),
                    "product_manager",
                )
                for _ in range(n_lines)
            ]
        )
        self.product_managers = [
            ProductManager(self, s, line) for line, s in enumerate(self.pm_station)
        ]
        self.rm_station = np.array(
            [
                self._add_station(
                    staff.regional_managers_per_region, staff.rm_hours_per_day, "regional_manager"
                )
                for _ in range(cfg.population.regions)
            ]
        )
        self.regional_managers = [
            RegionalManager(self, s, r) for r, s in enumerate(self.rm_station)
        ]
        self._add_stations()
        minutes = staff.planner_hours_per_day * cal.days_per_month * 60
        self.planners = [
            Planner(self, minutes / staff.planner_minutes_per_record) for _ in range(staff.planners)
        ]
        self.log = NeedLog()
        self.router = Router(self)
        self.network = RequestNetwork(self)
        self.days_done = 0  # business days of requests simulated
        self._run_end: int | None = None  # while run() runs: the day it runs to

        self.owner = np.full((book.size, n_lines), -1, dtype=np.int64)
        #: Bumped whenever owners change (``owners_changed``); results derived from owners are
        #: kept until then (``by_owner``).
        self.owner_version = 0
        self.derived: dict[str, tuple[int, np.ndarray]] = {}
        self._owner_changes: list[tuple[int, np.ndarray | None]] = []
        self._by_portfolio: dict[str, tuple[tuple, Any]] = {}
        self.history: History | None = None if _settling else History()
        self.acc = cycle.Accumulators(book.size, n_lines)
        self._assign_all()
        self._customer_agents: list[Customer] | None = [] if _settling else None
        self._appear_order = (
            np.argsort(book.appear_day[book.n_initial :], kind="stable") + book.n_initial
        )
        self._appear_next = 0

        self.mechanisms = make_mechanisms(cfg.mechanisms.model_dump(), mechanisms)
        for mechanism in self.mechanisms.values():
            mechanism.setup(self)
        if settles:
            start.settle(self, cfg.start.design or self.design.name, drawn)
        cycle.update_overload(self)
        cycle.year_start(self, 0)
        cycle.month_start(self, 0)
        self.monthly: dict[str, float] = {}
        self.measure_from_day = 0
        self._work_at_measure_start = np.zeros(len(self.stations))
        #: Work done at each station at the last month end (``kpis.monthly``'s utilisation).
        self.work_at_month_start = self.stations.work_done
        if cfg.warmup_days:
            self.schedule_event(self._end_warmup, at=cfg.warmup_days, priority=Priority.LOW)
        self.datacollector = DataCollector(
            model_reporters={name: _reporter(name) for name in kpis.MONTHLY}
        )
        self.schedule_recurring(
            self._month_end,
            Schedule(interval=cal.days_per_month, start=cal.days_per_month),
            priority=Priority.DEFAULT,
        )

    # --- owners and what derives from them -----------------------------------------------------

    def owners_changed(self, customers: np.ndarray | None) -> None:
        """Owners of ``customers`` (of everyone, if None) are about to change."""
        self.owner_version += 1
        rows = None if customers is None else np.asarray(customers, dtype=np.int64)
        self._owner_changes.append((self.owner_version, rows))

    def by_owner(self, name: str, compute) -> np.ndarray:
        """A per-customer array derived from owners, kept until owners change.

        ``compute(rows)`` gives the rows ``rows`` of it (every row if None); after a change of
        owners only the customers concerned are computed again (a month's newcomers, not the
        whole book).
        """
        cached = self.derived.get(name)
        if cached is not None and cached[0] == self.owner_version:
            return cached[1]
        changed = [rows for version, rows in self._owner_changes if cached and version > cached[0]]
        if cached is None or any(rows is None for rows in changed):
            value = compute(None)
        else:
            rows = np.unique(np.concatenate(changed))
            value = cached[1].copy()
            value[rows] = compute(rows)
        self.derived[name] = (self.owner_version, value)
        # Changes every cache has seen are forgotten.
        seen = min(v for v, _ in self.derived.values())
        self._owner_changes = [(v, r) for v, r in self._owner_changes if v > seen]
        return value

    def by_portfolio(self, name: str, compute):
        """``compute()``, kept while owners and the set of active customers stay the same.

        While the start settles, months repeat on the same portfolios; in a run they change
        every month (churn, new customers), and this recomputes.
        """
        key = (self.owner_version, self.customers.active.tobytes())
        cached = self._by_portfolio.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        value = compute()
        self._by_portfolio[name] = (key, value)
        return value

    # --- agents -------------------------------------------------------------------------------

    @property
    def customer_agents(self) -> list[Customer]:
        """A Customer agent per slot, a view on its row of ``customers``.

        Made when first asked for (here or through ``agents``/``agents_by_type``): the state
        lives in the columns, and a run that only reads KPIs never needs the objects.
        """
        if self._customer_agents is None:
            self._customer_agents = [Customer(self, i) for i in range(self.customers.size)]
        return self._customer_agents

    @property
    def agents(self):
        """Every agent (Mesa's agent set), the customers included."""
        if self.__dict__.get("_customer_agents", []) is None:
            self.customer_agents  # noqa: B018 - made on first use
        return super().agents

    @property
    def agents_by_type(self):
        """Agents by type (Mesa's agent sets), the customers included."""
        if self.__dict__.get("_customer_agents", []) is None:
            self.customer_agents  # noqa: B018 - made on first use
        return super().agents_by_type

    # --- construction helpers used by designs ---------------------------------------------

    def _add_station(
        self, servers: int, hours: float, role: str, skill: np.ndarray | None = None
    ) -> int:
        """A new station's index; its columns are made with the others' (``_add_stations``)."""
        row = np.ones(len(self.config.population.lines)) if skill is None else skill
        self._new_stations.append((int(servers), hours / self.hours_per_day, role, row))
        return len(self.stations) + len(self._new_stations) - 1

    def _add_stations(self) -> None:
        """Give the stations created since the last call their columns, all at once."""
        if not self._new_stations:
            return
        servers, speed, role, skill = zip(*self._new_stations, strict=True)
        k = len(servers)
        self.stations.add_many(servers, speed, self.time * self.hours_per_day)
        self.station_role = np.concatenate([self.station_role, np.array(role, dtype=object)])
        self.station_skill = np.vstack([self.station_skill, *skill])
        self.station_overload = np.concatenate([self.station_overload, np.ones(k)])
        self.station_created = np.concatenate([self.station_created, np.full(k, self.time)])
        self.station_appointed = np.concatenate([self.station_appointed, np.full(k, np.nan)])
        self._new_stations = []

    def _build_front_line(self) -> None:
        """Let the design create its front-line staff (and outlets)."""
        self.sales_staff: list[SalesStaff] = []
        self.field_staff: list[FieldStaff] = []
        self.outlets: list[ServiceOutlet] = []
        cfg = self.config
        self.outlet_station = np.full(cfg.population.regions, -1)
        if self.roster is not None:
            self.design.roster_people(self.roster, cfg)  # one line if it does not fit
        else:  # the validator checked this too, but a customer file may have changed the regions
            problem = cfg.staff.conflict(len(cfg.population.lines), cfg.population.regions)
            if problem:
                raise ConfigError(f"model.{problem}")
        self.design.build_staff(self)
        self._add_stations()
        self.sales_stations = np.array([s.station for s in self.sales_staff], dtype=np.int64)
        self.staff_group = np.array([s.group for s in self.sales_staff])
        #: Stations of the sales staff of each group (who may own a customer's line).
        self.staff_by_group: dict[int, list[int]] = {}
        for staff in self.sales_staff:
            self.staff_by_group.setdefault(int(staff.group), []).append(int(staff.station))
        self.base_skill = self.station_skill.copy()
        caps = [s.field_hours for s in self.sales_staff]
        #: Per sales person, the most field hours a month (None: nobody's field time is capped).
        self.field_cap = (
            None
            if all(c is None for c in caps)
            else np.array([np.inf if c is None else c * self.days_per_month for c in caps])
        )

    def _assign_all(self) -> None:
        """Owners for every active customer, and who may prospect whom."""
        self.owner[:] = -1
        self.owners_changed(None)
        self.staff_load = np.zeros(len(self.stations))
        self.design.assign(self, np.flatnonzero(self.customers.active))
        self.prospect_groups, self.prospect_member = self.design.prospect_membership(self)

    def reorganise(self, design: str) -> None:
        """Switch to another design now: new front line, new owners; old queues drain.

        The people who left the front line finish the requests already with them; every new
        request goes to the new organisation. Each customer-line's new owner inherits
        ``reorganisation.relationship_kept`` of its relationship; the one-off
        ``costs.reorganisation_cost_per_person`` is charged for each person appointed. With
        ``reorganisation.learning_months`` the new front line starts at ``initial_skill`` of its
        skill and learns linearly (Lee et al. 2015 report a dip before customer-centric
        structures pay off).
        """
        old_owner = self.owner.copy()
        for agent in [*self.sales_staff, *self.field_staff, *self.outlets]:
            agent.remove()
        self.design = make_design(design)
        self._build_front_line()
        self.station_appointed[self.sales_stations] = self.time
        self._assign_all()
        self.take_over(old_owner, self.config.reorganisation.relationship_kept)
        cycle.update_overload(self)
        self.charge_reorganisation()
        self.adopt_new_rules()

    def adopt_new_rules(self) -> None:
        """What changes with the organisation besides its people.

        The PMs' other duty (so their request hours) and, if the reform brings it, the rule
        that allocates scarce supply.
        """
        hours = self.config.staff.pm_request_hours(self.design.pm_duty)
        self.stations.speed[self.pm_station] = hours / self.hours_per_day
        after = self.config.reorganisation.allocation_by_accuracy
        if after is not None:
            self.allocation_by_accuracy = after

    def front_line_people(self) -> int:
        """People on the front line now: reps or customer managers, field staff, outlet staff."""
        return len(self.sales_staff) + len(self.field_staff) + sum(o.servers for o in self.outlets)

    def charge_reorganisation(self) -> None:
        """Book the one-off cost of appointing the whole front line (``costs``, this month)."""
        self.acc.reorganisation_cost_due += (
            self.front_line_people() * self.config.costs.reorganisation_cost_per_person
        )

    def take_over(self, old_owner: np.ndarray, kept: float) -> None:
        """New owners inherit ``kept`` of the relationship on the lines they take over.

        Lines one person now owns share one relationship: the volume-weighted mean of what the
        customer had on those lines.
        """
        book = self.customers
        moved = book.buys & (self.owner != old_owner) & (self.owner >= 0)
        if not moved.any():
            return
        if self.history is not None:
            c, li = np.nonzero(moved)
            self.history.owners_changed(self.month, c, li, old_owner[c, li], self.owner[c, li])
        vol = np.where(moved, book.volume, 0.0)
        r = book.relationship
        pooled = np.zeros(r.shape)
        weight = np.zeros(r.shape)
        for k in range(r.shape[1]):
            same = (self.owner == self.owner[:, k : k + 1]) & moved
            pooled[:, k] = (same * vol * r).sum(axis=1)
            weight[:, k] = (same * vol).sum(axis=1)
        inherited = kept * pooled / np.maximum(weight, 1e-12)
        book.relationship = np.where(moved, inherited, r)

    def apply_learning(self) -> None:
        """Skill of staff appointed at a reorganisation, on its learning curve."""
        reorg = self.config.reorganisation
        if reorg.learning_months <= 0:
            return
        appointed = self.station_appointed[self.sales_stations]
        months = (self.time - np.nan_to_num(appointed)) / self.days_per_month
        ramp = reorg.initial_skill + (1 - reorg.initial_skill) * np.minimum(
            1.0, months / reorg.learning_months
        )
        factor = np.where(np.isnan(appointed), 1.0, ramp)
        self.station_skill[self.sales_stations] = (
            self.base_skill[self.sales_stations] * factor[:, None]
        )

    def add_sales_staff(
        self,
        role: str,
        group: int,
        regions: tuple[int, ...],
        lines: tuple[int, ...],
        hours: float | None = None,
        field_hours: float | None = None,
    ) -> SalesStaff:
        """Create a front-line sales person; designs call this from ``build_staff``.

        ``hours`` a day for requests defaults to ``staff.desk_hours_per_day`` (a roster gives
        each person's own); ``field_hours`` a day at most in the field, none: whatever request
        work leaves of the business day.
        """
        given = self.config.staff
        skill_level = given.rep_line_skill if len(lines) == 1 else given.cm_line_skill
        skill = np.full(len(self.config.population.lines), skill_level)
        desk = given.desk_hours_per_day if hours is None else hours
        station = self._add_station(1, desk, role, skill)
        person = SalesStaff(self, station, role, group, regions, lines, field_hours)
        self.sales_staff.append(person)
        return person

    def add_field_staff(
        self, role: str, group: int, regions: tuple[int, ...], lines: tuple[int, ...]
    ) -> FieldStaff:
        """Create a front-line person who only prospects (``group``'s customers, ``regions``)."""
        person = FieldStaff(self, role, group, regions, lines)
        self.field_staff.append(person)
        return person

    def add_outlet(self, region: int, servers: int, hours: float | None = None) -> ServiceOutlet:
        """Create a regional service outlet (a pooled team of ``servers`` people)."""
        per_day = self.config.staff.outlet_hours_per_day if hours is None else hours
        station = self._add_station(servers, per_day, "service_outlet")
        self.outlet_station[region] = station
        outlet = ServiceOutlet(self, station, region, servers)
        self.outlets.append(outlet)
        return outlet

    # --- workload estimates ------------------------------------------------------------------

    def line_hours(self, customers: np.ndarray) -> np.ndarray:
        """Expected front-line hours a year per (customer, line) at neutral satisfaction."""
        if self._hours_per_need is None:
            req = self.config.requests
            mix = np.array([req.kind_mix.get(k, 0.0) for k in KINDS])
            mean = np.array([req.service[k].mean_hours if k in req.service else 0.0 for k in KINDS])
            days = self.days_per_month * self.config.calendar.months_per_year
            self._hours_per_need = float((mix / mix.sum()) @ mean) * days / self.source.peak
        rate = self.source.max_rate[customers] * self._hours_per_need
        return rate[:, None] * self.customers.volume_share[customers]

    # --- the daily step ------------------------------------------------------------------------

    def step(self) -> None:
        """One business day of requests (inside ``run()``: the days up to the next event)."""
        day = int(round(self.time)) - 1
        if day < self.days_done:
            return  # run() already simulated this day with the rest of its span
        last = day + 1
        if self._run_end is not None:
            last = max(last, min(self._run_end, self._next_boundary(day)))
        self.run_days(day, last)

    def _next_boundary(self, day: int) -> int:
        """The first month end or warm-up end after ``day``: state changes only there."""
        per = self.days_per_month
        boundary = (day // per + 1) * per
        warmup = self.config.warmup_days
        if day < warmup < boundary:
            boundary = warmup
        return boundary

    def run_days(self, first: int, last: int) -> None:
        """Business days ``first`` to ``last - 1`` (0-based) of requests, in one batch.

        A span without a month end or the warm-up end in it gives the same result in one batch
        as day by day (``network``); ``run()`` batches, ``step()`` takes a day.
        """
        if not self.settling:  # nobody arrives while the start settles
            self._appear(last - 1)
        self.network.window(first, last)
        self.days_done = last

    def _appear(self, day: int) -> None:
        book = self.customers
        order = self._appear_order
        i = self._appear_next
        j = i + int(np.searchsorted(book.appear_day[order[i:]], day, side="right"))
        if j > i:
            new = order[i:j]
            book.channel[new] = OPEN
            book.open_until_month[new] = self.month + self.config.prospecting.window_months
            self._appear_next = j

    def welcome(self, customers: np.ndarray) -> None:
        """Customers who start buying from us get owners (if they have none) and a fresh tenure."""
        if not len(customers):
            return
        self.customers.tenure_months[customers] = 0
        unowned = customers[(self.owner[customers] < 0).all(axis=1)]
        if len(unowned):
            self.design.assign(self, np.sort(unowned))

    def _month_end(self) -> None:
        cycle.month_end(self, self.month)
        self.monthly = kpis.monthly(self)
        self.datacollector.collect(self)
        if self.history is not None:
            self.history.record(self, self.month)
        self.month += 1
        reorg = self.config.reorganisation
        if reorg.month is not None and self.month == reorg.month:
            self.reorganise(reorg.design)
        self.apply_learning()
        months_per_year = self.config.calendar.months_per_year
        if self.month % months_per_year == 0:
            cycle.year_start(self, self.month // months_per_year)
        cycle.month_start(self, self.month)

    def _end_warmup(self) -> None:
        """Start counting KPIs: the state now is the start of the measured horizon."""
        self.measure_from_day = int(round(self.time))
        self._work_at_measure_start = self.stations.work_done.copy()
        self.customers.active_at_start = self.customers.active.copy()
        self.acc.start_measuring(self.customers.active)

    # --- running and reading -----------------------------------------------------------------

    def run(self, days: int | None = None) -> SalesModel:
        """Run to the end of the horizon (or for ``days`` more business days).

        Requests are simulated a span at a time, from one state change (a month end, the
        warm-up end) to the next, which gives the same results as stepping day by day. An event
        of your own scheduled inside a month sees that month's requests already simulated:
        step day by day if it must not.
        """
        end = self.config.horizon_days if days is None else self.time + days
        self._run_end = int(round(end))
        try:
            self.run_until(end)
        finally:
            self._run_end = None
        return self

    def queue_lengths(self) -> np.ndarray:
        """Requests waiting or in service at each station at the current time."""
        return self.network.queue_lengths(self.time * self.hours_per_day, len(self.stations))

    def station_utilisation(self) -> np.ndarray:
        """Work done / request hours available, per station, since warm-up (or its creation)."""
        since = np.maximum(self.station_created, self.measure_from_day)
        days = np.maximum(self.time - since, 1e-9)
        available = self.stations.speed * self.stations.servers * self.hours_per_day * days
        base = np.zeros(len(self.stations))
        base[: len(self._work_at_measure_start)] = self._work_at_measure_start
        return (self.stations.work_done - base) / available

    def portfolio_sizes(self) -> np.ndarray:
        """Customer-lines each station owns among active customers."""
        book = self.customers
        mask = book.active[:, None] & book.buys & (self.owner >= 0)
        return np.bincount(self.owner[mask], minlength=len(self.stations))

    def kpis(self) -> dict[str, float]:
        """Run-level KPIs (docs/model.md, 7.19) for the time simulated so far."""
        return kpis.run_kpis(self)

    def response_hours(self) -> np.ndarray:
        """Arrival to resolution, business hours, of requests resolved since warm-up."""
        hours, _, _ = kpis.responses(self, self.measure_from_day * self.hours_per_day)
        return hours

    def request_log(self) -> pd.DataFrame:
        """One row per request (need): ids, kind, line, times, handoffs, contacts."""
        return self.log.frame(KINDS, list(self.config.population.lines))

    def job_log(self) -> pd.DataFrame:
        """One row per job served at a station (stage 1 front line, stage 2 PM/escalation)."""
        return self.log.job_frame()

    def monthly_kpis(self) -> pd.DataFrame:
        """The DataCollector's monthly KPI table."""
        return self.datacollector.get_model_vars_dataframe()


def simulate(
    cfg: ModelConfig, days: int | None = None, progress: Callable[[int], None] | None = None
) -> SalesModel:
    """One replication of ``cfg`` (a ``ModelConfig``), run month by month; returns the model.

    Running in monthly chunks gives the same result as ``SalesModel(cfg).run(days)``.
    """
    model = SalesModel(cfg)
    days = cfg.horizon_days if days is None else days
    step = cfg.calendar.days_per_month
    done = 0
    if progress is not None:
        progress(done)
    while done < days:
        chunk = min(step, days - done)
        model.run(chunk)
        done += chunk
        if progress is not None:
            progress(done)
    return model


def _reporter(name: str):
    def report(model: SalesModel) -> float:
        return model.monthly.get(name, float("nan"))

    report.__name__ = name
    return report
