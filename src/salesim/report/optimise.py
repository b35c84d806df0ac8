"""The optimisation's page: what was searched, what won, by how much, how sure, what it costs.

``build_optimise_report(DIR)`` reads what ``salesim optimise`` stored (``optimise.json``,
``trials.csv``) and writes ``DIR/report.html`` (self-contained, one ``<section id="optimise">``)
and the progress plot (one objective: every candidate and the best feasible so far) or the
Pareto plot (two objectives) under ``DIR/figures``. Numbers are written by
``salesim.report.units`` and judged by the paired CI (``salesim.experiments.stats.verdict``),
as in the experiment report. A search that found no feasible candidate is not an error: the page
says so and shows the closest.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from salesim.experiments.stats import verdict  # noqa: E402
from salesim.experiments.store import atomic_write_bytes  # noqa: E402
from salesim.model.inputs.outcomes import BETTER_COLOUR, NEUTRAL_COLOUR, WORSE_COLOUR  # noqa: E402
from salesim.model.inputs.outcomes import outcome as declared  # noqa: E402
from salesim.report import units  # noqa: E402

COLOURS = {"better": BETTER_COLOUR, "worse": WORSE_COLOUR, "none": NEUTRAL_COLOUR}
WORDS = {"better": "better", "worse": "worse", "none": "no detectable difference"}


def _e(x: Any) -> str:
    return html.escape(str(x))


def _figure(out: Path, fig, name: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    (out / "figures").mkdir(exist_ok=True)
    atomic_write_bytes(out / "figures" / f"{name}.png", buf.getvalue())
    return base64.b64encode(buf.getvalue()).decode()


def progress_plot(trials: pd.DataFrame, summary: dict[str, Any]):
    """Each evaluated candidate's objective by trial, feasible ones filled, the best so far."""
    name = summary["optimised"][0]
    maximise = summary["objectives"][0]["direction"] == "maximise" and not name.startswith(
        "worst_regret"
    )
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ev = trials[trials.status == "evaluated"].sort_values("trial")
    ok = ev[ev.constraints_met]
    ax.scatter(ev.trial, ev[name], facecolors="none", edgecolors=NEUTRAL_COLOUR, label="candidate")
    ax.scatter(ok.trial, ok[name], color=BETTER_COLOUR, label="meets every constraint")
    if len(ok):
        best = ok[name].cummax() if maximise else ok[name].cummin()
        ax.step(ok.trial, best, where="post", color="black", label="best feasible so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(units.label(name))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def pareto_plot(trials: pd.DataFrame, summary: dict[str, Any]):
    """The two objectives of every evaluated candidate; feasible ones filled."""
    x, y = summary["optimised"]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ev = trials[trials.status == "evaluated"]
    ok = ev[ev.constraints_met]
    ax.scatter(ev[x], ev[y], facecolors="none", edgecolors=NEUTRAL_COLOUR, label="candidate")
    ax.scatter(ok[x], ok[y], color=BETTER_COLOUR, label="meets every constraint")
    for v in summary.get("verified", []):
        ax.annotate(str(v["trial"]), (v["objective"][0], v["objective"][1]), fontsize=8)
    ax.set_xlabel(units.label(x))
    ax.set_ylabel(units.label(y))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _lever_text(lever: dict[str, Any]) -> str:
    if "choices" in lever:
        return ", ".join(map(str, lever["choices"]))
    step = f", step {lever['step']:g}" if lever.get("step") else ""
    return f"{lever['low']:g} to {lever['high']:g}{step}"


def _diff_cell(kpi: str, stat: dict[str, Any], currency: str) -> str:
    d, hw = stat.get("difference"), stat.get("half_width")
    if d is None:
        return "–"
    if declared(kpi).direction == 0:  # information only: no better or worse
        return _e(units.with_ci(kpi, d, hw, signed=True, currency=currency))
    word = verdict(
        d if d is not None else float("nan"),
        hw if hw is not None else float("nan"),
        declared(kpi).direction,
    )
    text = units.with_ci(kpi, d, hw, signed=True, currency=currency)
    return f'<span style="color:{COLOURS[word]}">{_e(text)}</span> ({WORDS[word]})'


def _searched(summary: dict[str, Any]) -> str:
    base = summary["baseline"]
    rows = [
        [_e(lv["path"]), _e(_lever_text(lv)), _e(_in_place(base["values"].get(lv["path"])))]
        for lv in summary["levers"]
    ]
    goals = " and ".join(f"{o['direction']} {o['kpi']}" for o in summary["objectives"])
    if summary.get("robust"):
        r = summary["robust"]
        measure = (
            "mean"
            if r["measure"] == "mean"
            else "worst-case regret against the organisation in place"
        )
        ranges = ", ".join(
            f"{u['path']} {u['low']:g} to {u['high']:g}" for u in summary.get("uncertainties", [])
        )
        goals += (
            f", over a Latin-hypercube sample of {r['samples']} points of the uncertainties "
            f"{ranges} ({measure})"
        )
    cons = ", ".join(summary["constraints"]) or "none"
    cap = summary.get("head_count_cap")
    cap_text = f"; head-count cap {cap}" if cap else ""
    return (
        "<h2>What was searched</h2>"
        + _table(["lever", "searched", "organisation in place"], rows)
        + f"<p>Candidates: {_e(summary.get('candidate_design', ''))}, each starting from the "
        "world of the organisation in place. "
        f"Objective: {_e(goals)}. Constraints: {_e(cons)}{_e(cap_text)}. "
        f"{summary['n_trials']} trials ({_e(summary['sampler'])} sampler), "
        f"{summary['candidates']} distinct candidates, {summary['evaluated']} run, each on "
        f"{summary['replications']} replications with the same seeds "
        f"({_e(_seeds(summary['search_seeds']))}) as the organisation in place "
        f"({_e(base['design'])}, {base['head_count']} people).</p>"
    )


def _in_place(value: Any) -> str:
    return "– (not set: the design's default)" if value is None else str(value)


def _seeds(seeds: list[int]) -> str:
    return f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])


