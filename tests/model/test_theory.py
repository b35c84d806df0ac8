"""Degenerate configurations against queueing theory.

Each test runs independent replications (seeds), drops a warm-up, and compares the grand mean
with the analytic value. Tolerances are about four standard errors of the grand mean at these
run lengths (measured: M/M/1 at rho=0.5 gives a standard error of 0.5% of W over 40
replications of 3,000 days), so a correct model fails them rarely and a wrong rate, a missing
handoff or a pool served as separate queues fails them always.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from queueing_configs import HOURS, queue_config
from salesim import SalesModel

WARMUP_DAYS = 50
DAYS = 3000
REPLICATIONS = 6


def _service(mean: float, kind: str = "order") -> dict:
    return {kind: {"distribution": "exponential", "mean_hours": mean}}


def _runs(cfg, replications: int = REPLICATIONS):
    for seed in range(replications):
        model = SalesModel(cfg, rng=seed)
        snapshots = []
        for _ in range(cfg.horizon_days):
            model.step()
            if model.time > WARMUP_DAYS:
                snapshots.append(model.queue_lengths())
        jobs = model.job_log()
        needs = model.request_log()
        yield (
            model,
            jobs[jobs.arrival >= WARMUP_DAYS * HOURS],
            needs[needs.arrival >= WARMUP_DAYS * HOURS],
            np.array(snapshots),
        )


def erlang_c(c: int, offered: float) -> float:
    """Probability an arrival waits in M/M/c with offered load ``offered`` = lambda/mu."""
    rho = offered / c
    top = offered**c / math.factorial(c) / (1 - rho)
    return top / (sum(offered**k / math.factorial(k) for k in range(c)) + top)


def test_single_person_is_mm1():
    lam, mu = 0.5, 1.0
    cfg = queue_config(lam, days=DAYS, **{"model.requests.service": _service(1 / mu)}).model
    sojourn, wait = [], []
    for _, jobs, _, _ in _runs(cfg):
        sojourn.append((jobs.departure - jobs.arrival).mean())
        wait.append((jobs.start - jobs.arrival).mean())
    assert np.mean(sojourn) == pytest.approx(1 / (mu - lam), rel=0.04)
    assert np.mean(wait) == pytest.approx(lam / (mu * (mu - lam)), rel=0.06)


def test_cm_to_pm_is_a_jackson_network_and_littles_law_holds():
    lam, mu1, mu2, p = 0.5, 1.0, 0.5, 0.4
    cfg = queue_config(
        lam,
        days=DAYS,
        **{
            "model.requests.service": _service(1 / mu1),
            "model.requests.pm_bound": {"order": p},
            "model.requests.pm_service": {"distribution": "exponential", "mean_hours": 1 / mu2},
        },
    ).model
    expected = 1 / (mu1 - lam) + p / (mu2 - p * lam)
    sojourn, forwarded, little = [], [], []
    for model, jobs, needs, snapshots in _runs(cfg):
        sojourn.append((needs.resolution - needs.arrival).mean())
        forwarded.append((needs.handoffs == 1).mean())
        span = (DAYS - WARMUP_DAYS) * HOURS
        for station in (0, int(model.pm_station[0])):
            at = jobs[jobs.station == station]
            arrival_rate = len(at) / span
            mean_time = (at.departure - at.arrival).mean()
            little.append((snapshots[:, station].mean(), arrival_rate * mean_time))
    assert np.mean(forwarded) == pytest.approx(p, abs=0.01)
    assert np.mean(sojourn) == pytest.approx(expected, rel=0.05)
    measured, predicted = np.array(little).T
    # L (end-of-day snapshots of who is in the system) against lambda * W (from the job log).
    assert measured.mean() == pytest.approx(predicted.mean(), rel=0.05)


def test_pooled_outlet_is_erlang_c():
    servers, lam, mu = 3, 2.0, 1.0
    cfg = queue_config(
        lam,
        days=1500,
        **{
            "model.design": "three_in_one",
            "model.staff.sales_staff": servers + 1,
            "model.staff.outlet_staff_per_region": servers,
            "model.requests.kind_mix": {"logistics": 1.0, "order": 0.0},
            "model.requests.service": _service(1 / mu, "logistics"),
        },
    ).model
    offered = lam / mu
    wq = erlang_c(servers, offered) / (servers * mu - lam)
    waits, sojourns, contacts = [], [], []
    for model, jobs, needs, _ in _runs(cfg):
        assert set(jobs.station) == {int(model.outlet_station[0])}
        waits.append((jobs.start - jobs.arrival).mean())
        sojourns.append((jobs.departure - jobs.arrival).mean())
        contacts.append(needs.contacts.mean())
    assert np.mean(waits) == pytest.approx(wq, rel=0.08)
    assert np.mean(sojourns) == pytest.approx(wq + 1 / mu, rel=0.03)
    assert np.mean(contacts) == 1.0
