"""Topics and word search (issue 16): meetups carry topics from their branch's list, and members
find them by words of the title and description, Chinese substrings included, on both
databases, through the indexes the migrations make."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from branches import services as branches
from planner.core.extensions import db
from planner.events import services as events
from planner.events.models import Event, EventStatus
from planner.events.search import matching
from tests.conftest import bearer, login

# Within the year ahead that a search looks at by default.
START = (datetime.now() + timedelta(days=60)).replace(hour=14, minute=0, second=0, microsecond=0)
AT = START.isoformat(timespec="minutes")
UNTIL = START.replace(hour=16).isoformat(timespec="minutes")


def meetup(cast, title: str, description: str = "", *, status=EventStatus.PUBLISHED,
           tags: tuple[str, ...] = (), branch=None, lead=None) -> Event:
    [event] = events.schedule(lead or cast.lead, branch or cast.branch, events.EventInput(
        title=title, description=description, starts_local=START,
        ends_local=START.replace(hour=16), online_url="https://meet.example/x", status=status,
        tags=tags))
    db.session.commit()
    return event


def titles(client, **query) -> list[str]:
    answer = client.get("/api/v1/events", query_string=query)
    assert answer.status_code == 200, answer.text
    return [event["title"] for event in answer.json]


@pytest.fixture
def shelf(cast):
    meetup(cast, "周六读书会", "一起读《红楼梦》")
    meetup(cast, "Saturday hiking", "Up Qingcheng mountain; bring water")
    meetup(cast, "Poetry night", "We read poems aloud — 读诗", branch=cast.other_branch,
           lead=cast.other_lead)
    meetup(cast, "草稿：读书会筹备", status=EventStatus.DRAFT)


@pytest.mark.parametrize(("words", "found"), [
    ("读书", ["周六读书会"]),  # two characters: shorter than a trigram
    ("读书会", ["周六读书会"]),  # three: through the trigram index
    ("红楼梦", ["周六读书会"]),  # in the description
    ("HIKING", ["Saturday hiking"]),  # case aside
    ("qingcheng water", ["Saturday hiking"]),  # every word, anywhere
    ("hiking 读书", []),
    ("读", ["Poetry night", "周六读书会"]),
    ("%", []),  # LIKE's wildcards are just characters
    ("_", []),
])
def test_words_find_meetups_across_the_network(client, shelf, words, found):
    assert sorted(titles(client, q=words)) == sorted(found)


def test_a_branchs_leads_find_its_drafts_and_nobody_else_does(client, cast, shelf):
    assert titles(client, q="读书会", branch=cast.branch.slug) == ["周六读书会"]
    lead = bearer(client, cast.lead)
    answer = client.get("/api/v1/events", query_string={"q": "读书会", "branch": "chengdu"},
                        headers=lead)
    assert sorted(e["title"] for e in answer.json) == ["周六读书会", "草稿：读书会筹备"]
    assert titles(client, q="筹备") == []  # network-wide, drafts are nobody's to see


def test_the_index_follows_edits_and_deletions(client, cast):
    event = meetup(cast, "周六读书会")
    lead = bearer(client, cast.lead)
    assert client.patch(f"/api/v1/events/{event.id}", json={"title": "周日徒步"},
                        headers=lead).status_code == 200
    assert titles(client, q="读书会") == [] and titles(client, q="周日徒步") == ["周日徒步"]
    db.session.delete(db.session.get(Event, event.id))
    db.session.commit()
    assert titles(client, q="周日徒步") == []


def test_long_terms_use_the_trigram_index(app, shelf):
    """The query's expression is the index's (PostgreSQL), or goes through the FTS5 table
    (SQLite): a change to either that breaks the match makes this fail, not only slow."""
    query = select(Event.id).where(matching("读书会"))
    compiled = query.compile(db.engine)  # with its parameters, as the app sends it
    connection = db.session.connection()
    if db.engine.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = " ".join(row[0] for row in connection.exec_driver_sql(
            f"EXPLAIN {compiled}", compiled.params))
        assert "ix_events_search_trgm" in plan
    else:
        plan = " ".join(row[-1] for row in connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}", tuple(compiled.params.values())))
        assert "VIRTUAL TABLE INDEX" in plan and "events_fts" in plan
    db.session.rollback()


def test_topics_tag_meetups_and_members_browse_by_them(client, cast):
    lead = bearer(client, cast.lead)
    for name in ("读书", "Hiking"):
        assert client.post(f"/api/v1/branches/{cast.branch.slug}/topics", json={"name": name},
                           headers=lead).status_code == 201
    twin = client.post(f"/api/v1/branches/{cast.branch.slug}/topics", json={"name": " hiking "},
                       headers=lead)
    assert twin.status_code == 422
    assert twin.json["error"]["fields"] == {"name": ["The branch has this topic already."]}
    assert [t["name"] for t in client.get(
        f"/api/v1/branches/{cast.branch.slug}/topics").json] == ["Hiking", "读书"]

    created = client.post(f"/api/v1/branches/{cast.branch.slug}/events", headers=lead, json={
        "title": "周六读书会", "starts_at": AT, "ends_at": UNTIL,
        "online_url": "https://meet.example/r", "status": "published", "tags": ["读书"]})
    assert created.status_code == 201, created.text
    assert created.json[0]["tags"] == ["读书"]
    meetup(cast, "Saturday hiking", tags=("hiking",))  # the key compares, the name is kept
    assert titles(client, tag="读书") == ["周六读书会"]
    assert titles(client, tag="Hiking", branch=cast.branch.slug) == ["Saturday hiking"]

    unknown = client.post(f"/api/v1/branches/{cast.branch.slug}/events", headers=lead, json={
        "title": "Chess", "starts_at": AT, "ends_at": UNTIL,
        "online_url": "https://meet.example/c", "tags": ["chess"]})
    assert unknown.status_code == 422
    assert unknown.json["error"]["fields"] == {"tags": ["chess is not one of the branch's topics."]}
    wrong_type = client.post(f"/api/v1/branches/{cast.branch.slug}/events", headers=lead,
                             json={"title": "Chess", "tags": "读书"})
    assert "tags" in wrong_type.json["error"]["fields"]

    [reading] = client.get(f"/api/v1/branches/{cast.branch.slug}/topics").json[1:]
    assert client.delete(f"/api/v1/branches/{cast.branch.slug}/topics/{reading['id']}",
                         headers=lead).status_code == 204
    assert titles(client, tag="读书") == []
    event_id = created.json[0]["id"]
    assert client.get(f"/api/v1/events/{event_id}").json["tags"] == []


def test_only_leads_change_a_branchs_topics(client, cast):
    topic = branches.add_topic(cast.lead, cast.branch, "读书")
    db.session.commit()
    for person in (cast.member, cast.staff, cast.other_lead):
        token = bearer(client, person)
        assert client.post(f"/api/v1/branches/{cast.branch.slug}/topics", json={"name": "x"},
                           headers=token).status_code == 403
        assert client.delete(f"/api/v1/branches/{cast.branch.slug}/topics/{topic.id}",
                             headers=token).status_code == 403
    other = branches.add_topic(cast.other_lead, cast.other_branch, "诗")
    db.session.commit()
    assert client.delete(f"/api/v1/branches/{cast.branch.slug}/topics/{other.id}",
                         headers=bearer(client, cast.lead)).status_code == 404


def test_a_lead_manages_topics_and_tags_a_meetup_on_the_pages(client, cast):
    event = meetup(cast, "周六读书会")
    login(client, cast.lead)
    added = client.post(f"/branches/{cast.branch.slug}/topics", data={"name": "读书"},
                        follow_redirects=True)
    assert "Topic 读书 added." in added.text
    refused = client.post(f"/branches/{cast.branch.slug}/topics", data={"name": "读书"},
                          follow_redirects=True)
    assert "Topic: The branch has this topic already." in refused.text
    form = client.get(f"/events/{event.id}/edit").text
    assert 'type="checkbox" value="读书"' in form
    saved = client.post(f"/events/{event.id}/edit", data={
        "title": "周六读书会", "starts_at": AT, "ends_at": UNTIL,
        "online_url": "https://meet.example/x", "status": "published", "tags": "读书",
        "scope": "this"}, follow_redirects=True)
    assert "Meetup saved." in saved.text
    assert 'href="/events/search?branch=chengdu&amp;tag=%E8%AF%BB%E4%B9%A6"' in saved.text
    branch_page = client.get(f"/branches/{cast.branch.slug}").text
    assert ">读书</a>" in branch_page


def test_the_search_page_finds_meetups_by_words_and_topic(client, cast, shelf):
    page = client.get("/events/search", query_string={"q": "读书"}).text
    assert "1 meetup" in page and "周六读书会" in page and "草稿" not in page
    assert "No meetup to come matches." in client.get(
        "/events/search", query_string={"q": "chess"}).text
    too_long = client.get("/events/search", query_string={"q": "x" * 101})
    assert too_long.status_code == 200 and "周六读书会" not in too_long.text
