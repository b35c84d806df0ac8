"""Run-to-run variation for the page: the organisations on the page, on several seeds at once.

"Run 10 seeds" runs each pane's config to the horizon on seeds ``seed`` to ``seed + 9`` (the
seeds a study's replications use, so pane 1 minus pane 0 on seed i is the report's paired
difference of replication i) on the experiments' process pool, while the page goes on. Each
worker runs month by month and returns each month's KPIs (``model.monthly``, with the product
managers' load and the queues by role the page charts) and the run's KPIs at the end. Workers
run at a lower CPU priority (``os.nice``), so the visitor's own model, stepping in the page's
process, keeps its speed on a machine whose cores the seeds occupy.

This module imports neither Solara nor the page, so the workers load only the model.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, wait
from typing import Any

import numpy as np

from salesim.experiments.runner import kill_workers, process_pool
from salesim.experiments.stats import half_width, verdict
from salesim.model.inputs.outcomes import NEUTRAL_COLOUR, outcome
from salesim.model.inputs.params import ModelConfig
from salesim.report import units
from salesim.viz.tracker import QUEUE_GROUPS

SEEDS = 10
#: How much less CPU priority a worker takes than the page (a nice value; 19 is the least).
WORKER_NICENESS = 10
_niced = False


def _lower_priority() -> None:
    global _niced
    if not _niced:
        try:
            os.nice(WORKER_NICENESS)
        except OSError:  # not allowed here: run at the same priority
            pass
        _niced = True


def seed_task(config: ModelConfig, seed: int) -> dict[str, Any]:
    """One seed of one pane's config, to the horizon: its months and its KPIs at the end."""
    from salesim.model.sales_model import SalesModel

    _lower_priority()
    model = SalesModel(config, rng=seed)
    per, horizon = model.days_per_month, config.horizon_days
    pm = model.pm_station
    hours_pm = (model.stations.speed * model.stations.servers)[pm].sum() * model.hours_per_day
    work = model.stations.work_done[pm].sum()
    months = []
    day = 0
    while day < horizon:
        days = min(per - day % per, horizon - day)
        model.run(days)
        day += days
        if len(months) == model.month:  # no month closed (a horizon that ends mid-month)
            continue
        done = model.stations.work_done[pm].sum()
        roles = model.station_role
        queues = model.queue_lengths()
        row = {
            **model.monthly,
            "month": model.month,
            "load_product_manager": float((done - work) / (hours_pm * per)),
            **{
                f"queue_{g}": float(queues[np.isin(roles, members)].sum())
                for g, members in QUEUE_GROUPS.items()
            },
        }
        work = done
        months.append(row)
    return {"seed": seed, "months": months, "kpis": model.kpis()}


class SeedRuns:
    """The seeds of every pane, run in the background; read as they come in.

    ``results[k][i]`` is seed ``seed + i`` of pane ``k`` once it is in. ``run`` blocks (call it
    from a thread of its own) until all are in, ``cancel`` is set (the workers are killed), or
    a run fails (``error`` says how).
    """

    def __init__(self, configs: list[ModelConfig], seed: int, count: int = SEEDS) -> None:
        self.configs = configs
        self.seed = seed
        self.count = count
        self.results: list[dict[int, dict[str, Any]]] = [{} for _ in configs]
        self.error: str | None = None

    @property
    def total(self) -> int:
        """Runs in all."""
        return len(self.configs) * self.count

    @property
    def finished(self) -> int:
        """Runs in so far."""
        return sum(len(r) for r in self.results)

    @property
    def done(self) -> bool:
        """Whether every run is in."""
        return self.finished == self.total

    def run(
        self,
        cancel: threading.Event,
        progress: Callable[[], None] = lambda: None,
        workers: int | None = None,
    ) -> None:
        """Run every seed on a process pool, calling ``progress()`` as each run comes in."""
        try:
            pool = process_pool(workers)
        except OSError as exc:  # no processes to be had: the page says so and goes on
            self.error = f"no worker processes could be started ({exc})"
            return
        pending: set = set()
        try:
            # Seed by seed, every pane: paired results come in together.
            futures = {
                pool.submit(seed_task, cfg, self.seed + i): (k, i)
                for i in range(self.count)
                for k, cfg in enumerate(self.configs)
            }
            pending = set(futures)
            while pending and not cancel.is_set():
                finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in finished:
                    k, i = futures[future]
                    try:
                        self.results[k][i] = future.result()
                    except Exception as exc:  # a run that fails stops the others: say so
                        self.error = f"seed {self.seed + i}: {type(exc).__name__}: {exc}"
                        cancel.set()
                        break
                if finished:
                    progress()
        finally:
            if pending:
                kill_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)

    def summary(self) -> SeedSummary | None:
        """What the finished runs say; None until every run is in."""
        return SeedSummary(self) if self.done else None


class SeedSummary:
    """Bands across seeds per pane and series, and the paired gap at the end of the run."""

    def __init__(self, runs: SeedRuns) -> None:
        self.runs = runs
        self.n = runs.count

    def band(self, pane: int, series: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(months from 1, lowest, highest) of a monthly series across the seeds of a pane."""
        runs = self.runs.results[pane]
        if not runs:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        values = np.array(
            [[m.get(series, np.nan) for m in r["months"]] for r in runs.values()], dtype=float
        )
        months = np.array([m["month"] for m in next(iter(runs.values()))["months"]], dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a month no seed has a value for
            return months, np.nanmin(values, axis=0), np.nanmax(values, axis=0)

    def gap(self, name: str) -> tuple[float, float, str]:
        """(mean, 95% CI half-width, verdict) of pane 1 minus pane 0, paired by seed."""
        left, right = self.runs.results[0], self.runs.results[1]
        d = np.array(
            [right[i]["kpis"].get(name, np.nan) - left[i]["kpis"].get(name, np.nan) for i in left],
            dtype=float,
        )
        d = d[np.isfinite(d)]
        if not len(d):
            return float("nan"), float("nan"), "none"
        mean, hw = float(d.mean()), half_width(d)
        return mean, hw, verdict(mean, hw, outcome(name).direction)

    def gap_cell(self, name: str) -> str:
        """The paired gap as the KPI table shows it under the live gap."""
        if len(self.runs.results) < 2:
            return ""
        mean, hw, said = self.gap(name)
        colour = units.colour(name, mean) if said != "none" else NEUTRAL_COLOUR
        return (
            f'<div class="seeds-gap" data-mean="{mean!r}" data-ci="{hw!r}" data-verdict="{said}" '
            f'style="color:{colour}">{self.n} seeds: '
            f"{units.with_ci(name, mean, hw, signed=True)}</div>"
        )

    def note(self) -> str:
        """How to read the seeds' line under each gap."""
        first, last = self.runs.seed, self.runs.seed + self.n - 1
        return (
            f"Under each gap: the difference at the end of the run over {self.n} seeds "
            f"({first} to {last}, each pair on common random numbers) ± its 95% CI, green or red "
            "only where the interval excludes zero, as in the report. Charts: the band is the "
            f"lowest to the highest of the {self.n} seeds each month."
        )
