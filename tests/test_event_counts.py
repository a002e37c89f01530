"""Event JSON tells the real seats: people going (guests included), the waitlist, seats left;
a listing counts them in one query, whatever the number of meetups."""

from __future__ import annotations

from datetime import UTC, datetime

from branches.services import VenueInput, save_venue
from planner.core.extensions import db
from planner.events import services as events
from planner.events.models import EventStatus
from planner.registrations import services
from tests.test_event_queries import add_meetups, add_registrations, queries_for

YEAR = datetime.now(UTC).year + 1


def test_event_json_counts_people_waitlist_and_seats_left(client, cast, make_user):
    hall = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 4))
    [event, online] = [events.schedule(cast.lead, cast.branch, events.EventInput(
        title=title, starts_local=datetime(YEAR, 7, day, 19), ends_local=datetime(YEAR, 7, day, 21),
        venue_id=venue, online_url=url, max_guests=2, status=EventStatus.PUBLISHED))[0]
        for title, day, venue, url in (("Hall", 1, hall.id, None),
                                       ("Online", 2, None, "https://meet.example/x"))]
    event.capacity, online.capacity = 4, None
    db.session.commit()
    people = [make_user(f"P{n}") for n in range(4)]
    services.rsvp(people[0], event.id, guests=2)  # 3 people
    services.rsvp(people[1], event.id, guests=2)  # does not fit: waitlisted
    services.rsvp(people[2], event.id)  # the 4th seat
    services.rsvp(people[3], online.id, guests=1)

    one = client.get(f"/api/v1/events/{event.id}").json
    assert (one["going_count"], one["waitlist_count"], one["seats_left"]) == (4, 1, 0)
    listed = {e["title"]: e for e in client.get(
        f"/api/v1/events?branch=chengdu&from={YEAR}-07-01T00:00&to={YEAR}-07-03T00:00").json}
    assert (listed["Hall"]["going_count"], listed["Hall"]["seats_left"]) == (4, 0)
    assert (listed["Online"]["going_count"], listed["Online"]["waitlist_count"],
            listed["Online"]["seats_left"]) == (2, 0, None)


def test_event_list_counts_seats_in_a_fixed_number_of_queries(client, cast):
    add_meetups(cast, 3, first_day=1)
    url = "/api/v1/events?branch=chengdu"
    few = queries_for(client, url)
    add_meetups(cast, 60, first_day=2)
    for n, listed in enumerate(db.session.scalars(db.select(events.Event)).all()[:20]):
        add_registrations(listed, n * 3, 3)
    many = queries_for(client, url)
    assert many == few, (few, many)


def test_openapi_documents_the_seat_figures(client):
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]["EventOut"]
    assert {"going_count", "waitlist_count", "seats_left"} <= set(schema["properties"])
    assert "null" in schema["properties"]["seats_left"]["type"]
