"""RSVP pages: RSVP and cancel, my meetups, tickets with QR codes, and the leads' list."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, user_logged_in
from werkzeug.wrappers import Response as BaseResponse

from branches import permissions
from planner.core.attribution import last_invite_code
from planner.core.errors import DomainError, NotAllowed
from planner.core.names import matches
from planner.events.models import Event
from planner.events.services import visible_event
from planner.ops.headers import personal
from planner.registrations import services, tickets
from planner.registrations.forms import AddAttendeeForm, CapacityForm, ReviewForm, RsvpForm
from planner.registrations.labels import approval_reason_label, source_label, status_label
from planner.registrations.models import Registration, RegistrationStatus
from planner.registrations.waitlist import waitlist_position, waitlist_positions

bp = Blueprint("registrations", __name__)
for helper in (waitlist_position, status_label, source_label, approval_reason_label,
               services.people_going):
    bp.add_app_template_global(helper)


@bp.app_template_global()
def seats(event: Event) -> services.Seats:
    return services.seats(event)


@bp.app_template_global()
def my_registration(event: Event) -> Registration | None:
    return services.registration_of(current_user, event)


@bp.app_template_global()
def rsvp_refusal(event: Event) -> str | None:
    """Why the meetup takes no RSVP now (it is over, RSVPs closed, …), for its page."""
    refusal = services.rsvp_refusal(event)
    return None if refusal is None else refusal.message


@bp.app_template_global()
def rsvp_started(event: Event) -> bool:
    return services.has_started(event)


@bp.app_template_global()
def rsvp_form() -> RsvpForm:
    return RsvpForm()


def _back(event_id: int) -> BaseResponse:
    return redirect(url_for("events.show", event_id=event_id))


@bp.post("/events/<id:event_id>/rsvp")
def rsvp(event_id: int) -> BaseResponse:
    """RSVP; pressed before logging in, it is finished right after the login or sign-up."""
    visible_event(current_user, event_id)
    form = RsvpForm()
    if not form.validate_on_submit():
        flash(" ".join(form.guests.errors) or _("Some fields are not valid."), "error")
        return _back(event_id)
    if not current_user.is_authenticated:
        _remember_rsvp(event_id, form)
        flash(_("Log in or sign up, and your RSVP is done."), "info")
        return redirect(url_for("accounts.login", next=url_for("events.show", event_id=event_id)))
    try:
        registration = services.rsvp(current_user, event_id, form.guests.data or 0,
                                     form.invite.data or last_invite_code())
    except DomainError as error:
        flash(_explained(error), "error")
        return _back(event_id)
    flash(_status_message(registration), "success")
    return _back(event_id)


RSVP_AFTER_LOGIN = "rsvp_after_login"
RSVP_INTENT_SECONDS = 3600  # an RSVP pressed yesterday is not what a login today asks for


def _remember_rsvp(event_id: int, form: RsvpForm) -> None:
    session[RSVP_AFTER_LOGIN] = {"event_id": event_id, "guests": form.guests.data or 0,
                                 "invite": form.invite.data or None, "at": int(time.time())}


def _finish_rsvp_after_login(_app: Flask, user: Any, **_extra: Any) -> None:
    intent = session.pop(RSVP_AFTER_LOGIN, None)
    if not isinstance(intent, dict) or time.time() - intent.get("at", 0) > RSVP_INTENT_SECONDS:
        return
    try:
        event = visible_event(user, intent["event_id"])
        registration = services.rsvp(user, event.id, intent["guests"],
                                     intent["invite"] or last_invite_code())
    except DomainError as error:
        flash(_explained(error), "error")
    else:
        flash(_status_message(registration), "success")


@bp.record_once
def _finish_rsvps_after_login(state: Any) -> None:
    user_logged_in.connect(_finish_rsvp_after_login, state.app)


def _explained(error: DomainError) -> str:
    """The field messages of an error, or its general message."""
    return " ".join(m for messages in error.fields.values() for m in messages) or error.message


def _status_message(registration: Registration) -> str:
    if registration.status is RegistrationStatus.GOING:
        return _("You're going! Your ticket is ready.")
    if registration.status is RegistrationStatus.WAITLISTED:
        position = waitlist_position(registration) or 0
        left = services.seats(registration.event).left
        if left:  # seats are free, but fewer than the party needs
            return _("%(left)d seat(s) left, not enough for your party of %(party)d: you are "
                     "number %(position)d on the waitlist.", left=left,
                     party=registration.guests + 1, position=position)
        return _("The meetup is full: you are number %(position)d on the waitlist.",
                 position=position)
    return _("Your RSVP is waiting for a lead's approval.")


@bp.post("/events/<id:event_id>/rsvp/cancel")
@login_required
def cancel(event_id: int) -> BaseResponse:
    try:
        services.cancel(current_user, event_id)
        flash(_("Your RSVP is cancelled."), "info")
    except DomainError as error:
        flash(error.message, "error")
    return _back(event_id)


@bp.get("/me/meetups")
@personal
@login_required
def my_meetups() -> str:
    upcoming, past = services.my_registrations(current_user)
    return render_template("registrations/my_meetups.html", upcoming=upcoming, past=past)


@bp.get("/tickets/<code>")
@personal
def ticket(code: str) -> str:
    registration = services.ticket(code)
    return render_template("registrations/ticket.html", registration=registration,
                           event=registration.event,
                           valid=registration.status is RegistrationStatus.GOING)


@bp.get("/tickets/<code>/qr.svg")
def ticket_qr(code: str) -> Response:
    registration = services.ticket(code)
    response = Response(tickets.qr_svg(registration.ticket_code or code),
                        mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/events/<id:event_id>/registrations")
@login_required
def registrations(event_id: int) -> str:
    event = visible_event(current_user, event_id)
    everyone = services.registrations(current_user, event)
    query = request.args.get("q", "").strip()
    shown = [r for r in everyone if matches(query, r.name)] if query else everyone
    return render_template("registrations/list.html", event=event, branch=event.branch,
                           registrations=shown, query=query, total=len(everyone),
                           namesakes=_namesakes(everyone), positions=waitlist_positions(everyone),
                           review_form=ReviewForm(), capacity_form=CapacityForm(
                               capacity=event.capacity), add_form=AddAttendeeForm(),
                           can_manage=permissions.can_manage_branch(current_user, event.branch))


def _namesakes(registrations: list[Registration]) -> set[str]:
    """Names that more than one person on the list goes by: those rows say whose is whose."""
    counts = Counter(r.name for r in registrations)
    return {name for name, count in counts.items() if count > 1}


def _to_list(event_id: int) -> BaseResponse:
    return redirect(url_for("registrations.registrations", event_id=event_id))


@bp.post("/registrations/<id:registration_id>/review")
@login_required
def review(registration_id: int) -> BaseResponse:
    form = ReviewForm()
    registration = services.registration_by_id(registration_id)
    if form.validate_on_submit():
        try:
            services.review(current_user, registration_id, approve=form.approve.data,
                            message=form.message.data or "")
            flash(_("Decision saved."), "success")
        except DomainError as error:
            flash(error.message, "error")
    return _to_list(registration.event_id)


@bp.post("/events/<id:event_id>/capacity")
@login_required
def capacity(event_id: int) -> BaseResponse:
    form = CapacityForm()
    if form.validate_on_submit():
        promoted = services.set_capacity(current_user, event_id, form.capacity.data)
        flash(_("Seats changed; %(count)d moved up from the waitlist.", count=len(promoted)),
              "success")
    else:
        flash(" ".join(form.capacity.errors), "error")
    return _to_list(event_id)


@bp.post("/events/<id:event_id>/registrations/add")
@login_required
def add(event_id: int) -> BaseResponse:
    form = AddAttendeeForm()
    event = visible_event(current_user, event_id)
    if not permissions.can_manage_branch(current_user, event.branch):
        raise NotAllowed()
    if form.validate_on_submit():
        try:
            registration = services.add_by_hand(current_user, event_id, form.email.data,
                                                form.guests.data or 0)
            flash(_("%(name)s added.", name=registration.name), "success")
        except DomainError as error:
            flash(_explained(error), "error")
    else:
        flash(" ".join(form.email.errors + form.guests.errors), "error")
    return _to_list(event_id)
