"""The feeds' kept validators (issue 18): every write that changes what a feed shows changes
its ETag, in the writing transaction; a poll answered 304 reads no meetup and costs one query
for a branch feed, two for a member's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from branches.services import BranchSettings, VenueInput, join_branch, save_venue, update_branch
from planner.calendars import services
from planner.core.extensions import db
from planner.events import services as events
from planner.events.models import EventStatus
from planner.registrations import services as registrations
from tests.test_calendars import counted_queries, feed_url, one

BRANCH = "/branches/chengdu/calendar.ics"


def etag(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.headers["ETag"]


def answer_304(client: Any, url: str, tag: str) -> list[str]:
    with counted_queries() as statements:
        response = client.get(url, headers={"If-None-Match": tag})
    assert response.status_code == 304 and response.data == b""
    return statements


def test_a_branch_feed_304_is_one_query_and_reads_no_meetup(client, cast):
    one(cast.lead, cast.branch, "Go club")
    db.session.commit()
    tag = etag(client, BRANCH)  # brings the kept validator up to date after the write
    statements = answer_304(client, BRANCH, tag)
    assert len(statements) == 1, statements
    assert not any("events" in s for s in statements)


def test_a_member_feed_304_is_two_queries_and_reads_no_meetup(client, cast):
    event = one(cast.lead, cast.branch, "Go club")
    services.set_includes_branches(cast.member, True)
    registrations.rsvp(cast.member, event.id)
    url = feed_url(cast.member)
    db.session.commit()
    tag = etag(client, url)
    statements = answer_304(client, url, tag)
    assert len(statements) <= 2, statements
    assert not any("FROM events" in s or "JOIN events" in s for s in statements)


def _edit(cast: Any, event: Any) -> None:
    events.update_event(cast.lead, event, replace(events.event_input(event), title="Go club 2"))


def _move_venue(cast: Any, event: Any) -> None:
    venue = event.venue
    save_venue(cast.lead, cast.branch, VenueInput(venue.name, "2 Other Road", venue.capacity),
               venue=venue)


def _rename_branch(cast: Any, _event: Any) -> None:
    branch = cast.branch
    update_branch(cast.lead, branch, BranchSettings(
        "Chengdu tea", branch.description, branch.join_policy, branch.locale))


def _publish_another(cast: Any, _event: Any) -> None:
    draft = one(cast.lead, cast.branch, "Later", days=9, status=EventStatus.DRAFT)
    events.update_event(cast.lead, draft,
                        replace(events.event_input(draft), status=EventStatus.PUBLISHED))


BRANCH_WRITES = {"edit": _edit, "cancel": lambda cast, e: events.cancel_event(cast.lead, e, "Rain"),
                 "publish": _publish_another, "venue": _move_venue, "branch": _rename_branch}


@pytest.mark.parametrize("write", BRANCH_WRITES)
def test_each_write_that_changes_the_feeds_changes_both_validators(client, cast, write):
    """The branch's feed, and the feed of a member with an RSVP who does not follow it (whose
    feed shows the meetup they RSVPed to)."""
    hall = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 30))
    event = one(cast.lead, cast.branch, "Go club", venue_id=hall.id)
    registrations.rsvp(cast.outsider, event.id)
    url = feed_url(cast.outsider)
    db.session.commit()
    before = etag(client, BRANCH), etag(client, url)
    BRANCH_WRITES[write](cast, db.session.get(type(event), event.id))
    db.session.commit()
    after = etag(client, BRANCH), etag(client, url)
    # Publishing another meetup changes only the branch's feed: the member did not RSVP to it.
    assert after[0] != before[0] and (after[1] != before[1]) is (write != "publish")
    assert client.get(BRANCH, headers={"If-None-Match": before[0]}).status_code == 200


def _join(cast: Any, _event: Any) -> None:
    join_branch(cast.outsider, cast.other_branch)


MEMBER_WRITES = {
    "rsvp": lambda cast, e: registrations.rsvp(cast.outsider, e.id),
    "cancel rsvp": lambda cast, e: (registrations.rsvp(cast.outsider, e.id),
                                    db.session.commit(),
                                    registrations.cancel(cast.outsider, e.id)),
    "join a branch": _join,
    "settings": lambda cast, e: services.set_includes_branches(cast.outsider, False)}


@pytest.mark.parametrize("write", MEMBER_WRITES)
def test_each_write_that_changes_a_member_feed_changes_its_validator(client, cast, write):
    event = one(cast.lead, cast.branch, "Go club")
    one(cast.other_lead, cast.other_branch, "Elsewhere")
    services.set_includes_branches(cast.outsider, True)
    url = feed_url(cast.outsider)
    db.session.commit()
    before = etag(client, url)
    branch_before = etag(client, BRANCH)
    MEMBER_WRITES[write](cast, db.session.get(type(event), event.id))
    db.session.commit()
    assert etag(client, url) != before
    assert etag(client, BRANCH) == branch_before  # a member's RSVP is not the branch's news
