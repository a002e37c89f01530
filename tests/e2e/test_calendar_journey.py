"""A member finds their personal calendar address on their profile, or a branch's on the branch
page (with a copy button and app-by-app help); a calendar app (here urllib, with no cookies)
fetches it and finds the meetups."""

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


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_member_subscribes_to_a_branch_from_its_page_with_the_copy_button(
        browser, live_server, cast):
    start = datetime.combine(utcnow().date() + timedelta(days=10), datetime.min.time())
    start = start.replace(hour=19)
    schedule(cast.lead, cast.branch, EventInput(
        "Hotpot & poems", start, start + timedelta(hours=2),
        online_url="https://meet.example/hotpot", status=EventStatus.PUBLISHED))
    slug = cast.branch.slug
    db.session.commit()

    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    page.goto(f"{live_server}/branches/{slug}")
    feed = page.locator("#calendar-feed")
    url = feed.locator("#branch-feed-url").input_value()
    assert url == f"{live_server}/branches/{slug}/calendar.ics"
    assert feed.locator("a[href^='webcal://']").get_attribute("href") == (
        "webcal://" + url.split("://", 1)[1])
    copy = feed.locator("button[data-copy=branch-feed-url]")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == url
    feed.locator("summary:has-text('How to subscribe')").click()
    expect(feed.locator(".how-to")).to_contain_text("WeChat")
    context.close()

    with urllib.request.urlopen(url, timeout=10) as response:  # what the calendar app fetches
        calendar = next(vobject.readComponents(response.read().decode("utf-8")))
    assert [e.summary.value for e in calendar.vevent_list] == ["Hotpot & poems"]
