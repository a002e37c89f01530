"""The kept totals (planner/funnel/rollups.py) against the live count of report.py: after every
kind of change the branch and network figures read from them must equal a count from scratch.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from itertools import combinations_with_replacement

import pytest
from sqlalchemy import false, select, true

from planner.accounts.services import issue_api_token
from planner.checkin.services import WalkIn, register_walk_in, undo
from planner.core.errors import InvalidInput, NotAllowed
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events.localtime import utc_to_local
from planner.events.models import Event, EventStatus
from planner.funnel import report, rollups
from planner.funnel import services as funnel
from planner.funnel.attribution import VISITOR_COOKIE
from planner.funnel.models import Channel, MeetupFigures, MeetupFill, ReachDay, StaleMeetup
from planner.registrations import services as registrations
from planner.registrations.models import Registration
from tests.conftest import make_branch
from tests.test_checkin import meetup
from tests.test_checkin_concurrency import scan
from tests.test_funnel import BROWSER, DAY_A, World, build_world, come, move
from tests.test_rsvp_concurrency import members

EMPTY = report.Figures(0, 0, 0, 0, 0, 0, 0, 0, 0)


@pytest.fixture
def world(cast, make_user) -> World:
    """The hand-built world of tests/test_funnel.py."""
    return build_world(cast, make_user)


def _ranges() -> list[tuple[date, date]]:
    """Whole UTC days: everything, meetup A's day alone, and B and C without A."""
    today = utcnow().date()
    return [((DAY_A - timedelta(days=1)).date(), today), (DAY_A.date(), DAY_A.date()),
            ((DAY_A + timedelta(days=20)).date(), today)]


def assert_kept_equals_live(*branches) -> None:
    for start, end in _ranges():
        window = report.day_range(start, end)
        assert rollups.network_funnel(start, end) == report.funnel(report.range_scope(*window))
        kept = rollups.by_branch(start, end)
        for branch in branches:
            live = report.funnel(report.range_scope(*window, branch))
            assert kept.get(branch.id, EMPTY) == live.overall, (branch.name, start, end)
            local = report.range_scope(*report.day_range(start, end, branch.timezone), branch)
            assert rollups.branch_funnel(local) == report.funnel(local)
        db.session.commit()


def assert_fills_equal_live() -> None:
    """Every kept fill time is the one the live query gives (meetups with a capacity)."""
    kept = db.session.execute(select(MeetupFill.event_id, MeetupFill.filled_at)).all()
    live = db.session.execute(select(Event.id, rollups.filled_at()).where(
        Event.capacity.is_not(None))).all()
    assert sorted(kept) == sorted(live) and live


def registration(event: Event, name: str) -> Registration:
    return db.session.scalars(select(Registration).join(Registration.user).where(
        Registration.event_id == event.id, Registration.user.has(display_name=name))).one()


def test_kept_figures_equal_a_count_from_scratch_after_every_change(world: World,
                                                                     cast) -> None:
    branches = (cast.branch, cast.other_branch)
    assert_kept_equals_live(*branches)
    late = registration(world.a, "P3")  # a no-show at A checked in after all
    come(cast.lead, late)
    assert_kept_equals_live(*branches)
    undo(cast.lead, world.b.id, registration(world.b, "P0").id)  # p0 no longer returned for A
    assert_kept_equals_live(*branches)
    move(world.c, 60)  # p1 at C is now a return for A
    db.session.commit()
    assert_kept_equals_live(*branches)
    world.b.status = EventStatus.CANCELLED
    db.session.commit()
    assert_kept_equals_live(*branches)
    register_walk_in(cast.other_lead, world.x.id, WalkIn("Walk Li", source="poster"))
    register_walk_in(cast.lead, world.c.id, WalkIn("Walk Qian", guests=2, source="chat_group"))
    assert_kept_equals_live(*branches)


def test_a_check_in_makes_stale_the_members_meetups_of_that_branch_only(world: World,
                                                                        cast) -> None:
    rollups.refresh_meetup_figures()
    db.session.commit()
    assert not db.session.scalars(select(StaleMeetup.event_id)).all()
    come(cast.lead, registration(world.b, "P1"))  # p1 had not come to B
    stale = set(db.session.scalars(select(StaleMeetup.event_id)))
    # p1's Chengdu meetups: A, B and C; not X, p1's meetup in Beijing.
    assert stale == {world.a.id, world.b.id, world.c.id}
    assert rollups.refresh_meetup_figures() == 3
    db.session.commit()
    assert not db.session.scalars(select(StaleMeetup.event_id)).all()


def test_a_branch_funnel_refreshes_only_that_branchs_meetups(world: World, cast) -> None:
    rollups.refresh_meetup_figures()
    db.session.commit()
    move(world.x, 20)  # Beijing
    move(world.b, 40)  # Chengdu
    db.session.commit()
    start, end = (DAY_A - timedelta(days=1)).date(), utcnow().date()
    funnel.branch_funnel(cast.lead, cast.branch, start, end)
    assert set(db.session.scalars(select(StaleMeetup.event_id))) == {world.x.id}
    funnel.network_funnel(cast.admin, start, end)
    assert not db.session.scalars(select(StaleMeetup.event_id)).all()


