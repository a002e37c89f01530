"""A member's card: what they do, offer and look for, and who may see it (nobody by default)."""

from __future__ import annotations

import enum

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.accounts.models import User
from planner.core.db import str_enum, updated_at
from planner.core.extensions import Model


class Visibility(enum.StrEnum):
    NONE = "none"  # nobody (the default): nothing about a member is shown unless they chose it
    ATTENDEES = "attendees"  # the people at the same meetups
    BRANCH = "branch"  # the members of the same branches (attendees of their meetups too)


class MemberCard(Model):
    __tablename__ = "member_cards"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    headline: Mapped[str] = mapped_column(String(120), default="")
    offer: Mapped[str] = mapped_column(String(500), default="")
    seek: Mapped[str] = mapped_column(String(500), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    visibility: Mapped[Visibility] = mapped_column(
        str_enum(Visibility, "card_visibility"), default=Visibility.NONE)
    # What the member's connect QR code carries (random; another attendee scans it).
    connect_code: Mapped[str] = mapped_column(String(32), unique=True)
    updated_at: Mapped[updated_at]

    user: Mapped[User] = relationship()

    @property
    def is_shown(self) -> bool:
        return self.visibility is not Visibility.NONE
