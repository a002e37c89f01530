"""Every scan at the door, kept as an append-only log (as pretix does): what was scanned, by
whom, at which door, and how it ended. A registration's checked_in_at is the state; this log is
the history, and a scan's nonce makes sending it again harmless."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.core.db import created_at, instant, intpk, str_enum
from planner.core.extensions import Model

if TYPE_CHECKING:
    from planner.accounts.models import User
    from planner.registrations.models import Registration


class ScanOutcome(enum.StrEnum):
    OK = "ok"
    ALREADY_CHECKED_IN = "already_checked_in"
    UNKNOWN_TICKET = "unknown_ticket"
    WRONG_EVENT = "wrong_event"
    CANCELLED = "cancelled"
    WAITLISTED = "waitlisted"
    PENDING = "pending"  # the RSVP still waits for a lead's approval
    UNDONE = "undone"  # a check-in taken back by door staff
    TOO_EARLY = "too_early"  # scanned before the door opens (CHECKIN_OPENS_BEFORE the start)
    TOO_LATE = "too_late"  # scanned after the door closes (CHECKIN_CLOSES_AFTER the end)


class CheckinScan(Model):
    __tablename__ = "checkin_scans"
    __table_args__ = (
        Index("ix_checkin_scans_event_received", "event_id", "received_at"),
        # A nonce belongs to its meetup: the same one sent to another meetup is another scan.
        UniqueConstraint("event_id", "nonce", name="uq_checkin_scans_event_nonce"))

    id: Mapped[intpk]
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True)
    # What the scanner read, kept only for scans that matched no ticket of this meetup.
    scanned_code: Mapped[str] = mapped_column(String(64), default="")
    # Chosen by the door app per scan or walk-in; repeated at the same meetup, it returns the
    # first answer.
    nonce: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[ScanOutcome] = mapped_column(str_enum(ScanOutcome, "scan_outcome"))
    door: Mapped[str] = mapped_column(String(40), default="")
    scanned_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    scanned_at: Mapped[instant]  # on the door's clock: offline scans arrive later
    received_at: Mapped[created_at]

    registration: Mapped[Registration | None] = relationship()
    scanned_by: Mapped[User | None] = relationship()