def test_moving_a_meetup_makes_its_members_other_meetups_stale(world: World, cast) -> None:
    rollups.refresh_meetup_figures()
    db.session.commit()
    move(world.x, 20)  # p1 is X's only member; p1's other Beijing meetups: none
    db.session.commit()
    assert set(db.session.scalars(select(StaleMeetup.event_id))) == {world.x.id}
    world.a.title = "A, renamed"  # the figures do not read titles
    db.session.commit()
    assert set(db.session.scalars(select(StaleMeetup.event_id))) == {world.x.id}


@pytest.fixture
def visits_over_days(cast, monkeypatch):
    """Four visitors over six days, on links of two channels in two branches; returns the
    first day and the branches."""
    meetup_link = funnel.create_link(cast.lead, cast.branch, "Group", Channel.CHAT_GROUP)
    poster = funnel.create_link(cast.lead, cast.branch, "Poster", Channel.POSTER)
    elsewhere = funnel.create_link(cast.other_lead, cast.other_branch, "Beijing group",
                                   Channel.CHAT_GROUP)
    first = (utcnow() - timedelta(days=10)).replace(hour=12)
    plan = [(0, meetup_link, "v1"), (0, meetup_link, "v2"), (1, poster, "v1"),
            (2, elsewhere, "v1"), (2, meetup_link, "v3"), (3, meetup_link, "v1"),
            (4, elsewhere, "v2"), (4, poster, "v2"), (5, poster, "v4"), (5, elsewhere, "v4"),
            (5, poster, "v3")]
    for day, link, visitor in plan:
        monkeypatch.setattr(funnel, "utcnow", lambda day=day: first + timedelta(days=day))
        funnel.record_visit(link, f"{visitor}-visitor-key-0000", BROWSER)
    return first.date(), (cast.branch, cast.other_branch)


def _live_reached(start: date, end: date, branch=None) -> tuple[int, dict[str, int]]:
    return report.reached(report.range_scope(*report.day_range(start, end), branch))


def test_visitors_of_any_range_of_days_counted_once(visits_over_days) -> None:
    first, branches = visits_over_days
    days = [first + timedelta(days=n) for n in range(-1, 7)]
    for start, end in combinations_with_replacement(days, 2):
        funnel_ = rollups.network_funnel(start, end)
        overall, by_channel = _live_reached(start, end)
        assert funnel_.overall.reached == overall, (start, end)
        assert {c: f.reached for c, f in funnel_.by_channel} == by_channel, (start, end)
        kept = rollups.by_branch(start, end)
        for branch in branches:
            expected = _live_reached(start, end, branch)[0]
            assert kept.get(branch.id, EMPTY).reached == expected, (branch.name, start, end)
    everything = rollups.network_funnel(first, first + timedelta(days=5))
    assert everything.overall.reached == 4
    assert [(c, f.reached) for c, f in everything.by_channel] == [
        ("chat_group", 4), ("poster", 4)]


def test_recounting_visitors_gives_the_same_rows(visits_over_days) -> None:
    def rows() -> list[tuple[object, ...]]:
        return sorted(tuple(row) for row in db.session.execute(select(
            ReachDay.kind, ReachDay.day, ReachDay.branch_id, ReachDay.channel,
            ReachDay.previous_day, ReachDay.visitors)))

    counted_one_by_one = rows()
    assert counted_one_by_one
    rollups.rebuild_reach(db.session)
    db.session.commit()
    assert rows() == counted_one_by_one


def test_refresh_command_recounts_everything(runner, world: World, cast) -> None:
    db.session.execute(ReachDay.__table__.delete())
    db.session.commit()
    result = runner.invoke(args=["refresh-funnel", "--rebuild"])
    assert result.exit_code == 0 and "Refreshed" in result.output
    assert not db.session.scalars(select(StaleMeetup.event_id)).all()
    assert_kept_equals_live(cast.branch, cast.other_branch)


def test_a_new_branch_with_nothing_yet_has_no_figures(cast) -> None:
    branch = make_branch(cast.admin, "empty", "上海")
    today = utcnow().date()
    assert branch.id not in rollups.by_branch(today - timedelta(days=30), today)


