"""Every list endpoint of /api/v1 pages with limit and cursor (shared/API.md, "Lists, errors
and types"): the body stays an array, Link rel="next" gives the next page's absolute URL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from branches.services import join_branch
from planner.api import OPERATIONS
from planner.events import services as events
from planner.events.models import EventStatus
from tests.conftest import bearer

NEXT_YEAR = datetime.now(UTC).year + 1
NEXT = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


def _walk(client, url: str, headers: dict[str, str] | None = None) -> tuple[list, int]:
    """Every item, following Link rel="next"; and how many pages it took."""
    items: list = []
    pages = 0
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.json
        assert isinstance(response.json, list)
        items += response.json
        pages += 1
        link = response.headers.get("Link")
        if link is None:
            break
        parts = urlsplit(NEXT.fullmatch(link)["url"])
        assert parts.scheme == "http" and parts.netloc == "localhost"  # absolute
        url = f"{parts.path}?{parts.query}"
    return items, pages


@pytest.fixture
def meetups(cast) -> list[int]:
    made = []
    for day in range(7):
        start = datetime(NEXT_YEAR, 4, 1, 19) + timedelta(days=day)
        [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
            title=f"Meetup {day}", starts_local=start, ends_local=start + timedelta(hours=2),
            online_url="https://meet.example/x", status=EventStatus.PUBLISHED))
        made.append(event.id)
    return made


def test_walking_the_pages_gives_each_meetup_once_in_order(client, cast, meetups) -> None:
    url = f"/api/v1/events?branch=chengdu&from={NEXT_YEAR}-03-01T00:00&limit=3"
    first = client.get(url)
    assert first.headers["X-Total-Count"] == "7" and len(first.json) == 3
    query = parse_qs(urlsplit(NEXT.fullmatch(first.headers["Link"])["url"]).query)
    assert query["branch"] == ["chengdu"] and query["limit"] == ["3"]  # the rest is kept
    items, pages = _walk(client, url)
    assert [e["id"] for e in items] == meetups and pages == 3
    whole = client.get(url.replace("limit=3", "limit=200"))
    assert "Link" not in whole.headers and [e["id"] for e in whole.json] == meetups


def test_members_walk_with_the_default_page_size(client, cast, make_user) -> None:
    for n in range(52):
        join_branch(make_user(f"Joiner {n:02d}"), cast.branch)
    lead = bearer(client, cast.lead)
    everyone = client.get("/api/v1/branches/chengdu/members?limit=200", headers=lead).json
    first = client.get("/api/v1/branches/chengdu/members", headers=lead)
    assert len(first.json) == 50 and first.headers["X-Total-Count"] == str(len(everyone))
    items, pages = _walk(client, "/api/v1/branches/chengdu/members", lead)
    assert items == everyone and pages == 2
    assert len({(m["user_id"]) for m in items}) == len(items) == 52 + 3


@pytest.mark.parametrize("limit", ["201", "0", "-1", "many"])
def test_a_limit_out_of_range_is_422_naming_it(client, cast, limit) -> None:
    response = client.get(f"/api/v1/branches?limit={limit}")
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"limit"}


def test_a_tampered_or_foreign_cursor_is_400(client, cast, meetups) -> None:
    url = f"/api/v1/events?branch=chengdu&from={NEXT_YEAR}-03-01T00:00&limit=2"
    cursor = parse_qs(urlsplit(NEXT.fullmatch(client.get(url).headers["Link"])["url"]).query)[
        "cursor"][0]
    assert client.get(f"{url}&cursor={cursor}").status_code == 200
    for bad in (cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"), "garbage", "1"):
        response = client.get(f"{url}&cursor={bad}")
        assert response.status_code == 400 and response.json["error"]["code"] == "bad_cursor"
    elsewhere = client.get(f"/api/v1/branches?cursor={cursor}")  # signed for /events only
    assert elsewhere.status_code == 400


# Its own documented `limit` (how many nearest, at most 100) already keeps it within one page.
ONE_PAGE_ALWAYS = {"/branches/nearest"}


def test_every_get_list_endpoint_is_paginated_and_documented(client) -> None:
    lists = [op for op in OPERATIONS if op.method == "GET" and op.rule not in ONE_PAGE_ALWAYS
             and getattr(op.response, "__origin__", None) is list]
    assert lists and all(op.paginated for op in lists)
    document = client.get("/api/v1/openapi.json").json
    for op in lists:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", op.rule)
        described = document["paths"][f"/api/v1{path}"]["get"]
        names = [p["name"] for p in described["parameters"]]
        assert names.count("limit") == 1 and "cursor" in names, path
        assert {"Link", "X-Total-Count"} <= set(described["responses"]["200"]["headers"])
        assert "400" in described["responses"]
