"""First-come-first-served stations, processed a window of business time at a time.

A station has one server (a sales person, a PM) or a pooled team of ``servers``. Jobs are
processed in batches: every job arriving at a stage before the window's end is served in
arrival order. Single-server stations use the Lindley recursion in vectorised form,
``D_n = C_n + max_{k<=n}(A_k - C_{k-1})`` with ``C`` the cumulative work, run for all stations
at once; pooled teams assign each job to the first free server. Both are exact for a
feed-forward network, because every job a later window brings arrives at or after its start.

Work is in hours of effort. A server that gives ``desk_hours`` of an ``hours_per_day`` day to
requests works through it at speed ``desk_hours / hours_per_day`` on the business clock.
"""

from __future__ import annotations

import heapq

import numpy as np


class Stations:
    """State of every station: when each server is next free, and work done."""

    def __init__(self, servers: np.ndarray, speed: np.ndarray, start_time: float = 0.0) -> None:
        self.servers = np.asarray(servers, dtype=np.int64)
        self.speed = np.asarray(speed, dtype=float)
        if (self.servers < 1).any() or (self.speed <= 0).any():
            raise ValueError("every station needs at least one server and a positive speed")
        self.free_at = np.full(len(self.servers), float(start_time))
        self._pools = {
            int(s): [float(start_time)] * int(c) for s, c in enumerate(self.servers) if c > 1
        }
        self.work_done = np.zeros(len(self.servers))
        self.jobs_done = np.zeros(len(self.servers), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.servers)

    def add(self, servers: int, speed: float, start_time: float) -> int:
        """Add a station (e.g. a newly hired person); returns its index."""
        return self.extend([servers], [speed], start_time)[0]

    def extend(self, servers, speed, start_time: float) -> np.ndarray:
        """Add several stations at once (one copy of each array, not one per station)."""
        servers = np.asarray(servers, dtype=np.int64)
        first = len(self.servers)
        self.servers = np.concatenate([self.servers, servers])
        self.speed = np.concatenate([self.speed, np.asarray(speed, dtype=float)])
        self.free_at = np.concatenate([self.free_at, np.full(len(servers), float(start_time))])
        self.work_done = np.concatenate([self.work_done, np.zeros(len(servers))])
        self.jobs_done = np.concatenate([self.jobs_done, np.zeros(len(servers), dtype=np.int64)])
        for i, c in enumerate(servers.tolist(), start=first):
            if c > 1:
                self._pools[i] = [float(start_time)] * c
        return np.arange(first, len(self.servers))

    def serve(
        self, station: np.ndarray, arrival: np.ndarray, work: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Serve jobs FCFS; return (start, departure) in the input order."""
        n = len(station)
        start = np.empty(n)
        depart = np.empty(n)
        if n == 0:
            return start, depart
        duration = work / self.speed[station]
        pooled = self.servers[station] > 1
        single = ~pooled
        if single.all():
            start, depart = self._serve_single(station, arrival, duration)
        else:
            if single.any():
                idx = np.flatnonzero(single)
                start[idx], depart[idx] = self._serve_single(
                    station[idx], arrival[idx], duration[idx]
                )
            idx = np.flatnonzero(pooled)
            start[idx], depart[idx] = self._serve_pooled(station[idx], arrival[idx], duration[idx])
        self.work_done += np.bincount(station, weights=work, minlength=len(self.servers))
        self.jobs_done += np.bincount(station, minlength=len(self.servers))
        return start, depart

    def _serve_single(
        self, station: np.ndarray, arrival: np.ndarray, duration: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        order = np.lexsort((arrival, station))
        s = station[order]
        a = arrival[order].copy()
        w = duration[order]
        first = np.empty(len(s), dtype=bool)
        first[0] = True
        np.not_equal(s[1:], s[:-1], out=first[1:])
        a[first] = np.maximum(a[first], self.free_at[s[first]])
        cum = np.cumsum(w)
        x = a - (cum - w)
        # A running maximum that restarts at each station: lift each group above the last.
        group = np.cumsum(first) - 1
        lift = (x.max() - x.min() + 1.0) * group
        running = np.maximum.accumulate(x + lift) - lift
        dep = cum + running
        last = np.append(first[1:], True)
        self.free_at[s[last]] = dep[last]
        start = np.empty(len(s))
        depart = np.empty(len(s))
        # dep - w can round a hair below the arrival when the server was idle.
        start[order] = np.maximum(dep - w, a)
        depart[order] = dep
        return start, depart

    def _serve_pooled(
        self, station: np.ndarray, arrival: np.ndarray, duration: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        start = np.empty(len(station))
        order = np.lexsort((arrival, station))
        pools = self._pools
        jobs = zip(order.tolist(), station[order].tolist(), arrival[order].tolist(), strict=True)
        work = duration.tolist()
        for i, s, a in jobs:
            heap = pools[s]
            t = max(a, heap[0])
            heapq.heapreplace(heap, t + work[i])
            start[i] = t
        for s, heap in pools.items():
            self.free_at[s] = min(heap)
        return start, start + duration
