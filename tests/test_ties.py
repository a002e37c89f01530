"""Member cards and who is at a meetup (issue 17): nothing about a member is shown to anyone
unless they chose it, and a card never carries an email or phone number."""

from __future__ import annotations

from datetime import timedelta

import pytest

from branches.services import join_branch
from planner.checkin import services as checkin
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events import services as events
from planner.events.models import Event, EventStatus
from planner.registrations import services as registrations
from planner.ties import services as ties
from planner.ties.models import Visibility
from tests.conftest import bearer, door_open, login

CARD = {"headline": "Designer at a game studio", "offer": "Figma help", "seek": "A co-founder",
        "tags": ["design", "读书"]}


@pytest.fixture
def meetup(cast):
    """A meetup under way: its attendees may see each other's cards now."""
    starts, ends = door_open(cast.branch)
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Tea", starts_local=starts, ends_local=ends, online_url="https://meet.example/t",
        status=EventStatus.PUBLISHED))
    db.session.commit()
    return event


def under_way(event: Event) -> None:
    """Once the RSVPs are in (a meetup under way takes none), it started half an hour ago."""
    started(db.session.get(Event, event.id), timedelta(minutes=30))


def started(event: Event, ago: timedelta) -> None:
    """Move the meetup so that it started `ago` before now (2 hours long)."""
    event.starts_at = utcnow() - ago
    event.ends_at = event.starts_at + timedelta(hours=2)
    db.session.commit()


def show_card(client, person, visibility: str, phone: str | None = "+8613800000000") -> None:
    person.phone = phone
    db.session.commit()
    answer = client.put("/api/v1/me/card", json=CARD | {"visibility": visibility},
                        headers=bearer(client, person))
    assert answer.status_code == 200, answer.text


def here(client, viewer, event) -> tuple[int, list[dict]]:
    answer = client.get(f"/api/v1/events/{event.id}/attendees", headers=bearer(client, viewer))
    return answer.status_code, answer.json if answer.status_code == 200 else []


def test_a_card_starts_hidden_and_keeps_one_connect_code(client, cast):
    token = bearer(client, cast.member)
    first = client.get("/api/v1/me/card", headers=token)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "private, no-store"
    assert first.json["visibility"] == "none" and first.json["headline"] == ""
    assert len(first.json["connect_code"]) >= 20
    again = client.put("/api/v1/me/card", json=CARD | {"visibility": "attendees"}, headers=token)
    assert again.json == CARD | {"visibility": "attendees",
                                 "connect_code": first.json["connect_code"]}


@pytest.mark.parametrize(("body", "field"), [
    ({"visibility": "everyone"}, "visibility"),
    ({"visibility": True}, "visibility"),
    ({"tags": "design"}, "tags"),
    ({"tags": [f"t{n}" for n in range(11)]}, "tags"),
    ({"tags": ["x" * 31]}, "tags"),
    ({"headline": "x" * 121}, "headline"),
    ({"offer": "\u200b"}, "offer"),
])
def test_a_bad_card_is_refused_naming_the_field(client, cast, body, field):
    token = bearer(client, cast.member)
    answer = client.put("/api/v1/me/card", json={"visibility": "none"} | body, headers=token)
    assert answer.status_code == 422 and field in answer.json["error"]["fields"]
    assert client.get("/api/v1/me/card", headers=token).json["headline"] == ""


@pytest.mark.parametrize("visibility", ["none", "attendees", "branch"])
def test_who_sees_whose_card_at_a_meetup(client, cast, meetup, make_user, visibility):
    """The card of an attendee × every kind of viewer, for each visibility."""
    shown = visibility != "none"
    fellow, absent_member = make_user("Fellow Fu"), make_user("Absent Ai")
    join_branch(absent_member, cast.branch)
    for person in (cast.member, fellow):
        registrations.rsvp(person, meetup.id)
    db.session.commit()
    under_way(meetup)
    show_card(client, cast.member, visibility)

    status, people = here(client, fellow, meetup)  # a fellow attendee
    assert status == 200
    assert [p["display_name"] for p in people] == (["Member Ma"] if shown else [])
    if shown:
        assert people[0]["card"] == {**CARD, "visibility": visibility}
    status, people = here(client, cast.lead, meetup)  # the branch's lead sees everyone
    assert status == 200
    assert {p["display_name"]: p["card"] is not None for p in people} == {
        "Fellow Fu": False, "Member Ma": shown}
    for stranger in (cast.outsider, absent_member, cast.other_lead, cast.staff):
        assert here(client, stranger, meetup)[0] == 403  # not at the meetup
    anonymous = client.get(f"/api/v1/events/{meetup.id}/attendees")
    assert anonymous.status_code == 401


