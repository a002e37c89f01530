"""Scheduling meetups and booking venues: the overlap rule, clashes, repeats, DST, edits."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from branches.services import VenueInput, save_venue
from planner.core.errors import Conflict, InvalidInput, NotAllowed
from planner.core.extensions import db
from planner.events import services
from planner.events.models import Booking, BookingStatus, Event, EventStatus
from planner.events.recurrence import Frequency, RepeatRule
from tests.conftest import login, make_branch

NEXT_YEAR = datetime.now(UTC).year + 1


def at(month: int, day: int, hour: int, minute: int = 0, year: int = NEXT_YEAR) -> datetime:
    return datetime(year, month, day, hour, minute)


def meetup(venue=None, start=None, hours=2, **kwargs) -> services.EventInput:
    start = start or at(3, 5, 19)
    return services.EventInput(title=kwargs.pop("title", "Board games"), starts_local=start,
                               ends_local=start + timedelta(hours=hours),
                               venue_id=venue.id if venue else None,
                               status=kwargs.pop("status", EventStatus.PUBLISHED), **kwargs)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def hall(cast):
    return save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 40))


# --- the overlap rule ------------------------------------------------------------------------

T = datetime(2026, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ((0, 2), (1, 3), True), ((0, 2), (2, 4), False), ((2, 4), (0, 2), False),
    ((0, 4), (1, 2), True), ((1, 2), (0, 4), True), ((0, 1), (0, 1), True),
    ((0, 1), (3, 4), False)])
def test_half_open_overlap(a, b, expected):
    assert services.overlaps(T + a[0] * H, T + a[1] * H, T + b[0] * H, T + b[1] * H) is expected


# --- scheduling ------------------------------------------------------------------------------

def test_schedule_books_the_venue_in_local_time(cast, hall):
    [event] = services.schedule(cast.lead, cast.branch, meetup(hall))
    assert event.starts_at == datetime(NEXT_YEAR, 3, 5, 11, 0, tzinfo=UTC)  # 19:00 Shanghai
    assert event.capacity == 40  # from the venue
    assert event.booking.venue_id == hall.id
    assert event.booking.blocked_from == event.starts_at


def test_a_series_stores_what_the_lead_typed_on_every_date(cast, hall):
    events = services.schedule(cast.lead, cast.branch, meetup(
        hall, title="  Board games  ", description="Bring dice", online_url="", capacity=30,
        max_guests=2, requires_approval=True, walk_ins_over_capacity=True, setup_minutes=30,
        teardown_minutes=15, rsvp_opens_local=at(3, 1, 9), rsvp_closes_local=at(3, 5, 12)),
        RepeatRule(Frequency.WEEKLY, count=2))
    week = timedelta(days=7)
    first, second = events
    assert [(e.title, e.description, e.online_url, e.capacity, e.max_guests) for e in events] == [
        ("Board games", "Bring dice", None, 30, 2)] * 2
    assert all(e.requires_approval and e.walk_ins_over_capacity for e in events)
    assert [e.created_by_id for e in events] == [cast.lead.id] * 2
    assert (second.starts_at - first.starts_at, second.original_starts_at) == (
        week, second.starts_at)
    assert second.rsvp_opens_at - first.rsvp_opens_at == week
    assert second.rsvp_closes_at - first.rsvp_closes_at == week
    assert first.rsvp_opens_at == datetime(NEXT_YEAR, 3, 1, 1, tzinfo=UTC)  # 09:00 Shanghai
    booking = second.booking
    assert (booking.venue_id, booking.status, booking.note) == (
        hall.id, BookingStatus.CONFIRMED, "")
    assert (booking.setup_minutes, booking.teardown_minutes, booking.created_by_id) == (
        30, 15, cast.lead.id)
    assert (booking.starts_at, booking.ends_at) == (second.starts_at, second.ends_at)
    assert (booking.blocked_from, booking.blocked_until) == (
        second.starts_at - timedelta(minutes=30), second.ends_at + timedelta(minutes=15))


def test_a_meetup_without_a_capacity_takes_the_venues_or_has_none_online(cast, hall):
    [here] = services.schedule(cast.lead, cast.branch, meetup(hall))
    [online] = services.schedule(cast.lead, cast.branch, meetup(
        online_url="https://meet.example/x"))
    assert (here.capacity, online.capacity, online.booking) == (40, None, None)


def test_clash_names_the_booking_and_saves_nothing(cast, hall):
    services.schedule(cast.lead, cast.branch, meetup(hall, title="Tea tasting"))
    before = (count(Event), count(Booking))
    with pytest.raises(services.VenueConflict) as raised:
        services.schedule(cast.lead, cast.branch, meetup(hall, start=at(3, 5, 20)))
    assert "Tea tasting" in raised.value.message
    assert raised.value.extra["clashes"][0]["title"] == "Tea tasting"
    assert (count(Event), count(Booking)) == before


def test_back_to_back_is_fine_but_buffers_clash(cast, hall):
    services.schedule(cast.lead, cast.branch, meetup(hall, start=at(3, 5, 19)))
    services.schedule(cast.lead, cast.branch, meetup(hall, start=at(3, 5, 21)))  # touches
    with pytest.raises(services.VenueConflict):
        services.schedule(cast.lead, cast.branch,
                          meetup(hall, start=at(3, 5, 23), setup_minutes=1))
    with pytest.raises(services.VenueConflict):
        services.hold_venue(cast.lead, hall, services.HoldInput(
            at(3, 5, 16), at(3, 5, 19), teardown_minutes=15))


def test_repeating_meetup_reports_clashing_dates_and_can_skip_them(cast, hall):
    # The hold ends mid-meetup, so the meetup cannot take it over: it clashes.
    services.hold_venue(cast.lead, hall, services.HoldInput(at(3, 19, 18), at(3, 19, 20),
                                                            note="Private party"))
    weekly = RepeatRule(Frequency.WEEKLY, count=4)
    with pytest.raises(services.VenueConflict) as raised:
        services.schedule(cast.lead, cast.branch, meetup(hall), weekly)
    assert raised.value.extra["dates"] == [f"{NEXT_YEAR}-03-19"]
    assert count(Event) == 0
    events = services.schedule(cast.lead, cast.branch, meetup(hall), weekly,
                               skip_dates=[date(NEXT_YEAR, 3, 19)])
    assert [e.starts_at.day for e in events] == [5, 12, 26]
    assert len({e.series_id for e in events}) == 1


LONG = "A meetup can last at most 168 hours."
BUFFERS = "Setup and teardown must each be between 0 and 1440 minutes."
GUESTS = "Between 0 and 20 guests."


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"hours": -1}, "ends_at", "The end must be after the start."),
    ({"hours": 0}, "ends_at", "The end must be after the start."),
    ({"hours": 7 * 24 + 1 / 60}, "ends_at", LONG), ({"hours": 24 * 15}, "ends_at", LONG),
    ({"capacity": 0}, "capacity", "Capacity must be at least 1."),
    ({"venue": None}, "venue_id", "Choose a venue, an online link, or both."),
    ({"setup_minutes": -1}, "setup_minutes", BUFFERS),
    ({"setup_minutes": 1441}, "setup_minutes", BUFFERS),
    ({"teardown_minutes": -1}, None, BUFFERS), ({"teardown_minutes": 1441}, None, BUFFERS),
    ({"max_guests": -1}, "max_guests", GUESTS), ({"max_guests": 21}, "max_guests", GUESTS),
    ({"status": EventStatus.CANCELLED}, "status", "Cancel a meetup with the cancel action."),
    ({"rsvp_opens_local": at(3, 2, 9), "rsvp_closes_local": at(3, 2, 9)}, "rsvp_closes_at",
     "RSVPs must close after they open."),
    ({"rsvp_closes_local": at(3, 5, 21, 1)}, "rsvp_closes_at",
     "RSVPs must close before the meetup ends.")])
def test_bad_meetups_name_the_field(cast, hall, change, field, message):
    arguments = {"venue": hall} | change
    with pytest.raises(InvalidInput) as raised:
        services.schedule(cast.lead, cast.branch, meetup(**arguments))
    if field is None:  # a bad teardown is reported under setup_minutes today
        assert list(raised.value.fields.values()) == [[message]]
    else:
        assert raised.value.fields == {field: [message]}
    assert count(Event) == 0


@pytest.mark.parametrize("change", [
    {"hours": 7 * 24}, {"capacity": 1}, {"setup_minutes": 1440, "teardown_minutes": 1440},
    {"setup_minutes": 0, "teardown_minutes": 0}, {"max_guests": 0}, {"max_guests": 20},
    {"rsvp_opens_local": at(3, 2, 9), "rsvp_closes_local": at(3, 5, 21)},
    {"venue": None, "online_url": "https://meet.example/x"}])
def test_meetups_at_the_limits_are_fine(cast, hall, change):
    [event] = services.schedule(cast.lead, cast.branch, meetup(**({"venue": hall} | change)))
    assert event.id is not None


def test_venue_of_another_branch_is_refused(cast, hall):
    other = save_venue(cast.admin, cast.other_branch, VenueInput("Elsewhere", "2 Road", 10))
    with pytest.raises(InvalidInput) as raised:
        services.schedule(cast.lead, cast.branch, meetup(other))
    assert raised.value.fields == {"venue_id": ["Choose a venue of this branch."]}
    with pytest.raises(InvalidInput) as raised:
        services.schedule(cast.lead, cast.branch, services.EventInput(
            title="Gone", starts_local=at(3, 5, 19), ends_local=at(3, 5, 21), venue_id=999999))
    assert raised.value.fields == {"venue_id": ["Choose a venue of this branch."]}


def test_only_leads_schedule(cast, hall):
    for person in (cast.member, cast.staff, cast.other_lead):
        with pytest.raises(NotAllowed) as raised:
            services.schedule(person, cast.branch, meetup(hall))
        assert raised.value.message == "Only leads of this branch schedule its meetups."


def test_skipping_every_date_of_a_series_says_so(cast, hall):
    with pytest.raises(InvalidInput) as raised:
        services.schedule(cast.lead, cast.branch, meetup(hall),
                          RepeatRule(Frequency.WEEKLY, count=2),
                          skip_dates=[date(NEXT_YEAR, 3, 5), date(NEXT_YEAR, 3, 12)])
    assert raised.value.fields == {"skip_dates": ["Every date was skipped; nothing to schedule."]}


def test_too_many_occurrences_is_refused(cast, hall):
    with pytest.raises(InvalidInput) as raised:
        services.schedule(cast.lead, cast.branch, meetup(hall),
                          RepeatRule(Frequency.WEEKLY, until=date(NEXT_YEAR + 3, 1, 1)))
    assert "repeat-until" in raised.value.fields


# --- daylight saving time --------------------------------------------------------------------

@pytest.fixture
def london(cast):
    branch = make_branch(cast.admin, "london", "London")
    from branches.models import Role
    from branches.services import set_role

    set_role(cast.admin, branch, cast.lead.id, Role.LEAD)
    venue = save_venue(cast.lead, branch, VenueInput("Pub", "1 Strand", 30))
    return branch, venue


def test_weekly_london_meetup_keeps_wall_time_across_dst(cast, london):
    branch, venue = london
    events = services.schedule(cast.lead, branch,  # a draft: these dates are past now
                               meetup(venue, start=datetime(2026, 3, 19, 19),
                                      status=EventStatus.DRAFT),
                               RepeatRule(Frequency.WEEKLY, count=3))
    assert [e.starts_at.hour for e in events] == [19, 19, 18]  # UTC; 19:00 local each week


@pytest.mark.parametrize(("start", "hours", "field", "message"), [
    (datetime(2026, 3, 29, 1, 30), 2, "starts_at",
     "This time does not exist in Europe/London (the clocks skip it)."),
    (datetime(2026, 10, 25, 1, 30), 2, "starts_at",
     "This time happens twice in Europe/London (the clocks go back); pick another."),
    (datetime(2026, 3, 28, 23, 30), 2, "ends_at",
     "This time does not exist in Europe/London (the clocks skip it)."),
    (datetime(2026, 10, 24, 23, 30), 2, "ends_at",
     "This time happens twice in Europe/London (the clocks go back); pick another.")])
def test_nonexistent_and_ambiguous_london_times(cast, london, start, hours, field, message):
    branch, venue = london
    with pytest.raises(InvalidInput) as raised:
        services.schedule(cast.lead, branch, meetup(venue, start=start, hours=hours,
                                                    status=EventStatus.DRAFT))
    assert raised.value.fields == {field: [message]}


@pytest.mark.parametrize(("start", "field", "message"), [
    (datetime(2026, 3, 22, 1, 30), "starts_at", "On 2026-03-29, 01:30 does not exist in "
     "Europe/London because the clocks go forward. Choose another time."),
    (datetime(2026, 3, 21, 23, 30), "ends_at", "On 2026-03-28, 01:30 does not exist in "
     "Europe/London because the clocks go forward. Choose another time.")])
def test_a_later_date_of_a_series_in_a_dst_gap_names_the_time_field(cast, london, start, field,
                                                                   message):
    """The first date is fine; the second week's start (or end) falls in the clocks' skip. The
    error names the meetup's own time field, not a part of the repeat rule."""
    branch, venue = london
    with pytest.raises(InvalidInput) as raised:
        services.schedule(cast.lead, branch, meetup(venue, start=start,
                                                    status=EventStatus.DRAFT),
                          RepeatRule(Frequency.WEEKLY, count=2))
    assert raised.value.fields == {field: [message]}
    assert count(Event) == 0


