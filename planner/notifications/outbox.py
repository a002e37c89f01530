"""Enqueue notifications in the caller's transaction; delivery.py renders and sends them after
the commit.

A row says what to tell whom (the kind, the member, the RSVP or the branch) and, in its dedupe
key, the state it reports; it holds no words. The caller may hold the meetup's lock, so nothing
here renders a template, builds a calendar file or loads more than the keys need: the worker
renders the message when it takes it to send (rendering.py). The dedupe key makes enqueuing
idempotent: a retried request or a second run of a command finds the key taken and adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select

from branches.models import Branch
from planner.accounts.models import User
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events.models import Event
from planner.notifications.kinds import ABOUT_THE_EVENT, TO_MEMBERS, Notice
from planner.notifications.models import LeadMessage, OutboxMessage, OutboxStatus
from planner.registrations.models import ACTIVE_STATUSES, Registration


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
        select(Registration)
        .where(Registration.event_id == event.id, Registration.status.in_(ACTIVE_STATUSES))
        .order_by(Registration.id)).all()
    notify_many(notice, registrations)


def notify_many(notice: Notice, registrations: Sequence[Registration]) -> int:
    """Queue `notice` for each registration of a member that was not told yet; returns how many
    were. A walk-in left no address: nobody to tell."""
    by_key = {dedupe_key(notice, registration): registration for registration in registrations
              if registration.user_id is not None}
    taken = _taken_keys(list(by_key))
    fresh = [(key, registration) for key, registration in by_key.items() if key not in taken]
    for key, registration in fresh:
        db.session.add(_queued(notice, key, registration.user_id,
                               registration_id=registration.id))
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
    elif notice is Notice.FEEDBACK_REQUEST:
        detail = "once"  # asked once per member per meetup, whatever the meetup did since
    else:
        detail = event.starts_at.isoformat()
    return f"{notice}:{registration.id}:{detail}"


def notify_members(notice: Notice, branch: Branch, users: Sequence[User], day: date) -> int:
    """Queue a notice addressed to members themselves rather than about one RSVP (a nudge to
    come back to the branch's meetups); returns how many were queued. The key names the notice,
    branch, member and day, so a second nudge the same day adds nothing."""
    return notify_branch_people(notice, branch, [user.id for user in users], day.isoformat())


def notify_branch_people(notice: Notice, branch: Branch, user_ids: Sequence[int],
                         about: str) -> int:
    """Queue a notice from `branch` to each of these members once per `about` (a day, a
    paused endpoint): the key names the notice, branch, `about` and member."""
    if notice not in TO_MEMBERS:
        raise ValueError(f"{notice} is about an RSVP")
    keys = {f"{notice}:{branch.id}:{user_id}:{about}": user_id for user_id in user_ids}
    return _queue_fresh(notice, keys, branch_id=branch.id)


def notify_lead_message(message: LeadMessage, user_ids: Sequence[int]) -> int:
    """Queue a lead's message for each member once: the key names the message and member, so
    the worker, a retried request or a second run never mails anyone twice."""
    keys = {f"{Notice.LEAD_MESSAGE}:{message.id}:{user_id}": user_id for user_id in user_ids}
    return _queue_fresh(Notice.LEAD_MESSAGE, keys, branch_id=message.branch_id,
                        lead_message_id=message.id)


def _queue_fresh(notice: Notice, keys: dict[str, int], **about: int | None) -> int:
    taken = _taken_keys(list(keys))
    fresh = [(key, user_id) for key, user_id in keys.items() if key not in taken]
    for key, user_id in fresh:
        db.session.add(_queued(notice, key, user_id, **about))
    return len(fresh)


def _taken_keys(keys: list[str]) -> set[str]:
    if not keys:
        return set()
    queued = {obj.dedupe_key for obj in db.session.new if isinstance(obj, OutboxMessage)}
    stored = db.session.scalars(
        select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys)))
    return queued.union(stored)


def _queued(notice: Notice, key: str, user_id: int | None, *, registration_id: int | None = None,
            branch_id: int | None = None, lead_message_id: int | None = None) -> OutboxMessage:
    return OutboxMessage(
        dedupe_key=key, kind=str(notice), user_id=user_id, registration_id=registration_id,
        branch_id=branch_id, lead_message_id=lead_message_id, status=OutboxStatus.PENDING,
        attempts=0, last_error="", next_attempt_at=utcnow())
