"""A lead schedules a weekly meetup in the browser; a second one at the same venue is refused."""

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
