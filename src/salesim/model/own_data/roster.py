"""The company's front-line people (``model.staff.roster_file``), read and checked.

One row per person and role: ``person_id``, ``role`` (``product_rep``, ``customer_manager`` or
``service_outlet``), ``region`` (a region name, or blank / ``all`` for someone who covers every
region), ``lines`` (line names separated by ``;``, or blank / ``all``) and ``hours_per_day``
(hours a day the person gives to requests; the rest of the business day is field work; blank:
the config's ``desk_hours_per_day``, or ``outlet_hours_per_day`` for outlet staff).

A person may appear once per role: the row says where the person would sit in a design built
from that role, so one file can hold today's organisation and the one being considered. Each
design takes its front line from the rows of its own roles and each person once
(``OrganisationDesign.roster_roles``); head-count and hours then come from the roster rather
than from ``model.staff.sales_staff``. Product managers, regional managers and planners stay in
``model.staff``. Which rows a design takes, and where a roster does not fit a design, is
decided in ``salesim.model.designs``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesim.model.inputs.params import ConfigError
from salesim.model.own_data.tables import (
    as_text,
    cached_read,
    read_table,
    shown,
    shown_value,
    validate_frame,
)

ROLES = ("product_rep", "customer_manager", "service_outlet")
COLUMNS = ("person_id", "role", "region", "lines", "hours_per_day")
ALL = "all"
SEPARATOR = ";"


@dataclass(frozen=True)
class Person:
    """One roster row: ``region`` None covers every region, ``lines`` None every line."""

    person_id: str
    role: str
    region: int | None
    lines: tuple[int, ...] | None
    hours: float
    row: int


@dataclass(frozen=True, eq=False)
class Roster:
    """A validated roster file."""

    path: str
    people: tuple[Person, ...]
    regions: tuple[str, ...]

    def take(self, roles: tuple[str, ...], design: str) -> list[Person]:
        """The people of ``roles`` (in that order of preference), each person once.

        A person listed under two of the roles is taken in the first: under ``three_in_one``
        someone listed as both outlet staff and customer manager works in the outlet, so the
        design keeps the head-count of the people listed.
        """
        chosen: dict[str, Person] = {}
        for role in roles:
            for person in self.people:
                if person.role == role and person.person_id not in chosen:
                    chosen[person.person_id] = person
        if not chosen:
            has = ", ".join(f"{role} {n}" for role, n in self.counts().items())
            raise ConfigError(
                f"{shown(self.path)}: the {design} design takes its front line from "
                f"{' and '.join(roles) or 'no'} rows, and the roster has none (it has {has})"
            )
        return sorted(chosen.values(), key=lambda p: p.row)

    def counts(self) -> dict[str, int]:
        """Rows per role, in the order of ``ROLES``."""
        counts = Counter(p.role for p in self.people)
        return {role: counts[role] for role in ROLES if counts[role]}


def read_roster(
    path: str,
    lines: tuple[str, ...],
    regions: tuple[str, ...],
    hours: tuple[float, float, float],
) -> Roster:
    """The roster at ``path``; ``hours`` = (desk default, outlet default, business day)."""
    return cached_read(_read, path, tuple(lines), tuple(regions), tuple(hours))


def _names(cell: Any) -> list[str]:
    if not isinstance(cell, str) or cell.strip().lower() == ALL:
        return []
    return [part.strip() for part in cell.split(SEPARATOR) if part.strip()]


def _schema(lines: tuple[str, ...], regions: tuple[str, ...], day: float):
    import pandera.pandas as pa

    def known(allowed: tuple[str, ...]):
        return lambda s: s.map(lambda c: all(n in allowed for n in _names(c)))

    def covers_all(column: str):
        return lambda df: df[column].map(lambda c: not _names(c))

    def rep(df: pd.DataFrame) -> pd.Series:
        return df["role"] == "product_rep"

    checks = [
        pa.Check(
            lambda df: ~rep(df) | (df["lines"].map(lambda c: len(_names(c))) == 1),
            error="rep_lines",
        ),
        pa.Check(lambda df: ~rep(df) | covers_all("region")(df), error="rep_region"),
        pa.Check(
            lambda df: rep(df) | (df["region"].map(lambda c: len(_names(c))) == 1),
            error="needs_region",
        ),
        pa.Check(lambda df: rep(df) | covers_all("lines")(df), error="all_lines"),
    ]
    columns = {
        "person_id": pa.Column(nullable=False),
        "role": pa.Column(checks=pa.Check.isin(ROLES, error="role"), nullable=False),
        "region": pa.Column(checks=pa.Check(known(regions), error="region"), nullable=True),
        "lines": pa.Column(checks=pa.Check(known(lines), error="lines"), nullable=True),
        "hours_per_day": pa.Column(
            float,
            [pa.Check.gt(0, error="hours"), pa.Check.le(day, error="hours")],
            nullable=True,
            coerce=True,
        ),
    }
    return pa.DataFrameSchema(
        columns,
        checks=checks,
        strict=True,
        unique=["person_id", "role"],
        report_duplicates="exclude_first",
    )


def _explainer(lines: tuple[str, ...], regions: tuple[str, ...], day: float):
    def explain(check: str, column: str, value: Any) -> str:
        got = shown_value(value)
        across = {
            "rep_lines": (
                "lines",
                f"a product_rep sells exactly one line ({', '.join(lines)}); list the person "
                "once per line role, or as a customer_manager",
            ),
            "rep_region": (
                "region",
                "a product_rep covers every region under the product design; leave it blank "
                "or write 'all'",
            ),
            "needs_region": (
                "region",
                "customer managers and outlet staff work in one region; name one "
                f"({', '.join(regions)})",
            ),
            "all_lines": (
                "lines",
                "customer managers and outlet staff take every line; leave it blank or write 'all'",
            ),
        }
        if check in across:
            col, text = across[check]
            return f"column {col}: {text}"
        if check == "column_in_dataframe":
            return f"column {column}: missing; the roster's columns are {', '.join(COLUMNS)}"
        if check == "column_in_schema":
            return f"column {column}: unknown column; allowed: {', '.join(COLUMNS)}"
        if check == "multiple_fields_uniqueness":
            return f"column person_id: {got} is listed twice in one role"
        if check == "not_nullable":
            return f"column {column}: blank; every row needs a {column}"
        if check.startswith("coerce_dtype") or check.startswith("dtype"):
            return f"column {column}: not a number: {got}"
        unknown = {
            "role": f"unknown role {got}; allowed: {', '.join(ROLES)} (product managers, "
            "regional managers and planners come from model.staff)",
            "region": f"unknown region in {got}; allowed: {', '.join(regions)} (or blank / all)",
            "lines": f"unknown line in {got}; allowed: {', '.join(lines)}, separated by "
            f"'{SEPARATOR}' (or blank / all)",
            "hours": f"must be above 0 and at most the business day ({day:g} hours, "
            f"model.calendar.hours_per_day), got {got}",
        }
        return f"column {column}: {unknown.get(check, f'fails the check {check} ({got})')}"

    return explain


def _read(
    path: str,
    lines: tuple[str, ...],
    regions: tuple[str, ...],
    hours: tuple[float, float, float],
) -> Roster:
    desk, outlet, day = hours
    frame = read_table(path, "person")
    for column in ("person_id", "role", "region", "lines"):
        if column in frame:
            frame[column] = as_text(frame[column])
    if "role" in frame:
        frame["role"] = frame["role"].str.lower()
    explain = _explainer(lines, regions, day)
    checked = validate_frame(path, frame, _schema(lines, regions, day), explain)
    people = []
    for row, rec in enumerate(checked.itertuples(index=False)):
        region = _names(rec.region)
        line_names = _names(rec.lines)
        default = outlet if rec.role == "service_outlet" else desk
        people.append(
            Person(
                person_id=str(rec.person_id),
                role=str(rec.role),
                region=regions.index(region[0]) if region else None,
                lines=tuple(lines.index(n) for n in line_names) if line_names else None,
                hours=default if np.isnan(rec.hours_per_day) else float(rec.hours_per_day),
                row=row,
            )
        )
    return Roster(path=path, people=tuple(people), regions=regions)


def roster_frame(cfg: Any, names: tuple[str, ...]) -> pd.DataFrame:
    """The config's synthetic staffing as a roster (the ``salesim template roster``).

    Person k is product rep of line k mod L and customer manager in region k mod R (as many
    as each design's head-count, ``staff.product`` and ``staff.customer_manager``); under
    ``three_in_one`` the last outlet_staff_per_region x R customer managers work in the outlets.
    Built from this file, each design has the same people, hours and order as without it when
    three_in_one's managers are customer_manager's less the outlet staff (as when both follow
    ``staff.sales_staff``). A roster has no field staff.
    """
    pop, staff = cfg.population, cfg.staff
    reps, _ = staff.product.headcount(staff, len(pop.lines))
    total, _ = staff.customer_manager.headcount(staff, pop.regions)
    width = len(str(max(reps, total)))
    rep_hours = staff.product.desk_hours_per_day or staff.desk_hours_per_day
    cm_hours = staff.customer_manager.desk_hours_per_day or staff.desk_hours_per_day
    rows = []
    for k in range(reps):
        pid = f"P{k + 1:0{width}d}"
        rows.append((pid, "product_rep", ALL, pop.lines[k % len(pop.lines)], rep_hours))
    for k in range(total):
        pid = f"P{k + 1:0{width}d}"
        rows.append((pid, "customer_manager", names[k % pop.regions], ALL, cm_hours))
    outlet_people = staff.outlet_staff_per_region * pop.regions
    for j, k in enumerate(range(total - outlet_people, total)):
        if k < 0:
            continue
        pid = f"P{k + 1:0{width}d}"
        rows.append(
            (pid, "service_outlet", names[j % pop.regions], ALL, staff.outlet_hours_per_day)
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def describe(roster: Roster) -> str:
    """One line for ``salesim validate``."""
    has = ", ".join(f"{n} {role}" for role, n in roster.counts().items())
    people = len({p.person_id for p in roster.people})
    return f"staff from {shown(roster.path)}: {people} people ({has})"
