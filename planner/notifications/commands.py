"""Commands: `flask --app wsgi send-mail [--loop]` (the sending worker) and
`flask --app wsgi send-reminders` (e.g. hourly from cron: reminders of meetups starting soon and
feedback requests after meetups that ended). Both are safe to run again: the worker never sends
a message twice, a reminder is queued once per member and start time, a feedback request once
per member and meetup.
Each says what it sent, and apart what it dropped and why (premises.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from planner.core.db import release
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.core.unit_of_work import unit_of_work
from planner.events.models import Event, EventStatus
from planner.notifications.delivery import Delivered, deliver_due
from planner.notifications.kinds import Notice
from planner.notifications.outbox import notify_many
from planner.registrations.models import Registration, RegistrationStatus

logger = logging.getLogger(__name__)
BATCH = 100
# Other outboxes the same worker delivers (webhooks): each pass returns a line to print, or "".
WORKER_PASSES = "juhui.worker.passes"
WorkerPass = Callable[[], str]


def also_deliver(app: Flask, worker_pass: WorkerPass) -> None:
    """Have `send-mail` run `worker_pass` after the mail, on every pass (a higher area's
    outbox, which this one cannot import)."""
    passes: list[WorkerPass] = app.extensions.setdefault(WORKER_PASSES, [])
    if worker_pass not in passes:
        passes.append(worker_pass)


def register_commands(app: Flask) -> None:
    for command in (send_mail, send_reminders):
        if command.name not in app.cli.commands:
            app.cli.add_command(command)


@click.command("send-mail")
@click.option("--loop", is_flag=True, help="Keep running, sending what falls due.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds between passes with --loop.")
@with_appcontext
def send_mail(loop: bool, interval: float) -> None:
    """Send the queued mail that is due (retries included), then the webhooks."""
    if not loop:
        click.echo(report(deliver_all()))
        _run_other_passes()
        return
    while True:
        _one_pass_of_the_loop()
        time.sleep(interval)


def _one_pass_of_the_loop() -> None:
    try:
        if (delivered := deliver_all()).taken:
            click.echo(report(delivered))
    except Exception:  # e.g. the database restarting: the worker keeps going
        logger.exception("Sending mail failed; trying again after the interval.")
    finally:
        release(db.session)
    try:
        _run_other_passes()
    finally:
        release(db.session)


def _run_other_passes() -> None:
    """Each in turn, saying what it did if it did anything; one failing does not keep the
    others from running."""
    for worker_pass in current_app.extensions.get(WORKER_PASSES, []):
        try:
            if line := worker_pass():
                click.echo(line)
        except Exception:  # e.g. the database restarting: the worker keeps going
            logger.exception("A worker pass failed; trying again after the interval.")


def deliver_all() -> Delivered:
    """Pass after pass while a pass takes a full batch and the server answers."""
    total = Delivered()
    while True:
        delivered = deliver_due(BATCH)
        total += delivered
        if delivered.taken < BATCH or delivered.server_trouble:
            return total


def report(delivered: Delivered) -> str:
    """"Sent 3 message(s).", and the dropped ones apart, by reason."""
    lines = [f"Sent {delivered.sent} message(s)."]
    if delivered.dropped:
        reasons = ", ".join(f"{reason} {count}"
                            for reason, count in sorted(delivered.dropped.items()))
        lines.append(f"Dropped {delivered.dropped.total()} message(s) no longer true "
                     f"(not sent): {reasons}.")
    return "\n".join(lines)


@click.command("send-reminders")
@click.option("--hours-before", type=click.IntRange(min=1), default=24, show_default=True,
              help="Remind members of meetups starting within this many hours.")
@click.option("--queue-only", is_flag=True, help="Queue the reminders; `send-mail` sends them.")
@with_appcontext
def send_reminders(hours_before: int, queue_only: bool) -> None:
    """Remind everyone going to a meetup that starts soon (once per member and start time),
    and ask everyone checked in at a meetup that ended how it was (once per member)."""
    queued = queue_reminders(timedelta(hours=hours_before))
    click.echo(f"Queued {queued} reminder(s).")
    asked = queue_feedback_requests(timedelta(days=current_app.config["FEEDBACK_DAYS"]))
    click.echo(f"Queued {asked} feedback request(s).")
    if not queue_only:
        click.echo(report(deliver_all()))


def queue_reminders(window: timedelta) -> int:
    """Queue a reminder for each going member of each published meetup starting within
    `window`; one transaction per meetup, whose row is locked like any RSVP change."""
    queued = 0
    for event_id in _meetups_starting_within(window):
        with unit_of_work():
            queued += _remind_going(event_id)
    return queued


def _meetups_starting_within(window: timedelta) -> list[int]:
    now = utcnow()
    return list(db.session.scalars(
        select(Event.id).where(Event.status == EventStatus.PUBLISHED, Event.starts_at > now,
                               Event.starts_at <= now + window)
        .order_by(Event.starts_at, Event.id)))


def _remind_going(event_id: int) -> int:
    event = db.session.scalar(select(Event).where(Event.id == event_id).with_for_update())
    if event is None or not event.is_published:  # changed since it was listed
        return 0
    going = db.session.scalars(
        select(Registration)
        .where(Registration.event_id == event.id,
               Registration.status == RegistrationStatus.GOING,
               Registration.user_id.is_not(None))  # walk-ins left no address
        .order_by(Registration.id)).all()
    return notify_many(Notice.REMINDER, going)


def queue_feedback_requests(window: timedelta) -> int:
    """Queue a feedback request for each member checked in at each meetup that ended less than
    `window` ago (while it may still be rated); one transaction per meetup, its row locked. The
    worker drops the request of a member who rated it meanwhile (premises.py)."""
    queued = 0
    for event_id in _meetups_ended_within(window):
        with unit_of_work():
            queued += _ask_checked_in(event_id)
    return queued


def _meetups_ended_within(window: timedelta) -> list[int]:
    now = utcnow()
    return list(db.session.scalars(
        select(Event.id).where(Event.status == EventStatus.PUBLISHED, Event.ends_at <= now,
                               Event.ends_at > now - window)
        .order_by(Event.ends_at, Event.id)))


def _ask_checked_in(event_id: int) -> int:
    event = db.session.scalar(select(Event).where(Event.id == event_id).with_for_update())
    if event is None or not event.is_published:
        return 0
    checked_in = db.session.scalars(
        select(Registration)
        .where(Registration.event_id == event.id, Registration.checked_in_at.is_not(None),
               Registration.user_id.is_not(None))  # walk-ins left no address
        .order_by(Registration.id)).all()
    return notify_many(Notice.FEEDBACK_REQUEST, checked_in)
