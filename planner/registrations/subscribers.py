"""What the RSVP area does when other areas' events happen."""

from __future__ import annotations

from planner.core.domain_events import EventBus
from planner.core.extensions import db
from planner.events.events import MeetupEdited
from planner.events.models import Event
from planner.registrations.waitlist import promote_waitlist


def fill_freed_seats(edited: MeetupEdited) -> None:
    """An edit may have added seats: they go to the waitlist in order (the meetup is locked)."""
    promote_waitlist(db.session.get_one(Event, edited.event_id))


def subscribe(bus: EventBus) -> None:
    bus.subscribe(MeetupEdited)(fill_freed_seats)