def test_shanghai_has_no_dst(cast, hall):
    events = services.schedule(cast.lead, cast.branch,  # a draft: these dates are past now
                               meetup(hall, start=datetime(2026, 3, 19, 19),
                                      status=EventStatus.DRAFT),
                               RepeatRule(Frequency.WEEKLY, count=3))
    assert [e.starts_at.hour for e in events] == [11, 11, 11]


# --- changing meetups ------------------------------------------------------------------------

def test_cancel_frees_the_venue_and_bumps_sequence(cast, hall):
    [event] = services.schedule(cast.lead, cast.branch, meetup(hall))
    services.cancel_event(cast.lead, event, "Venue flooded")
    assert event.status is EventStatus.CANCELLED and event.sequence == 1
    assert event.booking.status is BookingStatus.CANCELLED
    services.schedule(cast.lead, cast.branch, meetup(hall))  # the slot is free again


def test_cancelling_needs_a_reason_and_bumps_an_edited_meetups_sequence(cast, hall):
    [event] = services.schedule(cast.lead, cast.branch, meetup(hall))
    with pytest.raises(InvalidInput) as raised:
        services.cancel_event(cast.lead, event, "   ")
    assert raised.value.fields == {"message": ["Tell members why the meetup is cancelled."]}
    services.update_event(cast.lead, event, meetup(hall, start=at(3, 5, 20)))
    services.cancel_event(cast.lead, event, " Venue flooded ")
    assert (event.sequence, event.cancel_message) == (2, "Venue flooded")


