"""JSON API for meetups and venue bookings (see shared/API.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypedDict

from flask import Response, g, jsonify
from flask_babel import lazy_gettext as _l

from branches import permissions
from branches import services as branches
from planner.api import api_user, created, operation, parse_json, parse_query
from planner.api.pagination import each, paginated
from planner.core.errors import InvalidInput, NotAllowed, NotFound
from planner.core.timeutil import utcnow
from planner.core.uploads import takes_uploads
from planner.core.urls import public_url
from planner.events import services
from planner.events.forms import (
    CancelForm,
    ConfirmHoldForm,
    EventForm,
    EventSearchForm,
    HoldForm,
)
from planner.events.models import Booking, Event, EventStatus
from planner.events.seats import Seats, seats_of
from planner.pictures import services as pictures
from planner.pictures.forms import CoverOut, PictureForm, cover_json, uploaded_picture


class VenueRef(TypedDict):
    id: int
    name: str
    address: str
    latitude: float
    longitude: float


class EventOut(TypedDict):
    id: int
    branch: str
    title: str
    description: str
    starts_at: str
    ends_at: str
    timezone: str
    venue: VenueRef | None
    online_url: str | None
    capacity: int | None
    status: str
    series_id: int | None
    sequence: int
    going_count: int  # people going, guests included
    waitlist_count: int  # RSVPs on the waitlist
    seats_left: int | None  # null when the meetup has no limit
    url: str
    ics_url: str | None
    cover_url: str | None  # null without a cover picture
    tags: list[str]  # names of the branch's topics the meetup is about


class BookingOut(TypedDict):
    id: int
    venue_id: int
    event_id: int | None
    status: str
    note: str
    starts_at: str
    ends_at: str
    blocked_from: str
    blocked_until: str


def _iso(instant: datetime, timezone: str) -> str:
    """ISO 8601 with the branch's offset, so clients see the local time the lead typed."""
    return services.utc_to_zone(instant, timezone).isoformat()


def events_json(events: Sequence[Event]) -> list[EventOut]:
    """Many meetups, their seats counted in one query."""
    counted = seats_of(events)
    return [event_json(event, counted[event.id]) for event in events]


def event_json(event: Event, seats: Seats | None = None) -> EventOut:
    seats = seats if seats is not None else seats_of([event])[event.id]
    zone = event.branch.timezone
    venue = event.venue
    return {
        "id": event.id, "branch": event.branch.slug, "title": event.title,
        "description": event.description, "starts_at": _iso(event.starts_at, zone),
        "ends_at": _iso(event.ends_at, zone), "timezone": zone,
        "venue": {"id": venue.id, "name": venue.name, "address": venue.address,
                  "latitude": venue.latitude, "longitude": venue.longitude} if venue else None,
        "online_url": event.online_url, "capacity": event.capacity,
        "status": event.status.value, "series_id": event.series_id,
        "sequence": event.sequence, "going_count": seats.going,
        "waitlist_count": seats.waitlisted, "seats_left": seats.left,
        "url": public_url("events.show", event_id=event.id),
        # Drafts have no calendar file (it would 404).
        "ics_url": None if event.status is EventStatus.DRAFT else public_url(
            "calendars.event_file", event_id=event.id),
        "cover_url": cover_url(event.cover_digest),
        "tags": [topic.name for topic in event.topics]}


def cover_url(digest: str | None) -> str | None:
    return pictures.url(digest, external=True) if digest else None


def booking_json(booking: Booking, *, detailed: bool = True) -> BookingOut:
    """A booking; without `detailed`, only that its time is booked (see permissions)."""
    zone = booking.venue.branch.timezone
    return {"id": booking.id, "venue_id": booking.venue_id,
            "event_id": booking.event_id if detailed else None,
            "status": booking.status.value if detailed else "booked",
            "note": booking.note if detailed else "",
            "starts_at": _iso(booking.starts_at, zone), "ends_at": _iso(booking.ends_at, zone),
            "blocked_from": _iso(booking.blocked_from, zone),
            "blocked_until": _iso(booking.blocked_until, zone)}


