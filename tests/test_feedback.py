"""Feedback after a meetup: only members checked in, only from the start until 14 days after the
end, one per member (a second one edits it, two at once make one row), figures that equal a
recount, strict input, testimonials only with consent, and the branch health months."""

from __future__ import annotations

import json
import random
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from branches.services import VenueInput, join_branch, save_venue
from planner.checkin import services as checkin
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events import services as events
from planner.events.models import Event, EventSeries, EventStatus
from planner.feedback import services
from planner.feedback.models import Feedback
from planner.registrations import services as registrations
from planner.registrations.models import RegistrationStatus
from tests.conftest import bearer, door_open, login

DAY = timedelta(days=1)


def held(cast, attended, *, also_going=(), ended_ago=DAY, title="Tea tasting", seats=30):
    """A published meetup that ended `ended_ago` ago: `attended` were checked in at its door,
    `also_going` RSVPed and never came."""
    hall = save_venue(cast.lead, cast.branch, VenueInput(f"Hall {title}", "1 Road", seats))
    starts, ends = door_open(cast.branch)
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title=title, starts_local=starts, ends_local=ends, venue_id=hall.id,
        status=EventStatus.PUBLISHED))
    for person in (*attended, *also_going):
        registrations.rsvp(person, event.id)
    for person in attended:
        ticket = registrations.registration_of(person, event)
        checkin.redeem(cast.staff, event.id, ticket_code=ticket.ticket_code)
    shift = event.ends_at - (utcnow() - ended_ago)  # move it into the past, checked in
    event.starts_at, event.ends_at = event.starts_at - shift, event.ends_at - shift
    db.session.commit()
    return event


@pytest.fixture
def people(cast, make_user):
    crowd = [make_user(f"Guest {n}") for n in range(4)]
    for person in crowd:
        join_branch(person, cast.branch)
    db.session.commit()
    return crowd


def post(client, headers, event, body):
    return client.post(f"/api/v1/events/{event.id}/feedback", json=body, headers=headers)


def rows(event) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Feedback)
                             .where(Feedback.event_id == event.id))


def test_only_members_checked_in_may_give_feedback(client, cast, people, make_user):
    came, going, late = people[0], people[1], people[2]
    event = held(cast, [came], also_going=[going])
    full = held(cast, [], title="Full house", seats=1, also_going=[people[3], late])
    assert registrations.registration_of(late, full).status is RegistrationStatus.WAITLISTED
    stranger = make_user("Stranger Su")
    for who, meetup in ((going, event), (late, full), (stranger, event), (cast.lead, event),
                        (cast.staff, event), (came, full)):
        answer = post(client, bearer(client, who), meetup, {"rating": 4})
        assert answer.status_code == 403, (who.display_name, answer.text)
        assert answer.json["error"]["code"] == "not_checked_in"
    answer = post(client, bearer(client, came), event, {"rating": 4, "comment": "Lovely"})
    assert answer.status_code == 201, answer.text
    assert answer.json["rating"] == 4 and answer.json["comment"] == "Lovely"
    assert rows(event) == 1 and rows(full) == 0


def test_the_window_opens_at_the_start_and_closes_14_days_after_the_end(cast, people):
    event = held(cast, people[:4])
    start, end = event.starts_at, event.ends_at
    refused = {start - timedelta(seconds=1): services.FeedbackNotOpen,
               end + timedelta(days=14, seconds=1): services.FeedbackClosed}
    for now, error in refused.items():
        with pytest.raises(error):
            services.give(people[0], event.id, services.FeedbackInput(3), now=now)
    assert rows(event) == 0
    for person, now in zip(people, (start, end, end + timedelta(days=14),
                                    end + timedelta(days=14) - timedelta(microseconds=1)),
                           strict=True):
        feedback, created = services.give(person, event.id, services.FeedbackInput(5), now=now)
        assert created and feedback.id is not None
    db.session.commit()
    assert rows(event) == 4


def test_the_api_names_the_closed_window(client, cast, people):
    event = held(cast, [people[0]], ended_ago=timedelta(days=15))
    answer = post(client, bearer(client, people[0]), event, {"rating": 2})
    assert answer.status_code == 409 and answer.json["error"]["code"] == "feedback_closed"
    assert rows(event) == 0
    paths = client.get("/api/v1/openapi.json").json["paths"]
    responses = paths["/api/v1/events/{event_id}/feedback"]["post"]["responses"]
    assert {"200", "201", "403", "409", "422"} <= set(responses)
    assert "not_checked_in" in responses["403"]["description"]
    assert {"feedback_not_open", "feedback_closed"} <= set(
        responses["409"]["description"].replace(";", " ").replace(":", " ").split())