def test_cancel_one_date_or_this_and_the_following_ones(cast, hall):
    events = services.schedule(cast.lead, cast.branch, meetup(hall),
                               RepeatRule(Frequency.WEEKLY, count=4))
    assert services.cancel_event(cast.lead, events[1], "Holiday") == [events[1]]
    assert [e.status for e in events].count(EventStatus.CANCELLED) == 1
    cancelled = services.cancel_event(cast.lead, events[0], "Moving out", this_and_following=True)
    assert cancelled == [events[0], events[2], events[3]]
    assert all(e.status is EventStatus.CANCELLED for e in events)
    assert events[1].cancel_message == "Holiday"


def test_an_edit_bumps_the_sequence_only_for_a_new_time_place_or_status(cast, hall):
    [event] = services.schedule(cast.lead, cast.branch, meetup(hall, status=EventStatus.DRAFT))
    services.update_event(cast.lead, event, meetup(hall, title="Renamed",
                                                   status=EventStatus.DRAFT))
    assert (event.title, event.sequence) == ("Renamed", 0)
    services.update_event(cast.lead, event, meetup(hall, title="Renamed"))  # published
    assert event.sequence == 1


def test_an_edit_moves_each_dates_rsvp_window_with_it(cast, hall):
    events = services.schedule(cast.lead, cast.branch, meetup(hall),
                               RepeatRule(Frequency.WEEKLY, count=2))
    services.update_event(cast.lead, events[0], meetup(
        hall, start=at(3, 5, 20), rsvp_opens_local=at(3, 1, 9),
        rsvp_closes_local=at(3, 5, 12)), this_and_following=True)
    zone = cast.branch.timezone

    def local(instant: datetime) -> datetime:
        return services.utc_to_zone(instant, zone).replace(tzinfo=None)

    assert [(local(e.rsvp_opens_at), local(e.rsvp_closes_at)) for e in events] == [
        (at(3, 1, 9), at(3, 5, 12)), (at(3, 8, 9), at(3, 12, 12))]


