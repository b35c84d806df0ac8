"""The report's words and decision tables: the verdict, robustness, wins and observed figures.

A verdict cell is better, worse or none (no detectable difference): the paired 95% CI of the
difference (design - baseline, or scenario - reference scenario) must exclude zero, and the KPI's
direction (``salesim.model.inputs.outcomes``) says which side is better. Tables here are plain rows
of cells (text, a class for the colour, data attributes for anyone checking the page), rendered by
``templates/report.html.j2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from salesim.experiments.compare import YearGaps, check_targets, point_verdicts, year_gaps
from salesim.model.inputs.outcomes import OUTCOMES, outcome
from salesim.report import units, warnings
from salesim.report.units import label

if TYPE_CHECKING:
    from salesim.report.study import Study

WORDS = {"better": "better", "worse": "worse", "none": "no detectable difference"}


def cell(text: str, cls: str = "", title: str = "", **attrs: Any) -> dict[str, Any]:
    """A table cell: text, CSS class (better / worse / none), hover text, data-* attributes."""
    return {
        "text": text,
        "cls": cls,
        "title": title,
        "attrs": {k.replace("_", "-"): str(v) for k, v in attrs.items()},
    }


def row_label(study: Study, metric: str) -> dict[str, Any]:
    """A KPI's row heading: its label, the period for money; the code name on hover."""
    text = label(metric)
    if outcome(metric).kind == "money":
        text += f" ({study.months:g} months)"
    return cell(text, title=metric, kpi=metric)


def table(caption: str, head: list[list[dict]], rows: list[list[dict]]) -> dict[str, Any]:
    """A table: header rows of {text, span} and body rows whose first cell labels the row."""
    return {"caption": caption, "head": head, "rows": rows}