def _won(summary: dict[str, Any], currency: str) -> str:
    w = summary.get("winner")
    if w is None:
        return "<h2>What won</h2><p>No candidate could be evaluated.</p>"
    if summary["feasible"] == 0:
        head = (
            "<p><strong>No candidate met every constraint.</strong> The closest candidates "
            "(least total violation) are shown; best.yaml holds the closest.</p>"
        )
    elif not w["constraints_met"]:
        head = (
            "<p><strong>The candidates that met every constraint in the search missed one on "
            "the fresh seeds</strong>; the best of them is shown.</p>"
        )
    else:
        head = ""
    if len(summary["optimised"]) == 2:
        head += (
            "<p>Two objectives: the verified candidates are on the feasible Pareto front (the "
            "plot below); the one recommended here and in best.yaml is the best on the first "
            "objective, and the table under <em>How sure</em> shows the trade-off.</p>"
        )
    levers = ", ".join(f"{k} = {_fmt(v)}" for k, v in w["values"].items())
    people = w.get("head_count")
    base_people = summary["baseline"]["head_count"]
    goal = summary["objectives"][0]["kpi"]
    stat = w["kpis"].get(goal, {})
    text = (
        f"<p>Recommended (trial {w['trial']}): <strong>{_e(levers)}</strong>, "
        f"{people} people against {base_people} in place. {_e(units.label(goal))}: "
        f"{_e(units.value(goal, stat.get('mean'), currency))} against "
        f"{_e(units.value(goal, stat.get('baseline'), currency))} in place, a paired difference "
        f"of {_diff_cell(goal, stat, currency)} on {stat.get('n', 0)} fresh runs.</p>"
    )
    base = summary["baseline"]
    if "constraints_met" in base:
        missed = [
            f"{label} ({_fmt(v)})"
            for label, v in base["shown"].items()
            if label in _missed(summary) and v is not None
        ]
        text += (
            "<p>The organisation in place meets every constraint.</p>"
            if base["constraints_met"]
            else f"<p>The organisation in place misses: {_e(', '.join(missed) or 'a constraint')}"
            ".</p>"
        )
    return "<h2>What won</h2>" + head + text


def _missed(summary: dict[str, Any]) -> set[str]:
    """Labels of the constraints the organisation in place misses (on the search's seeds)."""
    out = set()
    for label, value in summary["baseline"].get("shown", {}).items():
        kpi, op, limit = label.split(" ", 2)
        if value is None or limit == "baseline":
            continue
        if (op == "<=" and value > float(limit)) or (op == ">=" and value < float(limit)):
            out.add(label)
    return out


def _sure(summary: dict[str, Any], currency: str) -> str:
    w = summary.get("winner")
    if w is None:
        return ""
    n = len(summary["verified"])
    who = "The best candidate was" if n == 1 else f"The best {n} candidates were"
    parts = [
        f"<p>{who} re-run on seeds the search "
        f"never used ({_e(_seeds(summary['verification_seeds']))}), paired with the "
        "organisation in place on the same seeds; the intervals are 95% paired-t intervals of "
        "simulation noise at these assumptions.</p>"
    ]
    r = summary.get("runner_up")
    if r:
        kpi = r["kpi"]
        parts.append(
            f"<p>Against the runner-up (trial {r['trial']}: "
            f"{_e(', '.join(f'{k} = {v}' for k, v in r['values'].items()))}), the winner's "
            f"{_e(units.label(kpi))} differs by {_diff_cell(kpi, r, currency)}.</p>"
        )
    kpis = list(w["kpis"])
    rows = []
    for v in summary["verified"]:
        levers = ", ".join(f"{k.split('.')[-1]}={val}" for k, val in v["values"].items())
        rows.append(
            [
                str(v["trial"]),
                _e(levers),
                "yes" if v["constraints_met"] else "no",
                *[_diff_cell(k, v["kpis"][k], currency) for k in kpis if k in v["kpis"]],
            ]
        )
    head = ["trial", "levers", "constraints met (fresh seeds)", *[units.label(k) for k in kpis]]
    return (
        "<h2>How sure</h2>"
        + "".join(parts)
        + "<p>Each KPI as the paired difference to the organisation in place:</p>"
        + _table(head, rows)
    )


