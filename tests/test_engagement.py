"""Member engagement segments on a hand-built branch, every figure asserted; a fixed number of
statements however many members; the lead page with its filter, pages, CSV download and bulk
nudges and removals; who may see it.

The world (Chengdu, no-show policy: 2 no-shows in the last 3 meetups; days before now):
meetups M1 (20), M2 (100), M3 (170), M4 (200), a cancelled one K (30) and Beijing's X (10).
- Nina joined 10 days ago, never came: new.
- Ann (member 400 days) came to M1: active.
- Rob (400) came to M1, M2, M3: active and regular.
- Lee (100) never came (only to the cancelled K): lurker.
- Olga (400) came to M4 and to Beijing's X: lurker (not in 180 days here).
- Fay (400) going to M1, M2, M3 and came only to M1: active and no-show-prone (2 of 3).
- the cast's lead, staff and member joined today: new.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, literal, select

from branches.models import AuditAction, AuditEntry, Branch, Membership
from branches.services import join_branch
from planner.accounts.models import User
from planner.checkin.services import redeem
from planner.core.db import UTCDateTime
from planner.core.errors import InvalidInput, NotAllowed, NotFound
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.engagement import segments, services
from planner.engagement import views as engagement_views
from planner.engagement.segments import Segment
from planner.events import services as events
from planner.events.models import Event, EventStatus
from planner.notifications import delivery
from planner.notifications.models import OutboxMessage
from planner.registrations import services as registrations
from planner.registrations.models import Registration
from tests.conftest import door_open, login

S = Segment


def meetup(lead: User, branch: Branch, title: str = "Meetup", capacity: int | None = None,
           max_guests: int = 0) -> Event:
    """A published meetup starting soon (so RSVPs and check-ins are open); `held` moves it."""
    starts, ends = door_open(branch)
    [made] = events.schedule(lead, branch, events.EventInput(
        title=title, starts_local=starts, ends_local=ends, online_url="https://meet.example.com/x",
        status=EventStatus.PUBLISHED, capacity=capacity, max_guests=max_guests))
    return made


def held(made: Event, days_ago: float) -> None:
    made.starts_at = utcnow().replace(microsecond=0) - timedelta(days=days_ago)
    made.ends_at = made.starts_at + timedelta(hours=2)


def come(door: User, registration: Registration) -> None:
    assert redeem(door, registration.event_id, ticket_code=registration.ticket_code).ok


def member_since(user: User, branch: Branch, days: int, now: datetime | None = None) -> None:
    join_branch(user, branch)
    membership = db.session.scalar(select(Membership).where(
        Membership.user_id == user.id, Membership.branch_id == branch.id))
    membership.created_at = (now or utcnow()) - timedelta(days=days)


@dataclass
class World:
    people: dict[str, User]
    m1: Event


@pytest.fixture
def world(cast, make_user) -> World:
    branch, lead = cast.branch, cast.lead
    branch.no_show_limit, branch.no_show_window = 2, 3
    people = {name: make_user(name) for name in ("Nina", "Ann", "Rob", "Lee", "Olga", "Fay")}
    for name, days in (("Nina", 10), ("Ann", 400), ("Rob", 400), ("Lee", 100), ("Olga", 400),
                       ("Fay", 400)):
        member_since(people[name], branch, days)
    m1, m2, m3, m4, k = (meetup(lead, branch, f"M{n}") for n in range(1, 6))
    x = meetup(cast.other_lead, cast.other_branch, "X")
    for made, who_came, who_not in (
            (m1, ("Ann", "Rob", "Fay"), ()), (m2, ("Rob",), ("Fay",)),
            (m3, ("Rob",), ("Fay",)), (m4, ("Olga",), ()), (k, ("Lee",), ())):
        for name in who_came:
            come(lead, registrations.rsvp(people[name], made.id))
        for name in who_not:
            registrations.rsvp(people[name], made.id)
    come(cast.other_lead, registrations.rsvp(people["Olga"], x.id))
    k.status = EventStatus.CANCELLED
    for made, days in ((m1, 20), (m2, 100), (m3, 170), (m4, 200), (k, 30), (x, 10)):
        held(made, days)
    db.session.commit()
    return World(people, m1)


def by_name(rows: list[segments.MemberEngagement]) -> dict[str, tuple]:
    return {row.name: (row.attended, row.attended_recently, row.no_shows, row.segments)
            for row in rows}


def test_every_member_in_exactly_their_segments(world: World, cast) -> None:
    result = services.member_engagement(cast.lead, cast.branch)
    assert by_name(result.members) == {
        "Nina": (0, 0, 0, {S.NEW}),
        "Ann": (1, 1, 0, {S.ACTIVE}),
        "Rob": (3, 3, 0, {S.ACTIVE, S.REGULAR}),
        "Lee": (0, 0, 0, {S.LURKER}),
        "Olga": (1, 0, 0, {S.LURKER}),
        "Fay": (1, 1, 2, {S.ACTIVE, S.NO_SHOW_PRONE}),
        "Lead Li": (0, 0, 0, {S.NEW}), "Staff Sun": (0, 0, 0, {S.NEW}),
        "Member Ma": (0, 0, 0, {S.NEW}),
    }
    assert [row.name for row in result.members] == sorted(row.name for row in result.members)
    assert result.counts == {S.NEW: 4, S.ACTIVE: 3, S.REGULAR: 1, S.LURKER: 2,
                             S.NO_SHOW_PRONE: 1}
    assert (result.total, result.matching, result.page, result.pages, result.first) == (
        9, 9, 1, 1, 0)
    lurkers = services.member_engagement(cast.lead, cast.branch, S.LURKER)
    assert [row.name for row in lurkers.members] == ["Lee", "Olga"]
    assert (lurkers.counts, lurkers.total, lurkers.matching) == (result.counts, 9, 2)


def test_counts_agree_with_the_rows_of_each_segment(world: World, cast, make_user) -> None:
    for n in range(5):
        member_since(make_user(f"Old {n}"), cast.branch, 70)  # lurkers
    db.session.commit()
    result = services.member_engagement(cast.lead, cast.branch)
    assert result.counts[S.LURKER] == 7 and result.total == 14
    for segment in Segment:
        chosen = services.member_engagement(cast.lead, cast.branch, segment)
        assert chosen.matching == result.counts[segment] == len(chosen.members), segment
        assert all(segment in row.segments for row in chosen.members)
        assert chosen.members == [row for row in result.members if segment in row.segments]


def test_no_shows_agree_with_the_registration_policy(world: World, cast) -> None:
    rows = {row.name: row.no_shows for row in segments.member_rows(cast.branch, utcnow())}
    for name, user in world.people.items():
        assert rows[name] == registrations.no_shows(user, cast.branch), name
    cast.branch.no_show_window = 1  # only M1, where Fay came
    cast.branch.no_show_limit = 1
    db.session.commit()
    fay = by_name(segments.member_rows(cast.branch, utcnow()))["Fay"]
    assert fay == (1, 1, 0, {S.ACTIVE}) and registrations.no_shows(world.people["Fay"],
                                                                    cast.branch) == 0


def test_policy_off_means_nobody_is_no_show_prone(world: World, cast) -> None:
    cast.branch.no_show_limit = None
    db.session.commit()
    fay = by_name(segments.member_rows(cast.branch, utcnow()))["Fay"]
    assert fay == (1, 1, 2, {S.ACTIVE})
    assert segments.segment_counts(cast.branch, utcnow()).by_segment[S.NO_SHOW_PRONE] == 0
    assert segments.member_rows(cast.branch, utcnow(), S.NO_SHOW_PRONE) == []


def test_segment_boundaries(cast) -> None:
    """The SQL definitions, evaluated by the database on figures given as literals."""
    now = utcnow()
    day = timedelta(days=1)
    cast.branch.no_show_limit = 2

    def of(joined_days: float, recent: int = 0, last_days: float | None = None,
           no_shows: int = 0) -> frozenset[Segment]:
        last = None if last_days is None else now - last_days * day
        figures = segments.Figures(literal(now - joined_days * day, UTCDateTime()),
                                   literal(recent), literal(last, UTCDateTime()),
                                   literal(no_shows))
        flags = segments.segment_flags(cast.branch, now, figures)
        return segments.segments_of(tuple(db.session.execute(select(*flags.values())).one()))

    assert of(30) == {S.NEW} and of(30.001) == set()
    assert of(60) == {S.LURKER} and of(59.99) == set()
    assert of(400, 1, 90) == {S.ACTIVE} and of(400, 1, 90.001) == set()
    assert of(400, 1, 180) == set() and of(400, 1, 180.001) == {S.LURKER}
    assert of(400, 3, 100) == {S.REGULAR} and of(400, 2, 100) == set()
    assert of(400, 0, 100, 2) == {S.NO_SHOW_PRONE} and of(400, 0, 100, 1) == set()
    cast.branch.no_show_limit = None
    assert of(400, 0, 100, 9) == set()


def test_boundaries_on_stored_rows(cast, make_user) -> None:
    """Exactly 30, 60, 90 and 180 days before `now`, as the database compares stored times."""
    now = utcnow()
    branch = cast.branch
    people = {name: make_user(name) for name in ("Day30", "Day60", "Came90", "Came180")}
    for name, days in (("Day30", 30), ("Day60", 60), ("Came90", 400), ("Came180", 400)):
        member_since(people[name], branch, days, now)
    for name, days in (("Came90", 90), ("Came180", 180)):
        made = meetup(cast.lead, branch, f"{days} days ago")
        come(cast.lead, registrations.rsvp(people[name], made.id))
        made.starts_at = now - timedelta(days=days)
        made.ends_at = made.starts_at + timedelta(hours=2)
    db.session.commit()
    rows = {row.name: row.segments for row in segments.member_rows(branch, now)}
    assert rows["Day30"] == {S.NEW} and rows["Day60"] == {S.LURKER}
    assert rows["Came90"] == {S.ACTIVE}
    assert rows["Came180"] == set()  # came exactly 180 days ago: not yet a lurker
    later = segments.member_rows(branch, now + timedelta(seconds=1))
    assert {row.name: row.segments for row in later}["Came180"] == {S.LURKER}


def _statements_during(action) -> list[str]:
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    return statements


def _add_extras(cast, make_user, count: int) -> None:
    """`count` more members, each checked in at a meetup 5 days ago."""
    made = meetup(cast.lead, cast.branch, "M6")
    for n in range(count):
        person = make_user(f"Extra {n:02d}")
        join_branch(person, cast.branch)
        come(cast.lead, registrations.rsvp(person, made.id))
    held(made, 5)
    db.session.commit()


def test_fixed_statements_with_few_or_many_members(world: World, cast, make_user) -> None:
    assert cast.branch.no_show_window and not cast.lead.is_admin  # loaded beforehand

    def page() -> services.Engagement:
        return services.member_engagement(cast.lead, cast.branch, S.ACTIVE, 2, per_page=5)

    few = _statements_during(lambda: segments.member_rows(cast.branch, utcnow()))
    few_page = _statements_during(page)
    _add_extras(cast, make_user, 40)
    assert cast.branch.no_show_window and not cast.lead.is_admin
    rows: list = []
    many = _statements_during(lambda: rows.extend(segments.member_rows(cast.branch, utcnow())))
    many_page = _statements_during(page)
    assert (len(few), len(many), len(rows)) == (1, 1, 49)
    assert by_name(rows)["Extra 07"] == (1, 1, 0, {S.NEW, S.ACTIVE})
    assert len(few_page) == len(many_page) == 3  # who is asking, the counts, the page
    assert "LIMIT" in many_page[-1]


def test_the_page_runs_as_many_statements_for_many_members(client, world: World, cast,
                                                           make_user, monkeypatch) -> None:
    monkeypatch.setattr(engagement_views, "MEMBERS_PER_PAGE", 4)
    login(client, cast.lead)
    url = f"/branches/{cast.branch.slug}/members/engagement?segment=active&page=2"
    few = _statements_during(lambda: client.get(url))
    _add_extras(cast, make_user, 40)
    response: list = []
    many = _statements_during(lambda: response.append(client.get(url)))
    assert len(few) == len(many)
    assert len(member_names(response[0].text)) == 4 and "of 43" in response[0].text


def test_pages_and_segment_are_taken_in_sql(world: World, cast) -> None:
    def names(segment: Segment | None, page: int, per_page: int = 4) -> tuple:
        result = services.member_engagement(cast.lead, cast.branch, segment, page, per_page)
        return [row.name for row in result.members], result.page, result.pages, result.first

    assert names(None, 1) == (["Ann", "Fay", "Lead Li", "Lee"], 1, 3, 0)
    assert names(None, 2) == (["Member Ma", "Nina", "Olga", "Rob"], 2, 3, 4)
    assert names(None, 3) == (["Staff Sun"], 3, 3, 8)
    assert names(None, 99) == names(None, 3) and names(None, -1) == names(None, 1)
    assert names(S.LURKER, 2, per_page=1) == (["Olga"], 2, 2, 1)
    assert names(S.ACTIVE, 5, per_page=2) == (["Rob"], 2, 2, 2)
    assert names(S.REGULAR, 1) == (["Rob"], 1, 1, 0)
    cast.branch.no_show_limit = None
    db.session.commit()
    nobody = services.member_engagement(cast.lead, cast.branch, S.NO_SHOW_PRONE, 3)
    assert (nobody.members, nobody.matching, nobody.page, nobody.pages) == ([], 0, 1, 1)
    rows = segments.member_rows(cast.branch, utcnow(), S.NEW, limit=2, offset=1)
    assert [row.name for row in rows] == ["Member Ma", "Nina"]


def outbox(kind: str = "nudge") -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)
                                   .order_by(OutboxMessage.user_id)))


def test_nudge_is_queued_once_per_member_per_day(world: World, cast) -> None:
    lee, olga = world.people["Lee"], world.people["Olga"]
    assert services.nudge(cast.lead, cast.branch, [lee.id, olga.id]) == services.Nudged(2, [])
    assert services.nudge(cast.lead, cast.branch, [olga.id, lee.id]) == services.Nudged(0, [])
    assert delivery.deliver_due().sent == 2  # rendered as they are sent
    messages = outbox()
    assert [(m.user_id, m.to_address) for m in messages] == [(lee.id, lee.email),
                                                             (olga.id, olga.email)]
    today = utcnow().date().isoformat()
    assert messages[0].dedupe_key == f"nudge:{cast.branch.id}:{lee.id}:{today}"
    assert messages[0].subject == "We miss you at 成都 branch"
    assert "Hello Lee," in messages[0].body
    assert f"http://localhost/branches/{cast.branch.slug}" in messages[0].body
    assert messages[0].ics is None


def test_nudge_in_chinese_for_a_chinese_member(world: World, cast, make_user) -> None:
    person = make_user("Zhang", locale="zh_CN")
    member_since(person, cast.branch, 100)
    services.nudge(cast.lead, cast.branch, [person.id])
    delivery.deliver_due()
    [message] = outbox()
    assert "Hello" not in message.body and "Zhang" in message.body


def test_only_members_of_long_enough_standing_are_nudged(app, world: World, cast,
                                                         make_user) -> None:
    """Exactly the lurker tenure (60 days by default, configurable) in the branch is enough; a
    moment less, or having joined today, is not: they are named instead of mailed."""
    now = utcnow()
    people = {name: make_user(name) for name in ("Sixty", "Almost", "Forty")}
    for name, days in (("Sixty", 60), ("Almost", 59.99), ("Forty", 40)):
        member_since(people[name], cast.branch, days, now)
    db.session.commit()
    chosen = [person.id for person in (*people.values(), world.people["Nina"], cast.member)]
    nudged = services.nudge(cast.lead, cast.branch, chosen)
    assert (nudged.queued, sorted(nudged.too_new)) == (
        1, sorted(["Almost", "Forty", "Nina", cast.member.display_name]))
    assert [m.user_id for m in outbox()] == [people["Sixty"].id]
    app.config["LURKER_MIN_TENURE_DAYS"] = 30
    assert services.nudge(cast.lead, cast.branch, chosen).queued == 2  # Almost and Forty
    lurkers = {row.name for row in segments.member_rows(cast.branch, utcnow(), S.LURKER)}
    assert {"Sixty", "Almost", "Forty"} <= lurkers and "Nina" not in lurkers


def test_bulk_actions_refuse_people_outside_the_branch(world: World, cast) -> None:
    with pytest.raises(NotFound):
        services.nudge(cast.lead, cast.branch, [world.people["Lee"].id, cast.outsider.id])
    with pytest.raises(InvalidInput):
        services.nudge(cast.lead, cast.branch, [])
    with pytest.raises(InvalidInput):
        services.remove(cast.lead, cast.branch, [world.people["Lee"].id], "  ")
    assert outbox() == []
    assert _is_member(world.people["Lee"], cast.branch)


def _is_member(user: User, branch: Branch) -> bool:
    return db.session.scalar(select(func.count()).select_from(Membership).where(
        Membership.user_id == user.id, Membership.branch_id == branch.id)) == 1


def test_remove_reports_whom_the_rules_refuse(world: World, cast, make_user) -> None:
    other_lead = make_user("Second Lead")
    from branches.models import Role
    from branches.services import set_role

    set_role(cast.admin, cast.branch, other_lead.id, Role.LEAD)
    lee, olga = world.people["Lee"], world.people["Olga"]
    result = services.remove(cast.lead, cast.branch,
                             [lee.id, other_lead.id, cast.lead.id, olga.id], "Inactive")
    assert result.removed == ["Lee", "Olga"]
    assert [name for name, _why in result.refused] == ["Lead Li", "Second Lead"]
    assert not _is_member(lee, cast.branch) and _is_member(other_lead, cast.branch)
    audit = db.session.scalars(select(AuditEntry.subject_id).where(
        AuditEntry.action == AuditAction.REMOVED, AuditEntry.detail == "Inactive")).all()
    assert sorted(audit) == sorted([lee.id, olga.id])


def member_names(html: str) -> list[str]:
    return re.findall(r'<label for="member-\d+">([^<]+)</label>', html)


def test_lead_page_filters_and_applies_bulk_actions(client, world: World, cast) -> None:
    login(client, cast.lead)
    slug = cast.branch.slug
    page = client.get(f"/branches/{slug}/members/engagement")
    assert page.status_code == 200
    assert member_names(page.text) == ["Ann", "Fay", "Lead Li", "Lee", "Member Ma", "Nina",
                                       "Olga", "Rob", "Staff Sun"]
    assert "Lurker (2)" in page.text and "What the segments mean" in page.text
    assert member_names(client.get(f"/branches/{slug}/members/engagement?segment=lurker")
                        .text) == ["Lee", "Olga"]
    assert len(member_names(client.get(f"/branches/{slug}/members/engagement?segment=bogus")
                            .text)) == 9
    lee, olga = world.people["Lee"], world.people["Olga"]
    nudged = client.post(f"/branches/{slug}/members/engagement?segment=lurker",
                         data={"members": [lee.id, olga.id], "action": "nudge"})
    assert nudged.status_code == 302
    assert nudged.headers["Location"] == f"/branches/{slug}/members/engagement?segment=lurker"
    assert "2 nudges queued" in client.get(nudged.headers["Location"]).text
    assert len(outbox()) == 2
    newcomer = client.post(f"/branches/{slug}/members/engagement", follow_redirects=True,
                           data={"members": [world.people["Nina"].id], "action": "nudge"})
    assert "Nina was not nudged: they joined the branch too recently." in newcomer.text
    assert len(outbox()) == 2
    no_reason = client.post(f"/branches/{slug}/members/engagement",
                            data={"members": [lee.id], "action": "remove", "reason": ""},
                            follow_redirects=True)
    assert "Give a reason." in no_reason.text and _is_member(lee, cast.branch)
    removed = client.post(f"/branches/{slug}/members/engagement", follow_redirects=True,
                          data={"members": [lee.id], "action": "remove", "reason": "Gone"})
    assert "1 member removed." in removed.text and not _is_member(lee, cast.branch)
    nothing = client.post(f"/branches/{slug}/members/engagement", follow_redirects=True,
                          data={"action": "nudge"})
    assert "Select at least one member." in nothing.text


def test_the_member_list_comes_a_page_at_a_time(client, world: World, cast,
                                                monkeypatch) -> None:
    monkeypatch.setattr(engagement_views, "MEMBERS_PER_PAGE", 4)
    login(client, cast.lead)
    url = f"/branches/{cast.branch.slug}/members/engagement"
    first = client.get(url).text
    assert member_names(first) == ["Ann", "Fay", "Lead Li", "Lee"]
    assert "Members 1–4 of 9" in first and 'rel="next"' in first and 'rel="prev"' not in first
    assert "Everyone (9)" in first  # the counts are still of everyone
    last = client.get(f"{url}?page=3").text
    assert member_names(last) == ["Staff Sun"] and "Members 9–9 of 9" in last
    assert 'rel="prev"' in last and 'rel="next"' not in last
    assert member_names(client.get(f"{url}?page=99").text) == ["Staff Sun"]
    assert member_names(client.get(f"{url}?page=-1").text) == member_names(first)
    lurkers = client.get(f"{url}?segment=lurker").text
    assert member_names(lurkers) == ["Lee", "Olga"] and 'id="pager"' not in lurkers


def test_bulk_action_needs_the_csrf_token(make_app, world: World, cast) -> None:
    from tests.conftest import PASSWORD

    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    token = token or re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    logged_in = client.post("/login", data={"email": cast.lead.email, "password": PASSWORD,
                                            "csrf_token": token.group(1)})
    assert logged_in.status_code == 302
    response = client.post(f"/branches/{cast.branch.slug}/members/engagement",
                           data={"members": [world.people["Lee"].id], "action": "nudge"})
    assert response.status_code == 400
    with app.app_context():
        assert outbox() == []


MEMBERS_CSV_HEADER = ["Name", "Role", "Joined", "Meetups attended",
                      "Attended in the last 180 days", "Last attended", "No-shows", "Segments"]


def csv_rows(response) -> list[list[str]]:
    assert response.data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_csv_has_every_member_of_the_segment(client, world: World, cast, monkeypatch) -> None:
    monkeypatch.setattr(engagement_views, "MEMBERS_PER_PAGE", 4)  # the file is not one page
    login(client, cast.lead)
    url = f"/branches/{cast.branch.slug}/members/engagement.csv"
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="chengdu-members-everyone.csv"')
    assert response.headers["Cache-Control"] == "private, no-store"
    header, *rows = csv_rows(response)
    assert header == MEMBERS_CSV_HEADER
    assert [row[0] for row in rows] == ["Ann", "Fay", "Lead Li", "Lee", "Member Ma", "Nina",
                                        "Olga", "Rob", "Staff Sun"]
    by = {row[0]: row for row in rows}
    assert by["Rob"][1] == "Member" and by["Lead Li"][1] == "Lead"
    assert by["Rob"][3:5] + by["Rob"][6:] == ["3", "3", "0", "Active, Regular"]
    assert by["Olga"][3:5] + by["Olga"][6:] == ["1", "0", "0", "Lurker"]
    assert by["Fay"][6:] == ["2", "Active, No-show-prone"]
    assert by["Nina"][5] == "—"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d\+08:00", by["Nina"][2])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d\+08:00", by["Ann"][5])
    lurkers = client.get(f"{url}?segment=lurker")
    assert [row[0] for row in csv_rows(lurkers)[1:]] == ["Lee", "Olga"]
    assert 'filename="chengdu-members-lurker.csv"' in lurkers.headers["Content-Disposition"]
    assert len(csv_rows(client.get(f"{url}?segment=bogus"))) == 10  # everyone, as the page


def test_csv_neutralises_formulas_and_speaks_the_readers_language(client, world: World, cast,
                                                                  make_user) -> None:
    member_since(make_user('=HYPERLINK("http://evil.example","x")'), cast.branch, 100)
    db.session.commit()
    login(client, cast.lead)
    url = f"/branches/{cast.branch.slug}/members/engagement.csv?segment=lurker"
    names = [row[0] for row in csv_rows(client.get(url))[1:]]
    assert names == ["'=HYPERLINK(\"http://evil.example\",\"x\")", "Lee", "Olga"]
    cast.lead.locale = "zh_CN"
    db.session.commit()
    header, *rows = csv_rows(client.get(url))
    assert header[0] == "姓名" and rows[1][0] == "Lee" and rows[1][7] == "潜水"


def test_page_links_to_the_csv_of_its_segment(client, world: World, cast) -> None:
    login(client, cast.lead)
    slug = cast.branch.slug
    page = client.get(f"/branches/{slug}/members/engagement?segment=lurker").text
    assert f'href="/branches/{slug}/members/engagement.csv?segment=lurker"' in page
    everyone = client.get(f"/branches/{slug}/members/engagement").text
    assert f'href="/branches/{slug}/members/engagement.csv"' in everyone


@pytest.mark.parametrize("who", ["staff", "member", "outsider", "other_lead"])
def test_only_leads_of_the_branch_and_admins(client, world: World, cast, who: str) -> None:
    person = getattr(cast, who)
    login(client, person)
    slug = cast.branch.slug
    assert client.get(f"/branches/{slug}/members/engagement").status_code == 403
    assert client.get(f"/branches/{slug}/members/engagement.csv").status_code == 403
    response = client.post(f"/branches/{slug}/members/engagement",
                           data={"members": [world.people["Lee"].id], "action": "remove",
                                 "reason": "x"})
    assert response.status_code == 403
    with pytest.raises(NotAllowed):
        services.member_engagement(person, cast.branch)
    with pytest.raises(NotAllowed):
        services.member_export(person, cast.branch)
    with pytest.raises(NotAllowed):
        services.nudge(person, cast.branch, [world.people["Lee"].id])
    assert outbox() == [] and _is_member(world.people["Lee"], cast.branch)


def test_signed_out_visitors_are_sent_to_log_in(client, cast) -> None:
    for url in (f"/branches/{cast.branch.slug}/members/engagement",
                f"/branches/{cast.branch.slug}/members/engagement.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_sees_the_page(client, world: World, cast) -> None:
    login(client, cast.admin)
    page = client.get(f"/branches/{cast.branch.slug}/members/engagement?segment=regular")
    assert page.status_code == 200 and member_names(page.text) == ["Rob"]
    csv_file = client.get(f"/branches/{cast.branch.slug}/members/engagement.csv?segment=regular")
    assert [row[0] for row in csv_rows(csv_file)] == ["Name", "Rob"]
