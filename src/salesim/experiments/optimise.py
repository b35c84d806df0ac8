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

import hashlib
import json
import sys
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from salesim.experiments.optimise_eval import (
    candidate_model,
    candidate_runs,
    constraint_shown,
    constraint_values,
    directions,
    frame,
    head_count,
    head_count_violation,
    means,
    objective_values,
    search_seeds,
    uncertainty_points,
)
from salesim.experiments.optimise_spec import search_config
from salesim.experiments.runner import make_executor, run_batch
from salesim.experiments.store import (
    Store,
    StoreError,
    atomic_write_bytes,
    input_digests,
    now,
)
from salesim.model.inputs.params import ConfigError

if TYPE_CHECKING:
    import optuna

    from salesim.experiments.config import SalesimConfig

STUDY_NAME = "salesim-optimise"
DB_FILE = "optuna.db"
KIND = "optimise"


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


def fingerprint(cfg: SalesimConfig) -> str:
    """What must not change between sessions of one study (n_trials and verification may)."""
    data = cfg.model_dump(mode="json", exclude={"optimise": {"n_trials", "verification"}})
    data["digests"] = input_digests(cfg)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _open_dir(store: Store, cfg: SalesimConfig) -> None:
    """A new directory gets our manifest; an existing one must be this optimisation's."""
    fp = fingerprint(cfg)
    path = store.manifest_path
    if path.exists():
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError):
            raise StoreError(f"--out {store.out}: manifest.json is unreadable") from None
        if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
            raise StoreError(
                f"--out {store.out}: holds a salesim study, not an optimisation; choose "
                "another directory"
            )
        if manifest.get("fingerprint") != fp:
            raise StoreError(
                f"--out {store.out}: holds an optimisation of another config (levers, model or "
                "data changed; only n_trials and verification may); choose another directory"
            )
        return
    manifest = {"kind": KIND, "fingerprint": fp, "name": cfg.name, "created": now()}
    atomic_write_bytes(path, json.dumps(manifest, indent=2).encode())


def open_study(out: Path, cfg: SalesimConfig, session_offset: int) -> optuna.Study:
    """The study in ``out/optuna.db``, created or loaded, with this session's sampler."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = cfg.optimise

    # A new session seeds its sampler past the trials so far, so it does not replay the
    # first session's random start.
    seed = spec.seed + session_offset
    if spec.sampler_name == "nsga2":
        size = max(4, min(50, spec.n_trials // 4))
        sampler = optuna.samplers.NSGAIISampler(population_size=size, seed=seed)
    else:
        sampler = optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=max(3, min(10, spec.n_trials // 5)),
            multivariate=True,
        )
    return optuna.create_study(
        storage=f"sqlite:///{out / DB_FILE}",
        study_name=STUDY_NAME,
        load_if_exists=True,
        directions=directions(spec),
        sampler=sampler,
    )


def _count_trials(out: Path) -> int:
    """Trials already in the study (0 if none), read without a sampler."""
    if not (out / DB_FILE).exists():
        return 0
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        summaries = optuna.get_all_study_summaries(f"sqlite:///{out / DB_FILE}")
    except Exception as exc:  # a damaged database: say so in one line
        raise StoreError(f"--out {out}: {DB_FILE} cannot be read ({type(exc).__name__})") from None
    return sum(s.n_trials for s in summaries if s.study_name == STUDY_NAME)


def finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Trials that count towards n_trials: evaluated, or over the head-count cap (not run)."""
    from optuna.trial import TrialState

    return [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]


def _recover(study: optuna.Study, notify: Callable[[str], None]) -> None:
    """A trial left running by a killed session: mark it failed and ask its candidate again."""
    from optuna.trial import TrialState

    stale = [t for t in study.trials if t.state == TrialState.RUNNING]
    for t in stale:
        study.tell(t.number, state=TrialState.FAIL)
        study.enqueue_trial(t.params, skip_if_exists=False)
    if stale:
        notify(f"{len(stale)} trial(s) left running by an earlier session: asked again")


def key_of(values: dict[str, Any]) -> str:
    """A candidate's identity: its lever values."""
    return json.dumps(values, sort_keys=True, default=str)


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


def _run_all(pool, cfg: SalesimConfig, runs: list, n_workers: int) -> list[dict[str, Any]]:
    """Run a list of runs on the pool, two tasks per worker in flight; their records."""
    records: list[dict[str, Any]] = []
    todo = list(runs)[::-1]
    running: set[Future] = set()
    try:
        while todo or running:
            while todo and len(running) < 2 * n_workers:
                running.add(pool.submit(run_batch, cfg, [todo.pop()]))
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                records += [record for record, _ in fut.result()]
    except BaseException:
        for fut in running:
            fut.cancel()
        raise
    return records


