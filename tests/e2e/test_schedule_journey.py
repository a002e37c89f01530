"""A lead schedules a weekly meetup in the browser; a second one at the same venue is refused;
on a phone a lead creates a meetup and finds it in the month's agenda."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from branches.services import VenueInput, save_venue
from planner.core.extensions import db

pytestmark = pytest.mark.browser
YEAR = datetime.now(UTC).year + 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_lead_creates_weekly_meetup_and_a_clash_is_refused(log_in, live_server, cast):
    save_venue(cast.lead, cast.branch, VenueInput("Teahouse", "玉林西路 55 号", 30))
    email = cast.lead.email
    db.session.commit()
    page = log_in(email)

    page.goto(f"{live_server}/branches/chengdu/events/new")
    page.fill("#title", "Weekly Go club")
    page.fill("#starts_at", f"{YEAR}-03-05T19:00")
    page.fill("#ends_at", f"{YEAR}-03-05T21:00")
    page.select_option("#venue_id", label="Teahouse (30)")
    page.select_option("#repeat-freq", "weekly")
    page.fill("#repeat-count", "4")
    page.click("input[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("4 meetups scheduled")
    expect(page.locator("h1")).to_contain_text("Weekly Go club")
    expect(page.locator(".facts")).to_contain_text("Every week")

    page.goto(f"{live_server}/branches/chengdu/events/new")
    page.fill("#title", "Clashing talk")
    page.fill("#starts_at", f"{YEAR}-03-12T20:00")
    page.fill("#ends_at", f"{YEAR}-03-12T22:00")
    page.select_option("#venue_id", label="Teahouse (30)")
    page.click("input[type=submit]")
    error = page.locator("#venue_id-error")
    expect(error).to_contain_text("Weekly Go club")
    expect(error).to_contain_text("already booked")

    page.goto(f"{live_server}/branches/chengdu/events?month={YEAR}-03")
    expect(page.locator(".month")).to_contain_text("Weekly Go club")
    expect(page.locator(".month")).not_to_contain_text("Clashing talk")
    expect(page.locator(".month thead th")).to_have_text(
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_lead_creates_a_meetup_on_a_phone_and_finds_it_in_the_month_agenda(
        browser, live_server, cast):
    from tests.conftest import PASSWORD

    save_venue(cast.lead, cast.branch, VenueInput("Teahouse", "玉林西路 55 号", 30))
    email = cast.lead.email
    cast.lead.locale = None  # no choice saved: the phone's Chinese wins
    db.session.commit()
    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                has_touch=True, is_mobile=True)
    page = phone.new_page()
    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.tap("main input[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)

    page.goto(f"{live_server}/branches/chengdu/events/new")
    wide = "document.documentElement.scrollWidth - window.innerWidth"
    assert page.evaluate(wide) <= 0
    page.fill("#title", "读书会 Book club")
    page.fill("#starts_at", f"{YEAR}-04-09T19:00")
    page.fill("#ends_at", f"{YEAR}-04-09T21:00")
    page.select_option("#venue_id", label="Teahouse (30)")
    page.tap("main input[type=submit]")
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("#when")).to_contain_text("19:00–21:00")

    page.goto(f"{live_server}/branches/chengdu/events?month={YEAR}-04")
    expect(page.locator("#month-name")).to_have_text(f"{YEAR}年4月")
    expect(page.locator(".month")).to_be_hidden()  # a phone gets the agenda, not the grid
    expect(page.locator(".event-list")).to_contain_text("读书会 Book club")
    assert page.evaluate(wide) <= 0
    phone.close()
