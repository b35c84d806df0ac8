"""Windows of business time through the request network: needs in, jobs served, jobs carried.

A window is a span of business days: one day when the model is stepped, the span to the next
month end (or warm-up end) when it runs. It takes the needs raised in it (``requests``), routes
them under the design, and serves at every station the jobs that arrive within it, in arrival
order (``queueing``). A job that arrives after the window's end (another team's part of a need,
picked up after a coordination delay; a line forwarded to a product manager after its handoff)
is carried to the window it arrives in. Every job is thus served in the window of its arrival,
on an integer clock, so the length of the windows changes nothing: a run stepped a day at a time
and one run a month at a time give identical results, bit for bit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel

Jobs = dict[str, np.ndarray]

#: A front-line job: the need it serves, its station, arrival (hours), work and ordering key.
FRONT = {"need": np.int64, "station": np.int64, "arrival": float, "work": float, "key": np.int64}
#: A second-stage job before its front-line job ends: released ``delay`` after it (``parent``).
FOLLOW = {
    "need": np.int64,
    "station": np.int64,
    "work": float,
    "delay": float,
    "parent": np.int64,
    "key": np.int64,
}


def empty(columns: dict[str, type]) -> Jobs:
    """No jobs, with the given columns."""
    return {k: np.zeros(0, dtype=t) for k, t in columns.items()}


def _take(jobs: Jobs, rows: np.ndarray) -> Jobs:
    return {k: v[rows] for k, v in jobs.items()}


def _join(a: Jobs, b: Jobs) -> Jobs:
    if not len(a["need"]):
        return b
    if not len(b["need"]):
        return a
    return {k: np.concatenate([a[k], b[k]]) for k in a}


class RequestNetwork:
    """The jobs between windows: carried to a later window, or still in the system."""

    def __init__(self, model: SalesModel) -> None:
        self.model = model
        self.front = empty(FRONT)  # front-line jobs arriving after the last window's end
        self.follow = empty(FOLLOW)  # second-stage jobs of those
        self.second = empty({k: t for k, t in FRONT.items()})  # second-stage jobs arriving later
        self.in_station = np.zeros(0, dtype=np.int64)  # jobs served, not yet departed
        self.in_depart = np.zeros(0)

    def window(self, first: int, last: int) -> None:
        """Business days ``first`` to ``last - 1`` (0-based) of requests."""
        model = self.model
        t_end = last * model.hours_per_day
        needs = model.source.between(first, last, model.market.demand_index(model.month))
        front, follow = model.router.route(needs)
        follow["parent"] = follow["parent"] + len(self.front["need"])
        front, follow = _join(self.front, front), _join(self.follow, follow)

        now = front["arrival"] < t_end
        served = _take(front, now)
        start, depart = self._serve(served, stage=1)
        np.minimum.at(model.log.cols["first_response"], served["need"], start)

        # Second-stage jobs of the jobs just served are released; the others wait with them.
        released = now[follow["parent"]]
        new = _take(follow, released)
        position = np.cumsum(now) - 1
        second = {
            "need": new["need"],
            "station": new["station"],
            "arrival": depart[position[new["parent"]]] + new["delay"],
            "work": new["work"],
            "key": new["key"],
        }
        carried = np.cumsum(~now) - 1
        self.front = _take(front, ~now)
        self.follow = _take(follow, ~released)
        self.follow["parent"] = carried[self.follow["parent"]]

        second = _join(self.second, second)
        now2 = second["arrival"] < t_end
        served2 = _take(second, now2)
        _, depart2 = self._serve(served2, stage=2)
        self.second = _take(second, ~now2)

        station = np.concatenate([self.in_station, served["station"], served2["station"]])
        dep = np.concatenate([self.in_depart, depart, depart2])
        keep = dep > t_end
        self.in_station, self.in_depart = station[keep], dep[keep]

    def _serve(self, jobs: Jobs, stage: int) -> tuple[np.ndarray, np.ndarray]:
        model = self.model
        start, depart = model.stations.serve(
            jobs["station"], jobs["arrival"], jobs["work"], jobs["key"]
        )
        need = jobs["need"]
        model.log.add_jobs(need, jobs["station"], stage, jobs["arrival"], start, depart)
        cols = model.log.cols
        np.maximum.at(cols["resolution"], need, depart)
        if len(need):
            lo = need.min()
            done = np.bincount(need - lo)  # a bincount is much faster than subtract.at on int16
            cols["pending"][lo : lo + len(done)] -= done.astype(cols["pending"].dtype)
        return start, depart

    def queue_lengths(self, now: float, stations: int) -> np.ndarray:
        """Jobs waiting or in service at each station at business hour ``now``."""
        busy = self.in_depart > now
        return np.bincount(self.in_station[busy], minlength=stations)
