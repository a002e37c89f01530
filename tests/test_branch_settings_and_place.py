"""Branch settings a lead can actually set (the no-show rule, by page and API), and `place=`
as an alternative to coordinates wherever a search measures distance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from branches.models import Branch
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events import services as events
from planner.events.models import Event, EventStatus
from planner.registrations import services as registrations
from planner.registrations.models import RegistrationStatus
from tests.conftest import bearer, login

YEAR = datetime.now(UTC).year + 1
SETTINGS = {"name": "Chengdu branch", "description": "", "join_policy": "open",
            "locale": "zh_CN", "no_show_window": 3}


def online_meetup(cast, title: str, day: int = 1) -> Event:
    [made] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title=title, starts_local=datetime(YEAR, 3, day, 19),
        ends_local=datetime(YEAR, 3, day, 21), online_url="https://meet.example.com/x",
        status=EventStatus.PUBLISHED))
    return made


@pytest.fixture
def no_show(cast) -> Event:
    """The member said they would come to a past meetup and never showed up."""
    missed = online_meetup(cast, "Missed")
    registrations.rsvp(cast.member, missed.id)
    missed.starts_at = utcnow().replace(microsecond=0) - timedelta(days=10)
    missed.ends_at = missed.starts_at + timedelta(hours=2)
    db.session.commit()
    return missed


def branch_policy() -> tuple[int | None, int]:
    db.session.expire_all()
    branch = db.session.query(Branch).filter_by(slug="chengdu").one()
    return branch.no_show_limit, branch.no_show_window


def test_the_api_sets_the_no_show_rule_and_it_takes_effect(client, cast, no_show):
    first = online_meetup(cast, "Before", day=2)
    assert registrations.rsvp(cast.member, first.id).status is RegistrationStatus.GOING
    lead = bearer(client, cast.lead)
    assert client.get("/api/v1/branches/chengdu/settings", headers=lead).json[
        "no_show_limit"] is None
    saved = client.put("/api/v1/branches/chengdu/settings", headers=lead,
                       json=SETTINGS | {"no_show_limit": 1})
    assert saved.status_code == 200, saved.json
    assert saved.json["no_show_limit"] == 1 and saved.json["no_show_window"] == 3
    assert branch_policy() == (1, 3)
    later = online_meetup(cast, "After", day=3)
    assert registrations.rsvp(cast.member, later.id).status is RegistrationStatus.PENDING
    off = client.put("/api/v1/branches/chengdu/settings", headers=lead,
                     json=SETTINGS | {"no_show_limit": None})
    assert off.status_code == 200 and off.json["no_show_limit"] is None
    assert branch_policy() == (None, 3)
    again = online_meetup(cast, "Off again", day=4)
    assert registrations.rsvp(cast.member, again.id).status is RegistrationStatus.GOING


@pytest.mark.parametrize(("change", "field"), [
    ({"no_show_limit": 0}, "no_show_limit"), ({"no_show_limit": 4}, "no_show_limit"),
    ({"no_show_window": 0}, "no_show_window"), ({"no_show_window": 51}, "no_show_window"),
    ({"no_show_limit": "two"}, "no_show_limit")])
def test_a_bad_no_show_rule_names_its_field(client, cast, change, field):
    refused = client.put("/api/v1/branches/chengdu/settings",
                         headers=bearer(client, cast.lead), json=SETTINGS | change)
    assert refused.status_code == 422, refused.json
    assert field in refused.json["error"]["fields"]
    assert branch_policy() == (None, 5)


def test_only_leads_see_or_set_the_settings(client, cast):
    for who in (cast.member, cast.other_lead):
        headers = bearer(client, who)
        assert client.get("/api/v1/branches/chengdu/settings", headers=headers).status_code == 403
        assert client.put("/api/v1/branches/chengdu/settings", headers=headers,
                          json=SETTINGS | {"no_show_limit": 1}).status_code == 403
    assert branch_policy() == (None, 5)


def test_the_settings_page_sets_the_no_show_rule(client, cast, no_show):
    login(client, cast.lead)
    page = client.get("/branches/chengdu/settings")
    assert 'name="no_show_limit"' in page.text and 'name="no_show_window"' in page.text
    refused = client.post("/branches/chengdu/settings", data=SETTINGS | {
        "no_show_limit": "5", "no_show_window": "3"})
    assert refused.status_code == 200 and "the number of meetups counted (3)" in refused.text
    assert branch_policy() == (None, 5)
    saved = client.post("/branches/chengdu/settings", data=SETTINGS | {
        "no_show_limit": "1", "no_show_window": "3"})
    assert saved.status_code == 302
    assert branch_policy() == (1, 3)
    later = online_meetup(cast, "After", day=3)
    assert registrations.rsvp(cast.member, later.id).status is RegistrationStatus.PENDING


# --- place= instead of coordinates -----------------------------------------------------------

def test_nearest_branches_by_place(client, cast):
    by_place = client.get("/api/v1/branches/nearest?place=成都&limit=2")
    assert by_place.status_code == 200, by_place.json
    assert [b["slug"] for b in by_place.json] == ["chengdu", "beijing"]
    assert by_place.json[0]["distance_km"] < 20
    assert client.get("/api/v1/branches/nearest?place=Beijing&limit=1").json[0][
        "slug"] == "beijing"


@pytest.mark.parametrize("url", ["/api/v1/branches/nearest?place=Atlantisville",
                                 "/api/v1/events?place=Atlantisville"])
def test_unknown_place_names_place(client, url):
    refused = client.get(url)
    assert refused.status_code == 422
    assert list(refused.json["error"]["fields"]) == ["place"]


def test_events_near_a_place(client, cast):
    online_meetup(cast, "Hotpot")
    db.session.commit()
    near = client.get("/api/v1/events?place=成都&radius_km=30")
    assert near.status_code == 200, near.json
    assert [e["title"] for e in near.json] == ["Hotpot"]
    assert client.get("/api/v1/events?place=上海&radius_km=30").json == []


def test_the_nearest_page_by_place(client, cast):
    page = client.get("/branches/nearest?place=北京&lat=&lon=")
    assert page.text.index("北京 branch") < page.text.index("成都 branch")
    unknown = client.get("/branches/nearest?place=Atlantisville&lat=&lon=")
    assert "Unknown city" in unknown.text


def test_the_events_near_page_names_an_unknown_place(client):
    page = client.get("/events/near?place=Atlantisville")
    assert page.status_code == 200 and "Unknown city" in page.text
