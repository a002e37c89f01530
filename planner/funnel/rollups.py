"""Branch and network funnel figures from kept totals, so that they read thousands of rows, not
the millions of visits and registrations behind them.

- Visitors: each new visit adds one to three ReachDay counters (within the network, its channel,
  its branch), keyed by its day and by the day of the same visitor's previous visit there.
  Exact for any range of whole UTC days.
- Everything else: MeetupFigures, a meetup's figures per channel from the same definitions as
  planner/funnel/report.py, and MeetupFill, when it was full. Any flush that changes what they
  read (an RSVP, a check-in, a meetup moved, resized or cancelled) lists the meetups concerned
  as stale in the same transaction; `refresh_meetup_figures` recomputes those a reader is
  about to add up (and `flask refresh-funnel` from cron all of them, ahead of time).

A branch's visitors are counted from its visits (planner/funnel/report.py): a branch has few,
and its days are local, not UTC. A single meetup's funnel is counted live, whole.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Date,
    ScalarSelect,
    Select,
    SQLColumnExpression,
    case,
    delete,
    event,
    exists,
    false,
    func,
    insert,
    literal,
    select,
    true,
    union,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm import attributes as orm_attributes
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from planner.core.db import changed_rows
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events.models import Event
from planner.funnel import report
from planner.funnel.models import (
    NEVER,
    InviteLink,
    InviteVisit,
    MeetupFigures,
    MeetupFill,
    ReachDay,
    ReachKind,
    StaleMeetup,
)
from planner.funnel.report import Figures, Funnel
from planner.registrations.models import Registration, RegistrationStatus

# What a meetup's figures read: of its registrations, and of the meetup itself.
REGISTRATION_FIELDS = ("status", "checked_in_at", "guests", "invite_link_id", "source",
                       "walk_in", "queued_at")
MEETUP_FIELDS = ("starts_at", "status", "capacity")
REFRESH_LOCK = 0x6A756875  # PostgreSQL advisory lock: one refresh at a time
VISITOR_LOCKS = 0x7669  # seed of the hash that gives each visitor an advisory lock


class utc_day(FunctionElement[date]):
    """The UTC calendar day of an instant, on PostgreSQL and SQLite."""

    type = Date()
    inherit_cache = True


@compiles(utc_day, "postgresql")
def _utc_day_pg(element: utc_day, compiler: SQLCompiler, **kw: object) -> str:
    return f"(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC')::date"


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: object) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


# Visitors ------------------------------------------------------------------------------------

def count_visit(link: InviteLink, visitor_key: str, seen_at: datetime) -> None:
    """Add a new visit (not yet flushed) to the visitor counts of its day."""
    if _on_postgresql():  # the same browser opening two links at once still counts once
        db.session.execute(select(func.pg_advisory_xact_lock(
            func.hashtextextended(visitor_key, VISITOR_LOCKS))))
    seen = InviteVisit.first_seen_at
    earlier = db.session.execute(
        select(func.max(seen), func.max(case((InviteLink.channel == link.channel, seen))),
               func.max(case((InviteLink.branch_id == link.branch_id, seen))))
        .join(InviteLink, InviteLink.id == InviteVisit.link_id)
        .where(InviteVisit.visitor_key == visitor_key)).one()
    day = seen_at.date()
    network, channel, branch = (NEVER if at is None else at.date() for at in earlier)
    _add_visitors([
        {"kind": ReachKind.NETWORK, "day": day, "branch_id": 0, "channel": "",
         "previous_day": network, "visitors": 1},
        {"kind": ReachKind.CHANNEL, "day": day, "branch_id": 0, "channel": link.channel.value,
         "previous_day": channel, "visitors": 1},
        {"kind": ReachKind.BRANCH, "day": day, "branch_id": link.branch_id, "channel": "",
         "previous_day": branch, "visitors": 1}])


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _add_visitors(rows: list[dict[str, Any]]) -> None:
    dialect = postgresql if _on_postgresql() else sqlite
    statement = dialect.insert(ReachDay).values(rows)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["kind", "day", "branch_id", "channel", "previous_day"],
        set_={"visitors": ReachDay.visitors + statement.excluded.visitors}))


def rebuild_reach(session: Session) -> None:
    """Count every visit again (after a bulk load that bypassed `count_visit`)."""
    session.execute(delete(ReachDay))
    seen, visitor = InviteVisit.first_seen_at, InviteVisit.visitor_key
    order = (seen, InviteVisit.id)
    visits = (select(
        utc_day(seen).label("day"), InviteLink.channel, InviteLink.branch_id,
        utc_day(func.lag(seen).over(partition_by=visitor, order_by=order)).label("network"),
        utc_day(func.lag(seen).over(partition_by=(visitor, InviteLink.channel), order_by=order))
        .label("by_channel"),
        utc_day(func.lag(seen).over(partition_by=(visitor, InviteLink.branch_id),
                                    order_by=order)).label("by_branch"))
        .join(InviteLink, InviteLink.id == InviteVisit.link_id).cte("visits"))
    columns = ["kind", "day", "branch_id", "channel", "previous_day", "visitors"]
    for kind, branch_id, channel, previous in (
            (ReachKind.NETWORK, literal(0), literal(""), visits.c.network),
            (ReachKind.CHANNEL, literal(0), visits.c.channel, visits.c.by_channel),
            (ReachKind.BRANCH, visits.c.branch_id, literal(""), visits.c.by_branch)):
        previous_day = func.coalesce(previous, NEVER)
        session.execute(insert(ReachDay).from_select(columns, select(
            literal(kind.value), visits.c.day, branch_id, channel, previous_day, func.count())
            .group_by(visits.c.day, branch_id, channel, previous_day)))


def _visitors(kind: ReachKind, group: SQLColumnExpression[Any], start: date,
              end: date) -> dict[Any, int]:
    """Unique visitors from `start` to `end` (whole UTC days, inclusive) per `group`."""
    rows = db.session.execute(
        select(group, func.sum(ReachDay.visitors))
        .where(ReachDay.kind == kind, ReachDay.day >= start,
               ReachDay.day <= end, ReachDay.previous_day < start)
        .group_by(group))
    return {key: int(count) for key, count in rows}


# Meetup figures ------------------------------------------------------------------------------

def _changed(instance: object, names: tuple[str, ...]) -> bool:
    state = orm_attributes.instance_state(instance)
    return any(state.attrs[name].history.has_changes() for name in names)


def _affected(event_id: int, members: Any) -> Select[int]:
    """The meetup, and the other meetups of its branch that `members` registered for: their
    returned and first-timer flags look at check-ins here."""
    branch = select(Event.branch_id).where(Event.id == event_id).scalar_subquery()
    theirs = (select(Registration.event_id).join(Event, Event.id == Registration.event_id)
              .where(Event.branch_id == branch, Registration.user_id.in_(members)))
    meetups = union(select(literal(event_id).label("event_id")), theirs).subquery()
    return select(meetups.c.event_id)


def _of_registration(registration: Registration) -> Select[int]:
    members = [] if registration.user_id is None else [registration.user_id]
    return _affected(registration.event_id, members)


def _stale_meetups(session: Session) -> list[Select[int]]:
    """What this flush made stale, as selects of meetup ids."""
    found = [_of_registration(instance) for instance in session.new | session.deleted
             if isinstance(instance, Registration)]
    for instance in session.dirty:
        if isinstance(instance, Registration) and _changed(instance, REGISTRATION_FIELDS):
            found.append(_of_registration(instance))
        elif isinstance(instance, Event) and _changed(instance, MEETUP_FIELDS):
            found.append(_affected(instance.id, select(Registration.user_id).where(
                Registration.event_id == instance.id)))
    return found


@event.listens_for(Session, "after_flush")
def mark_stale(session: Session, _flush: UOWTransaction) -> None:
    """After each flush: list the meetups whose figures it changed (see the module)."""
    connection = session.connection()
    for meetups in _stale_meetups(session):
        connection.execute(insert(StaleMeetup).from_select(["event_id"], meetups))


def mark_all_stale(session: Session) -> None:
    """Every meetup's figures to be recomputed (after a bulk load that bypassed the ORM)."""
    session.execute(insert(StaleMeetup).from_select(["event_id"], select(Event.id)))


