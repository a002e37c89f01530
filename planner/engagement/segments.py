"""Member engagement of one branch: which of its active members are new, active, regulars,
lurkers or prone to not showing up. A member may be in several segments (or none).

Definitions (the engagement page shows the same text as help); "attended" means checked in at a
meetup of this branch that was not cancelled, "now" is the moment the page is computed:

- **new**: joined the branch in the last 30 days.
- **active**: attended a meetup that started in the last 90 days.
- **regular**: attended at least 3 meetups that started in the last 180 days.
- **lurker**: a member for 60 days or more (LURKER_MIN_TENURE_DAYS in the configuration) who
  never attended, or not in the last 180 days.
- **no-show-prone**: would need a lead's approval to RSVP under the branch's no-show policy:
  at least `no_show_limit` no-shows (going, never checked in) among their last `no_show_window`
  ended meetups of the branch, as planner/registrations/services.no_shows counts them. With the
  policy switched off (no limit) nobody is in this segment.

Every member's figures come from one set-based statement (aggregates over check-ins and a
window function over the policy's last meetups), however many members the branch has. The
definitions above exist once, as SQL booleans over those figures (`segment_flags`): the
database counts each segment's members, filters by segment and takes one page of members by
name, each with the flags that give its segments.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CTE,
    ColumnElement,
    Select,
    SQLColumnExpression,
    Subquery,
    case,
    false,
    func,
    select,
)

from branches.models import Branch, Membership, MembershipStatus, Role
from planner.accounts.models import User
from planner.core.extensions import db
from planner.events.models import Event
from planner.funnel.report import member_registrations_at
from planner.registrations.models import Registration, RegistrationStatus

NEW_DAYS = 30
ACTIVE_DAYS = 90
REGULAR_DAYS, REGULAR_MEETUPS = 180, 3
LURKER_ABSENT_DAYS = 180


class Segment(enum.StrEnum):
    NEW = "new"
    ACTIVE = "active"
    REGULAR = "regular"
    LURKER = "lurker"
    NO_SHOW_PRONE = "no_show_prone"


SEGMENT_LABELS = {Segment.NEW: _l("New"), Segment.ACTIVE: _l("Active"),
                  Segment.REGULAR: _l("Regular"), Segment.LURKER: _l("Lurker"),
                  Segment.NO_SHOW_PRONE: _l("No-show-prone")}


@dataclass(frozen=True, slots=True)
class MemberEngagement:
    user_id: int
    name: str
    role: Role
    joined_at: datetime
    attended: int  # meetups of the branch attended, ever
    attended_recently: int  # ... that started in the last REGULAR_DAYS
    last_attended_at: datetime | None
    no_shows: int  # in the no-show policy's window
    segments: frozenset[Segment]


@dataclass(frozen=True, slots=True)
class Figures:
    """One member's figures as SQL expressions: columns of the member query, or literals."""

    joined_at: SQLColumnExpression[datetime]
    attended_recently: ColumnElement[int]  # meetups that started in the last REGULAR_DAYS
    last_attended_at: ColumnElement[datetime]  # NULL when they never came
    no_shows: ColumnElement[int]  # in the no-show policy's window


def lurker_tenure() -> timedelta:
    """How long someone must have been a member before they count as a lurker (or are nudged)."""
    return timedelta(days=current_app.config["LURKER_MIN_TENURE_DAYS"])


def segment_flags(branch: Branch, now: datetime,
                  member: Figures) -> dict[Segment, ColumnElement[bool]]:
    """The definitions of the module docstring as SQL booleans (never NULL), in Segment order."""
    last = member.last_attended_at
    absent = last.is_(None) | (last < now - timedelta(days=LURKER_ABSENT_DAYS))
    limit = branch.no_show_limit
    return {
        Segment.NEW: member.joined_at >= now - timedelta(days=NEW_DAYS),
        Segment.ACTIVE: last.is_not(None) & (last >= now - timedelta(days=ACTIVE_DAYS)),
        Segment.REGULAR: member.attended_recently >= REGULAR_MEETUPS,
        Segment.LURKER: (member.joined_at <= now - lurker_tenure()) & absent,
        Segment.NO_SHOW_PRONE: false() if limit is None else member.no_shows >= limit,
    }


@cache
def segments_of(flags: tuple[bool, ...]) -> frozenset[Segment]:
    """The segments whose flag is set, flags in Segment order (as segment_flags gives them);
    members in the same segments share one frozenset."""
    return frozenset(segment for segment, member_is_in in zip(Segment, flags, strict=True)
                     if member_is_in)


@dataclass(frozen=True, slots=True)
class SegmentCounts:
    total: int  # active members
    by_segment: dict[Segment, int]


def segment_counts(branch: Branch, now: datetime) -> SegmentCounts:
    """How many active members the branch has, in all and per segment: one aggregate."""
    members = _MemberFigures(branch, now, Membership.created_at)
    total, *counts = db.session.execute(
        _active_members(branch, func.count(),
                        *(func.count(case((flag, 1))) for flag in members.flags.values()))
        .outerjoin(members.per_member, members.of(Membership.user_id))).one()
    return SegmentCounts(total, dict(zip(Segment, counts, strict=True)))


