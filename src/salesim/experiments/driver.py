"""Run an experiment: plan, submit batches, store each as it lands, summarise at the end."""

from __future__ import annotations

import math
import sys
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from salesim.config import SalesimConfig
from salesim.experiments.compare import robustness
from salesim.experiments.plan import Plan, Run, runs_for, seed_of, sweep_plan
from salesim.experiments.runner import make_executor, run_batch
from salesim.experiments.stats import gap_sensitivity, precision_met, sensitivity, summarise
from salesim.experiments.store import Store, atomic_write_bytes, now


class Interrupted(Exception):
    """The user stopped the experiment; every finished run is stored."""


@dataclass
class ExperimentResult:
    """Where the results are and how many runs they hold."""

    out: Path
    status: str
    done: int
    failed: int
    #: True when the directory held this experiment finished: nothing was run this time.
    already_complete: bool = False


def batch_size(n_runs: int) -> int:
    """Runs per task: about 32 tasks per round, at most 16 runs each.

    It depends on the plan only (not on the workers), so batches, part files and the order of
    the consolidated results are the same on every executor.
    """
    return max(1, min(16, math.ceil(n_runs / 32)))


def batches(runs: list[Run], round_no: int) -> dict[str, list[Run]]:
    """The tasks of a round, by name: about ``batch_size`` runs each, in plan order.

    The designs of one (point, scenario, replication) go to the same task, one after another:
    they start from the same settled world (``salesim.start``), which a worker then computes
    once for all of them.
    """
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        groups.setdefault((run.point, run.scenario, run.replication), []).append(run)
    size = batch_size(len(runs))
    out: dict[str, list[Run]] = {}
    task: list[Run] = []
    for group in groups.values():
        task.extend(group)
        if len(task) >= size:
            out[f"r{round_no:03d}-b{len(out):06d}"] = task
            task = []
    if task:
        out[f"r{round_no:03d}-b{len(out):06d}"] = task
    return out


def _rounds(cfg: SalesimConfig):
    exp = cfg.experiment
    if exp.precision is None:
        yield range(exp.replications)
        return
    p = exp.precision
    start, stop = 0, p.initial
    while True:
        yield range(start, stop)
        if stop >= p.maximum:
            return
        start, stop = stop, min(p.maximum, stop + p.step)


def run_experiment(
    cfg: SalesimConfig,
    out: str | Path,
    *,
    executor: str = "process",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool | None = None,
) -> ExperimentResult:
    """Run (or resume, or just re-summarise) the experiment of ``cfg`` into ``out``."""
    if cfg.experiment is None:
        from salesim.experiments.spec import ExperimentSpec

        cfg = cfg.model_copy(
            update={"experiment": ExperimentSpec(designs=[cfg.model.design], replications=1)}
        )
    store = Store(out)
    state = store.open(cfg, resume)
    plan = sweep_plan(cfg.experiment.sweep, seed_of(cfg))
    if state != "complete":
        sessions = store.manifest().get("sessions", [])
        store.update_manifest(
            status="running", sessions=[*sessions, {"started": now(), "executor": executor}]
        )
        try:
            _execute(cfg, plan, store, executor, workers, scheduler, progress)
        except (KeyboardInterrupt, Interrupted):
            done, failed = store.counts()
            store.consolidate()
            store.update_manifest(
                status="interrupted",
                runs={**store.manifest()["runs"], "done": done, "failed": failed},
            )
            raise Interrupted(
                f"interrupted: {done} runs stored in {store.out}; finish with --resume"
            ) from None
    store.consolidate()
    _summaries(cfg, plan, store)
    done, failed = store.counts()
    store.update_manifest(
        status="complete",
        ended=now(),
        runs={**store.manifest()["runs"], "done": done, "failed": failed},
    )
    return ExperimentResult(store.out, "complete", done, failed, state == "complete")


def _execute(cfg, plan: Plan, store: Store, executor, workers, scheduler, progress) -> None:
    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(
        total=0, unit="run", file=sys.stderr, disable=not show, dynamic_ncols=True, desc=cfg.name
    )
    failed_total = 0
    with make_executor(executor, workers, scheduler) as (pool, n_workers), bar:
        for round_no, reps in enumerate(_rounds(cfg)):
            runs = runs_for(cfg, plan, reps)
            todo = {n: b for n, b in batches(runs, round_no).items() if not store.has(n)}
            manifest = store.manifest()
            if round_no >= manifest.get("rounds", 0):  # a round planned for the first time
                runs_info = manifest["runs"]
                planned = runs_info["planned"] + len(runs)
                store.update_manifest(runs={**runs_info, "planned": planned}, rounds=round_no + 1)
            bar.total = (bar.total or 0) + len(runs)
            _skip(bar, len(runs) - sum(len(b) for b in todo.values()))
            failed_total += _submit_all(pool, n_workers, cfg, todo, store, bar, failed_total)
            if cfg.experiment.precision is not None and precision_met(store.read_runs(), cfg):
                break


def _skip(bar: tqdm, stored: int) -> None:
    """Count runs stored by an earlier session without letting them into the rate (and ETA)."""
    if bar.disable:
        return
    bar.n += stored
    bar.initial += stored
    bar.last_print_n = bar.n
    bar.refresh()


def _submit_all(
    pool, n_workers: int, cfg, todo: dict[str, list[Run]], store: Store, bar, failed: int
) -> int:
    """Keep about two tasks per worker in flight; store each batch as it completes."""
    pending = list(todo.items())[::-1]
    running: dict[Future, str] = {}
    new_failures = 0
    try:
        while pending or running:
            while pending and len(running) < 2 * n_workers:
                name, runs = pending.pop()
                running[pool.submit(run_batch, cfg, runs)] = name
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in finished:
                name = running.pop(fut)
                results = fut.result()
                new_failures += store.write_batch(name, results)
                bar.update(len(results))
                bar.set_postfix(failed=failed + new_failures, refresh=False)
    except BaseException:
        for fut, name in running.items():
            # Keep what already finished; stop the rest.
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                store.write_batch(name, fut.result())
            else:
                fut.cancel()
        raise
    return new_failures


def _summaries(cfg: SalesimConfig, plan: Plan, store: Store) -> None:
    runs = store.read_runs()
    summary = summarise(runs, cfg)
    atomic_write_bytes(store.out / "summary.csv", summary.to_csv(index=False).encode())
    robust = robustness(summary, cfg)
    if len(robust):
        atomic_write_bytes(store.out / "robustness.csv", robust.to_csv(index=False).encode())
    sweep = cfg.experiment.sweep
    if sweep is not None and sweep.method in ("sobol", "morris"):
        table = sensitivity(runs, cfg, plan)
        atomic_write_bytes(store.out / "sensitivity.csv", table.to_csv(index=False).encode())
        if len(cfg.experiment.designs) > 1:
            gaps = gap_sensitivity(runs, cfg, plan)
            atomic_write_bytes(store.out / "sensitivity_gap.csv", gaps.to_csv(index=False).encode())
