"""Accounts: sign-up, authentication, profiles and API tokens. Services commit; views don't."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from planner.accounts.models import ApiToken, User
from planner.accounts.passwords import (
    hash_password,
    needs_rehash,
    verify_against_dummy,
    verify_password,
)
from planner.errors import Conflict, DomainError, InvalidInput, NotFound
from planner.extensions import db
from planner.timeutil import is_timezone, utcnow

LOCALES = ("zh_CN", "en")
# last_used_at is refreshed at most this often, so API reads do not each cost a write.
TOKEN_USE_RESOLUTION = timedelta(minutes=5)


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


def sign_up(email: str, password: str, profile: Profile, *, is_admin: bool = False) -> User:
    _check_profile(profile)
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise Conflict(_l("An account with this email already exists."),
                       fields={"email": [str(_l("An account with this email already exists."))]})
    user = User(email=email, password_hash=hash_password(password), is_admin=is_admin,
                display_name=profile.display_name, phone=profile.phone or None,
                locale=profile.locale, timezone=profile.timezone)
    db.session.add(user)
    db.session.commit()
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
        db.session.commit()
    return user


def update_profile(user: User, profile: Profile) -> User:
    _check_profile(profile)
    user.display_name = profile.display_name
    user.phone = profile.phone or None
    user.locale = profile.locale
    user.timezone = profile.timezone
    db.session.commit()
    return user


def set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    db.session.commit()


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(user: User) -> str:
    """Create a token and return it; only its digest is kept, so it is shown once."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, token_hash=_token_digest(token)))
    db.session.commit()
    return token


def user_for_api_token(token: str) -> User | None:
    api_token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _token_digest(token),
                               ApiToken.revoked_at.is_(None)))
    if api_token is None:
        return None
    now = utcnow()
    if api_token.last_used_at is None or now - api_token.last_used_at > TOKEN_USE_RESOLUTION:
        api_token.last_used_at = now
        db.session.commit()
    return api_token.user


def revoke_api_tokens(user: User) -> int:
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()
    for token in tokens:
        token.revoked_at = utcnow()
    db.session.commit()
    return len(tokens)


def set_locale(user: User, locale: str) -> None:
    if locale not in LOCALES:
        raise InvalidInput(fields={"locale": [str(_l("Unknown language."))]})
    user.locale = locale
    db.session.commit()
