"""A lead writes to the going members of a meetup from a phone: chooses who, writes, sees the
mail as it will look and how many it reaches, sends, and finds it in the sent list; the mail
reaches exactly those members through a real SMTP server."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from branches.services import join_branch
from planner.core.extensions import db
from planner.notifications import delivery
from planner.registrations import services as registrations
from tests.e2e.test_pages_fit import problems
from tests.test_notifications import START, schedule

pytestmark = pytest.mark.browser
SUBJECT = "Bring a board game"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_lead_writes_to_the_going_members_from_a_phone(app, log_in, live_server, cast,
                                                         make_user, smtp):
    app.config["MAIL_DELIVER_AFTER_REQUEST"] = False  # the test's own pass sends, no race
    meetup = schedule(cast, START, capacity=2)
    waiting = make_user("Wang Wait")
    join_branch(waiting, cast.branch)
    for person in (cast.member, cast.staff, waiting):
        registrations.rsvp(person, meetup.id)
    going = sorted([cast.member.email, cast.staff.email])
    url, email = f"{live_server}/events/{meetup.id}/registrations", cast.lead.email
    db.session.commit()
    page = log_in(email)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    page.get_by_role("link", name="Write to people").click()
    expect(page.get_by_label("Going")).to_be_checked()  # the usual choice, ticked already
    page.get_by_label("Subject").fill(SUBJECT)
    page.get_by_label("Message").fill("Doors open at **seven**. Bring *one* game.")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#recipient-count")).to_have_text("This message goes to 2 people.")
    frame = page.frame_locator("iframe.mail-frame")
    expect(frame.locator("strong", has_text="seven")).to_be_visible()
    assert problems(page) == []  # the preview fits the phone too
    page.get_by_role("button", name="Send to 2 people").click()
    expect(page.locator(".flash")).to_contain_text("on its way to 2 people")
    sent = page.locator("#sent .sent-message")
    expect(sent).to_have_count(1)
    expect(sent.first).to_contain_text(SUBJECT)
    expect(sent.first).to_contain_text("2 people")
    delivery.deliver_due()
    delivery.deliver_due()  # again: nothing twice
    mails = [mail for mail in smtp.received if mail["Subject"] == SUBJECT]
    assert sorted(mail["To"] for mail in mails) == going
