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
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesim.distributions import unit_variates
from salesim.params import KINDS

if TYPE_CHECKING:
    from salesim.model import SalesModel

TECHNICAL = KINDS.index("technical")


@dataclass
class Needs:
    """One day's needs that customers actually raise (after thinning)."""

    customer: np.ndarray
    kind: np.ndarray
    arrival: np.ndarray
    lines: np.ndarray  # (n, max_lines), -1 padded; column 0 is the primary line
    uniforms: np.ndarray  # (n, 5 * max_lines + 2) design-independent variates
    normals: np.ndarray  # (n, 4 * max_lines + 1)

    def __len__(self) -> int:
        return len(self.customer)


class NeedSource:
    """Draws potential needs for every customer slot each day and keeps those raised."""

    def __init__(self, model: SalesModel) -> None:
        cfg = model.config
        req = cfg.requests
        book = model.customers
        self.model = model
        self.rng = model.streams["demand.needs"]
        self.variates = model.streams["service.times"]
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

    def raise_probability(self) -> np.ndarray:
        """Share of potential needs each customer raises with us now."""
        req = self.model.config.requests
        book = self.model.customers
        channel_factor = np.select(
            [book.channel == 0, book.channel == 1], [1.0, req.distributor_need_share], 0.0
        )
        return (
            (1 + req.satisfaction_effect * (book.satisfaction - 0.5)) / self.peak * channel_factor
        )

    def draw(self, day: int, demand_index: float = 1.0) -> Needs:
        """The needs raised on business day ``day``; a market that grows or surges raises more."""
        book = self.model.customers
        hours = self.model.config.calendar.hours_per_day
        rng = self.rng
        counts = rng.poisson(self.max_rate * demand_index)
        customer = np.repeat(np.arange(book.size), counts)
        m = len(customer)
        arrival = (day + rng.random(m)) * hours
        accept = rng.random(m)
        kind = np.searchsorted(self.kind_cdf, rng.random(m), side="right")
        span = rng.random(m)
        pick = rng.random(m)
        # Column layout (w = max lines): uniforms [work | coordination | pm-bound | handoff |
        # escalate, escalation work | pm work]; normals [work | coordination | pm work | handoff |
        # escalation work].
        uniforms = self.variates.random((m, 5 * self.width + 2))
        normals = self.variates.standard_normal((m, 4 * self.width + 1))

        keep = accept < self.raise_probability()[customer]
        customer, kind, arrival, span, pick = (
            customer[keep],
            kind[keep],
            arrival[keep],
            span[keep],
            pick[keep],
        )
        uniforms, normals = uniforms[keep], normals[keep]
        order = np.argsort(arrival, kind="stable")
        customer, kind, arrival, span, pick = (
            customer[order],
            kind[order],
            arrival[order],
            span[order],
            pick[order],
        )
        uniforms, normals = uniforms[order], normals[order]

        slots = book.line_slots[customer]
        primary = (self.slot_cdf[customer] < pick[:, None]).sum(axis=1)
        primary = np.minimum(primary, book.n_lines[customer] - 1)
        width = self.width
        # Rotate each row so the primary line comes first; keep the others if the need spans them.
        shift = (np.arange(width)[None, :] + primary[:, None]) % np.maximum(
            book.n_lines[customer], 1
        )[:, None]
        rotated = np.take_along_axis(slots, shift, axis=1)
        valid = np.arange(width)[None, :] < book.n_lines[customer][:, None]
        spans_all = span < self.model.config.requests.multi_line_need_prob
        valid &= spans_all[:, None] | (np.arange(width)[None, :] == 0)
        lines = np.where(valid, rotated, -1)
        return Needs(customer, kind, arrival, lines, uniforms, normals)


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
        idx = np.arange(self.n, self.n + m)
        for k, v in values.items():
            self.cols[k][idx] = v
        self.n += m
        return idx

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
        """Every job served: need, station, stage, arrival, start and departure."""
        names = ("request_id", "station", "stage", "arrival", "start", "departure")
        if not self.jobs:
            return pd.DataFrame({k: [] for k in names})
        cols = [np.concatenate(parts) for parts in zip(*self.jobs, strict=True)]
        return pd.DataFrame(dict(zip(names, cols, strict=True)))


