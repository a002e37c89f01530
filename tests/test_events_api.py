"""The JSON API for meetups and venue bookings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from branches.services import VenueInput, save_venue
from planner.core.extensions import db
from planner.notifications.kinds import Notice
from planner.notifications.models import OutboxMessage
from tests.conftest import bearer

YEAR = datetime.now(UTC).year + 1


def test_create_list_get_patch_cancel(client, cast):
    venue = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 40))
    lead = bearer(client, cast.lead)
    created = client.post("/api/v1/branches/chengdu/events", headers=lead, json={
        "title": "Go club", "description": "Bring a board", "starts_at": f"{YEAR}-06-06T19:00",
        "ends_at": f"{YEAR}-06-06T21:00", "venue_id": venue.id, "status": "published",
        "repeat": {"freq": "weekly", "count": 3}})
    assert created.status_code == 201, created.json
    events = created.json
    assert [e["starts_at"] for e in events] == [
        f"{YEAR}-06-06T19:00:00+08:00", f"{YEAR}-06-13T19:00:00+08:00",
        f"{YEAR}-06-20T19:00:00+08:00"]
    first = events[0]
    assert first["timezone"] == "Asia/Shanghai" and first["capacity"] == 40
    assert first["venue"]["name"] == "Hall"
    assert {"going_count", "waitlist_count", "url", "ics_url"} <= set(first)

    listed = client.get(f"/api/v1/events?branch=chengdu&from={YEAR}-06-01T00:00"
                        f"&to={YEAR}-06-14T00:00").json
    assert [e["id"] for e in listed] == [events[0]["id"], events[1]["id"]]
    near = client.get("/api/v1/events?near=30.66,104.06&radius_km=20").json
    assert len(near) == 3

    patched = client.patch(f"/api/v1/events/{first['id']}", headers=lead,
                           json={"starts_at": f"{YEAR}-06-06T18:00:00+08:00"})
    assert patched.status_code == 200, patched.json
    assert patched.json[0]["starts_at"] == f"{YEAR}-06-06T18:00:00+08:00"
    assert patched.json[0]["ends_at"] == f"{YEAR}-06-06T21:00:00+08:00"
    assert patched.json[0]["sequence"] == 1

    cancelled = client.post(f"/api/v1/events/{first['id']}/cancel", headers=lead,
                            json={"message": "Typhoon"})
    assert cancelled.json[0]["status"] == "cancelled"
    assert client.get(f"/api/v1/events/{first['id']}").json["status"] == "cancelled"


def test_booking_api_conflict_names_the_booking(client, cast):
    venue = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 40))
    lead = bearer(client, cast.lead)
    hold = client.post(f"/api/v1/venues/{venue.id}/bookings", headers=lead, json={
        "starts_at": f"{YEAR}-07-01T09:00", "ends_at": f"{YEAR}-07-01T12:00",
        "status": "tentative", "note": "Photo shoot", "teardown_minutes": 30})
    assert hold.status_code == 201
    assert hold.json["blocked_until"] == f"{YEAR}-07-01T12:30:00+08:00"
    clash = client.post("/api/v1/branches/chengdu/events", headers=lead, json={
        "title": "Brunch", "starts_at": f"{YEAR}-07-01T12:15", "ends_at": f"{YEAR}-07-01T14:00",
        "venue_id": venue.id})
    assert clash.status_code == 409
    error = clash.json["error"]
    assert error["code"] == "venue_conflict"
    assert "Photo shoot" in error["message"]
    assert error["clashes"][0]["booking_id"] == hold.json["id"]
    week = client.get(f"/api/v1/venues/{venue.id}/bookings?from={YEAR}-06-29T00:00"
                      f"&to={YEAR}-07-06T00:00", headers=lead).json
    assert [b["note"] for b in week] == ["Photo shoot"]
    assert client.delete(f"/api/v1/bookings/{hold.json['id']}", headers=lead).status_code == 204


def test_event_api_errors(client, cast):
    lead = bearer(client, cast.lead)
    bad = client.post("/api/v1/branches/chengdu/events", headers=lead, json={
        "title": "", "starts_at": "tomorrow", "ends_at": f"{YEAR}-07-01T14:00",
        "online_url": "javascript:alert(1)", "repeat": {"freq": "daily"}})
    assert bad.status_code == 422
    assert {"title", "starts_at", "online_url", "repeat-freq"} <= set(bad.json["error"]["fields"])
    member = bearer(client, cast.member)
    forbidden = client.post("/api/v1/branches/chengdu/events", headers=member, json={
        "title": "Mine", "starts_at": f"{YEAR}-07-01T12:00", "ends_at": f"{YEAR}-07-01T14:00",
        "online_url": "https://meet.example/x"})
    assert forbidden.status_code == 403
    assert client.get("/api/v1/events").status_code == 422
    missing = client.get("/api/v1/events/99999")
    assert (missing.status_code, missing.json["error"]["message"]) == (404, "No such meetup.")


def test_api_refuses_publishing_a_meetup_in_the_past(client, cast):
    lead = bearer(client, cast.lead)
    start = datetime.now(UTC) - timedelta(hours=1)
    meetup = {"title": "Too late", "starts_at": start.isoformat(),
              "ends_at": (start + timedelta(hours=2)).isoformat(),
              "online_url": "https://meet.example/x"}
    refused = client.post("/api/v1/branches/chengdu/events", headers=lead,
                          json=meetup | {"status": "published"})
    assert refused.status_code == 422 and refused.json["error"]["fields"] == {
        "starts_at": ["A meetup that has already started cannot be published."]}
    draft = client.post("/api/v1/branches/chengdu/events", headers=lead,
                        json=meetup | {"status": "draft"})
    assert draft.status_code == 201
    published = client.patch(f"/api/v1/events/{draft.json[0]['id']}", headers=lead,
                             json={"status": "published"})
    assert published.status_code == 422 and set(published.json["error"]["fields"]) == {
        "starts_at"}
    assert client.get(f"/api/v1/events/{draft.json[0]['id']}",
                      headers=lead).json["status"] == "draft"


def test_seats_added_by_an_edit_go_to_the_waitlist_in_order(client, cast, make_user):
    lead = bearer(client, cast.lead)
    [meetup] = client.post("/api/v1/branches/chengdu/events", headers=lead, json={
        "title": "Small table", "starts_at": f"{YEAR}-06-06T19:00", "capacity": 1,
        "ends_at": f"{YEAR}-06-06T21:00", "online_url": "https://meet.example/t",
        "status": "published"}).json
    first, second, third = (make_user(f"Guest {n}") for n in range(3))
    answers = [client.post(f"/api/v1/events/{meetup['id']}/registrations",
                           headers=bearer(client, person), json={}).json
               for person in (first, second, third)]
    assert [a["status"] for a in answers] == ["going", "waitlisted", "waitlisted"]

    edited = client.patch(f"/api/v1/events/{meetup['id']}", headers=lead, json={"capacity": 2})
    assert edited.status_code == 200, edited.json
    assert (edited.json[0]["going_count"], edited.json[0]["waitlist_count"]) == (2, 1)
    second_now = client.post(f"/api/v1/events/{meetup['id']}/registrations",
                             headers=bearer(client, second), json={}).json
    assert second_now["status"] == "going" and second_now["ticket_code"]
    promoted = db.session.scalars(select(OutboxMessage.user_id).where(
        OutboxMessage.kind == str(Notice.PROMOTED))).all()
    assert promoted == [second.id]


def _hold(client, lead, venue_id: int, day: int, start: str, end: str, **extra):
    held = client.post(f"/api/v1/venues/{venue_id}/bookings", headers=lead, json={
        "starts_at": f"{YEAR}-07-{day:02}T{start}", "ends_at": f"{YEAR}-07-{day:02}T{end}",
        "status": "tentative", **extra})
    assert held.status_code == 201, held.json
    return held.json


def test_a_clash_answer_describes_the_booking_it_runs_into(client, cast):
    venue = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 40))
    lead = bearer(client, cast.lead)
    hold = _hold(client, lead, venue.id, 1, "09:00", "12:00", setup_minutes=15,
                 teardown_minutes=30)
    clash = client.post("/api/v1/branches/chengdu/events", headers=lead, json={
        "title": "Brunch", "starts_at": f"{YEAR}-07-01T11:00", "ends_at": f"{YEAR}-07-01T14:00",
        "venue_id": venue.id}).json["error"]
    weekday = datetime(YEAR, 7, 1).strftime("%a")
    assert clash["message"] == (
        f"Hall is already booked by “a venue hold” at {weekday} 1 Jul {YEAR}, 09:00.")
    assert clash["fields"] == {"venue_id": [clash["message"]]}
    assert clash["clashes"] == [{
        "date": f"{YEAR}-07-01", "booking_id": hold["id"], "event_id": None, "title": None,
        "note": "", "starts_at": f"{YEAR}-07-01T01:00:00+00:00",
        "ends_at": f"{YEAR}-07-01T04:00:00+00:00",
        "blocked_from": f"{YEAR}-07-01T00:45:00+00:00",
        "blocked_until": f"{YEAR}-07-01T04:30:00+00:00"}]


def test_a_venues_bookings_are_its_own_live_ones_in_the_range_in_order(client, cast):
    venue = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 40))
    loft = save_venue(cast.lead, cast.branch, VenueInput("Loft", "2 Road", 10))
    lead = bearer(client, cast.lead)
    late = _hold(client, lead, venue.id, 2, "15:00", "17:00", note="late")
    _hold(client, lead, venue.id, 2, "07:00", "09:00", note="before")  # ends as the range starts
    early = _hold(client, lead, venue.id, 2, "10:00", "12:00", note="early")
    _hold(client, lead, venue.id, 2, "18:00", "20:00", note="after")  # starts as it ends
    _hold(client, lead, loft.id, 2, "10:00", "12:00", note="loft")
    gone = _hold(client, lead, venue.id, 2, "13:00", "14:00", note="released")
    assert client.delete(f"/api/v1/bookings/{gone['id']}", headers=lead).status_code == 204
    listed = client.get(f"/api/v1/venues/{venue.id}/bookings?from={YEAR}-07-02T09:00"
                        f"&to={YEAR}-07-02T18:00", headers=lead).json
    assert [b["id"] for b in listed] == [early["id"], late["id"]]


def test_a_branchs_meetups_in_a_range(client, cast):
    lead = bearer(client, cast.lead)

    def make(branch: str, headers, day: int, start: str, end: str, status="published") -> int:
        made = client.post(f"/api/v1/branches/{branch}/events", headers=headers, json={
            "title": f"Day {day} {start}", "starts_at": f"{YEAR}-08-{day:02}T{start}",
            "ends_at": f"{YEAR}-08-{day:02}T{end}", "online_url": "https://meet.example/x",
            "status": status})
        assert made.status_code == 201, made.json
        return made.json[0]["id"]

    make("chengdu", lead, 1, "07:00", "09:00")  # ends as the range starts
    inside = make("chengdu", lead, 1, "10:00", "12:00")
    draft = make("chengdu", lead, 1, "13:00", "14:00", status="draft")
    make("chengdu", lead, 1, "18:00", "20:00")  # starts as it ends
    make("beijing", bearer(client, cast.other_lead), 1, "10:00", "12:00")
    url = f"/api/v1/events?branch=chengdu&from={YEAR}-08-01T09:00&to={YEAR}-08-01T18:00"
    assert [e["id"] for e in client.get(url).json] == [inside]
    assert [e["id"] for e in client.get(url, headers=lead).json] == [inside, draft]


def test_holds_answer_why_they_cannot_be_confirmed_or_released(client, cast):
    venue = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 40))
    lead = bearer(client, cast.lead)
    client.post("/api/v1/branches/chengdu/events", headers=lead, json={
        "title": "Go", "starts_at": f"{YEAR}-07-03T19:00", "ends_at": f"{YEAR}-07-03T21:00",
        "venue_id": venue.id})
    [meetups] = client.get(f"/api/v1/venues/{venue.id}/bookings?from={YEAR}-07-03T00:00",
                           headers=lead).json
    url = f"/api/v1/venues/{venue.id}/bookings/{meetups['id']}"
    confirmed = client.patch(url, headers=lead, json={"status": "confirmed"})
    assert (confirmed.status_code, confirmed.json["error"]["message"]) == (
        409, "This booking belongs to a meetup; it is confirmed with it.")
    released = client.delete(f"/api/v1/bookings/{meetups['id']}", headers=lead)
    assert (released.status_code, released.json["error"]["message"]) == (
        409, "This booking belongs to a meetup; cancel or move the meetup.")
    hold = _hold(client, lead, venue.id, 4, "09:00", "12:00")
    assert client.delete(f"/api/v1/bookings/{hold['id']}", headers=lead).status_code == 204
    again = client.patch(f"/api/v1/venues/{venue.id}/bookings/{hold['id']}", headers=lead,
                         json={"status": "confirmed"})
    assert (again.status_code, again.json["error"]["message"]) == (
        409, "This hold was released.")
    missing = client.delete("/api/v1/bookings/999999", headers=lead)
    assert (missing.status_code, missing.json["error"]["message"]) == (404, "No such booking.")


def test_a_patch_keeps_what_it_leaves_out(client, cast):
    from planner.events.models import Event

    venue = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 40))
    lead = bearer(client, cast.lead)
    [made] = client.post("/api/v1/branches/chengdu/events", headers=lead, json={
        "title": "Go club", "description": "Bring a board", "starts_at": f"{YEAR}-06-06T19:00",
        "ends_at": f"{YEAR}-06-06T21:00", "venue_id": venue.id, "capacity": 30,
        "status": "published", "setup_minutes": 15, "teardown_minutes": 10, "max_guests": 2,
        "requires_approval": True, "walk_ins_over_capacity": True,
        "rsvp_opens_at": f"{YEAR}-06-01T09:00", "rsvp_closes_at": f"{YEAR}-06-06T12:00"}).json

    def kept() -> dict:
        db.session.expire_all()
        event = db.session.get(Event, made["id"])
        booking = event.booking
        return {"title": event.title, "description": event.description,
                "times": (event.starts_at, event.ends_at, event.rsvp_opens_at,
                          event.rsvp_closes_at),
                "place": (event.venue_id, event.online_url, booking.setup_minutes,
                          booking.teardown_minutes),
                "rules": (event.capacity, event.status, event.max_guests,
                          event.requires_approval, event.walk_ins_over_capacity)}

    before = kept()
    patched = client.patch(f"/api/v1/events/{made['id']}", headers=lead,
                           json={"title": "Renamed"})
    assert patched.status_code == 200, patched.json
    assert kept() == before | {"title": "Renamed"}
