"""Invite links and the unique visitors they reached.

Attribution lives on the rows it explains: `registrations.invite_link_id` and
`memberships.invite_link_id` name the link that brought the RSVP or the branch join (last touch),
and `users.referred_by_id` names the member who invited a person.
"""

from __future__ import annotations

import enum
from datetime import date
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, PrimaryKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.core.db import created_at, instant, intpk, optional_instant, str80, str_enum
from planner.core.extensions import Model

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


class InviteLink(Model):
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
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[created_at]
    revoked_at: Mapped[optional_instant]

    branch: Mapped[Branch] = relationship()
    event: Mapped[Event | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class InviteVisit(Model):
    """One visitor (a random cookie value, never an IP address) who opened one link; the unique
    constraint makes a second visit by the same visitor count nothing."""

    __tablename__ = "invite_visits"
    __table_args__ = (
        UniqueConstraint("link_id", "visitor_key", name="uq_invite_visits_link_visitor"),
        # A new visit looks up the visitor's earlier ones (see ReachDay).
        Index("ix_invite_visits_visitor", "visitor_key", "first_seen_at"))

    id: Mapped[intpk]
    link_id: Mapped[int] = mapped_column(ForeignKey("invite_links.id", ondelete="CASCADE"))
    visitor_key: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[instant]


class ReachKind(enum.StrEnum):
    """Within what a visitor is counted once: the network, one channel, one branch."""

    NETWORK = "network"
    CHANNEL = "channel"
    BRANCH = "branch"


NEVER = date(1, 1, 1)  # the previous_day of a visitor's first visit


class ReachDay(Model):
    """Visits counted by UTC day and by the day of the same visitor's previous visit within the
    same network / channel / branch (NEVER for a first visit). The unique visitors who opened a
    link from day a to day b are the visits of those days whose previous one was before a, so
    any range of whole UTC days is counted exactly from these rows, never from the visits.
    Written with each visit (planner/funnel/rollups.py); rows only grow."""

    __tablename__ = "reach_days"
    __table_args__ = (PrimaryKeyConstraint("kind", "day", "branch_id", "channel", "previous_day",
                                           name="pk_reach_days"),)

    kind: Mapped[ReachKind] = mapped_column(str_enum(ReachKind, "reach_kind"))
    day: Mapped[date]
    branch_id: Mapped[int] = mapped_column(default=0)  # BRANCH rows only
    channel: Mapped[str] = mapped_column(String(16), default="")  # CHANNEL rows only
    previous_day: Mapped[date]
    visitors: Mapped[int]


class MeetupFigures(Model):
    """One meetup's funnel figures for one channel, as planner/funnel/report.py defines them,
    kept so that network-wide figures add up a few rows per meetup. `going` and `absent` are
    not yet limited to meetups that ended: the reader does that. Recomputed whenever something
    they depend on changes (StaleMeetup)."""

    __tablename__ = "meetup_figures"
    __table_args__ = (PrimaryKeyConstraint("event_id", "channel", name="pk_meetup_figures"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    registered: Mapped[int]
    guests_registered: Mapped[int]
    attended: Mapped[int]
    guests_attended: Mapped[int]
    returned: Mapped[int]
    first_timers: Mapped[int]
    going: Mapped[int]
    absent: Mapped[int]  # going and never checked in


class MeetupFill(Model):
    """When a meetup with a capacity was full (see planner/engagement/health.py; NULL: never),
    kept and refreshed with its MeetupFigures."""

    __tablename__ = "meetup_fills"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    filled_at: Mapped[optional_instant]


class StaleMeetup(Model):
    """A meetup whose MeetupFigures must be recomputed: written in the same transaction as the
    change that made them stale, taken (`claimed`) and cleared by the refresh. A meetup may be
    listed more than once: writers never wait on each other here."""

    __tablename__ = "stale_meetups"

    id: Mapped[intpk]
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True)
    claimed: Mapped[bool] = mapped_column(default=False)
