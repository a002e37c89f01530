"""Member cards and who is at a meetup. Nothing about a member is shown unless they chose it:
a card starts hidden, and never carries their email or phone."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import contains_eager

from branches import permissions
from planner.accounts.models import User
from planner.core.errors import NotAllowed
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events.models import Event
from planner.registrations.models import Registration, RegistrationStatus
from planner.ties.models import MemberCard, Visibility

MAX_TAGS = 10


@dataclass(frozen=True)
class CardInput:
    headline: str
    offer: str
    seek: str
    tags: tuple[str, ...]
    visibility: Visibility


@dataclass(frozen=True)
class Attendee:
    user: User
    card: MemberCard | None  # None: no card, or one its owner keeps to themselves
    checked_in: bool


def own_card(user: Any) -> MemberCard:
    """The member's card, made (hidden, empty) the first time they ask for it."""
    card = db.session.get(MemberCard, user.id)
    if card is None:
        card = MemberCard(user_id=user.id, connect_code=secrets.token_urlsafe(16),
                          visibility=Visibility.NONE, headline="", offer="", seek="", tags=[])
        db.session.add(card)
        db.session.flush()
    return card


def save_card(user: Any, data: CardInput) -> MemberCard:
    card = own_card(user)
    card.headline, card.offer, card.seek = data.headline.strip(), data.offer.strip(), data.seek
    card.tags = _distinct(data.tags)
    card.visibility = data.visibility
    db.session.flush()
    return card


def _distinct(tags: tuple[str, ...]) -> list[str]:
    seen: dict[str, str] = {}
    for tag in (" ".join(t.split()) for t in tags):
        if tag and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
    return list(seen.values())[:MAX_TAGS]


def _attending() -> Any:
    return or_(Registration.status == RegistrationStatus.GOING,
               Registration.checked_in_at.is_not(None))


def attends(user: Any, event: Event) -> bool:
    """Going to the meetup, or checked in at it."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(db.session.scalar(select(exists().where(
        Registration.event_id == event.id, Registration.user_id == user.id, _attending()))))


def may_see_who_is_here(viewer: Any, event: Event) -> bool:
    return permissions.can_see_who_is_here(viewer, event, attending=attends(viewer, event),
                                           now=utcnow())


def who_is_here(viewer: Any, event: Event) -> list[Attendee]:
    """The meetup's attendees as `viewer` may see them: a fellow attendee sees those who show
    their card; the branch's leads see everyone, with the cards that are shown."""
    if not may_see_who_is_here(viewer, event):
        raise NotAllowed(_l("Only the people at this meetup see who is here, from its start "
                            "until 14 days after."))
    rows = db.session.execute(
        select(Registration, MemberCard).join(Registration.user)
        .outerjoin(MemberCard, MemberCard.user_id == Registration.user_id)
        .options(contains_eager(Registration.user))
        .where(Registration.event_id == event.id, _attending())
        .order_by(User.display_name, User.id)).all()
    shown = [Attendee(user, card if card is not None and card.is_shown else None,
                      registration.checked_in_at is not None)
             for registration, card in rows if (user := registration.user) is not None]
    if permissions.can_manage_branch(viewer, event.branch):
        return shown
    return [person for person in shown if person.card is not None]
