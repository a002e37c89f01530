"""Engagement services: a branch's members by segment, nudging or removing some of them, the
branch's top referrers, and branch health across the network. Each checks who is asking."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from branches import permissions
from branches import services as branches
from branches.models import Branch, Membership, MembershipStatus
from planner.accounts.models import User
from planner.core.errors import DomainError, InvalidInput, NotAllowed, NotFound
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.engagement import health, segments
from planner.engagement.segments import MemberEngagement, Segment
from planner.funnel.services import check_range
from planner.notifications.kinds import Notice
from planner.notifications.outbox import notify_members

# A big branch has 100,000+ members: the page lists them a page at a time.
MEMBERS_PER_PAGE = 200


@dataclass(frozen=True)
class Engagement:
    members: list[MemberEngagement]  # one page of those of the segment asked for, or everyone
    counts: dict[Segment, int]  # members per segment, over everyone
    total: int  # active members
    matching: int  # members of the segment asked for (everyone without one)
    page: int  # from 1, within 1..pages
    pages: int
    first: int  # members before this page


@dataclass(frozen=True)
class Nudged:
    queued: int
    too_new: list[str]  # names of members who joined too recently to be told "a while"


@dataclass(frozen=True)
class Removal:
    removed: list[str]  # names
    refused: list[tuple[str, str]]  # (name, why)


def _require_lead(actor: Any, branch: Branch) -> None:
    if not permissions.can_view_engagement(actor, branch):
        raise NotAllowed(_l("Only leads of this branch see its members' engagement."))


def member_engagement(actor: Any, branch: Branch, segment: Segment | None = None, page: int = 1,
                      per_page: int = MEMBERS_PER_PAGE) -> Engagement:
    """One page of the branch's active members (of `segment`, or everyone) by name, with the
    counts per segment over everyone: two statements, however many members the branch has. A
    page out of range is the nearest one that exists."""
    _require_lead(actor, branch)
    now = utcnow()
    counts = segments.segment_counts(branch, now)
    matching = counts.total if segment is None else counts.by_segment[segment]
    pages = max(1, -(-matching // per_page))
    page = min(max(page, 1), pages)
    first = (page - 1) * per_page
    members = segments.member_rows(branch, now, segment, limit=per_page, offset=first)
    return Engagement(members, counts.by_segment, counts.total, matching, page, pages, first)


def member_export(actor: Any, branch: Branch,
                  segment: Segment | None = None) -> list[MemberEngagement]:
    """Every active member of the branch (of `segment`, or everyone) by name, for a download."""
    _require_lead(actor, branch)
    return segments.member_rows(branch, utcnow(), segment)


def _members(branch: Branch, user_ids: Sequence[int]) -> list[User]:
    """The active members of the branch among `user_ids`; anyone else is refused outright."""
    return [user for user, _joined in _members_since(branch, user_ids)]


def _members_since(branch: Branch, user_ids: Sequence[int]) -> list[tuple[User, datetime]]:
    """Like _members, each with when their membership began."""
    wanted = set(user_ids)
    if not wanted:
        raise InvalidInput(fields={"members": [str(_l("Select at least one member."))]})
    rows = list(db.session.execute(
        select(User, Membership.created_at).join(Membership, Membership.user_id == User.id)
        .where(Membership.branch_id == branch.id, Membership.status == MembershipStatus.ACTIVE,
               User.id.in_(wanted)).order_by(User.id)))
    if len(rows) != len(wanted):
        raise NotFound(_l("Some of the selected people are not members of this branch."))
    return [(user, joined) for user, joined in rows]


def nudge(actor: Any, branch: Branch, user_ids: Sequence[int]) -> Nudged:
    """Mail each selected member who has been in the branch for the lurker tenure a nudge to
    come back; at most one per member per day (a second click queues nothing). Newer members
    are named, not mailed: "it has been a while since we saw you" would not be true."""
    _require_lead(actor, branch)
    now = utcnow()
    members = _members_since(branch, user_ids)
    settled = [user for user, joined in members if joined <= now - segments.lurker_tenure()]
    queued = notify_members(Notice.NUDGE, branch, settled, now.date())
    return Nudged(queued, [user.display_name for user, _joined in members
                           if user not in settled])


def remove(actor: Any, branch: Branch, user_ids: Sequence[int], reason: str) -> Removal:
    """Remove each selected member with the same reason, by the branch's own rules
    (branches.services.remove_member: a lead only by an admin, each removal audited). A member
    those rules refuse is reported, not a reason to keep the others."""
    _require_lead(actor, branch)
    if not reason.strip():
        raise InvalidInput(fields={"reason": [str(_l("Give a reason."))]})
    removed: list[str] = []
    refused: list[tuple[str, str]] = []
    for user in _members(branch, user_ids):
        if user.id == actor.id:
            refused.append((user.display_name, str(_l("You cannot remove yourself."))))
            continue
        try:
            with db.session.begin_nested():
                branches.remove_member(actor, branch, user.id, reason)
        except DomainError as error:
            refused.append((user.display_name, error.message))
        else:
            removed.append(user.display_name)
    return Removal(removed, refused)


def branch_health(actor: Any, start: date, end: date, quiet_months: int) -> list[
        health.BranchHealth]:
    """Every branch over meetups starting from `start` to `end` (whole days, UTC); a branch is
    quiet when no meetup started in the last `quiet_months` months and none is coming soon
    (health.COMING_SOON). Admins only."""
    if not permissions.can_view_network(actor):
        raise NotAllowed(_l("Only network admins compare branches."))
    check_range(start, end)
    now = utcnow()
    rows = health.health_rows(start, end, now, quiet_since(now, quiet_months))
    return rows


def quiet_since(now: datetime, months: int) -> datetime:
    return now - relativedelta(months=months)
