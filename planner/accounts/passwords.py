"""Passwords: the one rule for how strong a new one must be, and hashing with Argon2id
(argon2-cffi), rehashing when the parameters get stronger.

PASSWORD_HASH_PROFILE names one of argon2's parameter profiles: RFC_9106_LOW_MEMORY in
production; the test suite picks CHEAPEST so that creating hundreds of users stays quick."""

from __future__ import annotations

import re
from functools import cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

from planner.core.errors import InvalidInput

MIN_LENGTH, MAX_LENGTH = 8, 128
# zxcvbn's estimate: 3 is "safely unguessable" (about 10^8 guesses and more).
MIN_SCORE = 3
# zxcvbn refuses longer input, and its matching grows fast with length; characters past these
# only make a password stronger, so the first ones decide.
SCORED_LENGTH = 72


def _personal_words(email: str, display_name: str) -> list[str]:
    """What a guesser tries first: the email, its parts, and the member's name."""
    words = [email, *re.split(r"[@.+_\-]", email), display_name, *display_name.split()]
    return [word for word in words if word]


def check_strength(password: str, email: str, display_name: str) -> None:
    """Refuse a weak new password, naming the `password` field."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        problem = _l("Use between %(min)d and %(max)d characters.", min=MIN_LENGTH,
                     max=MAX_LENGTH)
    elif zxcvbn(password[:SCORED_LENGTH],
                user_inputs=_personal_words(email, display_name))["score"] < MIN_SCORE:
        problem = _l("This password is too easy to guess. Use a few uncommon words, and not "
                     "your name or email.")
    else:
        return
    raise InvalidInput(fields={"password": [str(problem)]})


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
