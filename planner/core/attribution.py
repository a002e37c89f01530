"""The signed cookie that remembers the last invite link a browser opened (for 30 days).

Only the edges (views, API endpoints) read it; they hand the code to services explicitly, so no
service depends on the request.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

INVITE_COOKIE = "jh_invite"
ATTRIBUTION_WINDOW = timedelta(days=30)


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="juhui.invite-link")


def remember_invite(response: Response, code: str) -> None:
    """Make this invite link the last one this browser touched."""
    response.set_cookie(INVITE_COOKIE, _signer().dumps(code),
                        max_age=int(ATTRIBUTION_WINDOW.total_seconds()), httponly=True,
                        samesite="Lax", secure=request.is_secure)


def last_invite_code() -> str | None:
    """The code of the last invite link opened within the attribution window, if any."""
    value = request.cookies.get(INVITE_COOKIE) if has_request_context() else None
    if not value:
        return None
    try:
        code = _signer().loads(value, max_age=int(ATTRIBUTION_WINDOW.total_seconds()))
    except BadSignature:  # tampered with, or older than the window (SignatureExpired)
        return None
    return code if isinstance(code, str) else None
