"""A lead's messages: who they reach, the limits on how many and how often, and what was sent.

A message is one `LeadMessage` row and one outbox row per member, written in the request's
transaction; the worker renders each in the member's language and sends it once (the outbox
row's key names message and member), dropping it for a member who switched messages off by
then. Who may write is asked of branches/permissions.py (`can_message_meetup`,
`can_message_branch`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from limits import parse
from sqlalchemy import ColumnElement, and_, false, func, or_, select

from branches import permissions
from branches.models import Branch
from planner.accounts.models import User
from planner.core.errors import DomainError, InvalidInput, NotAllowed
from planner.core.extensions import db, limiter
from planner.core.timeutil import utcnow
from planner.engagement import segments
from planner.engagement.segments import Segment
from planner.events.models import Event
from planner.notifications.kinds import Notice
from planner.notifications.models import LeadMessage
from planner.notifications.outbox import notify_lead_message
from planner.notifications.rendering import Rendered, lead_message_mail, unsubscribe_url
from planner.registrations.models import Registration, RegistrationStatus

SUBJECT_LENGTH = 200
BODY_LENGTH = 20_000
MEMBERS = "members"  # a branch message to every active member
MEETUP_AUDIENCE_LABELS = {
    "going": _l("Going"),
    "waitlisted": _l("On the waitlist"),
    "pending": _l("Waiting for approval"),
    "checked_in": _l("Checked in"),
    "no_show": _l("No-shows (after the meetup)"),
}
BRANCH_AUDIENCES = (MEMBERS, *(segment.value for segment in Segment))
RATE_SCOPE = "lead-messages"


class TooManyMessages(DomainError):
    status = 429
    code = "too_many_messages"
    default_message = _l("You sent many messages just now; wait a few minutes and try again.")


class TooManyRecipients(DomainError):
    status = 429
    code = "too_many_recipients"
    default_message = _l("Your messages have reached as many people today as a lead may reach "
                         "in a day.")


@dataclass(frozen=True)
class Draft:
    subject: str
    body: str


# --- who a message reaches -----------------------------------------------------------------

def _meetup_condition(event: Event, name: str) -> ColumnElement[bool]:
    status, checked_in = Registration.status, Registration.checked_in_at
    if name == "checked_in":
        return checked_in.is_not(None)
    if name == "no_show":  # only once it is over: before that nobody has missed it yet
        if event.ends_at > utcnow():
            return false()
        return and_(status == RegistrationStatus.GOING, checked_in.is_(None))
    return status == RegistrationStatus(name)


def meetup_recipients(event: Event, audience: Sequence[str]) -> list[int]:
    """The members (walk-ins left no address) whose RSVP is in any of the states named, each
    once however many states they match."""
    unknown = [name for name in audience if name not in MEETUP_AUDIENCE_LABELS]
    if unknown or not audience:
        raise InvalidInput(fields={"to": [str(_l("Choose one or more of: %(names)s.",
                                                 names=", ".join(MEETUP_AUDIENCE_LABELS)))]})
    return list(db.session.scalars(
        select(Registration.user_id).distinct()
        .where(Registration.event_id == event.id, Registration.user_id.is_not(None),
               or_(*(_meetup_condition(event, name) for name in audience)))
        .order_by(Registration.user_id)))


def branch_recipients(branch: Branch, to: str) -> list[int]:
    if to not in BRANCH_AUDIENCES:
        raise InvalidInput(fields={"to": [str(_l("Choose one of: %(names)s.",
                                                 names=", ".join(BRANCH_AUDIENCES)))]})
    segment = None if to == MEMBERS else Segment(to)
    return segments.member_ids(branch, utcnow(), segment)


def count_meetup_recipients(actor: Any, event: Event, audience: Sequence[str]) -> int:
    _require_meetup_lead(actor, event)
    return len(meetup_recipients(event, audience))


def count_branch_recipients(actor: Any, branch: Branch, to: str) -> int:
    _require_branch_lead(actor, branch)
    return len(branch_recipients(branch, to))


# --- writing -------------------------------------------------------------------------------

def _require_meetup_lead(actor: Any, event: Event) -> None:
    if not permissions.can_message_meetup(actor, event):
        raise NotAllowed(_l("Only the leads of this meetup write to its people."))


def _require_branch_lead(actor: Any, branch: Branch) -> None:
    if not permissions.can_message_branch(actor, branch):
        raise NotAllowed(_l("Only leads of this branch write to its members."))


def write_to_meetup(actor: Any, event: Event, draft: Draft,
                    audience: Sequence[str]) -> LeadMessage:
    """Queue `draft` for the meetup's people in the states named (`going`, `waitlisted`, …)."""
    _require_meetup_lead(actor, event)
    chosen = [name for name in MEETUP_AUDIENCE_LABELS if name in audience]
    return _send(actor, event.branch, event, draft, " ".join(chosen),
                 lambda: meetup_recipients(event, audience))


