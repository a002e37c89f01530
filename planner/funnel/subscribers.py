"""What the funnel does when other areas' events happen."""

from __future__ import annotations

from branches.events import MemberJoined
from branches.models import Membership
from planner.core.domain_events import EventBus
from planner.core.extensions import db
from planner.funnel import services


def credit_join(joined: MemberJoined) -> None:
    """A join brought by one of the branch's invite links is credited to that link."""
    link = services.link_for_join(joined.invite_code, joined.branch_id)
    if link is not None:
        membership = db.session.get(Membership, joined.membership_id)
        if membership is not None:
            membership.invite_link_id = link.id


def subscribe(bus: EventBus) -> None:
    bus.subscribe(MemberJoined)(credit_join)
