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

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, func, select

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


@dataclass(frozen=True)
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
    recent = Event.starts_at >= now - timedelta(days=REGULAR_DAYS)
    attended = (select(Registration.user_id, func.count().label("n"),
                       func.sum(case((recent, 1), else_=0)).label("recent"),
                       func.max(Event.starts_at).label("last"))
                .join(Event, Event.id == Registration.event_id)
                .where(member_registrations_at(branch), Registration.checked_in_at.is_not(None))
                .group_by(Registration.user_id).cte("attended"))
    ranked = (select(Registration.user_id, Registration.checked_in_at,
                     func.row_number().over(partition_by=Registration.user_id,
                                            order_by=(Event.starts_at.desc(), Event.id.desc()))
                     .label("position"))
              .join(Event, Event.id == Registration.event_id)
              .where(member_registrations_at(branch), Event.ends_at < now,
                     Registration.status == RegistrationStatus.GOING).cte("ranked"))
    no_shows = (select(ranked.c.user_id, func.count().label("n"))
                .where(ranked.c.position <= branch.no_show_window,
                       ranked.c.checked_in_at.is_(None))
                .group_by(ranked.c.user_id).cte("no_shows"))
    rows = db.session.execute(
        select(Membership.user_id, User.display_name, Membership.role, Membership.created_at,
               func.coalesce(attended.c.n, 0), func.coalesce(attended.c.recent, 0),
               attended.c.last, func.coalesce(no_shows.c.n, 0))
        .join(User, User.id == Membership.user_id)
        .outerjoin(attended, attended.c.user_id == Membership.user_id)
        .outerjoin(no_shows, no_shows.c.user_id == Membership.user_id)
        .where(Membership.branch_id == branch.id, Membership.status == MembershipStatus.ACTIVE)
        .order_by(User.display_name, User.id))
    return [_member(branch, now, *row) for row in rows]


def _member(branch: Branch, now: datetime, user_id: int, name: str, role: Role,
            joined_at: datetime, attended: int, recent: int, last: datetime | None,
            no_shows: int) -> MemberEngagement:
    return MemberEngagement(user_id, name, role, joined_at, int(attended), int(recent), last,
                            int(no_shows), segments_of(branch, now, joined_at, int(recent), last,
                                                       int(no_shows)))


def segments_of(branch: Branch, now: datetime, joined_at: datetime, attended_recently: int,
                last_attended_at: datetime | None, no_shows: int) -> frozenset[Segment]:
    """The definitions of the module docstring, applied to one member's figures."""
    absent = (last_attended_at is None
              or last_attended_at < now - timedelta(days=LURKER_ABSENT_DAYS))
    found = {
        Segment.NEW: joined_at >= now - timedelta(days=NEW_DAYS),
        Segment.ACTIVE: (last_attended_at is not None
                         and last_attended_at >= now - timedelta(days=ACTIVE_DAYS)),
        Segment.REGULAR: attended_recently >= REGULAR_MEETUPS,
        Segment.LURKER: joined_at <= now - timedelta(days=LURKER_MEMBER_DAYS) and absent,
        Segment.NO_SHOW_PRONE: (branch.no_show_limit is not None
                                and no_shows >= branch.no_show_limit),
    }
    return frozenset(segment for segment, member_is_in in found.items() if member_is_in)