def test_a_second_feedback_edits_the_first_and_withdrawn_consent_unfeatures(client, cast,
                                                                            people):
    event = held(cast, [people[0]])
    headers = bearer(client, people[0])
    first = post(client, headers, event, {"rating": 2, "comment": "Too loud",
                                          "may_quote": True})
    assert first.status_code == 201
    lead = bearer(client, cast.lead)
    featured = client.put(f"/api/v1/feedback/{first.json['id']}/featured",
                          json={"featured": True}, headers=lead)
    assert featured.status_code == 200 and featured.json["featured"] is True
    second = post(client, headers, event, {"rating": 5, "comment": "Better than I said"})
    assert second.status_code == 200, second.text
    assert second.json["id"] == first.json["id"]
    assert (second.json["rating"], second.json["may_quote"], second.json["featured"]) == (
        5, False, False)
    assert rows(event) == 1


def test_two_feedbacks_at_once_make_one_row(live_server, client, cast, people):
    event = held(cast, [people[0]])
    token = bearer(client, people[0])["Authorization"]
    url = f"{live_server}/api/v1/events/{event.id}/feedback"
    db.session.commit()
    barrier = threading.Barrier(6)

    def send(rating: int) -> int:
        request = urllib.request.Request(
            url, method="POST",
            data=json.dumps({"rating": rating}).encode(),
            headers={"Content-Type": "application/json", "Authorization": token})
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(send, [1, 2, 3, 4, 5, 5]))
    assert statuses == [200] * 5 + [201], statuses
    assert rows(event) == 1


def test_the_figures_equal_a_recount_of_random_ratings(client, cast, make_user):
    chance = random.Random(15)
    crowd = [make_user(f"Rater {n}") for n in range(23)]
    for person in crowd:
        join_branch(person, cast.branch)
    event = held(cast, crowd)
    given = {}
    for person in crowd[:-3]:  # three came and said nothing
        given[person.id] = chance.randint(1, 5)
        services.give(person, event.id, services.FeedbackInput(given[person.id]))
    db.session.commit()
    answer = client.get(f"/api/v1/events/{event.id}/feedback", headers=bearer(client, cast.lead))
    assert answer.status_code == 200
    body = answer.json
    assert body["count"] == len(given) == len(body["items"])
    assert body["average"] == round(sum(given.values()) / len(given), 2)
    assert body["distribution"] == {str(r): list(given.values()).count(r) for r in range(1, 6)}
    assert {item["author"]["user_id"]: item["rating"] for item in body["items"]} == given


