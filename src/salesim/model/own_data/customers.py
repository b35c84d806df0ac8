"""The company's own customer book (``model.population.customers_file``), read and checked.

One row per customer: ``customer_id``, ``region`` (a name; the regions are the distinct
names), ``channel`` (``direct`` or ``distributor``) and one column per product line named as
in ``model.population.lines``, in tonnes a year the customer buys of that line from us (0
where it does not). Optional: ``segment`` (key, medium, small), ``satisfaction``,
``relationship`` and ``wallet_share`` (0-1); a missing column or a blank cell is drawn as in
the synthetic book. ``docs/own-data.md`` explains the columns for users.

The file gives what the company knows (its sales); the model's state is the customer's whole
requirement per line, of which we supply the share of wallet, so the requirement is the
sales divided by the share of wallet (given, or drawn around ``model.wallet.initial``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from salesim.model.inputs.codes import DIRECT, DISTRIBUTOR, SEGMENTS
from salesim.model.own_data.tables import (
    as_text,
    cached_read,
    read_table,
    row_label,
    shown,
    shown_value,
    validate_frame,
)

if TYPE_CHECKING:
    pass

REQUIRED = ("customer_id", "region", "channel")
OPTIONAL = ("segment", "satisfaction", "relationship", "wallet_share")
FILE_CHANNELS = ("direct", "distributor")
#: Bounds the model computes at both ends: a customer's requirement is its volume divided by
#: its share of wallet, and the monthly draws overflow far beyond these (1e300 tonnes, a share
#: of 1e-300 once passed validation and then failed every run).
MAX_VOLUME = 100_000_000
MIN_WALLET_SHARE = 0.001


@dataclass(frozen=True, eq=False)
class CustomerTable:
    """A validated customer file as arrays, row i = customer slot i.

    ``volume`` is tonnes a year bought from us per line; ``segment`` is -1 and the 0-1
    attributes NaN where the file does not say.
    """

    path: str
    ids: np.ndarray
    region_names: tuple[str, ...]
    region: np.ndarray
    channel: np.ndarray
    volume: np.ndarray
    segment: np.ndarray
    satisfaction: np.ndarray
    relationship: np.ndarray
    wallet: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def natural_key(name: str) -> list[Any]:
    """Sort key that puts ``R2`` before ``R10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def read_customers(path: str, lines: tuple[str, ...]) -> CustomerTable:
    """The customer file at ``path`` for the product ``lines``; ConfigError on the first problem."""
    return cached_read(_read, path, tuple(lines))


def _schema(lines: tuple[str, ...]):
    import pandera.pandas as pa

    share = [pa.Check.in_range(0, 1, error="share")]
    volume = [
        pa.Check.ge(0, error="negative"),
        pa.Check(np.isfinite, error="finite"),
        pa.Check.le(MAX_VOLUME, error="huge"),
    ]
    columns = {
        "customer_id": pa.Column(nullable=False, unique=True, report_duplicates="exclude_first"),
        "region": pa.Column(nullable=False),
        "channel": pa.Column(checks=pa.Check.isin(FILE_CHANNELS, error="channel"), nullable=False),
        **{line: pa.Column(float, volume, nullable=False, coerce=True) for line in lines},
        "segment": pa.Column(
            checks=pa.Check.isin(SEGMENTS, error="segment"), nullable=True, required=False
        ),
        "satisfaction": pa.Column(float, share, nullable=True, coerce=True, required=False),
        "relationship": pa.Column(float, share, nullable=True, coerce=True, required=False),
        "wallet_share": pa.Column(
            float,
            [pa.Check.ge(MIN_WALLET_SHARE, error="wallet"), pa.Check.le(1, error="wallet")],
            nullable=True,
            coerce=True,
            required=False,
        ),
    }
    buys = pa.Check(
        lambda df: df[list(lines)].sum(axis=1) > 0, error="buys_nothing", ignore_na=False
    )
    return pa.DataFrameSchema(columns, checks=[buys], strict=True)


