"""Redeeming tickets at the door, undoing a check-in, walk-ins, and what the door app needs.

A scan locks the ticket's row (as pretix does), so two doors scanning one ticket at the same
moment are served one after the other: the first checks the ticket in, the second hears
"already checked in"; scans of different tickets do not wait for each other. A walk-in locks
the meetup's row instead, as an RSVP does, because it takes a seat. Each scan is logged,
refused ones too. A scan's (or walk-in's) nonce, chosen by the door app, makes a retry or an
offline queue sent twice harmless: the first answer is returned again, even to a copy sent at
the same moment (the nonce is unique per meetup in the log: a scan's log row is inserted with ON
CONFLICT DO NOTHING before anything else changes, so the later copy inserts nothing and answers
as the first; undo and walk-ins do the same in a savepoint). The same nonce at another meetup
is another scan. The door takes scans only from CHECKIN_OPENS_BEFORE the start to
CHECKIN_CLOSES_AFTER the end; a lead picking a name on the list may still correct the record
outside those hours.

Offline doors send scans later with the time on their clock (`scanned_at`); the check-in keeps
that time, so the list shows when the person walked in, not when the phone found a network;
when two doors scanned the same ticket, the earlier scan wins, whichever synced first.

These services only flush: the edge (the request, the CLI command) commits once. A successful
check-in publishes CheckedIn.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from branches import permissions
from planner.checkin.events import CheckedIn
from planner.checkin.models import CheckinScan, ScanOutcome
from planner.core.domain_events import publish
from planner.core.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events.models import Event
from planner.registrations.models import WALK_IN_SOURCE, Registration, RegistrationStatus
from planner.registrations.tickets import code_from_payload
from planner.registrations.waitlist import fits, new_ticket_code

# A door's clock may run a little fast; a scan "from the future" beyond this is taken as now.
CLOCK_SKEW = timedelta(minutes=5)
REFUSED_FOR = {RegistrationStatus.CANCELLED: ScanOutcome.CANCELLED,
               RegistrationStatus.DECLINED: ScanOutcome.CANCELLED,
               RegistrationStatus.WAITLISTED: ScanOutcome.WAITLISTED,
               RegistrationStatus.PENDING: ScanOutcome.PENDING}


@dataclass(frozen=True)
class ScanResult:
    """How a scan ended, and the registration's check-in state after it."""

    outcome: ScanOutcome
    registration: Registration | None
    scan: CheckinScan

    @property
    def ok(self) -> bool:
        return self.outcome in (ScanOutcome.OK, ScanOutcome.UNDONE)


@dataclass(frozen=True)
class WalkIn:
    name: str
    phone: str | None = None
    guests: int = 0
    source: str | None = None  # the chat group or channel that brought them


@dataclass(frozen=True)
class DoorCounts:
    checked_in: int  # people, guests included
    expected: int  # people going, guests included
    checked_in_parties: int
    expected_parties: int


def _door_event(actor: Any, event_id: int, *, lock: bool = False) -> Event:
    """The meetup (locked when `lock`), after checking that `actor` works its door. Its branch
    and the actor's role there come in the same query."""
    query = (select(Event, permissions.role_in(actor, Event.branch_id))
             .options(joinedload(Event.branch)).where(Event.id == event_id))
    row = db.session.execute(query.with_for_update(of=Event) if lock else query).first()
    if row is None:
        raise NotFound(_l("No such meetup."))
    event, role = row
    permissions.remember_role(actor, event.branch_id, role)
    require_door_access(actor, event)
    return event


def require_door_access(actor: Any, event: Event) -> None:
    if not permissions.can_check_in(actor, event):
        raise NotAllowed(_l("Only door staff and leads of this branch can check people in."))


def _replayed(event: Event, nonce: str) -> ScanResult | None:
    scan = db.session.scalar(select(CheckinScan).where(CheckinScan.event_id == event.id,
                                                       CheckinScan.nonce == nonce))
    return None if scan is None else ScanResult(scan.outcome, scan.registration, scan)