def _get(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_figures_stay_exact_while_doors_scan_and_leads_read(live_server, cast) -> None:
    """Four doors check 40 people in while two leads keep reading the branch funnel (each
    read refreshes the stale meetups): no read fails, and afterwards the kept figures are
    exactly a count from scratch."""
    earlier, tonight = meetup(cast, 40, "Earlier"), meetup(cast, 40, "Tonight")
    crowd = members(40)
    for person in crowd:
        registrations.rsvp(person, earlier.id)
        registrations.rsvp(person, tonight.id)
    move_by(earlier, timedelta(days=-30))  # held a month ago: RSVPed while it was ahead
    for person in crowd[:20]:
        come(cast.lead, registration(earlier, person.display_name))
    codes = list(db.session.scalars(select(Registration.ticket_code).where(
        Registration.event_id == tonight.id)))
    doors = [issue_api_token(cast.staff) for _door in range(4)]
    reader = issue_api_token(cast.lead)
    scan_url = f"{live_server}/api/v1/events/{tonight.id}/checkins"
    year = tonight.starts_at.year
    funnel_url = (f"{live_server}/api/v1/branches/{cast.branch.slug}/funnel"
                  f"?from={year - 1}-01-01&to={year}-12-31")
    expected = {earlier.id: (20, 20), tonight.id: (40, 0)}
    db.session.commit()  # and no query here until the doors are done (SQLite's write lock)
    scanning = threading.Event()
    scanning.set()

    def read() -> set[int]:
        statuses = {_get(funnel_url, reader)}
        while scanning.is_set():
            statuses.add(_get(funnel_url, reader))
        return statuses

    def door(number: int) -> list[tuple[int, str]]:
        return [scan(scan_url, doors[number], code) for code in codes[number::4]]

    with ThreadPoolExecutor(max_workers=6) as pool:
        readers = [pool.submit(read) for _reader in range(2)]
        try:
            answers = [answer for answers in pool.map(door, range(4)) for answer in answers]
        finally:
            scanning.clear()
        statuses = set().union(*(future.result() for future in readers))
    assert answers == [(201, "ok")] * 40 and statuses == {200}
    db.session.expire_all()
    rollups.refresh_meetup_figures()
    db.session.commit()
    kept = db.session.execute(select(
        MeetupFigures.event_id, MeetupFigures.channel, MeetupFigures.registered,
        MeetupFigures.guests_registered, MeetupFigures.attended, MeetupFigures.guests_attended,
        MeetupFigures.returned, MeetupFigures.first_timers, MeetupFigures.going,
        MeetupFigures.absent)).all()
    from_scratch = db.session.execute(report.meetup_figures(report.Scope(true(), false())))
    assert sorted(kept) == sorted(tuple(row) for row in from_scratch)
    assert_fills_equal_live()
    assert {row.event_id: (row.attended, row.returned) for row in kept} == expected


def move_by(event: Event, delta: timedelta) -> None:
    event.starts_at += delta
    event.ends_at += delta
    db.session.commit()


def _open(url: str, visitor: str) -> int:
    request = urllib.request.Request(url, headers={
        "Cookie": f"{VISITOR_COOKIE}={visitor}", "User-Agent": BROWSER})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_a_browser_opening_two_links_at_once_is_one_visitor(live_server, cast) -> None:
    links = [funnel.create_link(cast.lead, cast.branch, "Group", Channel.CHAT_GROUP),
             funnel.create_link(cast.lead, cast.branch, "Poster", Channel.POSTER)]
    urls = [f"{live_server}/i/{link.code}" for link in links]
    today = utcnow().date()
    db.session.commit()
    for number in range(15):
        visitor = f"browser-{number:02d}-0000000000"
        barrier = threading.Barrier(2)

        def open_at_once(url: str, visitor: str = visitor, barrier=barrier) -> int:
            barrier.wait()
            return _open(url, visitor)

        with ThreadPoolExecutor(max_workers=2) as pool:
            assert set(pool.map(open_at_once, urls)) <= {200, 302, 303}
    days = today, today + timedelta(days=1)  # should midnight pass meanwhile
    result = rollups.network_funnel(*days)
    assert result.overall.reached == 15
    assert [(c, f.reached) for c, f in result.by_channel] == [("chat_group", 15),
                                                              ("poster", 15)]
    assert rollups.by_branch(*days)[cast.branch.id].reached == 15


def test_monthly_trend_adds_up_each_meetups_own_funnel(world: World, cast) -> None:
    start, end = (DAY_A - timedelta(days=40)).date(), utcnow().date()
    zone = cast.branch.timezone
    expected: dict[date, tuple[int, int]] = {}
    for meetup_ in (world.a, world.b, world.c):
        overall = report.funnel(report.meetup_scope(meetup_)).overall
        month = utc_to_local(meetup_.starts_at, zone).date().replace(day=1)
        before = expected.get(month, (0, 0))
        expected[month] = (before[0] + overall.registered, before[1] + overall.attended)
    scope = report.range_scope(*report.day_range(start, end, zone), cast.branch)
    months = rollups.monthly(scope.events, start, end, zone)
    assert {month: (registered, attended) for month, registered, attended in months
            if registered} == expected
    assert months[0][0] == start.replace(day=1) and months[-1][0] == end.replace(day=1)
    assert sum(registered for _month, registered, _attended in months) == 8  # 5 + 2 + 1


def test_monthly_trend_only_for_the_branchs_leads_or_admins(world: World, cast) -> None:
    start, end = (DAY_A - timedelta(days=1)).date(), utcnow().date()
    assert funnel.monthly_trend(cast.lead, start, end, cast.branch)
    assert funnel.monthly_trend(cast.admin, start, end)
    with pytest.raises(NotAllowed):
        funnel.monthly_trend(cast.other_lead, start, end, cast.branch)
    with pytest.raises(NotAllowed):
        funnel.monthly_trend(cast.lead, start, end)
    with pytest.raises(InvalidInput):
        funnel.monthly_trend(cast.lead, end, start, cast.branch)
