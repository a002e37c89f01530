"""A member finds their personal calendar address on their profile; a calendar app (here
urllib, with no cookies) fetches it and finds the meetup they RSVP'd to."""

from __future__ import annotations

import urllib.request
from datetime import datetime, timedelta

import pytest
import vobject
from playwright.sync_api import expect

from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events.models import EventStatus
from planner.events.services import EventInput, schedule
from planner.registrations.services import rsvp

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_member_subscribes_to_their_own_feed(log_in, live_server, cast):
    start = datetime.combine(utcnow().date() + timedelta(days=10), datetime.min.time())
    start = start.replace(hour=19)
    meetup = schedule(cast.lead, cast.branch, EventInput(
        "周五桌游夜, board games", start, start + timedelta(hours=2),
        online_url="https://meet.example/games", status=EventStatus.PUBLISHED))[0]
    rsvp(cast.member, meetup.id)
    email = cast.member.email
    db.session.commit()

    page = log_in(email)
    page.goto(f"{live_server}/profile")
    field = page.locator("#personal-feed-url")
    expect(field).to_have_attribute("readonly", "")
    url = field.input_value()
    assert url.startswith(f"{live_server}/calendar/") and url.endswith(".ics")
    webcal = page.locator("a[href^='webcal://']").first.get_attribute("href")
    assert webcal == "webcal://" + url.split("://", 1)[1]

    with urllib.request.urlopen(url, timeout=10) as response:  # no cookies, no login
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        body = response.read().decode("utf-8")
    calendar = next(vobject.readComponents(body))
    assert [e.summary.value for e in calendar.vevent_list] == ["周五桌游夜, board games"]
