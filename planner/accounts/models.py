"""People and their API tokens."""

from __future__ import annotations

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from planner.core.db import created_at, intpk, optional_instant, str80, updated_at
from planner.core.extensions import Model


class User(UserMixin, Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("locale IN ('zh_CN', 'en')", name="locale_known"),
        # A referrer always signed up before the person they invited: no self-referral, and
        # a cycle of referrals is impossible by construction.
        CheckConstraint("referred_by_id IS NULL OR referred_by_id < id",
                        name="referrer_is_older"),
    )

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str80]
    phone: Mapped[str | None] = mapped_column(String(32))
    # None until the member chooses a language: pages then follow the browser's Accept-Language.
    locale: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Secret part of the personal calendar feed URL; rotating it kills the old URL at once.
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The personal feed also lists every meetup of the branches they belong to.
    calendar_includes_branches: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Personal invite code (random, made on first use) and who invited this person (first wins).
    referral_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    referred_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Part of the login session's identity (get_id): raising it ends every session at once,
    # cookies copied elsewhere included.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    api_tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


DEFAULT_TOKEN_NAME = "API token"


class ApiToken(Model):
    """A bearer token for the JSON API. Only its SHA-256 is stored; revoking sets revoked_at."""

    __tablename__ = "api_tokens"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The member's label for it ("chat bot", "my phone"), so one can be revoked and not the rest.
    name: Mapped[str80] = mapped_column(default=DEFAULT_TOKEN_NAME,
                                        server_default=DEFAULT_TOKEN_NAME)
    created_at: Mapped[created_at]
    last_used_at: Mapped[optional_instant]
    revoked_at: Mapped[optional_instant]

    user: Mapped[User] = relationship(back_populates="api_tokens")
