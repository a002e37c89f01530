"""Enqueue notifications in the caller's transaction; delivery.py sends them after the commit.

Each message is rendered now, in the member's language, so what is sent is what was true when
the change happened. A dedupe key per message makes enqueuing idempotent: a retried request or a
second run of a command finds the key taken and adds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from flask import current_app, render_template
from flask_babel import force_locale, get_locale
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from branches.models import Branch
from planner.accounts.models import User
from planner.core.extensions import db
from planner.core.i18n import zone_label
from planner.core.timeutil import utcnow
from planner.core.urls import public_url
from planner.events.models import Event
from planner.notifications.kinds import Notice
from planner.notifications.models import OutboxMessage, OutboxStatus
from planner.registrations.models import ACTIVE_STATUSES, Registration, RegistrationStatus
from planner.registrations.waitlist import waitlist_position

WITH_CALENDAR = frozenset({Notice.CONFIRMED, Notice.PROMOTED})
ABOUT_THE_EVENT = frozenset({Notice.EVENT_CHANGED, Notice.EVENT_CANCELLED})
TO_MEMBERS = frozenset({Notice.NUDGE})  # addressed to a member, not about a registration
SUBJECT_LENGTH = 300


def notify(notice: Notice, registration: Registration) -> None:
    """Queue an email about `registration` to its member (committed by the caller)."""
    db.session.add(registration)
    if registration.id is None:
        db.session.flush()  # the dedupe key names the registration
    notify_many(notice, [registration])


def notify_attendees(notice: Notice, event: Event) -> None:
    """Tell everyone going, waitlisted or waiting for approval that the meetup changed or was
    cancelled. Call it after bumping event.sequence: one mail per member per sequence."""
    if notice not in ABOUT_THE_EVENT:
        raise ValueError(f"{notice} is not about the whole meetup")
    registrations = db.session.scalars(
        select(Registration).options(joinedload(Registration.user))
        .where(Registration.event_id == event.id, Registration.status.in_(ACTIVE_STATUSES),
               Registration.user_id.is_not(None))  # walk-ins left no address
        .order_by(Registration.id)).all()
    notify_many(notice, registrations)


def notify_many(notice: Notice, registrations: Sequence[Registration]) -> int:
    """Queue `notice` for each registration that was not told yet; returns how many were."""
    by_key = {dedupe_key(notice, registration): registration for registration in registrations}
    taken = _taken_keys(list(by_key))
    fresh = [(key, registration) for key, registration in by_key.items() if key not in taken]
    for key, registration in fresh:
        db.session.add(_message(notice, registration, key))
    return len(fresh)


def dedupe_key(notice: Notice, registration: Registration) -> str:
    """What the message reports: the same state twice gives the same key, a new state a new one
    (a new ticket, a new place in the queue, a new event sequence, a moved start)."""
    event = registration.event
    if notice in (Notice.CONFIRMED, Notice.PROMOTED):
        detail = f"{registration.ticket_code or ''}:{event.sequence}"
    elif notice in (Notice.WAITLISTED, Notice.PENDING, Notice.DECLINED):
        detail = registration.queued_at.isoformat()
    elif notice in ABOUT_THE_EVENT:
        detail = str(event.sequence)
    else:
        detail = event.starts_at.isoformat()
    return f"{notice}:{registration.id}:{detail}"


def _taken_keys(keys: list[str]) -> set[str]:
    if not keys:
        return set()
    queued = {obj.dedupe_key for obj in db.session.new if isinstance(obj, OutboxMessage)}
    stored = db.session.scalars(
        select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys)))
    return queued.union(stored)


def _message(notice: Notice, registration: Registration, key: str) -> OutboxMessage:
    user = registration.user
    if user is None:  # a walk-in: only members' RSVPs are ever told anything
        raise ValueError(f"registration {registration.id} has no member to write to")
    with force_locale(user.locale or registration.event.branch.locale):
        subject, body = render_notice(notice, registration)
    return _row(notice, user, key, subject, body, _calendar(notice, registration),
                registration)


def _row(notice: Notice, user: User, key: str, subject: str, body: str, ics: bytes | None,
         registration: Registration | None) -> OutboxMessage:
    return OutboxMessage(
        dedupe_key=key, kind=str(notice), user_id=user.id, to_address=user.email,
        subject=subject, body=body, ics=ics, registration=registration,
        status=OutboxStatus.PENDING, attempts=0, last_error="", next_attempt_at=utcnow())


def render_notice(notice: Notice, registration: Registration) -> tuple[str, str]:
    """Subject and body, in the current locale: the template's first line is the subject."""
    event = registration.event
    return _subject_and_body(render_template(
        f"notifications/{notice}.txt", registration=registration, event=event,
        branch=event.branch, venue=event.venue, user=registration.user,
        when=local_time_range(event.starts_at, event.ends_at, event.branch.timezone),
        event_url=public_url("events.show", event_id=event.id),
        ticket_url=ticket_url(registration), position=_waitlist_position(notice, registration)))


