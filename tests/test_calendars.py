"""Calendar feeds: what each feed lists, HTTP caching and conditional GET, tokens, privacy, and
how changes reach subscribers. Feeds are read back with vobject, a parser that did not write
them; tests/test_calendars_format.py checks the bytes with more parsers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

import pytest
import vobject
from sqlalchemy import event as sa_event
from sqlalchemy import insert, update

from branches.models import Branch, Venue
from branches.services import BranchInput, VenueInput, create_branch, join_branch, save_venue
from planner.calendars import ics, services
from planner.calendars.models import CalendarFeed
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events import services as events
from planner.events.localtime import utc_to_local
from planner.events.models import Event, EventStatus
from planner.registrations import services as registrations
from planner.registrations.models import Registration, RegistrationStatus
from tests.conftest import login

ICS_TYPE = "text/calendar; charset=utf-8"


# --- helpers (also used by test_calendars_format.py) -----------------------------------------

def local_day(days: int, hour: int = 19, timezone: str = "Asia/Shanghai") -> datetime:
    """A naive wall-clock time `days` from today in the timezone."""
    today = utc_to_local(utcnow(), timezone).date()
    return datetime.combine(today + timedelta(days=days), time(hour))


def meetup(lead: Any, branch: Any, title: str, start: datetime, *, hours: int = 2,
           status: EventStatus = EventStatus.PUBLISHED, venue_id: int | None = None,
           description: str = "", capacity: int | None = None,
           repeat: Any = None) -> list[Event]:
    data = events.EventInput(title, start, start + timedelta(hours=hours),
                             description=description, venue_id=venue_id,
                             online_url=None if venue_id else "https://meet.example/go",
                             capacity=capacity, status=status)
    return events.schedule(lead, branch, data, repeat)


def one(lead: Any, branch: Any, title: str, days: int = 7, **options: Any) -> Event:
    return meetup(lead, branch, title, local_day(days, timezone=branch.timezone), **options)[0]


def parse(data: bytes) -> Any:
    """The single VCALENDAR in the bytes, read by vobject with validation on."""
    calendars = list(vobject.readComponents(data.decode("utf-8"), validate=True))
    assert len(calendars) == 1
    return calendars[0]


def vevents(data: bytes) -> dict[str, Any]:
    """The feed's VEVENTs by summary."""
    found = {e.summary.value: e for e in getattr(parse(data), "vevent_list", [])}
    assert len(found) == len(getattr(parse(data), "vevent_list", []))
    return found


def feed_url(user: Any) -> str:
    return f"/calendar/{services.feed_token(user)}.ics"


@contextmanager
def counted_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE is not a query
            statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)


def add_meetups_directly(branch: Any, number: int, first_day: int) -> None:
    start = utcnow() + timedelta(days=first_day)
    db.session.execute(insert(Event), [
        {"branch_id": branch.id, "title": f"Bulk {first_day}-{n}",
         "starts_at": start + timedelta(hours=n), "ends_at": start + timedelta(hours=n + 2),
         "original_starts_at": start + timedelta(hours=n),
         "online_url": "https://meet.example/bulk", "status": EventStatus.PUBLISHED,
         "description": "", "cancel_message": "", "sequence": 0, "max_guests": 0,
         "requires_approval": False, "created_at": utcnow(), "updated_at": utcnow()}
        for n in range(number)])
    db.session.commit()


# --- the one-meetup file ---------------------------------------------------------------------

def test_event_ics_holds_one_meetup_without_a_calendar_name(cast):
    event = one(cast.lead, cast.branch, "Go club")
    data = ics.event_ics(event)
    calendar = parse(data)
    assert [e.summary.value for e in calendar.vevent_list] == ["Go club"]
    assert calendar.vevent.uid.value == f"event-{event.id}@localhost"  # PUBLIC_URL's host
    assert b"X-WR-CALNAME" not in data and b"\r\nNAME:" not in data
    assert b"REFRESH-INTERVAL" not in data


