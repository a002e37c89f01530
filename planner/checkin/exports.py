"""The check-in list as a printable page, CSV and XLSX: sorted by name the way Chinese readers
look names up (by pinyin, grouped by initial letter), phones masked unless a lead asks, and
every cell safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple, dataclass

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font
from pypinyin import lazy_pinyin

from planner.checkin.present import checked_in_by
from planner.i18n import format_instant
from planner.registrations.models import Registration

# Spreadsheets run a cell starting with these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (_l("Name"), _l("Pinyin"), _l("Phone"), _l("Guests"), _l("Status"), _l("Source"),
           _l("Ticket code"), _l("Checked in at"), _l("Checked in by"))


@dataclass(frozen=True)
class ListRow:
    name: str
    pinyin: str
    phone: str
    guests: int
    status: str
    source: str
    ticket_code: str
    checked_in_at: str
    checked_in_by: str

    @property
    def initial(self) -> str:
        letter = self.pinyin[:1].upper()
        return letter if "A" <= letter <= "Z" else "#"


def pinyin_of(name: str) -> str:
    """"王小明" → "wang xiao ming"; Latin letters stay as they are (lower case)."""
    return " ".join(part.strip() for part in lazy_pinyin(name) if part.strip()).lower()


def mask_phone(phone: str | None) -> str:
    """"13800138000" → "138****8000": enough for the door to tell two people apart."""
    digits = "".join(c for c in phone or "" if c.isdigit())
    if len(digits) < 8:
        return "*" * max(0, len(digits) - 2) + digits[-2:]
    return f"{digits[:3]}****{digits[-4:]}"


Label = Callable[[Registration], str]


def rows(registrations: Iterable[Registration], status_label: Label, source_label: Label, *,
         full_phones: bool) -> list[ListRow]:
    listed = [ListRow(
        name=r.name, pinyin=pinyin_of(r.name),
        phone=(r.phone or "") if full_phones else mask_phone(r.phone), guests=r.guests,
        status=status_label(r), source=source_label(r),
        ticket_code=r.ticket_code or "",
        checked_in_at=format_instant(r.checked_in_at, r.event.branch.timezone, "short"),
        checked_in_by=checked_in_by(r)) for r in registrations]
    return sorted(listed, key=lambda row: (row.initial == "#", row.pinyin, row.name))


def by_initial(listed: Sequence[ListRow]) -> list[tuple[str, list[ListRow]]]:
    return [(letter, list(group))
            for letter, group in itertools.groupby(listed, key=lambda row: row.initial)]


def spreadsheet_safe(value: object) -> object:
    """Text that a spreadsheet would run as a formula is prefixed with ' and shown as typed."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _table(listed: Sequence[ListRow]) -> list[list[object]]:
    header: list[object] = [str(column) for column in COLUMNS]
    return [header] + [[spreadsheet_safe(value) for value in astuple(row)] for row in listed]


def to_csv(listed: Sequence[ListRow]) -> bytes:
    """UTF-8 with a byte-order mark, so Excel shows Chinese names right."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(_table(listed))
    return "\ufeff".encode() + buffer.getvalue().encode()


def to_xlsx(listed: Sequence[ListRow], title: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    # Excel refuses sheet names longer than 31 characters or with any of \ * ? : / [ ]
    sheet.title = re.sub(r"[\\*?:/\[\]]", " ", title)[:31].strip() or "Check-in"
    for values in _table(listed):
        sheet.append(values)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for cell in itertools.chain.from_iterable(sheet.iter_rows(min_row=2)):
        if isinstance(cell.value, str):
            cell.data_type = "s"  # never a formula, whatever the text
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
