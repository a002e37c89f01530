"""The outbox: every email is first a row, written in the same transaction as the change it
reports, then delivered after the commit, retried on failure, and never sent twice.

The row says what to send (its kind, member, RSVP or branch, and in its dedupe key the state it
reports), not the words: those are rendered as the worker takes the message to send, from the
state of that moment, and kept on the row as what was sent."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.core.db import created_at, instant, intpk, optional_instant, str_enum
from planner.core.extensions import Model

if TYPE_CHECKING:
    from branches.models import Branch
    from planner.accounts.models import User
    from planner.events.models import Event
    from planner.registrations.models import Registration


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the maximum number of attempts
    DROPPED = "dropped"  # not sent: what it says no longer held when it was due (premises.py)


class OutboxMessage(Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        CheckConstraint("(status = 'dropped') = (dropped_reason IS NOT NULL)",
                        name="dropped_says_why"),
        CheckConstraint("status <> 'sent' OR (to_address IS NOT NULL AND subject IS NOT NULL "
                        "AND body IS NOT NULL)", name="sent_was_rendered"),
    )

    id: Mapped[intpk]
    # Identifies what the message reports (e.g. "confirmed:<registration>:<ticket>"): a unique
    # key makes enqueuing idempotent, so a retried request never mails twice.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # The RSVP the message is about (none for a nudge), whose state its premise is checked on.
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id", ondelete="SET NULL"), index=True)
    # The branch a message to a member is from (a nudge); an RSVP's mail reaches it through the
    # meetup.
    branch_id: Mapped[int | None] = mapped_column(
        ForeignKey("branches.id", ondelete="SET NULL"), index=True)
    # What a lead wrote, for a lead's message (its words are the lead's; the fixed parts
    # around them are rendered in the member's language).
    lead_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("lead_messages.id", ondelete="CASCADE"), index=True)
    # Rendered as the message is taken to be sent (None until then), again for each attempt.
    to_address: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    ics: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus, "outbox_status"),
                                                 default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[instant]
    last_error: Mapped[str] = mapped_column(String(500), default="")
    sent_at: Mapped[optional_instant]
    dropped_reason: Mapped[str | None] = mapped_column(String(32))  # a premises.DropReason
    dropped_at: Mapped[optional_instant]
    created_at: Mapped[created_at]

    user: Mapped[User | None] = relationship()
    registration: Mapped[Registration | None] = relationship()
    branch: Mapped[Branch | None] = relationship()
    lead_message: Mapped[LeadMessage | None] = relationship()


class LeadMessage(Model):
    """What a lead wrote to a meetup's people (by their RSVP's state) or to the branch's
    members (all of them, or an engagement segment): one outbox row per member it reached."""

    __tablename__ = "lead_messages"
    __table_args__ = (
        CheckConstraint("length(subject) > 0 AND length(body) > 0", name="says_something"),
        CheckConstraint("recipients >= 0", name="recipients_counted"),
        Index("ix_lead_messages_author_sent", "author_id", "created_at"),
    )

    id: Mapped[intpk]
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"),
                                           index=True)
    # The meetup it was written to the people of; None for a message to the branch.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"),
                                                 index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # Markdown
    # Who it was to: RSVP states joined by spaces ("going waitlisted"), "members" or a segment.
    audience: Mapped[str] = mapped_column(String(100))
    recipients: Mapped[int]
    created_at: Mapped[created_at]

    branch: Mapped[Branch] = relationship()
    event: Mapped[Event | None] = relationship()
    author: Mapped[User | None] = relationship()


class MailOptOut(Model):
    """A member switched a category of optional mail off (kinds.py); no row: they get it."""

    __tablename__ = "mail_opt_outs"
    __table_args__ = (
        UniqueConstraint("user_id", "category", name="uq_mail_opt_outs_user_category"),
        CheckConstraint("category IN ('reminders', 'changes', 'messages', 'nudges', 'feedback')",
                        name="known_category"),
    )

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[created_at]
