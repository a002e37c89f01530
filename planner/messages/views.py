"""The lead's pages for writing to people: compose, preview (the mail as rendered and how many
it reaches), send, and the list of what was sent, for one meetup and for the branch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from branches.services import get_branch
from planner.core.errors import InvalidInput
from planner.core.forms import show_field_errors
from planner.events.services import visible_event
from planner.messages import services
from planner.messages.forms import BranchMessageForm, MeetupMessageForm, MessageForm
from planner.notifications.models import LeadMessage

bp = Blueprint("messages", __name__)


@dataclass(frozen=True)
class Page:
    """What differs between writing to a meetup's people and to a branch's members."""

    title: str
    back_url: str
    back_label: str
    count: Callable[[], int]
    preview: Callable[[services.Draft], Any]
    send: Callable[[services.Draft], LeadMessage]
    sent: Callable[[], list[LeadMessage]]
    lists_meetups: bool = False  # the branch's list names the meetup a message was about


@bp.route("/events/<id:event_id>/messages", methods=["GET", "POST"])
@login_required
def meetup(event_id: int) -> str | Response | tuple[str, int]:
    event = visible_event(current_user, event_id)
    form = MeetupMessageForm()
    if request.method == "GET" and not form.to.data:
        form.to.data = ["going"]
    return _compose(form, Page(
        title=_("Write to the people of %(title)s", title=event.title),
        back_url=url_for("registrations.registrations", event_id=event.id),
        back_label=_("Back to the RSVPs"),
        count=lambda: services.count_meetup_recipients(current_user, event, form.audience()),
        preview=lambda draft: services.preview(current_user, event.branch, event, draft),
        send=lambda draft: services.write_to_meetup(current_user, event, draft,
                                                    form.audience()),
        sent=lambda: services.sent_to_meetup(current_user, event)))


@bp.route("/branches/<slug>/messages", methods=["GET", "POST"])
@login_required
def branch(slug: str) -> str | Response | tuple[str, int]:
    the_branch = get_branch(slug)
    form = BranchMessageForm()
    return _compose(form, Page(
        title=_("Write to the members of %(branch)s", branch=the_branch.name),
        back_url=url_for("branches.show", slug=the_branch.slug),
        back_label=_("Back to the branch"),
        count=lambda: services.count_branch_recipients(current_user, the_branch,
                                                       form.audience()),
        preview=lambda draft: services.preview(current_user, the_branch, None, draft),
        send=lambda draft: services.write_to_branch(current_user, the_branch, draft,
                                                    form.audience()),
        sent=lambda: services.sent_to_branch(current_user, the_branch), lists_meetups=True))


def _compose(form: MessageForm, page: Page) -> str | Response | tuple[str, int]:
    """GET: the form and what was sent. POST "preview": the mail as a member gets it and the
    number of people it reaches, with the send button. POST "send": queue it."""
    sent = page.sent()  # asks the permission first: 403 for anyone else, even on GET
    preview, recipients, status = None, None, 200
    if request.method == "POST":
        if form.validate():
            draft = services.Draft(form.subject.data or "", form.body.data or "")
            try:
                if "send" in request.form:
                    message = page.send(draft)
                    flash(_("Your message is on its way to %(count)d people.",
                            count=message.recipients), "success")
                    return redirect(request.path + "#sent")
                recipients, preview = page.count(), page.preview(draft)
            except InvalidInput as error:
                show_field_errors(form, error)
                status = 422
        else:
            status = 422
    return render_template("messages/compose.html", form=form, page=page, sent=sent,
                           preview=preview, recipients=recipients), status
