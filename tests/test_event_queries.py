"""Listings cost a fixed number of queries, whatever the number of meetups."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event

from branches.services import VenueInput, save_venue
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events.models import Event, EventStatus


@contextmanager
def counted_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)


def add_meetups(cast, number: int, first_day: int) -> None:
    """Meetups at the branch's venues (and some online-only), straight into the database."""
    venues = cast.branch.venues or [
        save_venue(cast.lead, cast.branch, VenueInput(f"Venue {n}", "Road", 30))
        for n in range(3)]
    start = utcnow() + timedelta(days=first_day)
    db.session.add_all(Event(
        branch_id=cast.branch.id, title=f"Meetup {first_day}-{n}",
        starts_at=start + timedelta(hours=n), ends_at=start + timedelta(hours=n, minutes=90),
        original_starts_at=start + timedelta(hours=n), capacity=30,
        venue=venues[n % 3] if n % 4 else None,
        online_url=None if n % 4 else "https://meet.example/x",
        status=EventStatus.PUBLISHED) for n in range(number))
    db.session.commit()


def queries_for(client, url: str) -> int:
    with counted_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements)


@pytest.mark.parametrize("url", ["/branches/chengdu", "/events/near?place=成都&radius_km=50",
                                 "/branches/chengdu/events", "/"])
def test_query_count_does_not_grow_with_meetups(client, cast, url):
    add_meetups(cast, 5, first_day=1)
    few = queries_for(client, url)
    add_meetups(cast, 495, first_day=2)
    many = queries_for(client, url)
    assert many == few, (few, many)
    assert few <= 12


def add_registrations(event, first: int, number: int) -> None:
    """Members with RSVPs straight into the database: going, waitlisted and pending."""
    from sqlalchemy import insert, select

    from planner.accounts.models import User
    from planner.registrations.models import Registration, RegistrationStatus

    db.session.execute(insert(User), [
        {"email": f"fan{n}@example.com", "password_hash": "x", "display_name": f"Fan {n}",
         "locale": "en", "timezone": "Asia/Shanghai"} for n in range(first, first + number)])
    users = db.session.scalars(select(User.id).where(User.email.like("fan%"))
                               .order_by(User.id).offset(first)).all()
    statuses = [RegistrationStatus.GOING, RegistrationStatus.WAITLISTED,
                RegistrationStatus.PENDING]
    db.session.execute(insert(Registration), [
        {"event_id": event.id, "user_id": user_id, "status": statuses[n % 3],
         "ticket_code": f"code-{user_id}" if n % 3 == 0 else None, "guests": n % 2,
         "queued_at": utcnow() + timedelta(seconds=n)} for n, user_id in enumerate(users)])
    db.session.commit()


def test_registrations_page_query_count_is_fixed(client, cast):
    from tests.conftest import login

    add_meetups(cast, 1, first_day=1)
    event = db.session.scalars(db.select(Event)).first()
    event_id = event.id
    add_registrations(event, 0, 20)
    login(client, cast.lead)
    few = queries_for(client, f"/events/{event_id}/registrations")
    add_registrations(event, 20, 1980)
    many = queries_for(client, f"/events/{event_id}/registrations")
    assert many == few, (few, many)


def test_my_meetups_page_query_count_is_fixed_across_branches(client, cast):
    from planner.events import services as events
    from planner.registrations import services as registrations
    from tests.conftest import login, make_branch

    def rsvp_at(branch, day: int) -> None:
        start = (utcnow() + timedelta(days=day)).replace(tzinfo=None, microsecond=0)
        [event] = events.schedule(cast.admin, branch, events.EventInput(
            title=f"Day {day}", starts_local=start, ends_local=start + timedelta(hours=2),
            online_url="https://meet.example/x", status=EventStatus.PUBLISHED))
        registrations.rsvp(cast.member, event.id)
        db.session.commit()

    rsvp_at(cast.branch, 1)
    login(client, cast.member)
    few = queries_for(client, "/me/meetups")
    for day, city in enumerate(("上海", "广州", "深圳"), start=2):
        rsvp_at(make_branch(cast.admin, f"city{day}", city), day)
    many = queries_for(client, "/me/meetups")
    assert many == few, (few, many)


@pytest.mark.parametrize("page", ["door/roster.json", "checkin-list.csv"])
def test_door_lists_query_count_is_fixed(client, cast, make_user, page):
    from planner.checkin import services as door
    from planner.events import services as events
    from planner.registrations import services as registrations
    from tests.conftest import door_open, login

    hall = save_venue(cast.lead, cast.branch, VenueInput("Door hall", "Road", 60))
    starts, ends = door_open(cast.branch)
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Door", starts_local=starts, ends_local=ends, venue_id=hall.id,
        status=EventStatus.PUBLISHED))

    def arrive(number: int) -> None:
        for n in range(number):
            going = registrations.rsvp(make_user(f"Arrival {n}"), event.id)
            door.redeem(cast.staff if n % 2 else cast.lead, event.id, registration_id=going.id)
        db.session.commit()

    event_id = event.id
    arrive(1)
    login(client, cast.lead)
    few = queries_for(client, f"/events/{event_id}/{page}")
    arrive(20)  # checked in by two people, each their own
    many = queries_for(client, f"/events/{event_id}/{page}")
    assert many == few, (few, many)


def test_near_page_query_count_does_not_grow_with_branches(client, cast):
    from planner.events import services as events
    from tests.conftest import make_branch

    def online_meetup(branch) -> None:
        start = (utcnow() + timedelta(days=3)).replace(tzinfo=None, microsecond=0)
        events.schedule(cast.admin, branch, events.EventInput(
            title=f"Near {branch.slug}", starts_local=start, ends_local=start + timedelta(hours=2),
            online_url="https://meet.example/x", status=EventStatus.PUBLISHED))
        db.session.commit()

    online_meetup(cast.branch)
    url = "/events/near?place=成都&radius_km=2000"
    few = queries_for(client, url)
    for slug, city in (("chongqing", "重庆"), ("xian", "西安"), ("kunming", "昆明")):
        online_meetup(make_branch(cast.admin, slug, city))
    page = client.get(url).text
    assert all(f"Near {slug}" in page for slug in ("chengdu", "chongqing", "xian", "kunming"))
    many = queries_for(client, url)
    assert many == few, (few, many)


def test_the_branch_page_costs_the_same_queries_with_3_or_12_venues(client, cast):
    """Permission checks answer from the lead's memberships, read once per request, not once
    per venue (issue 13: 14 → 23 queries as venues went from 3 to 12)."""
    from tests.conftest import login

    for n in range(3):
        save_venue(cast.lead, cast.branch, VenueInput(f"Venue {n}", "Road", 30))
    db.session.commit()
    login(client, cast.lead)
    few = queries_for(client, f"/branches/{cast.branch.slug}")
    for n in range(3, 12):
        save_venue(cast.lead, cast.branch, VenueInput(f"Venue {n}", "Road", 30))
    db.session.commit()
    assert queries_for(client, f"/branches/{cast.branch.slug}") == few
