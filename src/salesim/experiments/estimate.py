"""How long a study will take: a few of its own runs, timed here, scaled up to its plan.

The runs timed are whole cells (every design of one point, scenario and replication, one
after another), as a worker runs them: the first design of a cell computes the steady start
and the others find it cached, so the mix of cold and warm runs is the study's. The cells are
spread over the plan (first, last, middle, quarters, ...), since swept values such as the
number of customers change what a run costs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from salesim.experiments import runner
from salesim.experiments.driver import rounds
from salesim.experiments.plan import cells, count_runs, runs_for, seed_of, sweep_plan

if TYPE_CHECKING:
    from salesim.experiments.config import SalesimConfig

#: Seconds after which no further cell is started (one cell is always timed).
BUDGET_SECONDS = 10.0
#: Cells timed at most.
MAX_CELLS = 8


@dataclass(frozen=True)
class Estimate:
    """Runs planned, runs timed here and the wall time they took."""

    planned: int
    timed: int
    seconds: float
    #: (run id, last line of its error) of each timed run that failed.
    failed: tuple[tuple[str, str], ...] = ()

    @property
    def per_run(self) -> float:
        """Wall seconds per run, on one core of this machine at its present load."""
        return self.seconds / self.timed

    def study_seconds(self, workers: int) -> float:
        """Wall seconds of the planned runs on ``workers`` workers sharing them perfectly.

        Start-up, storage and the report come on top; two workers on two cores give about
        1.8x, not 2x (``benchmarks/bench_experiments.py``).
        """
        return self.planned * self.per_run / workers


def spread(n: int, k: int) -> list[int]:
    """Up to ``k`` distinct indices of ``range(n)`` whose first few already span it.

    0, n - 1, then the middle, the quarters, the eighths (a van der Corput sequence).
    """
    if n <= 0 or k <= 0:
        return []
    picked: list[int] = []
    fractions = [0.0, 1.0]
    level = 2
    while len(picked) < min(n, k):
        for f in fractions:
            i = round(f * (n - 1))
            if i not in picked:
                picked.append(i)
                if len(picked) == min(n, k):
                    break
        fractions = [j / level for j in range(1, level, 2)]
        level *= 2
    return picked


def estimate(
    cfg: SalesimConfig, budget: float = BUDGET_SECONDS, max_cells: int = MAX_CELLS
) -> Estimate:
    """Time up to ``max_cells`` cells of ``cfg``'s experiment here, one after another."""
    import salesim.model.sales_model  # noqa: F401  (imported before the clock starts, as a worker has it)

    planned, _ = count_runs(cfg)
    plan = sweep_plan(cfg.experiment.sweep, seed_of(cfg))
    every = cells(runs_for(cfg, plan, next(rounds(cfg))))  # the first round's
    timed, seconds, failed = 0, 0.0, []
    for i in spread(len(every), max_cells):
        if timed and seconds >= budget:
            break
        for run in every[i]:
            began = time.perf_counter()
            record, _ = runner.run_one(cfg, run)
            seconds += time.perf_counter() - began
            timed += 1
            if record["status"] != "ok":
                lines = record["error"].strip().splitlines() or ["no error message"]
                failed.append((run.run_id, lines[-1]))
    return Estimate(planned, timed, seconds, tuple(failed))