def baseline_records(
    study: optuna.Study, pool, cfg: SalesimConfig, n_workers: int
) -> list[dict[str, Any]]:
    """The organisation in place on the search's seeds and points: stored with the study."""
    stored = study.user_attrs.get("baseline")
    if stored is not None:
        return stored
    runs = candidate_runs(cfg, "baseline", {}, search_seeds(cfg), uncertainty_points(cfg))
    records = [_plain(r) for r in _run_all(pool, cfg, runs, n_workers)]
    if not len(frame(records)):
        raise ConfigError(
            f"the organisation in place ({runs[0].design}) failed on every search seed: "
            f"{_first_error(records)}"
        )
    study.set_user_attr("baseline", records)
    return records


def _first_error(records: list[dict[str, Any]]) -> str:
    for r in records:
        lines = [x for x in str(r.get("error", "")).splitlines() if x.strip()]
        if lines:
            return lines[-1].strip()[:200]
    return "no reason recorded"


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """A run record as JSON-safe values (optuna stores user attributes as JSON)."""
    out = {}
    for k, v in record.items():
        if k == "error":
            out[k] = str(v)[-400:]
        elif hasattr(v, "item"):
            out[k] = v.item()
        else:
            out[k] = v
        if isinstance(out[k], float) and out[k] != out[k]:
            out[k] = None
    return out


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
    from salesim.experiments.optimise_outputs import verify, write_outputs

    cfg = search_config(cfg)
    store = Store(out)
    with store.lock("optimise"):
        _open_dir(store, cfg)
        offset = _count_trials(store.out)
        study = open_study(store.out, cfg, offset)
        _recover(study, notify)
        with make_executor(executor, workers, scheduler) as (pool, n_workers):
            try:
                base = baseline_records(study, pool, cfg, n_workers)
                evaluated, runs = _search_loop(study, pool, cfg, base, n_workers, progress, notify)
            except KeyboardInterrupt:
                write_outputs(store.out, cfg, study, base=None, verified=None)
                n = len(finished(study))
                raise Interrupted(
                    f"interrupted: {n} trials kept in {store.out / DB_FILE}; run the same "
                    "command again to continue"
                ) from None
            try:
                verified = verify(study, pool, cfg, base, n_workers)
            except KeyboardInterrupt:
                write_outputs(store.out, cfg, study, base=base, verified=None)
                raise Interrupted(
                    f"interrupted during verification; the search is kept in {store.out}; run "
                    "the same command again to verify"
                ) from None
        summary = write_outputs(store.out, cfg, study, base=base, verified=verified)
        manifest = json.loads(store.manifest_path.read_text())
        manifest.update(status="complete", ended=now(), trials=len(finished(study)))
        atomic_write_bytes(store.manifest_path, json.dumps(manifest, indent=2).encode())
    return SearchResult(
        store.out, len(finished(study)), evaluated, runs, summary.get("feasible", 0), summary
    )


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
        key_of(_values_of(t, cfg)): t for t in study.trials if t.state == TrialState.COMPLETE
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
                p.records += [_plain(record) for record, _ in fut.result()]
                if len(p.records) < p.expected:
                    continue
                del pending[key]
                table = frame(p.records)
                if len(table) < p.expected:  # a failed run: the candidate cannot be judged
                    notify(f"candidate {key} failed: {_first_error(p.records)}")
                    for trial in p.trials:
                        attrs = {"error": _first_error(p.records)}
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


def _values_of(trial, cfg: SalesimConfig) -> dict[str, Any]:
    """A trial's lever values in the levers' order (as ``suggest`` gives them)."""
    return {lever.path: trial.params[lever.path] for lever in cfg.optimise.levers}


def trials_table(study, cfg: SalesimConfig) -> pd.DataFrame:
    """One row per candidate tried: levers, objective(s), constraint values, whether met."""
    from optuna.trial import TrialState

    from salesim.experiments.optimise_eval import objective_names

    spec = cfg.optimise
    names = objective_names(spec)
    rows: dict[str, dict[str, Any]] = {}
    for t in study.trials:
        failed = t.state == TrialState.FAIL and "error" in t.user_attrs
        if not (failed or t.state in (TrialState.COMPLETE, TrialState.PRUNED)) or not t.params:
            continue
        values = _values_of(t, cfg)
        key = key_of(values)
        if key in rows:
            rows[key]["trials"] += 1
            continue
        attrs = t.user_attrs
        row: dict[str, Any] = {"trial": t.number, **values, "head_count": attrs.get("head_count")}
        for i, name in enumerate(names):
            row[name] = t.values[i] if t.values else None
        for label, value in (attrs.get("shown") or {}).items():
            row[label] = value
        cons = attrs.get("constraints") or []
        row["violation"] = sum(max(0.0, c) for c in cons)
        row["constraints_met"] = bool(t.state == TrialState.COMPLETE and all(c <= 0 for c in cons))
        if failed:
            row["status"] = f"runs failed: {attrs['error']}"
        elif attrs.get("over_cap"):
            row["status"] = "over head-count cap, not run"
        else:
            row["status"] = "evaluated"
        row["trials"] = 1
        rows[key] = row
    return pd.DataFrame(list(rows.values()))