@operation("/branches/<slug>/events", "POST",
           _l("Schedule a meetup, or a repeating series (leads); books the venue"),
           form=EventForm, response=list[EventOut], status=201, errors=(403, 404, 409, 422))
def create_event(slug: str) -> tuple[Response, int]:
    branch = branches.get_branch(slug)
    form = parse_json(EventForm, {"status": "draft"}, branch=branch)
    events = services.schedule(api_user(), branch, form.to_input(), form.repeat.to_rule(),
                               form.skipped())
    return created(events_json(events))


@operation("/events", "GET", _l("Meetups by branch, time range and distance; or by words (q) "
                                "and topic (tag), in a branch or across the network"),
           query=EventSearchForm, response=list[EventOut], auth=False, errors=(404, 422),
           paginated=True)
def list_events() -> Response:
    form = parse_query(EventSearchForm)
    branch = branches.get_branch(form.branch.data) if form.branch.data else None
    zone = branch.timezone if branch else "UTC"  # a time without offset is the branch's
    start = services.as_instant(form.start.data, zone, "from") or utcnow()
    end = services.as_instant(form.end.data, zone, "to") or start + timedelta(days=366)
    if form.searches():
        found = services.search_events(_viewer(), words=form.q.data or "",
                                       topic=form.tag.data or "", branch=branch, start=start,
                                       end=end)
    elif point := form.point() or branches.point_of(form.place.data, None, None):
        nearby = services.events_near(*point, radius_km=form.radius_km.data or 50, start=start)
        found = [n.event for n in nearby if n.event.starts_at < end
                 and (branch is None or n.event.branch_id == branch.id)]
    elif branch is not None:
        found = services.events_between(branch, start, end, _viewer())
    else:
        raise InvalidInput(fields={"branch": [str(_l("Give a branch or a place (near)."))]})
    return paginated(found, events_json)


def _viewer() -> Any:
    return g.get("api_user")


@operation("/events/<id:event_id>", "GET", _l("One meetup"), response=EventOut, auth=False,
           errors=(404,))
def get_event(event_id: int) -> Response:
    return jsonify(event_json(services.visible_event(_viewer(), event_id)))


@operation("/events/<id:event_id>", "PATCH",
           _l("Edit or reschedule a meetup (fields left out keep their value)"),
           form=EventForm, response=list[EventOut], errors=(403, 404, 409, 422))
def update_event(event_id: int) -> Response:
    event = services.get_event(event_id)
    current, zone = services.event_input(event), event.branch.timezone
    # Times left out keep their instant, offset included: a wall time in a fold happens twice.
    defaults = {"title": current.title, "description": current.description,
                "starts_at": _iso(event.starts_at, zone), "ends_at": _iso(event.ends_at, zone),
                "venue_id": current.venue_id,
                "online_url": current.online_url, "capacity": current.capacity,
                "status": current.status.value, "setup_minutes": current.setup_minutes,
                "teardown_minutes": current.teardown_minutes,
                "max_guests": current.max_guests,
                "requires_approval": current.requires_approval,
                "walk_ins_over_capacity": current.walk_ins_over_capacity,
                "tags": list(current.tags),
                "rsvp_opens_at": _optional_iso(event.rsvp_opens_at, zone),
                "rsvp_closes_at": _optional_iso(event.rsvp_closes_at, zone)}
    form = parse_json(EventForm, defaults, branch=event.branch)
    events = services.update_event(api_user(), event, form.to_input(),
                                   this_and_following=form.scope.data == "following")
    return jsonify(events_json(events))


def _optional_iso(instant: datetime | None, timezone: str) -> str | None:
    return _iso(instant, timezone) if instant else None


