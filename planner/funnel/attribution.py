"""The browser side of attribution: the visitor cookie, and the signed cookie that remembers the
last invite link a person opened (for 30 days), read when they RSVP or join a branch.

This module reads the request, so views and API endpoints use it, never services.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from branches.models import Membership
from branches.services import joining
from planner.events.models import Event
from planner.funnel import services
from planner.funnel.models import InviteLink

VISITOR_COOKIE = "jh_visitor"
INVITE_COOKIE = "jh_invite"
VISITOR_COOKIE_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
_VISITOR_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="juhui.invite-link")


def visitor_key() -> tuple[str, bool]:
    """This browser's random visitor key, and whether it is new (so the cookie must be set)."""
    key = request.cookies.get(VISITOR_COOKIE, "")
    if _VISITOR_KEY.match(key):
        return key, False
    return secrets.token_urlsafe(16), True


def remember(response: Response, link: InviteLink, key: str, new_visitor: bool) -> None:
    """Set the visitor cookie (if new) and make this link the last one touched."""
    secure = request.is_secure
    if new_visitor:
        response.set_cookie(VISITOR_COOKIE, key, max_age=VISITOR_COOKIE_AGE, httponly=True,
                            samesite="Lax", secure=secure)
    response.set_cookie(INVITE_COOKIE, _signer().dumps(link.code),
                        max_age=int(services.ATTRIBUTION_WINDOW.total_seconds()), httponly=True,
                        samesite="Lax", secure=secure)


def last_touch() -> str | None:
    """The code of the last invite link opened within the attribution window, if any."""
    value = request.cookies.get(INVITE_COOKIE) if has_request_context() else None
    if not value:
        return None
    try:
        code = _signer().loads(value, max_age=int(services.ATTRIBUTION_WINDOW.total_seconds()))
    except BadSignature:  # tampered with, or older than the window (SignatureExpired)
        return None
    return code if isinstance(code, str) else None


def rsvp_credit(event: Event, code: str | None) -> dict[str, Any]:
    """Keyword arguments for registrations.services.rsvp that credit the invite link: the code
    given explicitly (API, form) or else the last link this browser opened."""
    link = services.link_for_rsvp(code or last_touch(), event)
    return {"source": link.label[:64], "invite_link_id": link.id} if link else {}


@joining.connect
def _credit_join(membership: Membership, **_: Any) -> None:
    """A branch join made from a browser that opened one of the branch's links is credited to
    that link (branches cannot import this area, so it tells us by a signal)."""
    link = services.link_for_join(last_touch(), membership.branch_id)
    if link is not None:
        membership.invite_link_id = link.id
