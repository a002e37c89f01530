"""City branches, who belongs to them in which role, what happened to memberships, and venues."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from planner.core.db import created_at, intpk, str80, str200, str_enum, updated_at
from planner.core.extensions import Model

if TYPE_CHECKING:
    from planner.accounts.models import User


class JoinPolicy(enum.StrEnum):
    OPEN = "open"
    APPROVAL = "approval"


class Role(enum.StrEnum):
    MEMBER = "member"
    STAFF = "staff"
    LEAD = "lead"


class MembershipStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    BANNED = "banned"


class AuditAction(enum.StrEnum):
    JOINED = "joined"
    REQUESTED = "requested"
    APPROVED = "approved"
    DECLINED = "declined"
    LEFT = "left"
    ROLE_CHANGED = "role_changed"
    REMOVED = "removed"
    BANNED = "banned"
    UNBANNED = "unbanned"


class Branch(Model):
    __tablename__ = "branches"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        Index("ix_branches_lat_lon", "latitude", "longitude"),
        # One branch per name in a city, whatever the case or spacing: a second submit of the
        # same form must not found a twin.
        UniqueConstraint("country", "city_key", "name_key", name="uq_branches_name_city"),
        CheckConstraint("webhook_endpoints >= 0", name="webhook_endpoints_not_negative"),
    )

    id: Mapped[intpk]
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str80]
    city: Mapped[str80]
    # name and city as compared for twins (see twin_key); kept in step by _keep_keys.
    name_key: Mapped[str80]
    city_key: Mapped[str80]
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    latitude: Mapped[float]
    longitude: Mapped[float]
    description: Mapped[str] = mapped_column(Text, default="")
    cover_digest: Mapped[str | None] = mapped_column(
        ForeignKey("pictures.digest", ondelete="SET NULL"), index=True)
    join_policy: Mapped[JoinPolicy] = mapped_column(
        str_enum(JoinPolicy, "join_policy"), default=JoinPolicy.OPEN)
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    # No-show policy: after no_show_limit no-shows in the member's last no_show_window meetups
    # of this branch, their RSVPs need approval. NULL switches the policy off.
    no_show_limit: Mapped[int | None]
    no_show_window: Mapped[int] = mapped_column(default=5, server_default="5")
    # How many webhook endpoints the branch has, kept by the webhooks area: read with the
    # branch, it spares every check-in and RSVP a query for endpoints when there are none.
    webhook_endpoints: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    venues: Mapped[list[Venue]] = relationship(
        back_populates="branch", order_by="Venue.name", passive_deletes=True)
    topics: Mapped[list[Topic]] = relationship(
        back_populates="branch", order_by="Topic.name", passive_deletes=True)

    @validates("name", "city")
    def _keep_keys(self, attribute: str, value: str) -> str:
        setattr(self, f"{attribute}_key", twin_key(value))
        return value

    def __repr__(self) -> str:
        return f"<Branch {self.slug}>"


def twin_key(text: str) -> str:
    """How a branch name or city is compared: case folded, spaces collapsed."""
    return " ".join(text.casefold().split())[:80]


class Topic(Model):
    """A subject a branch's meetups are about ("读书", "hiking"): the list leads tag them from."""

    __tablename__ = "topics"
    __table_args__ = (UniqueConstraint("branch_id", "name_key", name="uq_topics_branch_name"),)

    id: Mapped[intpk]
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    name_key: Mapped[str] = mapped_column(String(40))  # twin_key(name): one "Hiking" per branch
    created_at: Mapped[created_at]

    branch: Mapped[Branch] = relationship(back_populates="topics")

    @validates("name")
    def _keep_key(self, _attribute: str, value: str) -> str:
        self.name_key = twin_key(value)[:40]
        return value


class Membership(Model):
    """One person in one branch. Leaving or removal deletes the row; a ban keeps it."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("branch_id", "user_id", name="uq_memberships_branch_user"),)

    id: Mapped[intpk]
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "membership_role"), default=Role.MEMBER)
    status: Mapped[MembershipStatus] = mapped_column(
        str_enum(MembershipStatus, "membership_status"), default=MembershipStatus.ACTIVE)
    ban_reason: Mapped[str | None] = mapped_column(String(500))
    # The invite link that brought this join (last touch within 30 days), see planner/funnel.
    invite_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("invite_links.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    branch: Mapped[Branch] = relationship()
    user: Mapped[User] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status is MembershipStatus.ACTIVE


class AuditEntry(Model):
    """Append-only record of what happened to memberships of a branch, shown to its leads."""

    __tablename__ = "branch_audit_log"

    id: Mapped[intpk]
    branch_id: Mapped[int] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                 index=True)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                   index=True)
    action: Mapped[AuditAction] = mapped_column(str_enum(AuditAction, "audit_action"))
    detail: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[created_at]

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_id])


class Venue(Model):
    __tablename__ = "venues"
    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        UniqueConstraint("branch_id", "name", name="uq_venues_branch_name"),
    )

    id: Mapped[intpk]
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    name: Mapped[str80]
    address: Mapped[str200]
    capacity: Mapped[int]
    latitude: Mapped[float]
    longitude: Mapped[float]
    coordinates_approximate: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    branch: Mapped[Branch] = relationship(back_populates="venues")

