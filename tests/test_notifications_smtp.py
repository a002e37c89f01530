"""Mail through a real SMTP server (aiosmtpd on 127.0.0.1): what arrives, what happens when the
server is down or says "try later", retries, and delivery right after a request."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import icalendar
import pytest
import vobject
from sqlalchemy import delete, select

from branches.models import Branch
from branches.services import join_branch
from planner.accounts.models import User
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.core.unit_of_work import unit_of_work
from planner.events import services as events
from planner.events.models import EventStatus
from planner.notifications import delivery
from planner.notifications.commands import queue_reminders
from planner.notifications.kinds import Notice
from planner.notifications.models import OutboxMessage, OutboxStatus
from planner.notifications.outbox import notify_members
from planner.notifications.premises import PREMISES, DropReason
from planner.registrations import services as registrations
from planner.registrations.models import Registration, RegistrationStatus
from tests.conftest import bearer
from tests.mail_server import ACCEPTED, Inbox, free_port
from tests.test_notifications import (
    START,
    TITLE,
    _soon,
    chinese_member,
    messages,
    schedule,
)


@pytest.fixture
def meetup(cast):
    return schedule(cast, START)


@pytest.fixture
def member_zh(cast, make_user):
    return chinese_member(cast, make_user)


@pytest.fixture
def others(cast, make_user):
    people = [make_user(f"Other {n}") for n in range(2)]
    for person in people:
        join_branch(person, cast.branch)
    return people


@pytest.fixture
def smtp_down(app) -> None:
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}?timeout=5"


def make_due(message: OutboxMessage) -> None:
    message.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def the_message() -> OutboxMessage:
    db.session.expire_all()
    [message] = messages()
    return message


# --- what arrives ------------------------------------------------------------------------------

def test_mail_arrives_in_chinese_with_a_calendar_two_parsers_read(smtp, meetup, member_zh):
    registrations.rsvp(member_zh, meetup.id)
    assert delivery.deliver_due().sent == 1
    [mail] = smtp.received
    assert mail["Subject"] == f"报名成功：{TITLE}"
    assert (mail["From"], mail["To"]) == ("juhui@example.org", member_zh.email)
    assert mail["Message-ID"].endswith("@example.org>")
    assert mail.get_body(("plain",)).get_content().startswith("马明，你好：")
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") is None
    text = attachment.get_content()
    [vevent] = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == TITLE
    assert vevent.decoded("DTSTART") == meetup.starts_at
    assert vobject.readOne(text).vevent.summary.value == TITLE
    assert the_message().status is OutboxStatus.SENT


def test_a_sent_message_is_never_sent_again(smtp, cast, meetup):
    registrations.rsvp(cast.member, meetup.id)
    assert delivery.deliver_due().sent == 1
    make_due(the_message())  # even if it looked due again, it is marked sent
    assert delivery.deliver_due().sent == 0
    assert len(smtp.received) == 1


def test_one_connection_carries_a_whole_pass(smtp, cast, meetup, member_zh):
    registrations.rsvp(cast.member, meetup.id)
    registrations.rsvp(member_zh, meetup.id)
    assert delivery.deliver_due().sent == 2
    assert sorted(m["To"] for m in smtp.received) == sorted([cast.member.email,
                                                             member_zh.email])


# --- failures and retries ------------------------------------------------------------------------

def test_server_down_keeps_mail_queued_and_the_rsvp_saved(app, smtp_down, cast, meetup):
    registration = registrations.rsvp(cast.member, meetup.id)
    before = utcnow()
    assert delivery.deliver_due().sent == 0
    message = the_message()
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert before + timedelta(seconds=55) < message.next_attempt_at < utcnow() + timedelta(
        seconds=65)
    assert "ConnectionRefusedError" in message.last_error
    assert registration.status is RegistrationStatus.GOING


def test_retry_succeeds_once_the_server_is_back(app, smtp, cast, meetup):
    registrations.rsvp(cast.member, meetup.id)
    smtp.data_reply = "451 4.3.0 Try again later"
    assert delivery.deliver_due().sent == 0
    message = the_message()
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert "451" in message.last_error and message.next_attempt_at > utcnow()
    assert delivery.deliver_due().sent == 0  # not due yet
    smtp.data_reply = ACCEPTED
    make_due(message)
    assert delivery.deliver_due().sent == 1
    message = the_message()
    assert (message.status, message.attempts, message.last_error) == (OutboxStatus.SENT, 1, "")
    assert len(smtp.received) == 1


def test_gives_up_after_eight_attempts(app, smtp_down, cast, meetup):
    registrations.rsvp(cast.member, meetup.id)
    for _attempt in range(delivery.MAX_ATTEMPTS):
        make_due(the_message())
        delivery.deliver_due()
    message = the_message()
    assert (message.status, message.attempts) == (OutboxStatus.FAILED, 8)
    make_due(message)
    assert delivery.deliver_due().sent == 0
    assert the_message().attempts == 8


def test_an_unknown_mailbox_fails_at_once_and_the_pass_goes_on(smtp, cast, meetup, member_zh):
    registrations.rsvp(cast.member, meetup.id)
    registrations.rsvp(member_zh, meetup.id)
    smtp.refused_recipients.add(cast.member.email)
    assert delivery.deliver_due().sent == 1
    db.session.expire_all()
    refused, sent = messages()
    assert (refused.status, refused.attempts) == (OutboxStatus.FAILED, 1)
    assert "550" in refused.last_error
    assert sent.status is OutboxStatus.SENT


def test_a_down_server_ends_the_pass(smtp_down, cast, meetup, member_zh):
    registrations.rsvp(cast.member, meetup.id)
    registrations.rsvp(member_zh, meetup.id)
    delivery.deliver_due()
    db.session.expire_all()
    assert sorted(m.attempts for m in messages()) == [0, 1]


class SecondWorkerMidSend:
    """Worker A's transport: in the middle of A's first send, worker B (a thread with its own
    app context and session) runs a whole pass against the same server."""

    def __init__(self, app, real: delivery.Transport) -> None:
        self.app, self.real, self.sender = app, real, real.sender
        self.second: list[delivery.Delivered] = []

    def send(self, message: EmailMessage) -> None:
        if not self.second:
            thread = threading.Thread(target=self._second_pass)
            thread.start()
            thread.join()
        self.real.send(message)

    def close(self) -> None:
        self.real.close()

    def _second_pass(self) -> None:
        with self.app.app_context():
            self.second.append(delivery.deliver_due())


def test_a_worker_never_sends_what_another_is_sending(app, smtp, cast, meetup, member_zh,
                                                      monkeypatch):
    """A's message is leased and committed before its send, with no transaction left open
    (SQLite would keep B waiting for its write lock): B takes the other message only."""
    registrations.rsvp(cast.member, meetup.id)
    registrations.rsvp(member_zh, meetup.id)
    db.session.commit()
    worker_a = SecondWorkerMidSend(app, delivery.current_transport())
    transports = iter([worker_a])
    monkeypatch.setattr(delivery, "current_transport",
                        lambda: next(transports, None) or delivery.mail_transport(
                            app.config, app.instance_path))
    assert delivery.deliver_due().sent == 1
    assert [delivered.sent for delivered in worker_a.second] == [1]
    assert sorted(m["To"] for m in smtp.received) == sorted([cast.member.email,
                                                             member_zh.email])
    assert {m.status for m in messages()} == {OutboxStatus.SENT}


@pytest.mark.postgres_only  # SKIP LOCKED; SQLite lets one writer in at a time anyway
def test_a_message_another_worker_holds_is_skipped(cast, meetup, smtp):
    with unit_of_work():  # committed, as the RSVP's request would: the other worker sees it
        registrations.rsvp(cast.member, meetup.id)
    with db.engine.connect() as other_worker:
        other_worker.execute(select(OutboxMessage.id).with_for_update())
        assert delivery.deliver_due().sent == 0
        other_worker.rollback()
    assert delivery.deliver_due().sent == 1


# --- sent right after the request --------------------------------------------------------------

def rsvp_view(event_id: int, user_id: int) -> str:
    return registrations.rsvp(db.session.get(User, user_id), event_id).status.value


@pytest.fixture
def site(make_app, app):
    """Another app like the factory's, with a bare RSVP route: this suite tests the mail, not
    the RSVP pages."""

    def make(**config):
        other = make_app(MAIL_URL=app.config["MAIL_URL"], **config)
        other.add_url_rule("/test-rsvp/<int:event_id>/<int:user_id>", "test_rsvp", rsvp_view,
                           methods=["POST"])
        delivery.init_app(other)  # what the factory does; a second call changes nothing
        return other.test_client()

    return make


def test_mail_is_sent_once_the_response_is_out(site, smtp, cast, meetup):
    client = site()
    response = client.post(f"/test-rsvp/{meetup.id}/{cast.member.id}", buffered=True)
    assert response.text == "going"
    assert the_message().status is OutboxStatus.SENT
    assert [m["To"] for m in smtp.received] == [cast.member.email]


def test_after_the_request_a_down_server_only_delays_the_mail(site, smtp_down, cast, meetup,
                                                              caplog):
    client = site()
    response = client.post(f"/test-rsvp/{meetup.id}/{cast.member.id}", buffered=True)
    assert (response.status_code, response.text) == (200, "going")
    message = the_message()
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert "not sent" in caplog.text


def test_sending_after_the_request_can_be_switched_off(site, smtp, cast, meetup):
    client = site(MAIL_DELIVER_AFTER_REQUEST=False)
    client.post(f"/test-rsvp/{meetup.id}/{cast.member.id}", buffered=True)
    message = the_message()
    assert (message.kind, message.status, message.attempts) == (Notice.CONFIRMED,
                                                                OutboxStatus.PENDING, 0)
    assert smtp.received == []


# --- calendar files that follow the meetup ----------------------------------------------------

def _calendar_of(mail: EmailMessage) -> tuple[Any, Any]:
    """The attached meetup, as icalendar and as vobject read it."""
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    text = attachment.get_content()
    [vevent] = icalendar.Calendar.from_ical(text).walk("VEVENT")
    return vevent, vobject.readOne(text).vevent


def _mail_to(smtp: Inbox, address: str, subject_start: str) -> EmailMessage:
    [mail] = [m for m in smtp.received
              if m["To"] == address and m["Subject"].startswith(subject_start)]
    return mail


def test_a_moved_meetup_mails_a_file_that_moves_the_calendar_entry(smtp, client, cast, meetup,
                                                                  others):
    registrations.rsvp(cast.member, meetup.id)
    registrations.rsvp(others[0], meetup.id)
    registrations.rsvp(others[1], meetup.id)  # two seats: waitlisted, holds no file
    assert delivery.deliver_due().sent == 3
    before, _same = _calendar_of(_mail_to(smtp, cast.member.email, "You're going"))
    moved = client.patch(f"/api/v1/events/{meetup.id}", headers=bearer(client, cast.lead),
                         json={"starts_at": f"{START.year}-03-06T20:00:00+08:00",
                               "ends_at": f"{START.year}-03-06T22:00:00+08:00"})
    assert moved.status_code == 200, moved.json
    assert delivery.deliver_due().sent == 3
    after, read_again = _calendar_of(_mail_to(smtp, cast.member.email, "Meetup changed"))
    assert str(after["UID"]) == str(before["UID"]) == read_again.uid.value
    assert after.decoded("SEQUENCE") > before.decoded("SEQUENCE")
    assert int(read_again.sequence.value) == after.decoded("SEQUENCE")
    new_start = datetime(START.year, 3, 6, 12, tzinfo=UTC)
    assert after.decoded("DTSTART") == new_start == read_again.dtstart.value
    assert str(after["STATUS"]) == "CONFIRMED"
    waiting = _mail_to(smtp, others[1].email, "Meetup changed")
    assert list(waiting.iter_attachments()) == []


def test_a_cancelled_meetup_mails_a_file_that_cancels_the_calendar_entry(smtp, client, cast,
                                                                        meetup):
    registrations.rsvp(cast.member, meetup.id)
    assert delivery.deliver_due().sent == 1
    before, _same = _calendar_of(smtp.received[0])
    cancelled = client.post(f"/api/v1/events/{meetup.id}/cancel",
                            headers=bearer(client, cast.lead), json={"message": "Typhoon"})
    assert cancelled.status_code == 200, cancelled.json
    assert delivery.deliver_due().sent == 1
    after, read_again = _calendar_of(_mail_to(smtp, cast.member.email, "Meetup cancelled"))
    assert str(after["UID"]) == str(before["UID"]) == read_again.uid.value
    assert after.decoded("SEQUENCE") > before.decoded("SEQUENCE")
    assert str(after["STATUS"]) == "CANCELLED" == read_again.status.value
    assert after.decoded("DTSTART") == meetup.starts_at


# --- what is no longer true is not sent ----------------------------------------------------

def arrived(smtp: Inbox) -> list[tuple[str, str]]:
    return sorted((m["To"], m["Subject"]) for m in smtp.received)


def dropped(kind: Notice) -> list[tuple[str | None, bool]]:
    """Each dropped message of `kind`: why, and whether it was ever tried."""
    db.session.expire_all()
    return [(m.dropped_reason, m.attempts > 0 or m.sent_at is not None)
            for m in messages(kind) if m.status is OutboxStatus.DROPPED
            and m.dropped_at is not None]


def edit(cast, meetup, **changes) -> None:
    data = events.event_input(meetup)
    events.update_event(cast.lead, meetup, events.EventInput(**{**data.__dict__, **changes}))
    db.session.commit()


def move(cast, meetup, start: datetime) -> None:
    edit(cast, meetup, starts_local=start, ends_local=start + timedelta(hours=2))


def cancel_meetup(cast, meetup) -> None:
    events.cancel_event(cast.lead, meetup, "The hall is flooded.")
    db.session.commit()


def worker_runs_at(monkeypatch, now: datetime) -> None:
    monkeypatch.setattr(delivery, "utcnow", lambda: now)


@pytest.fixture
def promoted(smtp, cast, meetup, others) -> User:
    """Two seats: the member and others[0] went, others[1] waited (all told). The member
    cancelled and others[1] was promoted; the mail telling them is queued, not yet sent."""
    for person in (cast.member, *others):
        registrations.rsvp(person, meetup.id)
    db.session.commit()
    assert delivery.deliver_due().sent == 3
    smtp.received.clear()
    registrations.cancel(cast.member, meetup.id)
    db.session.commit()
    assert [m.status for m in messages(Notice.PROMOTED)] == [OutboxStatus.PENDING]
    return others[1]


def test_a_promotion_that_still_holds_is_sent(smtp, promoted):
    delivered = delivery.deliver_due()
    assert (delivered.sent, delivered.dropped) == (1, {})
    assert arrived(smtp) == [(promoted.email, f"A seat freed up, you're going: {TITLE}")]
    assert [m.status for m in messages(Notice.PROMOTED)] == [OutboxStatus.SENT]


def test_a_promotion_is_not_sent_for_a_meetup_cancelled_since(smtp, cast, meetup, others,
                                                              promoted):
    cancel_meetup(cast, meetup)
    delivered = delivery.deliver_due()
    assert (delivered.sent, delivered.dropped) == (2, {DropReason.MEETUP_CANCELLED: 1})
    assert arrived(smtp) == sorted([(others[0].email, f"Meetup cancelled: {TITLE}"),
                                    (promoted.email, f"Meetup cancelled: {TITLE}")])
    assert dropped(Notice.PROMOTED) == [("meetup_cancelled", False)]


def test_a_promotion_is_not_sent_once_the_meetup_is_over(smtp, meetup, promoted, monkeypatch):
    worker_runs_at(monkeypatch, meetup.ends_at + timedelta(minutes=1))  # the server was down
    assert delivery.deliver_due().dropped == {DropReason.MEETUP_OVER: 1}
    assert smtp.received == []
    assert dropped(Notice.PROMOTED) == [("meetup_over", False)]


def test_a_promotion_is_not_sent_once_its_rsvp_is_cancelled(smtp, meetup, promoted):
    registrations.cancel(promoted, meetup.id)
    db.session.commit()
    assert delivery.deliver_due().dropped == {DropReason.RSVP_CHANGED: 1}
    assert smtp.received == []
    assert dropped(Notice.PROMOTED) == [("rsvp_changed", False)]


def test_the_old_ticket_is_not_sent_after_rsvping_again(smtp, cast, meetup):
    registrations.rsvp(cast.member, meetup.id)
    registrations.cancel(cast.member, meetup.id)
    again = registrations.rsvp(cast.member, meetup.id)
    db.session.commit()
    delivered = delivery.deliver_due()
    assert (delivered.sent, delivered.dropped) == (1, {DropReason.RSVP_CHANGED: 1})
    [mail] = smtp.received
    assert f"/tickets/{again.ticket_code}" in mail.get_body(("plain",)).get_content()


def test_a_waitlist_place_is_not_sent_once_promoted(smtp, cast, meetup, others):
    for person in (cast.member, *others):
        registrations.rsvp(person, meetup.id)
    registrations.cancel(cast.member, meetup.id)  # others[1] is promoted before any mail went
    db.session.commit()
    delivered = delivery.deliver_due()
    assert (delivered.sent, delivered.dropped) == (2, {DropReason.RSVP_CHANGED: 2})
    assert arrived(smtp) == sorted([(others[0].email, f"You're going: {TITLE}"),
                                    (others[1].email, f"A seat freed up, you're going: {TITLE}")])
    assert dropped(Notice.WAITLISTED) == [("rsvp_changed", False)]
    assert dropped(Notice.CONFIRMED) == [("rsvp_changed", False)]  # the member cancelled


def test_waiting_and_declined_are_not_sent_once_a_lead_let_the_member_in(smtp, cast, meetup):
    meetup.requires_approval = True
    db.session.commit()
    registration = registrations.rsvp(cast.member, meetup.id)
    registrations.review(cast.lead, registration.id, approve=False)
    registrations.add_by_hand(cast.lead, meetup.id, cast.member.email)
    db.session.commit()
    assert delivery.deliver_due().dropped == {DropReason.RSVP_CHANGED: 2}
    assert arrived(smtp) == [(cast.member.email, f"You're going: {TITLE}")]
    assert dropped(Notice.PENDING) == dropped(Notice.DECLINED) == [("rsvp_changed", False)]


def test_a_confirmation_is_not_sent_for_a_meetup_back_to_draft(smtp, cast, meetup):
    registrations.rsvp(cast.member, meetup.id)
    db.session.commit()
    edit(cast, meetup, status=EventStatus.DRAFT)
    assert delivery.deliver_due().dropped == {DropReason.MEETUP_UNPUBLISHED: 1}
    assert smtp.received == []


@pytest.fixture
def told(smtp, cast, meetup) -> None:
    """The member RSVPed and got the confirmation."""
    registrations.rsvp(cast.member, meetup.id)
    db.session.commit()
    assert delivery.deliver_due().sent == 1
    smtp.received.clear()


def test_a_change_is_not_sent_for_a_meetup_cancelled_since(smtp, cast, meetup, told):
    move(cast, meetup, START + timedelta(days=1))
    cancel_meetup(cast, meetup)
    assert delivery.deliver_due().dropped == {DropReason.MEETUP_CANCELLED: 1}
    assert arrived(smtp) == [(cast.member.email, f"Meetup cancelled: {TITLE}")]


def test_a_change_is_not_sent_to_who_cancelled_since(smtp, cast, meetup, told):
    move(cast, meetup, START + timedelta(days=1))
    registrations.cancel(cast.member, meetup.id)
    db.session.commit()
    assert delivery.deliver_due().dropped == {DropReason.RSVP_CHANGED: 1}
    assert smtp.received == []


def test_only_the_latest_of_two_changes_is_sent(smtp, cast, meetup, told):
    move(cast, meetup, START + timedelta(days=1))
    move(cast, meetup, START + timedelta(days=2))
    assert delivery.deliver_due().dropped == {DropReason.MEETUP_CHANGED_AGAIN: 1}
    [mail] = smtp.received
    assert f"{START.day + 2} March {START.year}" in mail.get_body(("plain",)).get_content()


@pytest.fixture
def reminded(smtp, cast):
    """A meetup three hours ahead; the member is going, told so, and their reminder queued."""
    soon = schedule(cast, _soon(3), title="Tea tasting")
    registrations.rsvp(cast.member, soon.id)
    db.session.commit()
    assert delivery.deliver_due().sent == 1
    smtp.received.clear()
    assert queue_reminders(timedelta(hours=24)) == 1
    return soon


def test_a_reminder_is_not_sent_for_a_cancelled_meetup(smtp, cast, reminded):
    cancel_meetup(cast, reminded)
    assert delivery.deliver_due().dropped == {DropReason.MEETUP_CANCELLED: 1}
    assert arrived(smtp) == [(cast.member.email, "Meetup cancelled: Tea tasting")]


def test_a_reminder_is_not_sent_once_the_meetup_started(smtp, reminded, monkeypatch):
    worker_runs_at(monkeypatch, reminded.starts_at + timedelta(minutes=1))
    assert delivery.deliver_due().dropped == {DropReason.MEETUP_STARTED: 1}
    assert smtp.received == []


def test_a_moved_meetup_is_reminded_of_at_its_new_time_only(smtp, cast, reminded):
    move(cast, reminded, _soon(5))
    delivered = delivery.deliver_due()
    assert (delivered.sent, delivered.dropped) == (1, {DropReason.MEETUP_CHANGED_AGAIN: 1})
    assert queue_reminders(timedelta(hours=24)) == 1
    assert delivery.deliver_due().sent == 1
    assert arrived(smtp) == [(cast.member.email, "Meetup changed: Tea tasting"),
                             (cast.member.email, "Reminder: Tea tasting starts soon")]


def test_no_mail_goes_to_an_account_or_rsvp_deleted_since(smtp, cast, meetup, others):
    registrations.rsvp(cast.member, meetup.id)
    gone = registrations.rsvp(others[0], meetup.id)
    db.session.commit()
    db.session.execute(delete(User).where(User.id == cast.member.id))
    db.session.execute(delete(Registration).where(Registration.id == gone.id))
    db.session.commit()
    assert delivery.deliver_due().dropped == {DropReason.ACCOUNT_GONE: 1,
                                              DropReason.RSVP_GONE: 1}
    assert smtp.received == []


def test_a_nudge_is_sent(smtp, cast):
    assert notify_members(Notice.NUDGE, cast.branch, [cast.member], utcnow().date()) == 1
    db.session.commit()
    assert delivery.deliver_due().sent == 1
    assert arrived(smtp) == [(cast.member.email, f"We miss you at {cast.branch.name}")]


def test_a_nudge_from_a_branch_deleted_since_is_dropped(smtp, cast):
    assert notify_members(Notice.NUDGE, cast.branch, [cast.member], utcnow().date()) == 1
    db.session.commit()
    db.session.execute(delete(Branch).where(Branch.id == cast.branch.id))
    db.session.commit()
    assert delivery.deliver_due().dropped == {DropReason.BRANCH_GONE: 1}
    assert smtp.received == []


def test_every_kind_of_mail_has_a_premise():
    assert set(PREMISES) == set(Notice)
