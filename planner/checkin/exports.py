"""The check-in list, for the printable page and the CSV and XLSX downloads: sorted by name the
way Chinese readers look names up (by pinyin, grouped by initial letter). Who may see ticket
codes and full phone numbers is decided by the caller (branches.permissions)."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from pypinyin import lazy_pinyin

from planner.checkin.present import checked_in_by
from planner.core.i18n import format_instant
from planner.registrations.models import Registration

COLUMNS = {"name": _l("Name"), "pinyin": _l("Pinyin"), "phone": _l("Phone"),
           "guests": _l("Guests"), "status": _l("Status"), "source": _l("Source"),
           "ticket_code": _l("Ticket code"), "checked_in_at": _l("Checked in at"),
           "checked_in_by": _l("Checked in by")}


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


@dataclass(frozen=True)
class CheckinList:
    """The rows, and whether they carry ticket codes (a column only for those who may see it)."""

    rows: list[ListRow]
    tickets: bool

    @property
    def columns(self) -> list[str]:
        return [name for name in COLUMNS if self.tickets or name != "ticket_code"]

    def header(self) -> list[str]:
        return [str(COLUMNS[name]) for name in self.columns]

    def cells(self) -> list[list[object]]:
        return [[getattr(row, name) for name in self.columns] for row in self.rows]

    def by_initial(self) -> list[tuple[str, list[ListRow]]]:
        return [(letter, list(group))
                for letter, group in itertools.groupby(self.rows, key=lambda row: row.initial)]


@functools.lru_cache(maxsize=8192)
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


def checkin_list(registrations: Iterable[Registration], status_label: Label,
                 source_label: Label, *, tickets: bool, full_phones: bool) -> CheckinList:
    listed = [ListRow(
        name=r.name, pinyin=pinyin_of(r.name),
        phone=(r.phone or "") if full_phones else mask_phone(r.phone), guests=r.guests,
        status=status_label(r), source=source_label(r),
        ticket_code=(r.ticket_code or "") if tickets else "",
        checked_in_at=format_instant(r.checked_in_at, r.event.branch.timezone, "short"),
        checked_in_by=checked_in_by(r)) for r in registrations]
    # The key is computed once per row (sort calls it once per item), never per comparison.
    listed.sort(key=lambda row: (row.initial == "#", row.pinyin, row.name))
    return CheckinList(listed, tickets)

