"""RSVPs: who is going (with how many guests), who waits, and their tickets."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.db import created_at, instant, intpk, optional_instant, str_enum, updated_at
from planner.extensions import db

if TYPE_CHECKING:
    from planner.accounts.models import User
    from planner.events.models import Event


class RegistrationStatus(enum.StrEnum):
    GOING = "going"
    WAITLISTED = "waitlisted"
    PENDING = "pending"  # waits for a lead's approval
    DECLINED = "declined"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (RegistrationStatus.GOING, RegistrationStatus.WAITLISTED,
                   RegistrationStatus.PENDING)


class ApprovalReason(enum.StrEnum):
    MEETUP_REQUIRES_APPROVAL = "meetup"
    NO_SHOWS = "no_shows"


class Registration(db.Model):
    """One member's RSVP to one meetup. Cancelling keeps the row; RSVPing again reuses it."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_registrations_event_user"),
        CheckConstraint("guests >= 0", name="guests_not_negative"),
        CheckConstraint("status <> 'going' OR ticket_code IS NOT NULL", name="going_has_ticket"),
        Index("ix_registrations_event_status", "event_id", "status", "queued_at"),
    )

    id: Mapped[intpk]
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
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
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cancelled_at: Mapped[optional_instant]
    checked_in_at: Mapped[optional_instant]
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    event: Mapped[Event] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def seats(self) -> int:
        return 1 + self.guests

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES
