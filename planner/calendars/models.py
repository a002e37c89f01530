"""What a feed poll is answered from: a validator kept per branch feed and per member feed.

A row's `version` is bumped, in the writing transaction, by every write that changes what the
feed shows (see planner.calendars.validators); `valid_until` is the next moment the feed changes
by the clock alone (a meetup leaving the 90-day window, a cancelled one leaving after 30 days),
NULL when unknown since the last bump. A 304 then costs this row, not the meetups."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from planner.core.db import instant, intpk, optional_instant
from planner.core.extensions import Model


class CalendarFeed(Model):
    __tablename__ = "calendar_feeds"
    __table_args__ = (
        CheckConstraint("(branch_id IS NULL) <> (user_id IS NULL)", name="one_feed"),
        CheckConstraint("version >= 0", name="version_not_negative"),
        Index("uq_calendar_feeds_branch", "branch_id", unique=True,
              sqlite_where=text("branch_id IS NOT NULL"),
              postgresql_where=text("branch_id IS NOT NULL")),
        Index("uq_calendar_feeds_user", "user_id", unique=True,
              sqlite_where=text("user_id IS NOT NULL"),
              postgresql_where=text("user_id IS NOT NULL")),
    )

    id: Mapped[intpk]
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(default=1)
    changed_at: Mapped[instant]
    valid_until: Mapped[optional_instant]
