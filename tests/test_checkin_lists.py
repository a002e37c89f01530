"""The check-in list: print view, CSV and XLSX; pinyin order, masked phones, formula safety, and
what door staff see (no ticket codes, no full phones) against what leads see."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from planner.checkin import services
from planner.checkin.exports import mask_phone, pinyin_of
from planner.core.extensions import db
from planner.registrations import services as registrations
from planner.registrations.models import Registration, RegistrationStatus
from planner.registrations.waitlist import new_ticket_code
from planner.spreadsheets import runs_as_formula
from tests.conftest import bearer, login
from tests.test_checkin import meetup

EVIL = "=HYPERLINK(\"http://x\",\"hi\")"


@pytest.fixture
def listed(cast, make_user):
    """Four members going (Chinese and Latin names), a walk-in whose name is a formula, one
    member checked in, and one who cancelled (not on the list)."""
    event = meetup(cast, seats=20)
    people = [make_user(name) for name in ("王小明", "Alice Chen", "李雷", "韩梅梅", "Zed Gone")]
    people[0].phone = "13800138000"
    for person in people:
        registrations.rsvp(person, event.id, guests=1 if person is people[2] else 0)
    registrations.cancel(people[4], event.id)
    services.redeem(cast.staff, event.id, ticket_code=registrations.registration_of(
        people[1], event).ticket_code)
    services.register_walk_in(cast.staff, event.id, services.WalkIn(EVIL, "+86 139 0000 1111",
                                                                    source="-poster"))
    db.session.commit()
    return event


def read_csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_is_sorted_by_pinyin_masks_phones_for_staff_and_defuses_formulas(client, cast,
                                                                              listed):
    event_id = listed.id
    login(client, cast.staff)
    response = client.get(f"/events/{event_id}/checkin-list.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    table = read_csv(response.data)
    assert table[0][:4] == ["Name", "Pinyin", "Phone", "Guests"]
    names = [row[0] for row in table[1:]]
    assert names == ["Alice Chen", "韩梅梅", "李雷", "王小明", "'" + EVIL]
    by_name = {row[0]: row for row in table[1:]}
    assert by_name["王小明"][1:3] == ["wang xiao ming", "138****8000"]
    assert by_name["李雷"][3] == "1"
    assert by_name["'" + EVIL][5] == "'-poster"
    assert table[0][6:] == ["Checked in at", "Checked in by"]
    assert by_name["Alice Chen"][6] and by_name["Alice Chen"][7] == "Staff Sun"
    assert "Zed Gone" not in names


def test_leads_get_full_phones_in_downloads(client, cast, listed):
    event_id = listed.id
    login(client, cast.lead)
    table = read_csv(client.get(f"/events/{event_id}/checkin-list.csv").data)
    phones = {row[0]: row[2] for row in table[1:]}
    assert phones["王小明"] == "13800138000"
    assert phones["'" + EVIL] == "'+86 139 0000 1111"


def test_xlsx_holds_the_same_rows_and_never_a_formula(client, cast, listed):
    event_id = listed.id
    login(client, cast.staff)
    response = client.get(f"/events/{event_id}/checkin-list.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="checkin-{event_id}.xlsx"')
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert [row[0] for row in values[1:]] == ["Alice Chen", "韩梅梅", "李雷", "王小明", EVIL]
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    assert values[4][2] == "138****8000" and values[5][5] == "-poster"
    assert values[3][3] == 1  # guests stay a number


def test_print_view_groups_by_initial_and_masks_phones_even_for_leads(client, cast, listed):
    event_id = listed.id
    login(client, cast.lead)
    page = client.get(f"/events/{event_id}/checkin-list").text
    letters = [page.index(f'id="letter-{letter}"') for letter in "AHLW#"]
    assert letters == sorted(letters)
    assert "138****8000" in page and "13800138000" not in page
    assert "&#34;http://x&#34;" in page or "&quot;http://x&quot;" in page  # escaped, not markup


@pytest.mark.parametrize("suffix", ["", ".csv", ".xlsx"])
def test_lists_are_for_staff_and_leads_only(client, cast, listed, suffix):
    event_id = listed.id
    login(client, cast.member)
    assert client.get(f"/events/{event_id}/checkin-list{suffix}").status_code == 403


@pytest.mark.parametrize(("phone", "masked"), [
    ("13800138000", "138****8000"), ("+86 138-0013-8000", "861****8000"), ("12345", "***45"),
    (None, ""), ("", "")])
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


def test_pinyin():
    assert pinyin_of("韩梅梅") == "han mei mei" and pinyin_of("Alice Chen") == "alice chen"


def going_codes(event) -> list[str]:
    return list(db.session.scalars(select(Registration.ticket_code).where(
        Registration.event_id == event.id, Registration.status == RegistrationStatus.GOING)))


def test_ticket_codes_are_in_the_leads_lists_and_not_the_door_staffs(client, cast, listed):
    event_id, codes = listed.id, going_codes(listed)
    assert len(codes) == 5
    downloads = {"": lambda r: r.text, ".csv": lambda r: r.data.decode("utf-8-sig"),
                 ".xlsx": lambda r: str(list(load_workbook(io.BytesIO(r.data)).active.values))}
    seen = {}
    for who in (cast.staff, cast.lead):
        login(client, who)
        for suffix, read in downloads.items():
            response = client.get(f"/events/{event_id}/checkin-list{suffix}")
            assert response.status_code == 200
            text = read(response)
            seen[who.display_name, suffix] = (sum(code in text for code in codes),
                                              "Ticket code" in text, "13800138000" in text)
    assert seen == {("Staff Sun", ""): (0, False, False), ("Staff Sun", ".csv"): (0, False, False),
                    ("Staff Sun", ".xlsx"): (0, False, False),
                    ("Lead Li", ""): (5, True, False),  # paper never shows a full phone
                    ("Lead Li", ".csv"): (5, True, True), ("Lead Li", ".xlsx"): (5, True, True)}


def test_door_staff_get_what_the_door_needs_and_leads_also_get_tickets(client, cast, listed):
    event_id, codes = listed.id, going_codes(listed)
    url = f"/api/v1/events/{event_id}/registrations"
    staff = client.get(url, headers=bearer(client, cast.staff))
    lead = client.get(url, headers=bearer(client, cast.lead))
    assert staff.status_code == lead.status_code == 200
    assert [r["display_name"] for r in staff.json] == [r["display_name"] for r in lead.json]
    assert {(r["status"], r["guests"]) for r in staff.json} >= {("going", 1), ("going", 0)}
    assert {r["ticket_code"] for r in staff.json} == {None}
    assert {r["ticket_qr_url"] for r in staff.json} == {None}
    assert not any(code in staff.text for code in codes)
    assert not re.search(r"1380013800|13900001111|0000 1111", staff.text)
    assert sorted(r["ticket_code"] for r in lead.json if r["status"] == "going") == sorted(codes)
    assert all(r["ticket_qr_url"] for r in lead.json if r["status"] == "going")


def test_new_ticket_codes_never_start_like_a_formula():
    """token_urlsafe starts about one code in 64 with "-", which a spreadsheet runs."""
    codes = {new_ticket_code() for _ in range(20_000)}
    assert len(codes) == 20_000
    assert all(re.fullmatch(r"[A-Za-z0-9]{22}", code) for code in codes)
    assert not any(runs_as_formula(code) for code in codes)


def test_the_list_is_this_meetups_people_only(client, cast, listed, make_user):
    elsewhere = meetup(cast, seats=5, title="Other night")
    registrations.rsvp(make_user("Elsewhere Eve"), elsewhere.id)
    event_id = listed.id
    login(client, cast.staff)
    names = [row[0] for row in read_csv(client.get(f"/events/{event_id}/checkin-list.csv").data)]
    assert "Elsewhere Eve" not in names and len(names) == 1 + 5
