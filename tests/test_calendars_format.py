"""Every kind of calendar file, read back by parsers that did not write it (vobject with
validation, ics.py, recurring-ical-events to expand a window), and checked byte by byte: CRLF,
lines of at most 75 octets that never split a UTF-8 character, no floating times, a VTIMEZONE
for every TZID, and local times right across daylight saving time."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import ics as ics_py
import pytest
import recurring_ical_events

from branches.services import BranchInput, VenueInput, create_branch, join_branch, save_venue
from planner.calendars import ics, services
from planner.core.timeutil import utcnow
from planner.events import services as events
from planner.registrations import services as registrations
from tests.test_calendars import feed_url, meetup, one, parse

NEXT_YEAR = utcnow().year + 1
AWKWARD_TITLE = "周五桌游夜, 带上朋友; 别迟到"
AWKWARD_TEXT = ("第一行：欢迎大家！\n第二行, 有逗号; 有分号\\还有反斜杠\n\n"
                + "很长的说明文字，" * 60 + "\nEnd with English, too; done.")


def london_branch(admin):
    return create_branch(admin, BranchInput(
        name="London", city="London", country="GB", slug="london", latitude=51.5072,
        longitude=-0.1276, timezone="Europe/London", locale="en"))


@pytest.fixture
def files(client, cast, admin) -> dict[str, bytes]:
    """One of each: a meetup's file, a branch feed, a member's feed (with several zones)."""
    london = london_branch(admin)
    pub = save_venue(admin, london, VenueInput("The Pub", "1 Fleet St, London", 40, 51.514,
                                               -0.107))
    summer = meetup(admin, london, "Summer social", datetime(NEXT_YEAR, 7, 9, 19),
                    venue_id=pub.id)[0]
    winter = meetup(admin, london, "Winter social", datetime(NEXT_YEAR, 1, 14, 19),
                    venue_id=pub.id)[0]
    later = meetup(admin, london, "Far summer", datetime(NEXT_YEAR + 2, 7, 6, 19))[0]
    chengdu = one(cast.lead, cast.branch, AWKWARD_TITLE, description=AWKWARD_TEXT)
    cancelled = one(cast.lead, cast.branch, "Rained off", days=3)
    for event in (summer, winter, later, chengdu, cancelled):
        registrations.rsvp(cast.member, event.id)
    events.cancel_event(cast.lead, cancelled, "下雨, 改期; sorry")
    join_branch(cast.member, london)
    services.set_includes_branches(cast.member, True)
    return {"event": client.get(f"/events/{chengdu.id}.ics").data,
            "branch": client.get("/branches/london/calendar.ics").data,
            "chinese branch": client.get("/branches/chengdu/calendar.ics").data,
            "personal": client.get(feed_url(cast.member)).data}


EXPECTED = {"event": {AWKWARD_TITLE},
            "branch": {"Summer social", "Winter social", "Far summer"},
            "chinese branch": {AWKWARD_TITLE, "已取消：Rained off"},
            "personal": {"Summer social", "Winter social", "Far summer", AWKWARD_TITLE,
                         "Cancelled: Rained off"}}
KINDS = list(EXPECTED)


def unfold(data: bytes) -> list[str]:
    return re.sub(rb"\r\n[ \t]", b"", data).decode("utf-8").split("\r\n")


# --- three parsers agree ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_vobject_reads_every_file(files, kind):
    calendar = parse(files[kind])  # validate=True: vobject checks required properties
    titles = {event.summary.value for event in calendar.vevent_list}
    assert titles == EXPECTED[kind]
    for event in calendar.vevent_list:
        assert event.dtend.value > event.dtstart.value
        assert event.dtstart.value.tzinfo is not None


@pytest.mark.parametrize("kind", KINDS)
def test_ics_py_reads_every_file(files, kind):
    calendar = ics_py.Calendar(files[kind].decode("utf-8"))
    assert {event.name for event in calendar.events} == EXPECTED[kind]
    for event in calendar.events:
        assert event.end > event.begin


@pytest.mark.parametrize("kind", KINDS)
def test_recurring_ical_events_expands_one_occurrence_each(files, kind):
    calendar = icalendar.Calendar.from_ical(files[kind])
    found = recurring_ical_events.of(calendar).between(
        date.today() - timedelta(days=1), date(NEXT_YEAR + 3, 1, 1))
    titles = [str(event["SUMMARY"]) for event in found]
    assert sorted(titles) == sorted(EXPECTED[kind])  # one VEVENT per occurrence, no RRULE


# --- bytes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_lines_end_in_crlf_and_fold_at_75_octets_without_splitting_utf8(files, kind):
    data = files[kind]
    assert data.endswith(b"END:VCALENDAR\r\n")
    assert data.count(b"\n") == data.count(b"\r\n") == data.count(b"\r")
    for line in data.split(b"\r\n"):
        assert len(line) <= 75, line
        line.decode("utf-8")  # a character cut in two would not decode
    assert any(line.startswith(b" ") for line in data.split(b"\r\n")) or kind == "branch"


@pytest.mark.parametrize("kind", KINDS)
def test_no_floating_times_and_a_vtimezone_for_every_tzid(files, kind):
    lines = unfold(files[kind])
    zones = {line.removeprefix("TZID:") for line in lines if line.startswith("TZID:")}
    used = set()
    inside_event = False
    for line in lines:
        inside_event = {"BEGIN:VEVENT": True, "END:VEVENT": False}.get(line, inside_event)
        if inside_event and re.match(r"(DTSTART|DTEND|RECURRENCE-ID|EXDATE|RDATE)[;:]", line):
            value = line.split(":", 1)[1]
            tzid = re.search(r";TZID=([^;:]+)", line)
            assert tzid or value.endswith("Z") or "VALUE=DATE" in line, line
            if tzid:
                used.add(tzid.group(1))
    assert used and used <= zones
    assert zones <= used  # and no VTIMEZONE that nothing uses
    assert not any(line.startswith("X-WR-TIMEZONE") for line in lines)


@pytest.mark.parametrize("kind", KINDS)
def test_vtimezones_have_no_comment_and_one_rdate_per_line(files, kind):
    lines = unfold(files[kind])
    zone_lines = lines[lines.index("BEGIN:VTIMEZONE"):len(lines) - lines[::-1].index(
        "END:VTIMEZONE")]
    assert not [line for line in zone_lines if line.startswith("COMMENT")]
    assert all("," not in line for line in zone_lines if line.startswith("RDATE"))


@pytest.mark.parametrize("kind", KINDS)
def test_properties_real_clients_need(files, kind):
    lines = unfold(files[kind])
    assert lines[:4] == ["BEGIN:VCALENDAR", "VERSION:2.0",
                         "PRODID:-//Juhui//Juhui meetup planner//ZH", "CALSCALE:GREGORIAN"]
    for forbidden in ("METHOD", "ORGANIZER", "ATTENDEE", "RRULE"):
        assert not [line for line in lines if line.startswith(forbidden)], forbidden
    if kind != "event":
        assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in lines
        assert "X-PUBLISHED-TTL:PT1H" in lines
        assert [line for line in lines if line.startswith("NAME:")]
        assert [line for line in lines if line.startswith("X-WR-CALNAME:")]
    for event in parse(files[kind]).vevent_list:
        for name in ("uid", "dtstamp", "last_modified", "sequence", "url", "status",
                     "transp", "location", "description"):
            assert hasattr(event, name), name


def test_waitlisted_and_cancelled_status(files):
    statuses = {e.summary.value: e.status.value for e in parse(files["personal"]).vevent_list}
    assert statuses["Cancelled: Rained off"] == "CANCELLED"
    assert statuses["Summer social"] == "CONFIRMED"


# --- text ------------------------------------------------------------------------------------

def test_chinese_commas_semicolons_newlines_and_long_text_round_trip(files):
    by_vobject = parse(files["event"]).vevent
    by_ics = next(iter(ics_py.Calendar(files["event"].decode("utf-8")).events))
    assert by_vobject.summary.value == by_ics.name == AWKWARD_TITLE
    assert AWKWARD_TEXT in by_vobject.description.value
    assert AWKWARD_TEXT in by_ics.description
    assert b"\\, " in files["event"] and b"\\; " in files["event"] and b"\\n" in files["event"]


def test_location_and_geo(files):
    summer = {e.summary.value: e for e in parse(files["branch"]).vevent_list}["Summer social"]
    assert summer.location.value == "The Pub, 1 Fleet St, London"
    assert summer.geo.value == "51.514;-0.107"
    assert summer.url.value.endswith(f"/events/{summer.uid.value.split('-')[1].split('@')[0]}")


# --- time ------------------------------------------------------------------------------------

def test_london_meetups_are_at_19_00_local_in_summer_and_winter(files):
    """The parsers build the zone from our VTIMEZONE, so a wrong VTIMEZONE shows up here."""
    expected_utc_hour = {"Summer social": 18, "Winter social": 19, "Far summer": 18}
    by_vobject = {e.summary.value: e.dtstart.value for e in parse(files["branch"]).vevent_list}
    by_ics = {e.name: e.begin for e in ics_py.Calendar(files["branch"].decode()).events}
    expanded = {str(e["SUMMARY"]): e["DTSTART"].dt for e in recurring_ical_events.of(
        icalendar.Calendar.from_ical(files["branch"])).between((NEXT_YEAR, 1, 1),
                                                               (NEXT_YEAR + 3, 1, 1))}
    for title, utc_hour in expected_utc_hour.items():
        for start in (by_vobject[title], by_ics[title].datetime, expanded[title]):
            assert start.hour == 19, (title, start)
            assert start.astimezone(UTC).hour == utc_hour, (title, start)


@pytest.mark.parametrize("zone", ["Europe/London", "America/New_York", "Australia/Sydney",
                                  "Europe/Berlin", "Asia/Shanghai"])
def test_vtimezone_gives_the_right_offset_all_year_round(client, admin, zone):
    """Monthly meetups over three years: the offset vobject derives from our VTIMEZONE (with
    its RDATE lines) matches zoneinfo every time."""
    from planner.events.recurrence import Frequency, RepeatRule

    branch = create_branch(admin, BranchInput(name="Zone", city="Zone", country="GB",
                                              slug="zone", latitude=1, longitude=1,
                                              timezone=zone, locale="en"))
    meetup(admin, branch, "Monthly", datetime(NEXT_YEAR, 1, 5, 19),
           repeat=RepeatRule(Frequency.MONTHLY, count=30))
    data = client.get("/branches/zone/calendar.ics").data
    starts = [e.dtstart.value for e in parse(data).vevent_list]
    assert len(starts) == 30
    for start in starts:
        real = start.replace(tzinfo=ZoneInfo(zone))
        assert start.hour == 19
        assert start.utcoffset() == real.utcoffset(), start
    assert [e.begin.utcoffset() for e in sorted(ics_py.Calendar(data.decode()).events)] == [
        s.utcoffset() for s in starts]


def test_vtimezone_is_cached_per_zone_and_years(cast):
    ics.vtimezone.cache_clear()
    event = one(cast.lead, cast.branch, "Go club")
    ics.event_ics(event)
    ics.event_ics(event)
    info = ics.vtimezone.cache_info()
    assert info.misses == 1 and info.hits == 1
    london = ics.vtimezone("Europe/London", NEXT_YEAR, NEXT_YEAR + 3)
    assert london.count(b"RDATE:") == 6  # four years, two changes a year, first of each as DTSTART
    assert b"COMMENT" not in london and b"RDATE:2" in london


def test_plain_drops_control_characters_but_keeps_tabs_and_line_breaks():
    assert ics.plain("a\x00b\x1bc\td\r\ne\rf\x7fg\x85h\u200b中") == "abc\td\ne\nfgh\u200b中"
