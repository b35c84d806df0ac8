"""Reading a company's own tables (customers, staff) and reporting their problems in one line.

A data file is CSV, Parquet or Excel (.xlsx, first sheet), one row per record with a header.
Its columns are checked with a pandera schema; the first problem becomes one ``ConfigError``
line naming the file, the row and the column. Rows are numbered as the user's own tool shows
them: ``line N`` of a CSV file and ``row N`` of an Excel sheet (the header is line/row 1), and
``row N`` (the N-th record) of a Parquet file, which has no header line.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from salesim.model.inputs.files import cut, read_capped
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


#: Largest data file read, in bytes, and most rows, columns and cells (the population's range
#: allows 1,000,000 customers; a customer file has at most 27 columns). Together they keep a
#: file's reading within about 1 GiB.
MAX_DATA_BYTES = 200_000_000
MAX_ROWS = 1_000_000
MAX_COLUMNS = 64
MAX_CELLS = 30_000_000

#: The SHA-256 of each data file as this process last read it: what its runs used.
_READ_DIGESTS: dict[str, str] = {}


def read_digest(path: str) -> str | None:
    """SHA-256 of the content of ``path`` this process last read (None: not read)."""
    return _READ_DIGESTS.get(str(path))


def row_label(path: str | Path, position: int, sheet: str | None = None) -> str:
    """How the user's tool numbers the record at 0-based ``position`` (see the module doc).

    In a CSV file a record may span lines (a quoted newline), so its first line is counted.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return f"line {_csv_line(str(path), position)}"
    if suffix == ".xlsx":
        return (f"sheet {sheet!r}, " if sheet else "") + f"row {position + 2}"
    return f"row {position + 1}"


def _csv_line(path: str, position: int) -> int:
    """The line on which data record ``position`` (0-based) of a CSV file starts."""
    import csv

    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)  # the header
            start = reader.line_num + 1
            for _ in range(position):
                if next(reader, None) is None:
                    break
                start = reader.line_num + 1
            return start
    except OSError:
        return position + 2


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
    the records in messages (``customer``, ``person``). The file is read once, capped, and its
    SHA-256 kept (``read_digest``): the digest is of the very bytes the frame was made from.
    """
    path = Path(path)
    name = shown(path)
    suffix = _data_suffix(path, name)
    data = read_capped(path, MAX_DATA_BYTES, "a data file", name)
    _READ_DIGESTS[str(path)] = hashlib.sha256(data).hexdigest()
    if not data or data.isspace():  # (no copy of a large file)
        raise ConfigError(f"{name}: the file is empty; expected a header and one row per {what}")
    reader = {".csv": _read_csv, ".parquet": _read_parquet, ".xlsx": _read_xlsx}[suffix]
    frame = reader(data, name)
    if len(frame) > MAX_ROWS:
        raise ConfigError(f"{name}: more than {MAX_ROWS:,} rows, the most salesim reads")
    frame.columns = [str(c).strip() for c in frame.columns]
    twice = [
        c
        for c in frame.columns
        if re.fullmatch(r"(.+)\.\d+", c) and c.rsplit(".", 1)[0] in frame.columns
    ]
    if twice or len(set(frame.columns)) < len(frame.columns):
        again = (
            twice[0].rsplit(".", 1)[0] if twice else frame.columns[frame.columns.duplicated()][0]
        )
        raise ConfigError(f"{name}: column {cut(again)}: appears more than once")
    if frame.empty:
        raise ConfigError(f"{name}: the file has no rows; expected one row per {what}")
    return frame.reset_index(drop=True)


def _read_csv(data: bytes, name: str) -> pd.DataFrame:
    import csv

    _check_utf8(data, name)
    start = data[: 1 << 20].decode("utf-8-sig", errors="replace")  # the BOM of "CSV UTF-8"
    try:
        header = next(csv.reader(io.StringIO(start)), [])
    except csv.Error as exc:
        raise ConfigError(f"{name}: line 1: cannot read the header: {cut(exc)}") from None
    if len(header) > MAX_COLUMNS:
        raise ConfigError(
            f"{name}: line 1: {len(header):,} columns; a data file has at most {MAX_COLUMNS}"
        )
    if len(header) == 1 and ";" in header[0]:
        raise ConfigError(f"{name}: columns are separated by ';'; salesim reads CSV with commas")
    lines = data.count(b"\n")  # at least the records (a quoted newline counts one more)
    if lines * len(header) > MAX_CELLS:
        raise ConfigError(
            f"{name}: about {lines:,} rows x {len(header)} columns, more than the "
            f"{MAX_CELLS:,} cells salesim reads from a file"
        )
    try:
        return pd.read_csv(
            io.BytesIO(data),
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            encoding="utf-8-sig",
            nrows=MAX_ROWS + 1,
        )
    except pd.errors.EmptyDataError:
        raise ConfigError(f"{name}: the file is empty; expected a header and one row") from None
    except (pd.errors.ParserError, ValueError) as exc:
        found = re.search(r"\b(line|row) (\d+)", str(exc))  # pandas counts rows from the header, 0
        line = int(found.group(2)) + (found.group(1) == "row") if found else None
        where = f"line {line}: " if found else ""
        raise ConfigError(
            f"{name}: {where}cannot read it as csv: {cut(_first(exc), 160)}"
        ) from None


def _check_utf8(data: bytes, name: str) -> None:
    """ConfigError naming the line of the first byte that is not UTF-8 (decoded in chunks)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    step = 1 << 22
    for offset in range(0, len(data), step):
        try:
            decoder.decode(data[offset : offset + step], final=offset + step >= len(data))
        except UnicodeDecodeError as exc:
            at = offset + exc.start - len(decoder.getstate()[0])
            at = max(0, min(at, len(data) - 1))
            while at < len(data) - 1 and data[at] < 0x80:  # the chunk's buffered tail
                at += 1
            line = data[:at].count(b"\n") + 1
            raise ConfigError(
                f"{name}: line {line}: not UTF-8 text (byte 0x{data[at]:02x}); save it as "
                "'CSV UTF-8' (in Excel: Save As, CSV UTF-8)"
            ) from None


