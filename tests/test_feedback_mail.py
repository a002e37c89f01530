"""The feedback request: queued by the cron's `send-reminders` for the members checked in at a
meetup that ended, sent through a real SMTP server (aiosmtpd) once per member per meetup, in
each member's language, with a link to the feedback page built from PUBLIC_URL; dropped when
the member rated the meetup meanwhile or the window closed."""

from __future__ import annotations

import contextvars
from datetime import timedelta

from sqlalchemy import select

from branches.services import join_branch
from planner.core.extensions import db
from planner.feedback import services
from planner.notifications.kinds import Notice
from planner.notifications.models import OutboxMessage, OutboxStatus
from tests.test_feedback import DAY, held

PUBLIC = "https://juhui.example.org"


def requests() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == Notice.FEEDBACK_REQUEST).order_by(OutboxMessage.id)))


def run(runner) -> str:
    db.session.commit()
    result = contextvars.Context().run(runner.invoke, args=["send-reminders"])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_request_reaches_exactly_the_members_checked_in_once(app, runner, cast, make_user,
                                                                  smtp):
    app.config["PUBLIC_URL"] = PUBLIC
    came = [make_user("Came Chen"), make_user("王芳", locale="zh_CN")]
    stayed_away = make_user("Absent An")
    for person in (*came, stayed_away):
        join_branch(person, cast.branch)
    event = held(cast, came, also_going=[stayed_away], title="Dumpling night")
    long_ago = held(cast, [came[0]], title="Old times", ended_ago=15 * DAY)
    ahead = held(cast, [came[0]], title="Still on", ended_ago=-DAY)  # not over yet
    first = run(runner)
    assert "Queued 2 feedback request(s)." in first
    received = {message["To"]: message for message in smtp.received
                if "feedback" in message.get_body().get_content()}
    assert set(received) == {person.email for person in came}
    english, chinese = received[came[0].email], received[came[1].email]
    assert english["Subject"] == "How was Dumpling night?"
    assert "Dumpling night" in chinese["Subject"] and "How was" not in chinese["Subject"]
    for message in (english, chinese):
        assert f"{PUBLIC}/events/{event.id}/feedback" in message.get_body().get_content()
    assert {m.registration.event_id for m in requests()} == {event.id}
    assert long_ago.id != ahead.id
    count = len(smtp.received)
    second = run(runner)
    assert "Queued 0 feedback request(s)." in second and len(smtp.received) == count


def test_a_member_who_rated_already_is_not_asked(app, runner, cast, make_user,
                                                 smtp):
    quick, slow = make_user("Quick Qi"), make_user("Slow Song")
    for person in (quick, slow):
        join_branch(person, cast.branch)
    event = held(cast, [quick, slow], title="Board games")
    services.give(quick, event.id, services.FeedbackInput(5))
    output = run(runner)
    assert "Queued 2 feedback request(s)." in output
    assert "feedback_given 1" in output
    by_member = {m.user_id: m for m in requests()}
    assert by_member[quick.id].status is OutboxStatus.DROPPED
    assert by_member[quick.id].dropped_reason == "feedback_given"
    assert by_member[slow.id].status is OutboxStatus.SENT
    assert [m["To"] for m in smtp.received] == [slow.email]


def test_a_request_due_after_the_window_closed_is_dropped(app, runner, cast, make_user,
                                                          smtp):
    person = make_user("Late Lu")
    join_branch(person, cast.branch)
    event = held(cast, [person], title="Hike", ended_ago=13 * DAY)
    db.session.commit()
    from planner.notifications.commands import queue_feedback_requests

    assert queue_feedback_requests(timedelta(days=14)) == 1
    event.ends_at -= 2 * DAY  # the mail server was down past the window's end
    event.starts_at -= 2 * DAY
    output = run(runner)
    assert "feedback_closed 1" in output and smtp.received == []