def refresh_meetup_figures(events: ColumnElement[bool] | None = None) -> int:
    """Recompute the figures of the stale meetups (of those `events` selects, or all), in the
    caller's transaction; answers how many stale marks were cleared. Only marks committed
    before it starts are taken, so a change committed meanwhile stays marked for the next
    refresh."""
    marks = true() if events is None else StaleMeetup.event_id.in_(
        select(Event.id).where(events))
    if not db.session.scalar(select(exists(select(StaleMeetup.id).where(marks)))):
        return 0
    if _on_postgresql():
        db.session.execute(select(func.pg_advisory_xact_lock(REFRESH_LOCK)))
    claimed = changed_rows(db.session, update(StaleMeetup).where(marks).values(claimed=True))
    _recompute(select(StaleMeetup.event_id).where(StaleMeetup.claimed))
    db.session.execute(delete(StaleMeetup).where(StaleMeetup.claimed))
    return claimed


def _recompute(stale: Select[int]) -> None:
    """Replace the kept figures and fill times of the meetups `stale` selects."""
    db.session.execute(delete(MeetupFigures).where(MeetupFigures.event_id.in_(stale)))
    db.session.execute(insert(MeetupFigures).from_select(
        ["event_id", "channel", "registered", "guests_registered", "attended",
         "guests_attended", "returned", "first_timers", "going", "absent"],
        report.meetup_figures(report.Scope(Event.id.in_(stale), false()))))
    db.session.execute(delete(MeetupFill).where(MeetupFill.event_id.in_(stale)))
    db.session.execute(insert(MeetupFill).from_select(["event_id", "filled_at"], select(
        Event.id, filled_at()).where(Event.id.in_(stale), Event.capacity.is_not(None))))


