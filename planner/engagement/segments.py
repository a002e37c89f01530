"""Member engagement of one branch: which of its active members are new, active, regulars,
lurkers or prone to not showing up. A member may be in several segments (or none).

Definitions (the engagement page shows the same text as help); "attended" means checked in at a
meetup of this branch that was not cancelled, "now" is the moment the page is computed:

- **new**: joined the branch in the last 30 days.
- **active**: attended a meetup that started in the last 90 days.
- **regular**: attended at least 3 meetups that started in the last 180 days.
- **lurker**: a member for 60 days or more who never attended, or not in the last 180 days.
- **no-show-prone**: would need a lead's approval to RSVP under the branch's no-show policy:
  at least `no_show_limit` no-shows (going, never checked in) among their last `no_show_window`
  ended meetups of the branch, as planner/registrations/services.no_shows counts them. With the
  policy switched off (no limit) nobody is in this segment.

Every member's figures come from one set-based statement (aggregates over check-ins and a
window function over the policy's last meetups), however many members the branch has.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Subquery, case, func, select

from branches.models import Branch, Membership, MembershipStatus, Role
from planner.accounts.models import User
from planner.events.models import Event, EventStatus
from planner.extensions import db
from planner.registrations.models import Registration, RegistrationStatus

NEW_DAYS = 30
ACTIVE_DAYS = 90
REGULAR_DAYS, REGULAR_MEETUPS = 180, 3
LURKER_MEMBER_DAYS, LURKER_ABSENT_DAYS = 60, 180


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


def member_registrations_at(branch: Branch) -> ColumnElement[bool]:
    """Registrations of members (not walk-ins) at this branch's meetups that took place."""
    return ((Event.branch_id == branch.id) & (Event.status != EventStatus.CANCELLED)
            & Registration.user_id.is_not(None))


def member_rows(branch: Branch, now: datetime) -> list[MemberEngagement]:
    """Every active member of the branch with their figures and segments, by name."""
    figures = _figures(branch, now)
    rows = db.session.execute(
        select(Membership.user_id, User.display_name, Membership.role, Membership.created_at,
               func.coalesce(figures.c.attended, 0), func.coalesce(figures.c.recent, 0),
               figures.c.last, func.coalesce(figures.c.no_shows, 0))
        .join(User, User.id == Membership.user_id)
        .outerjoin(figures, figures.c.user_id == Membership.user_id)
        .where(Membership.branch_id == branch.id, Membership.status == MembershipStatus.ACTIVE)
        .order_by(User.display_name, User.id)).all()
    classify = Classifier(branch, now)
    return [MemberEngagement(user_id, name, role, joined_at, attended, recent, last, no_shows,
                             classify(joined_at, recent, last, no_shows))
            for user_id, name, role, joined_at, attended, recent, last, no_shows in rows]


def _figures(branch: Branch, now: datetime) -> Subquery:
    """Per member, in one pass over the branch's registrations: meetups attended (ever and
    recently), the last one, and no-shows among the last `no_show_window` ended meetups they
    were going to (numbered within that subset by partitioning on it)."""
    counted = (Event.ends_at < now) & (Registration.status == RegistrationStatus.GOING)
    came = Registration.checked_in_at.is_not(None)
    position = func.row_number().over(partition_by=(Registration.user_id, counted),
                                      order_by=(Event.starts_at.desc(), Event.id.desc()))
    history = (
        select(Registration.user_id, Registration.checked_in_at, Event.starts_at,
               counted.label("counted"), position.label("position"))
        .join(Event, Event.id == Registration.event_id)
        .where(member_registrations_at(branch), came | counted).subquery("history"))
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


class Classifier:
    """The definitions of the module docstring, for the members of one branch at one moment:
    the cutoffs are worked out once, and members in the same segments share one frozenset."""

    def __init__(self, branch: Branch, now: datetime) -> None:
        self.new_since = now - timedelta(days=NEW_DAYS)
        self.active_since = now - timedelta(days=ACTIVE_DAYS)
        self.lurker_joined_by = now - timedelta(days=LURKER_MEMBER_DAYS)
        self.absent_before = now - timedelta(days=LURKER_ABSENT_DAYS)
        self.no_show_limit = branch.no_show_limit

    def __call__(self, joined_at: datetime, attended_recently: int,
                 last_attended_at: datetime | None, no_shows: int) -> frozenset[Segment]:
        absent = last_attended_at is None or last_attended_at < self.absent_before
        return _segments((
            joined_at >= self.new_since,
            last_attended_at is not None and last_attended_at >= self.active_since,
            attended_recently >= REGULAR_MEETUPS,
            joined_at <= self.lurker_joined_by and absent,
            self.no_show_limit is not None and no_shows >= self.no_show_limit))


@cache
def _segments(flags: tuple[bool, ...]) -> frozenset[Segment]:
    """The segments whose flag is set, flags in the order of Segment."""
    return frozenset(segment for segment, member_is_in in zip(Segment, flags, strict=True)
                     if member_is_in)
