"""RSVP rules: going or waitlisted, approval, guests, cancelling, capacity, tickets, no-shows.

Every change locks the meetup row first (SELECT … FOR UPDATE; SQLite serialises writers), so
seats can never be given out twice. Services only flush: the edge commits the unit of work, and
what happened travels as domain events (planner/registrations/events.py): the mail is queued by
the notifications area, which hears them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from branches import permissions
from branches.models import Branch, MembershipStatus
from branches.services import membership_of
from planner.accounts.models import User
from planner.accounts.services import find_user_by_email
from planner.core.domain_events import publish
from planner.core.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events.models import Event, EventStatus
from planner.registrations.events import (
    AwaitingApproval,
    Declined,
    RsvpCancelled,
    Rsvped,
    SeatTaken,
    Waitlisted,
)
from planner.registrations.models import (
    ACTIVE_STATUSES,
    MANUAL_SOURCE,
    ApprovalReason,
    Registration,
    RegistrationStatus,
)
from planner.registrations.waitlist import fits, make_going, promote_waitlist, tell


class RsvpRefused(DomainError):
    status = 409
    code = "rsvp_refused"
    default_message = _l("You cannot RSVP to this meetup.")


@dataclass(frozen=True)
class Seats:
    capacity: int | None
    going: int  # people, guests included
    waitlisted: int
    pending: int

    @property
    def left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.going)


def _locked_event(event_id: int) -> Event:
    # populate_existing: a copy the request loaded before the lock is stale; reread it.
    event = db.session.scalar(select(Event).where(Event.id == event_id).with_for_update()
                              .execution_options(populate_existing=True))
    if event is None:
        raise NotFound(_l("No such meetup."))
    return event


def registration_of(user: Any, event: Event) -> Registration | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(select(Registration).where(
        Registration.event_id == event.id, Registration.user_id == user.id)
        .execution_options(populate_existing=True))


def _refuse_if_closed(event: Event) -> None:
    if (refusal := rsvp_refusal(event)) is not None:
        raise refusal


def rsvp_refusal(event: Event) -> RsvpRefused | None:
    """Why a new RSVP to the meetup would be refused now, or None while RSVPs are open."""
    now = utcnow()
    if event.status is EventStatus.CANCELLED:
        return RsvpRefused(_l("This meetup is cancelled."), reason="cancelled")
    if event.status is not EventStatus.PUBLISHED:
        return RsvpRefused(_l("This meetup is not open for RSVPs yet."), reason="draft")
    if event.ends_at <= now:
        return RsvpRefused(_l("This meetup is over."), reason="past")
    if event.starts_at <= now:
        return RsvpRefused(_l("This meetup has already started."), reason="past")
    if event.rsvp_opens_at and now < event.rsvp_opens_at:
        return RsvpRefused(_l("RSVPs have not opened yet."), reason="not_open")
    if event.rsvp_closes_at and now >= event.rsvp_closes_at:
        return RsvpRefused(_l("RSVPs are closed."), reason="closed")
    return None


def has_started(event: Event) -> bool:
    return event.starts_at <= utcnow()


def _check_guests(event: Event, guests: int) -> None:
    if guests < 0:
        raise InvalidInput(fields={"guests": [str(_l("Guests cannot be negative."))]})
    if guests > event.max_guests:
        raise InvalidInput(fields={"guests": [str(_l(
            "You can bring at most %(max)d guest(s) to this meetup.", max=event.max_guests))]})
    if event.capacity is not None and guests + 1 > event.capacity:
        raise InvalidInput(fields={"guests": [str(_l(
            "This meetup has %(capacity)d seats in all: a party of %(party)d can never fit.",
            capacity=event.capacity, party=guests + 1))]})


def no_shows(user: User, branch: Branch) -> int:
    """No-shows among the member's last `no_show_window` ended meetups of the branch: going,
    not cancelled, never checked in."""
    recent = db.session.scalars(
        select(Registration).join(Registration.event)
        .where(Registration.user_id == user.id, Event.branch_id == branch.id,
               Event.ends_at < utcnow(), Event.status != EventStatus.CANCELLED,
               Registration.status == RegistrationStatus.GOING)
        .order_by(Event.starts_at.desc()).limit(branch.no_show_window)).all()
    return sum(1 for registration in recent if registration.checked_in_at is None)


def _approval_reason(user: User, event: Event) -> ApprovalReason | None:
    if event.requires_approval:
        return ApprovalReason.MEETUP_REQUIRES_APPROVAL
    limit = event.branch.no_show_limit
    if limit is not None and no_shows(user, event.branch) >= limit:
        return ApprovalReason.NO_SHOWS
    return None


def _place(registration: Registration, event: Event) -> None:
    """Going if the party fits, else at the end of the waitlist."""
    registration.queued_at = utcnow()
    if fits(event, registration.seats):
        make_going(registration)
        tell(SeatTaken, registration)
    else:
        registration.status = RegistrationStatus.WAITLISTED
        tell(Waitlisted, registration)


@dataclass(frozen=True)
class RsvpAnswer:
    registration: Registration
    repeated: bool  # the member had RSVPed already: nothing changed


def rsvp(user: User, event_id: int, guests: int = 0,
         invite_code: str | None = None) -> Registration:
    """RSVP (or join the waitlist). Repeating it returns the same registration."""
    return rsvp_answer(user, event_id, guests, invite_code).registration


def rsvp_answer(user: User, event_id: int, guests: int = 0,
                invite_code: str | None = None) -> RsvpAnswer:
    """RSVP, saying whether it repeats an earlier one (the only place that rule lives).
    `invite_code` names the invite link that brought the RSVP, as the edge knew it: the funnel
    hears `Rsvped` and credits the link."""
    event = _locked_event(event_id)
    if event.status is EventStatus.DRAFT and not permissions.can_manage_branch(
            user, event.branch):
        raise NotFound(_l("No such meetup."))  # a draft stays invisible, as on its page
    existing = registration_of(user, event)
    if existing is not None and existing.status is not RegistrationStatus.CANCELLED:
        return RsvpAnswer(existing, repeated=True)
    _refuse_if_closed(event)
    membership = membership_of(user, event.branch)
    if membership is not None and membership.status is MembershipStatus.BANNED:
        raise RsvpRefused(_l("You were removed from this branch."), reason="banned")
    _check_guests(event, guests)
    registration = existing or Registration(event=event, user=user)
    registration.guests = guests
    registration.cancelled_at, registration.ticket_code = None, None
    registration.decision_message = ""
    registration.approval_reason = _approval_reason(user, event)
    if registration.approval_reason is not None:
        registration.status, registration.queued_at = RegistrationStatus.PENDING, utcnow()
        tell(AwaitingApproval, registration)
    else:
        _place(registration, event)
    db.session.add(registration)
    db.session.flush()
    publish(db.session, Rsvped(registration.id, event.id, invite_code))
    return RsvpAnswer(registration, repeated=False)


def cancel(user: User, event_id: int) -> Registration:
    """Cancel the member's RSVP; freed seats go to the waitlist in order."""
    event = _locked_event(event_id)
    registration = registration_of(user, event)
    if registration is None or not registration.is_active:
        raise NotFound(_l("You have no RSVP for this meetup."))
    if has_started(event):
        raise RsvpRefused(_l("This meetup has already started."), reason="past")
    was_going = registration.status is RegistrationStatus.GOING
    registration.status, registration.cancelled_at = RegistrationStatus.CANCELLED, utcnow()
    if was_going:
        promote_waitlist(event)
    db.session.flush()
    publish(db.session, RsvpCancelled(registration.id, event.id))
    return registration


