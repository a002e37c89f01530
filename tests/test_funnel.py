"""The funnel's figures on a small hand-built world, every number asserted exactly.

The world (branch Chengdu unless said otherwise; times are shifted into the past at the end so
the meetups have ended):
- meetup A (day 0, max 2 guests) with links L1 (chat group), L2 (poster), L3 (social post,
  never used); meetup B (day 31), meetup C (day 153), meetup X in Beijing (day 14);
  a branch-wide link LB (social post).
- visitors: v1 opens L1 then L2; v2 opens L1 twice; v3 opens L2; a Telegram preview opens L1;
  v4 opens LB.
- A: p0 RSVPs via L2 and comes; p1 via L1 with 2 guests and comes; p2 RSVPs and cancels;
  p3 RSVPs and does not come; walk-in Wang (source "chat_group", 1 guest); walk-in Zhao
  (source "微信群").
- B: p0 RSVPs via LB and comes (so p0 returned for A); p1 RSVPs and does not come.
- C: p1 comes (153 days after A: not a return). X (Beijing): p1 comes (other branch).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import event as sa_event

from planner.checkin.services import WalkIn, redeem, register_walk_in
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events import services as events
from planner.events.localtime import utc_to_local
from planner.events.models import Event, EventStatus
from planner.funnel import report, services
from planner.funnel.models import Channel, InviteLink
from planner.funnel.report import Figures
from planner.registrations import services as registrations
from planner.registrations.models import Registration
from tests.conftest import door_open

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.40"
DAY_A = utcnow().replace(microsecond=0) - timedelta(days=200)


@dataclass
class World:
    a: Event
    b: Event
    c: Event
    x: Event
    l1: InviteLink
    l2: InviteLink
    l3: InviteLink
    lb: InviteLink


def meetup(lead, branch, title: str, max_guests: int = 0) -> Event:
    """A meetup starting soon, so its door takes check-ins; `move` sets when it was held."""
    starts, ends = door_open(branch)
    [made] = events.schedule(lead, branch, events.EventInput(
        title=title, starts_local=starts, ends_local=ends, online_url="https://meet.example.com/x",
        status=EventStatus.PUBLISHED,
        max_guests=max_guests))
    return made


def come(actor, registration: Registration) -> None:
    """Check in; for a meetup already held, as an offline door would send it: at its start."""
    at = min(utcnow(), registration.event.starts_at)
    assert redeem(actor, registration.event_id, ticket_code=registration.ticket_code,
                  scanned_at=at).ok


def move(meetup_: Event, days: int) -> None:
    meetup_.starts_at = DAY_A + timedelta(days=days)
    meetup_.ends_at = meetup_.starts_at + timedelta(hours=2)


@pytest.fixture
def world(cast, make_user) -> World:
    return build_world(cast, make_user)


def build_world(cast, make_user) -> World:
    lead = cast.lead
    a, b, c = (meetup(lead, cast.branch, "A", 2), meetup(lead, cast.branch, "B"),
               meetup(lead, cast.branch, "C"))
    x = meetup(cast.other_lead, cast.other_branch, "X")
    l1 = services.create_link(lead, cast.branch, "WeChat group 1", Channel.CHAT_GROUP, a)
    l2 = services.create_link(lead, cast.branch, "Library poster", Channel.POSTER, a)
    l3 = services.create_link(lead, cast.branch, "Weibo", Channel.SOCIAL_POST, a)
    lb = services.create_link(lead, cast.branch, "Branch post", Channel.SOCIAL_POST)
    for link, visitor in ((l1, "v1"), (l2, "v1"), (l1, "v2"), (l1, "v2"), (l2, "v3"),
                          (lb, "v4")):
        services.record_visit(link, f"{visitor}-visitor-key-0000", BROWSER)
    services.record_visit(l1, "telegram-preview-key", "TelegramBot (like TwitterBot)")
    p = [make_user(f"P{n}") for n in range(4)]
    a0 = registrations.rsvp(p[0], a.id, invite_code=l2.code)
    a1 = registrations.rsvp(p[1], a.id, guests=2, invite_code=l1.code)
    registrations.rsvp(p[2], a.id)
    registrations.cancel(p[2], a.id)
    registrations.rsvp(p[3], a.id)
    come(lead, a0)
    come(lead, a1)
    register_walk_in(lead, a.id, WalkIn("Walk Wang", guests=1, source="chat_group"))
    register_walk_in(lead, a.id, WalkIn("Walk Zhao", source="微信群"))
    come(lead, registrations.rsvp(p[0], b.id, invite_code=lb.code))
    registrations.rsvp(p[1], b.id)
    come(lead, registrations.rsvp(p[1], c.id))
    come(cast.other_lead, registrations.rsvp(p[1], x.id))
    for made, days in ((a, 0), (b, 31), (c, 153), (x, 14)):
        move(made, days)
    db.session.commit()
    return World(a, b, c, x, l1, l2, l3, lb)


def branch_today(branch) -> date:
    """Today in the branch's timezone: branch funnels count whole branch-local days."""
    return utc_to_local(utcnow(), branch.timezone).date()


