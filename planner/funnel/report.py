"""The funnel's figures, for one meetup, for a branch over a date range, or for the whole network.

Definitions (the funnel page shows the same text as help):

- **reached**: unique visitors (one random cookie each, never an IP address) who opened an invite
  link: for a meetup, any of its links, ever; for a branch or the network, any of their links (a
  meetup's or branch-wide) opened within the date range. A person who opened two links is one
  visitor overall, and one in each of the two channels. Link-preview fetchers and crawlers are
  never counted.
- **registered**: RSVPs to the meetups in scope that stand (going, waitlisted or awaiting
  approval), plus every RSVP that was checked in. An RSVP cancelled before the meetup, or
  declined by a lead, is not counted. Walk-ins registered at the door count as registered and
  as attended. One RSVP is one person; the guests they bring are counted apart (guests).
- **attended**: registered people who were checked in at the door.
- **returned**: attended people (with an account) who were checked in at another meetup of the
  same branch that started within 90 days after this one. Meetups of other branches do not
  count. Walk-ins without an account cannot be recognised, so they never count as returned.
- **no-show rate**: among people going to meetups that have ended, the share never checked in.
- **first-timer share**: among attended people, the share never checked in before at a meetup of
  the same branch (walk-ins without an account count as first-timers).

A meetup's RSVP is credited to a channel by the invite link that brought it (the last link the
person opened within 30 days); without a link, a walk-in's or RSVP's free-text source that names a
channel counts for it, any other walk-in source counts as "other", and the rest are "direct".
Cancelled meetups are left out of branch and network figures.

Every figure comes from two set-based queries (registrations grouped by channel, visitors grouped
by channel), however many meetups and people are in scope. Branch and network funnels add up
the same figures kept per meetup (planner/funnel/rollups.py) instead of reading every row.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    and_,
    case,
    distinct,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import CTE, Select, Subquery
from sqlalchemy.sql.functions import FunctionElement

from branches.models import Branch, Membership
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events.models import Event, EventStatus
from planner.funnel.models import Channel, InviteLink, InviteVisit
from planner.registrations.models import ACTIVE_STATUSES, Registration, RegistrationStatus

STAGES = ("reached", "registered", "attended", "returned")
DIRECT = "direct"  # no invite link and no channel named: came by the meetup page itself
RETURN_DAYS = 90
WALK_IN_SOURCE = "walk-in"
K = TypeVar("K")


def member_registrations_at(branch: Branch) -> ColumnElement[bool]:
    """Registrations of members (not walk-ins) at this branch's meetups that took place."""
    return ((Event.branch_id == branch.id) & (Event.status != EventStatus.CANCELLED)
            & Registration.user_id.is_not(None))


class days_between(FunctionElement[float]):
    """Days from the first instant to the second, as a number, on PostgreSQL and SQLite."""

    type = Float()
    inherit_cache = True


@compiles(days_between, "postgresql")
def _days_between_pg(element: days_between, compiler: SQLCompiler, **kw: object) -> str:
    start, end = list(element.clauses)
    return (f"(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - "
            f"{compiler.process(start, **kw)})) / 86400.0)")


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: object) -> str:
    start, end = list(element.clauses)
    end_sql, start_sql = compiler.process(end, **kw), compiler.process(start, **kw)
    return f"(julianday({end_sql}) - julianday({start_sql}))"


@dataclass(frozen=True)
class Figures:
    """One row of the funnel: overall or for one channel."""

    reached: int | None  # None for "direct": nobody is reached without a link
    registered: int
    attended: int
    returned: int
    guests_registered: int
    guests_attended: int
    first_timers: int
    going_ended: int
    no_shows: int

    @property
    def no_show_rate(self) -> float | None:
        return self.no_shows / self.going_ended if self.going_ended else None

    @property
    def first_timer_share(self) -> float | None:
        return self.first_timers / self.attended if self.attended else None

    def stage(self, name: str) -> int | None:
        value: int | None = getattr(self, name)
        return value

    def __add__(self, other: Figures) -> Figures:
        counts = (getattr(self, f.name) + getattr(other, f.name) for f in fields(self)[1:])
        return Figures(_plus(self.reached, other.reached), *counts)


def _plus(a: int | None, b: int | None) -> int | None:
    """Reach adds up; it stays None (direct: nobody is reached) only where both sides are."""
    return None if a is None and b is None else (a or 0) + (b or 0)


EMPTY = Figures(None, 0, 0, 0, 0, 0, 0, 0, 0)


@dataclass(frozen=True)
class Funnel:
    overall: Figures
    by_channel: list[tuple[str, Figures]]  # channels in a fixed order, "direct" last


@dataclass(frozen=True)
class Scope:
    """Which meetups, and which visits of invite links, a funnel covers."""

    events: ColumnElement[bool]
    visits: ColumnElement[bool]