def _once(event: Event, nonce: str | None, act: Callable[[], ScanResult]) -> ScanResult:
    """Run a door action in a savepoint, once per meetup and nonce.

    The action's logged scan claims the nonce when it is inserted: a copy whose insert clashes
    with the first's (sent again, or at the same moment) is rolled back and answers as the first
    did. So is a copy refused only because the first already acted (the seat it took, the
    check-in it undid). A refused action leaves nothing behind, whatever else its batch did."""
    try:
        with db.session.begin_nested():
            return act()
    except (IntegrityError, DomainError):
        if nonce and (replay := _replayed(event, nonce)) is not None:
            return replay
        raise


def _door_time(scanned_at: datetime | None) -> datetime:
    if scanned_at is not None and scanned_at.tzinfo is None:
        raise InvalidInput(fields={"scanned_at": [str(_l(
            "Give the time with its offset, e.g. 2027-03-05T19:02:00+08:00."))]})
    now = utcnow()
    if scanned_at is None or scanned_at > now + CLOCK_SKEW:
        return now
    return scanned_at


def _find(event: Event, ticket_code: str | None, registration_id: int | None,
          ) -> Registration | None:
    """The registration, locked, with its member (whose name the answer gives)."""
    query = (select(Registration).options(joinedload(Registration.user))
             .with_for_update(of=Registration))
    if registration_id is not None:
        return db.session.scalar(query.where(Registration.id == registration_id))
    code = code_from_payload(ticket_code or "")
    if code is None:
        return None
    return db.session.scalar(query.where(Registration.ticket_code == code))


def _outcome(event: Event, registration: Registration | None) -> ScanOutcome:
    if registration is None:
        return ScanOutcome.UNKNOWN_TICKET
    if registration.event_id != event.id:
        return ScanOutcome.WRONG_EVENT
    if registration.status in REFUSED_FOR:
        return REFUSED_FOR[registration.status]
    if registration.checked_in_at is not None:
        return ScanOutcome.ALREADY_CHECKED_IN
    return ScanOutcome.OK


def _door_window(event: Event, when: datetime) -> ScanOutcome | None:
    """TOO_EARLY/TOO_LATE when `when` is outside the hours the door takes scans, else None."""
    config = current_app.config
    if when < event.starts_at - timedelta(hours=config["CHECKIN_OPENS_BEFORE"]):
        return ScanOutcome.TOO_EARLY
    if when > event.ends_at + timedelta(hours=config["CHECKIN_CLOSES_AFTER"]):
        return ScanOutcome.TOO_LATE
    return None


def _lead_correction(actor: Any, event: Event, registration_id: int | None) -> bool:
    """A lead picking a name on the check-in list fixes the record, at any time."""
    return registration_id is not None and permissions.can_manage_branch(actor, event.branch)


def _door_closed(actor: Any, event: Event, registration_id: int | None, when: datetime,
                 ) -> ScanOutcome | None:
    """Why the door takes no scan at `when`, if it does not; a lead's correction always counts."""
    if _lead_correction(actor, event, registration_id):
        return None
    return _door_window(event, when)


def _log(event: Event, actor: Any, outcome: ScanOutcome, registration: Registration | None, *,
         nonce: str | None, door: str, scanned_at: datetime, scanned_code: str = "",
         ) -> CheckinScan:
    """Log the scan, flushed at once: its insert is what claims the nonce (see _once)."""
    scan = CheckinScan(event_id=event.id, registration=registration, outcome=outcome,
                       nonce=nonce or None, door=door[:40], scanned_by_id=actor.id,
                       scanned_at=scanned_at, scanned_code=scanned_code[:64])
    db.session.add(scan)
    db.session.flush()
    return scan


def _announce(scan: CheckinScan) -> None:
    assert scan.registration_id is not None
    publish(db.session, CheckedIn(scan.registration_id, scan.event_id, scan.id))


