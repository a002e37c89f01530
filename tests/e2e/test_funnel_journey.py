"""A lead makes an invite link for a chat group; a newcomer opens it in a fresh browser, taps
RSVP, signs up and lands back on the meetup with the RSVP done; door staff check them in; the
lead's funnel credits that chat group."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from branches.services import VenueInput, save_venue
from planner.core.extensions import db
from planner.events import services as events
from planner.events.models import EventStatus
from planner.registrations.models import Registration
from tests.conftest import door_open

pytestmark = pytest.mark.browser
WECHAT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_invite_link_to_sign_up_to_rsvp_to_check_in_shows_in_the_funnel(browser, log_in,
                                                                         live_server, cast):
    hall = save_venue(cast.lead, cast.branch, VenueInput("Teahouse", "1 Road", 30))
    starts, ends = door_open(cast.branch)  # the door checks people in only near the start
    [meetup] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Poetry night", starts_local=starts, ends_local=ends, venue_id=hall.id,
        status=EventStatus.PUBLISHED))
    event_id, lead_email, staff_email = meetup.id, cast.lead.email, cast.staff.email

    lead = log_in(lead_email)
    lead.goto(f"{live_server}/events/{event_id}/invites")
    lead.fill("#label", "成都诗歌群")
    lead.select_option("#channel", "chat_group")
    lead.click("input[type=submit]")
    invite_url = lead.locator("td input[type=url]").first.input_value()
    assert f"{live_server}/i/" in invite_url

    # A phone's WeChat browser: headless Chromium's own User-Agent is (rightly) not a person.
    visitor_context = browser.new_context(locale="en-US", user_agent=WECHAT)
    visitor = visitor_context.new_page()
    visitor.goto(invite_url)
    expect(visitor.locator("h1")).to_contain_text("Poetry night")
    visitor.click("#rsvp button[type=submit]:has-text('RSVP')")  # one tap, before any account
    expect(visitor.locator("h1")).to_have_text("Log in")
    visitor.click("main a:has-text('Sign up')")
    visitor.fill("#email", "newcomer@example.com")
    visitor.fill("#password", "a long secret")
    visitor.fill("#display_name", "New Niu")
    visitor.click("input[type=submit]")
    # Back on the meetup with the RSVP done: nothing to find or press again.
    expect(visitor).to_have_url(f"{live_server}/events/{event_id}")
    expect(visitor.locator("#rsvp")).to_contain_text("You're going")
    visitor_context.close()

    db.session.expire_all()
    ticket = db.session.scalar(db.select(Registration.ticket_code).where(
        Registration.event_id == event_id))
    door = log_in(staff_email)
    door.goto(f"{live_server}/events/{event_id}/door")
    expect(door.locator("#door")).to_have_attribute("data-roster-stored", "true")
    door.fill("#scan-code", f"JH1:{ticket}")
    door.press("#scan-code", "Enter")
    expect(door.locator("#door-result-text")).to_have_text("Welcome, New Niu!")
    expect(door.locator("#door-waiting")).to_have_text("Waiting to be sent: 0")

    lead.goto(f"{live_server}/events/{event_id}/funnel")
    chat_group = lead.locator("#channels tr", has_text="Chat group")
    expect(chat_group.locator("td")).to_have_text(["1", "1", "1", "0"])
    stages = lead.locator("#stages td")
    expect(stages).to_have_text(["1", "1", "1", "0"])
