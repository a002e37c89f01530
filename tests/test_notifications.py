"""Email notifications: queued in the same transaction as the RSVP change, deduplicated,
rendered when they are sent (from the state of that moment, in the member's language), written
to files by default, and reminders."""

from __future__ import annotations

import contextvars
import email
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from flask import template_rendered
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from branches.services import VenueInput, join_branch, save_venue
from planner.core.errors import InvalidInput
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.core.unit_of_work import unit_of_work
from planner.events import services as events
from planner.events.models import EventStatus
from planner.notifications import commands, delivery
from planner.notifications.commands import queue_reminders, register_commands
from planner.notifications.kinds import Notice
from planner.notifications.models import OutboxMessage, OutboxStatus
from planner.notifications.outbox import notify, notify_attendees
from planner.registrations import services as registrations
from planner.registrations.models import Registration, RegistrationStatus
from tests.conftest import bearer

NEXT_YEAR = datetime.now(UTC).year + 1
TITLE = "Board games 桌游"
START = datetime(NEXT_YEAR, 3, 5, 19, 0)


def messages(kind: Notice | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query))


def delivered(kind: Notice | None = None) -> list[OutboxMessage]:
    """Run the worker's pass, then the messages as it left them (what was sent is on the row)."""
    delivery.deliver_due()
    db.session.expire_all()
    return messages(kind)


def count_messages() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def schedule(cast, start: datetime, capacity: int = 2, title: str = TITLE):
    hall = save_venue(cast.lead, cast.branch, VenueInput(f"Hall {start:%m%d%H}", "1 Jinli Road",
                                                        40))
    data = events.EventInput(title=title, starts_local=start,
                             ends_local=start + timedelta(hours=2), venue_id=hall.id,
                             capacity=capacity, status=EventStatus.PUBLISHED)
    [event] = events.schedule(cast.lead, cast.branch, data)
    return event


def chinese_member(cast, make_user):
    person = make_user("马明", locale="zh_CN")
    join_branch(person, cast.branch)
    return person


@pytest.fixture
def meetup(cast):
    """Published, two seats, 5 March next year 19:00 in Chengdu (Asia/Shanghai)."""
    return schedule(cast, START)


@pytest.fixture
def member_zh(cast, make_user):
    return chinese_member(cast, make_user)


@pytest.fixture
def others(cast, make_user):
    people = [make_user(f"Other {n}") for n in range(3)]
    for person in people:
        join_branch(person, cast.branch)
    return people


# --- queued with the change, once -------------------------------------------------------------

def test_rsvp_queues_a_confirmation_sent_with_ticket_and_calendar(cast, meetup):
    registration = registrations.rsvp(cast.member, meetup.id)
    [message] = messages()
    assert message.kind == Notice.CONFIRMED
    assert message.status is OutboxStatus.PENDING and message.attempts == 0
    [message] = delivered()
    assert (message.to_address, message.user_id) == (cast.member.email, cast.member.id)
    assert message.status is OutboxStatus.SENT
    assert message.subject == f"You're going: {TITLE}"
    assert message.body.startswith("Hello Member Ma,")
    assert "Hall 030519, 1 Jinli Road" in message.body
    weekday = datetime(NEXT_YEAR, 3, 5).strftime("%A")
    assert (f"When: {weekday} 5 March {NEXT_YEAR}, 19:00–21:00 (UTC+8)"
            in message.body)
    assert f"http://localhost/events/{meetup.id}" in message.body
    assert f"/tickets/{registration.ticket_code}" in message.body
    assert b"BEGIN:VCALENDAR" in message.ics


def test_a_rolled_back_rsvp_leaves_no_message(cast, meetup, monkeypatch):
    place = registrations._place

    def place_then_fail(registration, event):
        place(registration, event)  # notifies
        raise InvalidInput(fields={"guests": ["boom"]})

    monkeypatch.setattr(registrations, "_place", place_then_fail)
    with pytest.raises(InvalidInput):
        registrations.rsvp(cast.member, meetup.id)
    db.session.rollback()
    assert count_messages() == 0
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_repeating_an_rsvp_or_a_notice_mails_once(cast, meetup):
    registration = registrations.rsvp(cast.member, meetup.id)
    registrations.rsvp(cast.member, meetup.id)
    notify(Notice.CONFIRMED, registration)
    notify(Notice.CONFIRMED, registration)  # the first is still only in the session
    db.session.commit()
    assert len(messages(Notice.CONFIRMED)) == 1