@pytest.mark.parametrize("field", ["rsvp_opens_at", "rsvp_closes_at"])
def test_an_edit_names_an_rsvp_time_the_clocks_skip(cast, london, field):
    branch, venue = london
    draft = {"start": datetime(2026, 4, 2, 19), "status": EventStatus.DRAFT}  # past: a draft
    [event] = services.schedule(cast.lead, branch, meetup(venue, **draft))
    skipped = datetime(2026, 3, 29, 1, 30)  # Europe/London springs forward at 01:00
    window = {"rsvp_opens_local": skipped} if field == "rsvp_opens_at" else {
        "rsvp_opens_local": datetime(2026, 3, 28, 9), "rsvp_closes_local": skipped}
    with pytest.raises(InvalidInput) as raised:
        services.update_event(cast.lead, event, meetup(venue, **draft, **window))
    assert list(raised.value.fields) == [field]


def test_an_edit_between_a_venue_and_online(cast, hall):
    loft = save_venue(cast.lead, cast.branch, VenueInput("Loft", "2 Road", 12))
    [event] = services.schedule(cast.lead, cast.branch, meetup(hall, capacity=30))
    services.update_event(cast.lead, event, meetup(loft))  # no capacity given: the loft's
    assert (event.venue_id, event.capacity, event.booking.venue_id) == (loft.id, 12, loft.id)
    services.update_event(cast.lead, event, meetup(online_url="https://meet.example/x"))
    db.session.commit()
    assert event.booking is None and count(Booking) == 0
    services.update_event(cast.lead, event, meetup(
        hall, setup_minutes=20))
    db.session.commit()
    [booking] = db.session.scalars(select(Booking)).all()
    assert (booking.event_id, booking.venue_id, booking.setup_minutes) == (event.id, hall.id, 20)
    assert booking.created_by_id == cast.lead.id


