"""A customer's story: who it deals with, what it asked for, how fast, how it felt, whether it left.

``customer_story`` is the one place that gathers it. Until the model keeps a per-customer
history (``Customer.history()``, issue 9) it reads what exists: the customer's current state
(``model.customers``), its owners (``model.owner``), its requests in the request log and where
each went in the job log, and the month-end copies of customer state the page's ``Tracker``
keeps (satisfaction, channel, order fill, relationship; owner changes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from salesim.model.inputs.codes import CHANNELS, LOST, SEGMENTS
from salesim.model.inputs.params import KINDS
from salesim.viz.style import SAT_COLOURS, esc, sat_bin
from salesim.viz.tracker import customer_name, region_names

if TYPE_CHECKING:
    from salesim.model.sales_model import SalesModel
    from salesim.viz.tracker import Tracker

CHANNEL_TEXT = {
    "direct": "buys direct",
    "distributor": "buys through a distributor",
    "lost": "lost to a competitor",
    "open": "new in the market, not yet won",
    "future": "not in the market yet",
    "elsewhere": "new, went to a competitor",
}
KIND_TEXT = {
    "order": "order",
    "price_enquiry": "price enquiry",
    "technical": "technical / complaint",
    "logistics": "logistics / settlement",
}
BEFORE_LEAVING = 3  # months looked at before a customer left


class RequestIndex:
    """One customer's requests and their jobs, extended a step at a time (no log rescans)."""

    def __init__(self) -> None:
        self.key: tuple[int, int] | None = None

    def lookup(self, model: SalesModel, slot: int) -> tuple[np.ndarray, dict[int, list]]:
        """(need ids of ``slot`` in arrival order, need id -> [(station, stage, start)])."""
        if self.key != (id(model), slot):
            self.key = (id(model), slot)
            self.needs: list[int] = []
            self.jobs: dict[int, list] = {}
            self.routes: dict[int, str] = {}  # of requests resolved: they go nowhere new
            self.needs_seen = 0
            self.jobs_seen = 0
        log = model.log
        customer = log.cols["customer"][self.needs_seen : log.n]
        self.needs.extend((np.flatnonzero(customer == slot) + self.needs_seen).tolist())
        self.needs_seen = log.n
        mine = np.asarray(self.needs, dtype=np.int64)
        for need, station, stage, _, start, _ in log.jobs[self.jobs_seen :]:
            for i in np.flatnonzero(np.isin(need, mine)).tolist():
                self.jobs.setdefault(int(need[i]), []).append(
                    (int(station[i]), int(stage[i]), float(start[i]))
                )
        self.jobs_seen = len(log.jobs)
        return mine, self.jobs


