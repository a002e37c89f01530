"""The member's mail preferences page, and the one-click unsubscribe link of optional mail
(RFC 8058), which works without logging in: its token is signed and names member and category."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from planner.core.extensions import csrf
from planner.notifications import services
from planner.notifications.forms import PreferencesForm
from planner.notifications.kinds import CATEGORY_LABELS
from planner.ops.headers import personal

bp = Blueprint("notifications", __name__)


@bp.route("/profile/mail", methods=["GET", "POST"])
@personal
@login_required
def preferences() -> str | Response | tuple[str, int]:
    form = PreferencesForm(data=services.preferences(current_user))
    if request.method == "POST":
        form = PreferencesForm()
        if form.validate():
            # The page's form leaves the disabled essential boxes out: they stay on.
            services.set_preferences(current_user, {field.name: bool(field.data)
                                                    for field in form.optional_fields()})
            flash(_("Your mail preferences are saved."), "success")
            return redirect(url_for("notifications.preferences"))
        return render_template("notifications/preferences.html", form=form), 422
    return render_template("notifications/preferences.html", form=form)


@bp.get("/unsubscribe/<token>")
@personal  # names the member's (masked) address
def unsubscribe(token: str) -> str:
    """A small page with one button: a link opened by a mail scanner changes nothing."""
    user, category = services.read_unsubscribe_token(token)
    return render_template("notifications/unsubscribe.html", token=token, user=user,
                           label=CATEGORY_LABELS[category], done=False)


@bp.post("/unsubscribe/<token>")
@csrf.exempt  # RFC 8058: the mail client POSTs with no session; the signed token is the proof
@personal
def unsubscribe_now(token: str) -> str:
    user, category = services.unsubscribe(token)
    return render_template("notifications/unsubscribe.html", token=token, user=user,
                           label=CATEGORY_LABELS[category], done=True)