def test_a_cancelled_meetup_cannot_be_edited(cast, hall):
    [event] = services.schedule(cast.lead, cast.branch, meetup(hall))
    services.cancel_event(cast.lead, event, "Rain")
    with pytest.raises(Conflict) as raised:
        services.update_event(cast.lead, event, meetup(hall, title="Back"))
    assert raised.value.message == "This meetup is cancelled."


def test_reschedule_checks_clashes_and_ignores_itself(cast, hall):
    [first] = services.schedule(cast.lead, cast.branch, meetup(hall, title="First"))
    [second] = services.schedule(cast.lead, cast.branch, meetup(hall, start=at(3, 6, 19)))
    moved = meetup(hall, start=at(3, 5, 19, 30))
    services.update_event(cast.lead, first, moved)  # overlaps only its own old booking
    assert first.sequence == 1
    with pytest.raises(services.VenueConflict):
        services.update_event(cast.lead, second, meetup(hall, start=at(3, 5, 20)))
    db.session.refresh(second)
    assert second.starts_at.day == 6


def test_edit_this_and_following(cast, hall):
    events = services.schedule(cast.lead, cast.branch, meetup(hall),
                               RepeatRule(Frequency.WEEKLY, count=4))
    third = events[2]
    services.update_event(cast.lead, third, meetup(hall, start=at(3, 19, 20), title="Later"),
                          this_and_following=True)
    db.session.expire_all()
    hours = [(e.title, e.starts_at.hour) for e in sorted(events, key=lambda e: e.id)]
    assert hours == [("Board games", 11), ("Board games", 11), ("Later", 12), ("Later", 12)]
    assert events[3].original_starts_at.hour == 11  # the calendar identity does not move


def test_duplicate_next_week_keeps_all_but_the_date_and_is_a_draft(cast, hall):
    [event] = services.schedule(cast.lead, cast.branch, meetup(
        hall, description="Bring dice", online_url="https://meet.example/d", capacity=30,
        max_guests=2, requires_approval=True, walk_ins_over_capacity=True, setup_minutes=30,
        teardown_minutes=15))
    copy = services.duplicate_event(cast.lead, event)
    assert (copy.starts_at - event.starts_at, copy.ends_at - event.ends_at) == (
        timedelta(days=7), timedelta(days=7))
    assert copy.status is EventStatus.DRAFT
    kept = ("title", "description", "venue_id", "online_url", "capacity", "max_guests",
            "requires_approval", "walk_ins_over_capacity")
    assert [getattr(copy, name) for name in kept] == [getattr(event, name) for name in kept]
    assert (copy.booking.setup_minutes, copy.booking.teardown_minutes) == (30, 15)


def test_duplicate_an_online_meetup(cast):
    [event] = services.schedule(cast.lead, cast.branch, meetup(
        online_url="https://meet.example/x"))
    copy = services.duplicate_event(cast.lead, event)
    assert copy.booking is None and copy.online_url == "https://meet.example/x"


def test_this_and_following_is_the_series_from_here_on_not_its_cancelled_dates(cast, hall):
    events = services.schedule(cast.lead, cast.branch, meetup(hall),
                               RepeatRule(Frequency.WEEKLY, count=4))
    [other] = services.schedule(cast.lead, cast.branch, meetup(
        start=at(4, 30, 19), online_url="https://meet.example/o", title="Other"))
    services.cancel_event(cast.lead, events[3], "Holiday")
    # The third moves before the second: "this and following" still goes by date.
    services.update_event(cast.lead, events[2], meetup(hall, start=at(3, 6, 19)))
    edited = services.update_event(cast.lead, events[0], meetup(hall, title="Later"),
                                   this_and_following=True)
    assert [e.id for e in edited] == [events[0].id, events[2].id, events[1].id]
    db.session.expire_all()
    assert [e.title for e in events] == ["Later", "Later", "Later", "Board games"]
    assert events[3].status is EventStatus.CANCELLED and other.title == "Other"


