"""Seats and the waitlist: the arithmetic every RSVP rule builds on.

Callers hold the event row lock (SELECT … FOR UPDATE) while they use these, so two requests can
never both take the last seat.
"""

from __future__ import annotations

import secrets
import string

from sqlalchemy import func, select

from planner.core.domain_events import publish
from planner.core.extensions import db
from planner.events.models import Event
from planner.registrations.events import Promoted, RegistrationChanged
from planner.registrations.models import Registration, RegistrationStatus

TICKET_ALPHABET = string.ascii_letters + string.digits
TICKET_LENGTH = 22  # about 131 random bits


def new_ticket_code() -> str:
    """Random letters and digits only: a code never starts like a spreadsheet formula (as
    token_urlsafe's "-…" did) and never holds the ":" that marks a QR payload."""
    return "".join(secrets.choice(TICKET_ALPHABET) for _ in range(TICKET_LENGTH))


def seats_taken(event: Event) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(1 + Registration.guests), 0))
        .where(Registration.event_id == event.id,
               Registration.status == RegistrationStatus.GOING)) or 0


def seats_free(event: Event) -> int | None:
    """Free seats, or None when the meetup has no limit (online only)."""
    if event.capacity is None:
        return None
    return max(0, event.capacity - seats_taken(event))


def fits(event: Event, seats: int) -> bool:
    free = seats_free(event)
    return free is None or seats <= free


def make_going(registration: Registration) -> None:
    registration.status = RegistrationStatus.GOING
    registration.ticket_code = new_ticket_code()


def waiting(event: Event) -> list[Registration]:
    return list(db.session.scalars(
        select(Registration).where(Registration.event_id == event.id,
                                   Registration.status == RegistrationStatus.WAITLISTED)
        .order_by(Registration.queued_at, Registration.id)))


def promote_waitlist(event: Event) -> list[Registration]:
    """Give freed seats to the waitlist in order. A party too big for what is left is skipped,
    not split, and keeps its place for the next freed seat."""
    free = seats_free(event)
    promoted = []
    for registration in waiting(event):
        if free is not None and free <= 0:
            break
        if free is None or registration.seats <= free:
            make_going(registration)
            promoted.append(registration)
            tell(Promoted, registration)
            free = None if free is None else free - registration.seats
    return promoted


def tell(change: type[RegistrationChanged], registration: Registration) -> None:
    """Publish what happened to `registration` (flushed first: the event carries its id)."""
    db.session.add(registration)
    if registration.id is None:
        db.session.flush()
    publish(db.session, change(registration.id, registration.event_id))


def waitlist_positions(registrations: list[Registration]) -> dict[int, int]:
    """Positions of the waitlisted among `registrations` (all of one meetup), without queries."""
    queue = sorted((r for r in registrations if r.status is RegistrationStatus.WAITLISTED),
                   key=lambda r: (r.queued_at, r.id))
    return {r.id: position for position, r in enumerate(queue, start=1)}


def waitlist_position(registration: Registration) -> int | None:
    if registration.status is not RegistrationStatus.WAITLISTED:
        return None
    ahead = db.session.scalar(
        select(func.count()).select_from(Registration).where(
            Registration.event_id == registration.event_id,
            Registration.status == RegistrationStatus.WAITLISTED,
            (Registration.queued_at < registration.queued_at)
            | ((Registration.queued_at == registration.queued_at)
               & (Registration.id < registration.id))))
    return (ahead or 0) + 1