def meetup_scope(event: Event) -> Scope:
    return Scope(Event.id == event.id, InviteLink.event_id == event.id)


def day_range(start: date, end: date, timezone: str = "UTC") -> tuple[datetime, datetime]:
    """From the start of `start` to the end of `end` (inclusive), local to `timezone`, in UTC."""
    zone = ZoneInfo(timezone)
    return (datetime.combine(start, time(), zone).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC))


def range_scope(start: datetime, end: datetime, branch: Branch | None = None) -> Scope:
    """Meetups starting in [start, end), and visits in [start, end) of any link, of one branch
    or of every branch when `branch` is None."""
    events = and_(Event.starts_at >= start, Event.starts_at < end,
                  Event.status != EventStatus.CANCELLED)
    visits = and_(InviteVisit.first_seen_at >= start, InviteVisit.first_seen_at < end)
    if branch is None:
        return Scope(events, visits)
    return Scope(and_(Event.branch_id == branch.id, events),
                 and_(InviteLink.branch_id == branch.id, visits))


def _channel_of_registration() -> ColumnElement[str]:
    known = [channel.value for channel in Channel]
    return case(
        (InviteLink.id.is_not(None), type_coerce(InviteLink.channel, String)),
        (Registration.source.in_(known), Registration.source),
        (and_(Registration.walk_in, Registration.source.is_not(None),
              Registration.source != WALK_IN_SOURCE), literal(Channel.OTHER.value)),
        else_=literal(DIRECT))


def registered_condition() -> ColumnElement[bool]:
    return or_(Registration.status.in_(ACTIVE_STATUSES), Registration.checked_in_at.is_not(None))


def _with_history(scope: Scope, key: ColumnElement[K]) -> Subquery:
    """The registrations in scope (`counted`), each with its grouping key, beside the check-ins
    of the same members at the scope's branches' other meetups. One window over them gives each
    row the member's check-ins just before and just after it in that branch (peers at the same
    start are neither), so no row searches the history on its own."""
    attended = Registration.checked_in_at.is_not(None)
    in_scope = and_(scope.events, registered_condition())
    members = (select(Registration.user_id).join(Event, Event.id == Registration.event_id)
               .where(scope.events, Registration.user_id.is_not(None)))
    elsewhere = and_(attended, ~scope.events, Registration.user_id.in_(members),
                     Event.branch_id.in_(select(Event.branch_id).where(scope.events)))
    columns = (Registration.event_id, Registration.user_id, Event.branch_id, Registration.guests,
               Registration.status, Event.starts_at, Event.ends_at, attended.label("attended"))
    counted = (select(key.label("key"), *columns, literal(True).label("counted"))
               .join(Event, Event.id == Registration.event_id)
               .outerjoin(InviteLink, InviteLink.id == Registration.invite_link_id)
               .where(in_scope))
    # The history rows are never counted: they need no grouping key, so no link either.
    history = (select(null().label("key"), *columns, literal(False).label("counted"))
               .join(Event, Event.id == Registration.event_id).where(elsewhere))
    both = union_all(counted, history).subquery("both")
    checked_in_start = case((both.c.attended, both.c.starts_at))
    member_in_branch, in_order = (both.c.user_id, both.c.branch_id), both.c.starts_at
    return select(
        *both.c,
        func.max(checked_in_start).over(partition_by=member_in_branch, order_by=in_order,
                                        groups=(None, -1)).label("before"),
        func.min(checked_in_start).over(partition_by=member_in_branch, order_by=in_order,
                                        groups=(1, None)).label("after"),
    ).subquery("history")


def _flags(scope: Scope, key: ColumnElement[K]) -> CTE:
    """One row per registration in scope: its grouping key, meetup, guests and a 0/1 column
    per figure. `going` and `absent` (going, never checked in) do not look at whether the
    meetup ended; `ended` says it did."""
    timeline = _with_history(scope, key)
    attended = timeline.c.attended
    member = timeline.c.user_id.is_not(None)  # a walk-in without an account has no history
    came_back = and_(member, days_between(timeline.c.starts_at, timeline.c.after) <= RETURN_DAYS)
    going = timeline.c.status == RegistrationStatus.GOING
    return (select(
        timeline.c.key, timeline.c.event_id, timeline.c.guests,
        case((attended, 1), else_=0).label("attended"),
        case((and_(attended, came_back), 1), else_=0).label("returned"),
        case((and_(attended, or_(~member, timeline.c.before.is_(None))), 1),
             else_=0).label("first"),
        case((going, 1), else_=0).label("going"),
        case((and_(going, ~attended), 1), else_=0).label("absent"),
        case((timeline.c.ends_at <= utcnow(), 1), else_=0).label("ended"))
        .where(timeline.c.counted)).cte("flags")


