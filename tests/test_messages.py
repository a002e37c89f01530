"""A lead's messages to a meetup's people and to a branch's members, through a real SMTP
server (aiosmtpd): who gets them, in which language, once; the limits on how many; and bad
input refused naming the field."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from branches.services import join_branch
from planner.core.extensions import db
from planner.notifications import delivery
from planner.notifications.kinds import Notice
from planner.notifications.models import LeadMessage, OutboxMessage, OutboxStatus
from planner.notifications.outbox import notify_lead_message
from planner.registrations import services as registrations
from tests.conftest import bearer, login
from tests.mail_server import Inbox
from tests.test_notifications import START, chinese_member, schedule

WORDS = {"subject": "Bring a board game", "body": "Hello **all**: bring *one* game.\n\n"
                                                  "- chess\n- go\n\n<script>alert(1)</script>"}


@pytest.fixture
def meetup(cast):
    return schedule(cast, START, capacity=2)


@pytest.fixture
def people(cast, make_user, meetup):
    """Two going (one reads Chinese, one English), one on the waitlist."""
    chinese = chinese_member(cast, make_user)
    waiting = make_user("Wang Wait")
    join_branch(waiting, cast.branch)
    for person in (chinese, cast.member, waiting):
        registrations.rsvp(person, meetup.id)
    db.session.commit()
    delivery.deliver_due()  # the RSVPs' own mail, out of the way
    return {"zh": chinese, "en": cast.member, "waiting": waiting}


def lead_mail(inbox: Inbox) -> list:
    return [mail for mail in inbox.received if mail["Subject"] == WORDS["subject"]]


def text_of(mail) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def html_of(mail) -> str:
    return mail.get_body(preferencelist=("html",)).get_content()


def write(client, cast, meetup, to, **changes):
    return client.post(f"/api/v1/events/{meetup.id}/messages", headers=bearer(client, cast.lead),
                       json=WORDS | {"to": to} | changes)


def test_a_message_to_going_reaches_exactly_the_going_once_in_their_languages(
        client, cast, meetup, people, smtp):
    response = write(client, cast, meetup, ["going"])
    assert response.status_code == 202, response.json
    assert response.json["recipients"] == 2
    assert delivery.deliver_due().sent == 2
    mails = {mail["To"]: mail for mail in lead_mail(smtp)}
    assert sorted(mails) == sorted([people["zh"].email, people["en"].email])
    chinese, english = text_of(mails[people["zh"].email]), text_of(mails[people["en"].email])
    assert "的负责人Lead Li写信给「Board games 桌游」" in chinese
    assert "Lead Li, a lead of 成都 branch, writes to the people of" in english
    assert "Hello **all**: bring *one* game." in english  # the lead's words, as written
    assert "<strong>all</strong>" in html_of(mails[people["en"].email])
    assert "<script>" not in html_of(mails[people["en"].email])
    # The worker again, and the message queued again (a retried request): nothing new.
    assert delivery.deliver_due().taken == 0
    message = db.session.get(LeadMessage, response.json["id"])
    assert notify_lead_message(message, [people["zh"].id, people["en"].id]) == 0
    db.session.commit()
    assert delivery.deliver_due().taken == 0
    assert len(lead_mail(smtp)) == 2


def test_a_member_in_two_chosen_groups_is_written_to_once(client, cast, meetup, people, smtp):
    response = write(client, cast, meetup, ["going", "waitlisted", "going"])
    assert response.json["recipients"] == 3
    delivery.deliver_due()
    assert sorted(mail["To"] for mail in lead_mail(smtp)) == sorted(
        person.email for person in people.values())


def test_checked_in_and_no_shows(client, cast, meetup, people):
    from planner.registrations.models import Registration

    registration = db.session.scalar(select(Registration).where(
        Registration.user_id == people["en"].id))
    registration.checked_in_at = meetup.starts_at
    db.session.commit()
    assert write(client, cast, meetup, ["checked_in"]).json["recipients"] == 1
    # Before the end nobody has missed it yet.
    assert write(client, cast, meetup, ["no_show"]).status_code == 422
    meetup.starts_at -= timedelta(days=800)
    meetup.ends_at -= timedelta(days=800)
    db.session.commit()
    assert write(client, cast, meetup, ["no_show"]).json["recipients"] == 1  # zh: going, absent


def test_a_message_to_the_branch_and_a_segment(client, cast, people, smtp):
    headers = bearer(client, cast.lead)
    members = client.post(f"/api/v1/branches/{cast.branch.slug}/messages", headers=headers,
                          json=WORDS | {"to": "members"})
    assert members.status_code == 202, members.json
    # The lead, staff, Member Ma, 马明 and Wang Wait.
    assert members.json["recipients"] == 5
    new = client.post(f"/api/v1/branches/{cast.branch.slug}/messages", headers=headers,
                      json=WORDS | {"to": "new"})
    assert new.json["recipients"] == 5  # everyone joined today
    lurkers = client.post(f"/api/v1/branches/{cast.branch.slug}/messages", headers=headers,
                          json=WORDS | {"to": "lurker"})
    assert lurkers.status_code == 422 and "to" in lurkers.json["error"]["fields"]
    assert delivery.deliver_due().sent == 10


@pytest.mark.parametrize(("body", "field"), [
    (WORDS | {"subject": "", "to": ["going"]}, "subject"),
    (WORDS | {"subject": "   ", "to": ["going"]}, "subject"),
    (WORDS | {"body": "", "to": ["going"]}, "body"),
    (WORDS | {"to": ["everyone"]}, "to"),
    (WORDS | {"to": []}, "to"),
    (WORDS | {"to": "going"}, "to"),  # a list is wanted
    (WORDS | {"subject": 5, "to": ["going"]}, "subject"),
    (WORDS | {"body": ["a"], "to": ["going"]}, "body"),
    (WORDS | {"subject": "x" * 201, "to": ["going"]}, "subject"),
])
def test_bad_input_names_the_field_and_saves_nothing(client, cast, meetup, people, body, field):
    response = client.post(f"/api/v1/events/{meetup.id}/messages",
                           headers=bearer(client, cast.lead), json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"], response.json
    assert db.session.scalar(select(func.count()).select_from(LeadMessage)) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == Notice.LEAD_MESSAGE)) == 0


@pytest.mark.parametrize(("body", "field"), [
    (WORDS | {"to": ["members"]}, "to"),  # one audience, not a list
    (WORDS | {"to": "everyone"}, "to"),
    (WORDS | {"subject": None, "to": "members"}, "subject"),
])
def test_bad_input_to_the_branch_names_the_field(client, cast, body, field):
    response = client.post(f"/api/v1/branches/{cast.branch.slug}/messages",
                           headers=bearer(client, cast.lead), json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]


def test_a_lead_reaches_at_most_the_days_cap(client, cast, meetup, people, app):
    app.config["MESSAGE_RECIPIENTS_PER_DAY"] = 3
    assert write(client, cast, meetup, ["going"]).status_code == 202  # 2 of 3
    refused = write(client, cast, meetup, ["going"])  # would make 4
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "too_many_recipients"
    assert write(client, cast, meetup, ["waitlisted"]).status_code == 202  # exactly 3
    assert db.session.scalar(select(func.count()).select_from(LeadMessage)) == 2


def test_a_lead_sends_at_most_the_rate_of_messages(make_app, cast, meetup, people):
    lead, admin = SimpleNamespace(email=cast.lead.email), SimpleNamespace(email=cast.admin.email)
    meetup_url, branch_url = (f"/api/v1/events/{meetup.id}/messages",
                              f"/api/v1/branches/{cast.branch.slug}/messages")
    page_url = f"/events/{meetup.id}/messages"
    db.session.commit()  # this connection reads nothing more while the other app writes
    client = make_app(RATELIMIT_ENABLED=True, MESSAGE_RATE_LIMIT="2 per hour").test_client()
    headers = bearer(client, lead)
    answers = [client.post(meetup_url, headers=headers, json=WORDS | {"to": ["going"]}
                           ).status_code for _ in range(3)]
    # The same budget through the pages: the lead is refused there too.
    login(client, lead)
    page = client.post(page_url, data=WORDS | {"to": "going", "send": "1"})
    # Another lead has a budget of their own.
    other = client.post(branch_url, headers=bearer(client, admin),
                        json=WORDS | {"to": "members"})
    assert answers == [202, 202, 429]
    assert page.status_code == 429
    assert other.status_code == 202


def test_the_compose_page_previews_counts_sends_and_lists(client, cast, meetup, people):
    login(client, cast.lead)
    url = f"/events/{meetup.id}/messages"
    assert "Nothing sent yet" in client.get(url, headers={"Accept-Language": "en"}).text
    preview = client.post(url, data=WORDS | {"to": ["going"], "preview": "1"},
                          headers={"Accept-Language": "en"})
    assert preview.status_code == 200
    assert "This message goes to 2 people." in preview.text
    assert "Send to 2 people" in preview.text
    assert "&lt;strong&gt;all&lt;/strong&gt;" in preview.text  # the mail, in the srcdoc
    assert db.session.scalar(select(func.count()).select_from(LeadMessage)) == 0
    sent = client.post(url, data=WORDS | {"to": ["going"], "send": "1"})
    assert sent.status_code == 302
    listed = client.get(url, headers={"Accept-Language": "en"}).text
    assert WORDS["subject"] in listed and "2 people" in listed
    branch_page = client.get(f"/branches/{cast.branch.slug}/messages",
                             headers={"Accept-Language": "en"}).text
    assert WORDS["subject"] in branch_page


def test_the_compose_page_shows_bad_input_on_the_form(client, cast, meetup, people):
    login(client, cast.lead)
    page = client.post(f"/events/{meetup.id}/messages", data={"to": "going", "body": "x",
                                                              "preview": "1"},
                       headers={"Accept-Language": "en"})
    assert page.status_code == 422
    assert "Give the message a subject." in page.text


def test_staff_and_members_cannot_open_the_compose_page(client, cast, meetup):
    for person in (cast.staff, cast.member):
        login(client, person)
        assert client.get(f"/events/{meetup.id}/messages").status_code == 403
        assert client.post(f"/events/{meetup.id}/messages",
                           data=WORDS | {"to": "going", "send": "1"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(LeadMessage)) == 0


def test_a_message_whose_meetup_was_deleted_is_not_sent(client, cast, meetup, people, smtp):
    write(client, cast, meetup, ["going"])
    db.session.delete(db.session.get(type(meetup), meetup.id))
    db.session.commit()
    delivery.deliver_due()
    assert lead_mail(smtp) == []
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == Notice.LEAD_MESSAGE, OutboxMessage.status == OutboxStatus.SENT)) == 0
