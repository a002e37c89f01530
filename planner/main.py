"""Site-wide pages: home and the language switch."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from planner.accounts import services as accounts
from planner.core.i18n import SESSION_LOCALE_KEY

bp = Blueprint("main", __name__)


@bp.get("/")
def home() -> str:
    """Upcoming meetups first, then the branches: people come for the meetups."""
    from branches.services import branch_listing
    from planner.events.services import upcoming_for
    from planner.registrations.services import people_going_of, seats_of

    meetups = upcoming_for(current_user)
    return render_template("main/home.html", meetups=meetups, seats=seats_of(meetups),
                           going=people_going_of(meetups, limit=5),
                           branches=branch_listing(limit=12))


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    """What a phone needs to put Juhui on its home screen, in the reader's language."""
    icon = {"src": url_for("static", filename="img/icon.svg"), "sizes": "any",
            "type": "image/svg+xml"}
    pngs = [{"src": url_for("static", filename=f"img/icon-{size}.png"),
             "sizes": f"{size}x{size}", "type": "image/png"} for size in (180, 512)]
    response = jsonify(name=_("Juhui — meetups of your branch"), short_name=_("Juhui"),
                       lang=str(get_locale()).replace("_", "-"), start_url=url_for("main.home"),
                       display="standalone", background_color="#f5f6f8",
                       theme_color="#c2410c", icons=[icon, *pngs])
    response.mimetype = "application/manifest+json"
    response.vary.add("Accept-Language")
    return response


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
