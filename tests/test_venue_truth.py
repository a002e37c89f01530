"""Venues and holds that tell the truth: private details only for leads, holds confirmed in
place or taken over by the lead's meetup, refusals shown on the form, capacity within the
venue's, and a one-off meetup that never silently saves nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from branches.services import VenueInput, save_venue
from planner.core.errors import InvalidInput
from planner.core.extensions import db
from planner.events import services
from planner.events.models import Booking, BookingStatus, Event, EventStatus
from tests.conftest import bearer, login
from tests.test_events import NEXT_YEAR as YEAR
from tests.test_events import at, count, meetup


@pytest.fixture
def hall(cast):
    return save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 40))


# --- 1. who sees what on a venue's bookings -------------------------------------------------

@pytest.fixture
def private_week(cast, hall):
    services.schedule(cast.lead, cast.branch, meetup(hall, at(3, 5, 19), title="Secret draft",
                                                     status=EventStatus.DRAFT))
    services.hold_venue(cast.lead, hall, services.HoldInput(at(3, 6, 9), at(3, 6, 12),
                                                            note="Landlord's private viewing"))
    return hall


@pytest.mark.parametrize("who", [None, "member", "other_lead"])
def test_others_see_only_booked_on_the_week_page(client, cast, private_week, who):
    if who:
        login(client, getattr(cast, who))
    page = client.get(f"/venues/{private_week.id}/bookings?week={YEAR}-03-05")
    assert "Secret draft" not in page.text and "Landlord" not in page.text
    assert page.text.count("Booked") == 2
    assert "19:00–21:00" in page.text and "09:00–12:00" in page.text


def test_the_lead_sees_titles_and_notes_on_the_week_page(client, cast, private_week):
    login(client, cast.lead)
    page = client.get(f"/venues/{private_week.id}/bookings?week={YEAR}-03-05")
    assert "Secret draft" in page.text and "Landlord&#39;s private viewing" in page.text


def test_bookings_api_shows_details_only_to_leads(client, cast, private_week):
    url = (f"/api/v1/venues/{private_week.id}/bookings?from={YEAR}-03-02T00:00"
           f"&to={YEAR}-03-09T00:00")
    for headers in ({}, bearer(client, cast.member), bearer(client, cast.other_lead)):
        shown = client.get(url, headers=headers).json
        assert [(b["status"], b["note"], b["event_id"]) for b in shown] == [
            ("booked", "", None), ("booked", "", None)]
        assert shown[0]["starts_at"] == f"{YEAR}-03-05T19:00:00+08:00"
    full = client.get(url, headers=bearer(client, cast.lead)).json
    assert [b["status"] for b in full] == ["confirmed", "tentative"]
    assert full[1]["note"] == "Landlord's private viewing" and full[0]["event_id"] is not None


# --- 2. holds: confirmed in place, taken over by the lead's own meetup ------------------------

def test_confirm_a_hold_in_place_through_the_api(client, cast, hall):
    hold = services.hold_venue(cast.lead, hall, services.HoldInput(at(4, 1, 9), at(4, 1, 12)))
    url = f"/api/v1/venues/{hall.id}/bookings/{hold.id}"
    assert client.patch(url, headers=bearer(client, cast.member),
                        json={"status": "confirmed"}).status_code == 403
    lead = bearer(client, cast.lead)
    bad = client.patch(url, headers=lead, json={"status": "cancelled"})
    assert bad.status_code == 422 and "status" in bad.json["error"]["fields"]
    other = save_venue(cast.lead, cast.branch, VenueInput("Loft", "2 Road", 10))
    assert client.patch(f"/api/v1/venues/{other.id}/bookings/{hold.id}", headers=lead,
                        json={"status": "confirmed"}).status_code == 404
    done = client.patch(url, headers=lead, json={"status": "confirmed"})
    assert done.status_code == 200, done.json
    assert done.json["status"] == "confirmed" and done.json["id"] == hold.id
    db.session.expire_all()
    assert db.session.get(Booking, hold.id).status is BookingStatus.CONFIRMED
    assert count(Booking) == 1


def test_confirm_button_on_the_week_page(client, cast, hall):
    hold = services.hold_venue(cast.lead, hall, services.HoldInput(at(4, 1, 9), at(4, 1, 12)))
    login(client, cast.lead)
    page = client.get(f"/venues/{hall.id}/bookings?week={YEAR}-04-01")
    assert f'/bookings/{hold.id}/confirm"' in page.text
    done = client.post(f"/bookings/{hold.id}/confirm", data={"status": "confirmed"},
                       follow_redirects=True)
    assert "Hold confirmed." in done.text
    db.session.expire_all()
    assert db.session.get(Booking, hold.id).status is BookingStatus.CONFIRMED


def test_a_meetup_inside_the_leads_hold_takes_it_over(cast, hall):
    services.hold_venue(cast.lead, hall, services.HoldInput(at(4, 1, 9), at(4, 1, 17)))
    [event] = services.schedule(cast.lead, cast.branch, meetup(hall, at(4, 1, 10),
                                                               setup_minutes=60))
    db.session.expire_all()
    [booking] = db.session.scalars(select(Booking)).all()  # the hold is gone, replaced
    assert booking.event_id == event.id and booking.status is BookingStatus.CONFIRMED


@pytest.mark.parametrize("start", [at(4, 1, 8), at(4, 1, 16)])
def test_a_meetup_reaching_out_of_the_hold_still_clashes(cast, hall, start):
    services.hold_venue(cast.lead, hall, services.HoldInput(at(4, 1, 9), at(4, 1, 17),
                                                            note="Our hold"))
    with pytest.raises(services.VenueConflict, match="Our hold"):
        services.schedule(cast.lead, cast.branch, meetup(hall, start))
    assert count(Booking) == 1 and count(Event) == 0


def test_setup_buffer_outside_the_hold_clashes(cast, hall):
    services.hold_venue(cast.lead, hall, services.HoldInput(at(4, 1, 10), at(4, 1, 12)))
    with pytest.raises(services.VenueConflict):
        services.schedule(cast.lead, cast.branch, meetup(hall, at(4, 1, 10), setup_minutes=30))


def test_take_over_through_the_api_and_the_other_bookings_still_clash(client, cast, hall):
    lead = bearer(client, cast.lead)
    hold = client.post(f"/api/v1/venues/{hall.id}/bookings", headers=lead, json={
        "starts_at": f"{YEAR}-07-01T09:00", "ends_at": f"{YEAR}-07-01T18:00",
        "status": "tentative", "note": "Our day"}).json
    made = client.post("/api/v1/branches/chengdu/events", headers=lead, json={
        "title": "Brunch", "starts_at": f"{YEAR}-07-01T10:00", "ends_at": f"{YEAR}-07-01T12:00",
        "venue_id": hall.id})
    assert made.status_code == 201, made.json
    week = client.get(f"/api/v1/venues/{hall.id}/bookings?from={YEAR}-07-01T00:00"
                      f"&to={YEAR}-07-02T00:00", headers=lead).json
    assert [(b["event_id"], b["note"]) for b in week] == [(made.json[0]["id"], "")]
    assert hold["note"] == "Our day"
    # The hold is gone: its other hours are free again, the meetup's are not.
    again = client.post("/api/v1/branches/chengdu/events", headers=lead, json={
        "title": "Lunch", "starts_at": f"{YEAR}-07-01T11:00", "ends_at": f"{YEAR}-07-01T13:00",
        "venue_id": hall.id})
    assert again.status_code == 409 and again.json["error"]["code"] == "venue_conflict"
    assert "Brunch" in again.json["error"]["message"]


def test_a_series_takes_over_each_hold_it_falls_into(cast, hall):
    from planner.events.recurrence import Frequency, RepeatRule
    for day in (5, 12):
        services.hold_venue(cast.lead, hall, services.HoldInput(at(3, day, 18), at(3, day, 22)))
    events = services.schedule(cast.lead, cast.branch, meetup(hall, at(3, 5, 19)),
                               RepeatRule(Frequency.WEEKLY, count=3))
    assert len(events) == 3
    assert all(b.event_id is not None for b in db.session.scalars(select(Booking)))
    assert count(Booking) == 3


# --- 3. the hold form shows its refusal -------------------------------------------------------

def test_the_hold_form_names_the_clash(client, cast, hall):
    services.schedule(cast.lead, cast.branch, meetup(hall, at(3, 5, 19), title="Dumplings"))
    login(client, cast.lead)
    page = client.post(f"/venues/{hall.id}/bookings?week={YEAR}-03-05", data={
        "starts_at": f"{YEAR}-03-05T20:00", "ends_at": f"{YEAR}-03-05T22:00",
        "status": "tentative", "note": "Late"})
    assert page.status_code == 200
    assert "already booked by “Dumplings”" in page.text
    assert count(Booking) == 1


# --- 4. capacity within the venue's -----------------------------------------------------------

def test_capacity_above_the_venues_is_refused(cast, hall):
    with pytest.raises(InvalidInput) as raised:
        services.schedule(cast.lead, cast.branch, meetup(hall, at(3, 5, 19), capacity=41))
    assert raised.value.fields == {"capacity": ["The venue holds at most 40 people."]}
    [event] = services.schedule(cast.lead, cast.branch, meetup(hall, at(3, 5, 19), capacity=40))
    with pytest.raises(InvalidInput) as raised:
        services.update_event(cast.lead, event, meetup(hall, at(3, 5, 19), capacity=100))
    assert "capacity" in raised.value.fields
    assert count(Event) == 1


def test_capacity_refused_by_api_and_page(client, cast, hall):
    made = client.post("/api/v1/branches/chengdu/events", headers=bearer(client, cast.lead),
                       json={"title": "Big", "starts_at": f"{YEAR}-07-01T10:00",
                             "ends_at": f"{YEAR}-07-01T12:00", "venue_id": hall.id,
                             "capacity": 500})
    assert made.status_code == 422
    assert made.json["error"]["fields"]["capacity"] == ["The venue holds at most 40 people."]
    login(client, cast.lead)
    page = client.post("/branches/chengdu/events/new", data={
        "title": "Big", "starts_at": f"{YEAR}-07-01T10:00", "ends_at": f"{YEAR}-07-01T12:00",
        "venue_id": str(hall.id), "capacity": "500", "status": "published"})
    assert page.status_code == 200 and "The venue holds at most 40 people." in page.text
    assert count(Event) == 0


# --- 5. skipping dates is for a series ------------------------------------------------------

def test_a_one_off_with_skip_dates_names_its_clash(client, cast, hall):
    services.schedule(cast.lead, cast.branch, meetup(hall, at(3, 5, 18), title="Dumplings"))
    login(client, cast.lead)
    form = {"title": "Once", "starts_at": f"{YEAR}-03-05T19:00",
            "ends_at": f"{YEAR}-03-05T21:00", "venue_id": str(hall.id), "status": "published"}
    refused = client.post("/branches/chengdu/events/new", data=form)
    assert "already booked by “Dumplings”" in refused.text
    assert "Skip the clashing dates" not in refused.text
    skipped = client.post("/branches/chengdu/events/new",
                          data=form | {"skip_dates": f"{YEAR}-03-05"})
    assert skipped.status_code == 200
    assert "already booked by “Dumplings”" in skipped.text
    assert count(Event) == 1


def test_a_one_off_without_clash_saves_despite_skip_dates(client, cast, hall):
    made = client.post("/api/v1/branches/chengdu/events", headers=bearer(client, cast.lead),
                       json={"title": "Once", "starts_at": f"{YEAR}-07-01T10:00",
                             "ends_at": f"{YEAR}-07-01T12:00", "venue_id": hall.id,
                             "skip_dates": f"{YEAR}-07-01"})
    assert made.status_code == 201, made.json
    assert count(Event) == 1
