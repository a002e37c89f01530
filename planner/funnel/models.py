"""Invite links and the unique visitors they reached.

Attribution lives on the rows it explains: `registrations.invite_link_id` and
`memberships.invite_link_id` name the link that brought the RSVP or the branch join (last touch),
and `users.referred_by_id` names the member who invited a person.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.db import created_at, instant, intpk, optional_instant, str80, str_enum
from planner.extensions import db

if TYPE_CHECKING:
    from branches.models import Branch
    from planner.accounts.models import User
    from planner.events.models import Event


class Channel(enum.StrEnum):
    CHAT_GROUP = "chat_group"
    SOCIAL_POST = "social_post"
    POSTER = "poster"
    OTHER = "other"


CHANNEL_LABELS = {Channel.CHAT_GROUP: _l("Chat group"), Channel.SOCIAL_POST: _l("Social post"),
                  Channel.POSTER: _l("Poster"), Channel.OTHER: _l("Other")}


class InviteLink(db.Model):
    """A shareable link `/i/<code>` for one meetup, or for a whole branch when event_id is NULL.
    Revoking keeps the row (and its figures) but stops the link from counting or crediting."""

    __tablename__ = "invite_links"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    branch_id: Mapped[int] = mapped_column(
        ForeignKey("branches.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True)
    label: Mapped[str80]
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "invite_channel"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]
    revoked_at: Mapped[optional_instant]

    branch: Mapped[Branch] = relationship()
    event: Mapped[Event | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class InviteVisit(db.Model):
    """One visitor (a random cookie value, never an IP address) who opened one link; the unique
    constraint makes a second visit by the same visitor count nothing."""

    __tablename__ = "invite_visits"
    __table_args__ = (
        UniqueConstraint("link_id", "visitor_key", name="uq_invite_visits_link_visitor"),)

    id: Mapped[intpk]
    link_id: Mapped[int] = mapped_column(ForeignKey("invite_links.id", ondelete="CASCADE"))
    visitor_key: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[instant]