def test_rsvping_again_after_cancelling_is_a_new_confirmation(cast, meetup):
    registrations.rsvp(cast.member, meetup.id)
    registrations.cancel(cast.member, meetup.id)
    again = registrations.rsvp(cast.member, meetup.id)
    first, second = delivered(Notice.CONFIRMED)
    assert first.dedupe_key != second.dedupe_key
    assert (first.status, first.dropped_reason) == (OutboxStatus.DROPPED, "rsvp_changed")
    assert again.ticket_code in second.body


def test_waitlist_and_promotion(cast, meetup, others):
    for person in [cast.member, others[0]]:
        registrations.rsvp(person, meetup.id)
    registrations.rsvp(others[1], meetup.id)
    [waitlisted] = delivered(Notice.WAITLISTED)
    assert waitlisted.to_address == others[1].email
    assert "Your place in the queue: 1." in waitlisted.body
    assert waitlisted.ics is None and "/tickets/" not in waitlisted.body
    promoted = registrations.cancel(cast.member, meetup.id)
    assert promoted.status is RegistrationStatus.CANCELLED
    [message] = delivered(Notice.PROMOTED)
    ticket = db.session.scalar(select(Registration.ticket_code).where(
        Registration.user_id == others[1].id))
    assert message.to_address == others[1].email
    assert message.subject.startswith("A seat freed up")
    assert f"/tickets/{ticket}" in message.body and message.ics


def test_more_seats_promote_with_a_mail(cast, meetup, others):
    for person in [cast.member, *others]:
        registrations.rsvp(person, meetup.id)
    registrations.set_capacity(cast.lead, meetup.id, 3)
    assert [m.user_id for m in messages(Notice.PROMOTED)] == [others[1].id]


def test_approval_pending_then_declined_with_the_leads_message(cast, meetup):
    meetup.requires_approval = True
    db.session.commit()
    registration = registrations.rsvp(cast.member, meetup.id)
    [pending] = delivered(Notice.PENDING)
    assert "review every RSVP" in pending.body
    registrations.review(cast.lead, registration.id, approve=False, message="Only for regulars.")
    [declined] = delivered(Notice.DECLINED)
    assert declined.subject == f"Your RSVP was declined: {TITLE}"
    assert "Their message:\nOnly for regulars." in declined.body


def test_approval_then_confirmed(cast, meetup):
    meetup.requires_approval = True
    db.session.commit()
    registration = registrations.rsvp(cast.member, meetup.id)
    registrations.review(cast.lead, registration.id, approve=True)
    assert [m.kind for m in messages()] == [Notice.PENDING, Notice.CONFIRMED]


# --- the whole meetup --------------------------------------------------------------------------

def test_cancelling_the_meetup_tells_everyone_still_coming_once(cast, meetup, others):
    for person in [cast.member, others[0], others[1]]:
        registrations.rsvp(person, meetup.id)
    registrations.cancel(others[0], meetup.id)
    events.cancel_event(cast.lead, meetup, "The hall is flooded.")
    cancelled = delivered(Notice.EVENT_CANCELLED)
    assert sorted(m.to_address for m in cancelled) == sorted(
        [cast.member.email, others[1].email])  # not who cancelled
    assert all("Message from the organisers:\nThe hall is flooded." in m.body
               for m in cancelled)
    assert all("/tickets/" not in m.body for m in cancelled)


def test_a_moved_meetup_tells_attendees_with_the_new_time(cast, meetup):
    registrations.rsvp(cast.member, meetup.id)
    data = events.event_input(meetup)
    moved = datetime(NEXT_YEAR, 3, 6, 20, 0)
    events.update_event(cast.lead, meetup,
                        events.EventInput(**{**data.__dict__, "starts_local": moved,
                                             "ends_local": moved + timedelta(hours=2)}))
    db.session.commit()  # the edge's commit
    [changed] = delivered(Notice.EVENT_CHANGED)
    assert changed.subject == f"Meetup changed: {TITLE}"
    assert f"6 March {NEXT_YEAR}, 20:00–22:00 (UTC+8)" in changed.body
    assert "/tickets/" in changed.body  # still going: the ticket stays valid


