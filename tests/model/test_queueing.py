"""The vectorised FCFS stations against a plain event-by-event reference."""

from __future__ import annotations

import heapq

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesim.model.distributions import draw
from salesim.model.inputs.params import ServiceTime
from salesim.model.queueing import Stations


def reference(servers, speed, station, arrival, work):
    """Serve each station's jobs in arrival order with a heap of server free times."""
    start = np.empty(len(station))
    free = {s: [0.0] * c for s, c in enumerate(servers)}
    for i in np.lexsort((arrival, station)):
        heap = free[station[i]]
        t = max(arrival[i], heap[0])
        heapq.heapreplace(heap, t + work[i] / speed[station[i]])
        start[i] = t
    return start, start + work / np.asarray(speed)[station]


def _serve_in_windows(servers, speed, station, arrival, work, windows):
    stations = Stations(np.array(servers), speed)
    start = np.empty(len(station))
    depart = np.empty(len(station))
    edges = np.linspace(0, 40, windows + 1)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = np.flatnonzero((arrival >= lo) & ((arrival < hi) | (hi == edges[-1])))
        start[sel], depart[sel] = stations.serve(station[sel], arrival[sel], work[sel])
    return stations, start, depart


@settings(max_examples=60, deadline=None)
@given(
    servers=st.lists(st.integers(1, 3), min_size=1, max_size=5),
    n=st.integers(0, 120),
    windows=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_windows_of_batches_match_reference(servers, n, windows, seed):
    rng = np.random.default_rng(seed)
    speed = rng.uniform(0.3, 1.0, len(servers))
    station = rng.integers(0, len(servers), n)
    arrival = np.sort(rng.uniform(0, 40, n))
    work = rng.exponential(1.0, n)
    stations, start, depart = _serve_in_windows(servers, speed, station, arrival, work, windows)
    ref_start, ref_depart = reference(servers, speed, station, arrival, work)
    # The stations keep time in ticks of 2**-24 hours: each job's times round by half a tick,
    # and a busy period of at most 120 jobs accumulates at most 60 ticks (4e-6 hours).
    np.testing.assert_allclose(start, ref_start, atol=1e-5)
    np.testing.assert_allclose(depart, ref_depart, atol=1e-5)
    np.testing.assert_allclose(
        stations.work_done, np.bincount(station, work, len(servers)), atol=1e-5
    )
    # Whatever the windows, the result is bit for bit the one of a single batch.
    _, one_start, one_depart = _serve_in_windows(servers, speed, station, arrival, work, 1)
    np.testing.assert_array_equal(start, one_start)
    np.testing.assert_array_equal(depart, one_depart)


@pytest.mark.parametrize(
    "spec",
    [
        ServiceTime(distribution="exponential", mean_hours=0.7),
        ServiceTime(distribution="lognormal", mean_hours=1.5, cv=0.8),
        ServiceTime(distribution="fixed", mean_hours=2.0),
    ],
)
def test_service_time_moments(spec):
    x = draw(spec, np.random.default_rng(1), 200_000)
    cv = {"exponential": 1.0, "lognormal": spec.cv, "fixed": 0.0}[spec.distribution]
    # Standard error of the mean is mean * cv / sqrt(n) = 0.2% of the mean; allow 1%.
    assert x.mean() == pytest.approx(spec.mean_hours, rel=0.01)
    assert x.std() / x.mean() == pytest.approx(cv, abs=0.02)
    assert (x >= 0).all()
