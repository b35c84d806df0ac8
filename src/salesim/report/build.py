"""The experiment report: the verdict first, then robustness, observed figures and the detail.

``build_report(DIR)`` reads what ``salesim run`` stored in DIR and writes ``DIR/report.html``
(self-contained, figures embedded) and ``DIR/figures/*.png``. It checks every stored batch against
its checksums, works on partial results (an interrupted run, missing or damaged batches, every run
failed) and says so. Figure file names are made from scenario, design and parameter names, slugged
so that nothing is ever written outside ``DIR/figures``. The words are in
``salesim.report.verdict``; every number is written by ``salesim.report.units``, the same function
for the tables, the figures and the text.
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
import yaml
from tqdm import tqdm

from salesim.experiments import discovery
from salesim.experiments.compare import first_measured_month, monthly_gap
from salesim.experiments.store import Store, StoreError, atomic_write_bytes, io_error
from salesim.model.kpis import HEADLINE
from salesim.report import discovery as discovery_words
from salesim.report import export, plots, uncertainty, units, verdict
from salesim.report import switch as switch_part
from salesim.report.study import Study, load, measured_period, title


@dataclass
class Figure:
    """A figure saved as PNG and SVG under figures/, the PNG embedded as base64."""

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


def file_name(name: str) -> str:
    """``name`` as one safe file-name component (no separators, no leading dot, no NUL).

    A name that had to change gets a short hash, so two names never share a file.
    """
    slug = re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("._")[:100]
    if slug == name:
        return name
    return f"{slug or 'figure'}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _save(fig, out: Path, name: str, caption: str) -> Figure:
    """Save a figure as PNG (embedded in the report) and SVG (for slides and print)."""
    folder = out / "figures"
    path = folder / f"{file_name(name)}.png"
    if path.resolve().parent != folder.resolve():  # cannot happen with a slug; never risk it
        raise StoreError(f"figure name {name!r} would leave {folder}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    data = buf.getvalue()
    svg = io.BytesIO()
    fig.savefig(svg, format="svg")
    plt.close(fig)
    atomic_write_bytes(path, data)
    atomic_write_bytes(path.with_suffix(".svg"), svg.getvalue())
    return Figure(path.stem, caption, base64.b64encode(data).decode())


# --- the detail: one table and its figures per scenario (and sweep point) ----------------------


def _detail_tables(study: Study, scenario: str, point: int) -> list[dict[str, Any]]:
    """Every KPI: design means and paired differences to the baseline, and a second table.

    In a scenario other than the reference, the second table holds its paired differences to
    the reference scenario (two narrow tables rather than one that scrolls sideways).

    A difference is coloured by its verdict (green better, red worse, none uncoloured).
    """
    name = units.design
    columns = [(d, "mean", name(d), "mean ± 95% CI") for d in study.designs]
    columns += [
        (d, "diff", f"{name(d)} − {name(study.baseline)}", "paired 95% CI")
        for d in study.designs
        if d != study.baseline
    ]
    tables = [
        _kpi_table(
            study, scenario, point, columns,
            "Every KPI; differences coloured green where better, red where worse",
        )
    ]  # fmt: skip
    if scenario != study.reference:
        against = [
            (d, "scenario_diff", f"{name(d)}: {scenario} − {study.reference}", "paired 95% CI")
            for d in study.designs
        ]
        caption = f"Every KPI: {scenario} against {study.reference}, per design"
        tables.append(_kpi_table(study, scenario, point, against, caption))
    return tables


def _kpi_table(
    study: Study, scenario: str, point: int, columns: list[tuple], caption: str
) -> dict[str, Any]:
    head = [
        [{"text": "KPI", "span": 1}] + [{"text": c[2], "span": 1} for c in columns],
        [{"text": "", "span": 1}] + [{"text": c[3], "span": 1} for c in columns],
    ]
    rows = []
    for metric in study.metrics:
        row = [verdict.row_label(study, metric)]
        for design, kind, _, _ in columns:
            r = study.row(scenario, point, design, metric)
            if r is None:
                row.append(verdict.cell("–"))
                continue
            value, hw = (
                ("mean", "ci95_half_width")
                if kind == "mean"
                else (f"{kind}_mean", f"{kind}_ci95_half_width")
            )
            text = units.with_ci(
                metric, r[value], r[hw], signed=kind != "mean", currency=study.currency
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
    return verdict.table(caption, head, rows)


def _point_section(study: Study, scenario: str, point: int) -> Section:
    where = study.where(point)
    sec = Section(
        f"Scenario {scenario}" + (f" — {where}" if where else ""),
        f"detail-{scenario}-p{point}",
        open=scenario == study.reference and point == 0 and len(study.scenarios) == 1,
    )
    sec.tables = _detail_tables(study, scenario, point)
    summary = study.summary[(study.summary.scenario == scenario) & (study.summary.point == point)]
    runs = study.ok[(study.ok.scenario == scenario) & (study.ok.point == point)]
    tag = f"{scenario}-p{point}"
    figures = []
    if len(study.designs) > 1:  # paired differences need a second design
        headline = [m for m in HEADLINE if m in study.metrics]
        figures.append(
            (
                plots.forest(summary, headline, currency=study.currency),
                "forest",
                "Paired differences to the baseline, % of its mean; the numbers are the table's",
            )
        )
    if len(study.monthly):
        ts = study.monthly[study.monthly.run_id.isin(runs.run_id)]
        ts = ts.reset_index(drop=True).drop(columns="replication")
        figures.append((plots.time_series(ts, runs), "timeseries", "Monthly KPIs, mean and 95% CI"))
    if len(study.responses):
        resp = study.responses[study.responses.run_id.isin(runs.run_id)]
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
    sec.figures = [_save(fig, study.out, f"{name}-{tag}", cap) for fig, name, cap in figures]
    return sec


def _sweep_section(study: Study, scenario: str) -> Section:
    """KPIs against each swept parameter, the profit gap over a 2-D grid, level sensitivity."""
    sec = Section(
        f"Scenario {scenario} — the sweep over {', '.join(units.label(p) for p in study.swept)}",
        f"sweep-{scenario}",
    )
    summary = study.summary[study.summary.scenario == scenario]
    metrics = study.verdict_metrics or study.metrics
    for param in study.swept:
        caption = f"KPIs against {units.label(param)}" + (
            " (mean over the other swept parameters)" if len(study.swept) > 1 else ""
        )
        if summary[param].nunique() > plots.SWEEP_BINS + 2:
            caption += (
                f"; the points are grouped in {plots.SWEEP_BINS} bins by its value, each with "
                "the mean over its points and the 95% CI of that mean"
            )
        fig = plots.sweep_lines(summary, param, metrics)
        sec.figures.append(_save(fig, study.out, f"sweep-{scenario}-{_slug(param)}", caption))
    exp = study.exp
    if len(study.swept) == 2 and exp.sweep.method == "grid" and study.verdict_metrics:
        profit = study.verdict_metrics[0]
        for design in [d for d in study.designs if d != study.baseline]:
            fig = plots.sweep_heatmap(summary, study.swept[0], study.swept[1], profit, design)
            caption = f"{units.label(profit)}: {design} − {study.baseline} over the grid"
            sec.figures.append(_save(fig, study.out, f"heatmap-{scenario}-{design}", caption))
    sens = study.sensitivity
    if len(sens):
        sens = sens[(sens.scenario == scenario) & sens.metric.isin(metrics)]
    for design in sens.design.unique() if len(sens) else []:
        fig = plots.sensitivity_matrix(sens, design)
        caption = f"Sensitivity of the levels under {design}"
        sec.figures.append(_save(fig, study.out, f"sensitivity-{scenario}-{design}", caption))
    return sec


def _slug(path: str) -> str:
    return path.rsplit(".", 1)[-1]


# --- the decision sections ----------------------------------------------------------------------


def _transition_figures(study: Study, flagged: list[verdict.Transition]) -> list[Figure]:
    figures = []
    first = first_measured_month(study.cfg)
    per_year = study.cfg.model.calendar.months_per_year
    for metric, group in itertools.groupby(
        sorted(flagged, key=lambda t: t.gaps.metric), key=lambda t: t.gaps.metric
    ):
        series = {t.name: monthly_gap(study.monthly, metric, t.treated, t.reference) for t in group}
        fig = plots.monthly_gap(series, metric, first, per_year)
        caption = (
            f"{units.label(metric)}: the difference changes sign between the first and the last "
            "year (a transition effect); monthly paired difference with its 95% CI"
        )
        figures.append(_save(fig, study.out, f"transition-{metric}", caption))
    return figures


def _robustness_section(study: Study) -> Section | None:
    if study.robust.empty and study.gaps.empty:
        return None
    title = (
        "Robustness: what if our assumptions are wrong?"
        if len(study.robust)
        else "What the gap between the designs depends on"
    )
    sec = Section(title, "robustness", open=True)
    sec.notes = uncertainty.robustness_notes(study)
    sec.tables = uncertainty.robustness_tables(study)
    for scenario in study.scenarios:
        r = study.robust[study.robust.scenario == scenario] if len(study.robust) else study.robust
        one_policy = len(r) and len(r.drop_duplicates(["design", "metric"])) == len(r)
        for design in [d for d in study.designs if d != study.baseline] if one_policy else []:
            fig = plots.robustness_bars(r, design)
            caption = (
                f"Where {design} beats, ties or loses to {study.baseline} ({scenario} scenario)"
            )
            sec.figures.append(_save(fig, study.out, f"robustness-{scenario}-{design}", caption))
        g = study.gaps
        if len(g):
            g = g[(g.scenario == scenario) & g.metric.isin(study.verdict_metrics)]
        for design in g.design.unique() if len(g) else []:
            fig = plots.sensitivity_matrix(g, design)
            caption = (
                f"Which parameters the gap {design} − {study.baseline} depends on ({scenario} "
                "scenario): the assumptions the verdict hangs on"
            )
            sec.figures.append(_save(fig, study.out, f"gap-{scenario}-{design}", caption))
    return sec


def _wins_section(study: Study) -> Section | None:
    """The 'where each design wins' maps of a sweep, from the config's map axes."""
    if not study.swept or len(study.designs) < 2 or not study.verdict_metrics:
        return None
    axes = study.exp.map_axes()
    grid = study.exp.sweep.method == "grid"
    facets = [p for p in study.swept if p not in axes] if grid else []
    sec = Section("Where each design wins", "wins", open=True)
    sec.notes = uncertainty.wins_notes(study, axes, facets)
    for scenario in study.scenarios:
        summary = study.summary[study.summary.scenario == scenario]
        groups = summary.groupby(facets, sort=True) if facets else [((), summary)]
        for k, (key, part) in enumerate(groups):
            key = key if isinstance(key, tuple) else (key,)
            at = ", ".join(f"{units.label(p)} = {v:g}" for p, v in zip(facets, key, strict=True))
            for design in [d for d in study.designs if d != study.baseline]:
                title = f"Where {design} wins against {study.baseline}" + (
                    f" at {at}" if at else ""
                )
                if len(study.scenarios) > 1:
                    title += f" ({scenario} scenario)"
                fig = plots.win_map(part, axes, study.verdict_metrics, design, title=title)
                name = f"winmap-{scenario}-{design}" + (f"-{k}" if facets else "")
                sec.figures.append(_save(fig, study.out, name, title))
    return sec


