"""Who brought whom: the branch's top referrers, counted over their whole referral tree.

For each active member of the branch who invited someone (users.referred_by_id):
- **direct**: people they invited themselves;
- **further**: people invited by those, and so on (second and later generations);
- **attended**: people of the whole tree checked in at a meetup of this branch (not cancelled);
- **came back**: of those, people checked in at two or more meetups of this branch.
Counts are over all time. The tree is walked by a recursive CTE in one statement; a referrer
always signed up before their invitee (the database checks it), so the walk cannot loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import aliased

from branches.models import Branch, Membership, MembershipStatus
from planner.accounts.models import User
from planner.core.errors import NotFound
from planner.core.extensions import db
from planner.events.models import Event
from planner.funnel.report import member_registrations_at
from planner.registrations.models import Registration

TOP = 20


@dataclass(frozen=True)
class ReferrerRow:
    user_id: int
    name: str
    direct: int
    further: int
    attended: int
    came_back: int


def top_referrers(branch: Branch, limit: int = TOP) -> list[ReferrerRow]:
    """The branch's members with the most invitees who attended, then came back, then most
    direct invitees."""
    members = select(Membership.user_id).where(Membership.branch_id == branch.id,
                                               Membership.status == MembershipStatus.ACTIVE)
    tree = (select(User.referred_by_id.label("root"), User.id.label("person"),
                   literal(1).label("depth"))
            .where(User.referred_by_id.in_(members)).cte("tree", recursive=True))
    invitee = aliased(User)
    tree = tree.union_all(select(tree.c.root, invitee.id, tree.c.depth + 1)
                          .where(invitee.referred_by_id == tree.c.person))
    visits = (select(Registration.user_id, func.count().label("n"))
              .join(Event, Event.id == Registration.event_id)
              .where(member_registrations_at(branch), Registration.checked_in_at.is_not(None))
              .group_by(Registration.user_id).cte("visits"))
    came = func.coalesce(visits.c.n, 0)
    per_root = (select(tree.c.root,
                       func.sum(case((tree.c.depth == 1, 1), else_=0)).label("direct"),
                       func.sum(case((tree.c.depth > 1, 1), else_=0)).label("further"),
                       func.sum(case((came >= 1, 1), else_=0)).label("attended"),
                       func.sum(case((came >= 2, 1), else_=0)).label("came_back"))
                .select_from(tree).outerjoin(visits, visits.c.user_id == tree.c.person)
                .group_by(tree.c.root).subquery())
    rows = db.session.execute(
        select(User.id, User.display_name, per_root.c.direct, per_root.c.further,
               per_root.c.attended, per_root.c.came_back)
        .join(per_root, per_root.c.root == User.id)
        .order_by(per_root.c.attended.desc(), per_root.c.came_back.desc(),
                  per_root.c.direct.desc(), User.display_name, User.id)
        .limit(limit))
    return [ReferrerRow(user_id, name, *(int(n) for n in counts))
            for user_id, name, *counts in rows]


def referrer(code: str) -> User:
    """The member whose personal code this is."""
    user = db.session.scalar(select(User).where(User.referral_code == code))
    if user is None:
        raise NotFound(_l("Unknown referral code."))
    return user