def _require_manager(actor: Any, event: Event) -> None:
    if not permissions.can_manage_branch(actor, event.branch):
        raise NotAllowed(_l("Only leads of this branch manage its RSVPs."))


def review(actor: Any, registration_id: int, *, approve: bool, message: str = "") -> Registration:
    """Approve or decline a pending RSVP. Deciding again the same way answers with the outcome
    of the first decision (a double click, a retry) and changes and mails nothing."""
    event = _locked_event(_event_id_of(registration_id))
    _require_manager(actor, event)
    registration = _current(registration_id)
    if _already_decided(registration, approve=approve):
        return registration
    if registration.status is not RegistrationStatus.PENDING:
        raise Conflict(_l("This RSVP is not waiting for approval."))
    registration.decision_message = message.strip()[:500]
    if approve:
        _place(registration, event)
    else:
        registration.status = RegistrationStatus.DECLINED
        tell(Declined, registration)
    db.session.flush()
    return registration


def _already_decided(registration: Registration, *, approve: bool) -> bool:
    if registration.approval_reason is None:  # never needed a decision
        return False
    if approve:
        return registration.status in (RegistrationStatus.GOING, RegistrationStatus.WAITLISTED)
    return registration.status is RegistrationStatus.DECLINED


def registration_by_id(registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise NotFound(_l("No such RSVP."))
    return registration


def _event_id_of(registration_id: int) -> int:
    """The meetup an RSVP belongs to (it never changes), to lock before reading the RSVP."""
    event_id = db.session.scalar(
        select(Registration.event_id).where(Registration.id == registration_id))
    if event_id is None:
        raise NotFound(_l("No such RSVP."))
    return event_id


def _current(registration_id: int) -> Registration:
    """The RSVP as it is now, read under the meetup's lock: a copy the session loaded earlier
    (a view looking it up first) is refreshed, never trusted."""
    return db.session.scalars(
        select(Registration).where(Registration.id == registration_id)
        .execution_options(populate_existing=True)).one()


def set_capacity(actor: Any, event_id: int, capacity: int) -> list[Registration]:
    """Change the number of seats. Raising it promotes from the waitlist; lowering it never
    removes anyone already going."""
    event = _locked_event(event_id)
    _require_manager(actor, event)
    if capacity < 1:
        raise InvalidInput(fields={"capacity": [str(_l("Capacity must be at least 1."))]})
    event.capacity = capacity
    promoted = promote_waitlist(event)
    db.session.flush()
    return promoted


def add_by_hand(actor: Any, event_id: int, email: str, guests: int = 0) -> Registration:
    """A lead adds a member who asked in person or in the chat group."""
    event = _locked_event(event_id)
    _require_manager(actor, event)
    if event.status is EventStatus.CANCELLED or event.ends_at <= utcnow():
        raise RsvpRefused(_l("This meetup is cancelled or over: nobody can be added."),
                          reason="closed")
    user = find_user_by_email(email)
    if user is None:
        raise InvalidInput(fields={"email": [str(_l("No member has this email."))]})
    _check_guests(event, guests)
    registration = registration_of(user, event) or Registration(event=event, user=user)
    if registration.is_active:
        raise Conflict(_l("This member has already RSVPed."))
    registration.guests, registration.source = guests, MANUAL_SOURCE
    registration.added_by_id, registration.approval_reason = actor.id, None
    registration.cancelled_at = None
    _place(registration, event)
    db.session.add(registration)
    db.session.flush()
    return registration


def people_going(event: Event, limit: int = 12) -> list[User]:
    return people_going_of([event], limit)[event.id]


def people_going_of(events: Sequence[Event], limit: int) -> dict[int, list[User]]:
    """The first `limit` members going to each meetup (guests are not people we know), in the
    order they RSVPed, for many meetups in one query."""
    place = func.row_number().over(partition_by=Registration.event_id,
                                   order_by=(Registration.created_at, Registration.id))
    firsts = (select(Registration.event_id, Registration.user_id, place.label("place"))
              .where(Registration.event_id.in_([e.id for e in events]),
                     Registration.status == RegistrationStatus.GOING).subquery())
    rows = db.session.execute(
        select(firsts.c.event_id, User).join(User, User.id == firsts.c.user_id)
        .where(firsts.c.place <= limit).order_by(firsts.c.event_id, firsts.c.place))
    going: dict[int, list[User]] = {event.id: [] for event in events}
    for event_id, user in rows:
        going[event_id].append(user)
    return going


def seats(event: Event) -> Seats:
    return seats_of([event])[event.id]


def seats_of(events: Sequence[Event]) -> dict[int, Seats]:
    """Seats of many meetups by id, counted in one grouped query."""
    rows = db.session.execute(
        select(Registration.event_id, Registration.status, func.count(),
               func.coalesce(func.sum(Registration.guests), 0))
        .where(Registration.event_id.in_([e.id for e in events]),
               Registration.status.in_(ACTIVE_STATUSES))
        .group_by(Registration.event_id, Registration.status)).all()
    counts: dict[tuple[int, RegistrationStatus], tuple[int, int]] = {
        (event_id, status): (count, guests) for event_id, status, count, guests in rows}

    def of(event: Event, status: RegistrationStatus) -> tuple[int, int]:
        return counts.get((event.id, status), (0, 0))

    return {event.id: Seats(event.capacity, sum(of(event, RegistrationStatus.GOING)),
                            of(event, RegistrationStatus.WAITLISTED)[0],
                            of(event, RegistrationStatus.PENDING)[0]) for event in events}


def registrations(actor: Any, event: Event) -> list[Registration]:
    """Everyone who RSVPed, for the branch's leads and door staff."""
    if not permissions.can_check_in_at(actor, event.branch):
        raise NotAllowed(_l("Only leads and door staff of this branch see the RSVPs."))
    return list(db.session.scalars(
        select(Registration).options(joinedload(Registration.user))
        .where(Registration.event_id == event.id)
        .order_by(Registration.status, Registration.queued_at, Registration.id)))


def my_registrations(user: User) -> tuple[list[Registration], list[Registration]]:
    """The member's RSVPs: upcoming (soonest first) and past (latest first)."""
    rows = list(db.session.scalars(
        select(Registration).join(Registration.event)
        .options(joinedload(Registration.event).joinedload(Event.branch),
                 joinedload(Registration.event).joinedload(Event.venue))
        .where(Registration.user_id == user.id).order_by(Event.starts_at)))
    now = utcnow()
    upcoming = [r for r in rows if r.event.ends_at > now]
    past = [r for r in reversed(rows) if r.event.ends_at <= now]
    return upcoming, past


def ticket(code: str) -> Registration:
    """The registration behind a ticket code, whatever its state (the caller says if valid)."""
    registration = db.session.scalar(select(Registration).where(
        Registration.ticket_code == code))
    if registration is None:
        raise NotFound(_l("Unknown ticket."))
    return registration

