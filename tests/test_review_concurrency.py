"""Ten leads' clicks on "approve" for one pending RSVP at once: the member takes the one seat,
gets one ticket and one confirmation mail, and every click answers with that same outcome."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from branches.services import VenueInput, save_venue
from planner.accounts.services import issue_api_token
from planner.core.extensions import db
from planner.events import services as events
from planner.events.models import EventStatus
from planner.notifications.models import OutboxMessage
from planner.registrations import services
from planner.registrations.models import Registration, RegistrationStatus
from tests.conftest import PASSWORD

YEAR = datetime.now(UTC).year + 1
CLICKS = 10


def approve_at_once(url: str, token: str) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(CLICKS)

    def post(_n: int) -> tuple[int, dict]:
        request = urllib.request.Request(
            url, data=json.dumps({"approve": True}).encode(), method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    with ThreadPoolExecutor(max_workers=CLICKS) as pool:
        return list(pool.map(post, range(CLICKS)))


def pending_for_one_seat(cast) -> int:
    room = save_venue(cast.lead, cast.branch, VenueInput("Small room", "2 Lane", 1))
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="One seat", starts_local=datetime(YEAR, 6, 1, 19),
        ends_local=datetime(YEAR, 6, 1, 21), venue_id=room.id, capacity=1,
        requires_approval=True, status=EventStatus.PUBLISHED))
    pending = services.rsvp(cast.member, event.id)
    assert pending.status is RegistrationStatus.PENDING
    db.session.commit()
    return pending.id


def seated_once(cast, registration_id: int) -> Registration:
    db.session.expire_all()
    registration = db.session.get(Registration, registration_id)
    assert registration.status is RegistrationStatus.GOING
    confirmations = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.user_id == cast.member.id, OutboxMessage.kind == "confirmed"))
    assert confirmations == 1
    assert services.seats(registration.event).going == 1
    return registration


def test_ten_approvals_at_once_seat_the_member_once(live_server, cast):
    registration_id = pending_for_one_seat(cast)
    token = issue_api_token(cast.lead)
    db.session.commit()

    answers = approve_at_once(f"{live_server}/api/v1/registrations/{registration_id}/review",
                              token)

    assert [status for status, _body in answers] == [200] * CLICKS, answers
    assert {body["status"] for _status, body in answers} == {"going"}
    registration = seated_once(cast, registration_id)
    assert {body["ticket_code"] for _status, body in answers} == {registration.ticket_code}


@pytest.mark.postgres_only
def test_ten_clicks_on_the_list_pages_approve_button_seat_the_member_once(live_server, cast):
    """The page looks the RSVP up before the service locks the meetup: the service must read
    it again under the lock, not trust that earlier copy. (PostgreSQL only: SQLite takes its
    write lock at BEGIN, so no copy is stale, and twenty page loads in a row outwait its busy
    timeout on a loaded machine.)"""
    registration_id = pending_for_one_seat(cast)
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    browser.open(f"{live_server}/login", data=urllib.parse.urlencode(
        {"email": cast.lead.email, "password": PASSWORD}).encode(), timeout=120)
    barrier = threading.Barrier(CLICKS)

    def click(_n: int) -> int:
        barrier.wait()
        with browser.open(f"{live_server}/registrations/{registration_id}/review",
                          data=b"approve=y", timeout=120) as response:
            return response.status

    with ThreadPoolExecutor(max_workers=CLICKS) as pool:
        assert list(pool.map(click, range(CLICKS))) == [200] * CLICKS
    seated_once(cast, registration_id)