def test_event_ics_outside_a_request_has_the_same_uid(app, cast):
    """Mail sent by a command builds the file with no request: links use PUBLIC_URL."""
    import contextvars

    app.config["PUBLIC_URL"] = "https://juhui.example"
    event_id = one(cast.lead, cast.branch, "Go club").id
    in_request = parse(ics.event_ics(db.session.get(Event, event_id))).vevent
    db.session.commit()

    def build() -> bytes:
        with app.app_context():
            return ics.event_ics(db.session.get(Event, event_id))

    outside = parse(contextvars.Context().run(build)).vevent
    assert outside.uid.value == in_request.uid.value == f"event-{event_id}@juhui.example"
    assert outside.url.value == f"https://juhui.example/events/{event_id}"
    assert in_request.url.value == outside.url.value  # the request's host plays no part


def test_event_file_over_http(client, cast):
    event = one(cast.lead, cast.branch, "Go club")
    response = client.get(f"/events/{event.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == ICS_TYPE
    assert response.headers["Cache-Control"] == "public, max-age=900"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data == ics.event_ics(event)


def test_draft_has_no_calendar_file(client, cast):
    draft = one(cast.lead, cast.branch, "Secret plan", status=EventStatus.DRAFT)
    login(client, cast.lead)  # not even for its lead: a public, cacheable URL
    assert client.get(f"/events/{draft.id}.ics").status_code == 404
    assert client.get("/events/999999.ics").status_code == 404


def test_event_file_follows_the_branch_language(client, cast, admin):
    english = create_branch(admin, BranchInput(
        name="Dublin", city="Dublin", country="IE", slug="dublin", latitude=53.35,
        longitude=-6.26, timezone="Europe/Dublin", locale="en"))
    chinese = one(cast.lead, cast.branch, "茶会")
    events.cancel_event(cast.lead, chinese, "下雨了")
    own = one(admin, english, "Tea")
    events.cancel_event(admin, own, "Rain")
    assert vevents(client.get(f"/events/{chinese.id}.ics").data)["已取消：茶会"]
    assert vevents(client.get(f"/events/{own.id}.ics").data)["Cancelled: Tea"]


def test_api_gives_the_ics_url(client, cast):
    event = one(cast.lead, cast.branch, "Go club")
    draft = one(cast.lead, cast.branch, "Draft", status=EventStatus.DRAFT)
    body = client.get(f"/api/v1/events/{event.id}").json
    assert body["ics_url"] == f"http://localhost/events/{event.id}.ics"
    assert client.get(body["ics_url"]).status_code == 200
    assert events.get_event(draft.id)  # drafts: no file to point to
    from planner.events.api import event_json
    assert event_json(draft)["ics_url"] is None


# --- the branch feed -------------------------------------------------------------------------

def test_branch_feed_lists_published_and_recently_cancelled_only(client, cast):
    one(cast.lead, cast.branch, "Published")
    one(cast.lead, cast.branch, "Draft", status=EventStatus.DRAFT)
    cancelled = one(cast.lead, cast.branch, "Called off")
    events.cancel_event(cast.lead, cancelled, "Venue flooded")
    long_cancelled = one(cast.lead, cast.branch, "Long gone")
    events.cancel_event(cast.lead, long_cancelled, "Nobody came")
    recent_past = one(cast.lead, cast.branch, "Last month")
    old_past = one(cast.lead, cast.branch, "Last year")
    one(cast.other_lead, cast.other_branch, "Other branch")
    now = utcnow()
    db.session.execute(update(Event).where(Event.id == long_cancelled.id)
                       .values(updated_at=now - timedelta(days=31)))
    for event, days in ((recent_past, 80), (old_past, 100)):
        db.session.execute(update(Event).where(Event.id == event.id).values(
            starts_at=now - timedelta(days=days, hours=2), ends_at=now - timedelta(days=days),
            original_starts_at=now - timedelta(days=days, hours=2)))
    db.session.commit()

    listed = vevents(client.get("/branches/chengdu/calendar.ics").data)
    assert set(listed) == {"Published", "已取消：Called off", "Last month"}  # a Chinese branch
    assert listed["已取消：Called off"].status.value == "CANCELLED"
    assert "Venue flooded" in listed["已取消：Called off"].description.value
    assert listed["Published"].status.value == "CONFIRMED"


def test_branch_feed_has_a_name_and_refresh_hints(client, cast):
    one(cast.lead, cast.branch, "Go club")
    data = client.get("/branches/chengdu/calendar.ics").data
    assert "X-WR-CALNAME:成都 branch · 聚会\r\n".encode() in data  # the branch speaks Chinese
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in data
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in data


def test_unknown_branch_feed_is_404(client, cast):
    assert client.get("/branches/nowhere/calendar.ics").status_code == 404


def test_branch_feed_answers_with_calendar_headers(client, cast):
    one(cast.lead, cast.branch, "Go club")
    response = client.get("/branches/chengdu/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == ICS_TYPE
    assert response.headers["Cache-Control"] == "public, max-age=900"
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["ETag"])
    assert response.headers["Last-Modified"].endswith(" GMT")


# --- stability and change --------------------------------------------------------------------

def test_same_data_gives_the_same_bytes_and_etag(client, cast, make_app):
    one(cast.lead, cast.branch, "Go club")
    first = client.get("/branches/chengdu/calendar.ics")
    second = client.get("/branches/chengdu/calendar.ics")
    # Another process (a cold cache) produces the same bytes too.
    third = make_app().test_client().get("/branches/chengdu/calendar.ics")
    assert first.data == second.data == third.data
    assert first.headers["ETag"] == second.headers["ETag"] == third.headers["ETag"]
    assert first.headers["Last-Modified"] == third.headers["Last-Modified"]


def test_rescheduling_bumps_sequence_and_keeps_the_uid(client, cast):
    event = one(cast.lead, cast.branch, "Go club")
    before = client.get("/branches/chengdu/calendar.ics")
    data = events.event_input(event)
    moved = events.EventInput(data.title, data.starts_local + timedelta(days=1),
                              data.ends_local + timedelta(days=1), online_url=data.online_url,
                              status=data.status)
    events.update_event(cast.lead, event, moved)
    after = client.get("/branches/chengdu/calendar.ics")
    old, new = vevents(before.data)["Go club"], vevents(after.data)["Go club"]
    assert new.uid.value == old.uid.value
    assert int(new.sequence.value) == int(old.sequence.value) + 1
    assert new.dtstart.value - old.dtstart.value == timedelta(days=1)
    assert new.dtstamp.value >= old.dtstamp.value
    assert after.headers["ETag"] != before.headers["ETag"]


def test_cancelling_marks_the_event_cancelled_with_a_higher_sequence(client, cast):
    event = one(cast.lead, cast.branch, "Go club")
    old = vevents(client.get("/branches/chengdu/calendar.ics").data)["Go club"]
    events.cancel_event(cast.lead, event, "Venue flooded")
    new = vevents(client.get("/branches/chengdu/calendar.ics").data)["已取消：Go club"]
    assert new.uid.value == old.uid.value
    assert new.status.value == "CANCELLED"
    assert new.transp.value == "TRANSPARENT"
    assert int(new.sequence.value) > int(old.sequence.value)


def test_series_occurrences_keep_their_uid_when_moved(client, cast):
    from planner.events.recurrence import Frequency, RepeatRule

    series = meetup(cast.lead, cast.branch, "Weekly", local_day(7),
                    repeat=RepeatRule(Frequency.WEEKLY, count=3))
    before = parse(client.get("/branches/chengdu/calendar.ics").data).vevent_list
    uids = [e.uid.value for e in before]
    assert len(set(uids)) == 3 and all(u.startswith(f"series-{series[0].series_id}-")
                                       for u in uids)
    second = series[1]
    data = events.event_input(second)
    events.update_event(cast.lead, second, events.EventInput(
        data.title, data.starts_local + timedelta(hours=1), data.ends_local + timedelta(hours=1),
        online_url=data.online_url, status=data.status))
    after = parse(client.get("/branches/chengdu/calendar.ics").data).vevent_list
    assert [e.uid.value for e in after] == uids
    assert [int(e.sequence.value) for e in after] == [0, 1, 0]


# --- conditional GET -------------------------------------------------------------------------

@pytest.fixture
def feed(client, cast):
    one(cast.lead, cast.branch, "Go club")
    response = client.get("/branches/chengdu/calendar.ics")
    return response.headers["ETag"], response.headers["Last-Modified"]


def test_matching_etag_gets_304_without_a_body(client, feed):
    etag, _last_modified = feed
    response = client.get("/branches/chengdu/calendar.ics", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Cache-Control"] == "public, max-age=900"


def test_weak_form_of_the_etag_matches_too(client, feed):
    etag, _last_modified = feed
    response = client.get("/branches/chengdu/calendar.ics",
                          headers={"If-None-Match": f"W/{etag}"})
    assert response.status_code == 304


def test_stale_etag_gets_200_even_with_a_fresh_date(client, feed):
    _etag, last_modified = feed
    response = client.get("/branches/chengdu/calendar.ics",
                          headers={"If-None-Match": '"stale"', "If-Modified-Since": last_modified})
    assert response.status_code == 200
    assert b"Go club" in response.data


def test_if_modified_since(client, feed):
    _etag, last_modified = feed
    same = client.get("/branches/chengdu/calendar.ics",
                      headers={"If-Modified-Since": last_modified})
    older = client.get("/branches/chengdu/calendar.ics",
                       headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert same.status_code == 304
    assert older.status_code == 200 and b"Go club" in older.data


def test_a_change_after_the_clients_copy_gets_200(client, cast, feed):
    etag, last_modified = feed
    event = db.session.scalars(db.select(Event)).one()
    events.cancel_event(cast.lead, event, "Rain")
    response = client.get("/branches/chengdu/calendar.ics",
                          headers={"If-None-Match": etag, "If-Modified-Since": last_modified})
    assert response.status_code == 200
    assert b"STATUS:CANCELLED" in response.data


def test_dropping_out_of_the_window_moves_last_modified(client, cast, monkeypatch):
    """No edit happens, time passes: a client that only sends If-Modified-Since must still
    learn that the meetup left the feed."""
    from planner.calendars import views

    event = one(cast.lead, cast.branch, "Go club")
    now = utcnow()
    db.session.execute(update(Event).where(Event.id == event.id).values(
        starts_at=now - timedelta(days=89, hours=2), ends_at=now - timedelta(days=89),
        original_starts_at=now - timedelta(days=89, hours=2)))
    db.session.commit()
    first = client.get("/branches/chengdu/calendar.ics")
    assert b"Go club" in first.data
    monkeypatch.setattr(views, "utcnow", lambda: now + timedelta(days=2))
    second = client.get("/branches/chengdu/calendar.ics",
                        headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert second.status_code == 200
    assert b"Go club" not in second.data


def test_304_does_not_build_the_feed(client, cast, feed, monkeypatch):
    etag, _last_modified = feed
    person = cast.member
    registrations.rsvp(person, db.session.scalars(db.select(Event)).one().id)
    url = feed_url(person)
    token_etag = client.get(url).headers["ETag"]

    def refuse(*args, **kwargs):
        raise AssertionError("the feed was built for a 304")

    monkeypatch.setattr(ics, "calendar_ics", refuse)
    monkeypatch.setattr(services, "branch_entries", refuse)
    monkeypatch.setattr(services, "personal_entries", refuse)
    with counted_queries() as statements:
        response = client.get("/branches/chengdu/calendar.ics",
                              headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert len(statements) <= 2, statements  # the branch, then one aggregate
    with counted_queries() as statements:
        response = client.get(url, headers={"If-None-Match": token_etag})
    assert response.status_code == 304
    assert len(statements) <= 2, statements  # the member by token, then one aggregate


def test_a_repeated_request_is_served_without_rebuilding(client, cast, monkeypatch):
    one(cast.lead, cast.branch, "Go club")
    first = client.get("/branches/chengdu/calendar.ics")

    def refuse(*args, **kwargs):
        raise AssertionError("the same feed was built twice")

    monkeypatch.setattr(ics, "calendar_ics", refuse)
    second = client.get("/branches/chengdu/calendar.ics")  # a client that keeps no copy
    assert second.status_code == 200
    assert second.data == first.data


# --- the personal feed -----------------------------------------------------------------------

def test_personal_feed_lists_going_and_waitlisted_rsvps(client, cast):
    going = one(cast.lead, cast.branch, "Going")
    full = one(cast.lead, cast.branch, "Full", capacity=1)
    dropped = one(cast.lead, cast.branch, "Dropped")
    approval = one(cast.lead, cast.branch, "Needs approval")
    one(cast.lead, cast.branch, "Not mine")
    approval.requires_approval = True
    db.session.commit()
    registrations.rsvp(cast.staff, full.id)
    for event in (going, full, dropped, approval):
        registrations.rsvp(cast.member, event.id)
    registrations.cancel(cast.member, dropped.id)

    response = client.get(feed_url(cast.member))
    listed = vevents(response.data)
    assert set(listed) == {"Going", "Full"}
    assert listed["Going"].status.value == "CONFIRMED"
    assert listed["Full"].status.value == "TENTATIVE"
    assert response.headers["Cache-Control"] == "private, max-age=900"
    assert response.headers["Content-Type"] == ICS_TYPE


def test_personal_feed_needs_no_cookie_and_sets_none(app, cast):
    registrations.rsvp(cast.member, one(cast.lead, cast.branch, "Going").id)
    url = feed_url(cast.member)
    db.session.commit()
    bare = app.test_client(use_cookies=False)
    response = bare.get(url)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Going" in vevents(response.data)


def test_personal_feed_can_include_followed_branches(client, cast, admin):
    one(cast.lead, cast.branch, "Branch meetup")
    one(cast.lead, cast.branch, "Branch draft", status=EventStatus.DRAFT)
    one(cast.other_lead, cast.other_branch, "Not followed")
    mine = one(cast.other_lead, cast.other_branch, "RSVP elsewhere")
    registrations.rsvp(cast.member, mine.id)
    assert set(vevents(client.get(feed_url(cast.member)).data)) == {"RSVP elsewhere"}

    login(client, cast.member)
    response = client.post("/calendar/settings", data={"include_branches": "y"})
    assert response.status_code == 302
    db.session.refresh(cast.member)
    assert cast.member.calendar_includes_branches
    assert set(vevents(client.get(feed_url(cast.member)).data)) == {
        "Branch meetup", "RSVP elsewhere"}

    client.post("/calendar/settings", data={})
    db.session.refresh(cast.member)
    assert not cast.member.calendar_includes_branches


def test_personal_feed_follows_only_active_memberships(client, cast, admin):
    from branches.models import JoinPolicy

    waiting = create_branch(admin, BranchInput(name="Xi'an", city="西安", slug="xian",
                                               join_policy=JoinPolicy.APPROVAL))
    one(admin, waiting, "Pending branch meetup")
    join_branch(cast.member, waiting)  # a request, not yet approved
    services.set_includes_branches(cast.member, True)
    one(cast.lead, cast.branch, "Branch meetup")
    assert set(vevents(client.get(feed_url(cast.member)).data)) == {"Branch meetup"}


def test_personal_feed_speaks_the_members_language(client, cast, make_user):
    event = one(cast.lead, cast.branch, "Go club")
    events.cancel_event(cast.lead, event, "Rain")
    chinese = make_user("Chinese", locale="zh_CN")
    english = cast.member
    for person in (chinese, english):
        services.set_includes_branches(person, True)
    join_branch(chinese, cast.branch)
    zh = client.get(feed_url(chinese)).data
    en = client.get(feed_url(english)).data
    assert "X-WR-CALNAME:我的活动 · 聚会".encode() in zh and set(vevents(zh)) == {"已取消：Go club"}
    assert b"X-WR-CALNAME:My meetups" in en and set(vevents(en)) == {"Cancelled: Go club"}


def test_waitlist_promotion_changes_the_personal_feed(client, cast):
    full = one(cast.lead, cast.branch, "Full", capacity=1)
    registrations.rsvp(cast.staff, full.id)
    registrations.rsvp(cast.member, full.id)
    before = client.get(feed_url(cast.member))
    assert vevents(before.data)["Full"].status.value == "TENTATIVE"
    registrations.cancel(cast.staff, full.id)
    after = client.get(feed_url(cast.member), headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert vevents(after.data)["Full"].status.value == "CONFIRMED"


# --- tokens ----------------------------------------------------------------------------------

def test_rotating_the_token_kills_the_old_url_at_once(client, cast):
    registrations.rsvp(cast.member, one(cast.lead, cast.branch, "Going").id)
    old_url = feed_url(cast.member)
    assert client.get(old_url).status_code == 200
    login(client, cast.member)
    response = client.post("/calendar/token/rotate")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/profile#calendar")
    db.session.refresh(cast.member)
    new_url = feed_url(cast.member)
    assert new_url != old_url
    assert client.get(old_url).status_code == 404
    assert "Going" in vevents(client.get(new_url).data)


def test_unknown_token_gets_the_ordinary_404(app, cast):
    registrations.rsvp(cast.member, one(cast.lead, cast.branch, "Going").id)
    services.feed_token(cast.member)
    db.session.commit()
    bare = app.test_client(use_cookies=False)
    paths = ["/calendar/" + "x" * 43 + ".ics", "/calendar/%27%20or%201=1.ics"]
    elsewhere = bare.get("/no/such/page")
    for path in paths:
        response = bare.get(path)
        assert response.status_code == 404
        # The page differs only where it echoes its own path (the language switch's "next").
        assert response.text.replace(path.replace("%27%20or%201=1", "&#39; or 1=1"),
                                     "/no/such/page") == elsewhere.text
        assert "ETag" not in response.headers
        assert sorted(k for k, _v in response.headers if k != "Set-Cookie") == sorted(
            k for k, _v in elsewhere.headers if k != "Set-Cookie")


def test_tokens_are_random_and_long(cast, make_user):
    tokens = {services.feed_token(make_user(f"P{n}")) for n in range(5)}
    assert len(tokens) == 5
    assert all(len(t) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", t) for t in tokens)
    assert services.feed_token(cast.member) == services.feed_token(cast.member)


def test_settings_and_rotation_need_login(client):
    for path in ("/calendar/token/rotate", "/calendar/settings"):
        response = client.post(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- privacy ---------------------------------------------------------------------------------

def test_feeds_carry_no_member_data(client, cast, make_user):
    from planner.accounts.services import Profile, update_profile

    event = one(cast.lead, cast.branch, "Go club", description="Bring a board")
    secret = make_user("Zhang Secretname")
    update_profile(secret, Profile("Zhang Secretname", "+86 138 0000 1111", "en",
                                   "Asia/Shanghai"))
    join_branch(secret, cast.branch)
    registrations.rsvp(secret, event.id)
    registrations.rsvp(cast.member, event.id)
    services.set_includes_branches(cast.member, True)
    one(cast.lead, cast.branch, "Draft plan", status=EventStatus.DRAFT)
    feeds = [client.get("/branches/chengdu/calendar.ics").data,
             client.get(feed_url(cast.member)).data, client.get(f"/events/{event.id}.ics").data]
    for data in feeds:
        unfolded = re.sub(rb"\r\n[ \t]", b"", data).decode()
        assert "Go club" in unfolded
        for private in ("Secretname", "138 0000", secret.email, cast.member.display_name,
                        cast.member.email, cast.lead.display_name, "Draft plan", "ORGANIZER",
                        "ATTENDEE", "METHOD"):
            assert private not in unfolded, private


# --- cost ------------------------------------------------------------------------------------

def test_feed_query_count_does_not_grow_with_meetups(client, cast):
    save_venue(cast.lead, cast.branch, VenueInput("Teahouse", "玉林西路 55 号", 30))
    services.set_includes_branches(cast.member, True)
    url = feed_url(cast.member)

    def queries(path: str) -> int:
        with counted_queries() as statements:
            assert client.get(path).status_code == 200
        return len(statements)

    add_meetups_directly(cast.branch, 5, first_day=1)
    few = (queries("/branches/chengdu/calendar.ics"), queries(url))
    add_meetups_directly(cast.branch, 300, first_day=2)
    many = (queries("/branches/chengdu/calendar.ics"), queries(url))
    assert many == few
    # A 200 right after a write also brings the feed's kept validator up to date (one UPDATE);
    # the member's feed reads the member by token, then its rows with the RSVPs' figures.
    assert few[0] <= 3 and few[1] <= 4, few


def test_vevent_cache_is_bounded_and_reused(app, cast, monkeypatch):
    app.config["CALENDAR_CACHE_VEVENTS"] = 3
    app.extensions.pop("calendars.vevents", None)
    add_meetups_directly(cast.branch, 5, first_day=1)
    built: list[int] = []
    real = ics._build_vevent
    monkeypatch.setattr(ics, "_build_vevent", lambda entry: built.append(1) or real(entry))
    first = services.branch_feed(cast.branch, utcnow())
    assert len(built) == 5 and len(ics.vevent_cache()) == 3
    event = db.session.scalars(db.select(Event).order_by(Event.starts_at.desc())).first()
    built.clear()
    assert ics.calendar_ics([ics.FeedEntry(event)], "zh_CN") == ics.calendar_ics(
        [ics.FeedEntry(event)], "zh_CN")
    assert built == []  # the latest three stayed in the cache
    assert services.branch_feed(cast.branch, utcnow()) == first


# --- pages -----------------------------------------------------------------------------------

def test_profile_shows_the_personal_feed_links(client, cast):
    login(client, cast.member)
    page = client.get("/profile").text
    db.session.refresh(cast.member)
    token = cast.member.calendar_token
    assert token
    https = f"http://localhost/calendar/{token}.ics"
    assert re.search(rf'id="personal-feed-url"[^>]*value="{re.escape(https)}"[^>]*readonly',
                     page)
    assert f'href="webcal://localhost/calendar/{token}.ics"' in page
    assert ("https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2Flocalhost%2Fcalendar%2F"
            f"{token}.ics") in page
    assert "8 to 24 hours" in page
    assert 'action="/calendar/token/rotate"' in page


def test_branch_page_shows_the_feed_links(client, cast):
    page = client.get("/branches/chengdu").text
    assert 'href="webcal://localhost/branches/chengdu/calendar.ics"' in page
    assert 'value="http://localhost/branches/chengdu/calendar.ics"' in page
    assert "cid=webcal%3A%2F%2Flocalhost%2Fbranches%2Fchengdu%2Fcalendar.ics" in page


def test_event_links_macro(app, cast):
    from flask import render_template_string

    event = one(cast.lead, cast.branch, "Go, club & tea")
    template = ('{% from "calendars/_event_links.html" import event_links %}'
                "{{ event_links(event) }}")
    html = render_template_string(template, event=event)
    start = event.starts_at.strftime("%Y%m%dT%H%M%SZ")
    end = event.ends_at.strftime("%Y%m%dT%H%M%SZ")
    assert f'href="http://localhost/events/{event.id}.ics"' in html
    assert "calendar.google.com/calendar/render?action=TEMPLATE&amp;text=Go%2C+club+%26+tea" in html
    assert f"dates={start}%2F{end}" in html
    assert "outlook.live.com/calendar/0/deeplink/compose?" in html
    assert "startdt=" + event.starts_at.strftime("%Y-%m-%dT%H%%3A%M%%3A%SZ") in html
    events.cancel_event(cast.lead, event, "Rain")
    cancelled = render_template_string(template, event=event)
    assert ".ics" in cancelled and "calendar.google.com" not in cancelled
    draft = one(cast.lead, cast.branch, "Draft", status=EventStatus.DRAFT)
    assert ".ics" not in render_template_string(template, event=draft)


def test_the_meetup_page_offers_the_calendar_links(client, cast):
    event = one(cast.lead, cast.branch, "Tea")
    page = client.get(f"/events/{event.id}").text
    assert f'href="http://localhost/events/{event.id}.ics"' in page
    assert "calendar.google.com/calendar/render?action=TEMPLATE" in page


def test_registration_rows_are_not_needed_for_branch_feed(client, cast):
    """A member's RSVP changes the branch feed not at all (it is the same for everyone)."""
    event = one(cast.lead, cast.branch, "Go club")
    before = client.get("/branches/chengdu/calendar.ics")
    db.session.execute(insert(Registration), [{
        "event_id": event.id, "user_id": cast.member.id, "status": RegistrationStatus.GOING,
        "ticket_code": "t-1", "guests": 0, "queued_at": utcnow()}])
    db.session.commit()
    after = client.get("/branches/chengdu/calendar.ics")
    assert after.data == before.data


def _retitle(lead: Any, event: Event, title: str) -> None:
    events.update_event(lead, event, replace(events.event_input(event), title=title))
    db.session.commit()


def test_a_title_edit_changes_the_etag_and_the_old_one_stops_matching(client, cast, feed):
    etag, _last_modified = feed
    _retitle(cast.lead, db.session.scalars(db.select(Event)).one(), "Go club (new room)")
    response = client.get("/branches/chengdu/calendar.ics", headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.headers["ETag"] != etag
    assert b"Go club (new room)" in response.data
    again = client.get("/branches/chengdu/calendar.ics",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_if_modified_since_is_compared_to_the_second_not_the_day(client, cast):
    event = one(cast.lead, cast.branch, "Go club")
    now = utcnow()
    earlier_today = max(now.replace(hour=0, minute=0, second=0, microsecond=0),
                        now - timedelta(hours=2))
    assert now - earlier_today >= timedelta(seconds=2) or pytest.fail("too close to midnight")
    for model in (Event, Venue, Branch):  # the feed's copy was made earlier today
        db.session.execute(update(model).values(updated_at=earlier_today))
    db.session.execute(update(CalendarFeed).values(changed_at=earlier_today))  # so was the
    db.session.commit()  # change the feeds' kept validators last saw
    copy = client.get("/branches/chengdu/calendar.ics").headers["Last-Modified"]
    assert client.get("/branches/chengdu/calendar.ics",
                      headers={"If-Modified-Since": copy}).status_code == 304
    _retitle(cast.lead, db.session.get(Event, event.id), "Go club later today")
    response = client.get("/branches/chengdu/calendar.ics", headers={"If-Modified-Since": copy})
    assert response.status_code == 200 and b"Go club later today" in response.data
    assert response.headers["Last-Modified"] != copy