def _costs(summary: dict[str, Any], currency: str) -> str:
    w = summary.get("winner")
    if w is None:
        return ""
    rows = []
    people = w.get("head_count")
    base = summary["baseline"]["head_count"]
    if people is not None and base is not None:
        rows.append(["people (all roles)", str(people), str(base), f"{people - base:+d}"])
    for k in ("cost_to_serve", "operating_profit"):
        s = w["kpis"].get(k)
        if s:
            rows.append(
                [
                    _e(units.label(k)),
                    _e(units.value(k, s["mean"], currency)),
                    _e(units.value(k, s["baseline"], currency)),
                    _diff_cell(k, s, currency),
                ]
            )
    return "<h2>What it costs</h2>" + _table(
        ["", "recommended", "organisation in place", "difference"], rows
    )


def _top(trials: pd.DataFrame, summary: dict[str, Any]) -> str:
    if not len(trials):
        return ""
    names = summary["optimised"] if summary else []
    ev = trials[trials.status == "evaluated"]
    if names:
        ascending = summary["objectives"][0]["direction"] == "minimise" or names[0].startswith(
            "worst_regret"
        )
        ev = ev.sort_values(["constraints_met", names[0]], ascending=[False, ascending])
    cols = [c for c in ev.columns if c not in ("status", "trials")]
    rows = [[_e(_fmt(r[c])) for c in cols] for _, r in ev.head(15).iterrows()]
    head = [c.split(".")[-1] if c.startswith("model.") else c for c in cols]
    return "<h2>Candidates (best 15; every one in trials.csv)</h2>" + _table(head, rows)


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _status(out: Path) -> str | None:
    try:
        return json.loads((out / "manifest.json").read_text()).get("status")
    except (OSError, ValueError, AttributeError):
        return None


STYLE = (
    "body{font-family:sans-serif;max-width:70em;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;"
    "font-size:0.9em;text-align:left}"
)


def build_optimise_report(out: str | Path) -> Path:
    """Write ``out/report.html`` from the stored optimisation; return its path."""
    out = Path(out)
    trials = pd.read_csv(out / "trials.csv") if (out / "trials.csv").is_file() else pd.DataFrame()
    summary_path = out / "optimise.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else None
    if summary is None:
        body = (
            f"<p>The search stopped before it finished: {len(trials)} candidates so far "
            "(trials.csv). Run the same <code>salesim optimise</code> command again to continue "
            "and verify.</p>"
        )
        attrs = 'data-feasible="none" data-winner-trial="none"'
    else:
        currency = summary.get("currency", "CU")
        two = len(summary["optimised"]) == 2
        plot = pareto_plot if two else progress_plot
        image = _figure(
            out, plot(trials, summary), "optimise_pareto" if two else "optimise_progress"
        )
        caption = "Pareto plot" if two else "Progress"
        figure = (
            f'<figure><img alt="{caption}" src="data:image/png;base64,{image}">'
            f"<figcaption>{caption}: every candidate evaluated; filled ones meet every "
            "constraint.</figcaption></figure>"
        )
        body = (
            _searched(summary)
            + _won(summary, currency)
            + _sure(summary, currency)
            + _costs(summary, currency)
            + figure
            + _top(trials, summary)
        )
        w = summary.get("winner")
        attrs = (
            f'data-feasible="{summary["feasible"]}" '
            f'data-winner-trial="{w["trial"] if w else "none"}"'
        )
    if summary is not None and _status(out) == "interrupted":
        body = (
            "<p><strong>The last session was stopped before it finished</strong>; what follows "
            "is from the last finished session (trials.csv holds every trial so far). Run the "
            "same <code>salesim optimise</code> command again to continue.</p>" + body
        )
    name = summary["name"] if summary else out.name
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>'
        f"{_e(name)}: optimisation</title><style>{STYLE}</style></head><body>"
        f'<section id="optimise" {attrs}><h1>Optimisation: {_e(name)}</h1>{body}</section>'
        "</body></html>"
    )
    path = out / "report.html"
    atomic_write_bytes(path, page.encode())
    return path
