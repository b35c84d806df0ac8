"""The switch study's part of the report: should we switch, to what, and when does it pay back?

It opens the report (``<section id="switch">``): one paragraph per candidate against staying
with its payback month and NPV (``data-candidate``, ``data-payback-month``, ``data-npv``), the
J-curve, the transition assumptions with their values and sources, and how payback and NPV move
across the transition scenarios and sweep points, so the verdict shows what it hangs on. The
numbers come from ``salesim.experiments.switch``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from salesim.experiments.plan import Run, model_config, seed_of
from salesim.experiments.spec import Switch
from salesim.experiments.stats import verdict as ci_verdict
from salesim.experiments.switch import PROFIT, SwitchResult, analyse, npv_gap
from salesim.model.inputs.params import ModelConfig
from salesim.model.kpis import HEADLINE
from salesim.report import plots, units
from salesim.report.verdict import cell, lower_name, table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from salesim.report.study import Study

#: The transition assumptions a switch's verdict depends on, as dotted paths.
ASSUMPTIONS = (
    "experiment.switch.month",
    "experiment.switch.discount_rate",
    "model.reorganisation.learning_months",
    "model.reorganisation.initial_skill",
    "model.reorganisation.relationship_kept",
    "model.costs.reorganisation_cost_per_person",
)


def _field(path: str) -> Any:
    """The pydantic field a dotted path names (model.* or experiment.switch.*)."""
    parts = path.split(".")
    node: type[BaseModel] = Switch if parts[0] == "experiment" else ModelConfig
    for part in parts[2 if parts[0] == "experiment" else 1 : -1]:
        node = node.model_fields[part].annotation
    return node.model_fields[parts[-1]]


def _value_of(path: str, model: ModelConfig, switch: Switch) -> Any:
    obj: Any = switch if path.startswith("experiment.") else model
    for part in path.split(".")[2 if path.startswith("experiment.") else 1 :]:
        obj = getattr(obj, part)
    return obj


def _shown(path: str, value: Any, currency: str) -> str:
    if path.endswith("discount_rate"):
        return f"{100 * value:g}%/year"
    if path.endswith("_cost_per_person"):
        return f"{units.value(PROFIT, value, currency)}/person"
    if path.endswith(".month"):
        return f"{value} (month {value + 1})"
    unit = (_field(path).json_schema_extra or {}).get("unit", "")
    if unit == "share":
        return f"{100 * value:g}%"
    return f"{value:g} {unit}".strip() if isinstance(value, float | int) else str(value)


def _month(x: float | None) -> str:
    return "beyond the horizon" if x is None or not math.isfinite(x) else f"{int(x)}"


def payback_text(r: SwitchResult) -> str:
    """The payback month with its CI, in words."""
    if r.payback is None:
        return f"does not pay back within the {r.horizon_months}-month horizon"
    low, high = _month(r.payback_low), _month(r.payback_high)
    ci = f"month {low}" if low == high else f"{low} to {high}"
    return f"pays back in month {r.payback} (95% CI {ci})"


def _npv_text(r: SwitchResult, currency: str) -> str:
    return units.with_ci(PROFIT, r.npv, r.npv_hw, signed=True, currency=currency)


def _npv_verdict(r: SwitchResult) -> str:
    return ci_verdict(r.npv, r.npv_hw, +1)


NPV_WORDS = {
    "better": "its 95% CI above zero",
    "worse": "its 95% CI below zero",
    "none": "not detectably different from zero",
}


def _payback_short(r: SwitchResult) -> str:
    """Payback month and CI in a table cell: 8 (7-9), or none."""
    if r.payback is None:
        return "none"
    low, high = _month(r.payback_low), _month(r.payback_high)
    return f"{r.payback} ({low})" if low == high else f"{r.payback} ({low}–{high})"


def _paragraph(
    r: SwitchResult, in_place: str, rate: float, currency: str, others: str
) -> dict[str, Any]:
    paid = round(r.paid_back_share * r.replications)
    sentences = [
        f"Switching from {in_place} at the start of month {r.switch_month + 1} "
        f"{payback_text(r)}; {paid} of {r.replications} replications pay back on their own.",
        f"Net present value of the operating-profit difference over the {r.horizon_months}-month "
        f"horizon at {100 * rate:g}% a year: {_npv_text(r, currency)} "
        f"({NPV_WORDS[_npv_verdict(r)]}).",
        f"One-off cost: {units.value(PROFIT, r.one_off_cost, currency)} "
        f"(booked in month {r.switch_month + 1}, included above).",
    ]
    last = r.curve.iloc[-1]
    sentences.append(
        "Cumulative difference at the horizon: "
        + units.with_ci(
            PROFIT, last["cum_mean"], last["cum_ci95_half_width"], signed=True, currency=currency
        )
        + "."
    )
    sentences.append(others)
    return {
        "candidate": r.candidate,
        "payback": "none" if r.payback is None else str(r.payback),
        "npv": repr(float(r.npv)),
        "cls": _npv_verdict(r),
        "sentences": sentences,
    }


def other_kpis(study: Study, r: SwitchResult) -> str:
    """The headline KPIs over the horizon that switching makes better or worse, in words."""
    said = {"better": [], "worse": []}
    for metric in (m for m in HEADLINE if m != PROFIT):  # profit is the paragraph's own
        row = study.row(r.scenario, r.point, r.candidate, metric)
        if row is not None and row["diff_verdict"] in said:
            said[row["diff_verdict"]].append(lower_name(metric))
    parts = [f"{word} on {', '.join(names)}" for word, names in said.items() if names]
    if not parts:
        return "Over the horizon no headline KPI differs detectably from staying."
    return "Over the horizon, against staying: " + "; ".join(parts) + " (the verdict below)."


def best(results: list[SwitchResult]) -> SwitchResult | None:
    """The candidate to switch to: highest NPV among those whose NPV CI is above zero."""
    good = [r for r in results if _npv_verdict(r) == "better"]
    return max(good, key=lambda r: r.npv) if good else None


def _recommendation(results: list[SwitchResult], in_place: str, currency: str) -> str:
    choice = best(results)
    if choice is not None:
        text = (
            f"Switch to {choice.candidate}: the highest net present value against staying with "
            f"{in_place} ({_npv_text(choice, currency)}), its 95% CI above zero; it "
            f"{payback_text(choice)}."
        )
        others = sorted((r for r in results if r is not choice), key=lambda r: -r.npv)
        if others:
            gap, hw = npv_gap(choice, others[0])
            shown = units.with_ci(PROFIT, gap, hw, signed=True, currency=currency)
            ahead = ci_verdict(gap, hw, +1) == "better"
            text += (
                f" Against {others[0].candidate}, the next best, its NPV is {shown} (paired): "
                + ("detectably ahead." if ahead else "not detectably ahead; either would pay.")
            )
        return text
    if all(_npv_verdict(r) == "worse" for r in results):
        return f"Stay with {in_place}: every candidate's net present value is below zero."
    return (
        f"No candidate's net present value is detectably above staying with {in_place} within "
        "the horizon: the switch is not shown to pay."
    )


def _where(study: Study, r: SwitchResult) -> str:
    where = study.where(r.point) if study.swept else ""
    return r.scenario + (f", {where}" if where else "")


def _robustness(study: Study, results: list[SwitchResult], in_place: str) -> tuple[dict, str]:
    """Payback and NPV per scenario and point, and a sentence on whether the choice holds."""
    sw = study.exp.switch
    cur = study.currency
    keys = list(dict.fromkeys((r.scenario, r.point) for r in results))
    head = [
        [{"text": "scenario", "span": 1}]
        + [{"text": c, "span": 2} for c in sw.candidates]
        + [{"text": "decision", "span": 1}],
        [{"text": "", "span": 1}]
        + [{"text": t, "span": 1} for _ in sw.candidates for t in ("payback month", "NPV")]
        + [{"text": "", "span": 1}],
    ]
    rows, choices = [], {}
    for key in keys:
        group = [r for r in results if (r.scenario, r.point) == key]
        row = [cell(_where(study, group[0]), scenario=key[0], point=key[1])]
        for c in sw.candidates:
            r = next((g for g in group if g.candidate == c), None)
            if r is None:
                row += [cell("–"), cell("–")]
                continue
            payback = "none" if r.payback is None else r.payback
            # Not the hooks' attribute names: those mark the one paragraph per candidate.
            row.append(cell(_payback_short(r), design=c, payback=payback))
            row.append(cell(_npv_text(r, cur), _npv_verdict(r), design=c, value=repr(r.npv)))
        choice = best(group)
        choices[key] = choice.candidate if choice else "stay"
        row.append(cell(f"switch to {choices[key]}" if choice else f"stay with {in_place}"))
        rows.append(row)
    caption = (
        "What the verdict hangs on: payback month and NPV (95% CI) of each candidate against "
        "staying, per transition scenario"
        + (" and sweep point" if study.swept else "")
        + "; decision: the candidate with the highest NPV whose CI is above zero, else stay"
    )
    spans = []
    for c in sw.candidates:
        mine = [r for r in results if r.candidate == c]
        paid = [r for r in mine if r.payback is not None]
        if len(mine) > 1 and paid:
            early = min(paid, key=lambda r: r.payback)
            late = max(mine, key=lambda r: math.inf if r.payback is None else r.payback)
            spans.append(
                f"{c} pays back from month {early.payback} ({_where(study, early)}) to "
                + (f"month {late.payback}" if late.payback else "beyond the horizon")
                + f" ({_where(study, late)})"
            )
    words = {k: "stay with " + in_place if v == "stay" else "switch to " + v
             for k, v in choices.items()}  # fmt: skip
    main = words.get((study.reference, 0), next(iter(words.values())))
    if len(keys) == 1:
        sentence = (
            "Only one transition setting was run: add scenarios or a sweep of "
            "model.reorganisation.* to see what the verdict hangs on."
        )
    elif len(set(words.values())) == 1:
        sentence = f"The decision is the same in all {len(keys)} transition settings: {main}."
    else:
        other = [f"{_where(study, _first(results, k))}: {v}" for k, v in words.items()
                 if v != main]  # fmt: skip
        sentence = (
            f"The decision depends on the transition: {main} under the reference assumptions, "
            f"but {'; '.join(other)}."
        )
    if spans:
        sentence += " Across them, " + "; ".join(spans) + "."
    return table(caption, head, rows), sentence


def _first(results: list[SwitchResult], key: tuple[str, int]) -> SwitchResult:
    return next(r for r in results if (r.scenario, r.point) == key)


def _assumptions(study: Study) -> dict[str, Any]:
    """The transition assumptions: value per scenario, unit, source (the field's description)."""
    cfg, sw = study.cfg, study.exp.switch
    scenarios = study.scenarios
    models = {
        s: model_config(cfg, Run("probe", 0, s, sw.candidates[0], 0, seed_of(cfg), {}))
        for s in scenarios
    }
    head = [
        [{"text": "assumption", "span": 1}]
        + [{"text": s, "span": 1} for s in scenarios]
        + [{"text": "source", "span": 1}]
    ]
    rows = []
    swept = set(study.swept)
    for path in ASSUMPTIONS:
        values = [
            "swept"
            if path in swept
            else _shown(path, _value_of(path, models[s], sw), study.currency)
            for s in scenarios
        ]
        rows.append(
            [cell(f"{path}", path=path)]
            + [cell(v, scenario=s) for v, s in zip(values, scenarios, strict=True)]
            + [cell(_field(path).description or "", cls="source")]
        )
    caption = "The transition assumptions the switch verdict depends on, with their sources"
    return table(caption, head, rows)


def section(study: Study, save: Callable[[Figure, str, str], Any]) -> dict[str, Any] | None:
    """The switch section's content for the template (None: not a switch study).

    ``save(fig, name, caption)`` stores a figure and returns what the template embeds.
    """
    sw = study.exp.switch
    if sw is None or study.monthly.empty:
        return None
    results = analyse(study.cfg, study.monthly, study.runs)
    if not results:
        return None
    cur = study.currency
    main = [r for r in results if r.scenario == study.reference and r.point == 0]
    if not main:  # the reference's runs failed: the first setting that has results
        main = [r for r in results if (r.scenario, r.point) == (results[0].scenario, 0)]
    figures = []
    main_key = (main[0].scenario, main[0].point)
    keys = [main_key, *(k for k in dict.fromkeys((r.scenario, r.point) for r in results)
                        if k != main_key)]  # fmt: skip
    for key in keys:  # the main setting's J-curve first: the template shows it at the top
        group = [r for r in results if (r.scenario, r.point) == key]
        if key != main_key and len(keys) > 6:
            continue  # a big sweep: the J-curve of the reference only
        fig = plots.switch_curves(
            {r.candidate: r.curve for r in group},
            sw.month,
            {r.candidate: r.payback for r in group},
            list(study.exp.designs),
            currency=cur,
            title=f"Operating profit, switching − staying with {sw.in_place} "
            f"({_where(study, group[0])}): paired, 95% CI",
        )
        caption = (
            f"The J-curve ({_where(study, group[0])}): monthly (top) and cumulative (bottom) "
            "paired difference of operating profit, each candidate minus staying, with 95% CIs; "
            f"dotted: the switch (start of month {sw.month + 1}); dots: payback months"
        )
        figures.append(save(fig, f"switch-{key[0]}-p{key[1]}", caption))
    robust, robust_sentence = _robustness(study, results, sw.in_place)
    notes = [
        f"Each candidate's runs start from the world of {sw.in_place} (its steady state) and "
        f"switch at the start of month {sw.month + 1}; the stay runs keep {sw.in_place}. "
        "Replication i of every side has the same seed, so the differences are paired "
        "(exactly zero before the switch).",
        "Payback month: the first month from which the cumulative mean paired difference of "
        "operating profit stays above zero to the horizon. Its 95% CI is a percentile "
        f"bootstrap over the replications ({sw.bootstrap} resamples, each the payback month "
        "of the resample's mean curve; seeded from the experiment's seed).",
        f"Net present value: each month's paired difference discounted to day 0 at "
        f"{100 * sw.discount_rate:g}% a year (compounded monthly, a month's flow at its end), "
        "summed over the horizon only: nothing after it is counted. Its 95% CI is the paired-t "
        "interval over the replications' own NPVs. The one-off cost is part of the month it "
        "is booked in.",
    ]
    return {
        "in_place": sw.in_place,
        "title": f"Should we switch from {sw.in_place}, and when does it pay back?",
        "recommendation": _recommendation(main, sw.in_place, cur),
        "candidates": [
            _paragraph(r, sw.in_place, sw.discount_rate, cur, other_kpis(study, r)) for r in main
        ],
        "robust_sentence": robust_sentence,
        "tables": [robust, _assumptions(study)],
        "figures": figures,
        "notes": notes,
    }
