"""A meetup page says who hosts it and who is going, as Luma and Meetup do: initials for
everyone, names only for signed-in members."""

from __future__ import annotations

from datetime import datetime

import pytest

from branches.models import Role
from branches.services import VenueInput, save_venue, set_role
from planner.core.extensions import db
from planner.core.templating import initials
from planner.events import services as events
from planner.events.models import EventStatus
from planner.registrations import services as registrations
from tests.conftest import login


@pytest.fixture
def meetup(cast):
    hall = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 10))
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Tea", starts_local=datetime(2030, 1, 1, 18), ends_local=datetime(2030, 1, 1, 20),
        venue_id=hall.id, status=EventStatus.PUBLISHED))
    event.max_guests = 3
    db.session.commit()
    return event


def block(html: str, element_id: str) -> str:
    """The markup of the list with this id."""
    start = html.index(f'id="{element_id}"')
    return html[start:html.index("</ul>", start)]


def test_initials_follow_chinese_and_western_names():
    assert initials("王小明") == "小明" and initials("欧阳娜娜") == "娜娜"
    assert initials("马明") == "马明"
    assert initials("Member Ma") == "MM" and initials("émile zola jr") == "ÉZ"
    assert initials("  ") == "?"


def test_the_page_shows_the_hosts_and_who_is_going(client, cast, meetup, make_user):
    set_role(cast.admin, cast.branch, cast.other_lead.id, Role.LEAD)  # a co-lead, later
    registrations.rsvp(cast.member, meetup.id, guests=2)
    registrations.rsvp(make_user("王小明"), meetup.id)
    db.session.commit()

    anonymous = client.get(f"/events/{meetup.id}").text
    hosts = block(anonymous, "hosts")
    assert "Other Lead" in hosts and hosts.index("Lead Li") < hosts.index("Other Lead")
    going = block(anonymous, "going")
    assert ">MM<" in going and ">小明<" in going
    assert "Member Ma" not in going and "王小明" not in going  # names are for members only
    assert "4 people going" in anonymous and "Log in to see who." in anonymous

    login(client, cast.staff)
    signed_in = client.get(f"/events/{meetup.id}").text
    going = block(signed_in, "going")
    assert "Member Ma" in going and "王小明" in going and "Log in to see who." not in signed_in


def test_cancelled_and_waitlisted_people_are_not_shown_as_going(client, cast, meetup):
    registrations.rsvp(cast.member, meetup.id)
    registrations.cancel(cast.member, meetup.id)
    db.session.commit()
    page = client.get(f"/events/{meetup.id}").text
    assert 'id="going"' not in page and "0 people going" in page