def member_rows(branch: Branch, now: datetime, segment: Segment | None = None,
                limit: int | None = None, offset: int = 0) -> list[MemberEngagement]:
    """The branch's active members (of `segment`, or everyone) by name with their figures and
    segments; `limit` and `offset` take one page of them. One statement: the page is chosen
    first, and only its members' figures are worked out for display."""
    chosen = _chosen_members(branch, now, segment).limit(limit).offset(offset).cte("chosen")
    members = _MemberFigures(branch, now, chosen.c.created_at, chosen)
    figures = members.figures
    rows = db.session.execute(  # the columns of MemberEngagement, then the flags
        select(chosen.c.user_id, chosen.c.display_name, chosen.c.role, figures.joined_at,
               members.attended, figures.attended_recently, figures.last_attended_at,
               figures.no_shows, *members.flags.values())
        .outerjoin(members.per_member, members.of(chosen.c.user_id))
        .order_by(chosen.c.display_name, chosen.c.user_id))
    return [MemberEngagement(user_id, name, role, joined_at, attended, recently, last, no_shows,
                             segments_of(tuple(flags)))
            for user_id, name, role, joined_at, attended, recently, last, no_shows, *flags in rows]


def _active_members(branch: Branch,
                    *columns: SQLColumnExpression[Any]) -> Select[*tuple[Any, ...]]:
    """`columns` over the branch's active memberships."""
    return select(*columns).select_from(Membership).where(
        Membership.branch_id == branch.id, Membership.status == MembershipStatus.ACTIVE)


def member_ids(branch: Branch, now: datetime, segment: Segment | None = None) -> list[int]:
    """The ids of the branch's active members (of `segment`, or everyone): who a lead's
    message to them goes to. One statement, no figures beyond what the segment needs."""
    chosen = _chosen_members(branch, now, segment).subquery()
    return list(db.session.scalars(select(chosen.c.user_id)))


def _chosen_members(branch: Branch, now: datetime,
                    segment: Segment | None) -> Select[*tuple[Any, ...]]:
    """The active members of `segment` (or everyone) by name: who they are, not their figures."""
    query = (_active_members(branch, Membership.user_id, User.display_name, Membership.role,
                             Membership.created_at)
             .join(User, User.id == Membership.user_id).order_by(User.display_name, User.id))
    if segment is None:
        return query
    members = _MemberFigures(branch, now, Membership.created_at)
    return (query.outerjoin(members.per_member, members.of(Membership.user_id))
            .where(members.flags[segment]))


class _MemberFigures:
    """Members' figures (of `only` these members, or all of the branch's) and the segment
    flags over them; `joined_at` is the column of their membership's start."""

    def __init__(self, branch: Branch, now: datetime, joined_at: SQLColumnExpression[datetime],
                 only: CTE | None = None) -> None:
        self.per_member = _figures(branch, now, only)
        columns = self.per_member.c
        self.attended = func.coalesce(columns.attended, 0)
        self.figures = Figures(joined_at, func.coalesce(columns.recent, 0), columns.last,
                               func.coalesce(columns.no_shows, 0))
        self.flags = segment_flags(branch, now, self.figures)

    def of(self, user_id: SQLColumnExpression[int]) -> ColumnElement[bool]:
        """The condition joining a member's `user_id` to their figures."""
        return self.per_member.c.user_id == user_id


def _figures(branch: Branch, now: datetime, only: CTE | None = None) -> Subquery:
    """Per member (of `only`, or everyone), in one pass over the branch's registrations:
    meetups attended (ever and recently), the last one, and no-shows among the last
    `no_show_window` ended meetups they were going to (numbered within that subset by
    partitioning on it)."""
    counted = (Event.ends_at < now) & (Registration.status == RegistrationStatus.GOING)
    came = Registration.checked_in_at.is_not(None)
    position = func.row_number().over(partition_by=(Registration.user_id, counted),
                                      order_by=(Event.starts_at.desc(), Event.id.desc()))
    registrations = (
        select(Registration.user_id, Registration.checked_in_at, Event.starts_at,
               counted.label("counted"), position.label("position"))
        .join(Event, Event.id == Registration.event_id)
        .where(member_registrations_at(branch), came | counted))
    if only is not None:
        registrations = registrations.where(Registration.user_id.in_(select(only.c.user_id)))
    history = registrations.subquery("history")
    attended = history.c.checked_in_at
    no_show = (history.c.counted & (history.c.position <= branch.no_show_window)
               & attended.is_(None))
    recent = history.c.starts_at >= now - timedelta(days=REGULAR_DAYS)
    return (select(history.c.user_id, func.count(attended).label("attended"),
                   func.count(case((recent, attended))).label("recent"),
                   func.max(case((attended.is_not(None), history.c.starts_at)))
                   .label("last"),
                   func.count(case((no_show, 1))).label("no_shows"))
            .group_by(history.c.user_id).subquery("figures"))