def test_no_feedback_yet_has_no_average(client, cast, people):
    event = held(cast, [people[0]])
    body = client.get(f"/api/v1/events/{event.id}/feedback",
                      headers=bearer(client, cast.lead)).json
    assert (body["count"], body["average"], body["items"]) == (0, None, [])
    assert body["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}


@pytest.mark.parametrize(("body", "field"), [
    ({"rating": 0}, "rating"), ({"rating": 6}, "rating"), ({"rating": "5"}, "rating"),
    ({"rating": True}, "rating"), ({"rating": 4.5}, "rating"), ({}, "rating"),
    ({"rating": 4, "comment": "nice\u0000"}, "comment"),
    ({"rating": 4, "comment": "x" * 2001}, "comment"),
    ({"rating": 4, "may_quote": "yes"}, "may_quote"),
])
def test_bad_input_is_refused_naming_the_field(client, cast, people, body, field):
    event = held(cast, [people[0]])
    answer = post(client, bearer(client, people[0]), event, body)
    assert answer.status_code == 422, answer.text
    assert field in answer.json["error"]["fields"], answer.json
    assert rows(event) == 0


def test_a_testimonial_appears_on_the_branch_page_only_with_consent(client, cast, people):
    series = EventSeries(branch_id=cast.branch.id, freq="weekly")
    db.session.add(series)
    event = held(cast, people[:2], title="Poetry night")
    later = held(cast, [], title="Poetry night again", ended_ago=-7 * DAY)
    event.series_id = later.series_id = series.id
    db.session.commit()
    quoted, _created = services.give(people[0], event.id, services.FeedbackInput(
        5, "Warm people and good tea", may_quote=True))
    private, _created = services.give(people[1], event.id, services.FeedbackInput(
        4, "Private remark about the host"))
    db.session.commit()
    lead = bearer(client, cast.lead)
    refused = client.put(f"/api/v1/feedback/{private.id}/featured", json={"featured": True},
                         headers=lead)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "no_consent"
    page = client.get(f"/branches/{cast.branch.slug}").text
    assert "Warm people" not in page  # consent alone is not featured
    assert client.put(f"/api/v1/feedback/{quoted.id}/featured", json={"featured": True},
                      headers=lead).status_code == 200
    for url in (f"/branches/{cast.branch.slug}", f"/events/{later.id}"):
        page = client.get(url).text
        assert "Warm people and good tea" in page and "Poetry night" in page, url
        assert "Private remark" not in page
        assert "Guest 0" not in page and "G0" in page  # visitors see initials only
    login(client, people[2])
    assert "Guest 0" in client.get(f"/branches/{cast.branch.slug}").text
    services.give(people[0], event.id, services.FeedbackInput(5, "Warm people and good tea"))
    db.session.commit()  # the author withdrew the consent
    assert "Warm people" not in client.get(f"/branches/{cast.branch.slug}").text
    assert db.session.get(Feedback, quoted.id).featured_at is None


def test_unfeaturing_takes_the_testimonial_down(client, cast, people):
    event = held(cast, [people[0]])
    quoted, _created = services.give(people[0], event.id, services.FeedbackInput(
        5, "Come next time", may_quote=True))
    services.set_featured(cast.lead, quoted.id, True)
    db.session.commit()
    login(client, cast.lead)
    assert "Come next time" in client.get(f"/branches/{cast.branch.slug}").text
    results = client.get(f"/events/{event.id}/feedback/all")
    assert results.status_code == 200 and "Unfeature" in results.text
    taken = client.post(f"/feedback/{quoted.id}/featured", data={"featured": "false"})
    assert taken.status_code == 302
    assert "Come next time" not in client.get(f"/branches/{cast.branch.slug}").text


def test_the_member_page_takes_a_rating_and_a_comment(client, cast, people):
    event = held(cast, [people[0]])
    url = f"/events/{event.id}/feedback"
    assert client.get(url).headers["Location"].startswith(f"/login?next=%2Fevents%2F{event.id}")
    login(client, people[0])
    page = client.get(url)
    assert page.status_code == 200 and 'name="rating"' in page.text
    empty = client.post(url, data={"comment": "no stars"})
    assert empty.status_code == 200 and "Choose a rating from 1 to 5." in empty.text
    assert rows(event) == 0
    sent = client.post(url, data={"rating": "4", "comment": "Good", "may_quote": "y"})
    assert sent.status_code == 302
    [feedback] = db.session.scalars(select(Feedback).where(Feedback.event_id == event.id))
    assert (feedback.rating, feedback.comment, feedback.may_quote) == (4, "Good", True)
    login(client, people[1])
    refused = client.get(url)
    assert refused.status_code == 200 and 'data-code="not_checked_in"' in refused.text
    assert 'name="rating"' not in refused.text
    assert client.post(url, data={"rating": "4"}).status_code == 403


def test_branch_health_shows_the_average_per_month(client, cast, people):
    first = held(cast, people[:2], title="Early", ended_ago=40 * DAY)
    second = held(cast, people[:3], title="Later", ended_ago=DAY)
    for person, rating in zip(people[:2], (2, 5), strict=True):
        services.give(person, first.id, services.FeedbackInput(rating),
                      now=first.ends_at)
    for person, rating in zip(people[:3], (4, 4, 3), strict=True):
        services.give(person, second.id, services.FeedbackInput(rating))
    db.session.commit()
    since = (utcnow() - 60 * DAY).date().isoformat()
    answer = client.get(f"/api/v1/network/health?from={since}", headers=bearer(client, cast.admin))
    assert answer.status_code == 200, answer.text
    [row] = [b for b in answer.json["branches"] if b["slug"] == cast.branch.slug]
    expected: dict[str, list[int]] = {}
    for event, ratings in ((first, [2, 5]), (second, [4, 4, 3])):
        local = event.starts_at.astimezone(__import__("zoneinfo").ZoneInfo(cast.branch.timezone))
        expected.setdefault(local.strftime("%Y-%m"), []).extend(ratings)
    assert row["feedback_by_month"] == [
        {"month": month, "count": len(r), "average": round(sum(r) / len(r), 2)}
        for month, r in sorted(expected.items())]
    assert db.session.get(Event, first.id) is not None


def test_the_branch_page_quotes_many_testimonials_in_the_same_queries(client, cast, make_user):
    from tests.test_event_queries import queries_for

    crowd = [make_user(f"Quoter {n}") for n in range(6)]
    for person in crowd:
        join_branch(person, cast.branch)
    event = held(cast, crowd)

    def quote(person) -> None:
        given, _created = services.give(person, event.id, services.FeedbackInput(
            5, f"Said by {person.display_name}", may_quote=True))
        services.set_featured(cast.lead, given.id, True)
        db.session.commit()

    quote(crowd[0])
    one = queries_for(client, f"/branches/{cast.branch.slug}")
    for person in crowd[1:]:
        quote(person)
    assert queries_for(client, f"/branches/{cast.branch.slug}") == one
    assert all(f"Said by Quoter {n}" in client.get(f"/branches/{cast.branch.slug}").text
               for n in range(6))
