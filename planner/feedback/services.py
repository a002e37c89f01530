"""The rules of feedback. Who may give it: a member checked in at the meetup (walk-ins
included, when they have an account), from the meetup's start until FEEDBACK_DAYS after its end;
once per member per meetup (giving it again edits it). Who reads it: the branch's leads
(branches/permissions.py). A comment is quoted as a testimonial only while its author consents:
withdrawing the consent when editing unfeatures it.

Services flush only; the edge commits."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload

from branches import permissions
from branches.models import Branch
from planner.accounts.models import User
from planner.core.errors import Conflict, NotAllowed, NotFound
from planner.core.extensions import db
from planner.core.timeutil import to_local, utcnow
from planner.events.models import Event, EventStatus
from planner.feedback.models import RATINGS, Feedback
from planner.notifications.premises import DropReason
from planner.registrations.models import Registration

TESTIMONIALS_SHOWN = 6


class NotCheckedIn(NotAllowed):
    code = "not_checked_in"
    default_message = _l("Only members who were checked in at this meetup can rate it.")


class FeedbackNotOpen(Conflict):
    code = "feedback_not_open"
    default_message = _l("Feedback opens when the meetup starts.")


class FeedbackClosed(Conflict):
    code = "feedback_closed"
    default_message = _l("Feedback on this meetup is closed.")


class NoConsent(Conflict):
    code = "no_consent"
    default_message = _l("Only a comment its author lets us quote can be featured.")


@dataclass(frozen=True)
class FeedbackInput:
    rating: int
    comment: str = ""
    may_quote: bool = False


@dataclass(frozen=True)
class Summary:
    count: int
    average: float | None  # None without feedback
    distribution: dict[int, int]  # every rating 1–5, 0 when nobody gave it
    items: list[Feedback]


def window(event: Event) -> tuple[datetime, datetime]:
    """From the meetup's start to FEEDBACK_DAYS after its end, both included."""
    return event.starts_at, event.ends_at + timedelta(days=current_app.config["FEEDBACK_DAYS"])


def _event_locked(event_id: int) -> Event:
    event = db.session.scalar(select(Event).where(Event.id == event_id).with_for_update())
    if event is None:
        raise NotFound(_l("No such meetup."))
    return event


