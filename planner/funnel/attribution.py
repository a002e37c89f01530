"""The browser side of attribution: the visitor cookie, and (through planner.core.attribution)
the signed cookie of the last invite link a person opened, which the edges read when the person
RSVPs or joins a branch and hand to the service as an invite code.

This module reads the request, so views and API endpoints use it, never services.
"""

from __future__ import annotations

import re
import secrets

from flask import request
from werkzeug.wrappers import Response

from planner.core.attribution import remember_invite
from planner.funnel.models import InviteLink

VISITOR_COOKIE = "jh_visitor"
VISITOR_COOKIE_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
_VISITOR_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


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
    remember_invite(response, link.code)

