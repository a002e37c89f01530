"""Who may do what. The one place permission rules live; views, API and templates call these.

They answer from the actor's roles in branches (memberships), so they live in the branch domain,
which every area builds on, and import nothing above it."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import event, literal, select
from sqlalchemy.orm import Session

from branches.models import Branch, Membership, MembershipStatus, Role
from planner.core.extensions import db

ROLES = "juhui.active_roles"  # {user id: {branch id: role}}, known for the current transaction
ROLE_IN = "juhui.role_in"  # {(user id, branch id): role or None}, read along with a row


def _is_user(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def is_admin(user: Any) -> bool:
    return _is_user(user) and bool(user.is_admin)


def active_role(user: Any, branch: Branch) -> Role | None:
    """The user's role in the branch if they are an active member, else None."""
    if not _is_user(user):
        return None
    remembered: dict[tuple[int, int], Role | None] = db.session.info.get(ROLE_IN, {})
    if (user.id, branch.id) in remembered:
        return remembered[(user.id, branch.id)]
    return _active_roles(user.id).get(branch.id)


def role_in(user: Any, branch_id: Any) -> Any:
    """A column with the user's active role in the branch `branch_id` (a column of the row
    being read): a hot path reads the caller's rights with the row itself, then hands them to
    `remember_role`, so the checks below need no query of their own."""
    if not _is_user(user):
        return literal(None, type_=Membership.role.type)
    return (select(Membership.role)
            .where(Membership.user_id == user.id, Membership.branch_id == branch_id,
                   Membership.status == MembershipStatus.ACTIVE)
            .scalar_subquery())


def remember_role(user: Any, branch_id: int, role: Role | None) -> None:
    """Keep for the transaction what `role_in` read (forgotten as the whole-user roles are)."""
    if _is_user(user):
        db.session.info.setdefault(ROLE_IN, {})[(user.id, branch_id)] = role


def _active_roles(user_id: int) -> dict[int, Role]:
    """Every active role of the user, read once per transaction: a page asks many times."""
    known: dict[int, dict[int, Role]] = db.session.info.setdefault(ROLES, {})
    if user_id not in known:
        known[user_id] = {branch_id: role for branch_id, role in db.session.execute(
            select(Membership.branch_id, Membership.role).where(
                Membership.user_id == user_id, Membership.status == MembershipStatus.ACTIVE))}
    return known[user_id]


def _forget_roles_if_changed(session: Session, _context: object) -> None:
    touched = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, Membership) for obj in touched):
        _forget_roles(session)


def _forget_roles(session: Session, *_: object) -> None:
    session.info.pop(ROLES, None)
    session.info.pop(ROLE_IN, None)


def init_app(app: Flask) -> None:
    """Templates ask `can.…`. Roles read earlier are forgotten when a membership changes and
    when the transaction ends (a later one may see other requests' changes)."""
    app.jinja_env.globals["can"] = sys.modules[__name__]
    for name, listener in (("after_flush", _forget_roles_if_changed),
                           ("after_commit", _forget_roles), ("after_rollback", _forget_roles)):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


def can_create_branch(user: Any) -> bool:
    return is_admin(user)


def can_appoint_lead(user: Any, branch: Branch) -> bool:
    return is_admin(user)


def can_manage_branch(user: Any, branch: Branch) -> bool:
    """Leads of this branch and network admins manage members, venues and settings."""
    return is_admin(user) or active_role(user, branch) is Role.LEAD


def can_view_audit_log(user: Any, branch: Branch) -> bool:
    return can_manage_branch(user, branch)


def can_manage_venues(user: Any, branch: Branch) -> bool:
    return can_manage_branch(user, branch)


def can_see_booking_details(user: Any, branch: Branch) -> bool:
    """Who a venue booking is for (a draft's title, a hold's private note): the branch's
    leads. Everyone else sees only that the time is booked."""
    return can_manage_branch(user, branch)


def can_check_in_at(user: Any, branch: Branch) -> bool:
    """Door staff and leads of the branch (and admins) check people in."""
    return is_admin(user) or active_role(user, branch) in (Role.STAFF, Role.LEAD)


def can_check_in(user: Any, event: Any) -> bool:
    """Check-in at a meetup's door: its branch's door staff and leads."""
    return can_check_in_at(user, event.branch)


def can_see_tickets_and_phones(user: Any, event: Any) -> bool:
    """Raw ticket codes and full phone numbers of a meetup's people: its branch's leads (and
    admins). Door staff get what the door needs and no more (names, masked phones, tickets only
    as fingerprints): a ticket code lets its holder in, and a phone number is private."""
    return can_manage_branch(user, event.branch)


def can_join(user: Any) -> bool:
    return _is_user(user)


def can_manage_invites(user: Any, branch: Branch) -> bool:
    """Invite links and funnel figures of a branch: its leads (and admins)."""
    return can_manage_branch(user, branch)


def can_view_engagement(user: Any, branch: Branch) -> bool:
    """Members' engagement segments, nudges and top referrers: the branch's leads (and admins).
    Members are never shown to leads of other branches."""
    return can_manage_branch(user, branch)


# Fellow attendees see each other's cards for this long after a meetup (issue 17).
WHO_IS_HERE_AFTER = timedelta(days=14)


def can_see_who_is_here(user: Any, event: Any, *, attending: bool, now: datetime) -> bool:
    """The cards at a meetup: its attendees (going or checked in) from its start until 14 days
    after its end, to find each other again; its branch's leads at any time."""
    if can_manage_branch(user, event.branch):
        return True
    return attending and event.starts_at <= now <= event.ends_at + WHO_IS_HERE_AFTER


def can_view_network(user: Any) -> bool:
    """Figures across every branch (branch health, the network funnel): network admins."""
    return is_admin(user)


def can_manage_meetup(user: Any, event: Any) -> bool:
    """One meetup's people and messages: its branch's leads (and admins). Co-hosts of that one
    meetup (issue 16) are to be added here, and only here: every per-meetup check asks this."""
    return can_manage_branch(user, event.branch)


def can_message_meetup(user: Any, event: Any) -> bool:
    """Writing to a meetup's people (going, waitlisted, …): whoever manages that meetup. Door
    staff never: they see names at the door, not a way to mail everyone."""
    return can_manage_meetup(user, event)


def can_message_branch(user: Any, branch: Branch) -> bool:
    """Writing to a branch's members or one of its engagement segments: its leads (and
    admins); a co-host of one meetup never."""
    return can_manage_branch(user, branch)


def can_read_feedback(user: Any, event: Any) -> bool:
    """The ratings and comments of a meetup's attendees: its branch's leads (and admins). The
    members who wrote them see only their own; door staff none."""
    return can_manage_meetup(user, event)


def can_feature_feedback(user: Any, branch: Branch) -> bool:
    """Feature a comment (quotable by its author's consent) as a testimonial on the branch's
    public pages: the branch's leads (and admins)."""
    return can_manage_branch(user, branch)
