"""``salesim optimise``: search a config's levers with optuna, then verify the best on fresh seeds.

The study lives in ``OUT/optuna.db`` (SQLite, a fixed study name, loaded if it exists), so a
run that is killed continues where it stopped: finished trials are kept, a trial that was
running is marked failed and its candidate asked again. One process at a time may use an
``--out`` (the results store's lock). Candidates are evaluated on the process pool (or Dask),
every replication a task, several candidates in flight; a candidate proposed again is not run
again (the same seeds give the same runs). The organisation in place runs on the same seeds.
Verification re-runs the best few feasible candidates (else the closest) on seeds after the
search's, paired against the organisation in place.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salesim.experiments.optimise_eval import (
    candidate_model,
    candidate_runs,
    constraint_shown,
    constraint_values,
    frame,
    head_count,
    head_count_violation,
    means,
    objective_values,
    search_seeds,
    uncertainty_points,
)
from salesim.experiments.optimise_outputs import verify, write_outputs
from salesim.experiments.optimise_spec import search_config
from salesim.experiments.optimise_trials import (
    DB_FILE,
    count_trials,
    finished,
    first_error,
    key_of,
    open_dir,
    open_study,
    plain,
    recover,
    run_all,
    values_of,
)
from salesim.experiments.runner import make_executor, run_batch
from salesim.experiments.store import Store, atomic_write_bytes, now
from salesim.model.inputs.params import ConfigError

if TYPE_CHECKING:
    import optuna

    from salesim.experiments.config import SalesimConfig


class Interrupted(Exception):
    """The user stopped the search; every finished trial is kept in the study."""


@dataclass
class SearchResult:
    """Where the results are and what this session did."""

    out: Path
    trials: int
    evaluated: int
    runs: int
    feasible: int
    summary: dict[str, Any] = field(default_factory=dict)


def _stderr(message: str) -> None:
    print(f"salesim: {message}", file=sys.stderr, flush=True)


def suggest(trial: optuna.Trial, cfg: SalesimConfig) -> dict[str, Any]:
    """The lever values optuna proposes for a trial."""
    values: dict[str, Any] = {}
    for lever in cfg.optimise.levers:
        if lever.choices is not None:
            values[lever.path] = trial.suggest_categorical(lever.path, lever.choices)
        elif lever.integer:
            step = int(lever.step or 1)
            values[lever.path] = trial.suggest_int(
                lever.path, int(lever.low), int(lever.high), step=step, log=lever.log
            )
        else:
            values[lever.path] = trial.suggest_float(
                lever.path, lever.low, lever.high, step=lever.step, log=lever.log
            )
    return values


@dataclass
class Pending:
    """A candidate being evaluated: the trials waiting for it and the records come back."""

    values: dict[str, Any]
    people: int | None
    trials: list[Any]
    expected: int
    records: list[dict[str, Any]] = field(default_factory=list)


def baseline_records(
    study: optuna.Study, pool, cfg: SalesimConfig, n_workers: int
) -> list[dict[str, Any]]:
    """The organisation in place on the search's seeds and points: stored with the study."""
    stored = study.user_attrs.get("baseline")
    if stored is not None:
        return stored
    runs = candidate_runs(cfg, "baseline", {}, search_seeds(cfg), uncertainty_points(cfg))
    records = [plain(r) for r in run_all(pool, cfg, runs, n_workers)]
    if not len(frame(records)):
        raise ConfigError(
            f"the organisation in place ({runs[0].design}) failed on every search seed: "
            f"{first_error(records)}"
        )
    study.set_user_attr("baseline", records)
    return records


def search(
    cfg: SalesimConfig,
    out: str | Path,
    *,
    executor: str = "process",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    notify: Callable[[str], None] = _stderr,
) -> SearchResult:
    """Run (or continue) the optimisation of ``cfg`` into ``out``, then verify and write outputs.

    Holds the directory's lock throughout; Ctrl-C or SIGTERM raise ``Interrupted`` with every
    finished trial kept (and trials.csv written).
    """
    cfg = search_config(cfg)
    store = Store(out)
    with store.lock("optimise"):
        open_dir(store, cfg)
        offset = count_trials(store.out)
        study = open_study(store.out, cfg, offset)
        recover(study, notify)
        with make_executor(executor, workers, scheduler) as (pool, n_workers):
            try:
                base = baseline_records(study, pool, cfg, n_workers)
                evaluated, runs = _search_loop(study, pool, cfg, base, n_workers, progress, notify)
            except KeyboardInterrupt:
                write_outputs(store.out, cfg, study, base=None, verified=None)
                _mark(store, "interrupted", study)
                n = len(finished(study))
                raise Interrupted(
                    f"interrupted: {n} trials kept in {store.out / DB_FILE}; run the same "
                    "command again to continue"
                ) from None
            try:
                verified = verify(study, pool, cfg, base, n_workers)
            except KeyboardInterrupt:
                write_outputs(store.out, cfg, study, base=base, verified=None)
                _mark(store, "interrupted", study)
                raise Interrupted(
                    f"interrupted during verification; the search is kept in {store.out}; run "
                    "the same command again to verify"
                ) from None
        summary = write_outputs(store.out, cfg, study, base=base, verified=verified)
        _mark(store, "complete", study)
    return SearchResult(
        store.out, len(finished(study)), evaluated, runs, summary.get("feasible", 0), summary
    )