def _discovery_section(study: Study, findings: list[discovery.Finding]) -> Section:
    """Where each design loses: PRIM boxes in words and a figure each; the boxes as CSV."""
    table = discovery.records(findings)
    atomic_write_bytes(study.out / "scenario_discovery.csv", table.to_csv(index=False).encode())
    sec = Section("Where each design fails", "discovery", open=True)
    sec.notes = discovery_words.notes(study, findings)
    sec.tables = [discovery_words.boxes_table(study, findings)]
    for f in findings:
        for i, box in enumerate(f.boxes, start=1):
            fig = plots.discovery_box(f, box, i)
            caption = discovery_words.box_sentence(study, f, box, i)
            name = f"discovery-{f.scenario}-{f.design}-{f.kpi}" + (f"-{i}" if i > 1 else "")
            sec.figures.append(_save(fig, study.out, name, caption))
    return sec


# --- the whole report ----------------------------------------------------------------------------


#: The verdict's headline lines, beside report.html.
HEADLINE_FILE = "headline.txt"


def build_report(out: str | Path, progress: bool | None = None) -> Path:
    """Write DIR/report.html (and DIR/figures/) from the results stored in DIR.

    ``progress`` shows a bar on stderr while the sections are drawn; by default only when
    stderr is a terminal.
    """
    out = Path(out)
    store = Store(out)
    store.manifest()  # one line if it is missing, damaged, too big or not a file
    with store.lock("report"):
        try:
            return _build(store, progress)
        except OSError as exc:
            raise io_error(out, exc, "write") from None