class Router:
    """Turns needs into front-line and second-stage jobs under the model's design."""

    def __init__(self, model: SalesModel) -> None:
        self.model = model
        req = model.config.requests
        self.req = req
        self.pm_prob = np.array([req.pm_bound.get(k, 0.0) for k in KINDS])
        self.means = np.array(
            [req.service[k].mean_hours if k in req.service else 0.0 for k in KINDS]
        )

    def _kind_variates(self, kind: np.ndarray, u: np.ndarray, z: np.ndarray) -> np.ndarray:
        out = np.ones_like(u)
        for k, name in enumerate(KINDS):
            rows = kind == k
            if rows.any() and name in self.req.service:
                out[rows] = unit_variates(self.req.service[name], u[rows], z[rows])
        return out

    def route(self, needs: Needs) -> dict[str, np.ndarray]:
        """Front-line jobs for a day's needs; also registers the needs in the log."""
        model = self.model
        req = self.req
        n, width = needs.lines.shape
        valid = needs.lines >= 0
        line0 = np.maximum(needs.lines, 0)
        cust = needs.customer
        station = model.owner[cust[:, None], line0]
        # Read from the design each time: a reorganisation may bring or remove outlets.
        outlet_kinds = np.array([k in model.design.outlet_kinds for k in KINDS])
        to_outlet = outlet_kinds[needs.kind]
        if to_outlet.any():
            region_outlet = model.outlet_station[model.customers.region[cust]]
            station = np.where(to_outlet[:, None], region_outlet[:, None], station)
        station = np.where(valid, station, -1)
        u, z = needs.uniforms, needs.normals
        w = width
        skill = model.station_skill[np.maximum(station, 0), line0]
        work = self._kind_variates(np.repeat(needs.kind, w), u[:, :w].ravel(), z[:, :w].ravel())
        work = work.reshape(n, w) * self.means[needs.kind][:, None]
        technical = (needs.kind == TECHNICAL)[:, None]
        work = (
            work * model.station_overload[np.maximum(station, 0)] / np.where(technical, skill, 1.0)
        )
        work = np.where(valid, work, 0.0)

        # Lines one person takes form one job (one contact); its first line is the lead.
        lead = np.tile(np.arange(w), (n, 1))
        for j in range(1, w):
            for k in range(j - 1, -1, -1):
                same = valid[:, j] & (station[:, k] == station[:, j])
                lead[same, j] = lead[same, k]
        is_lead = valid & (lead == np.arange(w)[None, :])
        extra = np.zeros((n, w))
        followers = valid & ~is_lead
        rows = np.nonzero(followers)
        np.add.at(extra, (rows[0], lead[followers]), work[followers])
        job_work = work + req.extra_line_work * extra

        coord = req.coordination_delay.mean_hours * unit_variates(
            req.coordination_delay, u[:, w : 2 * w], z[:, w : 2 * w]
        )
        job_arrival = needs.arrival[:, None] + np.where(np.arange(w)[None, :] > 0, coord, 0.0)
        jobs_per_need = is_lead.sum(axis=1)

        pm_u = u[:, 2 * w : 3 * w]
        pm_bound = valid & (
            pm_u
            < self.pm_prob[needs.kind][:, None] * (1 - skill * model.config.staff.expert_resolution)
        )
        escalated = (needs.kind == TECHNICAL) & (u[:, 4 * w] < req.escalation_prob)

        idx = model.log.add(
            customer=cust,
            kind=needs.kind,
            line=needs.lines[:, 0],
            n_lines=valid.sum(axis=1),
            arrival=needs.arrival,
            first_response=np.full(n, np.inf),
            resolution=needs.arrival,
            handoffs=jobs_per_need - 1 + pm_bound.sum(axis=1) + escalated,
            contacts=jobs_per_need + escalated,
            pending=jobs_per_need + pm_bound.sum(axis=1) + escalated,
        )
        r, c = np.nonzero(is_lead)
        return {
            "need": idx[r],
            "station": station[r, c],
            "arrival": job_arrival[r, c],
            "work": job_work[r, c],
            # second-stage follow-ups, keyed by (row, lead column) of the job they follow
            "row": r,
            "col": c,
            "lead": lead,
            "pm_bound": pm_bound,
            "escalated": escalated,
            "lines": line0,
            "need_idx": idx,
            "customer": cust,
            "u": u,
            "z": z,
        }

    def follow_ups(self, jobs: dict[str, np.ndarray], depart: np.ndarray) -> dict[str, np.ndarray]:
        """Second-stage jobs (PM lines, escalations) released when their front-line job ends."""
        model = self.model
        req = self.req
        u, z = jobs["u"], jobs["z"]
        n, w = jobs["lead"].shape
        job_of = np.full((n, w), -1)
        job_of[jobs["row"], jobs["col"]] = np.arange(len(jobs["row"]))
        part_job = np.take_along_axis(job_of, jobs["lead"], axis=1)
        handoff = req.handoff_delay.mean_hours * unit_variates(
            req.handoff_delay, u[:, 3 * w : 4 * w], z[:, 3 * w : 4 * w]
        )
        pr, pc = np.nonzero(jobs["pm_bound"])
        pm_work = req.pm_service.mean_hours * unit_variates(
            req.pm_service, u[pr, 4 * w + 2 + pc], z[pr, 2 * w + pc]
        )
        er = np.flatnonzero(jobs["escalated"])
        esc_work = req.escalation_service.mean_hours * unit_variates(
            req.escalation_service, u[er, 4 * w + 1], z[er, 4 * w]
        )
        first_job = job_of[er, 0]
        esc_station = model.design.escalation_station(
            model, jobs["customer"][er], jobs["lines"][er, 0]
        )
        return {
            "need": np.concatenate([jobs["need_idx"][pr], jobs["need_idx"][er]]),
            "station": np.concatenate([model.pm_station[jobs["lines"][pr, pc]], esc_station]),
            "arrival": np.concatenate(
                [depart[part_job[pr, pc]] + handoff[pr, pc], depart[first_job] + handoff[er, 0]]
            ),
            "work": np.concatenate([pm_work, esc_work]),
        }