def test_a_series_whose_meetups_overlap_each_other_is_refused(cast, hall):
    week_long = meetup(hall, start=at(3, 1, 10), hours=7 * 24, teardown_minutes=60)
    with pytest.raises(services.VenueConflict) as raised:
        services.schedule(cast.lead, cast.branch, week_long,
                          RepeatRule(Frequency.WEEKLY, count=3))
    assert raised.value.extra["dates"] == [f"{NEXT_YEAR}-03-08", f"{NEXT_YEAR}-03-15"]
    weekday = datetime(NEXT_YEAR, 3, 1).strftime("%a")
    assert raised.value.message == (
        f"Hall is taken on these dates: {NEXT_YEAR}-03-08, {NEXT_YEAR}-03-15. First clash: "
        f"“this series' own meetup on {NEXT_YEAR}-03-01” at {weekday} 1 Mar {NEXT_YEAR}, 10:00.")
    second = raised.value.extra["clashes"][1]
    assert (second["starts_at"], second["blocked_until"]) == (
        f"{NEXT_YEAR}-03-08T02:00:00+00:00", f"{NEXT_YEAR}-03-15T03:00:00+00:00")
    assert count(Event) == 0


def test_hold_and_release(cast, hall):
    hold = services.hold_venue(cast.lead, hall, services.HoldInput(
        at(4, 1, 9), at(4, 1, 12), status=BookingStatus.CONFIRMED, note="Workshop setup"))
    with pytest.raises(services.VenueConflict) as raised:
        services.schedule(cast.lead, cast.branch, meetup(hall, start=at(4, 1, 11)))
    assert "Workshop setup" in raised.value.message
    services.release_booking(cast.lead, hold)
    services.schedule(cast.lead, cast.branch, meetup(hall, start=at(4, 1, 11)))


def test_a_hold_keeps_its_buffers_and_who_made_it(cast, hall):
    with pytest.raises(InvalidInput) as raised:
        services.hold_venue(cast.lead, hall, services.HoldInput(
            at(4, 2, 9), at(4, 2, 12), status=BookingStatus.CANCELLED))
    assert raised.value.fields == {"status": ["A hold must be tentative or confirmed."]}
    hold = services.hold_venue(cast.lead, hall, services.HoldInput(
        at(4, 2, 9), at(4, 2, 12), setup_minutes=30, teardown_minutes=15))
    assert (hold.setup_minutes, hold.teardown_minutes) == (30, 15)
    assert hold.created_by_id == cast.lead.id


# --- pages -----------------------------------------------------------------------------------

def test_event_page_shows_local_time_seats_and_safe_markdown(client, cast, hall):
    [event] = services.schedule(cast.lead, cast.branch, meetup(
        hall, description="**Bring dice** <script>alert(1)</script> [x](javascript:alert(1))"))
    page = client.get(f"/events/{event.id}")
    assert "<strong>Bring dice</strong>" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert 'href="javascript' not in page.text
    assert "19:00–21:00" in page.text and ":00:00" not in page.text and "CST" not in page.text
    assert page.text.count("40 of 40 seats left") == 1 and "40 / 40" not in page.text


def test_drafts_are_hidden_from_members(client, cast, hall):
    [draft] = services.schedule(cast.lead, cast.branch, meetup(hall, status=EventStatus.DRAFT))
    assert client.get(f"/events/{draft.id}").status_code == 404
    login(client, cast.lead)
    assert client.get(f"/events/{draft.id}").status_code == 200


def test_create_form_refuses_a_clash_and_offers_to_skip(client, cast, hall):
    services.hold_venue(cast.lead, hall, services.HoldInput(at(3, 12, 18), at(3, 12, 20)))
    login(client, cast.lead)
    form = {"title": "Weekly", "starts_at": f"{NEXT_YEAR}-03-05T19:00",
            "ends_at": f"{NEXT_YEAR}-03-05T21:00", "venue_id": str(hall.id),
            "status": "published", "repeat-freq": "weekly", "repeat-count": "3"}
    page = client.post("/branches/chengdu/events/new", data=form)
    assert page.status_code == 200
    assert "is taken on these dates" in page.text or "already booked" in page.text
    assert f'value="{NEXT_YEAR}-03-12"' in page.text
    done = client.post("/branches/chengdu/events/new",
                       data=form | {"skip_dates": f"{NEXT_YEAR}-03-12"})
    assert done.status_code == 302
    assert count(Event) == 2