def _explainer(frame: pd.DataFrame, lines: tuple[str, ...], path: str):
    allowed = ", ".join([*REQUIRED, *OPTIONAL])
    listed = ", ".join(lines)

    def numeric(column: str) -> bool:
        values = pd.to_numeric(frame[column].dropna().astype(str), errors="coerce")
        return len(values) > 0 and bool(values.notna().all())

    def explain(check: str, column: str, value: Any) -> str:
        if check == "buys_nothing":
            return (
                f"columns {listed}: all 0, so the customer buys no line; drop the row or give "
                "it a volume"
            )
        return f"column {column}: {problem(check, column, value)}"

    def problem(check: str, column: str, value: Any) -> str:
        got = shown_value(value)
        if check == "column_in_dataframe":
            if column in lines:
                return f"missing; one column per line of model.population.lines ({listed})"
            return f"missing; required columns: {', '.join(REQUIRED)} and one per line ({listed})"
        if check == "column_in_schema":
            if numeric(column):
                return (
                    f"not a line in model.population.lines ({listed}); add it there or drop the "
                    "column"
                )
            return f"unknown column; allowed: {allowed} and the lines {listed}"
        if check == "field_uniqueness":
            first = int(np.flatnonzero(frame["customer_id"].to_numpy() == value)[0])
            return f"duplicate id {got} (also on {row_label(path, first)})"
        if check == "not_nullable":
            if column in lines:
                return "missing volume (blank or NaN); write 0 where the customer buys none"
            return f"{got}; every customer needs a {column}"
        if check.startswith("coerce_dtype") or check.startswith("dtype"):
            return f"not a number: {got}"
        return {
            "negative": f"negative volume {got}; volumes are tonnes a year, 0 or more",
            "finite": f"not a finite number: {got}",
            "channel": f"unknown channel {got}; allowed: {', '.join(FILE_CHANNELS)}",
            "segment": f"unknown segment {got}; allowed: {', '.join(SEGMENTS)} (or blank)",
            "share": f"must be between 0 and 1, got {got}",
            "wallet": f"must be {MIN_WALLET_SHARE:g} to 1, got {got}",
            "huge": f"volume {got} is more than {MAX_VOLUME:,} tonnes a year, the most salesim "
            "computes",
        }.get(check, f"fails the check {check} ({got})")

    return explain


def _read(path: str, lines: tuple[str, ...]) -> CustomerTable:
    frame = read_table(path, "customer")
    for column in ("customer_id", "region", "channel", "segment"):
        if column in frame:
            frame[column] = as_text(frame[column])
    for column in ("channel", "segment"):
        if column in frame:
            frame[column] = frame[column].str.lower()
    explain = _explainer(frame, lines, path)
    checked = validate_frame(path, frame, _schema(lines), explain)
    names = tuple(sorted(checked["region"].unique(), key=natural_key))
    n = len(checked)

    def optional(column: str) -> np.ndarray:
        if column not in checked:
            return np.full(n, np.nan)
        return checked[column].to_numpy(dtype=float, na_value=np.nan)

    segment = np.full(n, -1, dtype=np.int8)
    if "segment" in checked:
        seg = checked["segment"]
        for i, name in enumerate(SEGMENTS):
            segment[seg.eq(name).fillna(False).to_numpy(dtype=bool)] = i
    return CustomerTable(
        path=path,
        ids=checked["customer_id"].to_numpy(dtype=object),
        region_names=names,
        region=pd.Categorical(checked["region"], categories=names).codes.astype(np.int64),
        channel=np.where(checked["channel"] == "direct", DIRECT, DISTRIBUTOR).astype(np.int8),
        volume=checked[list(lines)].to_numpy(dtype=float),
        segment=segment,
        satisfaction=optional("satisfaction"),
        relationship=optional("relationship"),
        wallet=optional("wallet_share"),
    )


def describe(table: CustomerTable) -> str:
    """One line for ``salesim validate``: the file, its customers and regions."""
    return (
        f"customers from {shown(table.path)}: {len(table)} in {len(table.region_names)} "
        f"regions ({', '.join(table.region_names)})"
    )
