"""Feedback pages: the member's (phone first, opened from the request mail's link), the leads'
figures and comments of a meetup, and the testimonials the branch and series pages show."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from branches import permissions
from branches.models import Branch
from planner.core.errors import DomainError
from planner.core.forms import show_field_errors
from planner.core.templating import initials
from planner.core.timeutil import utcnow
from planner.events.models import Event
from planner.events.services import get_event
from planner.feedback import services
from planner.feedback.forms import FeatureForm, FeedbackForm
from planner.feedback.models import Feedback

bp = Blueprint("feedback", __name__)


@bp.app_template_global()
def testimonials(branch: Branch | None = None, event: Event | None = None) -> list[Feedback]:
    """Featured comments for the branch page, or for a meetup's page from its series (none
    for a meetup outside a series): registered here so the lower areas need not import us."""
    if event is not None:
        return [] if event.series_id is None else services.testimonials(
            series_id=event.series_id)
    return services.testimonials(branch=branch)


@bp.app_template_global()
def feedback_summary_for(event: Event) -> services.Summary | None:
    """The meetup's figures for its leads' manage card, or None for anyone else."""
    if not permissions.can_read_feedback(current_user, event):
        return None
    return services.summary(current_user, event.id)[1]


def _refusal(event: Event) -> DomainError | None:
    try:
        services.check_may_give(current_user, event, utcnow())
    except DomainError as error:
        return error
    return None


@bp.route("/events/<id:event_id>/feedback", methods=["GET", "POST"])
@login_required
def give(event_id: int) -> str | Response | tuple[str, int]:
    event = get_event(event_id)
    mine = services.own_feedback(current_user, event)
    form = FeedbackForm(obj=mine)
    refusal = _refusal(event)
    if refusal is not None:
        status = refusal.status if request.method == "POST" else 200
        return render_template("feedback/give.html", event=event, form=form, mine=mine,
                               refusal=refusal), status
    if form.validate_on_submit():
        try:
            services.give(current_user, event.id, form.given())
        except DomainError as error:
            show_field_errors(form, error)
        else:
            flash(_("Thank you for your feedback."), "success")
            return redirect(url_for("feedback.give", event_id=event.id))
    return render_template("feedback/give.html", event=event, form=form, mine=mine,
                           refusal=None)


@bp.get("/events/<id:event_id>/feedback/all")
@login_required
def results(event_id: int) -> str:
    event, summary = services.summary(current_user, event_id)
    return render_template("feedback/results.html", event=event, summary=summary,
                           feature_form=FeatureForm(), most=_most(summary))


def _most(summary: services.Summary) -> int:
    """The largest count of one rating, for the bars' widths (at least 1)."""
    return max([1, *summary.distribution.values()])


@bp.post("/feedback/<id:feedback_id>/featured")
@login_required
def feature(feedback_id: int) -> Response:
    form = FeatureForm()
    if not form.validate_on_submit():
        abort(400)  # a forged or stale form (CSRF), or no `featured`
    feedback = services.set_featured(current_user, feedback_id, bool(form.featured.data))
    flash(_("Shown as a testimonial on the branch page.") if feedback.is_featured
          else _("No longer shown as a testimonial."), "success")
    return redirect(url_for("feedback.results", event_id=feedback.event_id))


def author_name(feedback: Feedback, signed_in: Any) -> str:
    """As the meetup page names people: the display name to signed-in members, initials to
    visitors."""
    name = feedback.user.display_name
    return name if getattr(signed_in, "is_authenticated", False) else initials(name)


bp.add_app_template_global(author_name, "testimonial_author")
