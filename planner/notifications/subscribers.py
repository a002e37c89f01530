"""Which mail the other areas' events queue (in their unit of work; sent after its commit)."""

from __future__ import annotations

from planner.core.domain_events import EventBus
from planner.core.extensions import db
from planner.events.events import MeetupCancelled, MeetupEdited
from planner.events.models import Event
from planner.notifications.kinds import Notice
from planner.notifications.outbox import notify, notify_attendees
from planner.registrations import events as rsvp
from planner.registrations.models import Registration

NOTICE_OF = {rsvp.SeatTaken: Notice.CONFIRMED, rsvp.Promoted: Notice.PROMOTED,
             rsvp.Waitlisted: Notice.WAITLISTED, rsvp.AwaitingApproval: Notice.PENDING,
             rsvp.Declined: Notice.DECLINED}


def tell_the_member(changed: rsvp.RegistrationChanged) -> None:
    notify(NOTICE_OF[type(changed)], db.session.get_one(Registration, changed.registration_id))


def tell_attendees_it_moved(edited: MeetupEdited) -> None:
    if edited.moved:
        notify_attendees(Notice.EVENT_CHANGED, db.session.get_one(Event, edited.event_id))


def tell_attendees_it_is_cancelled(cancelled: MeetupCancelled) -> None:
    notify_attendees(Notice.EVENT_CANCELLED, db.session.get_one(Event, cancelled.event_id))


def subscribe(bus: EventBus) -> None:
    for change in NOTICE_OF:
        bus.subscribe(change)(tell_the_member)
    bus.subscribe(MeetupEdited)(tell_attendees_it_moved)
    bus.subscribe(MeetupCancelled)(tell_attendees_it_is_cancelled)
