"""What the funnel does when other areas' events happen."""

from __future__ import annotations

import logging

from branches.events import MemberJoined
from branches.models import Membership
from planner.accounts.events import SignedUp
from planner.accounts.models import User
from planner.core.domain_events import EventBus
from planner.core.errors import DomainError
from planner.core.extensions import db
from planner.funnel import services
from planner.registrations.events import Rsvped
from planner.registrations.models import Registration

logger = logging.getLogger(__name__)


def credit_join(joined: MemberJoined) -> None:
    """A join brought by one of the branch's invite links is credited to that link."""
    link = services.link_for_join(joined.invite_code, joined.branch_id)
    if link is not None:
        membership = db.session.get(Membership, joined.membership_id)
        if membership is not None:
            membership.invite_link_id = link.id


def credit_rsvp(rsvped: Rsvped) -> None:
    """An RSVP brought by a live invite link of its meetup, or of the meetup's whole branch, is
    credited to that link, under the link's name as its source."""
    registration = db.session.get_one(Registration, rsvped.registration_id)
    link = services.link_for_rsvp(rsvped.invite_code, registration.event)
    if link is not None:
        registration.source, registration.invite_link_id = link.label[:64], link.id


def credit_referral(signed_up: SignedUp) -> None:
    """The member whose personal code brought the newcomer is their referrer. An unknown code,
    or one the rules refuse, credits nobody: signing up never fails because of it."""
    if signed_up.referral_code is None:
        return
    try:
        services.refer(db.session.get_one(User, signed_up.user_id), signed_up.referral_code)
    except DomainError as error:
        logger.info("Referral not credited for user %s: %s", signed_up.user_id, error)


def subscribe(bus: EventBus) -> None:
    bus.subscribe(MemberJoined)(credit_join)
    bus.subscribe(Rsvped)(credit_rsvp)
    bus.subscribe(SignedUp)(credit_referral)
