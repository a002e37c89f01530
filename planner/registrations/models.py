"""RSVPs: who is going (with how many guests), who waits, and their tickets."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.core.db import created_at, instant, intpk, optional_instant, str_enum, updated_at
from planner.core.extensions import Model

if TYPE_CHECKING:
    from planner.accounts.models import User
    from planner.events.models import Event


class RegistrationStatus(enum.StrEnum):
    GOING = "going"
    WAITLISTED = "waitlisted"
    PENDING = "pending"  # waits for a lead's approval
    DECLINED = "declined"
    CANCELLED = "cancelled"


# Sources written by the site itself; any other source is the label of the invite link or chat
# group the member came through.
MANUAL_SOURCE = "manual"  # added to the list by a lead
WALK_IN_SOURCE = "walk-in"  # registered at the door with no channel named

ACTIVE_STATUSES = (RegistrationStatus.GOING, RegistrationStatus.WAITLISTED,
                   RegistrationStatus.PENDING)


class ApprovalReason(enum.StrEnum):
    MEETUP_REQUIRES_APPROVAL = "meetup"
    NO_SHOWS = "no_shows"


class Registration(Model):
    """One member's RSVP to one meetup. Cancelling keeps the row; RSVPing again reuses it.
    A walk-in registered at the door has no account: their name and phone are kept here."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_registrations_event_user"),
        CheckConstraint("guests >= 0", name="guests_not_negative"),
        CheckConstraint("status <> 'going' OR ticket_code IS NOT NULL", name="going_has_ticket"),
        CheckConstraint("user_id IS NOT NULL OR attendee_name IS NOT NULL", name="has_attendee"),
        # The seats queue in order; on PostgreSQL it also answers the engagement figures and
        # time to fill from the index alone.
        Index("ix_registrations_event_status_cover", "event_id", "status", "queued_at", "id",
              postgresql_include=["guests", "user_id", "checked_in_at"]),
        # Who came to what: the funnel's history of each member's check-ins, from the index.
        Index("ix_registrations_attended", "user_id", "event_id",
              postgresql_where=text("checked_in_at IS NOT NULL"),
              sqlite_where=text("checked_in_at IS NOT NULL")),
    )

    id: Mapped[intpk]
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    attendee_name: Mapped[str | None] = mapped_column(String(80))  # walk-ins only
    attendee_phone: Mapped[str | None] = mapped_column(String(32))  # walk-ins only
    walk_in: Mapped[bool] = mapped_column(default=False, server_default=false())
    status: Mapped[RegistrationStatus] = mapped_column(
        str_enum(RegistrationStatus, "registration_status"))
    guests: Mapped[int] = mapped_column(default=0)
    # Random and unguessable; the QR code carries it. Only a going registration's ticket is valid.
    ticket_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    # Waitlist order: earliest first. Positions are derived, so they are always contiguous.
    queued_at: Mapped[instant]
    approval_reason: Mapped[ApprovalReason | None] = mapped_column(
        str_enum(ApprovalReason, "approval_reason"))
    decision_message: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str | None] = mapped_column(String(64))
    # The invite link that brought this RSVP (last touch within 30 days), see planner/funnel.
    invite_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("invite_links.id", ondelete="SET NULL"), index=True)
    added_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    cancelled_at: Mapped[optional_instant]
    checked_in_at: Mapped[optional_instant]
    checked_in_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    event: Mapped[Event] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    checked_in_by: Mapped[User | None] = relationship(foreign_keys=[checked_in_by_id])

    @property
    def seats(self) -> int:
        return 1 + self.guests

    @property
    def name(self) -> str:
        return self.user.display_name if self.user is not None else self.attendee_name or ""

    @property
    def phone(self) -> str | None:
        return self.user.phone if self.user is not None else self.attendee_phone

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES
