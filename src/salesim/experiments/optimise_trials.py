"""The optuna study of an optimisation and what is read from it: trials, candidates, records.

Shared by the search (``optimise``) and its outputs (``optimise_outputs``): opening the SQLite
study (fixed name, loaded if it exists), the directory's manifest, the trials table, and running
a list of runs on the pool.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from salesim.experiments.optimise_eval import directions, objective_names
from salesim.experiments.runner import run_batch
from salesim.experiments.store import Store, StoreError, atomic_write_bytes, input_digests, now

if TYPE_CHECKING:
    from collections.abc import Callable

    import optuna

    from salesim.experiments.config import SalesimConfig

STUDY_NAME = "salesim-optimise"
DB_FILE = "optuna.db"
KIND = "optimise"


def fingerprint(cfg: SalesimConfig) -> str:
    """What must not change between sessions of one study (n_trials and verification may)."""
    data = cfg.model_dump(mode="json", exclude={"optimise": {"n_trials", "verification"}})
    data["digests"] = input_digests(cfg)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def open_dir(store: Store, cfg: SalesimConfig) -> None:
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


def count_trials(out: Path) -> int:
    """Trials already in the study (0 if none), read without a sampler."""
    if not (out / DB_FILE).exists():
        return 0
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        summaries = optuna.get_all_study_summaries(f"sqlite:///{out / DB_FILE}")
    except Exception as exc:  # a damaged database: say so in one line
        raise StoreError(
            f"--out {out}: {DB_FILE} cannot be read ({type(exc).__name__}); move it away to "
            "start afresh, or choose another --out"
        ) from None
    return sum(s.n_trials for s in summaries if s.study_name == STUDY_NAME)


def finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Trials that count towards n_trials: evaluated, or over the head-count cap (not run)."""
    from optuna.trial import TrialState

    return [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]


def recover(study: optuna.Study, notify: Callable[[str], None]) -> None:
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


def run_all(pool, cfg: SalesimConfig, runs: list, n_workers: int) -> list[dict[str, Any]]:
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


def first_error(records: list[dict[str, Any]]) -> str:
    """The last line of the first failed run's traceback (for a one-line notice)."""
    for r in records:
        lines = [x for x in str(r.get("error", "")).splitlines() if x.strip()]
        if lines:
            return lines[-1].strip()[:200]
    return "no reason recorded"


def plain(record: dict[str, Any]) -> dict[str, Any]:
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


def values_of(trial, cfg: SalesimConfig) -> dict[str, Any]:
    """A trial's lever values in the levers' order (as ``suggest`` gives them)."""
    return {lever.path: trial.params[lever.path] for lever in cfg.optimise.levers}


def trials_table(study, cfg: SalesimConfig) -> pd.DataFrame:
    """One row per candidate tried: levers, objective(s), constraint values, whether met."""
    from optuna.trial import TrialState

    spec = cfg.optimise
    names = objective_names(spec)
    rows: dict[str, dict[str, Any]] = {}
    for t in study.trials:
        failed = t.state == TrialState.FAIL and "error" in t.user_attrs
        if not (failed or t.state in (TrialState.COMPLETE, TrialState.PRUNED)) or not t.params:
            continue
        values = values_of(t, cfg)
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
