"""The browser page. ``salesim viz CONFIG`` sets ``SALESIM_VIZ_CONFIG``; defaults come from it.

Every visitor (every browser tab, every reload) gets a model of their own: ``Page`` builds it
with ``solara.use_memo`` inside the visitor's session, so nothing one visitor does reaches
another. The page is built from Solara pieces rather than Mesa's SolaraViz so that its controls
read as a strategist expects (a speed in business days a second, Step, Play, Run to the end,
Reset that says what it will apply) and so that Play can draw every few days instead of every
day.
"""

from __future__ import annotations

import os
import threading
import time

import solara

from salesim.experiments.config import load_config
from salesim.model.inputs.files import cut
from salesim.model.inputs.params import ConfigError
from salesim.model.inputs.registry import registered_designs
from salesim.viz.components import (
    COMPARE_LABEL,
    CSS,
    FASTEST,
    IN_PLACE_LABEL,
    PAUSED,
    PLAYING,
    SPEEDS,
    TO_END,
    Charts,
    CustomerStory,
    Downloads,
    KPITable,
    OrganisationView,
    StatusBar,
    Waiting,
    changed_fields,
    compare_label,
    field_widget,
)
from salesim.viz.fields import FIELDS, GROUPS, fixed_fields
from salesim.viz.panes import VizModel, compare_choices, default_fields, field_errors, field_of
from salesim.viz.seeds import SEEDS, SeedRuns, SeedSummary
from salesim.viz.style import esc, short_title

BASE = load_config(os.environ.get("SALESIM_VIZ_CONFIG") or None).model
FRAME_SECONDS = 0.125  # how often Play redraws at a set speed
FAST_FRAME_SECONDS = 0.3  # ... when it runs as fast as it goes (more days between drawings)


def play_loop(
    viz: VizModel,
    lock: threading.RLock,
    days_per_second: float,
    frame: float,
    shown,
    halt: threading.Event,
):
    """Step ``viz`` in real time at ``days_per_second`` and call ``shown()`` once a frame.

    Returns a function of a ``threading.Event`` (set to stop) for ``solara.use_thread``. Days
    are due by the clock, so a slow drawing makes the next frame take more days rather than
    slowing the run down; with an infinite rate each frame steps for most of ``frame``.
    ``halt`` is checked under ``lock``: Pause sets it holding the lock, so no day is stepped
    after Pause returns and the page shows the day the run stopped at.
    """

    def run(cancel: threading.Event) -> None:
        start = time.perf_counter()
        done = 0
        while not cancel.is_set() and viz.running:
            t0 = time.perf_counter()
            with lock:
                if halt.is_set() or cancel.is_set():
                    break
                if days_per_second == float("inf"):
                    while viz.running and time.perf_counter() - t0 < 0.8 * frame:
                        viz.step()
                        done += 1
                    due = 1
                else:
                    due = min(int(days_per_second * (t0 - start)) - done, int(days_per_second))
                    for _ in range(max(due, 0)):
                        viz.step()
                        done += 1
            if due > 0 and not cancel.is_set():
                shown()
            cancel.wait(max(0.0, frame - (time.perf_counter() - t0)))

    return run


@solara.component
def RunCard(viz: VizModel, version: solara.Reactive, mode: solara.Reactive, speed, step_days, play):
    """Step, Next month, Play/Pause, Run to the end and the play speed."""
    version.value  # noqa: B018 - redraw when the run moves (buttons end disabled at the horizon)
    busy = mode.value != PAUSED
    idle = not busy and viz.running

    def next_month() -> None:
        per = viz.left.days_per_month
        step_days(per - viz.day % per)

    with solara.Card("Run", margin=0, classes=["mb-2"]):
        with solara.Div(classes=["salesim-buttons"]):
            solara.Button("Step", on_click=lambda: step_days(1), disabled=not idle, color="primary")
            solara.Button("Next month", on_click=next_month, disabled=not idle, outlined=True)
            solara.Button(
                "❚❚ Pause" if busy else "▶ Play",
                on_click=lambda: play(PAUSED if busy else PLAYING),
                disabled=not viz.running,
                color="primary",
            )
            solara.Button(
                "Run to the end",
                on_click=lambda: play(TO_END),
                disabled=not idle,
                outlined=True,
            )
        solara.Select(
            "Play speed (business days a second)",
            value=speed.value,
            values=SPEEDS,
            on_value=speed.set,
        )
        solara.HTML(
            tag="div",
            unsafe_innerHTML='<div class="salesim-hint">Step: one business day (21 make a month). '
            "Play redraws about eight times a second, several days at a time when fast.</div>",
        )


