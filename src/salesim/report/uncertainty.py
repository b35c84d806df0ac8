"""The report's words on what we do not know: robustness, regret, the gap's sensitivity, wins.

Shares and regret come from ``salesim.experiments.compare.robustness``; the words and tables
follow the verdict's conventions (``salesim.report.verdict``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from salesim.experiments.compare import SIGN_BASIS
from salesim.report import units
from salesim.report.units import label
from salesim.report.verdict import cell, hangs_on, index_column, lower_name, table

if TYPE_CHECKING:
    from salesim.report.study import Study


def robustness_notes(study: Study) -> list[str]:
    """How shares and regret are defined, the headline numbers, what the gap depends on."""
    notes = []
    r = study.robust
    sweep = study.exp.sweep
    if len(r):
        per = (
            "for each setting of the levers, over the uncertainties' values"
            if sweep.method == "grid" and any(p.role == "lever" for p in sweep.parameters)
            else "over the points of the sweep"
            + (
                " (its levers are sampled with the uncertainties)"
                if any(p.role == "lever" for p in sweep.parameters)
                else ""
            )
        )
        notes.append(
            f"A design beats {study.baseline} at a point of the sweep when the paired 95% CI of "
            "its difference lies on the better side of zero, ties when it includes zero and "
            f"loses otherwise; shares are {per}. Regret at a point is the best design's mean "
            "there minus this design's, oriented so that more is better, in the KPI's unit "
            "(0 for the best design): what choosing this design gives up if that point is the "
            "truth. The tables give its mean and maximum over the points (robustness.csv)."
        )
        if "basis" in r and (r.basis == SIGN_BASIS).any():
            notes.append(
                "This sweep runs one replication per point, so a point has no CI: it counts as "
                "a win (loss) when its one paired run is better (worse). Those shares mix the "
                "uncertainties' effect with run-to-run noise; the sensitivity indices of the gap "
                "below separate what the gap depends on."
            )
        for scenario in study.scenarios:
            s = r[r.scenario == scenario]
            profit = study.verdict_metrics[0] if study.verdict_metrics else None
            p = s[s.metric == profit]
            where = f" ({scenario} scenario)" if len(study.scenarios) > 1 else ""
            if p.empty:
                continue
            if len(p.drop_duplicates("design")) != len(p):  # one row per lever setting
                for design, rows in p[p.design != study.baseline].groupby("design", sort=False):
                    low, high = 100 * rows.win_share.min(), 100 * rows.win_share.max()
                    span = f"{low:.0f}%" if low == high else f"{low:.0f}% to {high:.0f}%"
                    notes.append(
                        f"{design} beats {study.baseline} on {lower_name(profit)} in {span} of the "
                        f"uncertainty values, depending on the lever setting{where}."
                    )
                continue
            for row in p[p.design != study.baseline].itertuples():
                notes.append(
                    f"{row.design} beats {study.baseline} on {lower_name(profit)} in "
                    f"{100 * row.win_share:.0f}% of the uncertainty space, ties in "
                    f"{100 * row.tie_share:.0f}% and loses in {100 * row.lose_share:.0f}%"
                    f"{where}."
                )
            best = p.sort_values("regret_max").iloc[0]
            notes.append(
                f"Smallest worst-case regret on {lower_name(profit)}{where}: {best.design} "
                f"({units.half_width(profit, best.regret_max, currency=study.currency)}); "
                + "; ".join(
                    f"{row.design} "
                    + units.half_width(profit, row.regret_max, currency=study.currency)
                    for row in p.itertuples()
                    if row.design != best.design
                )
                + "."
            )
    notes += _gap_notes(study)
    return notes


def _gap_notes(study: Study) -> list[str]:
    g = study.gaps
    if g.empty:
        return []
    value = index_column(g)
    notes = []
    for scenario, design in g[["scenario", "design"]].drop_duplicates().itertuples(index=False):
        where = f" in the {scenario} scenario" if len(study.scenarios) > 1 else ""
        parts = hangs_on(study, scenario, design, study.verdict_metrics[:6])
        if parts:
            notes.append(
                f"What the gap {design} − {study.baseline}{where} hangs on "
                f"({'total-order Sobol ST' if value == 'ST' else 'Morris mu*'}): "
                + "; ".join(parts)
                + "."
            )
    return notes


def robustness_tables(study: Study) -> list[dict[str, Any]]:
    """Win / tie / lose shares and regret per KPI, per scenario.

    With one policy (no grid levers) a table per scenario: every KPI's shares and regret. With
    several lever settings, per design a compact table (settings x KPIs: beats / loses) and one
    of the worst-case regret on profit per setting; the rest is in robustness.csv.
    """
    r = study.robust
    if r.empty:
        return []
    levers = [c for c in r.columns if c.startswith("model.")]
    tables = []
    for scenario in study.scenarios:
        part = r[r.scenario == scenario]
        if levers and len(part[levers].drop_duplicates()) > 1:
            tables += _per_setting_tables(study, part, levers, scenario)
        elif len(part):
            tables.append(_shares_table(study, part, scenario))
    return tables


def _shares_table(study: Study, part: pd.DataFrame, scenario: str) -> dict[str, Any]:
    others = [d for d in study.designs if d != study.baseline]
    head = [
        [{"text": "KPI", "span": 1}]
        + [{"text": f"{d} vs {study.baseline}", "span": 3} for d in others]
        + [{"text": "regret: mean / max", "span": len(study.designs)}],
        [{"text": "", "span": 1}]
        + [{"text": t, "span": 1} for _ in others for t in ("beats", "ties", "loses")]
        + [{"text": d, "span": 1} for d in study.designs],
    ]
    rows = []
    for metric in [m for m in study.verdict_metrics if m in set(part.metric)]:
        m = part[part.metric == metric].set_index("design")
        row = [cell(label(metric), kpi=metric)]
        for d in others:
            for col, word in (
                ("win_share", "better"),
                ("tie_share", "none"),
                ("lose_share", "worse"),
            ):
                share = m.loc[d, col]
                row.append(
                    cell(
                        f"{100 * share:.0f}%",
                        word if share > 0 else "",
                        kpi=metric,
                        design=d,
                        share=col,
                        value=share,
                    )  # fmt: skip
                )
        for d in study.designs:
            mean = units.half_width(metric, m.loc[d, "regret_mean"], currency=study.currency)
            worst = units.half_width(metric, m.loc[d, "regret_max"], currency=study.currency)
            row.append(cell(f"{mean} / {worst}"))
        rows.append(row)
    return table(f"Across the uncertainties ({scenario} scenario)", head, rows)


def _setting(levers: list[str], values) -> str:
    """Lever values in few words: the fields' names without their sections."""
    return ", ".join(
        f"{label(p).split(': ')[-1]} = {v:g}" for p, v in zip(levers, values, strict=True)
    )