def _keep_earliest(registration: Registration, actor: Any, when: datetime) -> None:
    """Offline doors sync in any order: the check-in keeps the scan taken first, not the one
    that reached the server first."""
    assert registration.checked_in_at is not None
    if when < registration.checked_in_at:
        registration.checked_in_at, registration.checked_in_by_id = when, actor.id


def redeem(actor: Any, event_id: int, *, ticket_code: str | None = None,
           registration_id: int | None = None, nonce: str | None = None, door: str = "",
           scanned_at: datetime | None = None) -> ScanResult:
    """Check in the holder of a ticket (or a registration picked from the list).

    No savepoint: the ticket's row is locked first, then the scan's log row claims the nonce
    (INSERT … ON CONFLICT DO NOTHING) before the registration is touched, so a copy whose
    nonce is already taken changes nothing and answers as the first did."""
    if not ticket_code and registration_id is None:
        raise InvalidInput(fields={"ticket_code": [str(_l("Scan a ticket or pick a name."))]})
    event = _door_event(actor, event_id)
    when = _door_time(scanned_at)
    registration = _find(event, ticket_code, registration_id)
    outcome = _outcome(event, registration)
    closed = _door_closed(actor, event, registration_id, when)
    if outcome is ScanOutcome.OK and closed is not None:
        outcome = closed
    known = registration if outcome is not ScanOutcome.UNKNOWN_TICKET else None
    scan = _claim(event, actor, outcome, known, nonce=nonce, door=door, scanned_at=when,
                  scanned_code="" if known else (ticket_code or "")[:64])
    if scan is None:
        assert nonce is not None
        replay = _replayed(event, nonce)
        assert replay is not None  # the clashing row is committed: ours waited for it
        return replay
    if outcome is ScanOutcome.OK:
        assert registration is not None
        registration.checked_in_at, registration.checked_in_by_id = when, actor.id
        _announce(scan)
    elif outcome is ScanOutcome.ALREADY_CHECKED_IN and closed is None:
        assert registration is not None
        _keep_earliest(registration, actor, when)
    return ScanResult(outcome, known, scan)


def _claim(event: Event, actor: Any, outcome: ScanOutcome, registration: Registration | None,
           *, nonce: str | None, door: str, scanned_at: datetime, scanned_code: str,
           ) -> CheckinScan | None:
    """Log the scan in one statement; None when its nonce was already taken at this meetup."""
    values = {"event_id": event.id, "registration_id": registration.id if registration else None,
              "outcome": outcome, "nonce": nonce or None, "door": door[:40],
              "scanned_by_id": actor.id, "scanned_at": scanned_at,
              "scanned_code": scanned_code[:64], "received_at": utcnow()}
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CheckinScan)
    insert = insert.values(values)
    if nonce:
        insert = insert.on_conflict_do_nothing()
    scan: CheckinScan | None = db.session.scalar(insert.returning(CheckinScan))
    return scan


def undo(actor: Any, event_id: int, registration_id: int, *, nonce: str | None = None,
         door: str = "") -> ScanResult:
    """Take back a mistaken check-in; the log keeps both."""
    event = _door_event(actor, event_id)
    return _once(event, nonce, lambda: _undo(actor, event, registration_id, nonce=nonce,
                                             door=door))


def _undo(actor: Any, event: Event, registration_id: int, *, nonce: str | None, door: str,
          ) -> ScanResult:
    registration = db.session.get(Registration, registration_id, with_for_update=True)
    if registration is None or registration.event_id != event.id:
        raise NotFound(_l("No such RSVP."))
    if registration.checked_in_at is None:
        raise Conflict(_l("This person is not checked in."))
    registration.checked_in_at = registration.checked_in_by_id = None
    scan = _log(event, actor, ScanOutcome.UNDONE, registration, nonce=nonce, door=door,
                scanned_at=utcnow())
    return ScanResult(ScanOutcome.UNDONE, registration, scan)