def _mark(store: Store, status: str, study) -> None:
    """Record in the manifest how the session ended (the report says when it was stopped)."""
    try:
        manifest = json.loads(store.manifest_path.read_text())
        manifest.update(status=status, ended=now(), trials=len(finished(study)))
        atomic_write_bytes(store.manifest_path, json.dumps(manifest, indent=2).encode())
    except (OSError, ValueError):
        pass  # the study itself says what is done


def _search_loop(study, pool, cfg: SalesimConfig, base, n_workers: int, progress, notify) -> tuple:
    """Ask, evaluate and tell until the study holds ``n_trials`` finished trials.

    Returns (trials told this session, runs made this session).
    """
    from optuna.trial import TrialState
    from tqdm import tqdm

    spec = cfg.optimise
    seeds, points = search_seeds(cfg), uncertainty_points(cfg)
    base_table = frame(base)
    base_means = means(base_table)
    done_before = len(finished(study))
    cache: dict[str, optuna.trial.FrozenTrial] = {
        key_of(values_of(t, cfg)): t for t in study.trials if t.state == TrialState.COMPLETE
    }
    pending: dict[str, Pending] = {}
    futures: dict[Future, str] = {}
    todo = spec.n_trials - done_before
    told = runs_made = 0
    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(
        total=spec.n_trials, initial=done_before, unit="trial", file=sys.stderr, disable=not show
    )

    def tell(trial, attrs: dict[str, Any], values, state) -> None:
        nonlocal told
        for k, v in attrs.items():
            trial.set_user_attr(k, v)
        # The samplers read constraints set on the trial (feasible when every value <= 0).
        for i, c in enumerate(attrs.get("constraints") or []):
            trial.set_constraint(f"c{i:03d}", float(c))
        study.tell(trial, values, state=state)
        told += 1
        bar.update(1)

    try:
        while todo > 0 or futures:
            while todo > 0 and len(futures) < 2 * n_workers:
                trial = study.ask()
                todo -= 1
                values = suggest(trial, cfg)
                key = key_of(values)
                if key in cache:  # the same candidate on the same seeds: the same runs
                    t = cache[key]
                    attrs = {**t.user_attrs, "duplicate_of": t.number}
                    tell(trial, attrs, t.values, TrialState.COMPLETE)
                    continue
                if key in pending:
                    pending[key].trials.append(trial)
                    continue
                people = head_count(candidate_model(cfg, values))
                over = head_count_violation(spec, people)
                if over is not None and over > 0:
                    attrs = {"head_count": people, "constraints": [over], "over_cap": True}
                    tell(trial, attrs, None, TrialState.PRUNED)
                    continue
                runs = candidate_runs(cfg, f"t{trial.number:05d}", values, seeds, points)
                pending[key] = Pending(values, people, [trial], len(runs))
                for run in runs:
                    futures[pool.submit(run_batch, cfg, [run])] = key
                runs_made += len(runs)
            if not futures:
                continue
            done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
            for fut in done:
                key = futures.pop(fut)
                p = pending[key]
                p.records += [plain(record) for record, _ in fut.result()]
                if len(p.records) < p.expected:
                    continue
                del pending[key]
                table = frame(p.records)
                if len(table) < p.expected:  # a failed run: the candidate cannot be judged
                    notify(f"candidate {key} failed: {first_error(p.records)}")
                    for trial in p.trials:
                        attrs = {"error": first_error(p.records)}
                        tell(trial, attrs, None, TrialState.FAIL)
                    continue
                kpis = means(table)
                cons = constraint_values(spec, kpis, base_means)
                over = head_count_violation(spec, p.people)
                attrs = {
                    "kpis": kpis,
                    "head_count": p.people,
                    "constraints": [*cons, *([over] if over is not None else [])],
                    "shown": constraint_shown(spec, kpis, base_means),
                }
                values = objective_values(spec, table, base_table)
                first = p.trials[0]
                tell(first, attrs, values, TrialState.COMPLETE)
                cache[key] = study.trials[first.number]
                for trial in p.trials[1:]:
                    tell(
                        trial, {**attrs, "duplicate_of": first.number}, values, TrialState.COMPLETE
                    )
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise
    finally:
        bar.close()
    return told, runs_made