def test_notify_attendees_refuses_a_personal_notice(meetup):
    with pytest.raises(ValueError, match="confirmed"):
        notify_attendees(Notice.CONFIRMED, meetup)


# --- the member's language ---------------------------------------------------------------------

def test_each_member_is_mailed_in_their_language(cast, meetup, member_zh):
    registrations.rsvp(cast.member, meetup.id)
    registrations.rsvp(member_zh, meetup.id)
    english, chinese = delivered(Notice.CONFIRMED)
    assert english.subject == f"You're going: {TITLE}"
    assert chinese.subject == f"报名成功：{TITLE}"
    assert chinese.body.startswith("马明，你好：")
    assert f"时间：{NEXT_YEAR}年3月5日 星期" in chinese.body
    assert " 19:00–21:00 (UTC+8)" in chinese.body
    assert "地点：Hall 030519, 1 Jinli Road" in chinese.body
    assert "You're going" not in chinese.body


def _outside_a_request(app, function, *args):
    """Run like a command does: its own app context, no request, no test request context."""
    db.session.commit()  # the test's session must not hold SQLite's write lock meanwhile

    def run():
        with app.app_context():
            function(*args)
            db.session.commit()

    contextvars.Context().run(run)
    db.session.expire_all()


def test_messages_render_outside_a_request_in_each_language(app, cast, meetup, member_zh):
    registration_ids = [registrations.rsvp(person, meetup.id).id
                        for person in (cast.member, member_zh)]
    db.session.execute(OutboxMessage.__table__.delete())

    def remind() -> None:
        for registration_id in registration_ids:
            notify(Notice.REMINDER, db.session.get(Registration, registration_id))

    _outside_a_request(app, remind)
    _outside_a_request(app, delivery.deliver_due)  # the worker renders, with no request either
    english, chinese = messages(Notice.REMINDER)
    assert english.subject == f"Reminder: {TITLE} starts soon"
    assert chinese.subject == f"活动提醒：{TITLE} 即将开始"
    for message in (english, chinese):
        assert f"http://localhost/events/{meetup.id}" in message.body
        assert "http://localhost/tickets/" in message.body


# --- rendered when sent, never under the meetup's lock ------------------------------------------

