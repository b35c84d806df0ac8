"""The page's pieces as Solara components; ``salesim.viz.app.Page`` wires them for one visitor.

Each view takes the visitor's ``VizModel`` and a ``version`` that the page bumps after every
step it shows, and draws from the models' trackers under the visitor's lock (the play loop
steps in a thread of its own). Views are strings of SVG or HTML built in a few milliseconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import solara

from salesim.model.inputs.codes import LOST
from salesim.viz import export
from salesim.viz.charts import QUEUE_PANELS, charts_svg, response_histogram_svg
from salesim.viz.fields import FIELDS
from salesim.viz.org import flow_scale, key_accounts, organisation_svg
from salesim.viz.panes import NO_REORGANISATION, NONE, VizModel
from salesim.viz.seeds import SeedSummary
from salesim.viz.story import RequestIndex, customer_story, story_html
from salesim.viz.style import esc, short_title
from salesim.viz.table import kpi_table_html
from salesim.viz.tracker import QUEUE_GROUPS, customer_name

CSS = """
.salesim-page { display: flex; align-items: flex-start; gap: 0; }
.salesim-controls { flex: 0 0 292px; width: 292px; position: sticky; top: 0;
  max-height: calc(100vh - 64px); overflow-y: auto; padding: 8px 8px 16px 8px;
  background: #f5f6f8; border-right: 1px solid #e2e4e8; align-self: flex-start; }
.salesim-controls .v-card__title { font-size: 15px; padding: 8px 12px 0 12px; }
.salesim-controls .v-card__text { padding: 4px 12px 10px 12px; }
.salesim-buttons { display: flex; flex-wrap: wrap; gap: 6px; margin: 4px 0 6px 0; }
.salesim-buttons .v-btn { text-transform: none; letter-spacing: 0; }
.salesim-main { flex: 1 1 0; min-width: 0; padding: 8px 14px 24px 16px; }
.salesim-main h3 { font-size: 15px; margin: 14px 0 4px 0; font-weight: 600; color: #333; }
.salesim-status { display: flex; align-items: baseline; gap: 14px; flex-wrap: wrap;
  font-size: 14px; }
.salesim-clock { font-weight: 700; font-size: 16px; }
.salesim-sub { color: #666; font-size: 13px; }
.salesim-reorg-note { background: #fff3cd; border: 1px solid #e0b84a; border-radius: 4px;
  padding: 1px 8px; color: #6b4e00; font-size: 13px; }
.salesim-progress { height: 4px; background: #e8e8e8; border-radius: 2px; margin: 4px 0 8px 0; }
.salesim-progress > div { height: 4px; background: #1f77b4; border-radius: 2px; }
.salesim-top { display: flex; gap: 14px; align-items: flex-start; flex-wrap: wrap; }
.salesim-table-box { flex: 0 0 auto; max-width: 100%; }
.salesim-charts-box { flex: 1 1 540px; min-width: 0; max-width: 720px; }
table.salesim-kpis { border-collapse: collapse; font-size: 13px; }
table.salesim-kpis th { font-size: 12px; color: #555; font-weight: 600; text-align: right;
  padding: 3px 8px; vertical-align: bottom; }
table.salesim-kpis th.design { max-width: 104px; line-height: 1.2; }
table.salesim-kpis th.name, table.salesim-kpis td.name { text-align: left; }
table.salesim-kpis td.name { white-space: normal; max-width: 190px; }
table.salesim-kpis td { text-align: right; padding: 2px 8px; border-top: 1px solid #eee;
  white-space: nowrap; font-variant-numeric: tabular-nums; }
table.salesim-kpis td.v { font-weight: 600; }
table.salesim-kpis td.expected { font-weight: 400; color: #555; }
table.salesim-kpis td.gap { font-weight: 600; }
table.salesim-kpis .unit { color: #888; font-size: 11px; margin-left: 5px; }
table.salesim-kpis .dir { color: #999; font-size: 10.5px; margin-left: 5px; }
table.salesim-kpis .later { color: #999; font-weight: 400; font-size: 11.5px; }
.salesim-note { color: #777; font-size: 11.5px; max-width: 440px; margin-top: 4px; }
.salesim-panes { display: flex; gap: 14px; align-items: flex-start; }
.salesim-panes > div { flex: 1 1 0; min-width: 0; }
.salesim-story { font-size: 13px; line-height: 1.45; }
.salesim-story .who { font-size: 14px; margin-bottom: 2px; }
.salesim-story .left { background: #fbeaea; border-left: 3px solid #b2182b; padding: 2px 6px;
  margin: 3px 0; }
.salesim-story .change { color: #555; font-size: 12.5px; }
.salesim-story .status-lost { color: #b2182b; }
.salesim-story .spark-row { display: flex; gap: 8px; align-items: center; color: #555;
  font-size: 12.5px; margin: 3px 0; }
.salesim-story table.requests { border-collapse: collapse; font-size: 12px; margin-top: 4px;
  width: 100%; }
.salesim-story table.requests th { text-align: left; color: #666; font-weight: 600;
  padding: 1px 6px 1px 0; }
.salesim-story table.requests td { border-top: 1px solid #eee; padding: 1px 6px 1px 0;
  vertical-align: top; }
.salesim-story .num, .salesim-story .line { text-align: right; white-space: nowrap; }
.salesim-story .line { text-align: left; }
.salesim-hint { color: #666; font-size: 12.5px; }
table.salesim-kpis th.gap-head { min-width: 96px; }
table.salesim-kpis .gap-dir { font-weight: 400; font-size: 10.5px; color: #666; max-width: 150px;
  white-space: normal; text-align: right; }
table.salesim-kpis .seeds-gap { font-size: 10.5px; font-weight: 600; white-space: nowrap; }
.salesim-hist-box { flex: 1 1 420px; min-width: 0; max-width: 720px; }
.salesim-downloads { display: flex; gap: 8px; flex-wrap: wrap; margin: 6px 0; }
.salesim-downloads .v-btn { text-transform: none; letter-spacing: 0; }
.salesim-story table.churn-terms td.hazard { color: #b2182b; }
.salesim-story table.churn-terms td.other { color: #555; }
.salesim-seeds { font-size: 12.5px; color: #444; margin-top: 6px; }
.salesim-controls .v-expansion-panel-content__wrap { padding: 0 8px 8px 8px; }
.salesim-controls .v-expansion-panel-header { min-height: 36px; padding: 6px 10px;
  font-size: 13.5px; }
.salesim-controls .salesim-pending { margin-top: 8px; }
"""

PAUSED, PLAYING, TO_END = "paused", "playing", "to_end"
IN_PLACE_LABEL = "Organisation in place (the reference)"
COMPARE_LABEL = "Compared with"
FASTEST = "as fast as it goes"
SPEEDS = ["5", "10", "20", "50", FASTEST]


@solara.component_vue("org_view.vue", vuetify=False)
def OrgSvg(svg: str, event_pick: Callable[[int], None] | None = None):
    """An SVG whose customer dots call ``event_pick`` with the customer's number."""


def clock_text(viz: VizModel) -> tuple[str, str]:
    """('Month 3 · day 5 of 21', 'business day 47 of 504'), months counted from 1."""
    day, per = viz.day, viz.left.days_per_month
    if day == 0:
        head = "Start of month 1"
    else:
        head = f"Month {(day - 1) // per + 1} · day {(day - 1) % per + 1} of {per}"
    return head, f"business day {day} of {viz.horizon}"


@solara.component
def StatusBar(viz: VizModel, version: int, mode: str):
    """Where the run is, and anything about to happen or just done (reorganisation, warm-up)."""
    head, sub = clock_text(viz)
    cfg = viz.config
    notes = []
    if mode == TO_END:
        notes.append("running to the end…")
    elif mode == PLAYING:
        notes.append("playing")
    if not viz.running:
        notes.append("finished")
    if cfg.warmup_days and viz.day < cfg.warmup_days:
        notes.append(f"warm-up: KPIs start counting on business day {cfg.warmup_days + 1}")
    extra = ""
    reorg = cfg.reorganisation
    if reorg.month is not None:
        month = reorg.month + 1
        done = viz.day >= reorg.month * viz.left.days_per_month
        text = (
            f"Reorganised: {short_title(reorg.design).lower()} from month {month}"
            if done
            else f"Reorganisation: {short_title(reorg.design).lower()} from month {month}"
        )
        extra = f'<span class="salesim-reorg-note">{esc(text)}</span>'
    pct = 100 * viz.day / max(viz.horizon, 1)
    solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            f'<div class="salesim-status"><span class="salesim-clock" data-day="{viz.day}">'
            f'{esc(head)}</span><span class="salesim-sub">{esc(sub)}'
            f"{' · ' + esc(' · '.join(notes)) if notes else ''}</span>{extra}</div>"
            f'<div class="salesim-progress"><div style="width:{pct:.1f}%"></div></div>'
        ),
    )


@solara.component
def KPITable(viz: VizModel, version: int, lock: threading.RLock, seeds: SeedSummary | None):
    """The KPI table (a column per design, the gap coloured better or worse)."""

    def build():
        with lock:
            return kpi_table_html(viz.panes, seeds)

    html = solara.use_memo(build, dependencies=[viz, version, seeds])
    solara.HTML(tag="div", unsafe_innerHTML=html, classes=["salesim-table-box"])


@solara.component
def Charts(viz: VizModel, version: int, lock: threading.RLock, seeds: SeedSummary | None):
    """KPIs over the horizon, one line per design (and its band across seeds, once run)."""

    def build():
        with lock:
            return charts_svg(viz.panes, seeds=seeds)

    svg = solara.use_memo(build, dependencies=[viz, version, seeds])
    solara.HTML(tag="div", unsafe_innerHTML=svg, classes=["salesim-charts-box"])


def queue_panels(viz: VizModel) -> tuple[tuple[str, str, str], ...]:
    """The queue charts of the roles some pane has (outlets only where a design has them)."""
    groups = list(QUEUE_GROUPS)
    present = {groups[g] for p in viz.panes for g in np.unique(p.tracker.queue_group).tolist()}
    return tuple(panel for panel in QUEUE_PANELS if panel[0].removeprefix("queue_") in present)


@solara.component
def Waiting(viz: VizModel, version: int, lock: threading.RLock, seeds: SeedSummary | None):
    """Where requests wait (queue length by role over time) and how long they take."""

    def build():
        with lock:
            panels = queue_panels(viz)
            return (
                charts_svg(viz.panes, columns=len(panels), seeds=seeds, panels=panels),
                response_histogram_svg(viz.panes),
            )

    queues, histogram = solara.use_memo(build, dependencies=[viz, version, seeds])
    with solara.Div(classes=["salesim-top"]):
        solara.HTML(tag="div", unsafe_innerHTML=queues, classes=["salesim-charts-box"])
        solara.HTML(tag="div", unsafe_innerHTML=histogram, classes=["salesim-hist-box"])


@solara.component
def Downloads(viz: VizModel, lock: threading.RLock, selected: int | None):
    """The page's data as CSV: monthly KPIs, the request log, the followed customer's story."""

    def table(make):
        def data() -> bytes:
            with lock:
                return export.csv_bytes(make())

        return data

    seed = viz.config.seed
    with solara.Div(classes=["salesim-downloads"]):
        solara.FileDownload(
            table(lambda: export.monthly_kpis(viz)),
            filename=f"monthly_kpis_seed{seed}.csv",
            label="Monthly KPIs (CSV)",
            mime_type="text/csv",
        )
        solara.FileDownload(
            table(lambda: export.request_log(viz)),
            filename=f"request_log_seed{seed}.csv",
            label="Request log (CSV)",
            mime_type="text/csv",
        )
        if selected is not None and selected < viz.left.customers.size:
            solara.FileDownload(
                table(lambda: export.story(viz, selected)),
                filename=f"customer_{selected}_story_seed{seed}.csv",
                label=f"Customer {customer_name(viz.left.customers, selected)}'s story (CSV)",
                mime_type="text/csv",
            )


@solara.component
def OrganisationView(
    viz: VizModel, version: int, lock: threading.RLock, selected: int | None, on_pick
):
    """Each organisation as it works, side by side, line widths on one scale."""
    accounts = solara.use_memo(lambda: key_accounts(viz.left), dependencies=[viz])

    def build():
        with lock:
            scale = flow_scale([p.tracker for p in viz.panes])
            return [
                organisation_svg(
                    p.model,
                    p.tracker,
                    scale=scale,
                    colour=p.colour,
                    selected=selected,
                    accounts=accounts,
                )
                for p in viz.panes
            ]

    svgs = solara.use_memo(build, dependencies=[viz, version, selected])
    with solara.Div(classes=["salesim-panes"]):
        for svg in svgs:
            with solara.Div():
                OrgSvg(svg=svg, event_pick=on_pick)


def pick_largest(viz: VizModel) -> int:
    """The customer with the largest volume at the start."""
    book = viz.left.customers
    return int(np.argmax(book.volume[: book.n_initial].sum(axis=1)))


def pick_last_lost(viz: VizModel) -> int | None:
    """The largest of the customers who left most recently (left-hand design), if any."""
    snaps = viz.panes[0].tracker.snapshots
    channel = viz.left.customers.channel
    lost = channel == LOST
    if not lost.any():
        return None
    recent = lost.copy()
    for snap in reversed(snaps[:-1]):
        newer = recent & (snap["channel"] != LOST)
        if newer.any():
            recent = newer
            break
    volume = viz.left.customers.volume.sum(axis=1)
    return int(np.flatnonzero(recent)[np.argmax(volume[recent])])


@solara.component
def CustomerStory(
    viz: VizModel, version: int, lock: threading.RLock, selected: int | None, on_pick
):
    """The story of the customer being followed, in each organisation."""
    indexes = solara.use_memo(lambda: [RequestIndex(), RequestIndex()], dependencies=[])
    text, set_text = solara.use_state("")
    error, set_error = solara.use_state("")
    size = viz.left.customers.size

    def picked_elsewhere():
        # A click on a dot (or a pick button) replaces whatever was typed, and its error.
        set_text("")
        set_error("")

    solara.use_effect(picked_elsewhere, [selected])

    def choose(value: str) -> None:
        set_text(value)
        try:
            slot = int(value.strip())
        except ValueError:
            slot = -1
        if not 0 <= slot < size:
            set_error(f"Customer number: enter a whole number from 0 to {size - 1}")
            return
        set_error("")
        on_pick(slot)

    def last_lost() -> None:
        with lock:
            slot = pick_last_lost(viz)
        if slot is None:
            set_error("No customer has left yet.")
        else:
            set_error("")
            on_pick(slot)

    def random_active() -> None:
        active = np.flatnonzero(viz.left.customers.active)
        on_pick(int(np.random.default_rng().choice(active)))

    with solara.Row(style={"align-items": "center", "gap": "10px", "flex-wrap": "wrap"}):
        solara.InputText(
            "Customer number",
            value=text or ("" if selected is None else str(selected)),
            on_value=choose,
            style={"max-width": "170px"},
            dense=True,
            error=error or False,
            message=error or f"0 to {size - 1}",
        )
        solara.Button("Largest", on_click=lambda: on_pick(pick_largest(viz)), outlined=True)
        solara.Button("Latest to leave", on_click=last_lost, outlined=True)
        solara.Button("Any active", on_click=random_active, outlined=True)

    def build():
        if selected is None or selected >= size:
            return []
        with lock:
            stories = [
                customer_story(p.model, selected, p.tracker, indexes[k])
                for k, p in enumerate(viz.panes)
            ]
        if len(stories) == 2:  # each story names the other design's chance of leaving
            for story, other, pane in zip(stories, stories[::-1], viz.panes[::-1], strict=True):
                story["compare"] = (pane.short, other["months"])
        return [story_html(story) for story in stories]

    stories = solara.use_memo(build, dependencies=[viz, version, selected])
    if not stories:
        solara.HTML(
            tag="div",
            unsafe_innerHTML='<div class="salesim-hint">Click a customer dot in the picture above, '
            "or enter a customer number, to follow one customer: who it deals with, where its "
            "requests went and how fast, its satisfaction, and whether it stayed.</div>",
        )
        return
    with solara.Div(classes=["salesim-panes"]):
        for p, html in zip(viz.panes, stories, strict=True):
            with solara.Div():
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML=f'<div style="border-top:3px solid {p.colour};'
                    f'padding-top:3px">{html}</div>',
                )


def field_widget(
    name: str, value, on_value, error: str | None = None, fixed: tuple[str, str] | None = None
) -> None:
    """A labelled input for one of the page's model fields.

    Its unit after the number and its allowed range under it, or what is wrong with the value
    typed; a field a data file fixes shows the file's number, disabled, and says so.
    """
    f = FIELDS[name]
    if fixed is not None:
        solara.InputText(
            f.label, value=fixed[0], disabled=True, message=fixed[1], classes=["salesim-fixed"]
        )
    elif f.kind is bool:
        solara.Checkbox(label=f.label, value=bool(value), on_value=on_value)
    else:
        solara.InputText(
            f.label,
            value=str(value),
            on_value=on_value,
            suffix=f.shown_unit,
            error=error or False,
            message=error or f.hint,
            classes=["salesim-field-error"] if error else [],
        )


def compare_label(choice: str) -> str:
    """How the second pane's choices read."""
    if choice == NONE:
        return "nothing (one design)"
    if choice == NO_REORGANISATION:
        return "the same, without the reorganisation"
    return short_title(choice)


def changed_fields(values: dict, applied: dict) -> list[str]:
    """'Label: old → new' for each field that differs from the running model's."""
    out = []
    for name, new in values.items():
        old = applied.get(name)
        if str(old) != str(new):
            label = (
                FIELDS[name].label
                if name in FIELDS
                else (IN_PLACE_LABEL if name == "design" else COMPARE_LABEL)
            )
            out.append(f"{label}: {old} → {new}")
    return out