def _grouped_registrations(scope: Scope, key: ColumnElement[K]) -> dict[K, Figures]:
    """Every figure but `reached`, grouped by `key` (a channel), in one query."""
    flags = _flags(scope, key)
    rows = db.session.execute(select(
        flags.c.key, func.count(), func.sum(flags.c.guests),
        func.sum(flags.c.attended), func.sum(flags.c.guests * flags.c.attended),
        func.sum(flags.c.returned), func.sum(flags.c.first),
        func.sum(flags.c.going * flags.c.ended), func.sum(flags.c.absent * flags.c.ended))
        .group_by(flags.c.key))
    return {key_: Figures(None, registered, int(attended_), int(returned), int(guests),
                          int(guests_attended), int(first), int(going), int(no_show))
            for (key_, registered, guests, attended_, guests_attended, returned, first,
                 going, no_show) in rows}


def meetup_figures(scope: Scope) -> Select[*tuple[Any, ...]]:
    """The figures of each meetup in scope by channel, in the columns of MeetupFigures."""
    flags = _flags(scope, _channel_of_registration())
    return (select(flags.c.event_id, flags.c.key, func.count(), func.sum(flags.c.guests),
                   func.sum(flags.c.attended), func.sum(flags.c.guests * flags.c.attended),
                   func.sum(flags.c.returned), func.sum(flags.c.first), func.sum(flags.c.going),
                   func.sum(flags.c.absent))
            .group_by(flags.c.event_id, flags.c.key))


def _visits(scope: Scope, key: ColumnElement[object]) -> CTE:
    """Visits in scope, each with its grouping key and visitor."""
    return (select(key.label("key"), InviteVisit.visitor_key)
            .join(InviteLink, InviteLink.id == InviteVisit.link_id).where(scope.visits)
            .cte("visits"))


def reached(scope: Scope) -> tuple[int, dict[str, int]]:
    """Unique visitors overall and per channel, in one statement."""
    visits = _visits(scope, type_coerce(InviteLink.channel, String))
    unique = func.count(distinct(visits.c.visitor_key))
    rows = db.session.execute(
        select(visits.c.key, unique).group_by(visits.c.key)
        .union_all(select(null().label("key"), unique))).all()
    overall = next(count for channel, count in rows if channel is None)
    return overall, {channel: count for channel, count in rows if channel is not None}


def funnel(scope: Scope) -> Funnel:
    """The funnel for a scope: overall and by channel (two queries)."""
    return assemble(_grouped_registrations(scope, _channel_of_registration()),
                    *reached(scope))


def assemble(registrations: dict[str, Figures], reached_overall: int,
             reached: dict[str, int]) -> Funnel:
    """The funnel from the figures of each channel and its visitors."""
    order = [channel.value for channel in Channel] + [DIRECT]
    by_channel = []
    for channel in order:
        figures = registrations.get(channel, EMPTY)
        if channel in reached or channel in registrations:
            reach = reached.get(channel, 0) if channel != DIRECT else None
            by_channel.append((channel, Figures(reach, *counts(figures))))
    overall = sum((figures for _channel, figures in by_channel), EMPTY)
    return Funnel(Figures(reached_overall, *counts(overall)), by_channel)


def counts(figures: Figures) -> list[int]:
    """Every figure but `reached`."""
    return [getattr(figures, f.name) for f in fields(figures)][1:]


@dataclass(frozen=True)
class LinkRow:
    link: InviteLink
    visitors: int
    registered: int
    attended: int
    joined: int


def link_rows(links_of: ColumnElement[bool]) -> list[LinkRow]:
    """Each link with its unique visitors, the RSVPs and attendance it brought, and the branch
    joins it brought, in one query."""
    visitors = (select(InviteVisit.link_id, func.count().label("n"))
                .group_by(InviteVisit.link_id).subquery())
    registrations = (select(Registration.invite_link_id.label("link_id"),
                            func.count().label("n"),
                            func.count(Registration.checked_in_at).label("attended"))
                     .where(registered_condition())
                     .group_by(Registration.invite_link_id).subquery())
    joins = (select(Membership.invite_link_id.label("link_id"), func.count().label("n"))
             .group_by(Membership.invite_link_id).subquery())
    rows = db.session.execute(
        select(InviteLink, func.coalesce(visitors.c.n, 0), func.coalesce(registrations.c.n, 0),
               func.coalesce(registrations.c.attended, 0), func.coalesce(joins.c.n, 0))
        .outerjoin(visitors, visitors.c.link_id == InviteLink.id)
        .outerjoin(registrations, registrations.c.link_id == InviteLink.id)
        .outerjoin(joins, joins.c.link_id == InviteLink.id)
        .where(links_of).order_by(InviteLink.created_at, InviteLink.id))
    return [LinkRow(*row) for row in rows]
