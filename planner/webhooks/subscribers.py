"""Which of the other areas' events the webhooks tell, as what (in the change's transaction).

The body holds ids, the meetup's title, times and link, and the RSVP's state: never a member's
name, email or phone, since a chat group's bot passes what it hears on to the whole group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from planner.checkin.events import CheckedIn
from planner.core.domain_events import EventBus
from planner.core.extensions import db
from planner.core.urls import public_url
from planner.events.events import MeetupCancelled, MeetupEdited, MeetupPublished
from planner.events.models import Event
from planner.registrations import events as rsvp
from planner.registrations.models import Registration
from planner.webhooks.services import enqueue


def meetup_data(event: Event) -> dict[str, Any]:
    return {"event_id": event.id, "branch": event.branch.slug, "title": event.title,
            "starts_at": event.starts_at.isoformat(), "ends_at": event.ends_at.isoformat(),
            "status": event.status.value, "url": public_url("events.show", event_id=event.id)}


def _tell_about_meetup(event_type: str, event_id: int) -> None:
    event = db.session.get_one(Event, event_id)
    enqueue(event.branch, event_type, lambda: {"meetup": meetup_data(event)})


def _tell_about_rsvp(event_type: str, registration_id: int) -> None:
    registration = db.session.get_one(Registration, registration_id)
    event = registration.event
    enqueue(event.branch, event_type, lambda: {
        "meetup": meetup_data(event),
        "registration": {"id": registration.id, "status": registration.status.value,
                         "guests": registration.guests}})


def meetup_published(published: MeetupPublished) -> None:
    _tell_about_meetup("meetup.published", published.event_id)


def meetup_changed(edited: MeetupEdited) -> None:
    """A draft's edits are nobody's business; publishing one is told as meetup.published."""
    if edited.published_now or not db.session.get_one(Event, edited.event_id).is_published:
        return
    _tell_about_meetup("meetup.changed", edited.event_id)


def meetup_cancelled(cancelled: MeetupCancelled) -> None:
    _tell_about_meetup("meetup.cancelled", cancelled.event_id)


def _about_rsvp(event_type: str) -> Callable[[Any], None]:
    def tell(happened: Any) -> None:
        _tell_about_rsvp(event_type, happened.registration_id)
    tell.__qualname__ = f"tell_{event_type.replace('.', '_')}"
    return tell


RSVP_EVENTS: dict[type[Any], str] = {
    rsvp.Rsvped: "registration.created", rsvp.Promoted: "registration.promoted",
    rsvp.RsvpCancelled: "registration.cancelled", CheckedIn: "checkin.created"}
TELLERS = {happened: _about_rsvp(name) for happened, name in RSVP_EVENTS.items()}


def subscribe(bus: EventBus) -> None:
    bus.subscribe(MeetupPublished)(meetup_published)
    bus.subscribe(MeetupEdited)(meetup_changed)
    bus.subscribe(MeetupCancelled)(meetup_cancelled)
    for happened, teller in TELLERS.items():
        bus.subscribe(happened)(teller)
