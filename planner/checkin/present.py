"""How a scan and the door's attendee list look as JSON, shared by the API and the door app."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_time
from flask_babel import get_locale
from flask_babel import gettext as _

from planner.checkin.models import ScanOutcome
from planner.checkin.services import DoorCounts, ScanResult, ticket_fingerprint
from planner.core.names import search_text
from planner.events.models import Event
from planner.registrations.models import Registration

# HTTP status per outcome (shared/API.md): refused scans are logged, then answered 404/409.
HTTP_STATUS = {ScanOutcome.OK: 201, ScanOutcome.UNDONE: 200,
               ScanOutcome.ALREADY_CHECKED_IN: 200, ScanOutcome.UNKNOWN_TICKET: 404}
REFUSED = 409


def clock(registration: Registration) -> str:
    """The check-in time as the door shows it: "19:02" in the branch's timezone."""
    moment = registration.checked_in_at
    if moment is None:
        return ""
    zone = ZoneInfo(registration.event.branch.timezone)
    return format_time(moment.astimezone(zone), "HH:mm", locale=get_locale())


def checked_in_by(registration: Registration) -> str:
    who = registration.checked_in_by
    return who.display_name if who is not None else ""


def scan_message(result: ScanResult) -> str:
    registration = result.registration
    name = registration.name if registration is not None else ""
    match result.outcome:
        case ScanOutcome.OK:
            assert registration is not None
            if registration.guests:
                return _("Welcome, %(name)s (+%(guests)d)!", name=name,
                         guests=registration.guests)
            return _("Welcome, %(name)s!", name=name)
        case ScanOutcome.ALREADY_CHECKED_IN:
            assert registration is not None
            return _("%(name)s was already checked in at %(time)s by %(who)s.", name=name,
                     time=clock(registration), who=checked_in_by(registration))
        case ScanOutcome.UNKNOWN_TICKET:
            return _("Unknown ticket.")
        case ScanOutcome.WRONG_EVENT:
            return _("This ticket is for another meetup.")
        case ScanOutcome.CANCELLED:
            return _("The RSVP of %(name)s was cancelled.", name=name)
        case ScanOutcome.WAITLISTED:
            return _("%(name)s is on the waitlist, not going.", name=name)
        case ScanOutcome.PENDING:
            return _("The RSVP of %(name)s still waits for a lead's approval.", name=name)
        case ScanOutcome.TOO_EARLY:
            return _("Too early: check-in for this meetup has not opened yet.")
        case ScanOutcome.TOO_LATE:
            return _("Too late: check-in for this meetup has closed.")
        case ScanOutcome.UNDONE:
            return _("Check-in of %(name)s undone.", name=name)


def scan_json(result: ScanResult, event: Event) -> dict[str, Any]:
    """{"status", "reason"?, "message", …}: a refused scan has status "refused" and a reason."""
    outcome = result.outcome
    refused = outcome not in HTTP_STATUS
    body: dict[str, Any] = {
        "status": "refused" if refused else str(outcome),
        "message": scan_message(result), "nonce": result.scan.nonce,
        "scanned_at": result.scan.scanned_at.isoformat()}
    if refused or outcome is ScanOutcome.UNKNOWN_TICKET:
        body["reason"] = str(outcome)
    registration = result.registration
    if registration is not None and registration.event_id == event.id:
        body |= {"registration_id": registration.id, "name": registration.name,
                 "guests": registration.guests,
                 "checked_in_at": _iso(registration), "checked_in_by": checked_in_by(registration)}
    return body


def http_status(result: ScanResult) -> int:
    return HTTP_STATUS.get(result.outcome, REFUSED)


def _iso(registration: Registration) -> str | None:
    moment = registration.checked_in_at
    return moment.isoformat() if moment is not None else None


def phone_last4(phone: str | None) -> str:
    digits = "".join(c for c in phone or "" if c.isdigit())
    return digits[-4:]


def attendee_json(registration: Registration) -> dict[str, Any]:
    """What the door keeps offline about one person, and no more: no full phone number, no
    email, and the ticket only as a fingerprint."""
    return {"id": registration.id, "name": registration.name,
            "search": search_text(registration.name),
            "phone_last4": phone_last4(registration.phone), "guests": registration.guests,
            "status": str(registration.status), "walk_in": registration.walk_in,
            "ticket": ticket_fingerprint(registration.ticket_code)
            if registration.ticket_code else None,
            "checked_in_at": _iso(registration), "checked_in_by": checked_in_by(registration)}


def counts_json(counts: DoorCounts) -> dict[str, int]:
    return {"checked_in": counts.checked_in, "expected": counts.expected,
            "checked_in_parties": counts.checked_in_parties,
            "expected_parties": counts.expected_parties}
