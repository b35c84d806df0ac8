"""Needs, the requests they become, and the log of what happened to them.

A *need* is what a customer wants on one occasion: a kind (order, price enquiry, technical
service or complaint, logistics/settlement), one or more product lines and an arrival time.
Potential needs are drawn from exogenous streams in a design-independent shape and thinned by
the customer's current state, so two designs on one seed see the same demand. The design then
decides who takes each line of the need; lines taken by one person form one front-line job (one
contact), lines taken by other teams become further jobs after a coordination delay, and lines
that need the product manager, and escalated complaints, become second-stage jobs after a
handoff delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesim.model.distributions import MixedVariates, unit_variates
from salesim.model.inputs.codes import CHANNELS, DIRECT, DISTRIBUTOR
from salesim.model.inputs.params import KINDS
from salesim.model.streams import keyed_uniforms

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel

TECHNICAL = KINDS.index("technical")
#: A potential need's draws from its key (``streams.keyed_uniforms``), by position.
ACCEPT, ARRIVAL, KIND, SPAN, PICK = range(5)


@dataclass
class Needs:
    """Needs that customers actually raise (after thinning), in arrival order.

    Each need carries a 64-bit key from the ``service.times`` stream; the variates of its
    routing and service (``variates``) are computed from that key alone, for the needs raised.
    """

    customer: np.ndarray
    kind: np.ndarray
    arrival: np.ndarray
    lines: np.ndarray  # (n, max_lines), -1 padded; column 0 is the primary line
    keys: np.ndarray  # uint64, one per need

    def __len__(self) -> int:
        return len(self.customer)

    def variates(self, needs: np.ndarray | slice, column: np.ndarray | int) -> np.ndarray:
        """Uniforms in ``column`` of the needs ``needs`` (paired element by element).

        Columns, w = max lines: [work | coordination | pm-bound | handoff (w each) | escalate,
        escalation work | pm work (w)]; lognormal shapes use them by inversion.
        """
        return keyed_uniforms(self.keys[needs], column)

    def variates_of(self, *asked: tuple[np.ndarray | slice, np.ndarray | int]) -> list[np.ndarray]:
        """``[variates(needs, column) for needs, column in asked]``, computed in one pass."""
        keys = [self.keys[needs] for needs, _ in asked]
        ends = list(accumulate(len(k) for k in keys))
        columns = [
            np.full(len(k), column, dtype=np.uint64)
            if isinstance(column, int | np.integer)
            else np.asarray(column, dtype=np.uint64)
            for k, (_, column) in zip(keys, asked, strict=True)
        ]
        u = keyed_uniforms(np.concatenate(keys), np.concatenate(columns))
        return [u[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]

    def part(self, rows: slice | np.ndarray) -> Needs:
        """The needs in ``rows``."""
        return Needs(
            self.customer[rows],
            self.kind[rows],
            self.arrival[rows],
            self.lines[rows],
            self.keys[rows],
        )


def _row_count(mask: np.ndarray) -> np.ndarray:
    """True entries per row of a narrow boolean matrix (faster than ``sum(axis=1)`` there)."""
    count = np.zeros(len(mask), dtype=np.int64)
    for k in range(mask.shape[1]):
        count += mask[:, k]
    return count


def _stable_argsort(values: np.ndarray) -> np.ndarray:
    """``argsort(values, kind="stable")``, by the faster unstable sort when nothing ties."""
    order = np.argsort(values)
    ordered = values[order]
    if (ordered[1:] == ordered[:-1]).any():
        return np.argsort(values, kind="stable")
    return order


def _concat(parts: list[Needs]) -> Needs:
    return Needs(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in Needs.__dataclass_fields__)
    )


class NeedSource:
    """Draws potential needs for every customer slot a month at a time and keeps those raised.

    A month's needs are drawn when its first day is simulated, from the customers' state then:
    nothing that sets how many needs a customer raises (satisfaction, channel) or who takes them
    changes before the month ends. Days and spans within the month take their part of it, so a
    model stepped a day at a time sees the very same needs as one run a month at a time.
    """

    def __init__(self, model: SalesModel) -> None:
        cfg = model.config
        req = cfg.requests
        book = model.customers
        self.model = model
        self.rng = model.streams["demand.needs"]
        self.service_rng = model.streams["service.times"]
        self.days = cfg.calendar.days_per_month
        self.hours = cfg.calendar.hours_per_day
        days_per_year = cfg.calendar.days_per_month * cfg.calendar.months_per_year
        mix = np.array([req.kind_mix.get(k, 0.0) for k in KINDS])
        self.kind_cdf = np.cumsum(mix / mix.sum())
        self.kind_cdf[-1] = 1.0
        self.peak = 1 + 0.5 * req.satisfaction_effect
        total = book.volume.sum(axis=1)
        self.max_rate = (
            req.needs_per_customer_year
            / days_per_year
            * np.exp(req.volume_elasticity * np.log(total / np.median(total)))
            * self.peak
        )
        slots = book.line_slots
        vol = np.where(
            slots >= 0, np.take_along_axis(book.volume, np.maximum(slots, 0), axis=1), 0.0
        )
        self.slot_cdf = np.cumsum(vol, axis=1) / vol.sum(axis=1, keepdims=True)
        self.width = slots.shape[1]
        # A need's lines, its primary first: rotations[c, p] is customer c's line slots
        # starting from its p-th (then wrapping round its lines).
        col = np.arange(self.width)
        shift = (col[None, None, :] + col[None, :, None]) % np.maximum(book.n_lines, 1)[
            :, None, None
        ]
        self.rotations = np.take_along_axis(slots[:, None, :], shift, axis=2)
        self._month = -1
        self._needs: Needs | None = None

    def raise_probability(self) -> np.ndarray:
        """Share of potential needs each customer raises with us now."""
        req = self.model.config.requests
        book = self.model.customers
        # By channel code: direct, distributor, then the channels of those not buying from us.
        by_channel = np.zeros(len(CHANNELS))
        by_channel[[DIRECT, DISTRIBUTOR]] = 1.0, req.distributor_need_share
        channel_factor = by_channel[book.channel]
        return (
            (1 + req.satisfaction_effect * (book.satisfaction - 0.5)) / self.peak * channel_factor
        )

    def between(self, first: int, last: int, demand_index: float = 1.0) -> Needs:
        """The needs raised on business days ``first`` to ``last - 1`` (0-based).

        Days are taken in order: a month is drawn (with ``demand_index``) when its first day
        is asked for.
        """
        parts = []
        day = first
        while day < last:
            month = day // self.days
            end = min(last, (month + 1) * self.days)
            if month != self._month:
                self._needs = self.draw_month(month, demand_index)
                self._month = month
            lo, hi = np.searchsorted(self._needs.arrival, [day * self.hours, end * self.hours])
            parts.append(self._needs.part(slice(lo, hi)))
            day = end
        return parts[0] if len(parts) == 1 else _concat(parts)

    def draw_month(self, month: int, demand_index: float = 1.0) -> Needs:
        """The needs raised in business month ``month`` (days ``month * days_per_month`` on).

        A month of a customer's potential needs is Poisson at its peak rate times the month's
        days, each at a uniform time of the month (a Poisson process); a growing or surging
        market raises more. The shapes drawn do not depend on the design (common random
        numbers); which needs are raised does, through each customer's state.
        """
        book = self.model.customers
        counts = self.rng.poisson(self.max_rate * (demand_index * self.days))
        customer = np.repeat(np.arange(book.size), counts)
        m = len(customer)
        # A key per potential need for what it is, one for how it is served: each need's draws
        # come from its keys alone, so the needs a design thins out cost nothing.
        keys = self.rng.bit_generator.random_raw(m)
        service_keys = self.service_rng.bit_generator.random_raw(m)

        keep = np.flatnonzero(keyed_uniforms(keys, ACCEPT) < self.raise_probability()[customer])
        drawn = keyed_uniforms(keys[keep][:, None], [ARRIVAL, KIND, SPAN, PICK])
        arrival = (month * self.days + self.days * drawn[:, 0]) * self.hours
        by_time = _stable_argsort(arrival)
        order, arrival = keep[by_time], arrival[by_time]
        customer = customer[order]
        kind, span, pick = drawn[by_time, 1:].T
        kind = np.searchsorted(self.kind_cdf, kind, side="right")

        n_lines = book.n_lines[customer]
        primary = _row_count(self.slot_cdf[customer] < pick[:, None])
        primary = np.minimum(primary, n_lines - 1)
        col = np.arange(self.width)[None, :]
        # The primary line comes first; the others stay if the need spans them.
        rotated = self.rotations[customer, primary]
        valid = col < n_lines[:, None]
        spans_all = span < self.model.config.requests.multi_line_need_prob
        valid &= spans_all[:, None] | (col == 0)
        lines = np.where(valid, rotated, -1)
        return Needs(customer, kind, arrival, lines, service_keys[order])


class NeedLog:
    """Growable columns of every need and an append-only log of every job served."""

    COLUMNS = {
        "customer": np.int64,
        "kind": np.int8,
        "line": np.int16,
        "n_lines": np.int8,
        "arrival": float,
        "first_response": float,
        "resolution": float,
        "handoffs": np.int16,
        "contacts": np.int16,
        "pending": np.int16,
        "counted": bool,
    }

    def __init__(self, capacity: int = 4096) -> None:
        self.n = 0
        self.cols = {k: np.zeros(capacity, dtype=t) for k, t in self.COLUMNS.items()}
        self.jobs: list[tuple[np.ndarray, ...]] = []
        self.scan_from = 0

    def add(self, **values: np.ndarray) -> np.ndarray:
        """Append needs; return their indices."""
        m = len(values["customer"])
        if self.n + m > len(self.cols["customer"]):
            size = max(2 * len(self.cols["customer"]), self.n + m)
            for k, col in self.cols.items():
                grown = np.zeros(size, dtype=col.dtype)
                grown[: self.n] = col[: self.n]
                self.cols[k] = grown
        for k, v in values.items():
            self.cols[k][self.n : self.n + m] = v
        self.n += m
        return np.arange(self.n - m, self.n)

    def add_jobs(
        self,
        need: np.ndarray,
        station: np.ndarray,
        stage: int,
        arrival: np.ndarray,
        start: np.ndarray,
        depart: np.ndarray,
    ) -> None:
        """Record served jobs (stage 1 = front line, 2 = PM or escalation)."""
        if len(need):
            self.jobs.append(
                (need, station, np.full(len(need), stage, np.int8), arrival, start, depart)
            )

    def view(self, name: str) -> np.ndarray:
        """The filled part of a column."""
        return self.cols[name][: self.n]

    def frame(self, kinds: tuple[str, ...], lines: list[str]) -> pd.DataFrame:
        """The per-request log as a DataFrame."""
        v = self.view
        return pd.DataFrame(
            {
                "request_id": np.arange(self.n),
                "customer": v("customer"),
                "kind": pd.Categorical.from_codes(v("kind"), categories=list(kinds)),
                "line": pd.Categorical.from_codes(v("line"), categories=lines),
                "n_lines": v("n_lines"),
                "arrival": v("arrival"),
                "first_response": v("first_response"),
                "resolution": np.where(v("pending") == 0, v("resolution"), np.nan),
                "handoffs": v("handoffs"),
                "contacts": v("contacts"),
            }
        )

    def job_frame(self) -> pd.DataFrame:
        """Every job served (need, station, stage, arrival, start, departure), by need and stage.

        The order does not depend on whether the model was stepped or run.
        """
        names = ("request_id", "station", "stage", "arrival", "start", "departure")
        if not self.jobs:
            return pd.DataFrame({k: [] for k in names})
        need, station, stage, arrival, start, depart = (
            np.concatenate(parts) for parts in zip(*self.jobs, strict=True)
        )
        order = np.lexsort((depart, start, arrival, station, stage, need))
        cols = (need, station, stage, arrival, start, depart)
        return pd.DataFrame({k: c[order] for k, c in zip(names, cols, strict=True)})


class Router:
    """Turns needs into front-line jobs and the second-stage jobs that follow them."""

    def __init__(self, model: SalesModel) -> None:
        self.model = model
        req = model.config.requests
        self.req = req
        self.pm_prob = np.array([req.pm_bound.get(k, 0.0) for k in KINDS])
        self.means = np.array(
            [req.service[k].mean_hours if k in req.service else 0.0 for k in KINDS]
        )
        self.service_variates = MixedVariates([req.service.get(k) for k in KINDS])

    def route(self, needs: Needs) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(front-line jobs, their second-stage jobs) for ``needs``; registers the needs.

        Second-stage jobs (lines forwarded to the product manager, escalated complaints) are
        released a handoff delay after the front-line job they follow (``parent``) ends. Each
        job has a ``key`` unique to it (need and part), which orders jobs that reach a station
        at the same instant.
        """
        model = self.model
        req = self.req
        n, w = needs.lines.shape
        valid = needs.lines >= 0
        line0 = np.maximum(needs.lines, 0)
        cust = needs.customer
        station = model.owner.take(cust[:, None] * model.owner.shape[1] + line0)
        # Read from the design each time: a reorganisation may bring or remove outlets.
        outlet_kinds = np.array([k in model.design.outlet_kinds for k in KINDS])
        to_outlet = outlet_kinds[needs.kind]
        if to_outlet.any():
            region_outlet = model.outlet_station[model.customers.region[cust]]
            station = np.where(to_outlet[:, None], region_outlet[:, None], station)
        station = np.where(valid, station, -1)
        at = np.maximum(station, 0)
        # Work on the lines the need has (most needs have one).
        vr, vc = np.nonzero(valid)
        taker = at[vr, vc]
        skill = model.station_skill[taker, line0[vr, vc]]
        kind = needs.kind[vr]
        u_work, u_pm, u_escalate = needs.variates_of(
            (vr, vc), (vr, 2 * w + vc), (slice(None), 4 * w)
        )
        part = self.service_variates(kind, u_work) * self.means[kind]
        part *= model.station_overload[taker]
        technical = kind == TECHNICAL
        part[technical] /= skill[technical]
        work = np.zeros((n, w))
        work[vr, vc] = part

        # Lines one person takes form one job (one contact); its first line is the lead.
        lead = np.empty((n, w), dtype=np.int64)
        lead[:] = np.arange(w)
        for j in range(1, w):
            for k in range(j - 1, -1, -1):
                same = valid[:, j] & (station[:, k] == station[:, j])
                lead[same, j] = lead[same, k]
        is_lead = valid & (lead == np.arange(w)[None, :])
        followers = valid & ~is_lead
        # Each follower's work onto its lead (summed in order, as np.add.at would).
        into = np.nonzero(followers)[0] * w + lead[followers]
        extra = np.bincount(into, weights=work[followers], minlength=n * w).reshape(n, w)
        job_work = work + req.extra_line_work * extra
        jobs_per_need = _row_count(is_lead)

        # A line goes on to its product manager with a chance that falls with the taker's skill.
        on_pm = u_pm < self.pm_prob[kind] * (1 - skill * model.config.staff.expert_resolution)
        pr, pc = vr[on_pm], vc[on_pm]
        escalated = (needs.kind == TECHNICAL) & (u_escalate < req.escalation_prob)
        er = np.flatnonzero(escalated)
        forwarded = np.bincount(pr, minlength=n)

        idx = model.log.add(
            customer=cust,
            kind=needs.kind,
            line=needs.lines[:, 0],
            n_lines=_row_count(valid),
            arrival=needs.arrival,
            first_response=np.full(n, np.inf),
            resolution=needs.arrival,
            handoffs=jobs_per_need - 1 + forwarded + escalated,
            contacts=jobs_per_need + escalated,
            pending=jobs_per_need + forwarded + escalated,
        )
        # Unique keys per job: front-line parts 0..w-1, forwarded lines w..2w-1, escalation 2w.
        parts = 2 * w + 1
        r, c = np.nonzero(is_lead)
        # Another team's part of a need is picked up after a coordination delay.
        later = np.flatnonzero(c > 0)
        u_coordination, u_pm_handoff, u_esc_handoff, u_pm_work, u_esc_work = needs.variates_of(
            (r[later], w + c[later]),
            (pr, 3 * w + pc),
            (er, 3 * w),
            (pr, 4 * w + 2 + pc),
            (er, 4 * w + 1),
        )
        arrival = needs.arrival[r]
        arrival[later] += req.coordination_delay.mean_hours * unit_variates(
            req.coordination_delay, u_coordination
        )
        front = {
            "need": idx[r],
            "station": station[r, c],
            "arrival": arrival,
            "work": job_work[r, c],
            "key": idx[r] * parts + c,
        }

        job_of = np.full((n, w), -1)
        job_of[r, c] = np.arange(len(r))
        handoff = req.handoff_delay.mean_hours * unit_variates(
            req.handoff_delay, np.concatenate([u_pm_handoff, u_esc_handoff])
        )
        pm_work = req.pm_service.mean_hours * unit_variates(req.pm_service, u_pm_work)
        esc_work = req.escalation_service.mean_hours * unit_variates(
            req.escalation_service, u_esc_work
        )
        esc_station = model.design.escalation_station(model, cust[er], line0[er, 0])
        follow = {
            "need": np.concatenate([idx[pr], idx[er]]),
            "station": np.concatenate([model.pm_station[line0[pr, pc]], esc_station]),
            "work": np.concatenate([pm_work, esc_work]),
            "delay": handoff,
            "parent": np.concatenate([job_of[pr, lead[pr, pc]], job_of[er, 0]]),
            "key": np.concatenate([idx[pr] * parts + w + pc, idx[er] * parts + 2 * w]),
        }
        return front, follow