def customer_story(
    model: SalesModel,
    slot: int,
    tracker: Tracker | None = None,
    index: RequestIndex | None = None,
) -> dict[str, Any]:
    """Everything the page tells about customer ``slot`` (a row of ``model.customers``)."""
    book = model.customers
    cfg = model.config
    lines = cfg.population.lines
    hours = model.hours_per_day
    month_days = model.days_per_month
    name = tracker.person if tracker is not None else (lambda s: f"station {s}")
    channel = CHANNELS[book.channel[slot]]
    regions = tracker.region_names if tracker is not None else region_names(model)
    story: dict[str, Any] = {
        "slot": int(slot),
        "name": customer_name(book, slot),
        "region": regions[int(book.region[slot])],
        "segment": SEGMENTS[book.segment[slot]],
        "lines": [lines[i] for i in np.flatnonzero(book.buys[slot])],
        "volume": float(book.volume[slot].sum()),
        "channel": channel,
        "active": bool(book.active[slot]),
        "satisfaction": float(book.satisfaction[slot]),
        "relationship": float(book.customer_relationship()[slot]),
        "wallet": float(book.wallet[slot]),
        "appears_day": int(book.appear_day[slot]) if slot >= book.n_initial else 0,
        "owners": [
            {"line": lines[i], "person": name(int(model.owner[slot, i]))}
            for i in np.flatnonzero(book.buys[slot])
            if model.owner[slot, i] >= 0
        ],
    }

    index = index or RequestIndex()
    needs, jobs = index.lookup(model, slot)
    cols = model.log.cols
    pending = cols["pending"][needs]
    arrival = cols["arrival"][needs]
    response = np.where(pending == 0, cols["resolution"][needs] - arrival, np.nan)
    requests = []
    for k, need in enumerate(needs.tolist()):
        route = index.routes.get(need)
        if route is None:
            served = sorted(jobs.get(need, []), key=lambda j: (j[1], j[2]))
            front = list(dict.fromkeys(name(s) for s, stage, _ in served if stage == 1))
            second = list(dict.fromkeys(name(s) for s, stage, _ in served if stage == 2))
            route = " + ".join(front) + (" → " + " + ".join(second) if second else "")
            if pending[k] == 0:
                index.routes[need] = route
        requests.append(
            {
                "id": need,
                "day": int(arrival[k] // hours) + 1,
                "kind": KIND_TEXT.get(KINDS[cols["kind"][need]], KINDS[cols["kind"][need]]),
                "lines": int(cols["n_lines"][need]),
                "line": lines[cols["line"][need]],
                "route": route,
                "contacts": int(cols["contacts"][need]),
                "hours": float(response[k]),
            }
        )
    done = np.isfinite(response)
    story["requests"] = requests
    story["summary"] = {
        "raised": len(requests),
        "resolved": int(done.sum()),
        "mean_hours": float(response[done].mean()) if done.any() else float("nan"),
        "max_hours": float(response[done].max()) if done.any() else float("nan"),
        "contacts": float(cols["contacts"][needs].mean()) if len(needs) else float("nan"),
    }

    story["months"], story["changes"], story["owner_changes"], story["left"] = [], [], [], None
    if tracker is None:
        return story
    snaps = tracker.snapshots
    story["months"] = [
        {
            "month": k,
            "satisfaction": float(s["satisfaction"][slot]),
            "channel": CHANNELS[s["channel"][slot]],
            "fill": float(s["fill"][slot]),
            # The churn hazard of month k and its logit's terms, as the model drew it; none
            # for the start (month 0) or a month the customer was not ours.
            "hazard": float(s["hazard"][slot]) if k and s["churn_terms"] else None,
            "terms": {t: float(v[slot]) for t, v in s["churn_terms"].items()} if k else {},
        }
        for k, s in enumerate(snaps)
    ]
    for month in story["months"]:
        if not month["hazard"]:  # not ours when churn was drawn (the model's hazard is 0)
            month["hazard"], month["terms"] = None, {}
    for k in range(1, len(snaps)):
        before, after = snaps[k - 1]["channel"][slot], snaps[k]["channel"][slot]
        if before != after:
            story["changes"].append({"month": k, "from": CHANNELS[before], "to": CHANNELS[after]})
    for month, who, old, new in tracker.owner_changes:
        hit = np.flatnonzero(who == slot)
        if len(hit):
            o, n = old[hit[0]], new[hit[0]]
            for i in np.flatnonzero((o != n) & book.buys[slot]):
                story["owner_changes"].append(
                    {
                        "month": month,
                        "line": lines[i],
                        "before": name(int(o[i])) if o[i] >= 0 else "nobody",
                        "after": name(int(n[i])) if n[i] >= 0 else "nobody",
                    }
                )
    lost_at = [c["month"] for c in story["changes"] if c["to"] == "lost"]
    if lost_at:
        k = lost_at[-1]
        first = max(k - BEFORE_LEAVING, 0)
        window = (arrival >= first * month_days * hours) & (arrival < k * month_days * hours)
        earlier = arrival < first * month_days * hours
        story["left"] = {
            "month": k,
            "hazard": story["months"][k]["hazard"] if k < len(story["months"]) else None,
            "satisfaction_before": float(snaps[first]["satisfaction"][slot]),
            "satisfaction": float(snaps[k]["satisfaction"][slot]),
            "relationship": float(snaps[k]["relationship"][slot]),
            "fill": float(snaps[k]["fill"][slot]),
            "from_month": first,
            "requests": int(window.sum()),
            "mean_hours": _mean(response[window & done]),
            "earlier_hours": _mean(response[earlier & done]),
        }
    elif book.channel[slot] == LOST:
        story["left"] = {"month": None}
    if story["left"] is not None and model.history is not None:
        # The model's own record of why: the terms of its churn hazard when it left.
        left = model.history.story(model, slot)["left"]
        if left is not None:
            story["left"]["reasons"] = left["logit_terms"]
            story["left"]["main_reason"] = left["main_reason"]
    return story


#: The terms of the churn hazard, as the story names them.
REASON_TEXT = {
    "satisfaction": "low satisfaction",
    "relationship": "a thin relationship",
    "failed_orders": "orders we could not fill",
    "competitor": "competitor pressure",
    "switching_cost": "low switching cost",
}


def _odds(story: dict[str, Any], left: dict[str, Any]) -> str:
    """'Its chance of leaving that month was 4.1% (under product organisation: 1.2%).'."""
    if left.get("hazard") is None:
        return ""
    text = f" Its chance of leaving that month was {_pct(left['hazard'])}"
    compare = story.get("compare")
    if compare:
        other = {m["month"]: m["hazard"] for m in compare[1]}.get(left["month"])
        text += f" ({esc(compare[0])}: {_pct(other) if other is not None else 'not ours then'})"
    return text + "."


def _main_reason(left: dict[str, Any]) -> str:
    reason = left.get("main_reason")
    return f" What weighed most: {esc(REASON_TEXT.get(reason, reason))}." if reason else ""


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else float("nan")


def _h(x: float) -> str:
    return f"{x:.1f} h" if np.isfinite(x) else "–"


def _sparkline(months: list[dict], width: int = 210, height: int = 46) -> str:
    """Satisfaction by month on a 0-1 axis (ticks 0, 0.5, 1), months counted from 0 (the start)."""
    if len(months) < 2:
        return ""
    left, right, top, bottom = 20, 4, 4, 12
    sat = np.array([m["satisfaction"] for m in months])
    last = months[-1]["month"]
    xs = left + (width - left - right) * np.array([m["month"] for m in months]) / max(last, 1)
    ys = top + (height - top - bottom) * (1 - np.clip(sat, 0, 1))
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.8" fill="{SAT_COLOURS[int(sat_bin(v))]}"/>'
        for x, y, v in zip(xs, ys, sat, strict=True)
    )
    axis = []
    for tick in (0.0, 0.5, 1.0):
        y = top + (height - top - bottom) * (1 - tick)
        axis.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e2e2"/>'
            f'<text class="tick" x="{left - 3}" y="{y + 3:.1f}" font-size="8.5" '
            f'text-anchor="end" fill="#666">{tick:g}</text>'
        )
    for month, anchor in ((0, "start"), (last, "end")):
        x = left + (width - left - right) * month / max(last, 1)
        axis.append(
            f'<text class="tick" x="{x:.1f}" y="{height - 2}" font-size="8.5" '
            f'text-anchor="{anchor}" fill="#666">{"start" if month == 0 else f"month {month}"}'
            "</text>"
        )
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<rect x="{left}" y="{top}" width="{width - left - right}" '
        f'height="{height - top - bottom}" fill="#f6f6f6"/>{"".join(axis)}'
        f'<polyline points="{pts}" fill="none" stroke="#888" stroke-width="1"/>{dots}</svg>'
    )