def _build(store: Store, progress: bool | None) -> Path:
    out = store.out
    study, stored = load(store)
    (out / "figures").mkdir(exist_ok=True)
    manifest, cfg, runs = stored.pop("manifest"), stored.pop("cfg"), stored.pop("runs")
    exp = cfg.experiment
    failed = runs[runs.status != "ok"]
    context: dict[str, Any] = {
        "name": title(cfg, out),
        "period": measured_period(cfg.model)[1],
        "design_labels": {d: units.design(d) for d in exp.designs},
        "manifest": manifest,
        "partial": not stored["complete"],
        "status": manifest.get("status", "unknown")
        if manifest.get("status") != "complete"
        else "missing stored runs",
        **stored,
        "all_failed": study is None,
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
        "currency": exp.report.currency or cfg.model.costs.currency,
        "config_yaml": yaml.safe_dump(manifest["config"], sort_keys=False),
        "verdict": {},
        "switch": None,
        "targets": None,
        "decision": [],
        "detail": [],
        "versions": manifest.get("versions", {}),
        # The study's own data, by path and content digest, so a reader knows which files.
        "data_files": manifest.get("data_files") or {},
        "colours": {
            "better": plots.BETTER_COLOUR,
            "worse": plots.WORSE_COLOUR,
            "none": plots.TIE_COLOUR,
        },
    }
    pending = None
    if study is not None:
        context.update(_decide(study, progress))
        pending = context.pop("xlsx")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("salesim.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    text = env.get_template("report.html.j2").render(**context)
    headline = context["verdict"].get("headline", [])
    # The verdict's first lines, for `salesim run` to print (and for anyone scripting around it).
    atomic_write_bytes(out / HEADLINE_FILE, "".join(f"{line}\n" for line in headline).encode())
    atomic_write_bytes(out / "report.html", text.encode())
    if pending is not None:
        pending.result()  # a large summary.xlsx, written beside the figures by another process
    return out / "report.html"


def _decide(study: Study, progress: bool | None) -> dict[str, Any]:
    """The verdict, the decision sections and the detail of a study with results."""
    switch = switch_part.section(study, lambda fig, name, cap: _save(fig, study.out, name, cap))
    ver = verdict.build(study)
    ver["figures"] = _transition_figures(study, ver.pop("transitions"))
    decision = [s for s in (_robustness_section(study), _wins_section(study)) if s is not None]
    if discovery.applies(study.cfg):
        findings = discovery.discover(study.ok, study.cfg, study.verdict_metrics)
        decision.append(_discovery_section(study, findings))
        ver["recommendation"] = discovery_words.recommendation(study, findings)
        if ver["recommendation"]:
            ver["headline"].insert(0, f"Recommendation: {ver['recommendation']}")
    if switch and switch.get("recommendation"):
        ver["headline"].insert(0, f"Switch: {switch['recommendation']}")
    # Every table the workbook holds is written by now (scenario_discovery.csv just above).
    xlsx = export.start(study)
    # Each section is a few figures; a sweep's can be dozens, so the build shows progress.
    tasks: list[tuple[str, int | None]] = []
    for scenario in study.scenarios:
        for point in range(study.n_points) if study.small else []:
            if len(
                study.summary[(study.summary.scenario == scenario) & (study.summary.point == point)]
            ):
                tasks.append((scenario, point))
        if study.swept:
            tasks.append((scenario, None))
    show = sys.stderr.isatty() if progress is None else progress
    detail = []
    for scenario, point in tqdm(
        tasks, desc="report", unit="section", file=sys.stderr, disable=not show, leave=False
    ):
        if point is None:
            detail.append(_sweep_section(study, scenario))
        else:
            detail.append(_point_section(study, scenario, point))
    return {
        "designs": study.designs,
        "scenarios": study.scenarios,
        "replications": study.replications,
        "verdict": ver,
        "switch": switch,
        "targets": verdict.targets(study),
        "decision": decision,
        "detail": detail,
        "xlsx": xlsx,
    }
