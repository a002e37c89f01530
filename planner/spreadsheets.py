"""Every spreadsheet the site hands out (CSV and XLSX) is written here, so that no text a member
typed is ever run as a formula by the app that opens it (OWASP "CSV injection") and every text
reads back as typed.

- CSV has no cell types: a spreadsheet guesses, and runs a cell that looks like a formula. Such
  a cell gets a leading apostrophe, which spreadsheets take as "show this as text".
- XLSX has cell types: every text is written as a string cell, exactly as it is (openpyxl
  would otherwise store text starting with "=" as a formula). Numbers stay numbers. XML has
  two limits: a carriage return reads back as a line feed (so it is written as one), and the
  control characters it cannot hold at all become U+FFFD, so such a name never fails the file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from flask import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, TYPE_STRING
from openpyxl.styles import Font

# What makes a spreadsheet read a cell as a formula, half- and full-width; spaces before them
# do not stop it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
LEADING_SPACES = " \u00a0\u3000"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"

Row = Sequence[object]


def runs_as_formula(text: str) -> bool:
    return text.lstrip(LEADING_SPACES).startswith(FORMULA_STARTS)


def csv_cell(value: object) -> object:
    """A CSV cell shown as typed: formula-like text gets a leading ', None is empty."""
    if value is None:
        return ""
    if isinstance(value, str) and runs_as_formula(value):
        return "'" + value
    return value


def to_csv(header: Row, rows: Iterable[Row]) -> bytes:
    """UTF-8 with a byte-order mark: spreadsheet apps guess the encoding from it, so Chinese
    names show right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(str(label)) for label in header])
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def sheet_title(title: str) -> str:
    """Excel refuses sheet names longer than 31 characters or with any of \\ * ? : / [ ]."""
    return re.sub(r"[\\*?:/\[\]]", " ", title)[:31].strip() or "Sheet"


def xlsx_value(value: object) -> object:
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def to_xlsx(header: Row, rows: Iterable[Row], title: str) -> bytes:
    """One sheet: a bold, frozen header row, then the rows. Written in openpyxl's write-only
    mode, row by row, so 5,000 attendees cost no in-memory sheet."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title(title))
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)

    def header_cell(label: object) -> WriteOnlyCell:
        written = WriteOnlyCell(sheet, value=xlsx_value(str(label)))
        written.data_type, written.font = TYPE_STRING, bold
        return written

    def cell(value: object) -> object:
        """The value itself, or a string cell where openpyxl would read a formula or an error
        code (a plain value is far cheaper to write than a cell)."""
        value = xlsx_value(value)
        if isinstance(value, str) and (value.startswith("=") or value in ERROR_CODES):
            written = WriteOnlyCell(sheet, value=value)
            written.data_type = TYPE_STRING  # never a formula, whatever the text
            return written
        return value

    sheet.append([header_cell(label) for label in header])
    for row in rows:
        sheet.append([cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def download(body: bytes, filename: str, content_type: str) -> Response:
    """A spreadsheet as an attachment; it holds members' data, so no shared cache keeps it."""
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def csv_download(header: Row, rows: Iterable[Row], filename: str) -> Response:
    return download(to_csv(header, rows), filename, CSV_TYPE)


def xlsx_download(header: Row, rows: Iterable[Row], title: str, filename: str) -> Response:
    return download(to_xlsx(header, rows, title), filename, XLSX_TYPE)