def _first(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read_parquet(data: bytes, name: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(pa.BufferReader(data))
        schema = file.schema_arrow
        rows = file.metadata.num_rows
    except Exception as exc:  # pyarrow raises its own types for a corrupt file
        raise ConfigError(f"{name}: cannot read it as parquet: {cut(_first(exc), 160)}") from None
    if len(schema) > MAX_COLUMNS:
        raise ConfigError(f"{name}: {len(schema):,} columns; a data file has at most {MAX_COLUMNS}")
    if rows > MAX_ROWS:
        raise ConfigError(f"{name}: {rows:,} rows, more than the {MAX_ROWS:,} salesim reads")
    if rows * len(schema) > MAX_CELLS:
        raise ConfigError(
            f"{name}: {rows:,} rows x {len(schema)} columns, more than the {MAX_CELLS:,} cells "
            "salesim reads from a file"
        )
    for field in schema:
        kind = field.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_boolean(kind):
            raise ConfigError(
                f"{name}: column {cut(field.name)}: a boolean column (true/false); salesim "
                "reads numbers and text"
            )
        if not (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_decimal(kind)
            or pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_null(kind)
        ):
            raise ConfigError(
                f"{name}: column {cut(field.name)}: type {cut(kind)} is not read; use numbers "
                "or text"
            )
    try:
        # The system allocator: mimalloc reserves address space far beyond what it uses.
        table = file.read(use_pandas_metadata=True)
        frame = table.to_pandas(memory_pool=pa.system_memory_pool())
    except Exception as exc:
        raise ConfigError(f"{name}: cannot read it as parquet: {cut(_first(exc), 160)}") from None
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()  # e.g. customer_id written as the index by pandas
    return frame


def _read_xlsx(data: bytes, name: str) -> pd.DataFrame:
    from salesim.model.own_data.excel import read_sheet

    sheet, header, rows = read_sheet(data, name, MAX_COLUMNS)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame.attrs["sheet"] = sheet
    return frame


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
        sheet = frame.attrs.get("sheet")
        label = "" if row is None else f"{row_label(path, row, sheet)}, "
        where = f"{shown(path)}: " + (f"sheet {sheet!r}, " if sheet and row is None else "") + label
        raise ConfigError(where + explain(check, column, value)) from None


def shown_value(value: Any) -> str:
    """A failing cell for a message: ``blank`` for an empty cell, else its repr."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return BLANK
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return cut(repr(value))


def cached_read(reader: Callable[..., Any], path: str | Path, *key: Any) -> Any:
    """``reader(path, *key)``, read once per process while the file is unchanged.

    Experiment workers build many models on one file; each process reads it once. ``key``
    must be hashable (tuples, not lists). ``read_digest(path)`` then gives the digest of the
    content that this very value was read from.
    """
    try:
        stat = os.stat(path)
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    except (OSError, ValueError):
        stamp = None  # the reader reports the missing file
    value, digest = _read_once(reader, str(path), stamp, key)
    if digest is not None:
        _READ_DIGESTS[str(path)] = digest
    return value


@lru_cache(maxsize=8)
def _read_once(reader: Callable[..., Any], path: str, stamp: Any, key: tuple) -> Any:
    _READ_DIGESTS.pop(path, None)
    value = reader(path, *key)
    return value, _READ_DIGESTS.get(path)


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
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:  # a file object: pandas never reads the name as a URL
            if suffix == ".csv":
                frame.to_csv(fh, index=False)
            elif suffix == ".parquet":
                frame.to_parquet(fh, index=False)
            else:
                frame.to_excel(fh, index=False, engine="openpyxl")
        os.replace(tmp, out)  # the file appears whole or not at all
    finally:
        tmp.unlink(missing_ok=True)