@operation("/events/<id:event_id>/cancel", "POST", _l("Cancel a meetup with a message"),
           form=CancelForm, response=list[EventOut], errors=(403, 404, 422))
def cancel_event(event_id: int) -> Response:
    form = parse_json(CancelForm)
    events = services.cancel_event(api_user(), services.get_event(event_id), form.message.data,
                                   this_and_following=form.scope.data == "following")
    return jsonify(events_json(events))


@operation("/events/<id:event_id>/duplicate", "POST",
           _l("Copy a meetup to the same time next week, as a draft"), response=EventOut,
           status=201, errors=(403, 404, 409))
def duplicate_event(event_id: int) -> tuple[Response, int]:
    return created(event_json(services.duplicate_event(api_user(),
                                                       services.get_event(event_id))))


@operation("/events/<id:event_id>/cover", "PUT",
           _l("Set the meetup's cover picture (leads; a series shares one): multipart field "
              "`file`, a JPEG, PNG or WebP of at most 10 MB"),
           form=PictureForm, response=CoverOut, errors=(403, 404, 422))
@takes_uploads("PICTURE_UPLOAD_MAX_CONTENT_LENGTH")
def put_cover(event_id: int) -> Response:
    event = services.get_event(event_id)
    if not permissions.can_manage_branch(api_user(), event.branch):
        raise NotAllowed()
    picture = uploaded_picture()
    services.set_cover(api_user(), event, picture)
    return jsonify(cover_json(picture))


@operation("/events/<id:event_id>/cover", "DELETE", _l("Remove the meetup's cover picture"),
           status=204, errors=(403, 404))
def delete_cover(event_id: int) -> tuple[str, int]:
    services.set_cover(api_user(), services.get_event(event_id), None)
    return "", 204


@operation("/venues/<id:venue_id>/bookings", "GET", _l("A venue's bookings in a time range"),
           query=EventSearchForm, response=list[BookingOut], auth=False, errors=(404, 422),
           paginated=True)
def list_bookings(venue_id: int) -> Response:
    venue = branches.get_venue(venue_id)
    form = parse_query(EventSearchForm)
    zone = venue.branch.timezone
    start = services.as_instant(form.start.data, zone, "from") or utcnow()
    end = services.as_instant(form.end.data, zone, "to") or start + timedelta(days=7)
    detailed = permissions.can_see_booking_details(_viewer(), venue.branch)
    return paginated(services.bookings_between(venue, start, end),
                     each(lambda booking: booking_json(booking, detailed=detailed)))


@operation("/venues/<id:venue_id>/bookings", "POST",
           _l("Hold a venue without a meetup (leads); 409 venue_conflict names the clash"),
           form=HoldForm, response=BookingOut, status=201, errors=(403, 404, 409, 422))
def hold_venue(venue_id: int) -> tuple[Response, int]:
    venue = branches.get_venue(venue_id)
    if not permissions.can_manage_branch(api_user(), venue.branch):
        raise NotAllowed()
    form = parse_json(HoldForm)
    booking = services.hold_venue(api_user(), venue, form.to_input())
    return created(booking_json(booking))


@operation("/venues/<id:venue_id>/bookings/<id:booking_id>", "PATCH",
           _l("Confirm a tentative venue hold in place (leads)"), form=ConfirmHoldForm,
           response=BookingOut, errors=(403, 404, 409, 422))
def confirm_hold(venue_id: int, booking_id: int) -> Response:
    booking = services.get_booking(booking_id)
    if booking.venue_id != venue_id:
        raise NotFound(_l("No such booking."))
    parse_json(ConfirmHoldForm)
    return jsonify(booking_json(services.confirm_hold(api_user(), booking)))


@operation("/bookings/<id:booking_id>", "DELETE", _l("Release a venue hold (leads)"),
           status=204, errors=(403, 404, 409))
def release_booking(booking_id: int) -> tuple[str, int]:
    services.release_booking(api_user(), services.get_booking(booking_id))
    return "", 204
