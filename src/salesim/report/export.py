"""summary.xlsx: the study's tables for a spreadsheet, numbers as numbers with units in headers.

Sheets: ``levels`` (each KPI's mean per scenario, point and design, a column per KPI headed
with its unit, formatted by the KPI's kind), ``differences`` (paired difference to the
baseline design and its 95% CI half-width), ``summary`` (summary.csv as it is, with a unit
column) and any other table the study wrote (robustness, sensitivity, scenario discovery), one
sheet each.

A large sweep's summary is millions of cells (a 5,120-run Sobol study: about 5 million, some
40 s to write), so the workbook is written only when what it holds changed (a digest in its
properties), and for a large table in a process of its own while the report draws its figures.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from salesim.experiments.store import atomic_write_bytes
from salesim.model.inputs.outcomes import outcome
from salesim.report import units

if TYPE_CHECKING:
    from salesim.report.study import Study

FILE = "summary.xlsx"
#: Other CSV tables of a study, each a sheet if present.
EXTRA_TABLES = (
    "robustness.csv",
    "sensitivity.csv",
    "sensitivity_gap.csv",
    "scenario_discovery.csv",
)
KEYS = ["scenario", "point", "design"]
_FORMATS = {"rate": "0.0%", "hours": "0.00", "money": "#,##0", "count": "#,##0.0"}
#: Above this many summary cells the workbook is written in a process of its own.
BIG = 500_000


@dataclass
class Tables:
    """What the workbook holds: plain data, so that another process can write it."""

    out: Path
    summary: pd.DataFrame
    metrics: list[str]
    baseline: str
    currency: str
    extras: dict[str, bytes]

    def digest(self) -> str:
        """SHA-256 of everything the workbook shows."""
        h = hashlib.sha256()
        h.update(pd.util.hash_pandas_object(self.summary, index=False).to_numpy().tobytes())
        h.update(repr((self.metrics, self.baseline, self.currency)).encode())
        for name, data in sorted(self.extras.items()):
            h.update(name.encode() + hashlib.sha256(data).digest())
        return h.hexdigest()


def _unit(metric: str, currency: str) -> str:
    o = outcome(metric)
    if o.kind == "rate":
        return "%"
    if o.kind == "money":
        return currency
    return o.unit or "-"


def _heading(metric: str, currency: str) -> str:
    return f"{units.label(metric).removesuffix(' (h)')} ({_unit(metric, currency)})"


def _wide(t: Tables, value: str, suffix: str = "") -> pd.DataFrame:
    table = t.summary.pivot_table(
        index=KEYS, columns="metric", values=value, sort=False, dropna=False
    )
    metrics = [m for m in t.metrics if m in table.columns]
    table = table[metrics]
    table.columns = [_heading(m, t.currency) + suffix for m in metrics]
    return table.reset_index()


def _plain(v):
    """A cell value openpyxl writes as a number, a text or an empty cell."""
    if isinstance(v, float | np.floating):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def _sheet(wb: Workbook, name: str, frame: pd.DataFrame, formats: dict[str, str]) -> None:
    """One write-only sheet; a column named in ``formats`` gets that number format."""
    ws = wb.create_sheet(name[:31])
    for i, column in enumerate(frame.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(len(str(column)) + 2, 10), 48)
    ws.freeze_panes = "A2"
    ws.append([str(c) for c in frame.columns])
    fmt = [formats.get(c) for c in frame.columns]
    styled = any(fmt)
    for row in frame.itertuples(index=False, name=None):
        values = [_plain(v) for v in row]
        if styled:
            values = [
                v if f is None else _styled(ws, v, f) for v, f in zip(values, fmt, strict=True)
            ]
        ws.append(values)


def _styled(ws, value, number_format: str) -> WriteOnlyCell:
    c = WriteOnlyCell(ws, value=value)
    c.number_format = number_format
    return c


def write(t: Tables) -> Path:
    """Write OUT/summary.xlsx (atomically) unless it already holds these tables."""
    path = t.out / FILE
    digest = t.digest()
    if stored_digest(path) == digest:
        return path
    levels = _wide(t, "mean")
    diffs = _wide(t, "diff_mean", " difference")
    widths = _wide(t, "diff_ci95_half_width", " CI half-width")
    differences = diffs.merge(widths, on=KEYS)
    differences = differences[differences.design != t.baseline]
    long = t.summary.copy()
    long.insert(long.columns.get_loc("metric") + 1, "unit", [
        _unit(m, t.currency) for m in long.metric
    ])  # fmt: skip
    formats = {
        _heading(m, t.currency) + sfx: _FORMATS.get(outcome(m).kind, "0.000")
        for m in t.metrics
        for sfx in ("", " difference", " CI half-width")
    }
    wb = Workbook(write_only=True)
    wb.properties.identifier = digest
    wb.properties.title = "salesim summary"
    _sheet(wb, "levels", levels, formats)
    _sheet(wb, "differences", differences, formats)
    _sheet(wb, "summary", long, {})
    for name, data in t.extras.items():
        _sheet(wb, name.removesuffix(".csv"), pd.read_csv(io.BytesIO(data)), {})
    buf = io.BytesIO()
    wb.save(buf)
    atomic_write_bytes(path, buf.getvalue())
    return path


def stored_digest(path: Path) -> str | None:
    """The digest a workbook salesim wrote carries (None: absent, foreign or damaged)."""
    try:
        with zipfile.ZipFile(path) as z:
            core = z.read("docProps/core.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    found = re.search(r"<dc:identifier>([0-9a-f]{64})</dc:identifier>", core)
    return found.group(1) if found else None


def tables(study: Study) -> Tables:
    """The study's tables for the workbook."""
    extras = {}
    for name in EXTRA_TABLES:
        p = study.out / name
        if p.is_file():
            with open(p, "rb") as fh:
                extras[name] = fh.read()
    return Tables(
        study.out, study.summary, list(study.metrics), study.baseline, study.currency, extras
    )


def start(study: Study) -> Future | None:
    """Write the workbook: now for a small study, in a process of its own for a large one.

    The other process's future is returned (``.result()`` raises what it raised).
    """
    t = tables(study)
    if t.summary.size < BIG or stored_digest(t.out / FILE) == t.digest():
        write(t)
        return None
    from salesim.experiments.runner import process_pool

    pool = process_pool(1)
    future = pool.submit(write, t)
    pool.shutdown(wait=False)
    return future
