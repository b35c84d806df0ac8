"""After the search: verify the best on fresh seeds, and write trials.csv, best.yaml, a summary.

Verification takes the best few candidates that met every constraint in the search (for two
objectives, the feasible Pareto front, best first objective first), or when none did the
closest ones (least total violation), and runs them and the organisation in place on seeds the
search never used; each KPI's difference is paired by (point, seed), with a Student-t 95% CI.
The recommended candidate is the best of those on the fresh seeds among the ones that still meet
every constraint there. The summary (``optimise.json``) is what the report reads.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from salesim.experiments.optimise_eval import (
    candidate_model,
    candidate_runs,
    constraint_shown,
    constraint_values,
    frame,
    head_count,
    means,
    objective_names,
    objective_values,
    search_seeds,
    uncertainty_points,
    verification_seeds,
)
from salesim.experiments.optimise_spec import baseline_design, kpis_matching, uncertainties
from salesim.experiments.optimise_trials import (
    finished,
    plain,
    run_all,
    trials_table,
    values_of,
)
from salesim.experiments.stats import half_width
from salesim.experiments.store import atomic_write_bytes

if TYPE_CHECKING:
    from salesim.experiments.config import SalesimConfig

#: KPIs the verification always reports (besides the objectives and constrained KPIs).
ALWAYS = ("operating_profit", "cost_to_serve", "retention_rate", "p90_response_hours")
BEST_HEADER = "# salesim optimise: the recommended organisation"


def _sorted_best(table: pd.DataFrame, cfg: SalesimConfig) -> pd.DataFrame:
    """Feasible evaluated candidates, best first (first objective, in its direction)."""
    from salesim.experiments.optimise_eval import directions

    spec = cfg.optimise
    names = objective_names(spec)
    ok = table[(table.status == "evaluated") & table.constraints_met].copy()
    if len(names) == 2 and len(ok):
        signs = [1 if d == "maximize" else -1 for d in directions(spec)]
        ok = ok[_pareto(ok[names].to_numpy(dtype=float) * signs)]
    ascending = directions(spec)[0] == "minimize"
    return ok.sort_values([names[0], "trial"], ascending=[ascending, True])


def _pareto(points: np.ndarray) -> np.ndarray:
    """Rows not dominated by another (every column to be maximised)."""
    keep = np.ones(len(points), dtype=bool)
    for i, p in enumerate(points):
        dominated = np.all(points >= p, axis=1) & np.any(points > p, axis=1)
        keep[i] = not dominated.any()
    return keep


def chosen(table: pd.DataFrame, cfg: SalesimConfig) -> tuple[pd.DataFrame, bool]:
    """(the candidates to verify, whether any candidate met every constraint)."""
    top = cfg.optimise.verification.top
    if not len(table):
        return table, False
    best = _sorted_best(table, cfg)
    if len(best):
        return best.head(top), True
    evaluated = table[table.status == "evaluated"]
    return evaluated.sort_values(["violation", "trial"]).head(top), False


def _cached_runs(study, pool, cfg: SalesimConfig, tag: str, values: dict, n_workers: int):
    """Verification runs of a candidate, kept with the study so a second session skips them."""
    name = f"verify:{tag}:{cfg.optimise.verification.replications}"
    stored = study.user_attrs.get(name)
    if stored is not None:
        return stored
    runs = candidate_runs(cfg, f"v{tag}", values, verification_seeds(cfg), uncertainty_points(cfg))
    # (tag "vbaseline" is the organisation in place)
    records = [plain(r) for r in run_all(pool, cfg, runs, n_workers)]
    study.set_user_attr(name, records)
    return records


def verify(study, pool, cfg: SalesimConfig, base, n_workers: int) -> dict[str, Any]:
    """Run the chosen candidates and the organisation in place on fresh seeds."""
    table = trials_table(study, cfg)
    picked, feasible = chosen(table, cfg)
    baseline = _cached_runs(study, pool, cfg, "baseline", {}, n_workers)
    candidates = []
    for trial in picked.trial.tolist():
        values = values_of(study.trials[int(trial)], cfg)
        records = _cached_runs(study, pool, cfg, str(trial), values, n_workers)
        candidates.append({"trial": int(trial), "values": values, "records": records})
    return {"baseline": baseline, "candidates": candidates, "feasible": feasible}


def _metrics(cfg: SalesimConfig) -> list[str]:
    spec = cfg.optimise
    names = [g.kpi for g in spec.goals]
    for c in spec.all_constraints():
        names += kpis_matching(c.kpi)
    return list(dict.fromkeys([*names, *ALWAYS]))


def paired(cand: pd.DataFrame, base: pd.DataFrame, kpi: str) -> dict[str, float | None]:
    """Mean of a KPI, its paired difference to the baseline and the 95% CI half-width."""
    merged = cand.merge(base, on=["point", "seed"], suffixes=("", "_base"))
    diff = (merged[kpi] - merged[f"{kpi}_base"]).to_numpy(dtype=float)
    diff = diff[np.isfinite(diff)]
    return {
        "mean": _num(cand[kpi].mean()),
        "baseline": _num(base[kpi].mean()),
        "difference": _num(diff.mean()) if len(diff) else None,
        "half_width": _num(half_width(diff)),
        "n": int(len(diff)),
    }


def _num(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _verified_stats(cfg: SalesimConfig, verified: dict[str, Any]) -> list[dict[str, Any]]:
    spec = cfg.optimise
    base = frame(verified["baseline"])
    base_means = means(base)
    out = []
    for c in verified["candidates"]:
        table = frame(c["records"])
        if not len(table):
            continue
        kpis = means(table)
        cons = constraint_values(spec, kpis, base_means)
        out.append(
            {
                "trial": c["trial"],
                "values": c["values"],
                "objective": objective_values(spec, table, base),
                "constraints_met": all(v <= 0 for v in cons),
                "shown": constraint_shown(spec, kpis, base_means),
                "kpis": {k: paired(table, base, k) for k in _metrics(cfg) if k in table},
                "seeds": sorted({int(s) for s in table.seed}),
                "runs": int(len(table)),
            }
        )
    return out


def _winner(cfg: SalesimConfig, stats: list[dict], table: pd.DataFrame) -> dict | None:
    """The recommended candidate: best on fresh seeds among those meeting every constraint."""
    from salesim.experiments.optimise_eval import directions

    if not stats:
        return None
    sign = 1 if directions(cfg.optimise)[0] == "maximize" else -1
    ok = [s for s in stats if s["constraints_met"]] or stats
    return max(ok, key=lambda s: (sign * s["objective"][0], -s["trial"]))


def _runner_up(cfg, verified: dict, winner: dict, stats: list[dict]) -> dict | None:
    """The winner against the second best verified candidate, paired on the first objective."""
    others = [s for s in stats if s["trial"] != winner["trial"]]
    if not others:
        return None
    from salesim.experiments.optimise_eval import directions

    sign = 1 if directions(cfg.optimise)[0] == "maximize" else -1
    second = max(others, key=lambda s: (sign * s["objective"][0], -s["trial"]))
    tables = {c["trial"]: frame(c["records"]) for c in verified["candidates"]}
    kpi = cfg.optimise.goals[0].kpi
    result = paired(tables[winner["trial"]], tables[second["trial"]], kpi)
    return {"trial": second["trial"], "values": second["values"], "kpi": kpi, **result}


def write_best(out: Path, cfg: SalesimConfig, values: dict[str, Any], note: str) -> Path:
    """``best.yaml``: the candidate's whole model config, ready for ``salesim validate``."""
    import yaml

    from salesim.experiments.config import validate_config

    model = candidate_model(cfg, values).model_copy(update={"seed": cfg.model.seed})
    data = {"name": f"{cfg.name}_best", "model": model.model_dump(mode="json")}
    validate_config(data, "best.yaml", max_runs=None)  # what salesim validate will check
    shown = ", ".join(f"{k}={v}" for k, v in values.items())
    text = f"{BEST_HEADER} ({note}): {shown}\n# from {cfg.name}; salesim validate accepts it\n"
    text += yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    path = out / "best.yaml"
    atomic_write_bytes(path, text.encode())
    return path


