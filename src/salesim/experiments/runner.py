"""Running batches of runs on a ``concurrent.futures`` executor: in-process, processes or Dask.

Worker processes never outlive the coordinator that started them. A watchdog thread in every
worker exits it within half a second of the coordinator's death (a dead coordinator not yet
reaped by its parent counts as dead: a caller reading our output before waiting must not wait
for ever); on Linux each worker also asks for SIGKILL when its parent (the forkserver) dies
(``prctl(PR_SET_PDEATHSIG)``). When the coordinator stops early (Ctrl-C, SIGTERM, an error)
it kills its workers at once instead of waiting for their batches.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from salesim.experiments import EXECUTORS
from salesim.experiments.plan import Run, model_config
from salesim.model.inputs.params import ConfigError
from salesim.model.own_data.tables import read_digest, shown

if TYPE_CHECKING:
    from collections.abc import Iterator

    from salesim.experiments.config import SalesimConfig


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
    from salesim.model.sales_model import SalesModel

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


class InputChanged(ConfigError):
    """A data file's content differs from the one the study started with (one line naming it)."""


def run_batch(
    cfg: SalesimConfig, runs: list[Run], digests: dict[str, str] | None = None
) -> list[tuple[dict[str, Any], pd.DataFrame | None]]:
    """A task: several runs, so each task is worth its scheduling overhead.

    ``digests`` (path -> SHA-256) are the data files the study started with; if a run read
    another content (the file was replaced while the study ran), the task raises
    ``InputChanged`` rather than return results that mix two books.
    """
    results = []
    for run in runs:
        results.append(run_one(cfg, run))
        for path, expected in (digests or {}).items():
            got = read_digest(path)
            if got is not None and got != expected:
                raise InputChanged(
                    f"{shown(path)}: changed while the study ran (a run read a content other "
                    "than the study started with); nothing from it was stored: put the original "
                    "back and finish with --resume, or run the new file into another --out"
                )
    return results


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


#: Seconds between a worker's checks that its coordinator is still alive.
WATCHDOG_SECONDS = 0.5
#: Seconds to wait for a Dask scheduler to answer.
SCHEDULER_TIMEOUT = 20


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent process exits (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass  # the watchdog still covers it


def _watch(coordinator: int, parent: int) -> None:
    import psutil

    try:
        boss = psutil.Process(coordinator)
    except psutil.NoSuchProcess:
        os._exit(1)
    while True:
        time.sleep(WATCHDOG_SECONDS)
        try:
            # A dead coordinator whose parent has not reaped it yet is a zombie: still gone.
            gone = not boss.is_running() or boss.status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            gone = True
        if gone or os.getppid() != parent:
            os._exit(1)  # nobody will read our results


def _worker_init(coordinator: int) -> None:
    """Initializer of every pool worker: leave Ctrl-C to the coordinator, die with it."""
    # Ctrl-C goes to the whole process group; the coordinator decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    watch = threading.Thread(
        target=_watch, args=(coordinator, os.getppid()), daemon=True, name="salesim-watchdog"
    )
    watch.start()


def kill_workers(pool: ProcessPoolExecutor) -> None:
    """Kill a process pool's workers now rather than wait for their tasks."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for proc in processes:
        try:
            proc.kill()
        except (OSError, ValueError):
            pass  # already gone
    for proc in processes:
        proc.join(timeout=2)


def default_workers() -> int:
    """All cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def process_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """A process pool safe to start from a threaded process (forkserver); Ctrl-C left to us.

    The fork server imports the model once and every worker forks from it with the imports
    done: a pool after the first starts in about 0.15 s instead of 2 s (each worker importing
    mesa, pandas and the model itself; measured with benchmarks/bench_experiments.py).
    """
    import multiprocessing

    from salesim.experiments.main_guard import check_main_guard

    check_main_guard()
    context = multiprocessing.get_context("forkserver")
    # Heeded only when the server starts (the first pool of this process); harmless later.
    context.set_forkserver_preload(["salesim.experiments.runner", "salesim.model.sales_model"])
    return ProcessPoolExecutor(
        max_workers=workers or default_workers(),
        mp_context=context,
        initializer=_worker_init,
        initargs=(os.getpid(),),
    )


def _local_worker_config() -> dict[str, Any]:
    """Dask settings for the workers of a local cluster.

    Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in its workers, which turns off glibc's dynamic
    mmap threshold: every numpy array over 128 KiB is then mapped and unmapped afresh (about
    6,000 page faults a baseline run, measured), so it is left out here. Without a dashboard
    the workers' statistical profiler (a stack sample every 10 ms) is of no use either, nor
    are the dashboard's system monitor and the event-loop tick check (every 20 ms), and a
    nanny need not poll its worker's memory ten times a second: on 2 cores these woke the
    scheduler, the nannies and the workers' event loops often enough to take about 8% of the
    CPU from the runs (measured with psutil, per thread, over 64 runs).
    """
    import dask

    environ = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
    return {
        "distributed.nanny.pre-spawn-environ": {
            k: v for k, v in environ.items() if k != "MALLOC_TRIM_THRESHOLD_"
        },
        "distributed.worker.profile.enabled": False,
        "distributed.admin.system-monitor.interval": "5s",
        "distributed.admin.tick.interval": "1s",
        "distributed.worker.memory.monitor-interval": "2s",
    }


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
        except BaseException:
            kill_workers(pool)  # Ctrl-C, SIGTERM or an error: stop now, not after the batches
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True, cancel_futures=True)
    elif kind == "dask":
        import dask
        from distributed import Client, LocalCluster

        cluster = None
        if scheduler is None:
            # A nanny writes its variables into this process's environment before it spawns,
            # so an earlier cluster's MALLOC_TRIM_THRESHOLD_ would reach new workers: drop it
            # while ours start.
            trim = os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
            try:
                with dask.config.set(_local_worker_config()):
                    cluster = LocalCluster(
                        n_workers=workers,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=None,
                        silence_logs=40,
                    )
            finally:
                if trim is not None:
                    os.environ["MALLOC_TRIM_THRESHOLD_"] = trim
            client = Client(cluster)
        else:
            client = _connect(Client, scheduler)
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


def _connect(client_class: Any, address: str) -> Any:
    """A Dask client of the scheduler at ``address``; ConfigError (one line) if none answers."""
    from salesim.model.inputs.params import ConfigError

    try:
        return client_class(address, timeout=f"{SCHEDULER_TIMEOUT}s")
    except (OSError, TimeoutError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"--scheduler {address}: no Dask scheduler answered within {SCHEDULER_TIMEOUT} s "
            f"({reason[:120]}); start one (dask scheduler) or check the address, then run again "
            "with --resume"
        ) from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"--scheduler {address!r}: not a scheduler address ({exc}); e.g. tcp://10.0.0.5:8786"
        ) from None
