"""Pages: my card, and who is at a meetup."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from planner.core.unit_of_work import writes_during_read
from planner.events.models import Event
from planner.events.services import get_event
from planner.ops.headers import personal
from planner.ties import services
from planner.ties.forms import CardForm

bp = Blueprint("ties", __name__)


@bp.route("/me/card", methods=["GET", "POST"])
@login_required
@personal
@writes_during_read
def card() -> str | Response:
    own = services.own_card(current_user)
    form = CardForm(obj=own) if request.method == "GET" else CardForm()
    if request.method == "GET":
        form.visibility.data = own.visibility.value
    if form.validate_on_submit():
        services.save_card(current_user, form.to_input())
        flash(_("Card saved."), "success")
        return redirect(url_for("ties.card"))
    return render_template("ties/card.html", form=form, card=own)


@bp.get("/events/<id:event_id>/here")
@login_required
@personal
def here(event_id: int) -> str:
    event = get_event(event_id)
    return render_template("ties/here.html", event=event, branch=event.branch,
                           people=services.who_is_here(current_user, event))


@bp.app_template_global()
def sees_who_is_here(event: Event) -> bool:
    """Whether the meetup page offers "Who's here" (registered here, so the meetup area need
    not import this one)."""
    return services.may_see_who_is_here(current_user, event)