def _event(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound(_l("No such meetup."))
    return event


def was_checked_in(user: Any, event: Event) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return db.session.scalar(
        select(Registration.id).where(Registration.event_id == event.id,
                                      Registration.user_id == user.id,
                                      Registration.checked_in_at.is_not(None))) is not None


def check_may_give(user: Any, event: Event, now: datetime) -> None:
    """Raise why `user` may not rate `event` at `now`: not checked in (403), too early or too
    late (409)."""
    if not was_checked_in(user, event):
        raise NotCheckedIn()
    opens, closes = window(event)
    if event.status is EventStatus.CANCELLED or now > closes:
        raise FeedbackClosed()
    if now < opens:
        raise FeedbackNotOpen()


def own_feedback(user: Any, event: Event) -> Feedback | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(select(Feedback).where(Feedback.event_id == event.id,
                                                    Feedback.user_id == user.id))


def give(user: User, event_id: int, given: FeedbackInput,
         now: datetime | None = None) -> tuple[Feedback, bool]:
    """Rate the meetup, or edit the rating given before; returns it and whether it is new. The
    meetup's row is locked first, so two at once make one row (the unique key holds too)."""
    now = now or utcnow()
    event = _event_locked(event_id)
    check_may_give(user, event, now)
    feedback = own_feedback(user, event)
    created = feedback is None
    if feedback is None:
        feedback = Feedback(event_id=event.id, user_id=user.id, featured_at=None)
        db.session.add(feedback)
    feedback.rating, feedback.comment = given.rating, given.comment.strip()
    feedback.may_quote = given.may_quote
    if not given.may_quote or not feedback.comment:
        feedback.withdraw_feature()  # no consent (any more), nothing to quote: no testimonial
    db.session.flush()
    return feedback, created


def summary(user: Any, event_id: int) -> tuple[Event, Summary]:
    """The meetup's figures for its leads: one statement for the distribution (count and
    average follow from it), one for the items, newest first."""
    event = _event(event_id)
    if not permissions.can_read_feedback(user, event):
        raise NotAllowed()
    counted = {rating: n for rating, n in db.session.execute(
        select(Feedback.rating, func.count()).where(Feedback.event_id == event.id)
        .group_by(Feedback.rating))}
    distribution = {rating: int(counted.get(rating, 0)) for rating in RATINGS}
    count = sum(distribution.values())
    total = sum(rating * n for rating, n in distribution.items())
    items = list(db.session.scalars(
        select(Feedback).where(Feedback.event_id == event.id)
        .options(joinedload(Feedback.user))
        .order_by(Feedback.updated_at.desc(), Feedback.id.desc())))
    return event, Summary(count, round(total / count, 2) if count else None, distribution,
                          items)


def set_featured(user: Any, feedback_id: int, featured: bool,
                 now: datetime | None = None) -> Feedback:
    """Feature a quotable comment as a testimonial, or take it down."""
    feedback = db.session.get(Feedback, feedback_id)
    if feedback is None:
        raise NotFound(_l("No such feedback."))
    _event_locked(feedback.event_id)
    if not permissions.can_feature_feedback(user, feedback.event.branch):
        raise NotAllowed()
    if not featured:
        feedback.withdraw_feature()
    elif not (feedback.may_quote and feedback.comment):
        raise NoConsent()
    elif feedback.featured_at is None:
        feedback.feature(user.id, now or utcnow())
    db.session.flush()
    return feedback


def testimonials(branch: Branch | None = None, series_id: int | None = None,
                 limit: int = TESTIMONIALS_SHOWN) -> list[Feedback]:
    """Featured comments (quotable by consent) of the branch's meetups or of one series', the
    latest featured first."""
    query = (select(Feedback).join(Feedback.event)
             .options(contains_eager(Feedback.event), joinedload(Feedback.user))
             .where(Feedback.featured_at.is_not(None), Feedback.may_quote,
                    Event.status != EventStatus.CANCELLED))
    if branch is not None:
        query = query.where(Event.branch_id == branch.id)
    if series_id is not None:
        query = query.where(Event.series_id == series_id)
    return list(db.session.scalars(
        query.order_by(Feedback.featured_at.desc(), Feedback.id.desc()).limit(limit)))


def request_unwanted(registration: Registration, now: datetime) -> DropReason | None:
    """The mail worker's question about a feedback request (premises.py): the member rated the
    meetup already, or it can no longer be rated."""
    _opens, closes = window(registration.event)
    if now > closes:
        return DropReason.FEEDBACK_CLOSED
    if own_feedback(registration.user, registration.event) is not None:
        return DropReason.FEEDBACK_GIVEN
    return None


@dataclass(frozen=True)
class MonthFeedback:
    month: str  # "2026-10", in the branch's time zone
    count: int
    average: float


def by_month(start: datetime, end: datetime) -> dict[int, list[MonthFeedback]]:
    """Each branch's feedback average per month over meetups starting from `start` (included)
    to `end` (excluded): one statement, summing per meetup, then months by branch-local start."""
    rows = db.session.execute(
        select(Event.branch_id, Branch.timezone, Event.starts_at, func.count(),
               func.sum(Feedback.rating))
        .join(Event, Event.id == Feedback.event_id).join(Branch, Branch.id == Event.branch_id)
        .where(Event.starts_at >= start, Event.starts_at < end,
               Event.status != EventStatus.CANCELLED)
        .group_by(Event.id, Event.branch_id, Branch.timezone, Event.starts_at))
    sums: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for branch_id, timezone, starts_at, count, total in rows:
        month = sums[branch_id][to_local(starts_at, timezone).strftime("%Y-%m")]
        month[0] += int(count)
        month[1] += int(total)
    return {branch_id: [MonthFeedback(month, n, round(total / n, 2))
                        for month, (n, total) in sorted(months.items())]
            for branch_id, months in sums.items()}
