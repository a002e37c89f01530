"""Branch health for network admins: one row per branch, every branch side by side.

Columns (the health page shows the same text as help):
- **members**: active members now.
- **meetups**: meetups (not cancelled) starting in the range.
- **reached … first-timer share**: the branch's funnel over those meetups, as planner/funnel/
  report.py defines it (a visitor of two branches' links counts once in each).
- **90-day return rate**: returned / attended.
- **time to fill**: the median, over the range's meetups with a capacity that filled up, of the
  hours from the meetup's creation (meetups keep no publication time) to the moment it was full:
  RSVPs going now (walk-ins included), counted in the order they were queued, first took every
  seat (guests included). "—" when no meetup filled.
- **feedback by month**: the average rating (1–5) the members checked in gave, per month of the
  meetups' start (branch-local), over the range's meetups; how many ratings in brackets.
- **quiet**: no meetup (not cancelled) started in the last N months (N chosen on the page), and
  none is scheduled to start within the next COMING_SOON days (a branch meeting tonight is not
  quiet).

Five set-based statements, however many branches: branches with their member and meetup counts
and last meetup, the funnel's two (from the kept totals of planner/funnel/rollups.py), the
fill times and the feedback (planner/feedback/services.py, by_month).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from branches.models import Branch, Membership, MembershipStatus
from planner.core.extensions import db
from planner.events.models import Event, EventStatus
from planner.feedback.services import MonthFeedback, by_month
from planner.funnel import report, rollups
from planner.funnel.models import MeetupFill
from planner.funnel.report import Figures, days_between

NOTHING = Figures(0, 0, 0, 0, 0, 0, 0, 0, 0)  # a branch nobody was reached by nor came to
COMING_SOON = timedelta(days=30)


@dataclass(frozen=True)
class BranchHealth:
    branch: Branch
    members: int
    meetups: int
    figures: Figures
    fill_hours: float | None  # median; None when no meetup filled
    last_meetup_at: datetime | None
    quiet: bool
    feedback: list[MonthFeedback] = field(default_factory=list)  # by month, oldest first

    @property
    def return_rate(self) -> float | None:
        attended = self.figures.attended
        return self.figures.returned / attended if attended else None


def health_rows(start: date, end: date, now: datetime,
                quiet_since: datetime) -> list[BranchHealth]:
    """Every branch, by name, over meetups starting from `start` to `end` (whole UTC days)."""
    scope = report.range_scope(*report.day_range(start, end))
    figures = rollups.by_branch(start, end)  # refreshes the stale meetups in scope first
    fills = fill_hours(scope)
    feedback = by_month(*report.day_range(start, end))
    return [BranchHealth(branch, members, meetups, figures.get(branch.id, NOTHING),
                         fills.get(branch.id), last,
                         (last is None or last < quiet_since) and not coming,
                         feedback.get(branch.id, []))
            for branch, members, meetups, last, coming in _branch_counts(scope, now)]


def _branch_counts(scope: report.Scope, now: datetime) -> list[tuple[Branch, int, int,
                                                                       datetime | None, bool]]:
    """Each branch with its active members, meetups in scope, last meetup that started, and
    whether one is coming soon."""
    members = (select(Membership.branch_id, func.count().label("n"))
               .where(Membership.status == MembershipStatus.ACTIVE)
               .group_by(Membership.branch_id).subquery())
    meetups = (select(Event.branch_id, func.count().label("n")).where(scope.events)
               .group_by(Event.branch_id).subquery())
    held = (select(Event.branch_id, func.max(Event.starts_at).label("last"))
            .where(Event.status != EventStatus.CANCELLED, Event.starts_at <= now)
            .group_by(Event.branch_id).subquery())
    coming = (select(Event.branch_id)
              .where(Event.status != EventStatus.CANCELLED, Event.starts_at > now,
                     Event.starts_at <= now + COMING_SOON)
              .group_by(Event.branch_id).subquery())
    rows = db.session.execute(
        select(Branch, func.coalesce(members.c.n, 0), func.coalesce(meetups.c.n, 0), held.c.last,
               coming.c.branch_id.is_not(None))
        .outerjoin(members, members.c.branch_id == Branch.id)
        .outerjoin(meetups, meetups.c.branch_id == Branch.id)
        .outerjoin(held, held.c.branch_id == Branch.id)
        .outerjoin(coming, coming.c.branch_id == Branch.id)
        .order_by(Branch.name, Branch.id))
    return [(branch, int(n_members), int(n_meetups), last, bool(soon))
            for branch, n_members, n_meetups, last, soon in rows]


def fill_hours(scope: report.Scope) -> dict[int, float]:
    """Each branch's median hours from creation to full, over the meetups in scope that filled
    (their kept fill times: call after rollups has refreshed the scope)."""
    rows = db.session.execute(
        select(Event.branch_id, days_between(Event.created_at, MeetupFill.filled_at) * 24)
        .join(MeetupFill, MeetupFill.event_id == Event.id)
        .where(scope.events, MeetupFill.filled_at.is_not(None)))
    hours: dict[int, list[float]] = defaultdict(list)
    for branch_id, value in rows:
        hours[branch_id].append(float(value))
    return {branch_id: statistics.median(values) for branch_id, values in hours.items()}