def test_month_view_and_venue_week(client, cast, hall):
    services.schedule(cast.lead, cast.branch, meetup(hall, title="Dumplings"))
    month = client.get(f"/branches/chengdu/events?month={NEXT_YEAR}-03")
    assert "Dumplings" in month.text
    login(client, cast.lead)
    week = client.get(f"/venues/{hall.id}/bookings?week={NEXT_YEAR}-03-05")
    assert "Dumplings" in week.text and "19:00–21:00" in week.text


def test_a_series_page_says_how_it_repeats_from_its_first_date(client, cast, hall):
    first = date(NEXT_YEAR, 3, 1)
    second_saturday = first + timedelta(days=(5 - first.weekday()) % 7 + 7)
    start = datetime.combine(second_saturday, datetime.min.time()).replace(hour=19)
    events = services.schedule(cast.lead, cast.branch, meetup(hall, start=start),
                               RepeatRule(Frequency.MONTHLY, count=3))
    [once] = services.schedule(cast.lead, cast.branch, meetup(hall, start=at(5, 1, 9)))
    assert "<dd>Monthly on the second Saturday</dd>" in client.get(f"/events/{events[1].id}").text
    assert "Repeats" not in client.get(f"/events/{once.id}").text


def test_the_branch_page_lists_its_next_twenty_meetups_soonest_first(client, cast, hall):
    for day in range(21, 0, -1):  # scheduled latest first
        services.schedule(cast.lead, cast.branch, meetup(hall, start=at(6, day, 19),
                                                         title=f"June {day}"))
    services.schedule(cast.lead, cast.branch, meetup(
        hall, start=at(5, 30, 19), title="Draft plan", status=EventStatus.DRAFT))
    [over] = services.schedule(cast.lead, cast.branch, meetup(hall, start=at(5, 1, 19),
                                                              title="Long over"))
    over.starts_at -= timedelta(days=800)
    over.ends_at -= timedelta(days=800)
    services.schedule(cast.other_lead, cast.other_branch, meetup(
        start=at(5, 31, 19), title="Beijing night", online_url="https://meet.example/b"))
    db.session.commit()

    def listed() -> list[str]:
        return re.findall(r'class="card event-card">\s*<a href="[^"]+"><strong>([^<]+)<',
                          client.get("/branches/chengdu").text)

    assert listed() == [f"June {day}" for day in range(1, 21)]
    login(client, cast.lead)
    assert listed()[:2] == ["Draft plan", "June 1"]


def test_the_home_page_lists_the_twelve_soonest_published_meetups_not_over(cast):
    """upcoming_for as the home page calls it (its own limit), for a visitor: across the
    network, and for a member, in their branch; a meetup that is over is not among them."""
    [over] = services.schedule(cast.lead, cast.branch, meetup(start=at(1, 1, 19), title="Over",
                                                              online_url="https://x.example"))
    over.starts_at -= timedelta(days=800)
    over.ends_at -= timedelta(days=800)
    for n in range(13):
        services.schedule(cast.lead, cast.branch, meetup(
            start=at(2, 1, 19) + timedelta(days=n), title=f"Night {n:02d}",
            online_url="https://meet.example/n"))
    db.session.commit()
    twelve = [f"Night {n:02d}" for n in range(12)]
    assert [e.title for e in services.upcoming_for(None)] == twelve
    assert [e.title for e in services.upcoming_for(cast.member)] == twelve  # their branch's


def test_near_me_page(client, cast, hall):
    services.schedule(cast.lead, cast.branch, meetup(hall, title="Hotpot"))
    near = client.get("/events/near?place=成都&radius_km=30")
    assert "Hotpot" in near.text
    far = client.get("/events/near?place=上海&radius_km=30")
    assert "Hotpot" not in far.text


def test_near_lists_published_meetups_that_have_not_ended(cast, hall):
    here = (cast.branch.latitude, cast.branch.longitude)
    services.schedule(cast.lead, cast.branch, meetup(hall, title="Draft",
                                                     status=EventStatus.DRAFT))
    [over, on] = (services.schedule(cast.lead, cast.branch, meetup(
        hall, start=at(3, day, 19), title=title))[0] for day, title in ((6, "Over"), (7, "On")))
    over.starts_at -= timedelta(days=800)
    over.ends_at -= timedelta(days=800)
    db.session.commit()
    assert [n.event.title for n in services.events_near(*here, radius_km=30)] == ["On"]
    assert services.events_near(*here, radius_km=30, start=on.ends_at) == []


