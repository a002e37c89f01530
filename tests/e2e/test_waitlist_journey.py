"""A member RSVPs to a full meetup, waits, is promoted when someone cancels, shows a ticket
whose QR code a real decoder reads back, and cancels after confirming."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from branches.services import VenueInput, save_venue
from planner.core.extensions import db
from planner.events import services as events
from planner.events.models import EventStatus
from planner.registrations import services

pytestmark = pytest.mark.browser
YEAR = datetime.now(UTC).year + 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_waitlist_promotion_and_qr_ticket(log_in, live_server, cast, make_user):
    hall = save_venue(cast.lead, cast.branch, VenueInput("Tiny room", "1 Road", 1))
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Poetry night", starts_local=datetime(YEAR, 4, 2, 19),
        ends_local=datetime(YEAR, 4, 2, 21), venue_id=hall.id, status=EventStatus.PUBLISHED))
    first, second = make_user("First Fan"), make_user("Second Fan")
    services.rsvp(first, event.id)
    event_id, email, first_id = event.id, second.email, first.id
    db.session.commit()

    page = log_in(email)
    page.goto(f"{live_server}/events/{event_id}")
    expect(page.locator(".seats")).to_contain_text("0 of 1 seats left")
    page.click("#rsvp button[type=submit]:has-text('Join the waitlist')")
    expect(page.locator("#waitlist-position")).to_contain_text("number 1 on the waitlist")

    services.cancel(db.session.get(type(first), first_id), event_id)
    db.session.commit()
    page.reload()
    page.click("text=Show my ticket")
    expect(page.locator("h1")).to_have_text("Poetry night")
    qr = page.locator("img.qr")
    expect(qr).to_be_visible()
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))
    registration = services.registration_of(second, db.session.get(type(event), event_id))
    assert [code.text for code in decoded] == [f"JH1:{registration.ticket_code}"]

    # Cancelling asks once more, saying what happens to the seat.
    db.session.commit()  # the test's reads above hold SQLite's lock the cancel will need
    page.goto(f"{live_server}/events/{event_id}")
    confirm = page.locator("#cancel-rsvp button[type=submit]")
    expect(confirm).to_be_hidden()
    page.click("#cancel-rsvp summary")
    expect(page.locator("#cancel-rsvp")).to_contain_text("next person on the waitlist")
    confirm.click()
    expect(page.locator(".flash")).to_contain_text("Your RSVP is cancelled.")
    expect(page.locator("#rsvp")).not_to_contain_text("You're going")
