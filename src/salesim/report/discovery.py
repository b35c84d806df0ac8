"""The report's words on where each design fails, and the verdict's one recommendation.

The boxes come from ``salesim.experiments.discovery`` (PRIM over the swept parameters); here
they become sentences in the report's labels ("customer_manager is worse than product on mean
response when staff: cm line skill < 0.72: 95% of the losing points are in this box, 97% of the
points in it lose") and one sentence a board can take ("Choose customer_manager over product
..., unless ...").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from salesim.experiments.discovery import (
    MIN_COVERAGE,
    Box,
    Finding,
    Limit,
    bounds_of,
    find_box,
)
from salesim.model.inputs.outcomes import outcome
from salesim.report import units
from salesim.report.units import label
from salesim.report.verdict import cell, lower_name, table

if TYPE_CHECKING:
    from salesim.report.study import Study

#: A box enters the recommendation's "unless" only where the design is worse at most of its
#: points: a condition a board can act on, not a tilt in the odds.
MIN_DENSITY = 0.5
#: Most conditions one recommendation names; the rest are in the section.
MAX_CONDITIONS = 3


def number(v: float) -> str:
    """A box limit in few digits (0.723, 35.5, 1,250)."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def condition(lim: Limit, roles: dict[str, str] | None = None) -> str:
    """One restriction in words: 'staff: cm line skill < 0.723', '0.2 < x < 0.5'."""
    name = label(lim.parameter)
    if roles and roles.get(lim.parameter) == "lever":
        name += " (a lever)"
    if lim.restricts_lower and lim.restricts_upper:
        return f"{number(lim.lower)} < {name} < {number(lim.upper)}"
    if lim.restricts_upper:
        return f"{name} < {number(lim.upper)}"
    return f"{name} > {number(lim.lower)}"


def conditions(box: Box, roles: dict[str, str] | None = None) -> str:
    """A box's restrictions joined with 'and', most restricted first."""
    parts = [condition(lim, roles) for lim in box.limits]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _pct(share: float) -> str:
    """A share in whole per cent; a few points in thousands are not written as 0% or 100%."""
    if 0 < share < 0.005:
        return "under 1%"
    if 0.995 <= share < 1:
        return "over 99%"
    return f"{100 * share:.0f}%"


def _where(study: Study, scenario: str) -> str:
    return f" ({scenario} scenario)" if len(study.scenarios) > 1 else ""


def box_sentence(study: Study, f: Finding, box: Box, number_: int = 1) -> str:
    """A box in words: the design is worse on the KPI when its conditions hold, and how sure."""
    which = f" (box {number_})" if number_ > 1 else ""
    return (
        f"{units.design(f.design)} is worse than {units.design(f.baseline)} on "
        f"{lower_name(f.kpi)}{_where(study, f.scenario)}"
        f" when {conditions(box, f.roles)}{which}: {_pct(box.coverage)} of the losing points are "
        f"in this box, {_pct(box.density)} of the points in it lose (against "
        f"{_pct(f.lose_share)} of all {f.n:,} points)."
    )


def finding_sentence(study: Study, f: Finding) -> list[str]:
    """What one finding says in words (nothing for a design that never loses)."""
    where = _where(study, f.scenario)
    if f.status == "everywhere":
        return [
            f"{units.design(f.design)} is worse than {units.design(f.baseline)} on "
            f"{lower_name(f.kpi)}{where} at every one "
            f"of the {f.n:,} points: no region of the sweep spares it."
        ]
    if f.status == "scattered":
        losing = int(f.points.loses.sum())
        return [
            f"{units.design(f.design)} is worse than {units.design(f.baseline)} on "
            f"{lower_name(f.kpi)}{where} at {losing:,} of "
            f"{f.n:,} points, scattered: no box holds {_pct(MIN_COVERAGE)} of them and is denser "
            "in them than the whole sweep (noise, separate regions, or many parameters acting "
            "together)."
        ]
    return [box_sentence(study, f, box, i) for i, box in enumerate(f.boxes, start=1)]


def notes(study: Study, findings: list[Finding]) -> list[str]:
    """How the boxes are found, then one sentence per KPI where a design loses somewhere."""
    sweep = study.exp.sweep
    params = ", ".join(f"{label(p.path)} ({p.role})" for p in sweep.parameters)
    single = study.replications == 1
    out = [
        f"A point of the sweep counts as losing when the design's paired difference to "
        f"{units.design(study.baseline)} ("
        + ("its one paired run" if single else "the mean over the point's replications")
        + ") lies on the worse side of zero by the KPI's direction. PRIM (Friedman & Fisher "
        f"1999, the prim package) peels the swept parameters ({params}) down to a box of losing "
        "points; the box reported is the densest on its peeling trajectory that still holds "
        f"{_pct(MIN_COVERAGE)} of the losing points (of boxes nearly as dense, the one with "
        "fewest conditions), less any condition that is not significant (quasi-p above 5%, "
        "Bryant & Lempert 2010); losses with no significant condition are called scattered. "
        "Coverage: the share of the losing points inside the box; density: the share of the "
        "box's points that lose. The boxes are in scenario_discovery.csv."
    ]
    if single:
        out.append(
            "With one run per point, a loss mixes the parameters' effect with run-to-run noise; "
            "a box's density says how clean its region is."
        )
    for f in findings:
        out += finding_sentence(study, f)
    never: dict[tuple[str, str], list[str]] = {}
    for f in findings:
        if f.status == "never":
            never.setdefault((f.design, f.scenario), []).append(lower_name(f.kpi))
    for (design, scenario), kpis in never.items():
        names = kpis[0] if len(kpis) == 1 else ", ".join(kpis[:-1]) + " and " + kpis[-1]
        out.append(
            f"{units.design(design)} is never worse than {units.design(study.baseline)} on "
            f"{names}{_where(study, scenario)}."
        )
    return out


