"""Meetups (events), the series they may belong to, and venue bookings."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    column,
    false,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.core.db import created_at, instant, intpk, optional_instant, str_enum, updated_at
from planner.core.extensions import Model

if TYPE_CHECKING:
    from branches.models import Branch, Topic, Venue


class EventStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class BookingStatus(enum.StrEnum):
    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class EventSeries(Model):
    """A repeating meetup: its occurrences are ordinary events that point here."""

    __tablename__ = "event_series"

    id: Mapped[intpk]
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"),
                                           index=True)
    freq: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[created_at]

    events: Mapped[list[Event]] = relationship(back_populates="series",
                                               order_by="Event.starts_at")


# Which of its branch's topics a meetup is about.
event_topics = Table(
    "event_topics", Model.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


class Event(Model):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint("max_guests BETWEEN 0 AND 20", name="max_guests_range"),
        CheckConstraint("venue_id IS NOT NULL OR online_url IS NOT NULL", name="has_a_place"),
        CheckConstraint("rsvp_closes_at IS NULL OR rsvp_opens_at IS NULL "
                        "OR rsvp_closes_at > rsvp_opens_at", name="rsvp_window_ordered"),
        Index("ix_events_branch_starts", "branch_id", "starts_at"),
        Index("ix_events_starts", "starts_at"),
        # Word search (planner/events/search.py): trigrams of the title and description, so
        # a Chinese substring is found too. SQLite's counterpart is the FTS5 table events_fts.
        Index("ix_events_search_trgm",
              literal_column("(((title)::text || ' '::text) || description)").label("words"),
              postgresql_using="gin", postgresql_ops={"words": "gin_trgm_ops"},
              ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[intpk]
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_series.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[instant]
    ends_at: Mapped[instant]
    # The slot this occurrence was created for: calendar UIDs stay stable when it is moved.
    original_starts_at: Mapped[instant]
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id", ondelete="RESTRICT"),
                                                 index=True)
    online_url: Mapped[str | None] = mapped_column(String(500))
    capacity: Mapped[int | None]
    max_guests: Mapped[int] = mapped_column(default=0, server_default="0")
    requires_approval: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Door staff may register walk-ins even when every seat is taken.
    walk_ins_over_capacity: Mapped[bool] = mapped_column(default=False, server_default=false())
    rsvp_opens_at: Mapped[optional_instant]
    rsvp_closes_at: Mapped[optional_instant]
    status: Mapped[EventStatus] = mapped_column(str_enum(EventStatus, "event_status"),
                                                default=EventStatus.DRAFT)
    cancel_message: Mapped[str] = mapped_column(String(1000), default="")
    # The cover picture, by the digest its addresses are made of (pages need no join for it).
    cover_digest: Mapped[str | None] = mapped_column(
        ForeignKey("pictures.digest", ondelete="SET NULL"), index=True)
    # Bumped whenever time, place or status changes (iCalendar SEQUENCE).
    sequence: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    branch: Mapped[Branch] = relationship()
    venue: Mapped[Venue | None] = relationship()
    series: Mapped[EventSeries | None] = relationship(back_populates="events")
    booking: Mapped[Booking | None] = relationship(back_populates="event", uselist=False)
    topics: Mapped[list[Topic]] = relationship(secondary=event_topics, order_by="Topic.name")

    @property
    def is_published(self) -> bool:
        return self.status is EventStatus.PUBLISHED

    @property
    def is_cancelled(self) -> bool:
        return self.status is EventStatus.CANCELLED


class Booking(Model):
    """A venue held for a time range, with setup and teardown buffers.

    blocked_from/blocked_until include the buffers; two live bookings of one venue may never
    overlap as half-open intervals [blocked_from, blocked_until). On PostgreSQL an exclusion
    constraint enforces this as a second wall behind the service's lock.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("setup_minutes >= 0 AND teardown_minutes >= 0", name="buffers_positive"),
        CheckConstraint("blocked_from <= starts_at AND blocked_until >= ends_at",
                        name="blocked_covers_booking"),
        Index("ix_bookings_venue_blocked", "venue_id", "blocked_from", "blocked_until"),
        Index("uq_bookings_event", "event_id", unique=True,
              sqlite_where=text("event_id IS NOT NULL"),
              postgresql_where=text("event_id IS NOT NULL")),
        # Needs the btree_gist extension (the migration creates it); SQLite has no such thing.
        ExcludeConstraint(
            ("venue_id", "="),
            (func.tstzrange(column("blocked_from"), column("blocked_until"), "[)"), "&&"),
            name="excl_bookings_no_overlap", using="gist",
            where=text("status <> 'cancelled'"),
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[intpk]
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    starts_at: Mapped[instant]
    ends_at: Mapped[instant]
    setup_minutes: Mapped[int] = mapped_column(default=0)
    teardown_minutes: Mapped[int] = mapped_column(default=0)
    blocked_from: Mapped[instant]
    blocked_until: Mapped[instant]
    status: Mapped[BookingStatus] = mapped_column(str_enum(BookingStatus, "booking_status"),
                                                  default=BookingStatus.CONFIRMED)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    venue: Mapped[Venue] = relationship()
    event: Mapped[Event | None] = relationship(back_populates="booking")

    @property
    def is_live(self) -> bool:
        return self.status is not BookingStatus.CANCELLED