def filled_at() -> ScalarSelect[datetime]:
    """When the enclosing query's meetup was full (NULL if never): the queue time of the RSVP
    whose seats, added to those of the RSVPs going now that queued before it, reach the
    capacity. Walking one meetup's queue in index order and stopping there keeps this cheap."""
    queue = (select(Registration.id, Registration.queued_at,
                    func.sum(Registration.guests + 1)
                    .over(order_by=(Registration.queued_at, Registration.id)).label("taken"))
             .where(Registration.event_id == Event.id,
                    Registration.status == RegistrationStatus.GOING)
             .correlate(Event).subquery("queue"))
    return (select(queue.c.queued_at).where(queue.c.taken >= Event.capacity)
            .order_by(queue.c.queued_at, queue.c.id).limit(1).correlate(Event).scalar_subquery())


def _summed(events: ColumnElement[bool],
            group: SQLColumnExpression[Any]) -> dict[Any, Figures]:
    """Every figure but `reached`, over the meetups `events` selects, per `group`."""
    ended = Event.ends_at <= utcnow()
    rows = db.session.execute(
        select(group, func.sum(MeetupFigures.registered), func.sum(MeetupFigures.attended),
               func.sum(MeetupFigures.returned), func.sum(MeetupFigures.guests_registered),
               func.sum(MeetupFigures.guests_attended), func.sum(MeetupFigures.first_timers),
               func.sum(case((ended, MeetupFigures.going), else_=0)),
               func.sum(case((ended, MeetupFigures.absent), else_=0)))
        .join(Event, Event.id == MeetupFigures.event_id).where(events).group_by(group))
    return {key: Figures(None, *(int(value) for value in values)) for key, *values in rows}


# Readers -------------------------------------------------------------------------------------

def branch_funnel(scope: report.Scope) -> Funnel:
    """A branch's funnel over a range (report.range_scope): its meetups' kept figures, its
    visitors counted from the visits themselves (a branch has few, and its days are local)."""
    refresh_meetup_figures(scope.events)
    return report.assemble(_summed(scope.events, MeetupFigures.channel),
                           *report.reached(scope))


def network_funnel(start: date, end: date) -> Funnel:
    """The whole network's funnel over whole UTC days from `start` to `end`."""
    events = report.range_scope(*report.day_range(start, end)).events
    refresh_meetup_figures(events)
    reached = _visitors(ReachKind.CHANNEL, ReachDay.channel, start, end)
    overall = _visitors(ReachKind.NETWORK, ReachDay.kind, start, end)
    return report.assemble(_summed(events, MeetupFigures.channel),
                           sum(overall.values()), reached)


def by_branch(start: date, end: date) -> dict[int, Figures]:
    """Each branch's overall funnel figures over whole UTC days from `start` to `end`."""
    events = report.range_scope(*report.day_range(start, end)).events
    refresh_meetup_figures(events)
    registrations = _summed(events, Event.branch_id)
    reached = _visitors(ReachKind.BRANCH, ReachDay.branch_id, start, end)
    return {branch_id: Figures(reached.get(branch_id, 0),
                               *report.counts(registrations.get(branch_id, report.EMPTY)))
            for branch_id in set(registrations) | set(reached)}


def monthly(events: ColumnElement[bool], start: date, end: date,
            timezone: str) -> list[tuple[date, int, int]]:
    """Registered and attended per calendar month (local to `timezone`) of the start of the
    meetups `events` selects (their stale figures refreshed first), every month from `start`
    to `end` listed, empty ones too."""
    refresh_meetup_figures(events)
    rows = db.session.execute(
        select(Event.starts_at, func.sum(MeetupFigures.registered),
               func.sum(MeetupFigures.attended))
        .join(MeetupFigures, MeetupFigures.event_id == Event.id)
        .where(events).group_by(Event.id, Event.starts_at))
    zone = ZoneInfo(timezone)
    totals: dict[date, tuple[int, int]] = {}
    for starts_at, registered, attended in rows:
        month = starts_at.astimezone(zone).date().replace(day=1)
        before = totals.get(month, (0, 0))
        totals[month] = (before[0] + int(registered), before[1] + int(attended))
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append((month, *totals.get(month, (0, 0))))
        month = (month + timedelta(days=32)).replace(day=1)
    return months
