"""Run an experiment: plan, submit batches, store each as it lands, summarise at the end.

What is done is decided from the stored data: every batch the plan expects is checked against
its checksums at the start, and whatever is missing or damaged is run (again), said on stderr.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from salesim.experiments.compare import robustness
from salesim.experiments.config import ConfigError, SalesimConfig
from salesim.experiments.plan import Plan, Run, cells, runs_for, seed_of, sweep_plan
from salesim.experiments.runner import make_executor, run_batch
from salesim.experiments.stats import gap_sensitivity, precision_met, sensitivity, summarise
from salesim.experiments.store import (
    Store,
    StoreError,
    atomic_write_bytes,
    fingerprint,
    input_digests,
    io_error,
    now,
)


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


def rounds(cfg: SalesimConfig) -> Iterator[range]:
    """Replications of each round: one round, or the adaptive rounds up to the maximum."""
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


def round_batches(cfg: SalesimConfig, plan: Plan, round_no: int, reps: range) -> dict[str, list]:
    """The batches of one round, by name (``rRRR-bBBBBBB``), about ``batch_size`` runs each.

    The designs of one (point, scenario, replication) go to the same batch, one after another:
    they start from the same settled world (``salesim.model.start``), which a worker then computes
    once for all of them.
    """
    runs = runs_for(cfg, plan, reps)
    size = batch_size(len(runs))
    out: dict[str, list] = {}
    task: list = []
    for group in cells(runs):
        task.extend(group)
        if len(task) >= size:
            out[f"r{round_no:03d}-b{len(out):06d}"] = task
            task = []
    if task:
        out[f"r{round_no:03d}-b{len(out):06d}"] = task
    return out


def expected_batches(cfg: SalesimConfig, plan: Plan, n_rounds: int) -> dict[str, int]:
    """Batch name -> runs, for the first ``n_rounds`` rounds of the plan."""
    out: dict[str, int] = {}
    for round_no, reps in zip(range(n_rounds), rounds(cfg), strict=False):
        out.update({k: len(v) for k, v in round_batches(cfg, plan, round_no, reps).items()})
    return out


def _stderr(message: str) -> None:
    print(f"salesim: {message}", file=sys.stderr, flush=True)


def _describe(bad: dict[str, str], lost: set[str], sizes: dict[str, int]) -> str:
    """One line: which stored batches are missing or damaged, and how many runs they hold."""
    names = sorted(set(bad) | lost)
    runs = sum(sizes.get(n, 0) for n in names)
    first = names[0]
    why = bad.get(first, "missing")
    more = f" and {len(names) - 1} more" if len(names) > 1 else ""
    return f"{len(names)} stored batch(es), {runs} runs, missing or damaged ({first}: {why}{more})"


def run_experiment(
    cfg: SalesimConfig,
    out: str | Path,
    *,
    executor: str = "process",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool | None = None,
    notify: Callable[[str], None] = _stderr,
) -> ExperimentResult:
    """Run (or resume, or repair, or just re-summarise) the experiment of ``cfg`` into ``out``.

    ``notify`` receives one-line notices (batches found damaged and re-run); by default they go
    to stderr. Holds the directory's lock throughout.
    """
    if cfg.experiment is None:
        from salesim.experiments.spec import ExperimentSpec

        cfg = cfg.model_copy(
            update={"experiment": ExperimentSpec(designs=[cfg.model.design], replications=1)}
        )
    store = Store(out)
    with store.lock("run"):
        return _run_locked(cfg, store, executor, workers, scheduler, resume, progress, notify)


def _run_locked(cfg, store: Store, executor, workers, scheduler, resume, progress, notify):
    digests = input_digests(cfg)
    state = store.open(cfg, resume, digests)
    fp = fingerprint(cfg, digests)
    plan = sweep_plan(cfg.experiment.sweep, seed_of(cfg))
    manifest = store.manifest()
    sizes = expected_batches(cfg, plan, max(1, manifest.get("rounds", 1)))
    bad = store.check(fp, sizes)
    if state == "complete":
        lost = set(sizes) - set(store.good) - set(bad)
    else:  # an unfinished run: only batches once recorded count as lost
        lost = set(manifest.get("batches", {})) - set(store.good) - set(bad)
    if bad or lost:
        if not resume:
            raise StoreError(
                f"--out {store.out}: {_describe(bad, lost, sizes)}; add --resume to re-run them"
            )
        store.discard(sorted(bad))
        notify(f"{store.out}: {_describe(bad, lost, sizes)}; re-running them")
    # A study that was whole keeps its consolidated tables until it is whole again.
    whole = state == "complete"
    if state != "complete" or bad or lost:
        sessions = manifest.get("sessions", [])
        store.update_manifest(
            status="running", sessions=[*sessions, {"started": now(), "executor": executor}]
        )
        try:
            _execute(cfg, plan, store, (fp, digests), executor, workers, scheduler, progress)
        except (KeyboardInterrupt, Interrupted):
            done, _ = _stop(store, "interrupted", whole=whole)
            raise Interrupted(
                f"interrupted: {done} runs stored in {store.out}; finish with --resume"
            ) from None
        except OSError as exc:
            _stop(store, "interrupted", f"{exc.strerror}: {exc.filename}", whole=whole)
            raise _resumable(io_error(store.out, exc, "write")) from None
        except BrokenExecutor:
            done, _ = _stop(store, "interrupted", "a worker process died", whole=whole)
            raise ConfigError(
                f"a worker process died (killed from outside, or out of memory); {done} runs "
                f"stored in {store.out}: finish with --resume"
            ) from None
        except BaseException as exc:
            _stop(store, "interrupted", _first_line(exc), whole=whole)
            raise
    try:
        outputs = store.consolidate()
        _summaries(cfg, plan, store)
    except OSError as exc:
        _stop(store, "interrupted", f"{exc.strerror}: {exc.filename}")
        raise _resumable(io_error(store.out, exc, "write")) from None
    done, failed = store.counts()
    store.update_manifest(
        status="complete",
        ended=now(),
        runs={**store.manifest()["runs"], "done": done, "failed": failed},
        batches=store.batches_summary(),
        outputs=outputs,
    )
    nothing_run = state == "complete" and not (bad or lost)
    return ExperimentResult(store.out, "complete", done, failed, nothing_run)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else repr(exc)[:300]


def _resumable(err: ConfigError) -> StoreError:
    return StoreError(f"{err}; every finished run is kept: finish with --resume")


def _stop(
    store: Store, status: str, error: str | None = None, whole: bool = False
) -> tuple[int, int]:
    """Record how a session ended, as far as the disk allows; return (done, failed).

    ``whole``: the study was complete when the session started (some batches found damaged
    are being re-run): its consolidated tables stay as they are, not shrunk to what is verified.
    """
    done, failed = store.counts()
    if not whole:
        try:
            store.consolidate()
        except (OSError, ValueError):
            pass  # the parts are what count; consolidation is redone later
    try:
        manifest = store.manifest()
        sessions = manifest.get("sessions") or [{}]
        sessions[-1] = {**sessions[-1], "ended": now(), "status": status, "error": error}
        store.write_manifest(
            {
                **manifest,
                "status": status,
                "runs": {**manifest["runs"], "done": done, "failed": failed},
                "batches": store.batches_summary(),
                "sessions": sessions,
            }
        )
    except ConfigError:
        pass  # e.g. the disk is full: the batch records still say what is done
    return done, failed


def _execute(cfg, plan: Plan, store: Store, ident, executor, workers, scheduler, progress) -> None:
    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(
        total=0, unit="run", file=sys.stderr, disable=not show, dynamic_ncols=True, desc=cfg.name
    )
    failed_total = 0
    with make_executor(executor, workers, scheduler) as (pool, n_workers), bar:
        for round_no, reps in enumerate(rounds(cfg)):
            batches = round_batches(cfg, plan, round_no, reps)
            n_runs = sum(len(b) for b in batches.values())
            todo = {name: b for name, b in batches.items() if not store.has(name)}
            manifest = store.manifest()
            if round_no >= manifest.get("rounds", 0):  # a round planned for the first time
                runs_info = manifest["runs"]
                planned = runs_info["planned"] + n_runs
                store.update_manifest(runs={**runs_info, "planned": planned}, rounds=round_no + 1)
            bar.total = (bar.total or 0) + n_runs
            _skip(bar, n_runs - sum(len(b) for b in todo.values()))
            failed_total += _submit_all(pool, n_workers, cfg, ident, todo, store, bar, failed_total)
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
    pool, n_workers: int, cfg, ident, todo: dict[str, list[Run]], store: Store, bar, failed: int
) -> int:
    """Keep about two tasks per worker in flight; store each batch as it completes.

    ``ident`` is (fingerprint, data-file digests); each task checks that its runs read exactly
    those files (``run_batch``) and fails otherwise, which stops the study.
    """
    fp, digests = ident
    pending = list(todo.items())[::-1]
    running: dict[Future, str] = {}
    new_failures = 0
    try:
        while pending or running:
            while pending and len(running) < 2 * n_workers:
                name, runs = pending.pop()
                running[pool.submit(run_batch, cfg, runs, digests)] = name
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in finished:
                name = running.pop(fut)
                results = fut.result()
                new_failures += store.write_batch(name, fp, results, digests)
                bar.update(len(results))
                bar.set_postfix(failed=failed + new_failures, refresh=False)
    except BaseException:
        for fut, name in running.items():
            # Keep what already finished; stop the rest.
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                try:
                    store.write_batch(name, fp, fut.result(), digests)
                except OSError:
                    break  # the disk refuses: what is written is recorded, the rest re-runs
            else:
                fut.cancel()
        raise
    return new_failures


def _summaries(cfg: SalesimConfig, plan: Plan, store: Store) -> None:
    runs = store.read_runs()
    summary = summarise(runs, cfg) if len(runs) else pd.DataFrame()
    atomic_write_bytes(store.out / "summary.csv", summary.to_csv(index=False).encode())
    robust = robustness(summary, cfg)
    if len(robust):
        atomic_write_bytes(store.out / "robustness.csv", robust.to_csv(index=False).encode())
    sweep = cfg.experiment.sweep
    if sweep is not None and sweep.method in ("sobol", "morris") and len(runs):
        table = sensitivity(runs, cfg, plan)
        atomic_write_bytes(store.out / "sensitivity.csv", table.to_csv(index=False).encode())
        if len(cfg.experiment.designs) > 1:
            gaps = gap_sensitivity(runs, cfg, plan)
            atomic_write_bytes(store.out / "sensitivity_gap.csv", gaps.to_csv(index=False).encode())
