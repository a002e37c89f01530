"""Scheduling meetups and booking venues without clashes.

The one overlap rule: two live bookings of a venue clash when their blocked ranges (setup and
teardown buffers included) overlap as half-open intervals, a.from < b.until and b.from < a.until.
Services that check for clashes lock the venue row first, so concurrent requests queue up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from branches import permissions
from branches.geography import bounding_box, distance_km
from branches.models import Branch, Membership, MembershipStatus, Topic, Venue, twin_key
from planner.core.db import roll_back
from planner.core.domain_events import publish
from planner.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from planner.core.extensions import db
from planner.core.i18n import format_instant
from planner.core.timeutil import utcnow
from planner.events.events import MeetupCancelled, MeetupEdited, MeetupPublished
from planner.events.localtime import (
    LocalTimeError,
    elapsed,
    to_utc,
    utc_to_local,
    wall_time,
)
from planner.events.models import Booking, BookingStatus, Event, EventSeries, EventStatus
from planner.events.recurrence import RepeatError, RepeatRule, Slot, describe, occurrences
from planner.events.search import matching
from planner.pictures import services as pictures
from planner.pictures.models import Picture


class VenueConflict(Conflict):
    code = "venue_conflict"
    default_message = _l("The venue is already booked at this time.")


@dataclass(frozen=True)
class EventInput:
    """A meetup as a lead typed it: times are naive wall-clock times in the branch's timezone,
    or aware ones, which keep their own offset (even in a fold, where the wall time happens
    twice)."""

    title: str
    starts_local: datetime
    ends_local: datetime
    description: str = ""
    venue_id: int | None = None
    online_url: str | None = None
    capacity: int | None = None
    rsvp_opens_local: datetime | None = None
    rsvp_closes_local: datetime | None = None
    status: EventStatus = EventStatus.DRAFT
    setup_minutes: int = 0
    teardown_minutes: int = 0
    max_guests: int = 0
    requires_approval: bool = False
    walk_ins_over_capacity: bool = False
    tags: tuple[str, ...] = ()  # names from the branch's topics


@dataclass(frozen=True)
class HoldInput:
    starts_local: datetime
    ends_local: datetime
    status: BookingStatus = BookingStatus.TENTATIVE
    note: str = ""
    setup_minutes: int = 0
    teardown_minutes: int = 0


@dataclass(frozen=True)
class Clash:
    """A requested slot and the existing booking it runs into."""

    local_date: date
    booking: Booking


@dataclass
class Planned:
    """One slot to book: the meetup's own times and the range it blocks at the venue."""

    slot: Slot
    blocked_from: datetime
    blocked_until: datetime
    clashes: list[Booking] = field(default_factory=list)


# --- lookups ---------------------------------------------------------------------------------

