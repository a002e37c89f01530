"""Accounts: sign-up, authentication, profiles, login sessions and API tokens.

Services only flush: the edge (the request, the CLI command) commits the unit of work."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from planner.accounts.events import SignedUp
from planner.accounts.models import DEFAULT_TOKEN_NAME, ApiToken, User
from planner.accounts.passwords import (
    check_strength,
    hash_password,
    needs_rehash,
    verify_against_dummy,
    verify_password,
)
from planner.core.db import changed_rows
from planner.core.domain_events import publish
from planner.core.errors import Conflict, DomainError, InvalidInput, NotFound
from planner.core.extensions import db
from planner.core.timeutil import is_timezone, utcnow

LOCALES = ("zh_CN", "en")
# Ids are 32-bit integers on PostgreSQL; a larger one names nothing (and SQLite cannot even
# bind one past 64 bits).
MAX_ID = 2**31 - 1
# last_used_at is refreshed at most this often, so API requests do not each cost a write.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


class InvalidCredentials(DomainError):
    status = 401
    code = "invalid_credentials"
    default_message = _l("Wrong email or password.")


@dataclass(frozen=True)
class Profile:
    display_name: str
    phone: str | None
    locale: str | None  # None: no choice made, follow the browser
    timezone: str


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such member."))
    return user


def _check_profile(profile: Profile) -> None:
    if profile.locale is not None and profile.locale not in LOCALES:
        raise InvalidInput(fields={"locale": [str(_l("Unknown language."))]})
    if not is_timezone(profile.timezone):
        raise InvalidInput(fields={"timezone": [str(_l("Unknown timezone."))]})


def _email_taken() -> Conflict:
    message = _l("An account with this email already exists.")
    return Conflict(message, fields={"email": [str(message)]})


def sign_up(email: str, password: str, profile: Profile, *, is_admin: bool = False,
            referral_code: str | None = None) -> User:
    """A new account. `referral_code` names the member who invited them, as the edge knew it:
    the funnel hears `SignedUp` and records the referral."""
    _check_profile(profile)
    email = normalise_email(email)
    check_strength(password, email, profile.display_name)
    if find_user_by_email(email) is not None:
        raise _email_taken()
    user = User(email=email, password_hash=hash_password(password), is_admin=is_admin,
                display_name=profile.display_name, phone=profile.phone or None,
                locale=profile.locale, timezone=profile.timezone)
    try:
        # A savepoint: of two sign-ups racing for one email, the second is told it is taken.
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise _email_taken() from None
    publish(db.session, SignedUp(user.id, referral_code))
    return user


def authenticate(email: str, password: str) -> User:
    user = find_user_by_email(email)
    if user is None:
        verify_against_dummy(password)
        raise InvalidCredentials()
    if not verify_password(user.password_hash, password):
        raise InvalidCredentials()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.flush()
    return user


def update_profile(user: User, profile: Profile) -> User:
    _check_profile(profile)
    user.display_name = profile.display_name
    user.phone = profile.phone or None
    user.locale = profile.locale
    user.timezone = profile.timezone
    db.session.flush()
    return user


def end_sessions(user: User) -> None:
    """End every login session of the member, wherever its cookie was copied to: the
    session's identity carries the version (User.get_id), which no longer matches."""
    user.session_version = User.session_version + 1
    db.session.flush()


def set_password(user: User, password: str) -> None:
    """A new password ends every session and revokes every API token: whoever knew the old
    one is out. The edge signs the current session in again if it should stay."""
    check_strength(password, user.email, user.display_name)
    user.password_hash = hash_password(password)
    end_sessions(user)
    revoke_api_tokens(user)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(user: User, name: str | None = None) -> str:
    """Create a named token and return its secret, which is shown once: only its digest is
    kept."""
    secret = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, token_hash=_token_digest(secret),
                            name=(name or "").strip() or DEFAULT_TOKEN_NAME))
    db.session.flush()
    return secret


def api_token_for(secret: str) -> ApiToken | None:
    """The live (not revoked) token with this secret."""
    return db.session.scalar(
        select(ApiToken).options(joinedload(ApiToken.user))
        .where(ApiToken.token_hash == _token_digest(secret),
                               ApiToken.revoked_at.is_(None)))


def note_token_use(token: ApiToken) -> bool:
    """Stamp the token's last use, at most once per TOKEN_USE_RESOLUTION; True when it did."""
    now = utcnow()
    if token.last_used_at is not None and now - token.last_used_at < TOKEN_USE_RESOLUTION:
        return False
    token.last_used_at = now
    db.session.flush()
    return True


def live_api_tokens(user: User) -> Sequence[ApiToken]:
    """The member's tokens that still work, newest first."""
    return db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all()


def revoke_api_token(user: User, token_id: int) -> None:
    """Revoke one of the member's own tokens; another member's is not found."""
    revoked = 0 < token_id <= MAX_ID and changed_rows(db.session, update(ApiToken).where(
        ApiToken.id == token_id, ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
    ).values(revoked_at=utcnow()))
    if not revoked:
        raise NotFound(_l("No such API token."))


def revoke_api_tokens(user: User) -> int:
    return changed_rows(db.session, update(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow()))


def set_locale(user: User, locale: str) -> None:
    if locale not in LOCALES:
        raise InvalidInput(fields={"locale": [str(_l("Unknown language."))]})
    user.locale = locale
    db.session.flush()
