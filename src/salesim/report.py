"""The experiment report: the verdict first, then robustness, observed figures and the detail.

``build_report(DIR)`` reads what ``salesim run`` stored in DIR and writes ``DIR/report.html``
(self-contained, figures embedded) and ``DIR/figures/*.png``. It checks every stored batch
against its checksums, works on partial results (an interrupted run, missing or damaged
batches, every run failed) and says so. Figure file names are made from scenario, design and
parameter names, slugged so that nothing is ever written outside ``DIR/figures``. The words are
in ``salesim.verdict``; every number is written by ``salesim.units``, the same function for the
tables, the figures and the text.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import matplotlib.pyplot as plt
import pandas as pd
import yaml
from pydantic import ValidationError
from tqdm import tqdm

from salesim import plots, uncertainty, units, verdict
from salesim.config import ConfigError, SalesimConfig
from salesim.experiments.compare import (
    first_measured_month,
    monthly_gap,
    robustness,
    verdict_metrics,
    with_keys,
)
from salesim.experiments.plan import seed_of, sweep_plan
from salesim.experiments.stats import gap_sensitivity, sensitivity, summarise
from salesim.experiments.store import Store, StoreError, atomic_write_bytes, io_error
from salesim.kpis import HEADLINE
from salesim.params import error_line

#: Sweeps with more points than this get no per-point tables; the sweep figures carry them.
MAX_TABLE_POINTS = 4


@dataclass
class Figure:
    """A figure saved as PNG and embedded as base64."""

    name: str
    caption: str
    data: str = ""


@dataclass
class Section:
    """A collapsible part of the report: a title, tables (rows of cells) and figures."""

    title: str
    anchor: str
    tables: list[dict[str, Any]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    open: bool = False


@dataclass
class Study:
    """Everything the report reads from a results directory, loaded once."""

    out: Path
    manifest: dict[str, Any]
    cfg: SalesimConfig
    runs: pd.DataFrame
    summary: pd.DataFrame
    monthly: pd.DataFrame
    responses: pd.DataFrame
    sensitivity: pd.DataFrame
    gaps: pd.DataFrame
    robust: pd.DataFrame

    def __post_init__(self) -> None:
        exp = self.cfg.experiment
        self.exp = exp
        self.ok = self.runs[self.runs.status == "ok"]
        self.currency = exp.report.currency
        self.baseline = exp.baseline_design
        # (Sets made once: a sweep's summary has a row per point, design and KPI.)
        designs, scenarios = set(self.summary.design.unique()), set(self.summary.scenario.unique())
        self.designs = [d for d in exp.designs if d in designs]
        self.scenarios = [s for s in exp.scenario_overrides() if s in scenarios]
        self.reference = exp.reference
        self.swept = [p.path for p in exp.sweep.parameters] if exp.sweep else []
        self.n_points = int(self.runs.point.max()) + 1
        self.small = self.n_points <= MAX_TABLE_POINTS
        metrics = set(self.summary.metric.unique())
        self.metrics = [m for m in exp.metrics if m in metrics]
        self.verdict_metrics = verdict_metrics(self.summary)
        self.replications = int(self.runs.replication.max()) + 1
        self._cells = self.summary.set_index(["scenario", "point", "design", "metric"]).sort_index()

    def row(self, scenario: str, point: int, design: str, metric: str) -> pd.Series | None:
        """The summary row of one cell, design and KPI (None if absent)."""
        key = (scenario, point, design, metric)
        return self._cells.loc[key] if key in self._cells.index else None

    def where(self, point: int) -> str:
        """The swept values of a point, in words."""
        if not self.swept:
            return ""
        first = self.summary[self.summary.point == point].iloc[0]
        return ", ".join(f"{plots.label(p)} = {first[p]:g}" for p in self.swept)


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
    fig.savefig(buf, format="png", dpi=100)
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
    if not path.exists():
        return pd.DataFrame()
    return pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path)


def _stored(store: Store, cfg: SalesimConfig, manifest: dict[str, Any]) -> dict[str, Any]:
    """Check the stored batches against the plan; rebuild the tables from the good ones."""
    from salesim.experiments.driver import expected_batches

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


def _load(store: Store) -> tuple[Study | None, dict[str, Any]]:
    """The study in a results directory, and what its checks found (None: every run failed)."""
    out = store.out
    manifest = store.manifest()
    try:
        cfg = SalesimConfig.model_validate(manifest["config"], context={"max_runs": None})
    except ValidationError as err:
        raise StoreError(
            f"{store.manifest_path}: the stored config does not validate "
            f"({error_line(err, SalesimConfig)}); it was written by another salesim version"
        ) from None
    stored = _stored(store, cfg, manifest)
    runs = _read(out, "runs.parquet")
    if runs.empty:
        raise ConfigError(f"{out}: no runs stored yet; nothing to report")
    stored.update(manifest=manifest, cfg=cfg, runs=runs)
    if (runs.status != "ok").all():
        return None, stored
    summary = summarise(runs, cfg)
    monthly = _read(out, "timeseries.parquet")
    sweep = cfg.experiment.sweep
    sens, gaps = _read(out, "sensitivity.csv"), _read(out, "sensitivity_gap.csv")
    if stored["complete"] and sweep is not None and sweep.method in ("sobol", "morris"):
        # Results written before the gap indices existed: compute them (and nothing is lost).
        plan = sweep_plan(sweep, seed_of(cfg))
        sens = sens if len(sens) else sensitivity(runs, cfg, plan)
        if gaps.empty and len(cfg.experiment.designs) > 1:
            gaps = gap_sensitivity(runs, cfg, plan)
    study = Study(
        out=out,
        manifest=manifest,
        cfg=cfg,
        runs=runs,
        summary=summary,
        monthly=with_keys(monthly, runs) if len(monthly) else monthly,
        responses=_read(out, "responses.parquet"),
        sensitivity=sens,
        gaps=gaps,
        robust=robustness(summary, cfg),
    )
    return study, stored


# --- the detail: one table and its figures per scenario (and sweep point) ----------------------


def _detail_table(st: Study, scenario: str, point: int) -> dict[str, Any]:
    """Every KPI: design means, paired differences to the baseline and to the reference scenario.

    A difference is coloured by its verdict (green better, red worse, none uncoloured).
    """
    columns = [(d, "mean", d, "mean ± 95% CI") for d in st.designs]
    columns += [
        (d, "diff", f"{d} − {st.baseline}", "paired 95% CI") for d in st.designs if d != st.baseline
    ]
    if scenario != st.reference:
        columns += [
            (d, "scenario_diff", f"{d}: {scenario} − {st.reference}", "paired 95% CI")
            for d in st.designs
        ]
    head = [
        [{"text": "KPI", "span": 1}] + [{"text": c[2], "span": 1} for c in columns],
        [{"text": "", "span": 1}] + [{"text": c[3], "span": 1} for c in columns],
    ]
    rows = []
    for metric in st.metrics:
        row = [verdict.cell(plots.label(metric), kpi=metric)]
        for design, kind, _, _ in columns:
            r = st.row(scenario, point, design, metric)
            if r is None:
                row.append(verdict.cell("–"))
                continue
            value, hw = (
                ("mean", "ci95_half_width")
                if kind == "mean"
                else (f"{kind}_mean", f"{kind}_ci95_half_width")
            )
            text = units.with_ci(
                metric, r[value], r[hw], signed=kind != "mean", currency=st.currency
            )
            row.append(
                verdict.cell(
                    text,
                    "" if kind == "mean" else r[f"{kind}_verdict"],
                    metric=metric,
                    design=design,
                    kind=kind,
                    scenario=scenario,
                    point=point,
                    value=repr(float(r[value])),
                    ci=repr(float(r[hw])),
                )
            )
        rows.append(row)
    caption = "Every KPI; differences coloured green where better, red where worse"
    return verdict.table(caption, head, rows)


def _point_section(st: Study, scenario: str, point: int) -> Section:
    where = st.where(point)
    sec = Section(
        f"Scenario {scenario}" + (f" — {where}" if where else ""),
        f"detail-{scenario}-p{point}",
        open=scenario == st.reference and point == 0 and len(st.scenarios) == 1,
    )
    sec.tables = [_detail_table(st, scenario, point)]
    summary = st.summary[(st.summary.scenario == scenario) & (st.summary.point == point)]
    runs = st.ok[(st.ok.scenario == scenario) & (st.ok.point == point)]
    tag = f"{scenario}-p{point}"
    figures = []
    if len(st.designs) > 1:  # paired differences need a second design
        headline = [m for m in HEADLINE if m in st.metrics]
        figures.append(
            (
                plots.forest(summary, headline, currency=st.currency),
                "forest",
                "Paired differences to the baseline, % of its mean; the numbers are the table's",
            )
        )
    if len(st.monthly):
        ts = st.monthly[st.monthly.run_id.isin(runs.run_id)]
        ts = ts.reset_index(drop=True).drop(columns="replication")
        figures.append((plots.time_series(ts, runs), "timeseries", "Monthly KPIs, mean and 95% CI"))
    if len(st.responses):
        resp = st.responses[st.responses.run_id.isin(runs.run_id)]
        figures.append(
            (
                plots.response_ecdf(resp, runs, summary),
                "responses",
                "Resolution times pooled over replications; dashed: the table's p90 (mean of "
                "each replication's 90th percentile), band: its 95% CI",
            )
        )
    figures.append(
        (plots.utilisation(summary), "utilisation", "Utilisation per role: where the bottleneck is")
    )
    sec.figures = [_save(fig, st.out, f"{name}-{tag}", cap) for fig, name, cap in figures]
    return sec


def _sweep_section(st: Study, scenario: str) -> Section:
    """KPIs against each swept parameter, the profit gap over a 2-D grid, level sensitivity."""
    sec = Section(
        f"Scenario {scenario} — the sweep over {', '.join(plots.label(p) for p in st.swept)}",
        f"sweep-{scenario}",
    )
    summary = st.summary[st.summary.scenario == scenario]
    metrics = st.verdict_metrics or st.metrics
    for param in st.swept:
        caption = f"KPIs against {plots.label(param)}" + (
            " (mean over the other swept parameters)" if len(st.swept) > 1 else ""
        )
        if summary[param].nunique() > plots.SWEEP_BINS + 2:
            caption += (
                f"; the points are grouped in {plots.SWEEP_BINS} bins by its value, each with "
                "the mean over its points and the 95% CI of that mean"
            )
        fig = plots.sweep_lines(summary, param, metrics)
        sec.figures.append(_save(fig, st.out, f"sweep-{scenario}-{_slug(param)}", caption))
    exp = st.exp
    if len(st.swept) == 2 and exp.sweep.method == "grid" and st.verdict_metrics:
        profit = st.verdict_metrics[0]
        for design in [d for d in st.designs if d != st.baseline]:
            fig = plots.sweep_heatmap(summary, st.swept[0], st.swept[1], profit, design)
            caption = f"{plots.label(profit)}: {design} − {st.baseline} over the grid"
            sec.figures.append(_save(fig, st.out, f"heatmap-{scenario}-{design}", caption))
    sens = st.sensitivity
    if len(sens):
        sens = sens[(sens.scenario == scenario) & sens.metric.isin(metrics)]
    for design in sens.design.unique() if len(sens) else []:
        fig = plots.sensitivity_matrix(sens, design)
        caption = f"Sensitivity of the levels under {design}"
        sec.figures.append(_save(fig, st.out, f"sensitivity-{scenario}-{design}", caption))
    return sec


def _slug(path: str) -> str:
    return path.rsplit(".", 1)[-1]


# --- the decision sections ----------------------------------------------------------------------


def _transition_figures(st: Study, flagged: list[verdict.Transition]) -> list[Figure]:
    figures = []
    first = first_measured_month(st.cfg)
    per_year = st.cfg.model.calendar.months_per_year
    for metric, group in itertools.groupby(
        sorted(flagged, key=lambda t: t.gaps.metric), key=lambda t: t.gaps.metric
    ):
        series = {t.name: monthly_gap(st.monthly, metric, t.treated, t.reference) for t in group}
        fig = plots.monthly_gap(series, metric, first, per_year)
        caption = (
            f"{plots.label(metric)}: the difference changes sign between the first and the last "
            "year (a transition effect); monthly paired difference with its 95% CI"
        )
        figures.append(_save(fig, st.out, f"transition-{metric}", caption))
    return figures


def _robustness_section(st: Study) -> Section | None:
    if st.robust.empty and st.gaps.empty:
        return None
    title = (
        "Robustness: what if our assumptions are wrong?"
        if len(st.robust)
        else "What the gap between the designs depends on"
    )
    sec = Section(title, "robustness", open=True)
    sec.notes = uncertainty.robustness_notes(st)
    sec.tables = uncertainty.robustness_tables(st)
    for scenario in st.scenarios:
        r = st.robust[st.robust.scenario == scenario] if len(st.robust) else st.robust
        one_policy = len(r) and len(r.drop_duplicates(["design", "metric"])) == len(r)
        for design in [d for d in st.designs if d != st.baseline] if one_policy else []:
            fig = plots.robustness_bars(r, design)
            caption = f"Where {design} beats, ties or loses to {st.baseline} ({scenario} scenario)"
            sec.figures.append(_save(fig, st.out, f"robustness-{scenario}-{design}", caption))
        g = st.gaps
        if len(g):
            g = g[(g.scenario == scenario) & g.metric.isin(st.verdict_metrics)]
        for design in g.design.unique() if len(g) else []:
            fig = plots.sensitivity_matrix(g, design)
            caption = (
                f"Which parameters the gap {design} − {st.baseline} depends on ({scenario} "
                "scenario): the assumptions the verdict hangs on"
            )
            sec.figures.append(_save(fig, st.out, f"gap-{scenario}-{design}", caption))
    return sec


def _wins_section(st: Study) -> Section | None:
    """The 'where each design wins' maps of a sweep, from the config's map axes."""
    if not st.swept or len(st.designs) < 2 or not st.verdict_metrics:
        return None
    axes = st.exp.map_axes()
    grid = st.exp.sweep.method == "grid"
    facets = [p for p in st.swept if p not in axes] if grid else []
    sec = Section("Where each design wins", "wins", open=True)
    sec.notes = uncertainty.wins_notes(st, axes, facets)
    for scenario in st.scenarios:
        summary = st.summary[st.summary.scenario == scenario]
        groups = summary.groupby(facets, sort=True) if facets else [((), summary)]
        for k, (key, part) in enumerate(groups):
            key = key if isinstance(key, tuple) else (key,)
            at = ", ".join(f"{plots.label(p)} = {v:g}" for p, v in zip(facets, key, strict=True))
            for design in [d for d in st.designs if d != st.baseline]:
                title = f"Where {design} wins against {st.baseline}" + (f" at {at}" if at else "")
                if len(st.scenarios) > 1:
                    title += f" ({scenario} scenario)"
                fig = plots.win_map(part, axes, st.verdict_metrics, design, title=title)
                name = f"winmap-{scenario}-{design}" + (f"-{k}" if facets else "")
                sec.figures.append(_save(fig, st.out, name, title))
    return sec


