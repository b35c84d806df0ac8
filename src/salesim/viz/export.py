"""What the page lets a visitor take away: its data as CSV, one row per record, flat.

Every table carries what identifies its rows: the organisation (``design``, and the page's name
for it as ``organisation``) and the ``seed``, so rows of two panes or two downloads never mix.
Months count from 1, as on the page and in the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from salesim.viz.story import customer_story

if TYPE_CHECKING:
    from salesim.viz.panes import VizModel

#: Columns that lead every table.
KEYS = ("organisation", "design", "seed")


def _keyed(frame: pd.DataFrame, pane, seed: int) -> pd.DataFrame:
    frame = frame.copy()
    for k, v in zip(KEYS, (pane.short, pane.model.design.name, seed), strict=True):
        frame.insert(KEYS.index(k), k, v)
    return frame


def monthly_kpis(viz: VizModel) -> pd.DataFrame:
    """The monthly KPIs of every month closed so far, per organisation (the model's own)."""
    frames = []
    for pane in viz.panes:
        ts = pane.model.monthly_kpis().reset_index(drop=True)
        ts.insert(0, "month", range(1, len(ts) + 1))
        frames.append(_keyed(ts, pane, viz.config.seed))
    return pd.concat(frames, ignore_index=True)


def request_log(viz: VizModel) -> pd.DataFrame:
    """Every request raised so far, per organisation, with the customer's id."""
    frames = []
    for pane in viz.panes:
        log = pane.model.request_log()
        log.insert(2, "customer_id", pane.model.customers.customer_ids()[log["customer"]])
        frames.append(_keyed(log, pane, viz.config.seed))
    return pd.concat(frames, ignore_index=True)


def story(viz: VizModel, slot: int) -> pd.DataFrame:
    """One customer's months in each organisation: its state, channel and chance of leaving.

    The churn terms are the parts of the hazard's logit (``churn_<term>``); the chance of
    leaving is the logistic of their sum, as the model drew it that month.
    """
    rows = []
    for pane in viz.panes:
        s = customer_story(pane.model, slot, pane.tracker)
        for m in s["months"]:
            rows.append(
                {
                    "organisation": pane.short,
                    "design": pane.model.design.name,
                    "seed": viz.config.seed,
                    "customer": s["slot"],
                    "customer_id": s["name"],
                    "region": s["region"],
                    "month": m["month"],
                    "satisfaction": m["satisfaction"],
                    "channel": m["channel"],
                    "order_fill": m["fill"],
                    "churn_probability": m["hazard"],
                    **{f"churn_{k}": v for k, v in m["terms"].items()},
                }
            )
    return pd.DataFrame(rows)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as CSV, UTF-8, no index."""
    return frame.to_csv(index=False).encode("utf-8")