def write_to_branch(actor: Any, branch: Branch, draft: Draft, to: str) -> LeadMessage:
    """Queue `draft` for the branch's members, all of them or one engagement segment."""
    _require_branch_lead(actor, branch)
    return _send(actor, branch, None, draft, to, lambda: branch_recipients(branch, to))


def _send(actor: Any, branch: Branch, event: Event | None, draft: Draft, audience: str,
          recipients_of: Callable[[], list[int]]) -> LeadMessage:
    # The author's row is locked first: two sends of one lead wait for each other, so the day's
    # cap is counted over what the other one sent.
    author = db.session.scalar(select(User).where(User.id == actor.id).with_for_update())
    user_ids: list[int] = recipients_of()
    if not user_ids:
        raise InvalidInput(fields={"to": [str(_l("Nobody is in the group you chose."))]})
    _within_the_days_cap(actor.id, len(user_ids))
    _within_the_rate(actor.id)
    message = LeadMessage(branch_id=branch.id, event_id=event.id if event else None,
                          author_id=author.id if author else None, subject=draft.subject.strip(),
                          body=draft.body, audience=audience, recipients=len(user_ids))
    db.session.add(message)
    db.session.flush()
    notify_lead_message(message, user_ids)
    return message


def _within_the_days_cap(author_id: int, adding: int) -> None:
    cap = int(current_app.config["MESSAGE_RECIPIENTS_PER_DAY"])
    reached = db.session.scalar(
        select(func.coalesce(func.sum(LeadMessage.recipients), 0))
        .where(LeadMessage.author_id == author_id,
               LeadMessage.created_at > utcnow() - timedelta(days=1))) or 0
    if reached + adding > cap:
        raise TooManyRecipients(_l(
            "A lead's messages may reach %(cap)d people in 24 hours; this one would make it "
            "%(total)d.", cap=cap, total=reached + adding))


def _within_the_rate(author_id: int) -> None:
    """MESSAGE_RATE_LIMIT per lead, counted where Flask-Limiter counts (Redis when REDIS_URL
    is set): the same budget through the pages and the API, whatever address they come from."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    rule = parse(current_app.config["MESSAGE_RATE_LIMIT"])
    if not limiter.limiter.hit(rule, RATE_SCOPE, str(author_id)):
        raise TooManyMessages()


# --- what was sent -------------------------------------------------------------------------

def sent_to_meetup(actor: Any, event: Event) -> list[LeadMessage]:
    _require_meetup_lead(actor, event)
    return list(db.session.scalars(
        select(LeadMessage).where(LeadMessage.event_id == event.id)
        .order_by(LeadMessage.created_at.desc(), LeadMessage.id.desc())))


def sent_to_branch(actor: Any, branch: Branch) -> list[LeadMessage]:
    """The branch's messages, to its members and to its meetups' people, newest first."""
    _require_branch_lead(actor, branch)
    return list(db.session.scalars(
        select(LeadMessage).where(LeadMessage.branch_id == branch.id)
        .order_by(LeadMessage.created_at.desc(), LeadMessage.id.desc()).limit(200)))


def preview(actor: Any, branch: Branch, event: Event | None, draft: Draft) -> Rendered:
    """The mail as the lead would get it (their own language and name): nothing is saved."""
    if event is not None:
        _require_meetup_lead(actor, event)
    else:
        _require_branch_lead(actor, branch)
    message = LeadMessage(branch=branch, event=event, author=actor, subject=draft.subject,
                          body=draft.body, audience="", recipients=0)
    return lead_message_mail(message, actor, unsubscribe_url(actor, Notice.LEAD_MESSAGE))
