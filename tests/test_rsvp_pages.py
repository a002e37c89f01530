"""RSVP pages as people use them: an RSVP pressed before logging in is finished by the login or
sign-up that follows, back on the meetup; parties are told when they cannot fit or why they
wait; the leads' list finds people by pinyin and tells namesakes apart."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from branches.services import VenueInput, save_venue
from planner.accounts.models import User
from planner.core.extensions import db
from planner.events import services as events
from planner.events.models import EventStatus
from planner.registrations import services
from planner.registrations.models import Registration, RegistrationStatus
from planner.registrations.views import RSVP_AFTER_LOGIN, RSVP_INTENT_SECONDS
from tests.conftest import PASSWORD

NEXT_YEAR = datetime.now(UTC).year + 1
SIGNUP = {"email": "new@example.com", "password": PASSWORD, "display_name": "Newcomer",
          "phone": "", "locale": "en", "timezone": "Asia/Shanghai"}


@pytest.fixture
def meetup(cast):
    hall = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 3))
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Dumplings", starts_local=datetime(NEXT_YEAR, 5, 1, 19),
        ends_local=datetime(NEXT_YEAR, 5, 1, 21), venue_id=hall.id,
        status=EventStatus.PUBLISHED))
    event.max_guests = 2
    db.session.commit()
    return event


def registration_of(email: str) -> Registration | None:
    return db.session.scalar(select(Registration)
                             .join(User, Registration.user_id == User.id)
                             .where(User.email == email))


def test_anonymous_rsvp_asks_to_log_in_and_keeps_the_way_back(client, meetup):
    page = client.get(f"/events/{meetup.id}")
    assert f'action="/events/{meetup.id}/rsvp"' in page.text  # one tap, even before login

    response = client.post(f"/events/{meetup.id}/rsvp", data={"guests": 1})
    assert response.status_code == 302
    assert response.location == f"/login?next=/events/{meetup.id}"
    login_page = client.get(response.location)
    assert f'href="/signup?next=/events/{meetup.id}"' in login_page.text
    assert registration_of(SIGNUP["email"]) is None


def test_sign_up_after_an_rsvp_finishes_it_and_returns_to_the_meetup(client, meetup):
    client.post(f"/events/{meetup.id}/rsvp", data={"guests": 0})
    response = client.post(f"/signup?next=/events/{meetup.id}", data=SIGNUP)
    assert response.location == f"/events/{meetup.id}"
    registration = registration_of(SIGNUP["email"])
    assert registration is not None and registration.status is RegistrationStatus.GOING
    page = client.get(response.location)
    assert "Your ticket is ready" in page.text and "Show my ticket" in page.text


def test_login_after_an_rsvp_to_a_full_meetup_joins_the_waitlist_with_the_guests(
        client, cast, meetup):
    services.rsvp(cast.lead, meetup.id, guests=2)  # all three seats
    db.session.commit()
    client.post(f"/events/{meetup.id}/rsvp", data={"guests": 2})
    response = client.post(f"/login?next=/events/{meetup.id}",
                           data={"email": cast.member.email, "password": PASSWORD})
    assert response.location == f"/events/{meetup.id}"
    registration = registration_of(cast.member.email)
    assert registration.status is RegistrationStatus.WAITLISTED and registration.guests == 2
    assert "number 1 on the waitlist" in client.get(response.location).text


def test_an_rsvp_pressed_long_ago_is_not_finished_by_a_later_login(client, cast, meetup):
    client.post(f"/events/{meetup.id}/rsvp", data={"guests": 0})
    with client.session_transaction() as session:
        intent = session[RSVP_AFTER_LOGIN]
        session[RSVP_AFTER_LOGIN] = intent | {"at": intent["at"] - RSVP_INTENT_SECONDS - 1}
    client.post("/login", data={"email": cast.member.email, "password": PASSWORD})
    assert registration_of(cast.member.email) is None


def test_an_rsvp_refused_after_login_says_why(client, cast, meetup):
    client.post(f"/events/{meetup.id}/rsvp", data={"guests": 0})
    events.cancel_event(cast.lead, meetup, "The hall flooded.")
    db.session.commit()
    response = client.post(f"/login?next=/events/{meetup.id}",
                           data={"email": cast.member.email, "password": PASSWORD},
                           follow_redirects=True)
    assert registration_of(cast.member.email) is None
    assert 'class="flash flash-error"' in response.text and "cancelled" in response.text


def test_a_party_that_can_never_fit_is_told_so(client, cast, meetup):
    from tests.conftest import login

    meetup.capacity = 2
    db.session.commit()
    login(client, cast.member)
    response = client.post(f"/events/{meetup.id}/rsvp", data={"guests": 2},
                           follow_redirects=True)  # three people, a two-seat meetup
    assert "a party of 3 can never fit" in response.text
    assert registration_of(cast.member.email) is None


def test_a_party_waitlisted_while_seats_are_free_is_told_why(client, cast, make_user):
    hall = save_venue(cast.lead, cast.branch, VenueInput("Room", "2 Road", 3))
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Go", starts_local=datetime(NEXT_YEAR, 6, 1, 19),
        ends_local=datetime(NEXT_YEAR, 6, 1, 21), venue_id=hall.id,
        status=EventStatus.PUBLISHED))
    event.max_guests = 2
    services.rsvp(make_user("Early"), event.id, guests=1)  # 2 of 3 seats
    db.session.commit()
    from tests.conftest import login

    login(client, cast.member)
    response = client.post(f"/events/{event.id}/rsvp", data={"guests": 2}, follow_redirects=True)
    assert ("1 seat(s) left, not enough for your party of 3: you are number 1 on the waitlist."
            in response.text)
    assert "Your party of 3 gets in together, once 3 seats are free." in response.text


def test_the_leads_list_finds_people_by_pinyin_and_tells_namesakes_apart(client, cast, make_user):
    hall = save_venue(cast.lead, cast.branch, VenueInput("Room", "2 Road", 10))
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Go", starts_local=datetime(NEXT_YEAR, 6, 1, 19),
        ends_local=datetime(NEXT_YEAR, 6, 1, 21), venue_id=hall.id,
        status=EventStatus.PUBLISHED))
    twins = [make_user("测试新人", email=f"{who}@example.com") for who in ("tian", "qiu")]
    for person in (*twins, make_user("Émile Roux")):
        services.rsvp(person, event.id)
    db.session.commit()
    from tests.conftest import login

    login(client, cast.lead)
    everyone = client.get(f"/events/{event.id}/registrations").text
    assert "ti…@example.com" in everyone and "qi…@example.com" in everyone
    assert "Ém…" not in everyone  # only namesakes get the hint
    assert "Checked in" in everyone and 'href="/events/' in everyone
    found = client.get(f"/events/{event.id}/registrations?q=ceshi").text
    assert found.count("测试新人</strong>") == 2 and "Émile Roux" not in found
    assert "2 of 3 match “ceshi”." in found
    assert "Émile Roux" in client.get(f"/events/{event.id}/registrations?q=emile").text