@solara.component
def SeedsCard(viz: VizModel, runs: SeedRuns | None, progress: int, start, stop):
    """Run 10 seeds of what is on the page in the background, with its progress."""
    busy = runs is not None and not runs.done and runs.error is None
    with solara.Card("Run-to-run variation", margin=0, classes=["mb-2"]):
        with solara.Div(classes=["salesim-buttons"]):
            solara.Button(
                f"Run {SEEDS} seeds", on_click=start, disabled=busy, outlined=True, color="primary"
            )
            if busy:
                solara.Button("Stop the seeds", on_click=stop, outlined=True)
        if runs is None:
            text = (
                f"Runs the organisations on the page to the end on {SEEDS} seeds "
                f"({viz.config.seed} to {viz.config.seed + SEEDS - 1}) in the background, while "
                "this run goes on: bands on the charts, and each gap with its 95% CI."
            )
        elif runs.error:
            text = f"The seeds stopped: {runs.error}"
        elif busy:
            text = f"Seeds running: {runs.finished} of {runs.total} runs in"
            solara.ProgressLinear(runs.finished / runs.total, classes=["salesim-seeds-progress"])
        else:
            text = (
                f"{SEEDS} seeds in ({runs.seed} to {runs.seed + SEEDS - 1}): bands on the charts, "
                "paired gaps with their 95% CI in the table."
            )
        finished, total = (runs.finished, runs.total) if runs else (0, 0)
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f'<div class="salesim-seeds" data-finished="{finished}" '
            f'data-total="{total}" data-done="{bool(runs and runs.done)}">{esc(text)}</div>',
        )


@solara.component
def SettingsCard(values: solara.Reactive, errors: dict[str, str], fixed: dict, pending, reset):
    """The organisation and market a Reset builds; says what Reset will change.

    Each field takes its value when typed (Enter or leaving the field) and says at once, under
    it, if the value is not one the model takes; Reset applies only good values.
    """
    opened = solara.use_reactive([0])  # the groups open, kept as the card redraws

    def set_value(name: str):
        def on_value(value) -> None:
            values.value = {**values.value, name: value}

        return on_value

    with solara.Card("Organisation and market", margin=0):
        with solara.Div(style={"margin-bottom": "22px"}):
            solara.v.Select(
                label=IN_PLACE_LABEL,
                items=[{"text": short_title(d), "value": d} for d in registered_designs()],
                v_model=values.value["design"],
                on_v_model=set_value("design"),
                dense=True,
                hint="the first column; every gap is measured against it",
                persistent_hint=True,
            )
        solara.v.Select(
            label=COMPARE_LABEL,
            items=[{"text": compare_label(c), "value": c} for c in compare_choices(BASE)],
            v_model=values.value["compare_with"],
            on_v_model=set_value("compare_with"),
            dense=True,
        )
        with solara.v.ExpansionPanels(
            multiple=True, v_model=opened.value, on_v_model=opened.set, accordion=True, flat=True
        ):
            for group in GROUPS:
                with solara.v.ExpansionPanel():
                    with solara.v.ExpansionPanelHeader():
                        solara.Text(group)
                    with solara.v.ExpansionPanelContent():
                        for name, f in FIELDS.items():
                            if f.group == group:
                                field_widget(
                                    name,
                                    values.value[name],
                                    set_value(name),
                                    errors.get(name),
                                    fixed.get(name),
                                )
        # Below the fields, so that the button stays put as the notice comes and goes.
        solara.Button(
            "Reset" if not pending else "Reset (apply changes)",
            on_click=reset,
            color="primary",
            block=True,
        )
        if pending:
            solara.Warning(
                "Reset applies: " + "; ".join(pending) + ".",
                dense=True,
                classes=["salesim-pending"],
            )


@solara.component
def Views(
    viz: VizModel,
    version: solara.Reactive,
    mode: str,
    lock,
    selected: solara.Reactive,
    seeds: SeedSummary | None,
):
    """Everything that moves as the run goes on (re-rendered after each step shown)."""
    v = version.value
    StatusBar(viz, v, mode)
    with solara.Div(classes=["salesim-top"]):
        KPITable(viz, v, lock, seeds)
        Charts(viz, v, lock, seeds)
    solara.HTML(tag="h3", unsafe_innerHTML="Where requests wait, and how long they take")
    Waiting(viz, v, lock, seeds)
    solara.HTML(
        tag="h3", unsafe_innerHTML="The organisation at work: where last month's requests went"
    )
    OrganisationView(viz, v, lock, selected.value, selected.set)
    solara.HTML(tag="h3", unsafe_innerHTML="One customer's story")
    CustomerStory(viz, v, lock, selected.value, selected.set)
    solara.HTML(tag="h3", unsafe_innerHTML="Take the data away")
    Downloads(viz, lock, selected.value)


