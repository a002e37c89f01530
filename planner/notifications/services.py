"""Which optional mail a member gets (kinds.py names the categories), and the signed links that
switch a category off without logging in (RFC 8058 one-click unsubscribe)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, select

from planner.accounts.models import User
from planner.core.errors import InvalidInput, NotFound
from planner.core.extensions import db
from planner.notifications.kinds import Category, Essential, category_of
from planner.notifications.models import MailOptOut

TOKEN_SALT = "juhui.unsubscribe"


def preferences(user: User) -> dict[str, bool]:
    """Every category, optional and essential, and whether the member gets it."""
    off = set(db.session.scalars(select(MailOptOut.category)
                                 .where(MailOptOut.user_id == user.id)))
    return ({category.value: category.value not in off for category in Category}
            | {essential.value: True for essential in Essential})


def set_preferences(user: User, wanted: Mapping[str, bool]) -> dict[str, bool]:
    """Switch the categories named on or off; an essential one cannot be switched off (the
    request is refused naming it, and nothing is changed)."""
    refused = {name: [str(_l("This mail is essential and cannot be switched off."))]
               for name, on in wanted.items() if name in set(Essential) and not on}
    if refused:
        raise InvalidInput(fields=refused)
    db.session.add(user)
    for name, on in wanted.items():
        if name in set(Category):
            _switch(user.id, Category(name), on)
    db.session.flush()
    return preferences(user)


def _switch(user_id: int, category: Category, on: bool) -> None:
    existing = db.session.scalar(select(MailOptOut).where(
        MailOptOut.user_id == user_id, MailOptOut.category == category.value))
    if on and existing is not None:
        db.session.execute(delete(MailOptOut).where(MailOptOut.id == existing.id))
    elif not on and existing is None:
        db.session.add(MailOptOut(user_id=user_id, category=category.value))


def opted_out(user_id: int, kind: str) -> bool:
    """Whether the member switched off the category this kind of mail is in (never for
    essential mail)."""
    category = category_of(kind)
    if category is None:
        return False
    return db.session.scalar(select(MailOptOut.id).where(
        MailOptOut.user_id == user_id, MailOptOut.category == category.value)) is not None


# --- the unsubscribe link ------------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def unsubscribe_token(user_id: int, category: Category) -> str:
    """Names the member and the category, signed with the site's secret: nobody can make one
    for someone else, and it keeps working as long as the secret does."""
    return _serializer().dumps([user_id, category.value])


def read_unsubscribe_token(token: str) -> tuple[User, Category]:
    """The member and category a token names; 404 for one that is forged, damaged or names a
    member who is gone."""
    try:
        user_id, name = _checked(_serializer().loads(token))
    except (BadSignature, ValueError, TypeError):
        raise NotFound(_l("This unsubscribe link is not valid.")) from None
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("This unsubscribe link is not valid."))
    return user, Category(name)


def _checked(payload: Any) -> tuple[int, str]:
    user_id, name = payload
    if not isinstance(user_id, int) or name not in set(Category):
        raise ValueError("not a token of ours")
    return user_id, name


def unsubscribe(token: str) -> tuple[User, Category]:
    """Switch off the category the token names, for the member it names."""
    user, category = read_unsubscribe_token(token)
    _switch(user.id, category, on=False)
    db.session.flush()
    return user, category
