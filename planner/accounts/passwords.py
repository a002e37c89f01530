"""Password hashing with Argon2id (argon2-cffi), rehashing when the parameters get stronger.

PASSWORD_HASH_PROFILE names one of argon2's parameter profiles: RFC_9106_LOW_MEMORY in
production; the test suite picks CHEAPEST so that creating hundreds of users stays quick."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app


@cache
def _hasher_for(profile: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(getattr(profiles, profile))


def _hasher() -> PasswordHasher:
    return _hasher_for(current_app.config["PASSWORD_HASH_PROFILE"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


@cache
def _dummy_hash(profile: str) -> str:
    return _hasher_for(profile).hash("not-a-real-password")


def verify_against_dummy(password: str) -> None:
    """Spend the time a real check costs when the email is unknown, so timing tells nothing."""
    verify_password(_dummy_hash(current_app.config["PASSWORD_HASH_PROFILE"]), password)
