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
    story: dict[str, Any] = {
        "slot": int(slot),
        "region": int(book.region[slot]) + 1,
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
        }
        for k, s in enumerate(snaps)
    ]
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


def _main_reason(left: dict[str, Any]) -> str:
    reason = left.get("main_reason")
    return f" What weighed most: {esc(REASON_TEXT.get(reason, reason))}." if reason else ""


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else float("nan")


def _h(x: float) -> str:
    return f"{x:.1f} h" if np.isfinite(x) else "–"


def _sparkline(months: list[dict], width: int = 150, height: int = 26) -> str:
    if len(months) < 2:
        return ""
    sat = np.array([m["satisfaction"] for m in months])
    xs = np.linspace(2, width - 2, len(sat))
    ys = height - 2 - (height - 4) * np.clip(sat, 0, 1)
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.8" fill="{SAT_COLOURS[int(sat_bin(s))]}"/>'
        for x, y, s in zip(xs, ys, sat, strict=True)
    )
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f'<rect width="{width}" height="{height}" fill="#f6f6f6"/>'
        f'<polyline points="{pts}" fill="none" stroke="#888" stroke-width="1"/>{dots}</svg>'
    )


def story_html(story: dict[str, Any], recent: int = 8) -> str:
    """One pane's story as HTML: facts first, then the requests, newest first."""
    s = story
    status = CHANNEL_TEXT.get(s["channel"], s["channel"])
    head = (
        f'<div class="who"><b>Customer {s["slot"]}</b> · region {s["region"]} · '
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
