"""summary.xlsx: the study's tables for a spreadsheet, numbers as numbers with units in headers.

Sheets: ``levels`` (each KPI's mean per scenario, point and design, a column per KPI headed
with its unit), ``differences`` (paired difference to the baseline design and its 95% CI
half-width), ``summary`` (summary.csv as it is, with a unit column) and any other table the
study wrote (robustness, sensitivity, scenario discovery), one sheet each.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from openpyxl.utils import get_column_letter

from salesim.experiments.store import atomic_write_bytes
from salesim.model.inputs.outcomes import outcome
from salesim.report import units

if TYPE_CHECKING:
    from salesim.report.study import Study

#: Other CSV tables of a study, each a sheet if present.
EXTRA_TABLES = (
    "robustness.csv",
    "sensitivity.csv",
    "sensitivity_gap.csv",
    "scenario_discovery.csv",
)
KEYS = ["scenario", "point", "design"]
_FORMATS = {"rate": "0.0%", "hours": "0.00", "money": "#,##0", "count": "#,##0.0"}


def _unit(metric: str, currency: str) -> str:
    o = outcome(metric)
    if o.kind == "rate":
        return "%"
    if o.kind == "money":
        return currency
    return o.unit or "-"


def _heading(metric: str, currency: str) -> str:
    return f"{units.label(metric).removesuffix(' (h)')} ({_unit(metric, currency)})"


def _wide(study: Study, value: str, suffix: str = "") -> tuple[pd.DataFrame, list[str]]:
    s = study.summary
    table = s.pivot_table(index=KEYS, columns="metric", values=value, sort=False, dropna=False)
    metrics = [m for m in study.metrics if m in table.columns]
    table = table[metrics]
    table.columns = [_heading(m, study.currency) + suffix for m in metrics]
    return table.reset_index(), metrics


def _format(ws, frame: pd.DataFrame, kinds: dict[str, str]) -> None:
    """Column widths to fit the header and a number format per KPI kind."""
    for i, name in enumerate(frame.columns, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = min(max(len(str(name)) + 2, 10), 48)
        fmt = _FORMATS.get(kinds.get(name, ""), "0.000" if frame[name].dtype.kind == "f" else "")
        if fmt:
            for (c,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                c.number_format = fmt
    ws.freeze_panes = "A2"


def write_xlsx(study: Study) -> Path:
    """Write OUT/summary.xlsx (atomically) and return its path."""
    levels, metrics = _wide(study, "mean")
    diffs, _ = _wide(study, "diff_mean", " difference")
    widths, _ = _wide(study, "diff_ci95_half_width", " CI half-width")
    differences = diffs.merge(widths, on=KEYS)
    differences = differences[differences.design != study.baseline]
    long = study.summary.copy()
    long.insert(long.columns.get_loc("metric") + 1, "unit", [
        _unit(m, study.currency) for m in long.metric
    ])  # fmt: skip
    kinds = {_heading(m, study.currency) + sfx: outcome(m).kind
             for m in metrics for sfx in ("", " difference", " CI half-width")}  # fmt: skip
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for name, frame in (("levels", levels), ("differences", differences), ("summary", long)):
            frame.to_excel(xl, sheet_name=name, index=False)
            _format(xl.sheets[name], frame, kinds)
        for extra in EXTRA_TABLES:
            path = study.out / extra
            if path.is_file():
                with open(path, "rb") as fh:
                    frame = pd.read_csv(fh)
                sheet = extra.removesuffix(".csv")[:31]
                frame.to_excel(xl, sheet_name=sheet, index=False)
                _format(xl.sheets[sheet], frame, {})
    path = study.out / "summary.xlsx"
    atomic_write_bytes(path, buf.getvalue())
    return path
