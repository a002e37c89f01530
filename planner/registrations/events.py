"""What the RSVP domain tells the rest of the site (see planner.core.domain_events)."""

from __future__ import annotations

from dataclasses import dataclass

from planner.core.domain_events import DomainEvent


@dataclass(frozen=True)
class RegistrationChanged(DomainEvent):
    """An RSVP reached a new state that its member should hear about."""

    registration_id: int
    event_id: int


@dataclass(frozen=True)
class SeatTaken(RegistrationChanged):
    """Going, with a fresh ticket, straight away or after a lead's approval."""


@dataclass(frozen=True)
class Promoted(RegistrationChanged):
    """Moved up from the waitlist: going now, with a fresh ticket."""


@dataclass(frozen=True)
class Waitlisted(RegistrationChanged):
    """The meetup was full: at the end of its waitlist."""


@dataclass(frozen=True)
class AwaitingApproval(RegistrationChanged):
    """Waiting for a lead to approve it."""


@dataclass(frozen=True)
class Declined(RegistrationChanged):
    """A lead declined it."""


@dataclass(frozen=True)
class Rsvped(DomainEvent):
    """A member RSVPed (anew, or again after cancelling); `invite_code` is the invite link that
    brought them, as the edge knew it (the code given, or the browser's last touch)."""

    registration_id: int
    event_id: int
    invite_code: str | None


@dataclass(frozen=True)
class RsvpCancelled(DomainEvent):
    """A member cancelled their RSVP (its seats, if any, went to the waitlist)."""

    registration_id: int
    event_id: int
