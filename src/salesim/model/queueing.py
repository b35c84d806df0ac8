"""First-come-first-served stations, processed a window of business time at a time.

A station has one server (a sales person, a PM) or a pooled team of ``servers``. Jobs are
processed in batches: every job arriving at a station within a window is served in arrival
order. Single-server stations use the Lindley recursion in vectorised form,
``D_n = C_n + max_{k<=n}(A_k - C_{k-1})`` with ``C`` the cumulative work, run for all stations
at once; pooled teams assign each job to the first free server. Both are exact as long as every
job a later window brings arrives at or after the end of the earlier windows, which the model
ensures by carrying jobs that arrive after a window's end to the window they arrive in.

Times are kept on an integer clock of ``1 / TICKS_PER_HOUR`` business hours. Integer sums do not
depend on how they are grouped, so serving a month as one window or as 21 daily windows gives
bit-for-bit the same starts and departures (float cumulative sums would differ in the last
bits, and a last-bit difference can tip a random draw later in the run).

Work is in hours of effort. A server that gives ``desk_hours`` of an ``hours_per_day`` day to
requests works through it at speed ``desk_hours / hours_per_day`` on the business clock.
"""

from __future__ import annotations

import heapq

import numpy as np

#: Resolution of the clock: 2**-24 business hours (about 0.2 ms); a power of two, so a time
#: converts to float hours exactly.
TICKS_PER_HOUR = float(2**24)


def to_ticks(hours: np.ndarray) -> np.ndarray:
    """Business hours (a duration) on the integer clock, to the nearest tick."""
    return np.rint(np.asarray(hours, dtype=float) * TICKS_PER_HOUR).astype(np.int64)


def tick_at_or_after(hours: np.ndarray) -> np.ndarray:
    """The first tick at or after each instant, so nothing starts before it arrives."""
    return np.ceil(np.asarray(hours, dtype=float) * TICKS_PER_HOUR).astype(np.int64)


class Stations:
    """State of every station: when each server is next free, and work done."""

    def __init__(self, servers: np.ndarray, speed: np.ndarray, start_time: float = 0.0) -> None:
        self.servers = np.asarray(servers, dtype=np.int64)
        self.speed = np.asarray(speed, dtype=float)
        if (self.servers < 1).any() or (self.speed <= 0).any():
            raise ValueError("every station needs at least one server and a positive speed")
        start = int(to_ticks(start_time))
        self.free_ticks = np.full(len(self.servers), start, dtype=np.int64)
        self._pools = {int(s): [start] * int(c) for s, c in enumerate(self.servers) if c > 1}
        self.work_ticks = np.zeros(len(self.servers), dtype=np.int64)
        self.jobs_done = np.zeros(len(self.servers), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.servers)

    @property
    def work_done(self) -> np.ndarray:
        """Hours of work done at each station (a new array)."""
        return self.work_ticks / TICKS_PER_HOUR

    @property
    def free_at(self) -> np.ndarray:
        """Business hour at which each station is next free (its first server, if pooled)."""
        return self.free_ticks / TICKS_PER_HOUR

    def add(self, servers: int, speed: float, start_time: float) -> int:
        """Add a station (e.g. a newly hired person); returns its index."""
        return self.add_many([servers], [speed], start_time)[0]

    def add_many(self, servers, speed, start_time: float) -> np.ndarray:
        """Add stations (servers and speed of each) free from ``start_time``; their indices."""
        servers = np.asarray(servers, dtype=np.int64)
        speed = np.asarray(speed, dtype=float)
        if (servers < 1).any() or (speed <= 0).any():
            raise ValueError("every station needs at least one server and a positive speed")
        first, k = len(self.servers), len(servers)
        start = int(to_ticks(start_time))
        self.servers = np.concatenate([self.servers, servers])
        self.speed = np.concatenate([self.speed, speed])
        self.free_ticks = np.concatenate([self.free_ticks, np.full(k, start, dtype=np.int64)])
        self.work_ticks = np.concatenate([self.work_ticks, np.zeros(k, dtype=np.int64)])
        self.jobs_done = np.concatenate([self.jobs_done, np.zeros(k, dtype=np.int64)])
        for i, c in enumerate(servers.tolist()):
            if c > 1:
                self._pools[first + i] = [start] * c
        return np.arange(first, first + k)

    def serve(
        self,
        station: np.ndarray,
        arrival: np.ndarray,
        work: np.ndarray,
        key: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Serve jobs FCFS; return (start, departure) in hours, in the input order.

        ``key`` orders jobs that arrive at one station on the same tick (by default their
        position in the input); give a key that does not depend on how jobs were batched.
        """
        n = len(station)
        if n == 0:
            return np.empty(0), np.empty(0)
        station = np.asarray(station, dtype=np.int64)
        a = tick_at_or_after(arrival)
        d = to_ticks(work / self.speed[station])
        order = np.lexsort((np.arange(n) if key is None else key, a, station))
        s, a, d = station[order], a[order], d[order]
        start = np.empty(n, dtype=np.int64)
        pooled = self.servers[s] > 1
        if pooled.any():
            single = np.flatnonzero(~pooled)
            start[single] = self._serve_single(s[single], a[single], d[single])
            idx = np.flatnonzero(pooled)
            start[idx] = self._serve_pooled(s[idx], a[idx], d[idx])
        else:
            start = self._serve_single(s, a, d)
        out_start = np.empty(n)
        out_depart = np.empty(n)
        out_start[order] = start / TICKS_PER_HOUR
        out_depart[order] = (start + d) / TICKS_PER_HOUR
        self.work_ticks += np.bincount(
            station, weights=to_ticks(work), minlength=len(self.servers)
        ).astype(np.int64)
        self.jobs_done += np.bincount(station, minlength=len(self.servers))
        return out_start, out_depart

    def _serve_single(self, s: np.ndarray, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Start ticks of jobs sorted by (station, arrival) at single-server stations."""
        if len(s) == 0:
            return np.empty(0, dtype=np.int64)
        first = np.empty(len(s), dtype=bool)
        first[0] = True
        np.not_equal(s[1:], s[:-1], out=first[1:])
        a = a.copy()
        a[first] = np.maximum(a[first], self.free_ticks[s[first]])
        cum = np.cumsum(w)
        x = a - (cum - w)
        # A running maximum that restarts at each station: lift each group above the last.
        group = np.cumsum(first) - 1
        lift = (x.max() - x.min() + 1) * group
        running = np.maximum.accumulate(x + lift) - lift
        dep = cum + running
        last = np.append(first[1:], True)
        self.free_ticks[s[last]] = dep[last]
        return dep - w

    def _serve_pooled(self, s: np.ndarray, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Start ticks of jobs sorted by (station, arrival) at pooled stations."""
        start = np.empty(len(s), dtype=np.int64)
        pools = self._pools
        for i, (station, ai, wi) in enumerate(zip(s.tolist(), a.tolist(), w.tolist(), strict=True)):
            heap = pools[station]
            t = max(ai, heap[0])
            heapq.heapreplace(heap, t + wi)
            start[i] = t
        for station in np.unique(s).tolist():
            self.free_ticks[station] = min(pools[station])
        return start
