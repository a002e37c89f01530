"""Site-wide pages: home and the language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from planner.accounts import services as accounts
from planner.core.i18n import SESSION_LOCALE_KEY

bp = Blueprint("main", __name__)


@bp.get("/")
def home() -> str:
    from branches.services import branch_listing

    return render_template("main/home.html", branches=branch_listing(limit=12))


@bp.post("/language")
def set_language() -> Response:
    """Switch the interface language; remembered in the session and on the profile."""
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session[SESSION_LOCALE_KEY] = locale
        if current_user.is_authenticated:
            accounts.set_locale(current_user, locale)
    target = request.form.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("main.home")
    return redirect(target)