def _names(items: list[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _name(metric: str) -> str:
    """A KPI's name in a sentence (its unit is in the number beside it)."""
    return outcome(metric).label if metric in OUTCOMES else label(metric)


def lower_name(metric: str) -> str:
    """A KPI's name inside a sentence: lower case unless it starts with an acronym."""
    text = _name(metric)
    return text if text[:2].isupper() else text[0].lower() + text[1:]


# --- comparisons ---------------------------------------------------------------------------------


@dataclass
class Comparison:
    """One thing compared with another across columns (scenarios or sweep points).

    ``kind`` is ``diff`` (a design against the baseline design, in the same scenario) or
    ``scenario_diff`` (a scenario against the reference scenario, for the same design): the
    summary columns that hold its paired difference.
    """

    title: str
    kind: str
    columns: list[dict[str, Any]] = field(default_factory=list)
    #: The same with code names (shown on hover).
    code: str = ""

    def reference(self, study: Study, col: dict[str, Any]) -> dict[str, Any]:
        """What the column is compared with."""
        if self.kind == "diff":
            return {**col, "design": study.baseline}
        return {**col, "scenario": study.reference}


@dataclass
class Transition:
    """A difference whose sign in the first measured year is the opposite of the last."""

    name: str
    treated: dict[str, Any]
    reference: dict[str, Any]
    gaps: YearGaps


def comparisons(study: Study) -> list[Comparison]:
    """Designs against the baseline; with one design, scenarios against the reference."""
    points = list(range(study.n_points)) if study.small else [None]
    out = []
    if len(study.designs) > 1:
        for design in [d for d in study.designs if d != study.baseline]:
            comp = Comparison(
                f"{units.design(design)} vs {units.design(study.baseline)}",
                "diff",
                code=f"{design} vs {study.baseline}",
            )
            for scenario in study.scenarios:
                for point in points:
                    parts = [scenario] if len(study.scenarios) > 1 else []
                    parts += [study.where(point)] if point is not None and study.swept else []
                    comp.columns.append(
                        {
                            "scenario": scenario,
                            "design": design,
                            "point": point,
                            "heading": "; ".join(parts),
                        }
                    )
            out.append(comp)
    elif len(study.scenarios) > 1:
        design = study.designs[0]
        for scenario in [s for s in study.scenarios if s != study.reference]:
            comp = Comparison(
                f"{scenario} vs {study.reference} ({units.design(design)})",
                "scenario_diff",
                code=f"{scenario} vs {study.reference} ({design})",
            )
            for point in points:
                heading = study.where(point) if point is not None and study.swept else ""
                comp.columns.append(
                    {"scenario": scenario, "design": design, "point": point, "heading": heading}
                )
            out.append(comp)
    return out


def _point_cell(study: Study, comp: Comparison, col: dict, metric: str) -> dict[str, Any]:
    r = study.row(col["scenario"], col["point"], col["design"], metric)
    if r is None:
        return cell("–") | {"word": WORDS["none"]}
    word = r[f"{comp.kind}_verdict"]
    mean, hw = r[f"{comp.kind}_mean"], r[f"{comp.kind}_ci95_half_width"]
    text = units.with_ci(metric, mean, hw, signed=True, currency=study.currency)
    ref = comp.reference(study, col)
    base = study.row(ref["scenario"], ref["point"], ref["design"], metric)
    level = base["mean"] if base is not None else float("nan")
    pct = 100 * mean / abs(level) if level and np.isfinite(level) else float("nan")
    levels = (
        f"{units.value(metric, level, study.currency)} → "
        f"{units.value(metric, r['mean'], study.currency)}"
    )
    if np.isfinite(pct):
        text += f" ({pct:+.1f}%)"
    return cell(
        text,
        word,
        kpi=metric,
        design=col["design"],
        scenario=col["scenario"],
        point=col["point"],
        compare=comp.kind,
        reference=ref["design"] if comp.kind == "diff" else ref["scenario"],
        verdict=word,
        reference_level=f"{level:.6g}",
        level=f"{r['mean']:.6g}",
        pct_change=f"{pct:.4g}",
    ) | {"word": WORDS[word], "sub": levels, "diff": mean, "hw": hw}


def _sweep_counts(study: Study, col: dict, metric: str) -> dict[str, int]:
    s = study.summary
    v = s[(s.scenario == col["scenario"]) & (s.design == col["design"]) & (s.metric == metric)]
    counts = pd.Series(point_verdicts(v)).value_counts()
    return {w: int(counts.get(w, 0)) for w in ("better", "none", "worse")}


def _sweep_cell(study: Study, col: dict, metric: str) -> dict[str, Any]:
    c = _sweep_counts(study, col, metric)
    n = sum(c.values()) or 1
    text = f"better at {c['better']} · none at {c['none']} · worse at {c['worse']}"
    return cell(
        text,
        "counts",
        kpi=metric,
        design=col["design"],
        scenario=col["scenario"],
        better=c["better"],
        none=c["none"],
        worse=c["worse"],
    ) | {"shares": {w: 100 * k / n for w, k in c.items()}}


# --- paragraphs ----------------------------------------------------------------------------------


def _point_paragraph(study: Study, comp: Comparison, cells: dict[str, list[dict]]) -> list[str]:
    """Sentences for a comparison at single points: profit first, then the KPIs by verdict."""
    out = []
    headings = [c["heading"] for c in comp.columns]
    profit = study.verdict_metrics[0] if study.verdict_metrics else None
    if profit in cells and len(comp.columns) > WIDE:
        words = pd.Series([c["attrs"].get("verdict", "none") for c in cells[profit]])
        counts = ", ".join(f"{WORDS[w]} in {n}" for w, n in words.value_counts().items())
        diffs = [c["diff"] for c in cells[profit] if "diff" in c]
        span = (
            f"; from {units.diff(profit, min(diffs), study.currency)} to "
            f"{units.diff(profit, max(diffs), study.currency)}"
            if diffs
            else ""
        )
        out.append(
            f"{_name(profit)} over {study.period}: {counts} of the {len(words)} "
            f"{'scenarios' if len(study.scenarios) > 1 else 'points'}{span} (see the table)."
        )
    elif profit in cells:
        parts = [
            f"{c['word']} ({c['text']}{', ' + h if h else ''})"
            for c, h in zip(cells[profit], headings, strict=True)
        ]
        out.append(f"{_name(profit)} over {study.period}: {'; '.join(parts)}.")
    by_word: dict[str, list[str]] = {"better": [], "worse": [], "none": []}
    mixed, mixed_names = [], []
    for metric, row in cells.items():
        if metric == profit:
            continue
        words = {c["attrs"].get("verdict", "none") for c in row}
        if len(words) == 1:
            by_word[words.pop()].append(lower_name(metric))
        else:
            mixed_names.append(lower_name(metric))
            detail = ", ".join(
                f"{c['attrs'].get('verdict', 'none')} at {h}"
                for c, h in zip(row, headings, strict=True)
            )
            mixed.append(f"{lower_name(metric)} ({detail})")
    for word, start in (
        ("better", "Better on"),
        ("worse", "Worse on"),
        ("none", "No detectable difference on"),
    ):
        if by_word[word]:
            out.append(f"{start} {_names(by_word[word])}.")
    where = "scenario" if len(study.scenarios) > 1 else "sweep point"
    if mixed and len(comp.columns) > WIDE:
        out.append(f"Depends on the {where}: {_names(mixed_names)} (see the table).")
    elif mixed:
        out.append(f"Depends on the {where}: {'; '.join(mixed)}.")
    return out


def _sweep_paragraph(study: Study, comp: Comparison) -> list[str]:
    """Sentences for a comparison across a sweep's many points."""
    out = []
    for col in comp.columns:
        where = f" in the {col['scenario']} scenario" if len(study.scenarios) > 1 else ""
        groups: dict[str, list[str]] = {"better": [], "worse": [], "none": [], "mixed": []}
        for i, metric in enumerate(study.verdict_metrics):
            c = _sweep_counts(study, col, metric)
            n = sum(c.values())
            if i == 0:
                out.append(
                    f"Across the {n} points of the sweep{where}, {lower_name(metric)} is "
                    f"better at {c['better']}, shows no detectable difference at {c['none']} "
                    f"and is worse at {c['worse']}."
                )
                continue
            top = max(c, key=c.get)
            groups[top if c[top] > n / 2 else "mixed"].append(lower_name(metric))
        hangs = hangs_on(study, col["scenario"], col["design"], study.verdict_metrics[:1])
        if hangs:
            out.append(f"The gap in {hangs[0]}.")
        for key, start in (
            ("better", "Better at most points on"),
            ("worse", "Worse at most points on"),
            ("none", "Mostly no detectable difference on"),
            ("mixed", "No majority on"),
        ):
            if groups[key]:
                out.append(f"{start} {_names(groups[key])}.")
    return out


def _transitions(study: Study, comp: Comparison) -> list[Transition]:
    if study.monthly.empty or not study.small:
        return []
    found = []
    for col in comp.columns:
        treated = {k: col[k] for k in ("scenario", "design", "point")}
        reference = {k: v for k, v in comp.reference(study, col).items() if k in treated}
        for metric in study.verdict_metrics:
            gaps = year_gaps(study.monthly, study.cfg, metric, treated, reference)
            if gaps is not None and gaps.changes_sign:
                name = comp.title + (f" ({col['heading']})" if col["heading"] else "")
                found.append(Transition(name, treated, reference, gaps))
    return found


def _transition_sentence(study: Study, t: Transition) -> str:
    g = t.gaps
    first = units.with_ci(g.metric, g.first, g.first_hw, signed=True, currency=study.currency)
    last = units.with_ci(g.metric, g.last, g.last_hw, signed=True, currency=study.currency)
    return (
        f"Transition effect on {lower_name(g.metric)}: {g.first_verdict} in the first year "
        f"({first}) but {g.last_verdict} in the last ({last}); the monthly difference is below."
    )


# --- the verdict ---------------------------------------------------------------------------------


def _intervals_note(study: Study) -> str:
    text = (
        f"The ± figures are 95% confidence intervals over {study.replications} replication(s) on "
        "common random numbers (differences are paired). They cover simulation noise at fixed "
        "assumptions only: they say nothing about whether the assumptions themselves (parameter "
        "values, behavioural forms) are right."
    )
    sweep = study.exp.sweep
    if sweep is not None and any(p.role == "uncertainty" for p in sweep.parameters):
        return text + (
            " What if they are wrong: the robustness section varies the uncertain parameters "
            "and counts where each design still wins."
        )
    return text + (
        " This experiment varies no uncertain parameter, so it cannot say how the verdict holds "
        "if they are wrong; a sweep over parameters labelled role: uncertainty "
        "(configs/sensitivity.yaml) does."
    )


def _money_note(study: Study) -> str:
    if study.currency == units.DEFAULT_CURRENCY:
        return (
            "Money in CU (currency units): prices and costs are assumptions, not a company's "
            "books; model.costs.currency names a real currency."
        )
    return f"Money in {study.currency}."


def _cost_note(study: Study) -> str:
    if not study.verdict_metrics:
        return ""
    if study.verdict_metrics[0] == "operating_profit":
        return (
            "Operating profit is gross margin less the cost to serve (staff, travel and any "
            "reorganisation, model.costs: assumptions), summed over the measured "
            f"{study.period}. {_money_note(study)}"
        )
    if study.verdict_metrics[0] == "gross_margin":
        return (
            "These results hold no operating profit (they predate it, or the experiment's "
            "metrics leave it out), so the verdict reads gross margin, which leaves out the cost "
            f"to serve. {_money_note(study)}"
        )
    return ""


#: A comparison with more columns than this (scenarios or points) is shown as a table with a
#: row per scenario and a column per KPI, which stays readable on a 1366 px screen.
WIDE = 3


def _compact(c: dict[str, Any], metric: str, study: Study) -> dict[str, Any]:
    """A cell of the scenario x KPI table: the difference, coloured; CI and levels on hover."""
    if "diff" not in c:
        return c
    short = units.diff(metric, c["diff"], study.currency)
    return c | {"text": short, "title": f"{c['text']}; {c['sub']}", "sub": ""}


def _table(study: Study, comp: Comparison, cells: dict[str, list[dict]]) -> dict[str, Any]:
    what = "paired 95% CI" if study.small else "points of the sweep by their paired 95% CI"
    money = f"money over {study.period}, in {study.currency}"
    caption = f"{comp.title}: verdict per KPI ({what}; {money})"
    if len(comp.columns) > WIDE and study.small:
        head = [[{"text": "Scenario" if len(study.scenarios) > 1 else "Point", "span": 1}]
                + [{"text": row_label(study, m)["text"], "span": 1} for m in cells]]  # fmt: skip
        rows = [
            [cell(col["heading"], scenario=col["scenario"], point=col["point"])]
            + [_compact(cells[m][i], m, study) for m in cells]
            for i, col in enumerate(comp.columns)
        ]
        return table(caption, head, rows) | {"cls": "wide"}
    kpi = {"text": "KPI", "span": 1}
    head = [[kpi] + [{"text": c["heading"], "span": 1} for c in comp.columns]]
    if not any(c["heading"] for c in comp.columns):
        head = [[kpi, {"text": "difference (% of the reference)", "span": 1}]]
    rows = [[row_label(study, m), *cells[m]] for m in cells]
    return table(caption, head, rows)


def _headline(study: Study, comp: Comparison, cells: dict[str, list[dict]]) -> str:
    """One line for the terminal: the comparison, profit over the period, what is worse."""
    profit = study.verdict_metrics[0] if study.verdict_metrics else None
    line = comp.title
    if profit in cells and study.small and len(comp.columns) == 1:
        c = cells[profit][0]
        line += f": {lower_name(profit)} over {study.period} {c['text']} ({c['word']})"
    elif profit in cells:
        words = _words(cells[profit])
        what = "scenarios" if study.small and len(study.scenarios) > 1 else "points"
        line += (
            f": {lower_name(profit)} over {study.period} better in {words.count('better')} "
            f"of {len(words)} {what}"
        )
    worse = [lower_name(m) for m, row in cells.items() if m != profit and "worse" in _words(row)]
    return line + (f"; worse on {_names(worse)}." if worse else "; no other KPI is worse.")


def _words(row: list[dict]) -> list[str]:
    """The verdict words of a row of cells: one per point cell, a sweep cell's counts."""
    out = []
    for c in row:
        a = c["attrs"]
        if "verdict" in a:
            out.append(a["verdict"])
        elif "better" in a:
            out += [w for w in ("better", "none", "worse") for _ in range(int(a[w]))]
    return out


def build(study: Study) -> dict[str, Any]:
    """The verdict section: notes, one paragraph and one table per comparison, transitions."""
    comps = comparisons(study)
    paragraphs, transitions, tables, headline = [], [], [], []
    for comp in comps:
        cells: dict[str, list[dict]] = {}
        for metric in study.verdict_metrics:
            cells[metric] = [
                _point_cell(study, comp, c, metric)
                if study.small
                else _sweep_cell(study, c, metric)
                for c in comp.columns
            ]
        found = _transitions(study, comp)
        transitions += found
        sentences = (
            _point_paragraph(study, comp, cells) if study.small else _sweep_paragraph(study, comp)
        ) + [_transition_sentence(study, t) for t in found]
        paragraphs.append({"title": comp.title, "code": comp.code, "sentences": sentences})
        tables.append(_table(study, comp, cells))
        headline.append(_headline(study, comp, cells))
    nothing = (
        ""
        if comps
        else f"One design ({units.design(study.designs[0])}) in one scenario: nothing to "
        "compare. The tables below give its levels."
    )
    found = warnings.build(study, comps)
    return {
        "headline": headline + [f"Warning: {w['text']}" for w in found],
        "intervals": _intervals_note(study),
        "cost": _cost_note(study),
        "nothing": nothing,
        "paragraphs": paragraphs,
        "tables": tables,
        "transitions": transitions,
        "targets_line": _targets_line(study),
        "warnings": found,
        # Set by the report from scenario discovery (salesim.report.discovery) for a sweep.
        "recommendation": "",
    }


# --- observed figures ----------------------------------------------------------------------------


def _observed(metric: str, t, currency: str) -> str:
    if t.value is not None:
        tol = (
            f" ± {units.half_width(metric, t.tolerance, t.value, currency)}" if t.tolerance else ""
        )
        return units.value(metric, t.value, currency) + tol
    if t.at_least is not None and t.at_most is not None:
        return (
            f"between {units.value(metric, t.at_least, currency)} and "
            f"{units.value(metric, t.at_most, currency)}"
        )
    if t.at_least is not None:
        return f"at least {units.value(metric, t.at_least, currency)}"
    return f"at most {units.value(metric, t.at_most, currency)}"


def _target_rows(study: Study) -> pd.DataFrame:
    return check_targets(study.summary, study.cfg) if study.exp.targets else pd.DataFrame()


def targets(study: Study) -> dict[str, Any] | None:
    """Model against observed figures: a table and one sentence per miss."""
    checked = _target_rows(study)
    if not study.exp.targets:
        return None
    head = [
        [
            {"text": t, "span": 1}
            for t in ("KPI", "observed", "when", "design, scenario", "model (mean ± 95% CI)", "")
        ]
    ]
    rows, misses = [], []
    for r in checked.itertuples():
        t = study.exp.targets[r.target]
        observed = _observed(r.kpi, t, study.currency)
        model = units.with_ci(r.kpi, r.mean, r.ci95_half_width, currency=study.currency)
        where = f"{r.design}, {r.scenario}" + (f"; {study.where(r.point)}" if study.swept else "")
        rows.append(
            [
                cell(label(r.kpi)),
                cell(observed),
                cell(r.label),
                cell(where),
                cell(model),
                cell(
                    "met" if r.met else "missed",
                    "met" if r.met else "missed",
                    kpi=r.kpi,
                    target=r.target,
                    point=r.point,
                    met=str(r.met).lower(),
                ),  # fmt: skip
            ]
        )
        if not r.met:
            when = f" ({r.label})" if r.label else ""
            if not np.isfinite(r.mean):
                misses.append(
                    f"{_name(r.kpi)}{when}: the model gives no value; observed {observed}."
                )
                continue
            side = "above" if r.miss > 0 else "below"
            by = units.half_width(r.kpi, abs(r.miss), r.mean, study.currency)
            at = f" at {study.where(r.point)}" if study.swept else ""
            misses.append(
                f"{_name(r.kpi)}{when}: the model gives {model}{at}, {side} the observed "
                f"{observed} by {by}."
            )
    return {
        "table": table("Model against observed figures", head, rows),
        "misses": misses,
        "met": int(checked.met.sum()) if len(checked) else 0,
        "total": len(checked),
    }


def _targets_line(study: Study) -> str:
    checked = _target_rows(study)
    if checked.empty:
        return ""
    missed = checked[~checked.met]
    if missed.empty:
        return f"Observed figures: the model meets all {len(checked)} (see Model against observed)."
    names = _names(
        list(
            dict.fromkeys(
                _name(k) + (f" ({lab})" if lab else "")
                for k, lab in zip(missed.kpi, missed.label, strict=True)
            )
        )
    )
    return (
        f"Observed figures: the model misses {len(missed)} of {len(checked)}: {names} "
        "(see Model against observed)."
    )


def index_column(g: pd.DataFrame) -> str:
    """The index a sensitivity table ranks by: Sobol ST, else Morris mu*."""
    return "ST" if "ST" in g.columns and g["ST"].notna().any() else "mu_star"


def hangs_on(study: Study, scenario: str, design: str, metrics: list[str]) -> list[str]:
    """'<kpi> on <parameter> (role) then <parameter> (role)' for each KPI with gap indices."""
    g = study.gaps
    if g.empty:
        return []
    d = g[(g.scenario == scenario) & (g.design == design)]
    value = index_column(g)
    parts = []
    for metric in [m for m in metrics if m in set(d.metric)]:
        top = d[d.metric == metric].sort_values(value, ascending=False).head(2)
        names = [f"{label(p)} ({role})" for p, role in zip(top.parameter, top.role, strict=True)]
        parts.append(f"{lower_name(metric)} depends most on {' then '.join(names)}")
    return parts
