"""Session login glue for Flask-Login."""

from __future__ import annotations

from planner.accounts.models import User
from planner.extensions import db


def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None
