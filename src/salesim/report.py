"""The experiment report: one self-contained HTML file (figures embedded) plus PNGs.

``build_report(DIR)`` reads what ``salesim run`` stored in DIR and writes ``DIR/report.html``
and ``DIR/figures/*.png``. It checks every stored batch against its checksums, works on partial
results (an interrupted run, missing or damaged batches, every run failed) and says so. Figure
file names are made from scenario, design and parameter names, slugged so that nothing is ever
written outside ``DIR/figures``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml
from pydantic import ValidationError

from salesim import plots
from salesim.config import ConfigError, SalesimConfig
from salesim.experiments.stats import summarise
from salesim.experiments.store import Store, StoreError, atomic_write_bytes, io_error
from salesim.kpis import HEADLINE
from salesim.params import error_line

RATES = {
    "retention_rate",
    "annual_churn_rate",
    "direct_sales_rate",
    "plan_completion_rate",
    "budget_fulfilment_rate",
    "market_share",
    "satisfaction",
}
MAX_TABLE_POINTS = 4


def fmt(metric: str, value: float, diff: bool = False) -> str:
    """A value as a strategist reads it: rates in % (differences in points), hours, money."""
    if value is None or not np.isfinite(value):
        return "–"
    if metric in RATES or metric.startswith("utilisation_"):
        return f"{100 * value:+.1f} pts" if diff else f"{100 * value:.1f}%"
    if metric.endswith("_hours"):
        return f"{value:+.2f} h" if diff else f"{value:.2f} h"
    if abs(value) >= 1000:
        return f"{value:+,.0f}" if diff else f"{value:,.0f}"
    return f"{value:+.3f}" if diff else f"{value:.3f}"


@dataclass
class Figure:
    """A figure saved as PNG and embedded as base64."""

    name: str
    caption: str
    data: str = ""


@dataclass
class Section:
    """A scenario (and sweep point) of the report."""

    title: str
    table: list[dict[str, Any]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)


def file_name(name: str) -> str:
    """``name`` as one safe file-name component (no separators, no leading dot, no NUL).

    A name that had to change gets a short hash, so two names never share a file.
    """
    slug = re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("._")[:100]
    if slug == name:
        return name
    return f"{slug or 'figure'}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _save(fig, out: Path, name: str, caption: str) -> Figure:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    data = buf.getvalue()
    folder = out / "figures"
    path = folder / f"{file_name(name)}.png"
    if path.resolve().parent != folder.resolve():  # cannot happen with a slug; never risk it
        raise StoreError(f"figure name {name!r} would leave {folder}")
    atomic_write_bytes(path, data)
    return Figure(path.stem, caption, base64.b64encode(data).decode())


def _read(out: Path, name: str) -> pd.DataFrame:
    path = out / name
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()


def _scenario_sentences(summary: pd.DataFrame, scenario: str) -> list[str]:
    """What the scenario changes for each design, against the reference scenario (paired)."""
    out = []
    reference = summary["reference_scenario"].iloc[0]
    if scenario == reference:
        return out
    for design in summary.design.unique():
        d = summary[summary.design == design].set_index("metric")
        for metric in HEADLINE:
            if metric not in d.index or not bool(d.loc[metric, "scenario_diff_excludes_zero"]):
                continue
            m = d.loc[metric, "scenario_diff_mean"]
            hw = d.loc[metric, "scenario_diff_ci95_half_width"]
            lo, hi = sorted((abs(m - hw), abs(m + hw)))
            size, lo, hi = (fmt(metric, v, True).lstrip("+") for v in (abs(m), lo, hi))
            out.append(
                f"Against the {reference} scenario, {scenario} {'raises' if m > 0 else 'lowers'} "
                f"{plots.label(metric).lower()} under {design} by {size} (95% CI {lo} to {hi})."
            )
    return out


def _sentences(summary: pd.DataFrame, where: str) -> list[str]:
    out = []
    base = summary["baseline"].iloc[0]
    for design in [d for d in summary.design.unique() if d != base]:
        d = summary[summary.design == design].set_index("metric")
        for metric in HEADLINE:
            if metric not in d.index or not bool(d.loc[metric, "diff_excludes_zero"]):
                continue
            m, hw = d.loc[metric, "diff_mean"], d.loc[metric, "diff_ci95_half_width"]
            verb = "raises" if m > 0 else "lowers"
            lo, hi = sorted((abs(m - hw), abs(m + hw)))
            size, lo, hi = (fmt(metric, v, True).lstrip("+") for v in (abs(m), lo, hi))
            out.append(
                f"{where}{design} {verb} {plots.label(metric).lower()} by {size} "
                f"relative to {base} (95% CI {lo} to {hi})."
            )
        flat = [
            plots.label(m).lower()
            for m in HEADLINE
            if m in d.index and d.loc[m, "diff_n"] > 1 and not bool(d.loc[m, "diff_excludes_zero"])
        ]
        if flat:
            out.append(f"{where}{design} and {base} are not distinguishable on {', '.join(flat)}.")
    return out


def _table(summary: pd.DataFrame, metrics: list[str]) -> list[dict[str, Any]]:
    rows = []
    base = summary["baseline"].iloc[0]
    for metric in metrics:
        row: dict[str, Any] = {"metric": metric, "label": plots.label(metric), "cells": []}
        for design in summary.design.unique():
            r = summary[(summary.design == design) & (summary.metric == metric)]
            if r.empty:
                continue
            r = r.iloc[0]
            is_base = design == base
            ci, diff_ci = (
                fmt(metric, r[k]).lstrip("+") for k in ("ci95_half_width", "diff_ci95_half_width")
            )
            row["cells"].append(
                {
                    "design": design,
                    "mean": r["mean"],
                    "ci": r["ci95_half_width"],
                    "n": int(r["n"]),
                    "shown": f"{fmt(metric, r['mean'])} ± {ci}",
                    "diff": None if is_base else r["diff_mean"],
                    "diff_ci": None if is_base else r["diff_ci95_half_width"],
                    "diff_shown": ""
                    if is_base
                    else f"{fmt(metric, r['diff_mean'], True)} ± {diff_ci}",
                    "significant": not is_base and bool(r["diff_excludes_zero"]),
                }
            )
        rows.append(row)
    return rows


def _point_section(
    out, scenario, point, swept, metrics, headline, summary, ts, runs, responses
) -> Section:
    """KPI table, sentences and figures of one scenario at one sweep point."""
    values = ", ".join(f"{plots.label(k)} = {summary.iloc[0][k]:g}" for k in swept)
    where = f"Under the {scenario} scenario{' at ' + values if values else ''}, "
    sec = Section(
        f"Scenario {scenario}" + (f" — {values}" if values else ""),
        _table(summary, metrics),
        sentences=_sentences(summary, where) + _scenario_sentences(summary, scenario),
    )
    tag = f"{scenario}-p{point}"
    figures = []
    if summary.design.nunique() > 1:  # paired differences need a second design
        caption = "Paired differences to the baseline, % of its mean"
        figures.append((plots.forest(summary, headline), "forest", caption))
    if len(ts) and len(runs):
        caption = "Monthly KPIs, mean and 95% CI"
        figures.append((plots.time_series(ts, runs), "timeseries", caption))
    if len(responses) and len(runs):
        caption = "Resolution-time distribution (pooled over replications), p90 dashed"
        figures.append((plots.response_ecdf(responses, runs), "responses", caption))
    caption = "Utilisation per role: where the bottleneck is"
    figures.append((plots.utilisation(summary), "utilisation", caption))
    sec.figures = [_save(fig, out, f"{name}-{tag}", caption) for fig, name, caption in figures]
    return sec


def _sweep_section(out, cfg, scenario, summary, sens, headline) -> Section:
    """KPIs against the swept parameters; heat maps for a 2-D grid; sensitivity indices."""
    exp = cfg.experiment
    swept = [p.path for p in exp.sweep.parameters]
    sec = Section(f"Scenario {scenario} — sweep over {', '.join(plots.label(p) for p in swept)}")
    designs = list(summary.design.unique())
    for metric in headline[:6]:
        for param in swept:
            fig = plots.sweep_lines(summary, param, metric)
            caption = f"{plots.label(metric)} against {plots.label(param)}"
            sec.figures.append(_save(fig, out, f"sweep-{scenario}-{metric}-{param}", caption))
        if len(swept) == 2 and exp.sweep.method == "grid":
            for design in [d for d in designs if d != exp.baseline_design] or designs:
                fig = plots.sweep_heatmap(summary, swept[0], swept[1], metric, design)
                name = f"heatmap-{scenario}-{metric}-{design}"
                sec.figures.append(_save(fig, out, name, f"{plots.label(metric)} over the grid"))
    sens = sens[sens.scenario == scenario] if len(sens) else sens
    for design in sens.design.unique() if len(sens) else []:
        for metric in sens.metric.unique():
            fig = plots.sensitivity_bars(sens, metric, design)
            name = f"sensitivity-{scenario}-{design}-{metric}"
            sec.figures.append(
                _save(fig, out, name, f"Sensitivity of {plots.label(metric)} ({design})")
            )
    return sec


def build_report(out: str | Path) -> Path:
    """Write DIR/report.html (and DIR/figures/) from the results stored in DIR."""
    out = Path(out)
    store = Store(out)
    if not store.manifest_path.is_file():
        raise ConfigError(f"{out}: no manifest.json; not a salesim results directory")
    with store.lock("report"):
        try:
            return _build(store)
        except OSError as exc:
            raise io_error(out, exc, "write") from None


def _stored(store: Store, cfg: SalesimConfig, manifest: dict[str, Any]) -> dict[str, Any]:
    """Check the stored batches against the plan; rebuild the tables from the good ones."""
    from salesim.experiments.driver import expected_batches
    from salesim.experiments.plan import seed_of, sweep_plan

    plan = sweep_plan(cfg.experiment.sweep, seed_of(cfg))
    expected = expected_batches(cfg, plan, max(1, manifest.get("rounds", 1)))
    bad = store.check(manifest.get("fingerprint", ""), expected)
    missing = sorted(set(expected) - set(store.good))
    complete = manifest.get("status") == "complete" and not missing
    if not complete or not store.outputs_intact(manifest):
        store.consolidate()  # from verified parts only
    first = missing[0] if missing else None
    return {
        "complete": complete,
        "n_missing": len(missing),
        "missing_runs": sum(expected[n] for n in missing),
        "missing_why": f"{first}: {bad.get(first, 'missing')}" if first else "",
    }


def _build(store: Store) -> Path:
    out = store.out
    manifest = store.manifest()
    try:
        cfg = SalesimConfig.model_validate(manifest["config"], context={"max_runs": None})
    except ValidationError as err:
        raise StoreError(
            f"{store.manifest_path}: the stored config does not validate "
            f"({error_line(err, SalesimConfig)}); it was written by another salesim version"
        ) from None
    (out / "figures").mkdir(exist_ok=True)
    stored = _stored(store, cfg, manifest)
    runs = _read(out, "runs.parquet")
    if runs.empty:
        raise ConfigError(f"{out}: no runs stored yet; nothing to report")
    exp = cfg.experiment
    ok = runs[runs.status == "ok"]
    summary = summarise(runs, cfg) if len(ok) else pd.DataFrame()
    ts, responses = _read(out, "timeseries.parquet"), _read(out, "responses.parquet")
    sens = (
        pd.read_csv(out / "sensitivity.csv")
        if (out / "sensitivity.csv").exists() and (out / "sensitivity.csv").stat().st_size > 1
        else pd.DataFrame()
    )
    metrics = [m for m in exp.metrics if m in set(summary.get("metric", []))]
    headline = [m for m in HEADLINE if m in metrics] or metrics
    swept = [p.path for p in exp.sweep.parameters] if exp.sweep else []
    n_points = int(runs.point.max()) + 1
    sections = []
    for scenario in ok.scenario.unique():
        s_sum = summary[summary.scenario == scenario]
        s_runs = ok[ok.scenario == scenario]
        for point in range(n_points) if n_points <= MAX_TABLE_POINTS else []:
            p_sum = s_sum[s_sum.point == point]
            if not p_sum.empty:
                p_runs = s_runs[s_runs.point == point]
                tables = (
                    p_sum,
                    ts[ts.run_id.isin(p_runs.run_id)] if len(ts) else ts,
                    p_runs,
                    responses[responses.run_id.isin(p_runs.run_id)]
                    if len(responses)
                    else responses,
                )
                sections.append(
                    _point_section(out, scenario, point, swept, metrics, headline, *tables)
                )
        if swept:
            sections.append(_sweep_section(out, cfg, scenario, s_sum, sens, headline))
    failed = runs[runs.status != "ok"]
    context = {
        "name": cfg.name,
        "manifest": manifest,
        "partial": not stored["complete"],
        "status": manifest.get("status", "unknown")
        if manifest.get("status") != "complete"
        else "missing stored runs",
        **stored,
        "all_failed": ok.empty,
        "planned": manifest["runs"]["planned"],
        "done": len(runs),
        "n_failed": len(failed),
        "failed": [
            {
                "run_id": r.run_id,
                "seed": r.seed,
                "error": (r.error or "").strip().splitlines()[-1:] or [""],
            }
            for r in failed.itertuples()
        ],
        "designs": list(exp.designs),
        "baseline": exp.baseline_design,
        "seed": int(runs.seed.min()),
        "replications": int(runs.replication.max()) + 1,
        "config_yaml": yaml.safe_dump(manifest["config"], sort_keys=False),
        "sections": sections,
        "versions": manifest.get("versions", {}),
        "big_sweep": n_points > MAX_TABLE_POINTS,
    }
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("salesim", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    text = env.get_template("report.html.j2").render(**context)
    atomic_write_bytes(out / "report.html", text.encode())
    return out / "report.html"
