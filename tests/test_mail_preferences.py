"""Members choose which mail they get (GET|PUT /me/notifications, the mail page); optional mail
carries a one-click unsubscribe link (RFC 8058) that works without logging in; essential mail
cannot be switched off and never carries one. Through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from planner.core.extensions import db
from planner.notifications import delivery
from planner.notifications.kinds import (
    CATEGORY_KINDS,
    ESSENTIAL_KINDS,
    Category,
    Notice,
    category_of,
)
from planner.notifications.models import OutboxMessage, OutboxStatus
from planner.notifications.premises import DropReason
from planner.notifications.services import unsubscribe_token
from planner.registrations import services as registrations
from tests.conftest import bearer, login
from tests.test_notifications import START, schedule

EVERYTHING_ON = {"reminders": True, "changes": True, "messages": True, "nudges": True,
                 "feedback": True, "tickets": True, "cancellations": True, "account": True}
LEAD_WORDS = {"subject": "Doors at seven", "body": "See you *there*.", "to": ["going"]}


@pytest.fixture
def meetup(cast):
    return schedule(cast, START, capacity=5)


def preferences(client, user):
    return client.get("/api/v1/me/notifications", headers=bearer(client, user))


def test_every_kind_of_mail_is_optional_in_one_category_or_essential():
    optional = set().union(*CATEGORY_KINDS.values())
    essential = set().union(*ESSENTIAL_KINDS.values())
    assert not optional & essential
    assert {str(kind) for kind in Notice} <= optional | essential
    assert category_of("feedback_request") is Category.FEEDBACK  # the feedback area's kind


def test_everything_is_on_until_switched_off(client, cast):
    assert preferences(client, cast.member).json == EVERYTHING_ON


def test_switching_categories_off_and_on(client, cast):
    headers = bearer(client, cast.member)
    off = client.put("/api/v1/me/notifications", headers=headers,
                     json={"messages": False, "nudges": False})
    assert off.status_code == 200, off.json
    assert off.json == EVERYTHING_ON | {"messages": False, "nudges": False}
    # Left out keeps its setting; named again turns it on.
    on = client.put("/api/v1/me/notifications", headers=headers, json={"nudges": True})
    assert on.json == EVERYTHING_ON | {"messages": False}
    assert preferences(client, cast.member).json == EVERYTHING_ON | {"messages": False}
    assert preferences(client, cast.lead).json == EVERYTHING_ON  # someone else's are theirs


@pytest.mark.parametrize(("body", "field"), [
    ({"tickets": False, "messages": False}, "tickets"),
    ({"cancellations": False}, "cancellations"),
    ({"account": False}, "account"),
    ({"messages": "no"}, "messages"),
    ({"reminders": 0}, "reminders"),
])
def test_essential_mail_cannot_be_switched_off_and_bad_types_are_refused(client, cast, body,
                                                                         field):
    answer = client.put("/api/v1/me/notifications", headers=bearer(client, cast.member),
                        json=body)
    assert answer.status_code == 422
    assert list(answer.json["error"]["fields"]) == [field]
    assert preferences(client, cast.member).json == EVERYTHING_ON  # nothing half-saved


def test_an_unsubscribed_member_gets_no_optional_mail_but_still_the_essential(
        client, cast, meetup, smtp):
    client.put("/api/v1/me/notifications", headers=bearer(client, cast.member),
               json={"messages": False})
    registrations.rsvp(cast.member, meetup.id)
    db.session.commit()
    written = client.post(f"/api/v1/events/{meetup.id}/messages",
                          headers=bearer(client, cast.lead), json=LEAD_WORDS)
    assert written.json["recipients"] == 1  # counted: it is the worker that drops it
    delivery.deliver_due()
    db.session.expire_all()
    assert [mail["Subject"] for mail in smtp.received] == [f"You're going: {meetup.title}"]
    [dropped] = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == Notice.LEAD_MESSAGE))
    assert (dropped.status, dropped.dropped_reason) == (OutboxStatus.DROPPED,
                                                       DropReason.OPTED_OUT)
    assert "List-Unsubscribe" not in smtp.received[0]  # essential: no such header


def test_switching_off_after_the_message_was_written_still_stops_it(client, cast, meetup, smtp):
    """Asked as the worker takes it, not when it was queued."""
    registrations.rsvp(cast.member, meetup.id)
    db.session.commit()
    delivery.deliver_due()
    client.post(f"/api/v1/events/{meetup.id}/messages", headers=bearer(client, cast.lead),
                json=LEAD_WORDS)
    client.put("/api/v1/me/notifications", headers=bearer(client, cast.member),
               json={"messages": False})
    assert delivery.deliver_due().dropped == {DropReason.OPTED_OUT: 1}


def _unsubscribe_link(mail) -> str:
    header = mail["List-Unsubscribe"].strip()  # a long header is folded onto its next line
    match = re.fullmatch(r"<(http://localhost/unsubscribe/[^>]+)>", header)
    assert match, header
    return match.group(1)


def _a_lead_message(client, cast, meetup, smtp):
    registrations.rsvp(cast.member, meetup.id)
    db.session.commit()
    delivery.deliver_due()
    client.post(f"/api/v1/events/{meetup.id}/messages", headers=bearer(client, cast.lead),
                json=LEAD_WORDS)
    delivery.deliver_due()
    [mail] = [mail for mail in smtp.received if mail["Subject"] == LEAD_WORDS["subject"]]
    return mail


def test_optional_mail_has_one_click_unsubscribe_in_the_headers_and_the_body(client, cast,
                                                                           meetup, smtp):
    mail = _a_lead_message(client, cast, meetup, smtp)
    link = _unsubscribe_link(mail)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in mail.get_body(preferencelist=("plain",)).get_content()
    assert link in mail.get_body(preferencelist=("html",)).get_content()


def test_the_unsubscribe_link_works_from_a_fresh_browser(app, client, cast, meetup, smtp):
    link = _unsubscribe_link(_a_lead_message(client, cast, meetup, smtp))
    path = link.removeprefix("http://localhost")
    fresh = app.test_client()  # no session, never logged in
    page = fresh.get(path, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "Unsubscribe" in page.text and 'method="post"' in page.text
    assert preferences(client, cast.member).json["messages"] is True  # a GET changes nothing
    done = fresh.post(path, data={"List-Unsubscribe": "One-Click"},
                      headers={"Accept-Language": "en"})
    assert done.status_code == 200 and "no longer gets this mail" in done.text
    assert preferences(client, cast.member).json == EVERYTHING_ON | {"messages": False}
    again = fresh.post(path, data={"List-Unsubscribe": "One-Click"})  # a second click
    assert again.status_code == 200


def test_the_rfc_8058_post_needs_no_session_and_no_csrf_token(make_app, client, cast):
    token = unsubscribe_token(cast.member.id, Category.REMINDERS)
    db.session.commit()
    guarded = make_app(WTF_CSRF_ENABLED=True).test_client()
    answer = guarded.post(f"/unsubscribe/{token}", data="List-Unsubscribe=One-Click",
                          content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200
    # The rest of the site still wants its CSRF token.
    assert guarded.post("/language", data={"locale": "en"}).status_code == 400
    assert preferences(client, cast.member).json == EVERYTHING_ON | {"reminders": False}


@pytest.mark.parametrize("token", ["nonsense", "WzEsICJtZXNzYWdlcyJd.forged"])
def test_a_forged_or_broken_token_changes_nothing(app, client, cast, token):
    fresh = app.test_client()
    assert fresh.get(f"/unsubscribe/{token}").status_code == 404
    assert fresh.post(f"/unsubscribe/{token}").status_code == 404
    assert preferences(client, cast.member).json == EVERYTHING_ON


def test_a_token_for_a_category_someone_made_up_is_refused(app, cast):
    from itsdangerous import URLSafeSerializer

    forged = URLSafeSerializer("test-secret", salt="juhui.unsubscribe").dumps(
        [cast.member.id, "tickets"])  # signed right, but an essential category
    assert app.test_client().get(f"/unsubscribe/{forged}").status_code == 404


def test_reminders_and_nudges_carry_the_link_too(client, cast, meetup, smtp):
    from datetime import date

    from planner.notifications.outbox import notify_members

    notify_members(Notice.NUDGE, cast.branch, [cast.member], date.today())
    db.session.commit()
    delivery.deliver_due()
    [nudge] = smtp.received
    link = _unsubscribe_link(nudge)
    assert link in nudge.get_content()
    fresh = client.application.test_client()
    fresh.post(link.removeprefix("http://localhost"))
    assert preferences(client, cast.member).json == EVERYTHING_ON | {"nudges": False}


def test_the_mail_page_on_the_profile(client, cast):
    login(client, cast.member)
    assert "/profile/mail" in client.get("/profile").text
    page = client.get("/profile/mail", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Always sent" in page.text
    saved = client.post("/profile/mail", data={"reminders": "y", "changes": "y",
                                               "nudges": "y", "feedback": "y"})
    assert saved.status_code == 302
    assert preferences(client, cast.member).json == EVERYTHING_ON | {"messages": False}
