"""The KPI table: a row per headline KPI, a column per design, then the gap between them.

Labels, units and better/worse directions come from ``salesim.model.inputs.outcomes``. KPIs that
move every day (response times, contacts, handoffs) are running values over the requests resolved so
far; the others are the model's own ``kpis()`` as of the last month closed, and before the first
month closes the volume KPIs show what that month is expected to give (marked ≈).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from salesim.model.inputs.outcomes import outcome
from salesim.model.kpis import HEADLINE
from salesim.report import units
from salesim.viz.style import direction, esc, unit

if TYPE_CHECKING:
    from salesim.viz.panes import Pane
    from salesim.viz.seeds import SeedSummary

#: Kinds whose values carry their unit (62.1%, 3.4 h), so the label needs none.
UNIT_IN_VALUE = ("rate", "hours")
ROWS = ("retention_rate", *(k for k in HEADLINE if k != "retention_rate"))


def value(pane: Pane, name: str, running: dict[str, float]) -> tuple[float | None, bool]:
    """(the value the table shows, whether it is an expectation rather than a measurement).

    ``running`` is ``pane.tracker.running()``, computed once per table.
    """
    tracker = pane.tracker
    if name in running:
        return running[name], False
    if name == "retention_rate":
        return tracker.series["retention_rate"][-1], False
    if tracker.month_kpis:
        return tracker.month_kpis.get(name), False
    if name in tracker.opening:
        return tracker.opening[name], True
    return None, False


def gap_direction(panes: list[Pane]) -> str:
    """What the gap column subtracts: 'customer managers − product organisation'."""
    return f"{panes[1].gap_name} − {panes[0].gap_name}"


def kpi_table_html(panes: list[Pane], seeds: SeedSummary | None = None) -> str:
    """The table for one or two panes: the gap is the second minus the first, the reference.

    With ``seeds`` (the runs of several seeds, finished), each gap cell also gives the paired
    difference at the end of the run across those seeds with its 95% CI, coloured better or
    worse only when the interval excludes zero, as the report colours it.
    """
    head = "".join(
        f'<th class="design" style="border-bottom:3px solid {p.colour}">{esc(p.short)}</th>'
        for p in panes
    )
    if len(panes) == 2:
        order = gap_direction(panes)
        head += (
            f'<th class="gap-head" data-direction="{esc(order)}" title="{esc(panes[1].short)}'
            f' minus {esc(panes[0].short)}: green where better, red where worse">Gap'
            f'<div class="gap-dir">{esc(order)}</div></th>'
        )
    rows = []
    first_month = not panes[0].tracker.month_kpis
    running = [p.tracker.running() for p in panes]
    for name in ROWS:
        o = outcome(name)
        values = [value(p, name, r) for p, r in zip(panes, running, strict=True)]
        cells = ""
        for p, (v, expected) in zip(panes, values, strict=True):
            if v is None:
                text = '<span class="later">after month 1</span>'
            else:
                text = ("≈ " if expected else "") + units.value(name, v)
            cells += (
                f'<td class="v{" expected" if expected else ""}" data-design="{esc(p.name)}">'
                f"{text}</td>"
            )
        if len(panes) == 2:
            (a, _), (b, _) = values
            over = seeds.gap_cell(name) if seeds is not None else ""
            if a is None or b is None:
                cells += f'<td class="gap">–{over}</td>'
            else:
                gap = b - a
                cells += (
                    f'<td class="gap" data-gap="{gap!r}" style="color:{units.colour(name, gap)}">'
                    f"{units.diff(name, gap)}{over}</td>"
                )
        first = values[0][0]
        shown_unit = (
            "" if o.kind in UNIT_IN_VALUE else f'<span class="unit">{esc(unit(name))}</span>'
        )
        rows.append(
            f'<tr class="salesim-kpi" data-kpi="{name}" data-value="{first!r}">'
            f'<td class="name" title="{esc(o.description)}">{esc(o.label)}{shown_unit}'
            f'<span class="dir" title="{direction(name)}">{direction(name)[:1]}</span></td>'
            f"{cells}</tr>"
        )
    note = (
        "Response, contacts and handoffs: running values over the requests resolved so far. "
        "The rest: months closed so far"
        + (
            "; ≈ month 1 as expected from the customers at day 0 (it closes on business day 21)."
            if first_month
            else "."
        )
        + (f" {seeds.note()}" if seeds is not None and len(panes) == 2 else "")
    )
    return (
        '<table class="salesim-kpis"><thead><tr><th class="name">KPI</th>'
        + head
        + "</tr></thead><tbody>"
        + "".join(rows)
        + f'</tbody></table><div class="salesim-note">{esc(note)}</div>'
    )
