"""What the page shows of one running SalesModel, kept up to date a day at a time.

The page redraws many times a second while it plays, so nothing here rescans the request log:
each ``update()`` folds in only what the last step added (needs just resolved, jobs just
served), the model's own run KPIs (``model.kpis()``) are read once a month when they change,
and the customer state the story needs is copied once a month. Request flows between parts of
the organisation are kept per business day and summed over the last month (21 business days).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from salesim.model.inputs.params import KINDS
from salesim.viz.preview import preview_month

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel

#: Which column of the organisation picture a node sits in.
CUSTOMERS, FRONT, SECOND = "customers", "front", "second"

#: How the page names each role (a design may add roles; they fall back to the role's name).
ROLE_TITLES = {
    "product_rep": "reps",
    "customer_manager": "Customer managers",
    "service_outlet": "Service outlet",
    "product_manager": "Product manager",
    "regional_manager": "Regional manager",
}
PERSON = {
    "product_rep": "rep",
    "customer_manager": "customer manager",
    "service_outlet": "outlet",
    "product_manager": "product manager",
    "regional_manager": "regional manager",
}


#: Roles whose queues the page charts, as groups of station roles (a design may add roles:
#: they join the front line).
QUEUE_GROUPS = {
    "front": ("product_rep", "customer_manager"),
    "service_outlet": ("service_outlet",),
    "product_manager": ("product_manager",),
    "regional_manager": ("regional_manager",),
}


def region_names(model: SalesModel) -> list[str]:
    """Each region as the page names it: the customer file's names, else 'Region 1', ...."""
    if model.config.population.customers_file:
        return list(model.customers.region_names)
    return [f"Region {r + 1}" for r in range(model.config.population.regions)]


def roster_names(model: SalesModel) -> dict[int, str]:
    """Station -> the roster's person ids of the people working there (empty: no roster).

    A design builds its front line from its roster people in their order, outlets pooled per
    region (``salesim.model.designs``); the names are matched to the stations that way and
    checked person by person (role, region, lines), so a design built otherwise gets none.
    """
    roster = model.roster
    if roster is None:
        return {}
    people = model.design.roster_people(roster, model.config)
    front = [p for p in people if p.role != "service_outlet"]
    staff = model.sales_staff
    if len(front) != len(staff):
        return {}
    names = {}
    for person, agent in zip(front, staff, strict=True):
        if (
            person.role != agent.role
            or (person.region is not None and tuple(agent.regions) != (person.region,))
            or (person.lines is not None and tuple(agent.lines) != person.lines)
        ):
            return {}
        names[agent.station] = person.person_id
    for outlet in model.outlets:
        ids = [
            p.person_id for p in people if p.role == "service_outlet" and p.region == outlet.region
        ]
        if len(ids) != outlet.servers:
            return {}
        names[outlet.station] = ", ".join(ids)
    return names


def customer_name(book, slot: int) -> str:
    """A customer as the page names it: its id in the company's file, else its number."""
    return str(book.ids[slot]) if book.ids is not None and slot < len(book.ids) else str(slot)


@dataclass
class Node:
    """A part of the organisation drawn as one box: a region's customers or a group of staff."""

    key: tuple
    column: str
    title: str
    scope: str
    role: str = ""
    stations: list[int] = field(default_factory=list)
    era: int = 0


class Growable:
    """A 1-d numpy array that doubles its capacity as values are appended."""

    def __init__(self, dtype=float, fill=0) -> None:
        self.data = np.full(1024, fill, dtype=dtype)
        self.fill = fill
        self.n = 0

    def reserve(self, size: int) -> np.ndarray:
        """Make room for ``size`` entries; return the backing array."""
        if size > len(self.data):
            grown = np.full(max(size, 2 * len(self.data)), self.fill, dtype=self.data.dtype)
            grown[: len(self.data)] = self.data
            self.data = grown
        return self.data

    def extend(self, values: np.ndarray) -> None:
        """Append values."""
        self.reserve(self.n + len(values))[self.n : self.n + len(values)] = values
        self.n += len(values)

    def view(self) -> np.ndarray:
        """The filled part."""
        return self.data[: self.n]


