"""Warnings beside the verdict: where its own figures may mislead a reader.

Three checks, most serious first: a role busier than ``UTILISATION_LIMIT`` (a queue that may
never settle, so response times grow with the horizon and the response verdict depends on how
long the run was), requests still open at the horizon above ``OPEN_LIMIT`` of those raised
(the same symptom seen from the requests), and KPIs whose confidence interval is wider than
their difference in most columns (the replications cannot tell the designs apart).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from salesim.model.inputs.outcomes import OUTCOMES
from salesim.report import units

if TYPE_CHECKING:
    from salesim.report.study import Study
    from salesim.report.verdict import Comparison

UTILISATION_LIMIT = 0.90
OPEN_LIMIT = 0.01

_ROLE_WORDS = {
    "utilisation_sales": "the front line (reps or customer managers)",
    "utilisation_product_manager": "product managers",
    "utilisation_regional_manager": "regional managers",
    "utilisation_service_outlet": "service outlets",
}


def _where(study: Study, rows: pd.DataFrame) -> str:
    """'in the slow_pm scenario' / 'at 3 of 40 points' for the rows that trip a check."""
    parts = []
    if len(study.scenarios) > 1:
        names = list(dict.fromkeys(rows.scenario))
        word = "scenario" if len(names) == 1 else "scenarios"
        parts.append(f"in the {', '.join(names)} {word}")
    if study.n_points > 1:
        parts.append(f"at {rows.point.nunique()} of {study.n_points} sweep points")
    return (" " + " and ".join(parts)) if parts else ""


def _over(study: Study, metric: str, limit: float) -> list[tuple[str, pd.DataFrame]]:
    s = study.summary
    hot = s[(s.metric == metric) & (s["mean"] > limit)]
    return [(d, hot[hot.design == d]) for d in study.designs if (hot.design == d).any()]


def _utilisation(study: Study) -> list[dict[str, Any]]:
    out = []
    for metric, role in _ROLE_WORDS.items():
        for design, rows in _over(study, metric, UTILISATION_LIMIT):
            worst = rows["mean"].max()
            out.append(
                {
                    "kind": "utilisation",
                    "kpi": metric,
                    "design": design,
                    "text": f"Under {units.design(design)}, {role} are busy {100 * worst:.0f}% of "
                    f"their request hours{_where(study, rows)} (above "
                    f"{100 * UTILISATION_LIMIT:.0f}%): a queue that may not settle, so its "
                    "response times grow with the horizon and the response figures here depend "
                    "on how long the run was.",
                }
            )
    return out


def _open_requests(study: Study) -> list[dict[str, Any]]:
    out = []
    for design, rows in _over(study, "open_requests_share", OPEN_LIMIT):
        worst = rows["mean"].max()
        out.append(
            {
                "kind": "open-requests",
                "kpi": "open_requests_share",
                "design": design,
                "text": f"Under {units.design(design)}, {100 * worst:.1f}% of the requests raised "
                f"are still open at the horizon{_where(study, rows)} (above "
                f"{100 * OPEN_LIMIT:.0f}%): their response times are not in the figures, so mean "
                "and p90 response understate the wait.",
            }
        )
    return out


def _wide(study: Study, comps: list[Comparison]) -> list[dict[str, Any]]:
    out = []
    s = study.summary
    for comp in comps:
        wide = []
        for metric in study.verdict_metrics:
            col = "diff" if comp.kind == "diff" else "scenario_diff"
            designs = {c["design"] for c in comp.columns}
            scen = {c["scenario"] for c in comp.columns}
            rows = s[(s.metric == metric) & s.design.isin(designs) & s.scenario.isin(scen)]
            rows = rows[rows[f"{col}_mean"].notna()]
            if rows.empty:
                continue
            share = (rows[f"{col}_ci95_half_width"] > rows[f"{col}_mean"].abs()).mean()
            if share > 0.5:
                wide.append(metric)
        if wide:
            names = [OUTCOMES[m].label if m in OUTCOMES else m for m in wide]
            out.append(
                {
                    "kind": "wide-ci",
                    "kpi": " ".join(wide),
                    "design": comp.columns[0]["design"] if comp.columns else "",
                    "text": f"{comp.title}: the 95% CI is wider than the difference in most "
                    f"columns for {', '.join(n[0].lower() + n[1:] for n in names)}; the "
                    "replications cannot tell the two apart there (more replications, or "
                    "experiment.precision, would).",
                }
            )
    return out


def build(study: Study, comps: list[Comparison]) -> list[dict[str, Any]]:
    """The warnings, most serious first: each {kind, kpi, design, text}."""
    return _utilisation(study) + _open_requests(study) + _wide(study, comps)
