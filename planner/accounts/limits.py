"""Rate limits per account, beside the per-address ones (LOGIN_RATE_LIMIT).

Guesses at one account's password come out of one budget, whichever addresses send them: the
login form and POST /api/v1/auth/token share ACCOUNT_LOGIN_RATE_LIMIT, keyed by the normalised
email, and a signed-in member's password changes spend PASSWORD_CHANGE_RATE_LIMIT. Both are
counted by Flask-Limiter before the view runs, so before any password is checked: a wrong guess
costs as much as a right one. The counter is the limiter's storage (Redis in production, memory
otherwise), which increments atomically, so parallel guesses cannot slip past it.
"""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from planner.accounts.services import normalise_email
from planner.core.extensions import configured_limit, limiter

MAX_EMAIL_LENGTH = 254


def _submitted_email() -> str | None:
    """The normalised email of the login form or JSON body; None when there is none to count
    (the form then refuses the request before any password is checked)."""
    body = request.get_json(silent=True) if request.is_json else request.form
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str):
        return None
    email = normalise_email(email)
    return email if 0 < len(email) <= MAX_EMAIL_LENGTH else None


def _member_key() -> str:
    return str(current_user.id) if current_user.is_authenticated else ""


account_login_limit = limiter.shared_limit(
    configured_limit("ACCOUNT_LOGIN_RATE_LIMIT"), scope="account-login", methods=["POST"],
    key_func=lambda: _submitted_email() or "",
    exempt_when=lambda: _submitted_email() is None,
    error_message=lambda: _("Too many login attempts for this account. Please wait a few "
                            "minutes and try again."))

password_change_limit = limiter.shared_limit(
    configured_limit("PASSWORD_CHANGE_RATE_LIMIT"), scope="password-change", methods=["POST"],
    key_func=_member_key,
    exempt_when=lambda: not current_user.is_authenticated,
    error_message=lambda: _("Too many attempts to change the password. Please wait a while "
                            "and try again."))
