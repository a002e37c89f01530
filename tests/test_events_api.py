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
    assert client.get("/api/v1/events/99999").status_code == 404


def test_api_refuses_publishing_a_meetup_in_the_past(client, cast):
    lead = bearer(client, cast.lead)
    start = datetime.now(UTC) - timedelta(hours=1)
    meetup = {"title": "Too late", "starts_at": start.isoformat(),
              "ends_at": (start + timedelta(hours=2)).isoformat(),
              "online_url": "https://meet.example/x"}
    refused = client.post("/api/v1/branches/chengdu/events", headers=lead,
                          json=meetup | {"status": "published"})
    assert refused.status_code == 422 and set(refused.json["error"]["fields"]) == {"starts_at"}
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
