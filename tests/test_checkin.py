"""Check-in at the door: redeeming tickets, the scan log, nonces, undo, walk-ins, counters,
permissions, and the API and door-sync answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from branches.services import VenueInput, save_venue
from planner.checkin import services
from planner.checkin.events import CheckedIn
from planner.checkin.models import CheckinScan, ScanOutcome
from planner.checkin.present import attendee_json
from planner.core.domain_events import event_bus
from planner.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.core.unit_of_work import commit
from planner.events import services as events
from planner.events.models import EventStatus
from planner.registrations import services as registrations
from planner.registrations.models import Registration, RegistrationStatus
from tests.conftest import bearer, door_open, login

YEAR = datetime.now(UTC).year + 1
OK, ALREADY = ScanOutcome.OK, ScanOutcome.ALREADY_CHECKED_IN


def meetup(cast, seats: int = 3, title: str = "Tea tasting"):
    hall = save_venue(cast.lead, cast.branch, VenueInput(f"Hall {title}", "1 Road", seats))
    starts, ends = door_open(cast.branch)
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title=title, starts_local=starts, ends_local=ends,
        venue_id=hall.id, status=EventStatus.PUBLISHED))
    event.max_guests = 2
    db.session.commit()
    return event


@pytest.fixture
def event(cast):
    return meetup(cast)


@pytest.fixture
def guests(make_user):
    return [make_user(name) for name in ("王小明", "Alice Chen", "李雷", "韩梅梅")]


def scans_of(event) -> list[CheckinScan]:
    return list(db.session.scalars(select(CheckinScan).where(CheckinScan.event_id == event.id)
                                   .order_by(CheckinScan.id)))


def test_a_ticket_checks_in_once_and_the_second_scan_says_when_and_by_whom(cast, event, guests):
    ticket = registrations.rsvp(guests[0], event.id, guests=1)
    first = services.redeem(cast.staff, event.id, ticket_code=f"JH1:{ticket.ticket_code}")
    assert first.outcome is OK and first.registration.id == ticket.id
    assert ticket.checked_in_at is not None and ticket.checked_in_by_id == cast.staff.id
    second = services.redeem(cast.lead, event.id, ticket_code=ticket.ticket_code)
    assert second.outcome is ALREADY
    assert second.registration.checked_in_by_id == cast.staff.id
    assert [s.outcome for s in scans_of(event)] == [OK, ALREADY]


def test_refused_scans_are_logged_with_their_reason(cast, event, guests):
    other = meetup(cast, title="Other night")
    going = registrations.rsvp(guests[0], event.id)
    elsewhere = registrations.rsvp(guests[1], other.id)
    cancelled = registrations.rsvp(guests[2], event.id)
    registrations.cancel(guests[2], event.id)
    registrations.rsvp(guests[3], event.id, guests=1)  # with guests[0]: all 3 seats taken
    waiting = registrations.rsvp(cast.member, event.id)
    assert waiting.status is RegistrationStatus.WAITLISTED
    assert going.status is RegistrationStatus.GOING

    outcomes = [services.redeem(cast.staff, event.id, ticket_code=code).outcome for code in (
        "JH1:forged-code-123", elsewhere.ticket_code, cancelled.ticket_code)]
    outcomes.append(services.redeem(cast.staff, event.id, registration_id=waiting.id).outcome)
    assert outcomes == [ScanOutcome.UNKNOWN_TICKET, ScanOutcome.WRONG_EVENT,
                        ScanOutcome.CANCELLED, ScanOutcome.WAITLISTED]
    log = scans_of(event)
    assert [s.outcome for s in log] == outcomes
    assert log[0].scanned_code == "JH1:forged-code-123" and log[0].registration_id is None
    assert elsewhere.checked_in_at is None and cancelled.checked_in_at is None


def test_a_repeated_nonce_answers_as_the_first_time_and_logs_once(cast, event, guests):
    ticket = registrations.rsvp(guests[0], event.id)
    first = services.redeem(cast.staff, event.id, ticket_code=ticket.ticket_code, nonce="n-1")
    again = services.redeem(cast.staff, event.id, ticket_code=ticket.ticket_code, nonce="n-1")
    assert first.outcome is again.outcome is OK and first.scan.id == again.scan.id
    assert len(scans_of(event)) == 1


def test_a_nonce_belongs_to_its_meetup_and_never_replays_another_meetups_answer(cast, event,
                                                                              guests):
    other = meetup(cast, title="Other night")
    here, there = registrations.rsvp(guests[0], event.id), registrations.rsvp(guests[1], other.id)
    first = services.redeem(cast.staff, event.id, ticket_code=here.ticket_code, nonce="n-1")
    elsewhere = services.redeem(cast.staff, other.id, ticket_code=there.ticket_code, nonce="n-1")
    assert elsewhere.outcome is OK and elsewhere.registration.id == there.id
    assert elsewhere.scan.id != first.scan.id and there.checked_in_at is not None
    again = services.redeem(cast.staff, other.id, ticket_code=there.ticket_code, nonce="n-1")
    assert again.scan.id == elsewhere.scan.id
    assert services.redeem(cast.staff, event.id, registration_id=here.id,
                           nonce="n-1").scan.id == first.scan.id
    assert [s.registration_id for s in scans_of(event)] == [here.id]
    assert [s.registration_id for s in scans_of(other)] == [there.id]


def test_check_in_services_only_flush_and_the_edge_commits(cast, event, guests):
    ticket = registrations.rsvp(guests[0], event.id)
    db.session.commit()
    services.redeem(cast.staff, event.id, ticket_code=ticket.ticket_code, nonce="f-1")
    services.register_walk_in(cast.staff, event.id, services.WalkIn("Walk Wang"), nonce="f-2")
    db.session.rollback()
    assert scans_of(event) == [] and ticket.checked_in_at is None
    assert db.session.scalar(select(Registration.id).where(Registration.walk_in)) is None


def test_a_check_in_is_published_once_and_told_the_outside_after_the_commit(app, cast, event,
                                                                           guests):
    heard: list[CheckedIn] = []
    after_commit: list[CheckedIn] = []
    event_bus(app).subscribe(CheckedIn)(heard.append)
    event_bus(app).subscribe(CheckedIn, after_commit=True)(after_commit.append)
    ticket, cancelled = (registrations.rsvp(p, event.id) for p in guests[:2])
    registrations.cancel(guests[1], event.id)
    scanned = services.redeem(cast.staff, event.id, ticket_code=ticket.ticket_code, nonce="p-1")
    services.redeem(cast.staff, event.id, ticket_code=ticket.ticket_code, nonce="p-1")
    services.redeem(cast.lead, event.id, ticket_code=ticket.ticket_code)
    services.redeem(cast.staff, event.id, ticket_code=cancelled.ticket_code)
    walked = services.register_walk_in(cast.staff, event.id, services.WalkIn("Walk Wang"),
                                       nonce="p-2")
    services.register_walk_in(cast.staff, event.id, services.WalkIn("Walk Wang"), nonce="p-2")
    assert heard == [CheckedIn(ticket.id, event.id, scanned.scan.id),
                     CheckedIn(walked.registration.id, event.id, walked.scan.id)]
    assert after_commit == []
    commit()
    assert after_commit == heard


def test_an_offline_scan_keeps_the_door_time_but_not_a_time_in_the_future(cast, event, guests):
    first, second = (registrations.rsvp(p, event.id) for p in guests[:2])
    earlier = utcnow() - timedelta(minutes=7)
    services.redeem(cast.staff, event.id, ticket_code=first.ticket_code, scanned_at=earlier)
    assert abs(first.checked_in_at - earlier) < timedelta(seconds=1)
    services.redeem(cast.staff, event.id, ticket_code=second.ticket_code,
                    scanned_at=utcnow() + timedelta(days=1))
    assert abs(second.checked_in_at - utcnow()) < timedelta(minutes=1)
    with pytest.raises(InvalidInput) as raised:
        services.redeem(cast.staff, event.id, ticket_code=first.ticket_code,
                        scanned_at=datetime(YEAR, 6, 1, 19, 5))
    assert "scanned_at" in raised.value.fields


def test_undo_takes_a_check_in_back_and_the_log_keeps_both(cast, event, guests):
    ticket = registrations.rsvp(guests[0], event.id)
    services.redeem(cast.staff, event.id, ticket_code=ticket.ticket_code)
    undone = services.undo(cast.staff, event.id, ticket.id)
    assert undone.outcome is ScanOutcome.UNDONE and ticket.checked_in_at is None
    with pytest.raises(Conflict):
        services.undo(cast.staff, event.id, ticket.id)
    assert services.redeem(cast.staff, event.id, ticket_code=ticket.ticket_code).outcome is OK
    assert [s.outcome for s in scans_of(event)] == [OK, ScanOutcome.UNDONE, OK]


def test_walk_ins_are_checked_in_and_respect_capacity_unless_allowed(cast, event, guests):
    registrations.rsvp(guests[0], event.id, guests=1)  # 2 of 3 seats
    walk_in = services.register_walk_in(cast.staff, event.id, services.WalkIn(
        "张伟", "138 0013 8000", source="成都读书群"), nonce="walk-1")
    person = walk_in.registration
    assert walk_in.outcome is OK and person.walk_in and person.user_id is None
    assert (person.name, person.phone, person.source) == ("张伟", "138 0013 8000", "成都读书群")
    assert person.status is RegistrationStatus.GOING and person.checked_in_at is not None
    again = services.register_walk_in(cast.staff, event.id, services.WalkIn("张伟"),
                                      nonce="walk-1")
    assert again.registration.id == person.id
    with pytest.raises(Conflict) as full:
        services.register_walk_in(cast.staff, event.id, services.WalkIn("Late Larry"))
    assert full.value.extra == {"reason": "full"}
    event.walk_ins_over_capacity = True
    db.session.commit()
    over = services.register_walk_in(cast.staff, event.id, services.WalkIn("Late Larry"))
    assert over.outcome is OK
    counts = services.door_counts(event)
    assert (counts.checked_in, counts.expected) == (2, 4)
    assert (counts.checked_in_parties, counts.expected_parties) == (2, 3)


def test_a_walk_in_party_needs_a_seat_for_each_guest(cast, event, guests):
    registrations.rsvp(guests[0], event.id)  # 1 of 3 seats: 2 left
    with pytest.raises(Conflict) as full:  # with a nonce too: the refusal is not a replay
        services.register_walk_in(cast.staff, event.id, services.WalkIn("张伟", guests=2),
                                  nonce="walk-2")
    assert full.value.extra == {"reason": "full"}
    pair = services.register_walk_in(cast.staff, event.id, services.WalkIn("张伟", guests=1))
    assert pair.outcome is OK and pair.registration.guests == 1
    assert registrations.seats(event).left == 0


@pytest.mark.parametrize(("walk_in", "fields"), [
    (services.WalkIn("  "), {"name": ["Enter the person's name."]}),
    (services.WalkIn("x" * 81), {"name": ["At most 80 characters."]}),
    (services.WalkIn("Wu", guests=21), {"guests": ["Between 0 and 20 guests."]}),
    (services.WalkIn("Wu", guests=-1), {"guests": ["Between 0 and 20 guests."]}),
    (services.WalkIn("", guests=21), {"name": ["Enter the person's name."],
                                      "guests": ["Between 0 and 20 guests."]})])
def test_bad_walk_ins_name_the_field_and_save_nothing(cast, event, walk_in, fields):
    with pytest.raises(InvalidInput) as raised:
        services.register_walk_in(cast.staff, event.id, walk_in)
    assert raised.value.fields == fields
    assert db.session.scalar(select(Registration.id).where(Registration.walk_in)) is None


def test_a_walk_in_is_stored_as_the_door_typed_it(cast, guests):
    event = meetup(cast, seats=30)
    when = utcnow().replace(microsecond=0) - timedelta(minutes=3)
    longest = services.register_walk_in(cast.staff, event.id, services.WalkIn(
        " " + "名" * 80 + " ", phone="", guests=20, source="s" * 70), door="North " + "x" * 40,
        scanned_at=when).registration
    assert (longest.attendee_name, longest.attendee_phone, longest.guests) == (
        "名" * 80, None, 20)
    assert (longest.source, longest.walk_in, longest.status) == (
        "s" * 64, True, RegistrationStatus.GOING)
    assert (longest.added_by_id, longest.checked_in_by_id) == (cast.staff.id, cast.staff.id)
    assert longest.queued_at == longest.checked_in_at == when
    assert longest.ticket_code and longest.user_id is None
    plain = services.register_walk_in(cast.lead, event.id, services.WalkIn("Wu")).registration
    assert plain.source == "walk-in" and plain.guests == 0
    [first_scan, plain_scan] = scans_of(event)
    assert plain_scan.door == ""
    assert (first_scan.door, first_scan.scanned_by_id, first_scan.scanned_at) == (
        ("North " + "x" * 40)[:40], cast.staff.id, when)
    assert first_scan.registration_id == longest.id and first_scan.outcome is OK
    with pytest.raises(Conflict) as full:
        services.register_walk_in(cast.staff, meetup(cast, seats=1, title="Tiny").id,
                                  services.WalkIn("Wu", guests=1))
    assert full.value.message == "The meetup is full. A lead can let walk-ins in over capacity."


def test_what_a_scan_needs_and_who_may_scan(cast, event, guests):
    with pytest.raises(InvalidInput) as nothing:
        services.redeem(cast.staff, event.id)
    assert nothing.value.fields == {"ticket_code": ["Scan a ticket or pick a name."]}
    with pytest.raises(InvalidInput) as naive:
        services.redeem(cast.staff, event.id, ticket_code="x", scanned_at=datetime(YEAR, 6, 1))
    assert naive.value.fields == {"scanned_at": [
        "Give the time with its offset, e.g. 2027-03-05T19:02:00+08:00."]}
    with pytest.raises(NotAllowed) as outsider:
        services.redeem(cast.member, event.id, ticket_code="x")
    assert outsider.value.message == (
        "Only door staff and leads of this branch can check people in.")
    with pytest.raises(NotFound) as missing:
        services.redeem(cast.staff, 999999, ticket_code="x")
    assert missing.value.message == "No such meetup."
    unknown = services.redeem(cast.staff, event.id, ticket_code="y" * 70, nonce="", door="")
    assert (unknown.scan.scanned_code, unknown.scan.nonce) == ("y" * 64, None)


def test_a_scan_from_a_clock_a_little_ahead_keeps_its_time(cast, event, guests):
    ticket = registrations.rsvp(guests[0], event.id)
    ahead = utcnow().replace(microsecond=0) + timedelta(minutes=4)  # within the 5 min skew
    services.redeem(cast.staff, event.id, ticket_code=ticket.ticket_code, scanned_at=ahead)
    assert ticket.checked_in_at == ahead


def test_only_a_check_in_of_this_meetup_can_be_undone(cast, event, guests):
    here = registrations.rsvp(guests[0], event.id)
    there = registrations.rsvp(guests[1], meetup(cast, title="Other night").id)
    for registration_id in (there.id, 999999):
        with pytest.raises(NotFound) as raised:
            services.undo(cast.staff, event.id, registration_id)
        assert raised.value.message == "No such RSVP."
    with pytest.raises(Conflict) as raised:
        services.undo(cast.staff, event.id, here.id)
    assert raised.value.message == "This person is not checked in."
    services.redeem(cast.staff, event.id, registration_id=here.id)
    undone = services.undo(cast.lead, event.id, here.id, nonce="u-1", door="South")
    assert (here.checked_in_at, here.checked_in_by_id) == (None, None)
    assert (undone.scan.door, undone.scan.nonce, undone.scan.scanned_by_id) == (
        "South", "u-1", cast.lead.id)
    assert undone.registration.id == undone.scan.registration_id == here.id
    assert services.undo(cast.lead, event.id, here.id, nonce="u-1").scan.id == undone.scan.id
    services.redeem(cast.staff, event.id, registration_id=here.id)
    assert services.undo(cast.staff, event.id, here.id).scan.door == ""


def test_only_door_staff_and_leads_of_the_branch_check_in(cast, event, guests):
    ticket = registrations.rsvp(guests[0], event.id)
    for outsider in (cast.member, cast.outsider, cast.other_lead):
        with pytest.raises(NotAllowed):
            services.redeem(outsider, event.id, ticket_code=ticket.ticket_code)
    assert scans_of(event) == [] and ticket.checked_in_at is None
    assert services.redeem(cast.admin, event.id, ticket_code=ticket.ticket_code).outcome is OK


def test_what_the_door_keeps_offline_is_only_what_it_needs(cast, event, guests):
    guests[0].phone = "+86 138 0013 8000"
    ticket = registrations.rsvp(guests[0], event.id, guests=2)
    kept = attendee_json(ticket)
    assert kept["name"] == "王小明" and kept["search"] == "王小明 wangxiaoming wxm"
    assert kept["phone_last4"] == "8000" and kept["guests"] == 2
    assert ticket.ticket_code not in str(kept) and len(kept["ticket"]) == 64
    assert "email" not in kept and guests[0].email not in str(kept)


# --- over HTTP ---------------------------------------------------------------------------

def test_api_answers_as_api_md_says(client, cast, event, guests):
    ticket, cancelled = (registrations.rsvp(p, event.id) for p in guests[:2])
    registrations.cancel(guests[1], event.id)
    code, cancelled_code, event_id = ticket.ticket_code, cancelled.ticket_code, event.id
    headers = bearer(client, cast.staff)
    url = f"/api/v1/events/{event_id}/checkins"

    created = client.post(url, json={"ticket_code": code, "nonce": "a1"}, headers=headers)
    assert created.status_code == 201 and created.json["status"] == "ok"
    assert created.json["name"] == "王小明"
    repeated = client.post(url, json={"ticket_code": code, "nonce": "a1"}, headers=headers)
    assert repeated.status_code == 201 and repeated.json == created.json
    already = client.post(url, json={"ticket_code": code}, headers=headers)
    assert already.status_code == 200 and already.json["status"] == "already_checked_in"
    assert already.json["checked_in_at"] == created.json["checked_in_at"]
    assert "Staff Sun" in already.json["message"]
    unknown = client.post(url, json={"ticket_code": "nope-nope"}, headers=headers)
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "unknown_ticket"
    refused = client.post(url, json={"ticket_code": cancelled_code}, headers=headers)
    assert refused.status_code == 409 and refused.json["reason"] == "cancelled"
    empty = client.post(url, json={}, headers=headers)
    assert empty.status_code == 422 and "ticket_code" in empty.json["error"]["fields"]
    member = client.post(url, json={"ticket_code": code}, headers=bearer(client, cast.member))
    assert member.status_code == 403
    assert len(scans_of(event)) == 4  # the repeat, the invalid and the forbidden left none


def test_door_sync_applies_a_batch_in_order_and_a_resent_batch_changes_nothing(client, cast,
                                                                              event, guests):
    first, second = (registrations.rsvp(p, event.id) for p in guests[:2])
    batch = {"door": "North", "actions": [
        {"type": "scan", "nonce": "d-1", "ticket_code": f"JH1:{first.ticket_code}",
         "scanned_at": (utcnow() - timedelta(minutes=9)).isoformat()},
        {"type": "scan", "nonce": "d-2", "ticket_code": first.ticket_code},
        {"type": "walk_in", "nonce": "d-3", "name": "Walk Wang", "source": "poster"},
        {"type": "scan", "nonce": "d-4", "registration_id": second.id},
        {"type": "undo", "nonce": "d-5", "registration_id": second.id},
        {"type": "walk_in", "nonce": "d-6", "name": ""},
        "not an action"]}
    event_id = event.id
    login(client, cast.staff)
    answer = client.post(f"/events/{event_id}/door/sync", json=batch)
    assert answer.status_code == 200
    statuses = [r["status"] for r in answer.json["results"]]
    assert statuses == ["ok", "already_checked_in", "ok", "ok", "undone", "error", "invalid"]
    assert answer.json["results"][5]["fields"] == {"name": ["This field is required."]}
    assert answer.json["counts"] == {"checked_in": 2, "expected": 3, "checked_in_parties": 2,
                                     "expected_parties": 3}
    resent = client.post(f"/events/{event_id}/door/sync", json=batch)
    assert [r["status"] for r in resent.json["results"]] == statuses
    assert resent.json["counts"] == answer.json["counts"]
    log = scans_of(event)
    assert len(log) == 5 and {s.door for s in log} == {"North"}


@pytest.mark.parametrize("first_to_sync", ["earlier", "later"])
def test_offline_doors_keep_the_earliest_scan_whichever_syncs_first(app, client, cast, event,
                                                                   guests, first_to_sync):
    """Two offline doors scanned one ticket, 10 minutes apart; whichever finds a network first,
    the check-in says when the person really came in, and at which door's hands."""
    ticket = registrations.rsvp(guests[0], event.id)
    earlier = utcnow().replace(microsecond=0) - timedelta(minutes=20)
    code, event_id = ticket.ticket_code, event.id
    south = app.test_client()
    login(client, cast.staff)
    login(south, cast.lead)
    doors = {"earlier": (client, "North", earlier, "Staff Sun"),
             "later": (south, "South", earlier + timedelta(minutes=10), "Lead Li")}
    order = [first_to_sync, "later" if first_to_sync == "earlier" else "earlier"]
    answers = []
    for which in order:
        door, name, scanned_at, _who = doors[which]
        answers.append(door.post(f"/events/{event_id}/door/sync", json={"door": name, "actions": [
            {"type": "scan", "nonce": f"{name}-1", "ticket_code": code,
             "scanned_at": scanned_at.isoformat()}]}).json["results"][0])
    assert [a["status"] for a in answers] == ["ok", "already_checked_in"]
    assert answers[1]["checked_in_at"] == earlier.isoformat()
    assert answers[1]["checked_in_by"] == "Staff Sun"
    db.session.expire_all()
    assert ticket.checked_in_at == earlier and ticket.checked_in_by_id == cast.staff.id
    assert sorted(s.door for s in scans_of(event)) == ["North", "South"]