def _subject_and_body(text: str) -> tuple[str, str]:
    subject, _newline, body = text.strip().partition("\n")
    return " ".join(subject.split())[:SUBJECT_LENGTH], _tidy(body)


def notify_members(notice: Notice, branch: Branch, users: Sequence[User], day: date) -> int:
    """Queue a notice addressed to members themselves rather than about one RSVP (a nudge to
    come back to the branch's meetups); returns how many were queued. The key names the notice,
    branch, member and day, so a second nudge the same day adds nothing."""
    if notice not in TO_MEMBERS:
        raise ValueError(f"{notice} is about an RSVP")
    by_key = {f"{notice}:{branch.id}:{user.id}:{day.isoformat()}": user for user in users}
    taken = _taken_keys(list(by_key))
    fresh = [(key, user) for key, user in by_key.items() if key not in taken]
    branch_url = public_url("branches.show", slug=branch.slug)
    for key, user in fresh:
        with force_locale(user.locale or branch.locale):
            subject, body = _subject_and_body(render_template(
                f"notifications/{notice}.txt", user=user, branch=branch, branch_url=branch_url))
        db.session.add(_row(notice, user, key, subject, body, None, None))
    return len(fresh)


def _waitlist_position(notice: Notice, registration: Registration) -> int | None:
    if notice is not Notice.WAITLISTED:
        return None
    return waitlist_position(registration)


def local_time_range(starts_at: datetime, ends_at: datetime, timezone: str) -> str:
    """Like "Friday, March 5, 2027, 7:00 PM – 9:00 PM GMT+08:00": in the current locale and the
    branch's timezone. A mail wants the weekday but neither seconds nor the zone named twice,
    which rules out format_instant's ready-made formats."""
    zone = ZoneInfo(timezone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    until = _clock(end) if end.date() == start.date() else _day_and_clock(end)
    return f"{_day_and_clock(start)} – {until} {zone_label(ends_at, timezone)}"


def _day_and_clock(local: datetime) -> str:
    day = format_date(local.date(), "full", locale=_locale())
    return str(_locale().datetime_formats["full"]).format(_clock(local), day)


def _clock(local: datetime) -> str:
    return format_time(local, "short", tzinfo=local.tzinfo, locale=_locale())


def _locale() -> Locale:
    return get_locale() or Locale.parse(current_app.config["BABEL_DEFAULT_LOCALE"])


def _tidy(body: str) -> str:
    """Templates stay readable; mails get no trailing spaces and at most one blank line."""
    lines = "\n".join(line.rstrip() for line in body.splitlines())
    return re.sub(r"\n{3,}", "\n\n", lines).strip() + "\n"


def _calendar(notice: Notice, registration: Registration) -> bytes | None:
    """The meetup's file for a mail that puts it in the member's calendar, and for a change or
    cancellation to those who got it (going): the same UID with a higher SEQUENCE moves or
    cancels the entry there."""
    holds_the_file = (notice in ABOUT_THE_EVENT
                      and registration.status is RegistrationStatus.GOING)
    if notice not in WITH_CALENDAR and not holds_the_file:
        return None
    from planner.calendars.ics import event_ics  # written beside this package; imported late

    return event_ics(registration.event)


def ticket_url(registration: Registration) -> str | None:
    """The ticket's page, while the member is going (a ticket is only valid then)."""
    if registration.status is not RegistrationStatus.GOING or not registration.ticket_code:
        return None
    return public_url("registrations.ticket", code=registration.ticket_code)
