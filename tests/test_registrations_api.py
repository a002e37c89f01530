"""The JSON API for RSVPs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from branches.services import VenueInput, save_venue
from planner.events import services as events
from planner.events.models import EventStatus
from tests.conftest import bearer, login

YEAR = datetime.now(UTC).year + 1


@pytest.fixture
def meetup(cast):
    hall = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 2))
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Tea", starts_local=datetime(YEAR, 5, 1, 19), ends_local=datetime(YEAR, 5, 1, 21),
        venue_id=hall.id, status=EventStatus.PUBLISHED, capacity=2, max_guests=1))
    return event


def test_rsvp_is_idempotent_and_cancel_promotes(client, cast, meetup, make_user):
    url = f"/api/v1/events/{meetup.id}/registrations"
    first, second, third = (bearer(client, make_user(f"P{n}")) for n in range(3))
    created = client.post(url, headers=first, json={"guests": 1})
    assert created.status_code == 201
    body = created.json
    assert body["status"] == "going" and body["ticket_code"]
    assert body["ticket_qr_url"].endswith(f"/tickets/{body['ticket_code']}/qr.svg")
    repeated = client.post(url, headers=first, json={"guests": 0})
    assert repeated.status_code == 200 and repeated.json == body  # unchanged, guests kept
    waiting = client.post(url, headers=second, json={}).json
    also = client.post(url, headers=third, json={}).json
    assert (waiting["status"], waiting["position"], waiting["ticket_code"]) == (
        "waitlisted", 1, None)
    assert also["position"] == 2
    assert client.get("/api/v1/me/registrations", headers=third).json[0]["position"] == 2
    cancelled = client.delete(f"{url}/me", headers=first)
    assert cancelled.json["status"] == "cancelled"
    for person in (second, third):  # two seats freed: both move up, in order
        promoted = client.post(url, headers=person, json={}).json
        assert promoted["status"] == "going" and promoted["ticket_code"]


def test_rsvp_errors(client, cast, meetup):
    url = f"/api/v1/events/{meetup.id}/registrations"
    member = bearer(client, cast.member)
    too_many = client.post(url, headers=member, json={"guests": 2})
    assert too_many.status_code == 422 and "guests" in too_many.json["error"]["fields"]
    negative = client.post(url, headers=member, json={"guests": -1})
    assert negative.status_code == 422
    assert client.post(url, json={}).status_code == 401
    assert client.delete(f"{url}/me", headers=member).status_code == 404


def test_a_draft_is_not_found_by_those_who_cannot_manage_it(client, cast, meetup):
    draft = events.duplicate_event(cast.lead, meetup)
    url = f"/api/v1/events/{draft.id}/registrations"
    for person in (cast.member, cast.other_lead):
        headers = bearer(client, person)
        hidden = client.get(f"/api/v1/events/{draft.id}", headers=headers)
        assert (hidden.status_code, hidden.json["error"]["message"]) == (404, "No such meetup.")
        refused = client.post(url, headers=headers, json={})
        assert refused.status_code == 404, refused.json
        assert client.get(url, headers=headers).status_code == 404
    lead = client.post(url, headers=bearer(client, cast.lead), json={})
    assert (lead.status_code, lead.json["error"]["reason"]) == (409, "draft")
    login(client, cast.other_lead)
    assert client.post(f"/events/{draft.id}/rsvp", data={}).status_code == 404
    assert client.get(f"/events/{draft.id}").status_code == 404


def test_list_and_review_permissions(client, cast, meetup):
    meetup.requires_approval = True
    from planner.core.extensions import db

    db.session.commit()
    url = f"/api/v1/events/{meetup.id}/registrations"
    pending = client.post(url, headers=bearer(client, cast.member), json={}).json
    assert pending["status"] == "pending"
    listed = client.get(url, headers=bearer(client, cast.staff))
    assert listed.status_code == 200 and listed.json[0]["display_name"] == "Member Ma"
    assert client.get(url, headers=bearer(client, cast.outsider)).status_code == 403
    review = f"/api/v1/registrations/{pending['id']}/review"
    assert client.post(review, headers=bearer(client, cast.staff),
                       json={"approve": True}).status_code == 403
    approved = client.post(review, headers=bearer(client, cast.lead), json={"approve": True})
    assert approved.json["status"] == "going"


def test_the_rsvp_list_goes_by_status_then_queue(client, cast, meetup, make_user):
    from planner.core.extensions import db
    from planner.registrations import services

    q0, q1, q2, q3 = (make_user(f"Q{n}") for n in range(4))
    services.rsvp(q0, meetup.id)
    services.rsvp(q1, meetup.id)  # the two seats are taken
    services.rsvp(q2, meetup.id, guests=1)  # waits for two seats
    services.cancel(q1, meetup.id)  # one seat: too few for q2's party
    services.rsvp(q3, meetup.id)  # later, but fits
    services.rsvp(q1, meetup.id)  # back: its RSVP (and id) again, at the end of the queue
    db.session.commit()
    listed = client.get(f"/api/v1/events/{meetup.id}/registrations",
                        headers=bearer(client, cast.lead)).json
    assert [(r["display_name"], r["status"]) for r in listed] == [
        ("Q0", "going"), ("Q3", "going"), ("Q2", "waitlisted"), ("Q1", "waitlisted")]
    refused = client.get(f"/api/v1/events/{meetup.id}/registrations",
                         headers=bearer(client, cast.outsider))
    assert refused.json["error"]["message"] == (
        "Only leads and door staff of this branch see the RSVPs.")