def _per_setting_tables(
    study: Study, part: pd.DataFrame, levers: list[str], scenario: str
) -> list[dict[str, Any]]:
    metrics = [m for m in study.verdict_metrics if m in set(part.metric)]
    settings = part[levers].drop_duplicates().itertuples(index=False)
    settings = list(settings)
    out = []
    for design in [d for d in study.designs if d != study.baseline]:
        d = part[part.design == design].set_index([*levers, "metric"])
        head = [[{"text": "lever setting", "span": 1}] + [
            {"text": label(m), "span": 1} for m in metrics
        ]]  # fmt: skip
        rows = []
        for values in settings:
            row = [cell(_setting(levers, values))]
            for metric in metrics:
                x = d.loc[(*values, metric)]
                word = (
                    "better" if x.win_share > x.lose_share
                    else "worse" if x.lose_share > x.win_share
                    else "none"
                )  # fmt: skip
                row.append(
                    cell(
                        f"{100 * x.win_share:.0f}% / {100 * x.lose_share:.0f}%",
                        word,
                        kpi=metric,
                        design=design,
                        win_share=x.win_share,
                        lose_share=x.lose_share,
                    )  # fmt: skip
                )
            rows.append(row)
        caption = (
            f"{design} vs {study.baseline} ({scenario} scenario): share of the uncertainty values "
            "where it beats / loses, per lever setting"
        )
        out.append(table(caption, head, rows))
    profit = metrics[0] if metrics else None
    if profit is not None:
        p = part[part.metric == profit].set_index([*levers, "design"])
        head = [[{"text": "lever setting", "span": 1}] + [
            {"text": d, "span": 1} for d in study.designs
        ]]  # fmt: skip
        rows = []
        for values in settings:
            worst = {d: p.loc[(*values, d), "regret_max"] for d in study.designs}
            least = min(worst, key=worst.get)
            rows.append(
                [cell(_setting(levers, values))]
                + [
                    cell(
                        units.half_width(profit, worst[d], currency=study.currency),
                        "better" if d == least else "",
                        design=d,
                        regret_max=worst[d],
                    )  # fmt: skip
                    for d in study.designs
                ]
            )
        caption = (
            f"Worst-case regret on {lower_name(profit)} ({scenario} scenario) per lever setting; "
            "the smallest is marked"
        )
        out.append(table(caption, head, rows))
    return out


def wins_notes(study: Study, axes: list[str], facets: list[str]) -> list[str]:
    """How to read the maps."""
    names = " and ".join(label(a).lower() for a in axes)
    note = (
        f"Each point of the sweep over {names} is green where the design is better than "
        f"{study.baseline} (paired 95% CI on the better side of zero), red where it is worse and "
        "grey where no difference is detectable at this many replications."
    )
    if facets:
        note += f" One map per value of {', '.join(label(f).lower() for f in facets)}."
    elif len(study.swept) > len(axes):
        note += (
            f" The sweep varies {len(study.swept)} parameters; the map projects its points on "
            "these two (set experiment.report.map_axes to choose others)."
        )
    return [note]