class Trace:
    """What the database and the templates were asked to do, in order: ("sql", statement),
    ("commit", "") and ("template", name)."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, str]] = []

    def statement(self, _connection, _cursor, statement, *_args) -> None:
        self.steps.append(("sql", statement))

    def committed(self, _connection) -> None:
        self.steps.append(("commit", ""))

    def rendered(self, _sender, template, context, **_extra) -> None:
        self.steps.append(("template", template.name))

    def templates(self, steps: list[tuple[str, str]] | None = None) -> list[str]:
        return [name for kind, name in (self.steps if steps is None else steps)
                if kind == "template"]

    def unit_of_work_that(self, does: str) -> tuple[list[str], list[tuple[str, str]]]:
        """The statements of the committed transaction that sent a statement starting with
        `does`, and every step after its commit."""
        start = 0
        for end, step in enumerate(self.steps):
            if step[0] != "commit":
                continue
            statements = [sql for kind, sql in self.steps[start:end] if kind == "sql"]
            if any(sql.startswith(does) for sql in statements):
                return statements, self.steps[end + 1:]
            start = end + 1
        raise AssertionError(f"no committed transaction did {does!r}")


@contextmanager
def traced(app) -> Iterator[Trace]:
    trace = Trace()
    listeners = (("before_cursor_execute", trace.statement), ("commit", trace.committed))
    for name, listener in listeners:
        sa_event.listen(db.engine, name, listener)
    try:
        with template_rendered.connected_to(trace.rendered, app):
            yield trace
    finally:
        for name, listener in listeners:
            sa_event.remove(db.engine, name, listener)


def test_the_rsvp_queues_what_to_send_and_not_the_words(app, cast, meetup):
    with traced(app) as trace, unit_of_work():
        registration = registrations.rsvp(cast.member, meetup.id)
        [message] = messages()  # flushed, in the RSVP's own transaction
        assert (message.kind, message.user_id, message.registration_id, message.branch_id) == (
            Notice.CONFIRMED, cast.member.id, registration.id, None)
        assert message.dedupe_key == (
            f"confirmed:{registration.id}:{registration.ticket_code}:{meetup.sequence}")
        assert (message.to_address, message.subject, message.body, message.ics) == (
            None, None, None, None)
    assert trace.templates() == []
    [message] = delivered()
    assert message.subject == f"You're going: {TITLE}" and message.ics


def test_an_rsvp_request_renders_its_mail_only_after_its_commit(app, client, cast, meetup):
    """Through the API as a member's phone does: inside the request's unit of work (which holds
    the meetup's row lock from its SELECT … FOR UPDATE until the commit) one outbox row is
    inserted and no template is rendered; the mail is rendered after the commit, when the
    response is out (delivery after the request)."""
    headers = bearer(client, cast.member)
    db.session.commit()  # the test's own transaction ends before the trace starts
    with traced(app) as trace:
        response = client.post(f"/api/v1/events/{meetup.id}/registrations", json={},
                               headers=headers, buffered=True)
    assert response.status_code == 201, response.text
    statements, after_commit = trace.unit_of_work_that("INSERT INTO registrations")
    assert trace.templates(trace.steps[:len(trace.steps) - len(after_commit)]) == []
    assert trace.templates(after_commit) == ["notifications/confirmed.txt"]
    locked = statements[_lock_taken(statements):]
    assert sum(sql.startswith("INSERT INTO outbox_messages") for sql in locked) == 1
    assert not any("FROM venues" in sql for sql in locked)  # the mail's "Where:" is not read
    [message] = messages()
    assert message.status is OutboxStatus.SENT and message.ics


def _lock_taken(statements: list[str]) -> int:
    """Where the meetup's lock is taken: at its SELECT … FOR UPDATE on PostgreSQL; SQLite takes
    its one write lock when the transaction begins (BEGIN IMMEDIATE: planner/core/db.py)."""
    if db.engine.dialect.name != "postgresql":
        return 0
    return next(n for n, sql in enumerate(statements)
                if sql.startswith("SELECT events.") and "FOR UPDATE" in sql)


def test_a_mail_tells_the_meetup_as_it_is_when_sent(cast, meetup):
    registrations.rsvp(cast.member, meetup.id)
    db.session.commit()
    data = events.event_input(meetup)
    events.update_event(cast.lead, meetup, events.EventInput(**{**data.__dict__,
                                                                "title": "Go 围棋"}))
    db.session.commit()  # retitled before the worker got to the mail
    [confirmed] = delivered(Notice.CONFIRMED)
    assert confirmed.subject == "You're going: Go 围棋"
    assert TITLE not in confirmed.body
    [vevent] = icalendar.Calendar.from_ical(confirmed.ics).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Go 围棋"
    assert messages(Notice.EVENT_CHANGED) == []  # a new title is no move: no mail of its own


def test_a_waitlist_place_is_told_as_it_is_when_sent(cast, meetup, others, make_user):
    for person in (cast.member, others[0], others[1], others[2]):
        registrations.rsvp(person, meetup.id)  # two seats: others[1] and others[2] wait
    registrations.cancel(others[1], meetup.id)  # leaves the queue before any mail went
    db.session.commit()
    [gone, waiting] = delivered(Notice.WAITLISTED)
    assert (gone.status, gone.dropped_reason) == (OutboxStatus.DROPPED, "rsvp_changed")
    assert waiting.to_address == others[2].email
    assert "Your place in the queue: 1." in waiting.body


def test_a_mail_speaks_the_language_the_member_has_when_it_is_sent(cast, meetup):
    registrations.rsvp(cast.member, meetup.id)
    cast.member.locale = "zh_CN"  # chosen on the profile page before the worker sent it
    db.session.commit()
    [confirmed] = delivered()
    assert confirmed.subject == f"报名成功：{TITLE}"


def test_a_mail_that_cannot_be_rendered_fails_alone_and_the_pass_goes_on(app, cast, member_zh):
    """A template that raises (a bug shipped with a deploy) must not hold up the rest of the
    outbox: its message fails this attempt, is retried later, and the others are sent."""
    meetup = schedule(cast, START, capacity=1)
    registrations.rsvp(cast.member, meetup.id)
    registrations.rsvp(member_zh, meetup.id)  # waitlisted
    db.session.commit()
    app.jinja_env.loader = ChoiceLoader([
        DictLoader({"notifications/waitlisted.txt": "{{ no_such_thing.title }}"}),
        app.jinja_env.loader])
    app.jinja_env.cache.clear()
    outcome = delivery.deliver_due()
    assert (outcome.sent, outcome.failed, outcome.server_trouble) == (1, 1, False)
    db.session.expire_all()
    [waitlisted] = messages(Notice.WAITLISTED)
    assert (waitlisted.status, waitlisted.attempts, waitlisted.body) == (
        OutboxStatus.PENDING, 1, None)
    assert "UndefinedError" in waitlisted.last_error and waitlisted.next_attempt_at > utcnow()


# --- delivery to files (the default) -----------------------------------------------------------

def test_default_transport_writes_eml_files_and_marks_sent(app, cast, meetup, member_zh):
    registrations.rsvp(member_zh, meetup.id)
    assert delivery.deliver_due().sent == 1
    [path] = (Path(app.instance_path) / "outbox").glob("*.eml")
    mail = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert mail["Subject"] == f"报名成功：{TITLE}"
    assert mail["To"] == member_zh.email
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "meetup.ics"
    [message] = messages()
    assert message.status is OutboxStatus.SENT and message.sent_at is not None
    assert delivery.deliver_due().sent == 0  # nothing is sent twice
    assert len(list(path.parent.glob("*.eml"))) == 1


def test_nothing_is_sent_before_it_is_due(cast, meetup):
    registrations.rsvp(cast.member, meetup.id)
    [message] = messages()
    message.next_attempt_at = utcnow() + timedelta(minutes=5)
    db.session.commit()
    assert delivery.deliver_due().sent == 0
    assert messages()[0].status is OutboxStatus.PENDING


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example.com", ("mail.example.com", 25, "plain", "", "")),
    ("smtp+starttls://me%40example.com:p%2Fss@mail.example.com",
     ("mail.example.com", 587, "starttls", "me@example.com", "p/ss")),
    ("smtps://u:p@mail.example.com:2465", ("mail.example.com", 2465, "tls", "u", "p")),
])
def test_mail_url_names_the_smtp_server(url, expected, tmp_path):
    transport = delivery.mail_transport({"MAIL_URL": url}, tmp_path)
    assert isinstance(transport, delivery.SmtpTransport)
    assert (transport.host, transport.port, transport.security, transport.username,
            transport.password) == expected
    assert transport.sender == delivery.DEFAULT_SENDER


def test_mail_url_options_and_mistakes(tmp_path):
    transport = delivery.mail_transport(
        {"MAIL_URL": "smtp://h?from=Juhui%20%3Cjuhui%40example.org%3E&timeout=3"}, tmp_path)
    assert (transport.sender, transport.timeout) == ("Juhui <juhui@example.org>", 3.0)
    assert isinstance(delivery.mail_transport({"MAIL_URL": ""}, tmp_path),
                      delivery.FileTransport)
    with pytest.raises(ValueError, match="unknown scheme 'http'"):
        delivery.mail_transport({"MAIL_URL": "http://h"}, tmp_path)


def test_retry_waits_double_each_time_up_to_an_hour():
    assert [delivery.retry_delay(n).total_seconds() / 60 for n in range(1, 9)] == [
        1, 2, 4, 8, 16, 32, 60, 60]


# --- reminders -----------------------------------------------------------------------------------

def _soon(hours: int) -> datetime:
    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, second=0, microsecond=0)
    return now + timedelta(hours=hours)


@pytest.fixture
def soon_and_later(cast, others):
    soon = schedule(cast, _soon(3), capacity=1, title="Tea tasting")
    later = schedule(cast, _soon(72), title="Hiking")
    registrations.rsvp(cast.member, soon.id)
    registrations.rsvp(others[0], soon.id)  # waitlisted: no reminder
    registrations.rsvp(others[1], later.id)
    db.session.execute(OutboxMessage.__table__.delete())
    db.session.commit()
    return soon, later


def test_reminders_go_once_to_those_going_to_meetups_starting_soon(cast, soon_and_later):
    assert queue_reminders(timedelta(hours=24)) == 1
    assert queue_reminders(timedelta(hours=24)) == 0
    [reminder] = delivered(Notice.REMINDER)
    assert reminder.to_address == cast.member.email
    assert "Tea tasting" in reminder.subject
    assert queue_reminders(timedelta(hours=96)) == 1  # the later meetup now falls in


def test_a_moved_meetup_gets_a_new_reminder(cast, soon_and_later):
    soon, _later = soon_and_later
    queue_reminders(timedelta(hours=24))
    data = events.event_input(soon)
    events.update_event(cast.lead, soon, events.EventInput(
        **{**data.__dict__, "starts_local": _soon(5), "ends_local": _soon(6)}))
    assert queue_reminders(timedelta(hours=24)) == 1


def _register_cli(app) -> None:
    register_commands(app)  # a second registration (by the app factory) changes nothing


def test_send_reminders_command_is_idempotent(app, runner, cast, soon_and_later):
    _register_cli(app)
    first = runner.invoke(args=["send-reminders"])
    assert first.exit_code == 0, first.output
    assert "Queued 1 reminder(s)." in first.output and "Sent 1 message(s)." in first.output
    second = runner.invoke(args=["send-reminders"])
    assert "Queued 0 reminder(s)." in second.output and "Sent 0 message(s)." in second.output
    assert len(list((Path(app.instance_path) / "outbox").glob("*.eml"))) == 1


def test_send_reminders_outside_a_request_links_to_the_public_url(app, runner, cast,
                                                                  soon_and_later):
    _register_cli(app)
    soon, _later = soon_and_later
    app.config["PUBLIC_URL"] = "https://juhui.example.org/"
    db.session.commit()
    result = contextvars.Context().run(runner.invoke, args=["send-reminders"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    [reminder] = messages(Notice.REMINDER)
    assert f"https://juhui.example.org/events/{soon.id}" in reminder.body
    assert reminder.status is OutboxStatus.SENT


def test_send_mail_command_sends_what_is_due(app, runner, cast, meetup):
    _register_cli(app)
    registrations.rsvp(cast.member, meetup.id)
    assert "Sent 1 message(s)." in runner.invoke(args=["send-mail"]).output
    assert "Sent 0 message(s)." in runner.invoke(args=["send-mail"]).output


def test_send_mail_reports_what_it_dropped_apart_and_why(app, runner, cast, meetup, others):
    _register_cli(app)
    registrations.rsvp(cast.member, meetup.id)
    registrations.cancel(cast.member, meetup.id)
    registrations.rsvp(others[0], meetup.id)
    db.session.commit()
    assert runner.invoke(args=["send-mail"]).output == (
        "Sent 1 message(s).\n"
        "Dropped 1 message(s) no longer true (not sent): rsvp_changed 1.\n")
    [dropped] = [m for m in messages() if m.status is OutboxStatus.DROPPED]
    assert (dropped.user_id, dropped.dropped_reason) == (cast.member.id, "rsvp_changed")
    assert dropped.body is None  # never rendered


def test_send_mail_loop_sends_then_waits_until_stopped(app, runner, cast, meetup, monkeypatch):
    _register_cli(app)
    registrations.rsvp(cast.member, meetup.id)
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(commands.time, "sleep", nap)
    result = runner.invoke(args=["send-mail", "--loop", "--interval", "5"])
    assert naps == [5.0, 5.0]
    assert result.output.count("Sent 1 message(s).") == 1  # quiet when there was nothing
    assert messages()[0].status is OutboxStatus.SENT


def test_a_failing_pass_does_not_stop_the_loop(app, monkeypatch, caplog):
    def broken() -> int:
        raise RuntimeError("database restarting")

    monkeypatch.setattr(commands, "deliver_all", broken)
    commands._one_pass_of_the_loop()
    assert "database restarting" in caplog.text


def test_a_pass_whose_database_connection_died_does_not_stop_the_loop(app, monkeypatch,
                                                                     caplog):
    from tests.test_ops import lose_the_connection

    def connection_lost() -> int:
        lose_the_connection()  # while the pass's session holds it
        raise RuntimeError("mail server gone too")

    monkeypatch.setattr(commands, "deliver_all", connection_lost)
    commands._one_pass_of_the_loop()  # ends the pass's session over the dead connection
    assert "mail server gone too" in caplog.text
    assert count_messages() == 0  # the next pass is served on a new connection
