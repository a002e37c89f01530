"""The funnel's figures, for one meetup, for a branch over a date range, or for the whole network.

Definitions (the funnel page shows the same text as help):

- **reached**: unique visitors (one random cookie each, never an IP address) who opened an invite
  link of the meetups in scope; for a branch or the network also the branch-wide links opened
  within the date range. A person who opened two links is one visitor overall, and one in each
  of the two channels. Link-preview fetchers and crawlers are never counted.
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
by channel), however many meetups and people are in scope; `by_branch` gives each branch's
overall figures the same way (grouped by branch instead of channel).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
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
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import CTE, Subquery
from sqlalchemy.sql.functions import FunctionElement

from branches.models import Branch, Membership
from planner.events.models import Event, EventStatus
from planner.extensions import db
from planner.funnel.models import Channel, InviteLink, InviteVisit
from planner.registrations.models import ACTIVE_STATUSES, Registration, RegistrationStatus
from planner.timeutil import utcnow

STAGES = ("reached", "registered", "attended", "returned")
DIRECT = "direct"  # no invite link and no channel named: came by the meetup page itself
RETURN_DAYS = 90
WALK_IN_SOURCE = "walk-in"
K = TypeVar("K")


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
        return Figures(*(_plus(getattr(self, f.name), getattr(other, f.name))
                         for f in fields(self)))


def _plus(a: int | None, b: int | None) -> int | None:
    return None if a is None and b is None else (a or 0) + (b or 0)


EMPTY = Figures(None, 0, 0, 0, 0, 0, 0, 0, 0)


@dataclass(frozen=True)
class Funnel:
    overall: Figures
    by_channel: list[tuple[str, Figures]]  # channels in a fixed order, "direct" last


@dataclass(frozen=True)
class Scope:
    """Which meetups (and which branch-wide links' visits) a funnel covers."""

    events: ColumnElement[bool]
    # Extra visits: branch-wide links in the window (None for one meetup, so the planner sees
    # that only the meetup's own links count and reads just their visits).
    branch_links: ColumnElement[bool] | None


def meetup_scope(event: Event) -> Scope:
    return Scope(Event.id == event.id, None)


def day_range(start: date, end: date, timezone: str = "UTC") -> tuple[datetime, datetime]:
    """From the start of `start` to the end of `end` (inclusive), local to `timezone`, in UTC."""
    zone = ZoneInfo(timezone)
    return (datetime.combine(start, time(), zone).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC))


def range_scope(start: datetime, end: datetime, branch: Branch | None = None) -> Scope:
    """Meetups starting in [start, end) of one branch, or of every branch when `branch` is None."""
    in_branch = Event.branch_id == branch.id if branch else true()
    events = and_(in_branch, Event.starts_at >= start, Event.starts_at < end,
                  Event.status != EventStatus.CANCELLED)
    link_branch = InviteLink.branch_id == branch.id if branch else true()
    links = and_(InviteLink.event_id.is_(None), link_branch,
                 InviteVisit.first_seen_at >= start, InviteVisit.first_seen_at < end)
    return Scope(events, links)


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
    columns = (Registration.user_id, Event.branch_id, Registration.guests, Registration.status,
               Event.starts_at, Event.ends_at, attended.label("attended"))
    counted = (select(key.label("key"), *columns, literal(True).label("counted"))
               .join(Event, Event.id == Registration.event_id)
               .outerjoin(InviteLink, InviteLink.id == Registration.invite_link_id)
               .where(in_scope))
    # The history rows are never counted: they need no grouping key, so no link either.
    history = (select(null().label("key"), *columns, literal(False).label("counted"))
               .join(Event, Event.id == Registration.event_id).where(elsewhere))
    both = union_all(counted, history).subquery("both")
    checked_in_start = case((both.c.attended, both.c.starts_at))
    member_in_branch = {"partition_by": (both.c.user_id, both.c.branch_id),
                        "order_by": both.c.starts_at}
    return select(
        both,
        func.max(checked_in_start).over(**member_in_branch, groups=(None, -1)).label("before"),
        func.min(checked_in_start).over(**member_in_branch, groups=(1, None)).label("after"),
    ).subquery("history")


def _registration_rows(scope: Scope) -> dict[str, Figures]:
    return _grouped_registrations(scope, _channel_of_registration())