class Tracker:
    """Running aggregates of one model: responses, flows, load, monthly KPIs and snapshots."""

    def __init__(self, model: SalesModel) -> None:
        self.model = model
        self.hours = model.hours_per_day
        self.window = model.days_per_month
        self.day = int(round(model.time))
        self.month = model.month
        self.nodes: list[Node] = []
        self._node_index: dict[tuple, int] = {}
        self.node_of = np.zeros(0, dtype=np.int64)  # station -> node
        self.person_no = np.zeros(0, dtype=np.int64)  # station -> number within its node
        self.pm_line = np.zeros(0, dtype=np.int64)  # station -> line it is PM of, or -1
        self.queue_group = np.zeros(0, dtype=np.int64)  # station -> its QUEUE_GROUPS index
        self.era = 0
        self._front = model.sales_staff
        self._design = model.design.name
        #: (months closed when it happened, design before, design after)
        self.reorganised: list[tuple[int, str, str]] = []
        self.region_names = region_names(model)
        self.names = roster_names(model)
        self.region_node = np.array(
            [
                self._node(("region", r), CUSTOMERS, name, "customers")
                for r, name in enumerate(self.region_names)
            ]
        )
        self._map_stations()

        # Flows: a (node x node) matrix of requests per business day, summed over the window.
        self._cap = 32
        self._today = np.zeros((self._cap, self._cap))
        self._days: deque[np.ndarray] = deque()
        self.flow = np.zeros((self._cap, self._cap))
        self._first_station = Growable(np.int64, -1)
        self._jobs_seen = 0
        self._work: deque[np.ndarray] = deque([model.stations.work_done.copy()])

        # Responses: every resolved need counted once, cumulatively and by resolution day.
        self._done = Growable(bool, False)
        self._scan_from = 0
        self._open_answered, self._open_first = 0, 0.0  # of needs not yet resolved
        self.since = model.measure_from_day * self.hours
        self._reset_totals()
        days = model.config.horizon_days + 4
        self._day_count = np.zeros(days)
        self._day_sum = np.zeros(days)
        self._day_hours: dict[int, list[np.ndarray]] = {}

        # Monthly: the model's KPIs, its monthly row, and the customer state for the story.
        self.month_kpis: dict[str, float] = model.kpis() if model.month else {}
        self.opening = preview_month(model) if model.time == 0 else {}
        self.monthly_rows: list[dict[str, float]] = []
        self.snapshots: list[dict[str, np.ndarray]] = [self._snapshot()]
        self._owner = model.owner.copy()
        #: (months closed, customers whose owners changed, owners before, owners after)
        self.owner_changes: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        self.series: dict[str, list[float]] = {
            k: []
            for k in (
                "day",
                "mean_response_hours",
                "p90_response_hours",
                "load_product_manager",
                "satisfaction",
                "retention_rate",
                *(f"queue_{g}" for g in QUEUE_GROUPS),
            )
        }
        self._record_series()

    # --- the organisation as nodes --------------------------------------------------------

    def _node(self, key: tuple, column: str, title: str, scope: str, role: str = "") -> int:
        if key not in self._node_index:
            self._node_index[key] = len(self.nodes)
            self.nodes.append(Node(key, column, title, scope, role, era=self.era))
        return self._node_index[key]

    def _map_stations(self) -> None:
        """Give every station not yet seen its node (a group of staff drawn as one box)."""
        m = self.model
        if m.sales_staff is not self._front:  # the front line was rebuilt: a reorganisation
            self._front = m.sales_staff
            self.era += 1
            self.reorganised.append((m.month, self._design, m.design.name))
            self._design = m.design.name
            self.names.update(roster_names(m))
        total = len(m.stations)
        seen = len(self.node_of)
        if total == seen:
            return
        lines = m.config.population.lines
        regions = m.config.population.regions
        agents = {
            a.station: a
            for a in [*m.sales_staff, *m.outlets, *m.product_managers, *m.regional_managers]
        }
        self.node_of = np.append(self.node_of, np.zeros(total - seen, dtype=np.int64))
        self.person_no = np.append(self.person_no, np.zeros(total - seen, dtype=np.int64))
        self.pm_line = np.append(self.pm_line, np.full(total - seen, -1, dtype=np.int64))
        groups = list(QUEUE_GROUPS)
        self.queue_group = np.append(
            self.queue_group,
            [
                next((i for i, g in enumerate(groups) if m.station_role[s] in QUEUE_GROUPS[g]), 0)
                for s in range(seen, total)
            ],
        ).astype(np.int64)
        for s in range(seen, total):
            a = agents.get(s)
            role = str(m.station_role[s])
            title = ROLE_TITLES.get(role, role.replace("_", " ").capitalize())
            if role == "product_manager":
                key, column, scope = ("pm", a.line), SECOND, ""
                title = f"{lines[a.line]} {title.lower()}"
                self.pm_line[s] = a.line
            elif role == "regional_manager":
                key, column, scope = ("rm", a.region), SECOND, self.region_names[a.region]
            elif hasattr(a, "lines") and len(a.lines) == 1 and len(a.regions) > 1:
                key, column = (self.era, role, "line", a.lines[0]), FRONT
                title, scope = f"{lines[a.lines[0]]} {title}", "all regions"
            elif hasattr(a, "region") or (hasattr(a, "regions") and len(a.regions) == 1):
                region = a.region if hasattr(a, "region") else a.regions[0]
                key, column = (self.era, role, "region", region), FRONT
                scope = self.region_names[region] if regions > 1 else "all customers"
            else:
                group = getattr(a, "group", s)
                key, column, scope = (self.era, role, "group", group), FRONT, f"group {group + 1}"
            node = self._node(key, column, title, scope, role)
            self.nodes[node].stations.append(s)
            self.node_of[s] = node
            self.person_no[s] = len(self.nodes[node].stations)

    def current(self, node: Node) -> bool:
        """Whether a node belongs to the organisation in force (not one that was replaced)."""
        return node.column != FRONT or node.era == self.era

    def person(self, station: int) -> str:
        """A member of staff as people name them: 'HDPE rep 3', 'customer manager 4, Region 2'.

        With a roster, its person id instead of the number: 'customer manager S05, North'.
        """
        node = self.nodes[self.node_of[station]]
        role = str(self.model.station_role[station])
        who = PERSON.get(role, role.replace("_", " "))
        if station in self.names:  # the roster's name for the person
            who = f"{who} {self.names[station]}"
        elif len(node.stations) > 1:
            who = f"{who} {self.person_no[station]}"
        if "line" in node.key:
            return f"{self.model.config.population.lines[node.key[-1]]} {who}"
        if node.column == SECOND and "line" not in node.key and node.key[0] == "pm":
            return node.title
        return f"{who}, {node.scope}" if node.scope else who

    # --- the daily update -----------------------------------------------------------------

    def update(self) -> None:
        """Fold in what the model's last step added; call after every step."""
        m = self.model
        self._map_stations()
        self._fold_jobs()
        self._fold_resolved()
        day = int(round(m.time))
        while self.day < day:  # one entry per business day simulated
            self.day += 1
            self._push_day()
        if m.month != self.month:
            self._close_month()
        self._record_series()

    def _grow(self, n: int) -> None:
        if n <= self._cap:
            return
        cap = max(n, 2 * self._cap)

        def pad(a: np.ndarray) -> np.ndarray:
            out = np.zeros((cap, cap))
            out[: a.shape[0], : a.shape[1]] = a
            return out

        self._today, self.flow = pad(self._today), pad(self.flow)
        self._days = deque(pad(d) for d in self._days)
        self._cap = cap

    def _fold_jobs(self) -> None:
        m = self.model
        jobs = m.log.jobs
        cols = m.log.cols
        book = m.customers
        self._grow(len(self.nodes))
        first = self._first_station.reserve(m.log.n)
        outlet_kinds = [i for i, k in enumerate(KINDS) if k in m.design.outlet_kinds]
        for need, station, stage, *_ in jobs[self._jobs_seen :]:
            cust = cols["customer"][need]
            dst = self.node_of[station]
            if stage[0] == 1:
                _, head = np.unique(need, return_index=True)
                unset = first[need[head]] < 0
                first[need[head][unset]] = station[head][unset]
                src = self.region_node[book.region[cust]]
            else:
                line = self.pm_line[station]
                up = np.where(line >= 0, m.owner[cust, np.maximum(line, 0)], first[need])
                via_outlet = np.isin(cols["kind"][need], outlet_kinds)
                up = np.where(via_outlet | (up < 0), first[need], up)
                src = self.node_of[np.maximum(up, 0)]
            np.add.at(self._today, (src, dst), 1.0)
        self._jobs_seen = len(jobs)

    def _push_day(self) -> None:
        self._days.append(self._today)
        self.flow += self._today
        if len(self._days) > self.window:
            self.flow -= self._days.popleft()
        self._today = np.zeros((self._cap, self._cap))
        self._work.append(self.model.stations.work_done.copy())
        if len(self._work) > self.window + 1:
            self._work.popleft()

    def _reset_totals(self) -> None:
        self.n_done = 0
        self.sum_hours = 0.0
        self.sum_contacts = 0.0
        self.sum_handoffs = 0.0
        self.hours_done = Growable(float)
        self.n_answered = 0
        self.sum_first = 0.0

    def _fold_resolved(self) -> None:
        m = self.model
        log = m.log
        cols = log.cols
        since = m.measure_from_day * self.hours
        if since != self.since:  # warm-up over: KPIs count needs arriving from now on
            self.since = since
            self._reset_totals()
        lo, hi = self._scan_from, log.n
        done = self._done.reserve(hi)
        new = np.flatnonzero((cols["pending"][lo:hi] == 0) & ~done[lo:hi]) + lo
        done[new] = True
        waiting = np.flatnonzero(~done[lo:hi])
        self._scan_from = lo + (int(waiting[0]) if len(waiting) else hi - lo)

        arrival = cols["arrival"][new]
        hours = cols["resolution"][new] - arrival
        measured = arrival >= since
        self.n_done += int(measured.sum())
        self.sum_hours += float(hours[measured].sum())
        self.sum_contacts += float(cols["contacts"][new][measured].sum())
        self.sum_handoffs += float(cols["handoffs"][new][measured].sum())
        self.hours_done.extend(hours[measured])
        # By the business day of resolution: day k covers business hours ((k-1)h, kh].
        day = np.ceil(cols["resolution"][new] / self.hours).astype(np.int64)
        day = np.clip(day, 0, len(self._day_count) - 1)
        np.add.at(self._day_count, day, 1.0)
        np.add.at(self._day_sum, day, hours)
        for d in np.unique(day).tolist():
            self._day_hours.setdefault(d, []).append(hours[day == d])

        # A need's first response is its earliest front-line start, final once it is resolved;
        # a part of it picked up later by another team may still come first while it is open.
        first = cols["first_response"][new] - arrival
        ok = np.isfinite(first) & measured
        self.n_answered += int(ok.sum())
        self.sum_first += float(first[ok].sum())
        open_ = np.flatnonzero(~done[self._scan_from : hi]) + self._scan_from
        first = cols["first_response"][open_] - cols["arrival"][open_]
        ok = np.isfinite(first) & (cols["arrival"][open_] >= since)
        self._open_answered, self._open_first = int(ok.sum()), float(first[ok].sum())

    def _close_month(self) -> None:
        m = self.model
        self.month_kpis = m.kpis()
        self.monthly_rows.append(dict(m.monthly))
        self.snapshots.append(self._snapshot())
        changed = np.flatnonzero((m.owner != self._owner).any(axis=1))
        if len(changed):
            before, after = self._owner[changed], m.owner[changed].copy()
            self.owner_changes.append((m.month, changed, before, after))
            self._owner = m.owner.copy()
        self.month = m.month

    def _snapshot(self) -> dict[str, Any]:
        book = self.model.customers
        acc = self.model.acc
        return {
            "satisfaction": book.satisfaction.copy(),
            "channel": book.channel.copy(),
            "relationship": book.customer_relationship(),
            "wallet": book.wallet.copy(),
            "fill": np.asarray(acc.fill, dtype=float).copy(),
            # The month's churn hazard and the terms of its logit (month 0: none yet).
            "hazard": np.asarray(acc.hazard, dtype=np.float32).copy(),
            "churn_terms": {k: v.astype(np.float32) for k, v in acc.churn_terms.items()},
        }

    def _record_series(self) -> None:
        m = self.model
        book = m.customers
        mean, p90 = self.window_response()
        active = book.active
        s = self.series
        s["day"].append(float(self.day))
        s["mean_response_hours"].append(mean)
        s["p90_response_hours"].append(p90)
        s["load_product_manager"].append(self.group_load(m.pm_station))
        s["satisfaction"].append(
            float(book.satisfaction[active].mean()) if active.any() else float("nan")
        )
        start = book.active_at_start  # replaced when a warm-up ends
        s["retention_rate"].append(float((start & active).sum()) / max(int(start.sum()), 1))
        queues = np.bincount(
            self.queue_group, weights=m.queue_lengths(), minlength=len(QUEUE_GROUPS)
        )
        for g, q in zip(QUEUE_GROUPS, queues.tolist(), strict=True):
            s[f"queue_{g}"].append(q)
        if len(s["day"]) > 1 and s["day"][-2] == s["day"][-1]:
            for values in s.values():
                del values[-2]

    # --- reading ----------------------------------------------------------------------------

    def window_response(self) -> tuple[float, float]:
        """Mean and p90 response (business hours) of needs resolved in the last month."""
        lo = max(self.day - self.window + 1, 0)
        days = range(lo, self.day + 1)
        count = self._day_count[lo : self.day + 1].sum()
        if count == 0:
            return float("nan"), float("nan")
        hours = np.concatenate([h for d in days for h in self._day_hours.get(d, [])])
        return float(self._day_sum[lo : self.day + 1].sum() / count), float(np.quantile(hours, 0.9))

    def running(self) -> dict[str, float]:
        """KPIs that move every day, over needs resolved so far (as ``model.kpis()`` counts)."""
        n, nan = self.n_done, float("nan")
        hours = self.hours_done.view()
        return {
            "mean_response_hours": self.sum_hours / n if n else nan,
            "p90_response_hours": float(np.quantile(hours, 0.9)) if n else nan,
            "contacts_per_need": self.sum_contacts / n if n else nan,
            "handoffs_per_request": self.sum_handoffs / n if n else nan,
            "mean_first_response_hours": (self.sum_first + self._open_first) / answered
            if (answered := self.n_answered + self._open_answered)
            else nan,
        }

    def load(self) -> np.ndarray:
        """Per station: work taken on over the last month / request hours available then."""
        m = self.model
        now = m.stations.work_done
        then = np.zeros(len(now))
        old = self._work[0]
        then[: len(old)] = old
        days = min(self.window, len(self._work) - 1)
        age = np.clip(m.time - m.station_created, 0, None)
        span = np.minimum(days, age)
        available = m.stations.speed * m.stations.servers * self.hours * span
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(available > 0, (now - then) / available, np.nan)

    def group_load(self, stations: np.ndarray, load: np.ndarray | None = None) -> float:
        """Load of a group of stations together (each weighted by its hours available)."""
        m = self.model
        load = (self.load() if load is None else load)[stations]
        weight = (m.stations.speed * m.stations.servers)[stations]
        ok = np.isfinite(load)
        return float((load[ok] * weight[ok]).sum() / weight[ok].sum()) if ok.any() else np.nan

    def node_flows(self) -> np.ndarray:
        """(node x node) requests over the last month, the day in progress included."""
        n = len(self.nodes)
        return (self.flow + self._today)[:n, :n]