@solara.component
def Page():
    """One visitor's page: controls on the left, the organisations at work on the right."""
    lock = solara.use_memo(threading.RLock, dependencies=[])
    halt = solara.use_memo(threading.Event, dependencies=[])
    first = solara.use_memo(lambda: VizModel.from_fields(BASE, default_fields(BASE)), [])
    viz = solara.use_reactive(first)
    version = solara.use_reactive(0)
    mode = solara.use_reactive(PAUSED)
    speed = solara.use_reactive("20")
    values = solara.use_reactive(default_fields(BASE))
    applied = solara.use_reactive(default_fields(BASE))
    error = solara.use_reactive(None)
    # field -> (its value then, what Reset's whole check said of it), shown while unchanged
    reset_errors = solara.use_reactive({})
    selected = solara.use_reactive(None)
    fixed = solara.use_memo(lambda: fixed_fields(BASE), [])
    seed_runs = solara.use_reactive(None)  # the SeedRuns of what the page runs, once asked
    seed_progress = solara.use_reactive(0)

    def shown() -> None:
        version.value += 1

    def loop(cancel: threading.Event) -> None:
        if mode.value == PAUSED:
            return
        fastest = mode.value == TO_END or speed.value == FASTEST
        rate = float("inf") if fastest else float(speed.value)
        frame = 0.5 if mode.value == TO_END else FAST_FRAME_SECONDS if fastest else FRAME_SECONDS
        play_loop(viz.value, lock, rate, frame, shown, halt)(cancel)
        if not cancel.is_set():
            mode.value = PAUSED
            shown()

    solara.use_thread(
        loop, dependencies=[mode.value, speed.value, viz.value], intrusive_cancel=False
    )

    def run_seeds(cancel: threading.Event) -> None:
        runs = seed_runs.value
        if runs is None or runs.done:
            return

        def progress() -> None:
            seed_progress.value += 1

        runs.run(cancel, progress)
        progress()

    solara.use_thread(run_seeds, dependencies=[seed_runs.value], intrusive_cancel=False)

    def start_seeds() -> None:
        panes = viz.value.panes
        seed_runs.value = SeedRuns([p.model.config for p in panes], viz.value.config.seed)

    def stop_seeds() -> None:
        seed_runs.value = None  # the thread's cancel is set: its workers are killed

    summary = solara.use_memo(
        lambda: seed_runs.value.summary() if seed_runs.value is not None else None,
        dependencies=[seed_runs.value, seed_progress.value],
    )

    def step_days(days: int) -> None:
        with lock:
            for _ in range(days):
                viz.value.step()
        shown()

    def play(new_mode: str) -> None:
        """Start playing, or stop: a stop holds the lock, so the run is still when it returns."""
        if new_mode == PAUSED:
            with lock:
                halt.set()
            mode.value = PAUSED
            shown()
        else:
            halt.clear()
            mode.value = new_mode

    def reset() -> None:
        play(PAUSED)
        try:
            fresh = VizModel.from_fields(BASE, values.value)
        except ConfigError as exc:
            error.value = cut(str(exc), 300)  # a 20 kB value must not fill the page's banner
            name = field_of(str(exc))
            said = cut(str(exc).split(": ", 1)[-1], 300)
            reset_errors.value = {name: (values.value[name], said)} if name else {}
            return
        error.value = None
        reset_errors.value = {}
        applied.value = dict(values.value)
        viz.value = fresh
        seed_runs.value = None  # the seeds were of the organisations replaced
        if selected.value is not None and selected.value >= fresh.left.customers.size:
            selected.value = None
        shown()

    pending = changed_fields(values.value, applied.value)
    errors = {
        **{k: said for k, (v, said) in reset_errors.value.items() if values.value.get(k) == v},
        **field_errors(values.value, fixed),
    }
    solara.Style(CSS)
    solara.Title("salesim: the sales organisation, day by day")
    with solara.AppBar():
        solara.AppBarTitle("salesim · the sales organisation, day by day")
    with solara.Div(classes=["salesim-page"]):
        with solara.Div(classes=["salesim-controls"]):
            RunCard(viz.value, version, mode, speed, step_days, play)
            SeedsCard(viz.value, seed_runs.value, seed_progress.value, start_seeds, stop_seeds)
            SettingsCard(values, errors, fixed, pending, reset)
        with solara.Div(classes=["salesim-main"]):
            if error.value:
                solara.Error(
                    f"Not applied: {error.value}. Still running the last valid organisation.",
                    classes=["salesim-error"],
                    dense=True,
                )
            if pending:
                solara.Info(
                    "Changed settings apply when you press Reset: " + "; ".join(pending) + ".",
                    dense=True,
                )
            Views(viz.value, version, mode.value, lock, selected, summary)
