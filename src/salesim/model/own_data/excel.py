"""Reading the first sheet of an .xlsx file as a table of cells, or refusing it in one line.

An .xlsx file is a zip of XML: a few hundred kilobytes can expand to gigabytes (a "zip bomb"),
so the declared sizes are checked before anything is decompressed (Python's zipfile never
inflates a member past its declared size), and rows and columns are capped while the sheet is
read. Cells salesim cannot take at face value are refused with their sheet, row and column:
booleans (TRUE/FALSE are not volumes), dates, Excel errors such as ``#DIV/0!``, formulas that
were never computed (a file written by a script, not saved by Excel: no stored value), and
merged cells (only the first cell of a merged range holds the value).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from typing import Any

from salesim.model.inputs.files import cut
from salesim.model.inputs.params import ConfigError

#: Largest uncompressed content of an .xlsx file (all its XML parts together).
MAX_XLSX_UNCOMPRESSED = 100_000_000
#: Most rows of an .xlsx sheet read (larger books: save them as CSV or Parquet).
MAX_XLSX_ROWS = 50_000
#: Chunk of a sheet's XML scanned at a time for formulas and merged cells.
_CHUNK = 1 << 20
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s+ref=\"([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)\"")
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")


def column_letter(index: int) -> str:
    """Excel's name of the 0-based column ``index`` (0 -> A, 26 -> AA)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def read_sheet(data: bytes, name: str, max_columns: int) -> tuple[str, list[str], list[tuple]]:
    """(sheet title, header, data rows) of the first sheet of the .xlsx bytes ``data``.

    Rows are tuples as long as the header; trailing empty rows are dropped. ``name`` is the
    file as shown in messages.
    """
    import openpyxl
    from openpyxl.cell.cell import ERROR_CODES

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ConfigError(f"{name}: cannot read it as xlsx: {cut(exc)}") from None
    if inflated > MAX_XLSX_UNCOMPRESSED:
        raise ConfigError(
            f"{name}: expands to {inflated:,} bytes, more than the {MAX_XLSX_UNCOMPRESSED:,} "
            "salesim reads from an .xlsx file; save large tables as CSV or Parquet"
        )
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a corrupt file
        raise ConfigError(f"{name}: cannot read it as xlsx: {cut(_first_line(exc))}") from None
    try:
        sheets = book.worksheets
        if not sheets:
            raise ConfigError(f"{name}: the workbook has no sheet")
        sheet = sheets[0]
        where = f"{name}: sheet {sheet.title!r}"
        _refuse_merged(archive, sheet, where)
        rows = _rows(sheet, where, max_columns)
        if not rows:
            others = [s.title for s in sheets[1:] if s.max_row and s.max_row > 1]
            hint = f"; the rows seem to be on sheet {others[0]!r}: move them" if others else ""
            raise ConfigError(
                f"{where}: is empty; salesim reads the first sheet of the workbook{hint}"
            )
        header, body = rows[0], rows[1:]
        width = _header_width(header, where)
        checked = []
        for i, row in enumerate(body):
            for j, value in enumerate(row):
                if value is None:
                    continue
                if j >= width:
                    raise ConfigError(
                        f"{where}, row {i + 2}, column {column_letter(j)}: a value "
                        f"({cut(repr(value))}) right of the last named column; name the column "
                        "in row 1 or clear the cell"
                    )
                problem = _bad_cell(value, ERROR_CODES)
                if problem:
                    column = header[j] if j < len(header) else column_letter(j)
                    raise ConfigError(f"{where}, row {i + 2}, column {column}: {problem}")
            checked.append(row[:width])
        _refuse_formulas_without_values(archive, data, sheet, checked, header[:width], where)
        return sheet.title, [str(h).strip() for h in header[:width]], checked
    finally:
        book.close()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _rows(sheet: Any, where: str, max_columns: int) -> list[tuple]:
    """The sheet's rows up to the last non-empty one; a one-line error past the caps."""
    rows: list[tuple] = []
    last = 0
    for row in sheet.iter_rows(values_only=True, max_col=max_columns + 1):
        if len(rows) > MAX_XLSX_ROWS:
            raise ConfigError(
                f"{where}: more than {MAX_XLSX_ROWS:,} rows, the most salesim reads from an "
                ".xlsx file; save large tables as CSV or Parquet"
            )
        rows.append(row)
        if any(v is not None for v in row):
            last = len(rows)
    if rows and any(v is not None for v in rows[0][max_columns:]):
        raise ConfigError(f"{where}: more than {max_columns} columns; this file has at most that")
    return rows[:last]


def _header_width(header: tuple, where: str) -> int:
    """Columns named in row 1 (up to the last named one); a gap is an error."""
    names = list(header)
    while names and names[-1] is None:
        names.pop()
    if not names:
        raise ConfigError(f"{where}, row 1: no column names; expected a header row")
    for j, value in enumerate(names):
        if value is None:
            raise ConfigError(f"{where}, row 1, column {column_letter(j)}: no column name")
    return len(names)


def _bad_cell(value: Any, errors: tuple[str, ...]) -> str | None:
    """Why a cell cannot be read at face value (None: it can)."""
    if isinstance(value, bool):
        return f"{str(value).upper()} is a boolean cell, not a number or text"
    if isinstance(value, dt.datetime | dt.date | dt.time | dt.timedelta):
        return (
            f"{value} is a date or time cell; format the column as Number or Text (salesim reads "
            "numbers and text)"
        )
    if isinstance(value, str) and value in errors:
        return f"Excel error {value}; fix the formula (or the cells it uses) and save again"
    return None


def _sheet_xml(archive: zipfile.ZipFile, sheet: Any):
    """Chunks of the sheet's XML (decompressed no further than its declared size)."""
    path = getattr(sheet, "_worksheet_path", None)
    if not path or path not in archive.namelist():
        return
    with archive.open(path) as fh:
        tail = b""
        while chunk := fh.read(_CHUNK):
            yield tail + chunk
            tail = chunk[-200:]  # a tag may straddle two chunks


def _refuse_merged(archive: zipfile.ZipFile, sheet: Any, where: str) -> None:
    for chunk in _sheet_xml(archive, sheet):
        found = _MERGE.search(chunk)
        if found:
            raise ConfigError(
                f"{where}: cells {found.group(1).decode()} are merged; only the first of them "
                "holds a value: unmerge them and fill in every cell"
            )


def _refuse_formulas_without_values(
    archive: zipfile.ZipFile, data: bytes, sheet: Any, rows: list[tuple], header: tuple, where: str
) -> None:
    """A formula whose value was never stored reads as blank: refuse it rather than guess.

    Only a sheet with both formulas and blank cells is read a second time (with formulas).
    """
    if not any(v is None for row in rows for v in row):
        return
    if not any(_FORMULA.search(chunk) for chunk in _sheet_xml(archive, sheet)):
        return
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        formulas = book.worksheets[0].iter_rows(
            min_row=2, max_row=len(rows) + 1, max_col=len(header), values_only=True
        )
        for i, (values, texts) in enumerate(zip(rows, formulas, strict=False)):
            for j, (value, text) in enumerate(zip(values, texts, strict=False)):
                if value is None and isinstance(text, str) and text.startswith("="):
                    raise ConfigError(
                        f"{where}, row {i + 2}, column {header[j]}: the formula {cut(text)} has "
                        "no stored value (the file was not saved by Excel after it was "
                        "computed); open and save it in Excel, or paste the values"
                    )
    finally:
        book.close()