# --- the whole report ----------------------------------------------------------------------------


def build_report(out: str | Path, progress: bool | None = None) -> Path:
    """Write DIR/report.html (and DIR/figures/) from the results stored in DIR.

    ``progress`` shows a bar on stderr while the sections are drawn; by default only when
    stderr is a terminal.
    """
    out = Path(out)
    store = Store(out)
    if not store.manifest_path.is_file():
        raise ConfigError(f"{out}: no manifest.json; not a salesim results directory")
    with store.lock("report"):
        try:
            return _build(store, progress)
        except OSError as exc:
            raise io_error(out, exc, "write") from None


def _build(store: Store, progress: bool | None) -> Path:
    out = store.out
    st, stored = _load(store)
    (out / "figures").mkdir(exist_ok=True)
    manifest, cfg, runs = stored.pop("manifest"), stored.pop("cfg"), stored.pop("runs")
    exp = cfg.experiment
    failed = runs[runs.status != "ok"]
    context: dict[str, Any] = {
        "name": cfg.name,
        "manifest": manifest,
        "partial": not stored["complete"],
        "status": manifest.get("status", "unknown")
        if manifest.get("status") != "complete"
        else "missing stored runs",
        **stored,
        "all_failed": st is None,
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
        "scenarios": list(exp.scenario_overrides()),
        "reference": exp.reference,
        "seed": int(runs.seed.min()),
        "replications": int(runs.replication.max()) + 1,
        "currency": exp.report.currency,
        "config_yaml": yaml.safe_dump(manifest["config"], sort_keys=False),
        "verdict": {},
        "targets": None,
        "decision": [],
        "detail": [],
        "versions": manifest.get("versions", {}),
        "colours": {
            "better": plots.BETTER_COLOUR,
            "worse": plots.WORSE_COLOUR,
            "none": plots.TIE_COLOUR,
        },
    }
    if st is not None:
        context.update(_decide(st, progress))
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("salesim", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    text = env.get_template("report.html.j2").render(**context)
    atomic_write_bytes(out / "report.html", text.encode())
    return out / "report.html"


def _decide(st: Study, progress: bool | None) -> dict[str, Any]:
    """The verdict, the decision sections and the detail of a study with results."""
    ver = verdict.build(st)
    ver["figures"] = _transition_figures(st, ver.pop("transitions"))
    decision = [s for s in (_robustness_section(st), _wins_section(st)) if s is not None]
    # Each section is a few figures; a sweep's can be dozens, so the build shows progress.
    tasks: list[tuple[str, int | None]] = []
    for scenario in st.scenarios:
        for point in range(st.n_points) if st.small else []:
            if len(st.summary[(st.summary.scenario == scenario) & (st.summary.point == point)]):
                tasks.append((scenario, point))
        if st.swept:
            tasks.append((scenario, None))
    show = sys.stderr.isatty() if progress is None else progress
    detail = []
    for scenario, point in tqdm(
        tasks, desc="report", unit="section", file=sys.stderr, disable=not show, leave=False
    ):
        if point is None:
            detail.append(_sweep_section(st, scenario))
        else:
            detail.append(_point_section(st, scenario, point))
    return {
        "designs": st.designs,
        "scenarios": st.scenarios,
        "replications": st.replications,
        "verdict": ver,
        "targets": verdict.targets(st),
        "decision": decision,
        "detail": detail,
    }