def write_outputs(out: Path, cfg: SalesimConfig, study, base, verified) -> dict[str, Any]:
    """trials.csv always; with a verification also verification.csv, best.yaml, optimise.json."""
    spec = cfg.optimise
    table = trials_table(study, cfg)
    atomic_write_bytes(out / "trials.csv", table.to_csv(index=False).encode())
    if verified is None:
        return {}
    stats = _verified_stats(cfg, verified)
    winner = _winner(cfg, stats, table)
    rows = []
    for tag, records in [("baseline", verified["baseline"])] + [
        (str(c["trial"]), c["records"]) for c in verified["candidates"]
    ]:
        rows += [{"candidate": tag, **r} for r in records]
    keep = ["candidate", "point", "seed", "design", "status", *_metrics(cfg)]
    runs = pd.DataFrame(rows)
    runs = runs[[k for k in keep if k in runs]]
    atomic_write_bytes(out / "verification.csv", runs.to_csv(index=False).encode())
    feasible = int(table.constraints_met.sum()) if len(table) else 0
    base_values = {lever.path: _current(cfg, lever.path) for lever in spec.levers}
    base_model = candidate_model(cfg, {}, "baseline")
    summary: dict[str, Any] = {
        "name": cfg.name,
        "currency": cfg.experiment.report.currency,
        "levers": [lever.model_dump(mode="json", exclude_none=True) for lever in spec.levers],
        "objectives": [
            {"kpi": g.kpi, "direction": "maximise" if g.sign > 0 else "minimise"}
            for g in spec.goals
        ],
        "optimised": objective_names(spec),
        "candidate_design": _candidate_design(cfg),
        "constraints": [c.label for c in spec.all_constraints()],
        "head_count_cap": spec.head_count_cap,
        "sampler": spec.sampler_name,
        "n_trials": len(finished(study)),
        "candidates": int(len(table)),
        "evaluated": int((table.status == "evaluated").sum()) if len(table) else 0,
        "feasible": feasible,
        "replications": spec.replications,
        "search_seeds": search_seeds(cfg),
        "verification_seeds": verification_seeds(cfg),
        "robust": spec.robust.model_dump(mode="json") if spec.robust else None,
        "uncertainties": [u.model_dump(mode="json") for u in uncertainties(cfg)],
        "points": uncertainty_points(cfg),
        "baseline": {
            "design": baseline_design(cfg),
            "values": base_values,
            "head_count": head_count(base_model),
            **_baseline_constraints(cfg, base),
        },
        "verified": stats,
        "winner": winner,
        "runner_up": _runner_up(cfg, verified, winner, stats) if winner else None,
    }
    if winner is not None:
        if winner["constraints_met"]:
            note = "best verified candidate meeting every constraint"
        else:
            note = "no candidate met every constraint; the closest"
        summary["winner"]["head_count"] = head_count(candidate_model(cfg, winner["values"]))
        write_best(out, cfg, winner["values"], note)
        summary["best_note"] = note
    atomic_write_bytes(out / "optimise.json", json.dumps(summary, indent=2, default=str).encode())
    return summary


def _candidate_design(cfg: SalesimConfig) -> str:
    """Which design candidates take: the lever's choices, else ``model.design``."""
    from salesim.experiments.optimise_spec import DESIGN

    for lever in cfg.optimise.levers:
        if lever.path == DESIGN:
            return "the designs " + ", ".join(map(str, lever.choices)) + " (a lever)"
    return f"the {cfg.model.design} design (model.design)"


def _baseline_constraints(cfg: SalesimConfig, base) -> dict[str, Any]:
    """Whether the organisation in place meets the constraints on the search's seeds."""
    if base is None:
        return {}
    kpis = means(frame(base))
    values = constraint_values(cfg.optimise, kpis, kpis)
    return {
        "constraints_met": all(v <= 0 for v in values),
        "shown": constraint_shown(cfg.optimise, kpis, kpis),
    }


def _current(cfg: SalesimConfig, path: str) -> Any:
    """The organisation in place's value of a lever (the config's own)."""
    from salesim.experiments.optimise_spec import DESIGN

    if path == DESIGN:
        return baseline_design(cfg)
    node: Any = candidate_model(cfg, {}, "baseline")
    for part in path.split(".")[1:]:
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node
