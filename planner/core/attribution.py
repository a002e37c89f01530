"""The signed cookies that remember, for 30 days, what brought a browser here: the last invite
link it opened (`jh_invite`), and the member's personal referral link `/r/<code>` it came by
(`jh_referrer`).

Only the edges (views, API endpoints) read them; they hand the code to services explicitly, so no
service depends on the request.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, has_request_context, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

INVITE_COOKIE = "jh_invite"
REFERRAL_COOKIE = "jh_referrer"
ATTRIBUTION_WINDOW = timedelta(days=30)
_SALTS = {INVITE_COOKIE: "juhui.invite-link", REFERRAL_COOKIE: "juhui.referral"}


def _signer(cookie: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=_SALTS[cookie])


def _remember(response: Response, cookie: str, code: str) -> None:
    response.set_cookie(cookie, _signer(cookie).dumps(code),
                        max_age=int(ATTRIBUTION_WINDOW.total_seconds()), httponly=True,
                        samesite="Lax", secure=request.is_secure)


def _code_in(cookie: str) -> str | None:
    value = request.cookies.get(cookie) if has_request_context() else None
    if not value:
        return None
    try:
        code = _signer(cookie).loads(value, max_age=int(ATTRIBUTION_WINDOW.total_seconds()))
    except BadSignature:  # tampered with, or older than the window (SignatureExpired)
        return None
    return code if isinstance(code, str) else None


def remember_invite(response: Response, code: str) -> None:
    """Make this invite link the last one this browser touched."""
    _remember(response, INVITE_COOKIE, code)


def last_invite_code() -> str | None:
    """The code of the last invite link opened within the attribution window, if any."""
    return _code_in(INVITE_COOKIE)


def remember_referral(response: Response, code: str) -> None:
    """Remember the member whose personal link `/r/<code>` this browser came by."""
    _remember(response, REFERRAL_COOKIE, code)


def last_referral_code() -> str | None:
    """The personal referral code this browser came by within the attribution window, if any."""
    return _code_in(REFERRAL_COOKIE)


def forget_referral(response: Response) -> None:
    """Drop this browser's referral cookie, if it has one (once its sign-up is done)."""
    if request.cookies.get(REFERRAL_COOKIE):
        response.delete_cookie(REFERRAL_COOKIE)