def _grouped_registrations(scope: Scope, key: ColumnElement[K]) -> dict[K, Figures]:
    """Every figure but `reached`, grouped by `key` (a channel, a branch), in one query."""
    timeline = _with_history(scope, key)
    attended = timeline.c.attended
    member = timeline.c.user_id.is_not(None)  # a walk-in without an account has no history
    came_back = and_(member, days_between(timeline.c.starts_at, timeline.c.after) <= RETURN_DAYS)
    going_ended = and_(timeline.c.status == RegistrationStatus.GOING,
                       timeline.c.ends_at <= utcnow())
    flags = (select(
        timeline.c.key, timeline.c.guests,
        case((attended, 1), else_=0).label("attended"),
        case((and_(attended, came_back), 1), else_=0).label("returned"),
        case((and_(attended, or_(~member, timeline.c.before.is_(None))), 1),
             else_=0).label("first"),
        case((going_ended, 1), else_=0).label("going_ended"),
        case((and_(going_ended, ~attended), 1), else_=0).label("no_show"))
        .where(timeline.c.counted)).cte("flags")
    rows = db.session.execute(select(
        flags.c.key, func.count(), func.sum(flags.c.guests),
        func.sum(flags.c.attended), func.sum(flags.c.guests * flags.c.attended),
        func.sum(flags.c.returned), func.sum(flags.c.first), func.sum(flags.c.going_ended),
        func.sum(flags.c.no_show)).group_by(flags.c.key))
    return {key_: Figures(None, registered, int(attended_), int(returned), int(guests),
                          int(guests_attended), int(first), int(going), int(no_show))
            for (key_, registered, guests, attended_, guests_attended, returned, first,
                 going, no_show) in rows}


def _visits(scope: Scope, key: ColumnElement[object]) -> CTE:
    """Visits of the links in scope, each with its grouping key and visitor: those of the
    meetups' links, then those of branch-wide links (apart, so each part can use its index)."""
    of_meetups = InviteLink.event_id.in_(select(Event.id).where(scope.events))
    parts = [of_meetups] if scope.branch_links is None else [of_meetups, scope.branch_links]
    return union_all(*(select(key.label("key"), InviteVisit.visitor_key)
                       .join(InviteLink, InviteLink.id == InviteVisit.link_id).where(part)
                       for part in parts)).cte("visits")


def _reached(scope: Scope) -> tuple[int, dict[str, int]]:
    """Unique visitors overall and per channel, in one statement."""
    visits = _visits(scope, type_coerce(InviteLink.channel, String))
    unique = func.count(distinct(visits.c.visitor_key))
    rows = db.session.execute(
        select(visits.c.key, unique).group_by(visits.c.key)
        .union_all(select(null().label("key"), unique))).all()
    overall = next(count for channel, count in rows if channel is None)
    return overall, {channel: count for channel, count in rows if channel is not None}


def by_branch(scope: Scope) -> dict[int, Figures]:
    """The overall figures of each branch in scope (two queries, however many branches): the
    same definitions as `funnel`, a visitor counted once per branch."""
    registrations = _grouped_registrations(scope, Event.branch_id)
    visits = _visits(scope, InviteLink.branch_id)
    reached: dict[int, int] = {branch_id: count for branch_id, count in db.session.execute(
        select(visits.c.key, func.count(distinct(visits.c.visitor_key))).group_by(visits.c.key))}
    return {int(branch_id): Figures(reached.get(branch_id, 0),
                                    *_counts(registrations.get(branch_id, EMPTY)))
            for branch_id in set(registrations) | set(reached)}


def funnel(scope: Scope) -> Funnel:
    """The funnel for a scope: overall and by channel (two queries)."""
    registrations = _registration_rows(scope)
    reached_overall, reached = _reached(scope)
    order = [channel.value for channel in Channel] + [DIRECT]
    by_channel = []
    for channel in order:
        figures = registrations.get(channel, EMPTY)
        if channel in reached or channel in registrations:
            reach = reached.get(channel, 0) if channel != DIRECT else None
            by_channel.append((channel, Figures(reach, *_counts(figures))))
    overall = sum((figures for _channel, figures in by_channel), EMPTY)
    return Funnel(Figures(reached_overall, *_counts(overall)), by_channel)


def _counts(figures: Figures) -> list[int]:
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


def monthly(scope: Scope, start: date, end: date, timezone: str) -> list[tuple[date, int, int]]:
    """Registered and attended per calendar month (local to `timezone`) of the meetups' start,
    every month from `start` to `end` listed, empty ones too. One query, grouped by meetup."""
    rows = db.session.execute(
        select(Event.starts_at, func.count(), func.count(Registration.checked_in_at))
        .join(Registration, Registration.event_id == Event.id)
        .where(scope.events, registered_condition()).group_by(Event.id, Event.starts_at))
    zone = ZoneInfo(timezone)
    totals: dict[date, tuple[int, int]] = {}
    for starts_at, registered, attended in rows:
        month = starts_at.astimezone(zone).date().replace(day=1)
        before = totals.get(month, (0, 0))
        totals[month] = (before[0] + registered, before[1] + attended)
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append((month, *totals.get(month, (0, 0))))
        month = (month + timedelta(days=32)).replace(day=1)
    return months
