"""One feedback per member per meetup: a rating, an optional comment, and whether the author
lets the branch quote it. A lead may feature a quotable comment as a testimonial."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.core.db import created_at, intpk, optional_instant, updated_at
from planner.core.extensions import Model

if TYPE_CHECKING:
    from planner.accounts.models import User
    from planner.events.models import Event

COMMENT_LENGTH = 2000
RATINGS = range(1, 6)


class Feedback(Model):
    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_feedback_event_user"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_1_to_5"),
        CheckConstraint(f"length(comment) <= {COMMENT_LENGTH}", name="comment_length"),
        # A testimonial is quoted with its author's consent only: withdrawing it unfeatures.
        CheckConstraint("featured_at IS NULL OR may_quote", name="featured_with_consent"),
        # The testimonials of the branch and series pages: the few featured rows.
        Index("ix_feedback_featured", "event_id", postgresql_where=text("featured_at IS NOT NULL"),
              sqlite_where=text("featured_at IS NOT NULL")),
    )

    id: Mapped[intpk]
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int]
    comment: Mapped[str] = mapped_column(String(COMMENT_LENGTH), default="")
    may_quote: Mapped[bool] = mapped_column(default=False)  # the author's consent, as written
    featured_at: Mapped[optional_instant]
    featured_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    event: Mapped[Event] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def is_featured(self) -> bool:
        return self.featured_at is not None

    def withdraw_feature(self) -> None:
        self.featured_at, self.featured_by_id = None, None

    def feature(self, by_id: int, now: datetime) -> None:
        self.featured_at, self.featured_by_id = now, by_id