def _check_walk_in(event: Event, walk_in: WalkIn) -> None:
    errors: dict[str, list[str]] = {}
    if not walk_in.name.strip():
        errors["name"] = [str(_l("Enter the person's name."))]
    elif len(walk_in.name.strip()) > 80:
        errors["name"] = [str(_l("At most 80 characters."))]
    if not 0 <= walk_in.guests <= 20:
        errors["guests"] = [str(_l("Between 0 and 20 guests."))]
    if errors:
        raise InvalidInput(fields=errors)
    if not event.walk_ins_over_capacity and not fits(event, 1 + walk_in.guests):
        raise Conflict(_l("The meetup is full. A lead can let walk-ins in over capacity."),
                       reason="full")


def register_walk_in(actor: Any, event_id: int, walk_in: WalkIn, *, nonce: str | None = None,
                     door: str = "", scanned_at: datetime | None = None) -> ScanResult:
    """Someone who did not RSVP comes in: they become a going, checked-in registration. The
    meetup's row is locked first, as an RSVP does, because a walk-in takes a seat."""
    event = _door_event(actor, event_id, lock=True)
    when = _door_time(scanned_at)
    return _once(event, nonce, lambda: _walk_in(actor, event, walk_in, nonce=nonce, door=door,
                                                when=when))


def _walk_in(actor: Any, event: Event, walk_in: WalkIn, *, nonce: str | None, door: str,
             when: datetime) -> ScanResult:
    _check_walk_in(event, walk_in)
    registration = Registration(
        event=event, attendee_name=walk_in.name.strip(), attendee_phone=walk_in.phone or None,
        walk_in=True, status=RegistrationStatus.GOING, ticket_code=new_ticket_code(),
        guests=walk_in.guests, queued_at=when, source=(walk_in.source or WALK_IN_SOURCE)[:64],
        added_by_id=actor.id, checked_in_at=when, checked_in_by_id=actor.id)
    db.session.add(registration)
    scan = _log(event, actor, ScanOutcome.OK, registration, nonce=nonce, door=door,
                scanned_at=when)
    _announce(scan)
    return ScanResult(ScanOutcome.OK, registration, scan)


# --- what the door and the lists read --------------------------------------------------------

def door_counts(event: Event) -> DoorCounts:
    """Checked in against expected, people and parties, in one aggregate query."""
    going = Registration.status == RegistrationStatus.GOING
    arrived = Registration.checked_in_at.is_not(None)
    people = 1 + Registration.guests
    row = db.session.execute(
        select(func.coalesce(func.sum(case((arrived, people), else_=0)), 0),
               func.coalesce(func.sum(case((going, people), else_=0)), 0),
               func.count(case((arrived, Registration.id))),
               func.count(case((going, Registration.id))))
        .where(Registration.event_id == event.id)).one()
    return DoorCounts(checked_in=row[0], expected=row[1], checked_in_parties=row[2],
                      expected_parties=row[3])


def attendees(actor: Any, event: Event, changed_since: datetime | None = None,
              ) -> list[Registration]:
    """Everyone the door may meet: all registrations but those never accepted (declined)."""
    require_door_access(actor, event)
    query = (select(Registration)
             .options(joinedload(Registration.user), joinedload(Registration.checked_in_by))
             .where(Registration.event_id == event.id,
                    Registration.status != RegistrationStatus.DECLINED)
             .order_by(Registration.id))
    if changed_since is not None:  # a row changed at that very instant is sent again: a
        # repeat is harmless (the door merges by id), a row missed is not
        query = query.where(Registration.updated_at >= changed_since)
    return list(db.session.scalars(query))


def expected(actor: Any, event: Event) -> list[Registration]:
    """Who the check-in list shows: everyone going, walk-ins included."""
    require_door_access(actor, event)
    return list(db.session.scalars(
        select(Registration)
        .options(joinedload(Registration.user), joinedload(Registration.checked_in_by))
        .where(Registration.event_id == event.id,
               Registration.status == RegistrationStatus.GOING)))


def ticket_fingerprint(ticket_code: str) -> str:
    """What the offline door keeps instead of the ticket code: it hashes what it scans and
    compares, so a lost phone does not give away working tickets."""
    return hashlib.sha256(ticket_code.encode()).hexdigest()