def test_a_lead_correcting_the_list_keeps_the_earliest_time_too(cast, event, guests):
    ticket = registrations.rsvp(guests[0], event.id)
    now = utcnow()
    services.redeem(cast.staff, event.id, ticket_code=ticket.ticket_code, scanned_at=now)
    earlier = now - timedelta(minutes=30)
    late = services.redeem(cast.lead, event.id, registration_id=ticket.id, scanned_at=earlier)
    assert late.outcome is ALREADY and ticket.checked_in_at == earlier
    services.redeem(cast.staff, event.id, ticket_code=ticket.ticket_code,
                    scanned_at=now - timedelta(days=3))  # before the door opened: no say
    assert ticket.checked_in_at == earlier


def test_the_api_documents_the_nonce_of_scans_undos_and_walk_ins(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("checkins", "checkins/undo", "walk-ins"):
        body = paths[f"/api/v1/events/{{event_id}}/{path}"]["post"]["requestBody"]
        nonce = body["content"]["application/json"]["schema"]["properties"]["nonce"]
        assert "the action happens once" in nonce["description"]


def test_door_roster_lists_changes_since_a_moment(client, cast, event, guests):
    first, second = (registrations.rsvp(p, event.id) for p in guests[:2])
    event_id, first_id = event.id, first.id
    login(client, cast.staff)
    full = client.get(f"/events/{event_id}/door/roster.json")
    assert full.json["complete"] and [a["id"] for a in full.json["attendees"]] == [
        first_id, second.id]
    since = full.json["server_time"]
    services.redeem(cast.lead, event_id, registration_id=first_id)
    changed = client.get(f"/events/{event_id}/door/roster.json", query_string={"since": since})
    [only] = changed.json["attendees"]
    assert only["id"] == first_id and only["checked_in_by"] == "Lead Li"
    assert changed.json["counts"]["checked_in"] == 1
    assert client.get(f"/events/{event_id}/door/roster.json?since=yesterday").status_code == 422


def test_changes_since_include_that_instant_and_the_roster_keeps_rsvp_order(cast, event,
                                                                             guests):
    first, second = (registrations.rsvp(p, event.id) for p in guests[:2])
    db.session.commit()
    assert first.updated_at < second.updated_at
    assert services.attendees(cast.staff, event, second.updated_at) == [second]
    assert services.attendees(cast.staff, event, second.updated_at + timedelta(
        microseconds=1)) == []
    services.redeem(cast.staff, event.id, registration_id=first.id)  # rewrites first's row
    db.session.commit()
    assert services.attendees(cast.staff, event) == [first, second]


def test_the_roster_is_this_meetups_people_but_not_the_declined(client, cast, event, guests):
    registrations.rsvp(guests[3], meetup(cast, title="Other night").id)
    event.requires_approval = True
    db.session.commit()
    asked = [registrations.rsvp(person, event.id) for person in guests[:3]]
    registrations.review(cast.lead, asked[0].id, approve=True)
    registrations.review(cast.lead, asked[1].id, approve=False)
    event_id, expected = event.id, [(asked[0].id, "going"), (asked[2].id, "pending")]
    login(client, cast.staff)
    roster = client.get(f"/events/{event_id}/door/roster.json").json
    assert [(a["id"], a["status"]) for a in roster["attendees"]] == expected
    assert roster["counts"] == {"checked_in": 0, "expected": 1, "checked_in_parties": 0,
                                "expected_parties": 1}


def test_nobody_at_the_door_counts_zero(cast):
    assert services.door_counts(meetup(cast, title="Empty")) == services.DoorCounts(0, 0, 0, 0)


@pytest.mark.parametrize("who", ["member", "outsider", "other_lead"])
def test_door_pages_are_for_staff_and_leads_only(client, cast, event, who):
    event_id = event.id
    login(client, getattr(cast, who))
    for path in (f"/events/{event_id}/door/roster.json",):
        assert client.get(path).status_code == 403
    assert client.post(f"/events/{event_id}/door/sync", json={"actions": []}).status_code == 403


def held_at(event, starts_in: timedelta) -> None:
    """Move the meetup (two hours long) to start `starts_in` from now."""
    event.starts_at = utcnow().replace(microsecond=0) + starts_in
    event.ends_at = event.starts_at + timedelta(hours=2)
    db.session.commit()


@pytest.mark.parametrize(("starts_in", "outcome"), [
    (timedelta(hours=3, minutes=1), ScanOutcome.TOO_EARLY),  # opens 3 h before the start
    (timedelta(hours=2, minutes=59), OK),
    (-timedelta(hours=8, minutes=1), ScanOutcome.TOO_LATE),  # closes 6 h after the end
    (-timedelta(hours=7, minutes=59), OK)])
def test_the_door_takes_scans_only_while_it_is_open(client, cast, event, guests, starts_in,
                                                     outcome):
    ticket = registrations.rsvp(guests[0], event.id)
    held_at(event, starts_in)
    response = client.post(f"/api/v1/events/{event.id}/checkins",
                           headers=bearer(client, cast.staff),
                           json={"ticket_code": ticket.ticket_code, "nonce": "door-1"})
    db.session.expire_all()
    assert [s.outcome for s in scans_of(event)] == [outcome]
    if outcome is OK:
        assert response.status_code == 201 and ticket.checked_in_at is not None
    else:
        assert response.status_code == 409 and response.json["reason"] == str(outcome)
        assert ticket.checked_in_at is None


def test_the_door_window_follows_the_configuration(app, monkeypatch, cast, event, guests):
    monkeypatch.setitem(app.config, "CHECKIN_OPENS_BEFORE", 0.5)
    monkeypatch.setitem(app.config, "CHECKIN_CLOSES_AFTER", 0.5)
    ticket = registrations.rsvp(guests[0], event.id)
    held_at(event, timedelta(hours=1))
    assert services.redeem(cast.staff, event.id, ticket_code=ticket.ticket_code
                           ).outcome is ScanOutcome.TOO_EARLY
    held_at(event, -timedelta(hours=2, minutes=31))
    assert services.redeem(cast.staff, event.id, ticket_code=ticket.ticket_code
                           ).outcome is ScanOutcome.TOO_LATE


def test_the_door_page_is_refused_too_but_a_lead_may_correct_the_list(client, cast, event,
                                                                       guests):
    early, late = (registrations.rsvp(p, event.id) for p in guests[:2])
    held_at(event, timedelta(days=21))
    login(client, cast.staff)
    answer = client.post(f"/events/{event.id}/door/sync", json={"actions": [
        {"ticket_code": early.ticket_code, "nonce": "n-early"}]}).json["results"][0]
    assert answer["status"] == "refused" and answer["reason"] == "too_early"
    staff_pick = services.redeem(cast.staff, event.id, registration_id=early.id)
    assert staff_pick.outcome is ScanOutcome.TOO_EARLY
    assert services.redeem(cast.lead, event.id, registration_id=early.id).outcome is OK
    held_at(event, -timedelta(days=2))
    assert services.redeem(cast.lead, event.id, ticket_code=late.ticket_code
                           ).outcome is ScanOutcome.TOO_LATE
    assert services.redeem(cast.lead, event.id, registration_id=late.id).outcome is OK
    assert services.undo(cast.lead, event.id, late.id).outcome is ScanOutcome.UNDONE
