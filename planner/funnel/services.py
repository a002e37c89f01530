"""Invite links: making and revoking them, counting their visitors, and crediting the link (the
last one a person opened within 30 days) with the RSVP or branch join that followed; personal
referrals (who invited whom).

Links are for a branch's leads only. Visits are counted once per visitor: the visitor is a random
cookie value, never an IP address, and the database's unique (link, visitor) constraint decides.
Link-preview fetchers of chat apps and crawlers are not visitors and are not counted.
"""

from __future__ import annotations

import re
import secrets
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from branches import permissions
from branches.models import Branch
from planner.accounts.models import User
from planner.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events.models import Event
from planner.funnel import referrals, report, rollups
from planner.funnel.models import Channel, InviteLink, InviteVisit

# An RSVP or join is credited to the last link opened at most this long before.
CODE_BYTES = 12  # 16 URL-safe characters: unguessable, short enough for a poster's QR code

# Link-preview fetchers (WeChat, Telegram, Slack, Facebook, X/Twitter, WhatsApp …) open a link
# the moment it is pasted into a chat, and crawlers follow it; neither is a person reached.
# WeChat's in-app browser ("MicroMessenger") is a real reader and is not matched.
_NOT_A_PERSON = re.compile(
    r"bot|crawler|spider|preview|facebookexternalhit|facebookcatalog|^whatsapp/|slack-imgproxy"
    r"|wechatshare|headless|^curl/|^python-|^wget/",
    re.IGNORECASE)


def is_automated(user_agent: str | None) -> bool:
    """True for link-preview fetchers, crawlers and scripts (and a missing User-Agent)."""
    return not user_agent or _NOT_A_PERSON.search(user_agent) is not None


def _require_lead(actor: Any, branch: Branch) -> None:
    if not permissions.can_manage_invites(actor, branch):
        raise NotAllowed(_l("Only leads of this branch manage its invite links."))


def create_link(actor: Any, branch: Branch, label: str, channel: Channel,
                event: Event | None = None) -> InviteLink:
    """A new link for one meetup, or for the whole branch when `event` is None."""
    _require_lead(actor, branch)
    if event is not None and event.branch_id != branch.id:
        raise InvalidInput(_l("This meetup belongs to another branch."))
    label = label.strip()
    if not label:
        raise InvalidInput(fields={"label": [str(_l("Give the link a name."))]})
    link = InviteLink(code=secrets.token_urlsafe(CODE_BYTES), branch_id=branch.id,
                      event_id=event.id if event else None, label=label[:80], channel=channel,
                      created_by_id=actor.id)
    db.session.add(link)
    db.session.flush()
    return link


def revoke_link(actor: Any, link_id: int) -> InviteLink:
    """Stop a link from counting visits and crediting RSVPs; its figures so far stay."""
    link = db.session.scalar(select(InviteLink).where(InviteLink.id == link_id)
                             .with_for_update())
    if link is None:
        raise NotFound(_l("No such invite link."))
    _require_lead(actor, link.branch)
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        db.session.flush()
    return link


def managed_link(actor: Any, link_id: int) -> InviteLink:
    link = db.session.get(InviteLink, link_id)
    if link is None:
        raise NotFound(_l("No such invite link."))
    _require_lead(actor, link.branch)
    return link


def active_link(code: str) -> InviteLink:
    """The link behind a code; an unknown or revoked code is not found."""
    link = db.session.scalar(select(InviteLink).where(InviteLink.code == code))
    if link is None or link.revoked_at is not None:
        raise NotFound(_l("This invite link does not exist or was withdrawn."))
    return link


def record_visit(link: InviteLink, visitor_key: str, user_agent: str | None) -> bool:
    """Count the visitor once per link; answers whether this visit was counted."""
    if is_automated(user_agent) or not link.is_active:
        return False
    seen = db.session.scalar(select(InviteVisit.id).where(
        InviteVisit.link_id == link.id, InviteVisit.visitor_key == visitor_key))
    if seen is not None:
        return False
    visitor_key, seen_at = visitor_key[:64], utcnow()
    try:
        with db.session.begin_nested():
            rollups.count_visit(link, visitor_key, seen_at)
            db.session.add(InviteVisit(link_id=link.id, visitor_key=visitor_key,
                                       first_seen_at=seen_at))
    except IntegrityError:  # the same visitor's other tab won the race
        return False
    return True


