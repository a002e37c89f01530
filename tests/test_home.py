"""The home page leads with upcoming meetups (the viewer's branches first), each with its time,
place, seats left and who is going; branches come after."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from branches.services import VenueInput, join_branch, save_venue
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events import services as events
from planner.events.localtime import utc_to_local
from planner.events.models import EventStatus
from planner.registrations import services as registrations
from tests.conftest import login


def local(days: int, hour: int, branch) -> datetime:
    day = utc_to_local(utcnow() + timedelta(days=days), branch.timezone).date()
    return datetime(day.year, day.month, day.day, hour)


@pytest.fixture
def meetups(cast):
    chengdu = save_venue(cast.lead, cast.branch, VenueInput("Teahouse", "1 Road", 2))
    beijing = save_venue(cast.other_lead, cast.other_branch, VenueInput("Hutong", "2 Lane", 9))
    def make(lead, branch, venue, title, days, status=EventStatus.PUBLISHED):
        [event] = events.schedule(lead, branch, events.EventInput(
            title=title, starts_local=local(days, 19, branch), ends_local=local(days, 21, branch),
            venue_id=venue.id, status=status))
        return event
    made = {"tea": make(cast.lead, cast.branch, chengdu, "Tea in Chengdu", 3),
            "draft": make(cast.lead, cast.branch, chengdu, "Secret draft", 1, EventStatus.DRAFT),
            "hutong": make(cast.other_lead, cast.other_branch, beijing, "Hutong walk", 2)}
    registrations.rsvp(cast.member, made["tea"].id)
    registrations.rsvp(cast.staff, made["tea"].id)
    db.session.commit()
    return made


def titles_in_order(html: str, *titles: str) -> list[str]:
    found = [t for t in titles if t in html]
    return sorted(found, key=html.index)


def test_a_visitor_sees_the_networks_next_meetups_first(client, meetups):
    page = client.get("/").text
    assert page.index('id="upcoming"') < page.index("<h2>Branches</h2>")
    soonest_first = titles_in_order(page, "Tea in Chengdu", "Hutong walk")
    assert soonest_first == ["Hutong walk", "Tea in Chengdu"]
    assert "Secret draft" not in page
    card = page[page.index("Tea in Chengdu"):page.index("</li>", page.index("Tea in Chengdu"))]
    assert "Teahouse" in card and "19:00–21:00" in card
    assert "2 people going" in card and "Full: join the waitlist" in card
    assert ">MM<" in card and "Member Ma" not in card


def test_a_member_sees_the_meetups_of_their_own_branches(client, cast, meetups, make_user):
    newcomer = make_user("Newcomer")
    join_branch(newcomer, cast.other_branch)
    db.session.commit()
    login(client, newcomer)
    page = client.get("/").text
    upcoming = page[page.index('id="upcoming"'):page.index("</ul>", page.index('id="upcoming"'))]
    assert "Hutong walk" in upcoming and "Tea in Chengdu" not in upcoming
    assert "1 seat left" not in upcoming and "9 seats left" in upcoming
