"""Session login glue for Flask-Login."""

from __future__ import annotations

import re

from planner.accounts.models import User
from planner.core.extensions import db

# What User.get_id puts in the session: "<user id>:<session version>".
SESSION_IDENTITY = re.compile(r"([0-9]{1,18}):([0-9]{1,18})")


def load_user(session_identity: str) -> User | None:
    """The session's member, while the session's version is still theirs: logging out or
    changing the password raises it, and every older copy of the cookie is then anonymous."""
    match = SESSION_IDENTITY.fullmatch(session_identity)
    if match is None:
        return None
    user = db.session.get(User, int(match[1]))
    return user if user is not None and user.session_version == int(match[2]) else None
