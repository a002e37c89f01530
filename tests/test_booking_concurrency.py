"""Many lead requests racing for one venue slot: exactly one wins, every other gets a clear 409."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from branches.services import VenueInput, save_venue
from planner.core.extensions import db
from planner.events.models import Booking
from tests.conftest import PASSWORD

REQUESTS = 24


def post_json(url: str, body: dict, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"} | headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def token(live_server: str, user) -> dict[str, str]:
    email = user.email
    db.session.commit()  # end the test's own transaction: it would hold SQLite's write lock
    status, body = post_json(f"{live_server}/api/v1/auth/token",
                             {"email": email, "password": PASSWORD}, {})
    assert status == 201, body
    return {"Authorization": f"Bearer {body['token']}"}


def test_concurrent_conflicting_bookings(live_server, cast):
    venue_id = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 40)).id
    headers = token(live_server, cast.lead)
    barrier = threading.Barrier(REQUESTS)

    def book(n: int) -> tuple[int, dict]:
        """Each request wants a slightly different, overlapping evening."""
        body = {"starts_at": f"2030-05-01T19:{n:02d}:00", "ends_at": "2030-05-01T21:30:00",
                "status": "confirmed", "note": f"request {n}"}
        barrier.wait()
        return post_json(f"{live_server}/api/v1/venues/{venue_id}/bookings", body, headers)

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        results = list(pool.map(book, range(REQUESTS)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (REQUESTS - 1), statuses
    for status, body in results:
        if status == 409:
            assert body["error"]["code"] == "venue_conflict"
            assert "request" in body["error"]["message"]  # names the booking that won
    live = db.session.scalar(select(func.count()).select_from(Booking).where(
        Booking.venue_id == venue_id))
    assert live == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_exclusion_constraint_is_a_second_wall(cast):
    """Even writes that skip the service cannot double-book a venue on PostgreSQL."""
    venue = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 40))

    def booking(hour: int) -> Booking:
        start = datetime(2030, 1, 1, hour, tzinfo=UTC)
        end = datetime(2030, 1, 1, hour + 2, tzinfo=UTC)
        return Booking(venue_id=venue.id, starts_at=start, ends_at=end, blocked_from=start,
                       blocked_until=end)

    db.session.add(booking(10))
    db.session.commit()
    db.session.add(booking(12))  # touching is fine: half-open ranges
    db.session.commit()
    db.session.add(booking(11))
    with pytest.raises(IntegrityError, match="excl_bookings_no_overlap"):
        db.session.commit()
    db.session.rollback()