def boxes_table(study: Study, findings: list[Finding]) -> dict:
    """One row per KPI and design that loses somewhere: how often, where, coverage, density."""
    several = len(study.scenarios) > 1
    head = [
        [{"text": t, "span": 1} for t in ("KPI", "design", *(["scenario"] if several else []))]
        + [{"text": t, "span": 1} for t in ("worse at", "where (PRIM box)", "coverage", "density")]
    ]
    rows = []
    for f in findings:
        if f.status == "never":
            continue
        first = [cell(label(f.kpi), kpi=f.kpi), cell(units.design(f.design), title=f.design)] + (
            [cell(f.scenario)] if several else []
        )
        share = cell(f"{_pct(f.lose_share)} of {f.n:,}", "worse", lose_share=f.lose_share)
        if not f.boxes:
            where = "everywhere" if f.status == "everywhere" else "scattered: no box"
            rows.append([*first, share, cell(where), cell("–"), cell("–")])
        for i, box in enumerate(f.boxes, start=1):
            rows.append(
                [
                    *first,
                    share,
                    cell(conditions(box, f.roles), "conditions", kpi=f.kpi, design=f.design, box=i),
                    cell(_pct(box.coverage), coverage=box.coverage),
                    cell(_pct(box.density), density=box.density),
                ]
            )
    return table(f"Where each design is worse than {units.design(study.baseline)}", head, rows)


def recommendation(study: Study, findings: list[Finding]) -> str:
    """One sentence for the verdict: the design to choose on profit, and when not to.

    Over the reference scenario's sweep: the design that beats the baseline on profit (the
    verdict's first KPI) at the most points is chosen if that is most of them, unless the boxes
    (density at least ``MIN_DENSITY``) where it loses on a verdict KPI; otherwise the baseline
    is kept, unless the box where that design beats it on profit.
    """
    if not findings or not study.verdict_metrics:
        return ""
    profit = study.verdict_metrics[0]
    scenario = study.reference
    by = {(f.design, f.kpi): f for f in findings if f.scenario == scenario}
    others = [d for d in study.designs if d != study.baseline and (d, profit) in by]
    if not others:
        return ""
    best = max(others, key=lambda d: by[(d, profit)].win_share)
    p = by[(best, profit)]
    where = f" in the {scenario} scenario" if len(study.scenarios) > 1 else ""
    if p.win_share > 0.5:
        text = (
            f"Choose {units.design(best)} over {units.design(study.baseline)}: its "
            f"{lower_name(profit)} is higher at "
            f"{_pct(p.win_share)} of the {p.n:,} points of the sweep{where}"
        )
        unless, everywhere = [], []
        for metric in study.verdict_metrics:
            f = by.get((best, metric))
            if f is None:
                continue
            if f.status == "everywhere":
                everywhere.append(lower_name(metric))
            for box in f.boxes:
                if box.density >= MIN_DENSITY:
                    unless.append(
                        f"{conditions(box, f.roles)} (there it is worse on {lower_name(metric)} "
                        f"at {_pct(box.density)} of the points)"
                    )
        if unless:
            text += ", unless " + "; or ".join(unless[:MAX_CONDITIONS])
            if len(unless) > MAX_CONDITIONS:
                text += f"; and {len(unless) - MAX_CONDITIONS} more in Where each design fails"
        else:
            text += (
                "; no region of the sweep was found where it is worse on a headline KPI at "
                "most points"
            )
        if everywhere:
            names = ", ".join(everywhere)
            text += f". It is worse on {names} everywhere in the sweep"
        return text + "."
    text = (
        f"Keep {units.design(study.baseline)}: no design has higher {lower_name(profit)} at most "
        f"of the "
        f"{p.n:,} points of the sweep{where} ({units.design(best)} at {_pct(p.win_share)})"
    )
    wins = p.points["diff"].to_numpy(dtype=float) * outcome(profit).direction > 0
    box = find_box(p.points[p.parameters], wins, bounds_of(study.cfg)) if np.any(wins) else None
    if box is not None and box.density >= MIN_DENSITY:
        text += (
            f", unless {conditions(box, p.roles)}: there {units.design(best)} has higher "
            f"{lower_name(profit)} "
            f"at {_pct(box.density)} of the points ({_pct(box.coverage)} of the points where it "
            "is higher are in this box)"
        )
    return text + "."
