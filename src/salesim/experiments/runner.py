"""Running batches of runs on a ``concurrent.futures`` executor: in-process, processes or Dask."""

from __future__ import annotations

import os
import signal
import traceback
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from salesim.experiments import EXECUTORS
from salesim.experiments.plan import Run, model_config

if TYPE_CHECKING:
    from collections.abc import Iterator

    from salesim.config import SalesimConfig


#: Resolution-time histogram bins (business hours); the last bin holds everything longer.
RESPONSE_BINS = np.r_[np.arange(0, 80.5, 0.5), np.inf]

Frames = dict[str, pd.DataFrame]


def _with_run_id(frame: pd.DataFrame, run_id: str) -> pd.DataFrame:
    frame.insert(0, "run_id", run_id)
    return frame


def run_one(cfg: SalesimConfig, run: Run) -> tuple[dict[str, Any], Frames]:
    """One run -> (flat record of inputs and KPIs, per-run tables). A failure is recorded.

    The tables are ``ts`` (monthly KPIs) and ``responses`` (a histogram of resolution times,
    for distributions across runs without keeping every request).
    """
    from salesim.model import SalesModel

    record: dict[str, Any] = {
        "run_id": run.run_id,
        "point": run.point,
        "scenario": run.scenario,
        "design": run.design,
        "replication": run.replication,
        "seed": run.seed,
        **run.values,
    }
    try:
        model = SalesModel(model_config(cfg, run)).run()
        record.update(status="ok", error="", **model.kpis())
        ts = model.monthly_kpis().reset_index(drop=True)
        ts.insert(0, "month", range(len(ts)))
        counts, _ = np.histogram(model.response_hours(), bins=RESPONSE_BINS)
        hist = pd.DataFrame({"upper_hours": RESPONSE_BINS[1:], "count": counts})
        return record, {
            "ts": _with_run_id(ts, run.run_id),
            "responses": _with_run_id(hist, run.run_id),
        }
    except Exception:  # a failing run is data for the experiment, not the end of it
        record.update(status="failed", error=traceback.format_exc(limit=8))
        return record, {}


def run_batch(
    cfg: SalesimConfig, runs: list[Run]
) -> list[tuple[dict[str, Any], pd.DataFrame | None]]:
    """A task: several runs, so each task is worth its scheduling overhead."""
    return [run_one(cfg, run) for run in runs]


class SequentialExecutor(Executor):
    """Runs each task when it is submitted, in this process (for debugging and tiny studies)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        """Run ``fn`` now and return its finished future."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            future.set_exception(exc)
        return future


def _ignore_sigint() -> None:
    # Ctrl-C goes to the whole process group; the coordinator decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def default_workers() -> int:
    """All cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def process_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A process pool safe to start from a threaded process (forkserver); Ctrl-C left to us."""
    import multiprocessing

    return ProcessPoolExecutor(
        max_workers=workers or default_workers(),
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_ignore_sigint,
    )


@contextmanager
def make_executor(
    kind: str, workers: int | None = None, scheduler: str | None = None
) -> Iterator[tuple[Executor, int]]:
    """An executor and its number of workers; shut down (pending tasks cancelled) on exit."""
    workers = workers or default_workers()
    if kind == "sequential":
        yield SequentialExecutor(), 1
    elif kind == "process":
        pool = process_pool(workers)
        try:
            yield pool, workers
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    elif kind == "dask":
        from distributed import Client, LocalCluster

        cluster = None
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=40,
            )
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout="20s")
        try:
            n = (
                sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
                or workers
            )
            yield client.get_executor(pure=False), n
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    else:
        raise ValueError(f"--executor: unknown executor {kind!r}; allowed: {', '.join(EXECUTORS)}")