def test_near_lists_the_fifty_soonest(cast):
    """The near-me page and API take events_near's own limit: 50 meetups, soonest first."""
    for n in range(51):
        services.schedule(cast.lead, cast.branch, meetup(
            start=at(1, 1, 19) + timedelta(days=n), title=f"Night {n:02d}",
            online_url="https://meet.example/n"))
    db.session.commit()
    nearby = services.events_near(cast.branch.latitude, cast.branch.longitude, radius_km=30)
    assert [n.event.title for n in nearby] == [f"Night {n:02d}" for n in range(50)]


def test_near_includes_a_meetup_exactly_at_the_radius(cast):
    from branches.geography import distance_km

    services.schedule(cast.lead, cast.branch, meetup(title="Online",
                                                     online_url="https://meet.example/n"))
    db.session.commit()
    point = (cast.branch.latitude + 0.1, cast.branch.longitude + 0.1)
    edge = distance_km(*point, cast.branch.latitude, cast.branch.longitude)
    assert [n.event.title for n in services.events_near(*point, radius_km=edge)] == ["Online"]
    assert services.events_near(*point, radius_km=edge * 0.999) == []


def test_near_reaches_across_the_date_line(admin, make_user):
    from branches.models import Role
    from branches.services import set_role

    labasa = make_branch(admin, "labasa", "Labasa")  # Fiji, where 180° runs through Taveuni
    lead = make_user("Mere")
    set_role(admin, labasa, lead.id, Role.LEAD)
    west = save_venue(lead, labasa, VenueInput("Waiyevo hall", "Waiyevo", 30, -16.79, 179.98))
    east = save_venue(lead, labasa, VenueInput("Lavena hall", "Lavena", 30, -16.87, -179.89))
    for venue in (west, east):
        services.schedule(lead, labasa, meetup(venue, title=venue.name))
    for longitude in (179.95, -179.95):
        found = services.events_near(-16.83, longitude, radius_km=30)
        assert sorted(n.event.title for n in found) == ["Lavena hall", "Waiyevo hall"]


# --- publishing only what is still ahead -----------------------------------------------------

def _an_hour_ago_local(cast) -> datetime:
    return services.utc_to_zone(datetime.now(UTC) - timedelta(hours=1),
                                cast.branch.timezone).replace(tzinfo=None, microsecond=0)


def test_a_meetup_in_the_past_is_not_published(cast, hall):
    with pytest.raises(InvalidInput) as refused:
        services.schedule(cast.lead, cast.branch, meetup(hall, start=_an_hour_ago_local(cast)))
    assert set(refused.value.fields) == {"starts_at"}
    assert count(Event) == 0 and count(Booking) == 0
    [draft] = services.schedule(cast.lead, cast.branch,
                                meetup(hall, start=_an_hour_ago_local(cast),
                                       status=EventStatus.DRAFT))
    db.session.commit()
    with pytest.raises(InvalidInput) as refused:
        services.update_event(cast.lead, draft, replace(services.event_input(draft),
                                                             status=EventStatus.PUBLISHED))
    assert set(refused.value.fields) == {"starts_at"}
    db.session.rollback()
    assert db.session.get(Event, draft.id).status is EventStatus.DRAFT


def test_a_published_meetup_that_began_can_still_be_corrected(cast, hall):
    [made] = services.schedule(cast.lead, cast.branch, meetup(hall))
    made.starts_at = datetime.now(UTC) - timedelta(hours=1)
    made.ends_at = made.starts_at + timedelta(hours=2)
    db.session.commit()
    fixed = services.update_event(cast.lead, made, replace(services.event_input(made),
                                                          title="Board games (fixed typo)"))
    assert fixed[0].title == "Board games (fixed typo)"


def test_web_form_refuses_publishing_the_past_on_the_start_field(client, cast, hall):
    login(client, cast.lead)
    start = _an_hour_ago_local(cast)
    page = client.post("/branches/chengdu/events/new", data={
        "title": "Too late", "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "venue_id": str(hall.id), "status": "published"})
    assert page.status_code == 200 and "already started cannot be published" in page.text
    assert count(Event) == 0


def test_the_meetup_form_shows_an_end_before_the_start_with_the_other_errors(client, cast, hall):
    login(client, cast.lead)
    page = client.post(f"/branches/{cast.branch.slug}/events/new", data={
        "title": "", "starts_at": "2031-03-05T19:00", "ends_at": "2031-03-05T18:00",
        "venue_id": str(hall.id), "status": "published"}).text
    assert 'id="title-error"' in page  # the field left empty …
    assert "The end must be after the start." in page  # … and the end, in the same answer
