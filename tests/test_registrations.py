"""RSVP rules: seats, guests, the waitlist, approval, no-shows, tickets, pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from branches.models import Role
from branches.services import VenueInput, remove_member, save_venue, set_role
from planner.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events import services as events
from planner.events.models import EventStatus
from planner.registrations import services
from planner.registrations.models import ApprovalReason, RegistrationStatus
from planner.registrations.waitlist import waitlist_position
from tests.conftest import login

NEXT_YEAR = datetime.now(UTC).year + 1
GOING, WAITLISTED = RegistrationStatus.GOING, RegistrationStatus.WAITLISTED


@pytest.fixture
def meetup(cast):
    """A published meetup next year with 4 seats and up to 2 guests each."""
    hall = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 4))
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Dumplings", starts_local=datetime(NEXT_YEAR, 5, 1, 19),
        ends_local=datetime(NEXT_YEAR, 5, 1, 21), venue_id=hall.id,
        status=EventStatus.PUBLISHED))
    event.max_guests = 2
    db.session.commit()
    return event


@pytest.fixture
def people(make_user):
    return [make_user(f"Person {n}") for n in range(8)]


def test_rsvp_gets_a_ticket_and_repeating_returns_the_same(meetup, people):
    first = services.rsvp(people[0], meetup.id)
    again = services.rsvp(people[0], meetup.id, guests=2)
    assert first.id == again.id and again.guests == 0
    assert first.status is GOING and len(first.ticket_code) >= 20


def test_full_meetup_waitlists_in_order_and_guests_take_seats(meetup, people):
    services.rsvp(people[0], meetup.id, guests=2)  # 3 seats
    services.rsvp(people[1], meetup.id)  # 4th seat
    waiting = [services.rsvp(p, meetup.id) for p in people[2:5]]
    assert [r.status for r in waiting] == [WAITLISTED] * 3
    assert [waitlist_position(r) for r in waiting] == [1, 2, 3]
    assert services.seats(meetup).left == 0


def test_cancel_promotes_in_order_and_skips_a_party_that_does_not_fit(meetup, people):
    services.rsvp(people[0], meetup.id)
    services.rsvp(people[1], meetup.id, guests=2)
    big = services.rsvp(people[2], meetup.id, guests=2)  # needs 3, waits first
    small = services.rsvp(people[3], meetup.id)  # needs 1, waits second
    services.cancel(people[0], meetup.id)  # frees 1 seat: the big party does not fit
    db.session.refresh(big), db.session.refresh(small)
    assert (big.status, small.status) == (WAITLISTED, GOING)
    assert waitlist_position(big) == 1  # kept its place
    services.cancel(people[1], meetup.id)  # frees 3 seats
    db.session.refresh(big)
    assert big.status is GOING


def test_promotion_counts_a_party_with_its_guests(meetup, people):
    services.rsvp(people[0], meetup.id, guests=1)  # 2 seats
    services.rsvp(people[1], meetup.id, guests=1)  # 2 seats: full
    party_of_three = services.rsvp(people[2], meetup.id, guests=2)
    services.cancel(people[0], meetup.id)  # 2 seats free: too few for a party of 3
    db.session.refresh(party_of_three)
    assert party_of_three.status is WAITLISTED
    assert services.seats(meetup).left == 2


def test_promotion_fills_freed_seats_party_by_party(meetup, people):
    services.rsvp(people[0], meetup.id, guests=2)  # 3 seats
    services.rsvp(people[1], meetup.id)  # 1 seat: full
    pairs = [services.rsvp(p, meetup.id, guests=1) for p in people[2:4]]
    services.cancel(people[0], meetup.id)  # 3 seats free: one pair fits, not two
    for pair in pairs:
        db.session.refresh(pair)
    assert [p.status for p in pairs] == [GOING, WAITLISTED]
    assert services.seats(meetup).going == 3


def test_capacity_raise_promotes_and_lowering_removes_nobody(cast, meetup, people):
    for person in people[:6]:
        services.rsvp(person, meetup.id)
    promoted = services.set_capacity(cast.lead, meetup.id, 5)
    assert [r.user_id for r in promoted] == [people[4].id]
    services.set_capacity(cast.lead, meetup.id, 2)
    assert services.seats(meetup).going == 5
    with pytest.raises(NotAllowed) as refused:
        services.set_capacity(cast.member, meetup.id, 10)
    assert refused.value.message == "Only leads of this branch manage its RSVPs."
    with pytest.raises(InvalidInput) as invalid:
        services.set_capacity(cast.lead, meetup.id, 0)
    assert invalid.value.fields == {"capacity": ["Capacity must be at least 1."]}
    services.set_capacity(cast.lead, meetup.id, 1)
    assert meetup.capacity == 1


@pytest.mark.parametrize(("guests", "message"), [
    (3, "You can bring at most 2 guest(s) to this meetup."), (-1, "Guests cannot be negative.")])
def test_bad_guest_numbers(meetup, people, guests, message):
    with pytest.raises(InvalidInput) as raised:
        services.rsvp(people[0], meetup.id, guests=guests)
    assert raised.value.fields == {"guests": [message]}
    assert services.registration_of(people[0], meetup) is None
    assert services.rsvp(people[0], meetup.id, guests=2).guests == 2  # the most is fine


def _refusal(person, event_id: int) -> tuple[str, str]:
    with pytest.raises(services.RsvpRefused) as raised:
        services.rsvp(person, event_id)
    return raised.value.message, raised.value.extra["reason"]


def test_refusals(cast, meetup, people):
    draft = events.duplicate_event(cast.lead, meetup)
    # The lead sees the draft, but it is not open; to members a draft does not exist.
    assert _refusal(cast.lead, draft.id) == ("This meetup is not open for RSVPs yet.", "draft")
    with pytest.raises(NotFound) as hidden:
        services.rsvp(people[0], draft.id)
    assert hidden.value.message == "No such meetup."
    meetup.rsvp_opens_at = utcnow() + timedelta(days=1)
    db.session.commit()
    assert _refusal(people[0], meetup.id) == ("RSVPs have not opened yet.", "not_open")
    meetup.rsvp_opens_at, meetup.rsvp_closes_at = None, utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert _refusal(people[0], meetup.id) == ("RSVPs are closed.", "closed")
    meetup.rsvp_opens_at = utcnow() - timedelta(days=1)
    meetup.rsvp_closes_at = utcnow() + timedelta(days=1)
    db.session.commit()
    assert services.rsvp(people[1], meetup.id).status is GOING  # inside the window
    remove_member(cast.lead, cast.branch, cast.member.id, "spam", ban=True)
    assert _refusal(cast.member, meetup.id) == ("You were removed from this branch.", "banned")
    events.cancel_event(cast.lead, meetup, "Rain")
    assert _refusal(people[0], meetup.id) == ("This meetup is cancelled.", "cancelled")
    with pytest.raises(NotFound) as missing:
        services.rsvp(people[0], 999999)
    assert missing.value.message == "No such meetup."


def test_past_meetup_is_refused(meetup, people):
    services.rsvp(people[1], meetup.id)
    meetup.starts_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    assert _refusal(people[0], meetup.id) == ("This meetup has already started.", "past")
    with pytest.raises(services.RsvpRefused) as raised:
        services.cancel(people[1], meetup.id)
    assert (raised.value.message, raised.value.extra) == (
        "This meetup has already started.", {"reason": "past"})
    meetup.ends_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert _refusal(people[0], meetup.id) == ("This meetup is over.", "past")


def test_approval_flow(cast, meetup, people):
    meetup.requires_approval = True
    db.session.commit()
    asked = services.rsvp(people[0], meetup.id)
    assert asked.status is RegistrationStatus.PENDING
    assert asked.approval_reason is ApprovalReason.MEETUP_REQUIRES_APPROVAL
    approved = services.review(cast.lead, asked.id, approve=True)
    assert (approved.status, approved.decision_message) == (GOING, "")
    other = services.rsvp(people[1], meetup.id)
    declined = services.review(cast.lead, other.id, approve=False, message="Full of regulars")
    assert (declined.status, declined.decision_message) == (
        RegistrationStatus.DECLINED, "Full of regulars")
    with pytest.raises(NotAllowed):
        services.review(cast.staff, services.rsvp(people[2], meetup.id).id, approve=True)


def test_a_decision_is_made_once_on_an_rsvp_that_waits(cast, meetup, people):
    going = services.rsvp(people[0], meetup.id)  # no approval needed: nothing to decide
    with pytest.raises(Conflict) as raised:
        services.review(cast.lead, going.id, approve=True)
    assert raised.value.message == "This RSVP is not waiting for approval."
    meetup.requires_approval = True
    db.session.commit()
    asked = services.rsvp(people[1], meetup.id)
    declined = services.review(cast.lead, asked.id, approve=False, message=" No " + "x" * 600)
    assert declined.decision_message == "No " + "x" * 497  # stripped, then 500 at most
    assert services.review(cast.lead, asked.id, approve=False).decision_message == (
        declined.decision_message)  # the same decision again changes nothing
    with pytest.raises(Conflict):
        services.review(cast.lead, asked.id, approve=True)
    with pytest.raises(NotFound) as missing:
        services.review(cast.lead, 999999, approve=True)
    assert missing.value.message == "No such RSVP."


def test_rsvping_again_after_cancelling_starts_afresh_but_keeps_its_source(cast, meetup, people):
    meetup.requires_approval = True
    db.session.commit()
    first = services.rsvp(people[0], meetup.id)
    first.source = "wechat-group"  # as the funnel credits an invite link
    services.review(cast.lead, first.id, approve=True, message="Welcome")
    services.cancel(people[0], meetup.id)
    with pytest.raises(NotFound) as raised:
        services.cancel(people[0], meetup.id)
    assert raised.value.message == "You have no RSVP for this meetup."
    again = services.rsvp_answer(people[0], meetup.id, guests=1)
    assert (again.repeated, again.registration.id) == (False, first.id)
    assert (first.status, first.guests, first.source, first.decision_message) == (
        RegistrationStatus.PENDING, 1, "wechat-group", "")
    assert (first.cancelled_at, first.ticket_code) == (None, None)
    repeated = services.rsvp_answer(people[0], meetup.id, guests=2)
    assert (repeated.repeated, repeated.registration.guests) == (True, 1)


def _miss_past_meetups(cast, member, days, *, elsewhere: bool = False) -> list:
    """The member RSVPs to a meetup of the branch (of the other branch when `elsewhere`) on each
    day; each then ends without a check-in. Their RSVPs, in the order of the days."""
    lead, branch = (cast.other_lead, cast.other_branch) if elsewhere else (cast.lead, cast.branch)
    missed = []
    for day in days:
        [past] = events.schedule(lead, branch, events.EventInput(
            title=f"Past {day}", starts_local=datetime(NEXT_YEAR, 1, day, 19),
            ends_local=datetime(NEXT_YEAR, 1, day, 21), online_url="https://meet.example/x",
            status=EventStatus.PUBLISHED))
        missed.append(services.rsvp(member, past.id))
        past.starts_at -= timedelta(days=800)
        past.ends_at -= timedelta(days=800)
        db.session.commit()
    return missed


def test_no_shows_count_only_the_window_of_latest_meetups(cast, people):
    cast.branch.no_show_window = 2
    db.session.commit()
    _miss_past_meetups(cast, people[0], (1, 2, 3))
    assert services.no_shows(people[0], cast.branch) == 2


def test_no_shows_are_ended_uncancelled_meetups_the_member_was_going_to(cast, meetup, people):
    counted, cancelled_meetup, cancelled_rsvp = _miss_past_meetups(cast, people[0], (1, 2, 3))
    cancelled_meetup.event.status = EventStatus.CANCELLED
    cancelled_rsvp.status = RegistrationStatus.CANCELLED
    services.rsvp(people[0], meetup.id)  # going, not checked in, but still ahead
    db.session.commit()
    assert services.no_shows(people[0], cast.branch) == 1 and counted.checked_in_at is None


def test_no_shows_look_at_the_latest_meetups_first(cast, people):
    cast.branch.no_show_window = 2
    _missed, *attended = _miss_past_meetups(cast, people[0], (1, 2, 3))
    for registration in attended:
        registration.checked_in_at = registration.event.ends_at
    db.session.commit()
    assert services.no_shows(people[0], cast.branch) == 0


def test_no_shows_elsewhere_do_not_count_in_the_branch(cast, people):
    _miss_past_meetups(cast, people[0], (1, 2), elsewhere=True)
    _miss_past_meetups(cast, people[0], (3,))
    assert services.no_shows(people[0], cast.branch) == 1
    assert services.no_shows(people[0], cast.other_branch) == 2


def test_no_show_policy_requires_approval(cast, meetup, people):
    cast.branch.no_show_limit, cast.branch.no_show_window = 2, 3
    db.session.commit()
    _miss_past_meetups(cast, people[0], (1, 2))
    assert services.no_shows(people[0], cast.branch) == 2
    registration = services.rsvp(people[0], meetup.id)
    assert registration.status is RegistrationStatus.PENDING
    assert registration.approval_reason is ApprovalReason.NO_SHOWS
    assert services.rsvp(people[1], meetup.id).status is GOING


def test_cancelled_ticket_is_invalid_and_a_new_rsvp_gets_a_new_one(client, meetup, people):
    first = services.rsvp(people[0], meetup.id)
    old_code = first.ticket_code
    assert "Dumplings" in client.get(f"/tickets/{old_code}").text
    services.cancel(people[0], meetup.id)
    again = services.rsvp(people[0], meetup.id)
    assert again.id == first.id and again.ticket_code != old_code
    assert client.get(f"/tickets/{old_code}").status_code == 404
    forged = client.get("/tickets/forged-code-123")
    assert forged.status_code == 404 and "<p>Unknown ticket.</p>" in forged.text
    qr = client.get(f"/tickets/{again.ticket_code}/qr.svg")
    assert qr.mimetype == "image/svg+xml" and b"<svg" in qr.data


def test_rsvp_page_flow_and_my_meetups(client, meetup, people):
    login(client, people[0])
    too_many = client.post(f"/events/{meetup.id}/rsvp", data={"guests": "3"},
                           follow_redirects=True)
    assert "You can bring at most 2 guest(s) to this meetup." in too_many.text
    client.post(f"/events/{meetup.id}/rsvp", data={"guests": "1"})
    page = client.get(f"/events/{meetup.id}")
    assert "Show my ticket" in page.text
    assert "2 of 4 seats left" in page.text
    mine = client.get("/me/meetups")
    assert "Dumplings" in mine.text and "Going" in mine.text
    client.post(f"/events/{meetup.id}/rsvp/cancel")
    assert "Cancelled" in client.get("/me/meetups").text


def test_leads_list_and_add_by_hand(client, cast, meetup, people):
    services.rsvp(people[0], meetup.id)
    login(client, cast.lead)
    client.post(f"/events/{meetup.id}/registrations/add",
                data={"email": people[1].email, "guests": "1"})
    page = client.get(f"/events/{meetup.id}/registrations")
    assert "Person 0" in page.text and "Person 1" in page.text and "Added by a lead" in page.text
    client.post("/logout")
    login(client, cast.member)
    assert client.get(f"/events/{meetup.id}/registrations").status_code == 403


def test_sources_written_by_the_site_read_as_words_in_chinese(client, cast, meetup, people):
    services.add_by_hand(cast.lead, meetup.id, people[1].email)
    cast.lead.locale = "zh_CN"
    login(client, cast.lead)
    page = client.get(f"/events/{meetup.id}/registrations").text
    assert "负责人添加" in page and "manual" not in page
    listed = client.get(f"/events/{meetup.id}/checkin-list.csv").data.decode("utf-8-sig")
    assert "负责人添加" in listed and "manual" not in listed


def test_staff_see_the_list_but_cannot_manage(client, cast, meetup, people):
    set_role(cast.lead, cast.branch, cast.member.id, Role.STAFF)
    login(client, cast.member)
    assert client.get(f"/events/{meetup.id}/registrations").status_code == 200
    response = client.post(f"/events/{meetup.id}/capacity", data={"capacity": "50"})
    assert response.status_code == 403


def test_a_meetup_that_is_over_takes_no_rsvp_and_its_page_says_so(client, meetup, people):
    meetup.starts_at, meetup.ends_at = utcnow() - timedelta(hours=3), utcnow() - timedelta(hours=1)
    db.session.commit()
    with pytest.raises(services.RsvpRefused, match="over") as raised:
        services.rsvp(people[0], meetup.id)
    assert raised.value.extra["reason"] == "past"
    login(client, people[1])
    page = client.get(f"/events/{meetup.id}").text
    assert "This meetup is over." in page
    assert f'action="/events/{meetup.id}/rsvp"' not in page
    assert services.registration_of(people[1], meetup) is None


def test_a_started_meetup_shows_no_rsvp_or_cancel_button(client, meetup, people):
    services.rsvp(people[0], meetup.id)
    meetup.starts_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    login(client, people[1])
    page = client.get(f"/events/{meetup.id}").text
    assert "This meetup has already started." in page
    assert f'action="/events/{meetup.id}/rsvp"' not in page
    client.post("/logout")
    login(client, people[0])
    assert "/rsvp/cancel" not in client.get(f"/events/{meetup.id}").text


def test_nobody_is_added_by_hand_to_a_meetup_that_is_over(cast, meetup, people):
    from planner.notifications.models import OutboxMessage

    meetup.starts_at, meetup.ends_at = utcnow() - timedelta(hours=3), utcnow() - timedelta(hours=1)
    db.session.commit()
    with pytest.raises(services.RsvpRefused) as raised:
        services.add_by_hand(cast.lead, meetup.id, people[0].email)
    assert raised.value.message == "This meetup is cancelled or over: nobody can be added."
    assert raised.value.extra == {"reason": "closed"}
    assert services.registration_of(people[0], meetup) is None
    assert db.session.scalars(db.select(OutboxMessage)).all() == []


def test_adding_by_hand_says_what_is_wrong(client, cast, meetup, people):
    services.rsvp(people[0], meetup.id)
    with pytest.raises(InvalidInput) as unknown:
        services.add_by_hand(cast.lead, meetup.id, "nobody@example.com")
    assert unknown.value.fields == {"email": ["No member has this email."]}
    login(client, cast.lead)

    def added(email: str) -> str:
        return client.post(f"/events/{meetup.id}/registrations/add",
                           data={"email": email, "guests": "0"}, follow_redirects=True).text

    assert 'role="status">No member has this email.</p>' in added("nobody@example.com")
    assert 'role="status">This member has already RSVPed.</p>' in added(people[0].email)


def test_a_lead_decides_on_the_rsvp_list_page(client, cast, meetup, people):
    meetup.requires_approval = True
    db.session.commit()
    asked = services.rsvp(people[0], meetup.id)
    login(client, cast.lead)
    listed = client.get(f"/events/{meetup.id}/registrations").text
    assert "Going: 0 of 4 seats · waitlist: 0 · awaiting approval: 1" in listed
    page = client.post(f"/registrations/{asked.id}/review",
                       data={"approve": "y", "message": "Welcome"}, follow_redirects=True)
    assert "Decision saved." in page.text
    db.session.expire_all()
    assert (asked.status, asked.decision_message) == (GOING, "Welcome")
    missing = client.post("/registrations/999999/review", data={"approve": "y"})
    assert missing.status_code == 404 and "<p>No such RSVP.</p>" in missing.text


def test_my_meetups_soonest_first_then_the_latest_past(client, cast, people):
    def on(day: int, title: str):
        [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
            title=title, starts_local=datetime(NEXT_YEAR, 6, day, 19),
            ends_local=datetime(NEXT_YEAR, 6, day, 21), online_url="https://meet.example/x",
            status=EventStatus.PUBLISHED))
        services.rsvp(people[0], event.id)
        return event

    on(20, "Later"), on(10, "Sooner")
    older, newer = on(1, "Older"), on(2, "Newer")
    for shifted, days in ((older, 800), (newer, 700)):
        shifted.starts_at -= timedelta(days=days)
        shifted.ends_at -= timedelta(days=days)
    db.session.commit()
    upcoming, past = services.my_registrations(people[0])
    assert [r.event.title for r in upcoming] == ["Sooner", "Later"]
    assert [r.event.title for r in past] == ["Newer", "Older"]
