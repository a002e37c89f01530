"""Hundreds of members RSVP at once to a meetup with few seats: never more going than seats,
everyone else waitlisted in one contiguous queue, nobody twice; cancelling promotes in order."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import insert, select

from branches.services import VenueInput, save_venue
from planner.accounts.models import User
from planner.accounts.passwords import hash_password
from planner.accounts.services import issue_api_token
from planner.core.extensions import db
from planner.events import services as events
from planner.events.models import EventStatus
from planner.registrations import services
from planner.registrations.models import Registration, RegistrationStatus
from planner.registrations.waitlist import waitlist_position

YEAR = datetime.now(UTC).year + 1


def members(count: int) -> list[User]:
    """Many members at once (one Argon2 hash shared, so the set-up takes seconds)."""
    shared_hash = hash_password("not used here")
    db.session.execute(insert(User), [
        {"email": f"crowd{n}@example.com", "password_hash": shared_hash,
         "display_name": f"Crowd {n}", "locale": "en", "timezone": "Asia/Shanghai"}
        for n in range(count)])
    db.session.commit()
    return list(db.session.scalars(select(User).where(User.email.like("crowd%"))
                                   .order_by(User.id)))


def fire(url: str, tokens: list[str], guests: list[int]) -> list[int]:
    barrier = threading.Barrier(min(len(tokens), 32))

    def post(n: int) -> int:
        body = json.dumps({"guests": guests[n]}).encode()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {tokens[n]}"})
        if n < 32:
            barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=32) as pool:
        return list(pool.map(post, range(len(tokens))))


def run_crowd(live_server, cast, crowd: int, seats: int) -> None:
    hall = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", seats))
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Launch party", starts_local=datetime(YEAR, 9, 1, 19),
        ends_local=datetime(YEAR, 9, 1, 22), venue_id=hall.id, status=EventStatus.PUBLISHED))
    event.max_guests = 2
    event_id = event.id
    people = members(crowd)
    tokens = [issue_api_token(person) for person in people]
    # Every tenth member double-submits: the retry must not create a second registration.
    guests = [n % 3 for n in range(crowd)]
    order = list(range(crowd)) + list(range(0, crowd, 10))
    db.session.commit()

    statuses = fire(f"{live_server}/api/v1/events/{event_id}/registrations",
                    [tokens[n] for n in order], [guests[n] for n in order])
    assert set(statuses) <= {200, 201}, statuses

    rows = list(db.session.scalars(select(Registration).where(
        Registration.event_id == event_id)))
    assert len(rows) == crowd == len({r.user_id for r in rows})
    going = [r for r in rows if r.status is RegistrationStatus.GOING]
    waiting = sorted((r for r in rows if r.status is RegistrationStatus.WAITLISTED),
                     key=lambda r: (r.queued_at, r.id))
    taken = sum(r.seats for r in going)
    assert taken <= seats
    assert seats - taken < 3  # the leftover is smaller than any party that was turned away
    assert len(going) + len(waiting) == crowd
    assert [waitlist_position(r) for r in waiting] == list(range(1, len(waiting) + 1))

    leaver = going[0]
    free_after = seats - taken + leaver.seats
    services.cancel(leaver.user, event_id)
    expected, left = [], free_after
    for registration in waiting:  # promotion follows the queue, skipping parties too big
        if registration.seats <= left:
            expected.append(registration.id)
            left -= registration.seats
    db.session.expire_all()
    promoted = [r.id for r in waiting if db.session.get(Registration, r.id).status
                is RegistrationStatus.GOING]
    assert promoted == expected and promoted


def test_rsvp_crowd(live_server, cast, database_url):
    crowd, seats = (300, 50) if database_url.startswith("postgresql") else (60, 12)
    run_crowd(live_server, cast, crowd, seats)