def figures(reached, registered, attended, returned, *rest: int) -> Figures:
    return Figures(reached, registered, attended, returned, *rest)


def test_meetup_funnel_every_figure(world: World) -> None:
    result = report.funnel(report.meetup_scope(world.a))
    # reached 3 (v1, v2, v3; the preview and v4 of the branch link are not A's), registered 5
    # (p0, p1, p3, Wang, Zhao; p2 cancelled), attended 4, returned 1 (p0 at B, day 31).
    # guests 3 registered (p1's 2 + Wang's 1) and attended, first-timers 4, going 5, no-show p3.
    assert result.overall == figures(3, 5, 4, 1, 3, 3, 4, 5, 1)
    assert result.overall.no_show_rate == pytest.approx(0.2)
    assert result.overall.first_timer_share == 1.0
    assert result.by_channel == [
        ("chat_group", figures(2, 2, 2, 0, 3, 3, 2, 2, 0)),  # v1+v2; p1 (L1) and Wang
        ("poster", figures(2, 1, 1, 1, 0, 0, 1, 1, 0)),  # v1+v3; p0, last touch L2
        ("other", figures(0, 1, 1, 0, 0, 0, 1, 1, 0)),  # Zhao's free-text source
        ("direct", figures(None, 1, 0, 0, 0, 0, 0, 1, 1)),  # p3
    ]


def test_branch_funnel_over_a_range(world: World, cast) -> None:
    start, end = (DAY_A - timedelta(days=1)).date(), branch_today(cast.branch)
    result = services.branch_funnel(cast.lead, cast.branch, start, end)
    # A (5 registered, 4 attended) + B (p0 came, p1 no-show) + C (p1 came); X is Beijing's.
    # p0 at B and p1 at C are not first-timers; no-shows p3 at A and p1 at B of 8 going.
    assert result.overall == figures(4, 8, 6, 1, 3, 3, 4, 8, 2)
    assert result.overall.no_show_rate == 0.25
    assert [(channel, f.reached, f.registered, f.attended, f.returned)
            for channel, f in result.by_channel] == [
        ("chat_group", 2, 2, 2, 0), ("social_post", 1, 1, 1, 0), ("poster", 2, 1, 1, 1),
        ("other", 0, 1, 1, 0), ("direct", None, 3, 1, 0)]


def test_branch_range_leaves_out_meetups_outside_it_and_cancelled_ones(world: World,
                                                                       cast) -> None:
    only_b = (DAY_A + timedelta(days=30)).date(), (DAY_A + timedelta(days=32)).date()
    assert services.branch_funnel(cast.lead, cast.branch, *only_b).overall == figures(
        0, 2, 1, 0, 0, 0, 0, 2, 1)  # LB's visit is today, outside the range
    world.b.status = EventStatus.CANCELLED
    db.session.commit()
    assert services.branch_funnel(cast.lead, cast.branch, *only_b).overall == figures(
        0, 0, 0, 0, 0, 0, 0, 0, 0)


def test_member_attending_in_two_branches_returns_only_within_a_branch(world: World,
                                                                       cast) -> None:
    """p1 came to A (Chengdu) and to X (Beijing, 14 days later): not a return for A; in the
    network p1 is a first-timer in Beijing too."""
    start, end = (DAY_A - timedelta(days=1)).date(), utcnow().date()
    network = services.network_funnel(cast.admin, start, end)
    assert network.overall == figures(4, 9, 7, 1, 3, 3, 5, 9, 2)
    beijing = services.branch_funnel(cast.other_lead, cast.other_branch, start,
                                     branch_today(cast.other_branch))
    assert beijing.overall == figures(0, 1, 1, 0, 0, 0, 1, 1, 0)


def test_funnel_takes_two_queries_however_many_rows(world: World, cast) -> None:
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    start, end = report.day_range((DAY_A - timedelta(days=1)).date(), utcnow().date())
    assert cast.branch.id and world.a.id  # loaded (and the transaction begun) beforehand
    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        report.funnel(report.range_scope(start, end, cast.branch))
        report.funnel(report.meetup_scope(world.a))
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 4


def test_link_rows_count_visitors_rsvps_and_attendance(world: World, cast) -> None:
    rows = services.event_link_rows(cast.lead, world.a)
    assert [(r.link.label, r.visitors, r.registered, r.attended, r.joined) for r in rows] == [
        ("WeChat group 1", 2, 1, 1, 0), ("Library poster", 2, 1, 1, 0), ("Weibo", 0, 0, 0, 0)]


def test_days_between_is_exact_on_both_databases(world: World) -> None:
    """The 90-day return window is measured in the database; check the boundary."""
    move(world.b, 90)
    db.session.commit()
    assert report.funnel(report.meetup_scope(world.a)).overall.returned == 1
    move(world.b, 90)
    world.b.starts_at += timedelta(seconds=1)
    db.session.commit()
    assert report.funnel(report.meetup_scope(world.a)).overall.returned == 0