def test_a_card_never_carries_an_email_or_phone(client, cast, meetup, make_user):
    fellow = make_user("Fellow Fu")
    for person in (cast.member, fellow):
        registrations.rsvp(person, meetup.id)
    db.session.commit()
    under_way(meetup)
    show_card(client, cast.member, "branch")
    answer = client.get(f"/api/v1/events/{meetup.id}/attendees", headers=bearer(client, fellow))
    login(client, fellow)
    page = client.get(f"/events/{meetup.id}/here").text
    for leak in (cast.member.email, "13800000000", "connect_code"):
        assert leak not in answer.text and leak not in page
    assert "Designer at a game studio" in page and "A co-founder" in page


def test_fellow_attendees_see_cards_from_the_start_until_two_weeks_after(client, cast, meetup,
                                                                         make_user):
    fellow = make_user("Fellow Fu")
    for person in (cast.member, fellow):
        registrations.rsvp(person, meetup.id)
    db.session.commit()
    show_card(client, cast.member, "attendees")
    event = db.session.get(Event, meetup.id)
    started(event, -timedelta(minutes=5))  # starts in five minutes
    assert here(client, fellow, event)[0] == 403
    assert here(client, cast.lead, event)[0] == 200  # leads, at any time
    started(event, timedelta(days=14, hours=1, minutes=-1))  # ended 14 days less a minute ago
    assert here(client, fellow, event)[0] == 200
    started(event, timedelta(days=14, hours=2, minutes=1))  # ended 14 days and a minute ago
    assert here(client, fellow, event)[0] == 403


def test_checked_in_walk_ins_and_cancellations(client, cast, meetup, make_user):
    """Checked in counts as attending (even after cancelling); a cancelled RSVP does not."""
    fellow, gone = make_user("Fellow Fu"), make_user("Gone Gu")
    going = registrations.rsvp(cast.member, meetup.id)
    for person in (fellow, gone):
        registrations.rsvp(person, meetup.id)
    registrations.cancel(gone, meetup.id)
    checkin.redeem(cast.lead, meetup.id, ticket_code=going.ticket_code, nonce="n-1")
    db.session.commit()
    under_way(meetup)
    for person in (cast.member, gone):
        show_card(client, person, "attendees")
    _, people = here(client, fellow, meetup)
    assert [(p["display_name"], p["checked_in"]) for p in people] == [("Member Ma", True)]
    assert here(client, gone, meetup)[0] == 403


def test_the_meetup_page_offers_who_is_here_to_attendees_only(client, cast, meetup):
    registrations.rsvp(cast.member, meetup.id)
    db.session.commit()
    link = f'href="/events/{meetup.id}/here"'
    login(client, cast.member)
    assert link not in client.get(f"/events/{meetup.id}").text  # not yet: it starts in an hour
    under_way(meetup)
    assert link in client.get(f"/events/{meetup.id}").text
    client.post("/logout")
    login(client, cast.outsider)
    assert link not in client.get(f"/events/{meetup.id}").text
    assert client.get(f"/events/{meetup.id}/here").status_code == 403


def test_a_member_edits_their_card_on_the_page(client, cast):
    login(client, cast.member)
    page = client.get("/me/card")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-store"
    saved = client.post("/me/card", data={"headline": "Teacher", "tags": "读书, hiking, 读书",
                                          "visibility": "branch"}, follow_redirects=True)
    assert "Card saved." in saved.text
    card = ties.own_card(cast.member)
    assert (card.headline, card.tags, card.visibility) == ("Teacher", ["读书", "hiking"],
                                                          Visibility.BRANCH)
    assert 'value="读书, hiking"' in client.get("/me/card").text