def get_event(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound(_l("No such meetup."))
    return event


def visible_event(user: Any, event_id: int) -> Event:
    """A meetup as `user` may see it: drafts only for those who manage the branch."""
    event = get_event(event_id)
    if event.status is EventStatus.DRAFT and not permissions.can_manage_branch(user, event.branch):
        raise NotFound(_l("No such meetup."))
    return event


def _require_manager(actor: Any, branch: Branch) -> None:
    if not permissions.can_manage_branch(actor, branch):
        raise NotAllowed(_l("Only leads of this branch schedule its meetups."))


# --- validation ------------------------------------------------------------------------------

def _field_error(name: str, message: Any) -> InvalidInput:
    return InvalidInput(fields={name: [str(message)]})


def _to_utc(local: datetime, timezone: str, field_name: str) -> datetime:
    try:
        return to_utc(local, timezone)
    except LocalTimeError as error:
        if error.reason == "nonexistent":
            raise _field_error(field_name, _l(
                "This time does not exist in %(zone)s (the clocks skip it).", zone=timezone),
            ) from None
        raise _field_error(field_name, _l(
            "This time happens twice in %(zone)s (the clocks go back); pick another.",
            zone=timezone)) from None


def span_problem(starts: datetime, ends: datetime, timezone: str) -> str | None:
    """What is wrong with a meetup's start and end as typed, if anything: the form shows it
    with the other fields' errors, and the service refuses it from the API."""
    length = elapsed(starts, ends, timezone)
    if length <= timedelta(0):
        return str(_l("The end must be after the start."))
    if length > timedelta(hours=current_app.config["EVENT_MAX_HOURS"]):
        return str(_l("A meetup can last at most %(hours)d hours.",
                      hours=current_app.config["EVENT_MAX_HOURS"]))
    return None


def _check_times(data: EventInput | HoldInput, timezone: str) -> None:
    if problem := span_problem(data.starts_local, data.ends_local, timezone):
        raise _field_error("ends_at", problem)
    if not 0 <= data.setup_minutes <= 24 * 60 or not 0 <= data.teardown_minutes <= 24 * 60:
        raise _field_error("setup_minutes", _l(
            "Setup and teardown must each be between 0 and 1440 minutes."))


def _venue_of(branch: Branch, venue_id: int | None, *, lock: bool) -> Venue | None:
    if venue_id is None:
        return None
    query = select(Venue).where(Venue.id == venue_id)
    venue = db.session.scalar(query.with_for_update() if lock else query)
    if venue is None or venue.branch_id != branch.id:
        raise _field_error("venue_id", _l("Choose a venue of this branch."))
    return venue


def _check_event(branch: Branch, data: EventInput) -> None:
    _check_times(data, branch.timezone)
    if data.venue_id is None and not data.online_url:
        raise _field_error("venue_id", _l("Choose a venue, an online link, or both."))
    if data.capacity is not None and data.capacity < 1:
        raise _field_error("capacity", _l("Capacity must be at least 1."))
    if not 0 <= data.max_guests <= 20:
        raise _field_error("max_guests", _l("Between 0 and 20 guests."))
    if data.status is EventStatus.CANCELLED:
        raise _field_error("status", _l("Cancel a meetup with the cancel action."))
    opens, closes, zone = data.rsvp_opens_local, data.rsvp_closes_local, branch.timezone
    if opens and closes and elapsed(opens, closes, zone) <= timedelta(0):
        raise _field_error("rsvp_closes_at", _l("RSVPs must close after they open."))
    if closes and elapsed(data.ends_local, closes, zone) > timedelta(0):
        raise _field_error("rsvp_closes_at", _l("RSVPs must close before the meetup ends."))
    _topics_named(branch, data.tags)


def _topics_named(branch: Branch, names: Iterable[str]) -> list[Topic]:
    """The branch's topics by these names (as keys compare them), or 422 naming one it lacks."""
    by_key = {topic.name_key: topic for topic in branch.topics}
    chosen = []
    for name in names:
        if (topic := by_key.get(twin_key(name)[:40])) is None:
            raise _field_error("tags", _l("%(name)s is not one of the branch's topics.",
                                          name=name))
        if topic not in chosen:
            chosen.append(topic)
    return chosen


def _check_capacity(data: EventInput, venue: Venue | None) -> None:
    if venue is not None and data.capacity is not None and data.capacity > venue.capacity:
        raise _field_error("capacity", _l("The venue holds at most %(capacity)d people.",
                                          capacity=venue.capacity))


def _slots(data: EventInput | HoldInput, timezone: str,
           repeat: RepeatRule | None) -> list[Slot]:
    _to_utc(data.starts_local, timezone, "starts_at")
    _to_utc(data.ends_local, timezone, "ends_at")
    try:
        return occurrences(data.starts_local, data.ends_local, timezone, repeat)
    except RepeatError as error:
        raise _field_error(_form_name(error.field), error) from None


def _form_name(field_name: str) -> str:
    """The repeat rule's parts as the form names them, inside its "repeat" field."""
    return field_name if field_name in ("starts_at", "ends_at") else f"repeat-{field_name}"


# --- the overlap rule ------------------------------------------------------------------------

def overlaps(a_from: datetime, a_until: datetime, b_from: datetime, b_until: datetime) -> bool:
    """Half-open intervals [a_from, a_until) and [b_from, b_until) share an instant."""
    return a_from < b_until and b_from < a_until


def _plan(slots: Sequence[Slot], setup: int, teardown: int) -> list[Planned]:
    before, after = timedelta(minutes=setup), timedelta(minutes=teardown)
    return [Planned(s, s.starts_at - before, s.ends_at + after) for s in slots]


def _find_clashes(venue: Venue, plans: list[Planned], ignore: Iterable[int] = ()) -> list[Clash]:
    """Bookings of the venue that clash with any planned slot, found with one query."""
    if not plans:
        return []
    start = min(p.blocked_from for p in plans)
    end = max(p.blocked_until for p in plans)
    existing = db.session.scalars(
        select(Booking).options(joinedload(Booking.event))
        .where(Booking.venue_id == venue.id, Booking.status != BookingStatus.CANCELLED,
               Booking.blocked_from < end, Booking.blocked_until > start,
               Booking.id.not_in(list(ignore)))
        .order_by(Booking.blocked_from)).all()
    clashes = [Clash(p.slot.local_date, booking) for p in plans for booking in existing
               if overlaps(p.blocked_from, p.blocked_until, booking.blocked_from,
                           booking.blocked_until)]
    ordered = sorted(plans, key=lambda p: p.blocked_from)
    clashes += [Clash(later.slot.local_date, _unsaved(earlier))
                for earlier, later in pairwise(ordered)
                if overlaps(earlier.blocked_from, earlier.blocked_until,
                            later.blocked_from, later.blocked_until)]
    return clashes


def _unsaved(plan: Planned) -> Booking:
    """The booking an earlier date of the series being planned would make; it has no meetup row
    yet, so its note names it (else the clash would blame "a venue hold" that does not exist)."""
    return Booking(starts_at=plan.slot.starts_at, ends_at=plan.slot.ends_at,
                   blocked_from=plan.blocked_from, blocked_until=plan.blocked_until,
                   note=str(_l("this series' own meetup on %(date)s",
                               date=plan.slot.local_date.isoformat())))


def _conflict(venue: Venue, clashes: list[Clash]) -> VenueConflict:
    first = clashes[0].booking
    what = first.event.title if first.event else (first.note or str(_l("a venue hold")))
    when = format_instant(first.starts_at, venue.branch.timezone)
    dates = sorted({c.local_date for c in clashes})
    message = _l("%(venue)s is already booked by “%(what)s” at %(when)s.",
                 venue=venue.name, what=what, when=when)
    if len(dates) > 1:
        message = _l("%(venue)s is taken on these dates: %(dates)s. First clash: “%(what)s” "
                     "at %(when)s.", venue=venue.name, what=what, when=when,
                     dates=", ".join(d.isoformat() for d in dates))
    return VenueConflict(message, fields={"venue_id": [str(message)]},
                         clashes=[_clash_json(c) for c in clashes],
                         dates=[d.isoformat() for d in dates])


def _clash_json(clash: Clash) -> dict[str, Any]:
    booking = clash.booking
    return {"date": clash.local_date.isoformat(), "booking_id": booking.id,
            "event_id": booking.event_id, "title": booking.event.title if booking.event else None,
            "note": booking.note, "starts_at": booking.starts_at.isoformat(),
            "ends_at": booking.ends_at.isoformat(),
            "blocked_from": booking.blocked_from.isoformat(),
            "blocked_until": booking.blocked_until.isoformat()}


def _flush_bookings(venue: Venue | None) -> None:
    """Flush; the PostgreSQL exclusion constraint turns a lost race into a clean conflict. A
    failed flush leaves the transaction unusable, so the unit of work is rolled back here."""
    try:
        db.session.flush()
    except IntegrityError as error:
        roll_back(db.session)
        if venue is not None and "excl_bookings_no_overlap" in str(error.orig):
            raise VenueConflict() from None
        raise


# --- scheduling ------------------------------------------------------------------------------

def schedule(actor: Any, branch: Branch, data: EventInput, repeat: RepeatRule | None = None,
             skip_dates: Iterable[date] = ()) -> list[Event]:
    """Create a meetup (or a series of them) and book its venue, all or nothing."""
    _require_manager(actor, branch)
    _check_event(branch, data)
    # Skipping dates is for a series; a one-off meetup either saves or names its clash.
    skipped = set(skip_dates) if repeat else set()
    slots = [s for s in _slots(data, branch.timezone, repeat) if s.local_date not in skipped]
    if not slots:
        raise _field_error("skip_dates", _l("Every date was skipped; nothing to schedule."))
    if data.status is EventStatus.PUBLISHED:
        _refuse_publishing_the_past(slots[0].starts_at)
    venue = _venue_of(branch, data.venue_id, lock=True)
    _check_capacity(data, venue)
    plans = _plan(slots, data.setup_minutes, data.teardown_minutes)
    if venue is not None:
        holds = _holds_taken_over(venue, plans)
        if clashes := _find_clashes(venue, plans, ignore=[h.id for h in holds]):
            raise _conflict(venue, clashes)
        _replace(holds)
    series = EventSeries(branch_id=branch.id, freq=repeat.freq.value) if repeat else None
    events = [_new_event(actor, branch, data, venue, plan, series) for plan in plans]
    db.session.add_all(events)
    _flush_bookings(venue)
    db.session.flush()  # the events name the new meetups' ids
    for event in events:
        if event.is_published:
            publish(db.session, MeetupPublished(event.id))
    return events


def _holds_taken_over(venue: Venue, plans: list[Planned]) -> list[Booking]:
    """The venue's holds (bookings without a meetup) that wholly contain a planned slot: the
    meetup takes such a hold over instead of clashing with it. The venue belongs to one branch,
    so its holds are the scheduling branch's own."""
    start = min(p.blocked_from for p in plans)
    end = max(p.blocked_until for p in plans)
    holds = db.session.scalars(
        select(Booking).where(Booking.venue_id == venue.id, Booking.event_id.is_(None),
                              Booking.status != BookingStatus.CANCELLED,
                              Booking.blocked_from < end, Booking.blocked_until > start)).all()
    return [hold for hold in holds if any(
        hold.blocked_from <= p.blocked_from and p.blocked_until <= hold.blocked_until
        for p in plans)]


def _replace(holds: list[Booking]) -> None:
    """Remove the holds before the meetups' bookings are written, so PostgreSQL's exclusion
    constraint (checked row by row) never sees both."""
    for hold in holds:
        db.session.delete(hold)
    db.session.flush()


def _new_event(actor: Any, branch: Branch, data: EventInput, venue: Venue | None,
               plan: Planned, series: EventSeries | None) -> Event:
    shift = plan.slot.starts_at - to_utc(data.starts_local, branch.timezone)
    event = Event(branch=branch, series=series, title=data.title.strip(),
                  description=data.description, starts_at=plan.slot.starts_at,
                  ends_at=plan.slot.ends_at, original_starts_at=plan.slot.starts_at,
                  venue=venue, online_url=data.online_url or None,
                  capacity=data.capacity or (venue.capacity if venue else None),
                  status=data.status, created_by_id=getattr(actor, "id", None),
                  max_guests=data.max_guests, requires_approval=data.requires_approval,
                  walk_ins_over_capacity=data.walk_ins_over_capacity,
                  rsvp_opens_at=_shifted(data.rsvp_opens_local, branch, "rsvp_opens_at", shift),
                  rsvp_closes_at=_shifted(data.rsvp_closes_local, branch, "rsvp_closes_at",
                                          shift), topics=_topics_named(branch, data.tags))
    if venue is not None:
        event.booking = _booking(actor, venue, plan, data.setup_minutes, data.teardown_minutes,
                                 BookingStatus.CONFIRMED, "")
    return event


def _refuse_publishing_the_past(starts_at: datetime) -> None:
    if starts_at < utcnow():
        raise _field_error("starts_at", _l("A meetup that has already started cannot be "
                                           "published."))


def _shifted(local: datetime | None, branch: Branch, name: str,
             shift: timedelta) -> datetime | None:
    return None if local is None else _to_utc(local, branch.timezone, name) + shift


def _booking(actor: Any, venue: Venue, plan: Planned, setup: int, teardown: int,
             status: BookingStatus, note: str) -> Booking:
    return Booking(venue=venue, starts_at=plan.slot.starts_at, ends_at=plan.slot.ends_at,
                   setup_minutes=setup, teardown_minutes=teardown,
                   blocked_from=plan.blocked_from, blocked_until=plan.blocked_until,
                   status=status, note=note.strip(), created_by_id=getattr(actor, "id", None))


def hold_venue(actor: Any, venue: Venue, data: HoldInput) -> Booking:
    """Hold a venue without a meetup (tentative or confirmed)."""
    _require_manager(actor, venue.branch)
    _check_times(data, venue.branch.timezone)
    if data.status is BookingStatus.CANCELLED:
        raise _field_error("status", _l("A hold must be tentative or confirmed."))
    venue = _venue_of(venue.branch, venue.id, lock=True)  # type: ignore[assignment]
    plans = _plan(_slots(data, venue.branch.timezone, None), data.setup_minutes,
                  data.teardown_minutes)
    if clashes := _find_clashes(venue, plans):
        raise _conflict(venue, clashes)
    booking = _booking(actor, venue, plans[0], data.setup_minutes, data.teardown_minutes,
                       data.status, data.note)
    db.session.add(booking)
    _flush_bookings(venue)
    return booking


def confirm_hold(actor: Any, booking: Booking) -> Booking:
    """Confirm a tentative hold in place: it keeps its time range, so nothing new can clash."""
    _require_manager(actor, booking.venue.branch)
    _venue_of(booking.venue.branch, booking.venue_id, lock=True)
    db.session.refresh(booking)
    if booking.event_id is not None:
        raise Conflict(_l("This booking belongs to a meetup; it is confirmed with it."))
    if booking.status is BookingStatus.CANCELLED:
        raise Conflict(_l("This hold was released."))
    booking.status = BookingStatus.CONFIRMED
    db.session.flush()
    return booking


def release_booking(actor: Any, booking: Booking) -> None:
    _require_manager(actor, booking.venue.branch)
    if booking.event_id is not None:
        raise Conflict(_l("This booking belongs to a meetup; cancel or move the meetup."))
    booking.status = BookingStatus.CANCELLED
    db.session.flush()


def get_booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(_l("No such booking."))
    return booking


# --- changing meetups ------------------------------------------------------------------------

def _following(event: Event) -> list[Event]:
    if event.series_id is None:
        return [event]
    return list(db.session.scalars(
        select(Event).where(Event.series_id == event.series_id,
                            Event.starts_at >= event.starts_at,
                            Event.status != EventStatus.CANCELLED)
        .order_by(Event.starts_at)))


def _lock(events: list[Event]) -> list[Event]:
    """Lock the meetups' rows (in id order, so two edits never deadlock) and reread them: RSVPs
    lock the same row, so seats are counted against the capacity that is really set."""
    db.session.scalars(select(Event).where(Event.id.in_([e.id for e in events]))
                       .order_by(Event.id).with_for_update()
                       .execution_options(populate_existing=True)).all()
    return events


def update_event(actor: Any, event: Event, data: EventInput, *,
                 this_and_following: bool = False) -> list[Event]:
    """Edit a meetup, or it and the later occurrences of its series.

    Later occurrences keep their own dates and move by the same wall-clock shift.
    """
    branch = event.branch
    _require_manager(actor, branch)
    _check_event(branch, data)
    _lock([event])
    if event.is_cancelled:
        raise Conflict(_l("This meetup is cancelled."))
    targets = _lock(_following(event)) if this_and_following else [event]
    old_start = utc_to_local(event.starts_at, branch.timezone)
    new_start = wall_time(data.starts_local, branch.timezone)
    length = wall_time(data.ends_local, branch.timezone) - new_start
    venue = _venue_of(branch, data.venue_id, lock=True)
    _check_capacity(data, venue)
    plans = [_replan(target, branch, new_start - old_start, length, data)
             if target is not event else _plan(_slots(data, branch.timezone, None),
                                               data.setup_minutes, data.teardown_minutes)[0]
             for target in targets]
    for target, plan in zip(targets, plans, strict=True):
        if target.status is not EventStatus.PUBLISHED and data.status is EventStatus.PUBLISHED:
            _refuse_publishing_the_past(plan.slot.starts_at)
    own = [t.booking.id for t in targets if t.booking is not None]
    if venue is not None and (clashes := _find_clashes(venue, plans, ignore=own)):
        raise _conflict(venue, clashes)
    for target, plan in zip(targets, plans, strict=True):
        was_published = target.is_published
        moved = _apply(actor, target, data, venue, plan)
        published_now = target.is_published and not was_published
        publish(db.session, MeetupEdited(target.id, moved, published_now))
        if published_now:
            publish(db.session, MeetupPublished(target.id))
    _flush_bookings(venue)
    return targets


def _replan(event: Event, branch: Branch, shift: timedelta, length: timedelta,
            data: EventInput) -> Planned:
    """A later meetup of the series, moved by the edited one's wall-clock shift."""
    start_local = utc_to_local(event.starts_at, branch.timezone) + shift
    slot = _slots(replace(data, starts_local=start_local, ends_local=start_local + length),
                  branch.timezone, None)[0]
    return _plan([slot], data.setup_minutes, data.teardown_minutes)[0]


def _apply(actor: Any, event: Event, data: EventInput, venue: Venue | None,
           plan: Planned) -> bool:
    """Write the edit onto the meetup; True when its time or place changed."""
    moved = (event.starts_at, event.ends_at, event.venue_id) != (
        plan.slot.starts_at, plan.slot.ends_at, venue.id if venue else None)
    if moved or event.status is not data.status:
        event.sequence += 1
    event.title, event.description = data.title.strip(), data.description
    event.starts_at, event.ends_at = plan.slot.starts_at, plan.slot.ends_at
    event.online_url = data.online_url or None
    event.capacity = data.capacity or (venue.capacity if venue else event.capacity)
    event.status, event.venue = data.status, venue
    event.max_guests, event.requires_approval = data.max_guests, data.requires_approval
    event.walk_ins_over_capacity = data.walk_ins_over_capacity
    event.topics = _topics_named(event.branch, data.tags)
    shift = plan.slot.starts_at - to_utc(data.starts_local, event.branch.timezone)
    event.rsvp_opens_at = _shifted(data.rsvp_opens_local, event.branch, "rsvp_opens_at", shift)
    event.rsvp_closes_at = _shifted(data.rsvp_closes_local, event.branch, "rsvp_closes_at",
                                    shift)
    if event.booking is not None and venue is None:
        db.session.delete(event.booking)
    elif venue is not None:
        booking = event.booking or Booking(created_by_id=getattr(actor, "id", None))
        booking.venue, booking.status = venue, BookingStatus.CONFIRMED
        booking.starts_at, booking.ends_at = plan.slot.starts_at, plan.slot.ends_at
        booking.blocked_from, booking.blocked_until = plan.blocked_from, plan.blocked_until
        booking.setup_minutes, booking.teardown_minutes = data.setup_minutes, data.teardown_minutes
        event.booking = booking
    return moved


def cancel_event(actor: Any, event: Event, message: str, *,
                 this_and_following: bool = False) -> list[Event]:
    """Cancel with a message; the venue is freed and calendars show the cancellation."""
    _require_manager(actor, event.branch)
    if not message.strip():
        raise _field_error("message", _l("Tell members why the meetup is cancelled."))
    targets = _following(event) if this_and_following else [event]
    for target in targets:
        if target.is_cancelled:
            continue
        target.status, target.cancel_message = EventStatus.CANCELLED, message.strip()
        target.sequence += 1
        publish(db.session, MeetupCancelled(target.id))
        if target.booking is not None:
            target.booking.status = BookingStatus.CANCELLED
    db.session.flush()
    return targets


def duplicate_event(actor: Any, event: Event, days: int = 7) -> Event:
    """The same meetup `days` later (same wall-clock time), as a draft whose RSVPs open and
    close whenever the lead then says."""
    original = event_input(event)
    copy = replace(original, starts_local=original.starts_local + timedelta(days=days),
                   ends_local=original.ends_local + timedelta(days=days),
                   status=EventStatus.DRAFT, rsvp_opens_local=None, rsvp_closes_local=None)
    branch = event.branch
    duplicate = schedule(actor, branch, copy)[0]
    duplicate.cover_digest = event.cover_digest
    return duplicate


def set_cover(actor: Any, event: Event, picture: Picture | None) -> list[Event]:
    """Give the meetup this cover picture (None takes it away). A series shares its picture:
    every date of it gets the same one."""
    _require_manager(actor, event.branch)
    dates = [event] if event.series_id is None else list(db.session.scalars(
        select(Event).where(Event.series_id == event.series_id)))
    replaced = {occurrence.cover_digest for occurrence in dates}
    for occurrence in dates:
        occurrence.cover_digest = picture.digest if picture else None
    for digest in replaced - {event.cover_digest}:
        pictures.forget_if_unused(digest)
    return dates


def repeats(event: Event) -> str | None:
    """How the meetup's series repeats, in words, or None for a one-off."""
    if event.series is None:
        return None
    first = min(e.original_starts_at for e in event.series.events)
    return describe(event.series.freq, utc_to_local(first, event.branch.timezone))


def event_input(event: Event) -> EventInput:
    """What the edit form starts from."""
    zone = event.branch.timezone
    booking = event.booking

    def local(value: datetime | None) -> datetime | None:
        return utc_to_local(value, zone) if value else None

    return EventInput(
        title=event.title, description=event.description,
        starts_local=utc_to_local(event.starts_at, zone),
        ends_local=utc_to_local(event.ends_at, zone), venue_id=event.venue_id,
        online_url=event.online_url, capacity=event.capacity,
        rsvp_opens_local=local(event.rsvp_opens_at), rsvp_closes_local=local(event.rsvp_closes_at),
        status=event.status, setup_minutes=booking.setup_minutes if booking else 0,
        teardown_minutes=booking.teardown_minutes if booking else 0,
        max_guests=event.max_guests, requires_approval=event.requires_approval,
        walk_ins_over_capacity=event.walk_ins_over_capacity,
        tags=tuple(topic.name for topic in event.topics))


# --- listings (a fixed number of queries, whatever the number of meetups) ---------------------

def _listed(query: Select[Any]) -> list[Event]:
    return list(db.session.scalars(
        query.options(joinedload(Event.venue), joinedload(Event.branch),
                      selectinload(Event.topics))
        .order_by(Event.starts_at, Event.id)).unique())


def search_events(viewer: Any, *, words: str = "", topic: str = "", branch: Branch | None = None,
                  start: datetime, end: datetime, limit: int = 200) -> list[Event]:
    """Meetups in [start, end) holding every word, about the topic (by name, in any branch
    when none is given), soonest first; drafts only for their branch's leads."""
    query = select(Event).where(Event.starts_at < end, Event.ends_at > start)
    if branch is not None:
        query = query.where(Event.branch_id == branch.id)
    if words.strip():
        query = query.where(matching(words))
    if topic.strip():
        query = query.where(Event.topics.any(Topic.name_key == twin_key(topic)[:40]))
    return _listed(_public(query, viewer, branch).limit(limit))


def _public(query: Select[Any], viewer: Any, branch: Branch | None) -> Select[Any]:
    if branch is not None and permissions.can_manage_branch(viewer, branch):
        return query
    return query.where(Event.status != EventStatus.DRAFT)


def upcoming_events(branch: Branch, viewer: Any = None, limit: int = 20) -> list[Event]:
    query = select(Event).where(Event.branch_id == branch.id, Event.ends_at > utcnow())
    return _listed(_public(query, viewer, branch).limit(limit))


def upcoming_for(viewer: Any, limit: int = 12) -> list[Event]:
    """The home page's meetups, soonest first: published and not over, in the viewer's own
    branches when they have any there, else across the network."""
    query = select(Event).where(Event.status == EventStatus.PUBLISHED, Event.ends_at > utcnow())
    if getattr(viewer, "is_authenticated", False):
        theirs = query.join(Membership, and_(
            Membership.branch_id == Event.branch_id, Membership.user_id == viewer.id,
            Membership.status == MembershipStatus.ACTIVE))
        if events := _listed(theirs.limit(limit)):
            return events
    return _listed(query.limit(limit))


def events_between(branch: Branch, start: datetime, end: datetime,
                   viewer: Any = None) -> list[Event]:
    query = select(Event).where(Event.branch_id == branch.id, Event.starts_at < end,
                                Event.ends_at > start)
    return _listed(_public(query, viewer, branch))


def bookings_between(venue: Venue, start: datetime, end: datetime) -> list[Booking]:
    return list(db.session.scalars(
        select(Booking).options(joinedload(Booking.event))
        .where(Booking.venue_id == venue.id, Booking.status != BookingStatus.CANCELLED,
               Booking.blocked_from < end, Booking.blocked_until > start)
        .order_by(Booking.blocked_from)))


@dataclass(frozen=True)
class NearbyEvent:
    event: Event
    distance_km: float


def events_near(latitude: float, longitude: float, radius_km: float,
                start: datetime | None = None, limit: int = 50) -> list[NearbyEvent]:
    """Published, upcoming meetups within radius_km of a point (the venue's, else the branch's
    coordinates), nearest first. A bounding box in SQL keeps the candidates few."""
    box = bounding_box(latitude, longitude, radius_km)

    def within(lat: Any, lon: Any) -> Any:
        lon_test = (or_(lon >= box.min_lon, lon <= box.max_lon) if box.wraps
                    else lon.between(box.min_lon, box.max_lon))
        return and_(lat.between(box.min_lat, box.max_lat), lon_test)

    query = (select(Event).join(Event.branch).outerjoin(Event.venue)
             .where(Event.status == EventStatus.PUBLISHED, Event.ends_at > (start or utcnow()),
                    or_(and_(Event.venue_id.is_not(None), within(Venue.latitude,
                                                                  Venue.longitude)),
                        and_(Event.venue_id.is_(None), within(Branch.latitude,
                                                               Branch.longitude)))))
    nearby = []
    for event in _listed(query):
        place = event.venue or event.branch
        distance = distance_km(latitude, longitude, place.latitude, place.longitude)
        if distance <= radius_km:
            nearby.append(NearbyEvent(event, distance))
    return sorted(nearby, key=lambda n: (n.event.starts_at, n.distance_km))[:limit]


def utc_to_zone(instant: datetime, timezone: str) -> datetime:
    """The instant as an aware datetime in the timezone (for output with the local offset)."""
    return instant.astimezone(ZoneInfo(timezone))


def as_instant(value: datetime | None, timezone: str, field_name: str) -> datetime | None:
    """A typed datetime as UTC: naive values are wall-clock time in `timezone` (422 naming
    the field in a gap or fold)."""
    return None if value is None else _to_utc(value, timezone, field_name)
