"""The browser side of personal referrals: `/r/<code>` leaves a signed cookie naming the code,
and sign-up reads it to record who invited the new member (planner/funnel/services.refer).

This module reads the request, so only views use it, never services.
"""

from __future__ import annotations

import logging

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from planner.accounts.models import User
from planner.core.attribution import ATTRIBUTION_WINDOW
from planner.core.errors import DomainError
from planner.funnel import services

REFERRAL_COOKIE = "jh_referrer"
REFERRAL_AGE = int(ATTRIBUTION_WINDOW.total_seconds())  # like an invite link: 30 days
logger = logging.getLogger(__name__)


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="juhui.referral")


def remember(response: Response, code: str) -> None:
    response.set_cookie(REFERRAL_COOKIE, _signer().dumps(code), max_age=REFERRAL_AGE,
                        httponly=True, samesite="Lax", secure=request.is_secure)


def credit(user: User, response: Response) -> User | None:
    """Credit the referrer named by this browser's cookie with `user` (just signed up), then
    drop the cookie. A forged, expired or unknown code, or one the rules refuse, credits
    nobody: signing up never fails because of it."""
    value = request.cookies.get(REFERRAL_COOKIE)
    if not value:
        return None
    response.delete_cookie(REFERRAL_COOKIE)
    try:
        code = _signer().loads(value, max_age=REFERRAL_AGE)
        return services.refer(user, code) if isinstance(code, str) else None
    except (BadSignature, DomainError) as error:
        logger.info("Referral not credited for user %s: %s", user.id, error)
        return None
