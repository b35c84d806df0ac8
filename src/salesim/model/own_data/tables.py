"""Reading a company's own tables (customers, staff) and reporting their problems in one line.

A data file is CSV, Parquet or Excel (.xlsx, first sheet), one row per record with a header.
Its columns are checked with a pandera schema; the first problem becomes one ``ConfigError``
line naming the file, the row and the column. Rows are numbered as the user's own tool shows
them: ``line N`` of a CSV file and ``row N`` of an Excel sheet (the header is line/row 1), and
``row N`` (the N-th record) of a Parquet file, which has no header line.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from salesim.model.inputs.params import DATA_SUFFIXES, ConfigError

if TYPE_CHECKING:
    import pandera.pandas as pa

#: What to call a blank cell in messages.
BLANK = "blank"


def shown(path: str | Path) -> str:
    """``path`` as a user would type it: relative to the working directory when inside it."""
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def row_label(path: str | Path, position: int) -> str:
    """How the user's tool numbers the record at 0-based ``position`` (see the module doc)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return f"line {position + 2}"
    if suffix == ".xlsx":
        return f"row {position + 2}"
    return f"row {position + 1}"


def _data_suffix(path: Path, name: str) -> str:
    """The file's suffix, lower-cased; a one-line error naming ``name`` if it is not a data file."""
    suffix = path.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise ConfigError(
            f"{name}: unsupported file type {suffix or '(none)'!r}; allowed: "
            + ", ".join(DATA_SUFFIXES)
        )
    return suffix


def read_table(path: str | Path, what: str) -> pd.DataFrame:
    """The file's records as a frame with a 0..n-1 index; text cells stay text, blanks are NaN.

    CSV and Excel cells are read as text so that ids like ``007`` keep their zeros and so that
    a number written with a thousands separator is reported, not guessed at. ``what`` names
    the records in messages (``customer``, ``person``).
    """
    path = Path(path)
    name = shown(path)
    suffix = _data_suffix(path, name)
    if not path.is_file():
        raise ConfigError(f"{name}: no such file")
    try:
        if suffix == ".csv":
            frame = pd.read_csv(  # utf-8-sig: Excel's "CSV UTF-8" starts with a BOM
                path,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                skipinitialspace=True,
                encoding="utf-8-sig",
            )
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
    except pd.errors.EmptyDataError:
        raise ConfigError(
            f"{name}: the file is empty; expected a header and one row per {what}"
        ) from None
    except Exception as exc:  # each reader raises its own types for a corrupt file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{name}: cannot read it as {suffix[1:]}: {first}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if suffix == ".csv" and len(frame.columns) == 1 and ";" in frame.columns[0]:
        raise ConfigError(f"{name}: columns are separated by ';'; salesim reads CSV with commas")
    twice = [
        c
        for c in frame.columns
        if re.fullmatch(r"(.+)\.\d+", c) and c.rsplit(".", 1)[0] in frame.columns
    ]
    if twice:
        raise ConfigError(f"{name}: column {twice[0].rsplit('.', 1)[0]}: appears more than once")
    if frame.empty:
        raise ConfigError(f"{name}: the file has no rows; expected one row per {what}")
    return frame.reset_index(drop=True)


def as_text(column: pd.Series) -> pd.Series:
    """Cells as stripped text (a string column; whole numbers without '.0'); blanks are missing."""
    if pd.api.types.is_float_dtype(column):  # ids stored as floats: 7.0 is '7'
        values = column.to_numpy(dtype=float)
        whole = np.isfinite(values) & (values == np.round(values))
        column = pd.Series(
            [int(v) if w else v for v, w in zip(values, whole, strict=True)],
            index=column.index,
            dtype=object,
        ).where(column.notna())
    text = column.astype("string").str.strip()
    return text.mask(text.eq("").fillna(False))


def first_failure(
    err: pa.errors.SchemaErrors, order: list[str]
) -> tuple[str, int | None, str, Any]:
    """(check, row position or None, column, failing value) of the problem to report first.

    Missing and unknown columns come first; then the earliest row, and within it a failed cell
    (leftmost column in ``order`` first) before a failed check across the row. Failures without
    a row (a check that could not run because the column was not numeric) are left out: the
    cell that caused them is reported instead.
    """
    cases = err.failure_cases
    columns = cases[cases["check"].isin(["column_in_dataframe", "column_in_schema"])]
    if len(columns):
        first = columns.iloc[0]
        return str(first["check"]), None, str(first["failure_case"]), None
    rows = cases[cases["index"].notna()].copy()
    if rows.empty:  # only checks that could not run; name the first of them
        first = cases.iloc[0]
        return str(first["check"]), None, str(first["column"]), first["failure_case"]
    rows["row"] = rows["index"].astype(int)
    rows["across"] = rows["schema_context"] == "DataFrameSchema"
    rows["col"] = rows["column"].map(lambda c: order.index(c) if c in order else len(order))
    first = rows.sort_values(["row", "across", "col"], kind="stable").iloc[0]
    return str(first["check"]), int(first["row"]), str(first["column"]), first["failure_case"]


def validate_frame(
    path: str | Path,
    frame: pd.DataFrame,
    schema: pa.DataFrameSchema,
    explain: Callable[[str, str, Any], str],
) -> pd.DataFrame:
    """``frame`` checked and coerced by ``schema``; the first problem as one ConfigError line.

    ``explain(check, column, value)`` words a failed check for the user, starting with the
    column(s) it is about (``column HDPE: ...``).
    """
    import pandera.pandas as pa

    try:
        return schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        order = list(frame.columns)
        check, row, column, value = first_failure(err, order)
        where = f"{shown(path)}: " + ("" if row is None else f"{row_label(path, row)}, ")
        raise ConfigError(where + explain(check, column, value)) from None


def shown_value(value: Any) -> str:
    """A failing cell for a message: ``blank`` for an empty cell, else its repr."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return BLANK
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return repr(value)


def cached_read(reader: Callable[..., Any], path: str | Path, *key: Any) -> Any:
    """``reader(path, *key)``, read once per process while the file is unchanged.

    Experiment workers build many models on one file; each process reads it once. ``key``
    must be hashable (tuples, not lists).
    """
    try:
        stat = os.stat(path)
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = None  # the reader reports the missing file
    return _read_once(reader, str(path), stamp, key)


@lru_cache(maxsize=8)
def _read_once(reader: Callable[..., Any], path: str, stamp: Any, key: tuple) -> Any:
    return reader(path, *key)


def file_digests(paths: Iterable[str | None]) -> dict[str, str]:
    """SHA-256 of each existing data file, so stored results say which data they came from."""
    out = {}
    for path in paths:
        if path and os.path.isfile(path):
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            out[path] = digest.hexdigest()
    return out


def write_table(frame: pd.DataFrame, out: str | Path | None) -> None:
    """Write ``frame`` as CSV on stdout (``out`` None) or to ``out`` in the format of its suffix."""
    import sys

    if out is None:
        frame.to_csv(sys.stdout, index=False, lineterminator="\n")
        return
    out = Path(out)
    suffix = _data_suffix(out, f"--out {out}")
    if suffix == ".csv":
        frame.to_csv(out, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        frame.to_excel(out, index=False, engine="openpyxl")