def _credited(code: str | None) -> InviteLink | None:
    if not code:
        return None
    link = db.session.scalar(select(InviteLink).where(InviteLink.code == code))
    return link if link is not None and link.is_active else None


def link_for_rsvp(code: str | None, event: Event) -> InviteLink | None:
    """The link to credit with an RSVP: a live link of this meetup, or of its whole branch."""
    link = _credited(code)
    if link is None or link.branch_id != event.branch_id:
        return None
    return link if link.event_id in (None, event.id) else None


def link_for_join(code: str | None, branch_id: int) -> InviteLink | None:
    """The link to credit with a branch join: any live link of that branch or its meetups."""
    link = _credited(code)
    return link if link is not None and link.branch_id == branch_id else None


def referral_code(user: User) -> str:
    """The member's personal invite code, made on first use."""
    if user.referral_code is None:
        user.referral_code = secrets.token_urlsafe(CODE_BYTES)
        db.session.flush()
    return user.referral_code


def refer(user: User, code: str) -> User:
    """Record who invited `user`. The first referrer wins; a member cannot refer themselves or
    anyone who joined before them, so a chain of referrals can never loop back (the database
    checks referred_by_id < id as well)."""
    referrer = db.session.scalar(select(User).where(User.referral_code == code))
    if referrer is None:
        raise NotFound(_l("Unknown referral code."))
    locked = db.session.scalar(select(User).where(User.id == user.id).with_for_update())
    assert locked is not None
    if locked.referred_by_id is not None:
        raise Conflict(_l("Someone already invited this member."))
    if referrer.id >= locked.id:
        raise InvalidInput(_l("Only a member who joined earlier can have invited you."))
    locked.referred_by_id = referrer.id
    db.session.flush()
    return referrer


def top_referrers(actor: Any, branch: Branch) -> list[referrals.ReferrerRow]:
    _require_lead(actor, branch)
    return referrals.top_referrers(branch)


def meetup_funnel(actor: Any, event: Event) -> report.Funnel:
    _require_lead(actor, event.branch)
    return report.funnel(report.meetup_scope(event))


def branch_funnel(actor: Any, branch: Branch, start: date, end: date) -> report.Funnel:
    """Meetups of the branch starting from `start` to `end` (whole days, branch-local)."""
    _require_lead(actor, branch)
    funnel = rollups.branch_funnel(
        report.range_scope(*_days(start, end, branch.timezone), branch))
    return funnel


def network_funnel(actor: Any, start: date, end: date) -> report.Funnel:
    """Every branch's meetups starting from `start` to `end` (whole days, UTC); admins only."""
    _require_admin(actor)
    check_range(start, end)
    funnel = rollups.network_funnel(start, end)
    return funnel


def _require_admin(actor: Any) -> None:
    if not permissions.is_admin(actor):
        raise NotAllowed(_l("Only network admins see the whole network's funnel."))


def _days(start: date, end: date, timezone: str) -> tuple[Any, Any]:
    check_range(start, end)
    return report.day_range(start, end, timezone)


def check_range(start: date, end: date) -> None:
    """Refuse a date range that ends before it starts (the form's "to" field)."""
    if end < start:
        raise InvalidInput(fields={"to": [str(_l("The end date is before the start date."))]})


def monthly_trend(actor: Any, start: date, end: date,
                  branch: Branch | None = None) -> list[tuple[date, int, int]]:
    """Registered and attended per month of the meetups from `start` to `end`, of the branch
    (its local days; its leads) or of the network (UTC days; admins)."""
    if branch is None:
        _require_admin(actor)
    else:
        _require_lead(actor, branch)
    timezone = branch.timezone if branch else "UTC"
    scope = report.range_scope(*_days(start, end, timezone), branch)
    months = rollups.monthly(scope.events, start, end, timezone)
    return months


def event_link_rows(actor: Any, event: Event) -> list[report.LinkRow]:
    """The meetup's links with what each brought."""
    _require_lead(actor, event.branch)
    return report.link_rows(InviteLink.event_id == event.id)