#: Short column heads for the churn terms (the rest fall back to their names).
TERM_HEADS = {
    "intercept": "base",
    "satisfaction": "satisf.",
    "relationship": "relat.",
    "failed_orders": "unfilled",
    "competitor": "compet.",
    "switching_cost": "switch.",
}


def _pct(p: float | None) -> str:
    return "–" if p is None else f"{100 * p:.1f}%" if p >= 0.001 else f"{100 * p:.2f}%"


def churn_table(story: dict[str, Any], recent: int = 6) -> str:
    """The chance of leaving in each recent month and the terms of its logit.

    With ``story["compare"]`` (the other pane's name and months), that design's chance of
    leaving the same month beside it: the odds the design moved.
    """
    months = [m for m in story["months"] if m["hazard"] is not None][-recent:]
    if not months:
        return ""
    compare = story.get("compare")
    other = {m["month"]: m["hazard"] for m in compare[1]} if compare else {}
    names = list(months[-1]["terms"])
    head = "".join(f"<th class='num'>{esc(TERM_HEADS.get(n, n))}</th>" for n in names)
    if compare:
        head = f"<th class='num'>{esc(compare[0])}</th>" + head
    rows = []
    for m in reversed(months):
        cells = "".join(f"<td class='num'>{m['terms'].get(n, 0.0):+.2f}</td>" for n in names)
        if compare:
            cells = f"<td class='num other'>{_pct(other.get(m['month']))}</td>" + cells
        rows.append(
            f"<tr data-month='{m['month']}' data-hazard='{m['hazard']!r}'><td>{m['month']}</td>"
            f"<td class='num'>{m['satisfaction']:.2f}</td>"
            f"<td class='num hazard'><b>{_pct(m['hazard'])}</b></td>{cells}</tr>"
        )
    return (
        '<div class="churn"><div class="facts">Chance of leaving us, month by month (the model\'s '
        "churn hazard): 1 / (1 + e<sup>−sum</sup>) of the terms on the right; a positive term "
        "raises it.</div><table class='requests churn-terms'><thead><tr><th>month</th>"
        "<th class='num'>satisf.</th><th class='num'>chance</th>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def story_html(story: dict[str, Any], recent: int = 8) -> str:
    """One pane's story as HTML: facts first, then the requests, newest first."""
    s = story
    status = CHANNEL_TEXT.get(s["channel"], s["channel"])
    head = (
        f'<div class="who"><b>Customer {esc(s["name"])}</b> · {esc(s["region"])} · '
        f"{s['segment']} account · {esc(' + '.join(s['lines']))} · "
        f"{s['volume']:,.0f} t a year</div>"
    )
    facts = [
        f'<b class="status-{esc(s["channel"])}">{esc(status)}</b>',
        f"satisfaction {s['satisfaction']:.2f}",
        f"relationship {s['relationship']:.2f}",
        f"share of wallet {100 * s['wallet']:.0f}%",
    ]
    owners = "; ".join(f"{esc(o['line'])}: {esc(o['person'])}" for o in s["owners"]) or "nobody yet"
    out = [head, f'<div class="facts">{" · ".join(facts)}</div>']
    out.append(f'<div class="owners">Deals with: {owners}</div>')
    if s["appears_day"]:
        out.append(
            f'<div class="facts">Enters the market on business day {s["appears_day"]}.</div>'
        )
    left = s["left"]
    if left:
        if left["month"] is None:
            out.append('<div class="left">Left us (month not recorded).</div>')
        else:
            out.append(
                f'<div class="left"><b>Left us at the end of month {left["month"]}.</b> Over the '
                f"{left['month'] - left['from_month']} months before: satisfaction "
                f"{left['satisfaction_before']:.2f} → {left['satisfaction']:.2f}; "
                f"{left['requests']} requests, mean response {_h(left['mean_hours'])}"
                + (
                    f" (earlier {_h(left['earlier_hours'])})"
                    if np.isfinite(left["earlier_hours"])
                    else ""
                )
                + f"; orders filled "
                f"{100 * left['fill']:.0f}%; relationship {left['relationship']:.2f}."
                + _odds(s, left)
                + _main_reason(left)
                + "</div>"
            )
    for c in s["changes"]:
        if c["to"] != "lost":
            out.append(
                f'<div class="change">End of month {c["month"]}: '
                f"{esc(CHANNEL_TEXT.get(c['from'], c['from']))} → "
                f"{esc(CHANNEL_TEXT.get(c['to'], c['to']))}</div>"
            )
    for c in s["owner_changes"][:6]:
        out.append(
            f'<div class="change">Month {c["month"] + 1}: {esc(c["line"])} moved from '
            f"{esc(c['before'])} to {esc(c['after'])}</div>"
        )
    spark = _sparkline(s["months"])
    if spark:
        out.append(f'<div class="spark-row">Satisfaction by month {spark}</div>')
    out.append(churn_table(s))
    m = s["summary"]
    out.append(
        f'<div class="facts">{m["raised"]} requests, {m["resolved"]} resolved · mean response '
        f"{_h(m['mean_hours'])} · longest {_h(m['max_hours'])} · "
        f"{m['contacts']:.1f} people per need</div>"
        if m["raised"]
        else '<div class="facts">No requests yet.</div>'
    )
    if s["requests"]:
        rows = "".join(
            f"<tr><td>{r['day']}</td><td>{esc(r['kind'])}</td>"
            f"<td class='line'>{esc(r['line'])}"
            f"{' +' + str(r['lines'] - 1) if r['lines'] > 1 else ''}</td>"
            f"<td>{esc(r['route'])}</td><td class='num'>{_h(r['hours'])}</td></tr>"
            for r in reversed(s["requests"][-recent:])
        )
        out.append(
            '<table class="requests"><thead><tr><th>day</th><th>request</th><th>line</th>'
            "<th>went to</th><th class='num'>response</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    return (
        f'<div class="salesim-story" data-customer="{s["slot"]}" '
        f'data-channel="{esc(s["channel"])}">' + "".join(out) + "</div>"
    )
