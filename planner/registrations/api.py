"""JSON API for RSVPs (see shared/API.md)."""

from __future__ import annotations

from typing import TypedDict

from flask import Response, jsonify
from flask_babel import lazy_gettext as _l

from branches import permissions
from planner.api import api_user, created, operation, parse_json
from planner.api.pagination import each, paginated
from planner.core.attribution import last_invite_code
from planner.core.urls import public_url
from planner.events.services import visible_event
from planner.ops.headers import personal
from planner.registrations import services
from planner.registrations.forms import ReviewForm, RsvpForm
from planner.registrations.models import Registration, RegistrationStatus
from planner.registrations.waitlist import waitlist_position, waitlist_positions


class RegistrationOut(TypedDict):
    id: int
    event_id: int
    status: RegistrationStatus
    guests: int
    position: int | None
    ticket_code: str | None
    ticket_qr_url: str | None


class AttendeeOut(RegistrationOut):
    user_id: int | None
    display_name: str
    source: str | None
    created_at: str


def registration_json(registration: Registration, position: int | None = None) -> RegistrationOut:
    going = registration.status is RegistrationStatus.GOING
    code = registration.ticket_code if going else None
    return {"id": registration.id, "event_id": registration.event_id,
            "status": registration.status, "guests": registration.guests,
            "position": position if position is not None else waitlist_position(registration),
            "ticket_code": code,
            "ticket_qr_url": public_url("registrations.ticket_qr", code=code)
            if code else None}


@operation("/events/<id:event_id>/registrations", "POST",
           _l("RSVP to a meetup (or join its waitlist); repeating returns the same RSVP"),
           form=RsvpForm, response=RegistrationOut, status=201, errors=(404, 409, 422),
           also=(200,))
def rsvp(event_id: int) -> tuple[Response, int]:
    user = api_user()
    form = parse_json(RsvpForm)
    visible_event(user, event_id)
    answer = services.rsvp_answer(user, event_id, form.guests.data or 0,
                                  form.invite.data or last_invite_code())
    if answer.repeated:
        return jsonify(registration_json(answer.registration)), 200
    return created(registration_json(answer.registration))


@operation("/events/<id:event_id>/registrations/me", "DELETE",
           _l("Cancel my RSVP; freed seats go to the waitlist in order"),
           response=RegistrationOut, errors=(404, 409))
def cancel(event_id: int) -> Response:
    return jsonify(registration_json(services.cancel(api_user(), event_id)))


@operation("/events/<id:event_id>/registrations", "GET",
           _l("Everyone who RSVPed (leads and door staff)"), response=list[AttendeeOut],
           errors=(403, 404), paginated=True)
def attendees(event_id: int) -> Response:
    user = api_user()
    event = visible_event(user, event_id)
    everyone = services.registrations(user, event)
    positions = waitlist_positions(everyone)
    tickets = permissions.can_see_tickets_and_phones(user, event)
    return paginated(everyone, each(lambda r: attendee_json(r, positions.get(r.id), tickets)))


def attendee_json(registration: Registration, position: int | None,
                  tickets: bool) -> AttendeeOut:
    """One RSVP as leads see it; door staff get it without the ticket (code and QR link)."""
    shown = registration_json(registration, position)
    if not tickets:
        shown["ticket_code"] = shown["ticket_qr_url"] = None
    return {**shown, "user_id": registration.user_id, "display_name": registration.name,
            "source": registration.source, "created_at": registration.created_at.isoformat()}


@operation("/registrations/<id:registration_id>/review", "POST",
           _l("Approve or decline an RSVP that waits for approval (leads)"), form=ReviewForm,
           response=RegistrationOut, errors=(403, 404, 409))
def review(registration_id: int) -> Response:
    form = parse_json(ReviewForm)
    registration = services.review(api_user(), registration_id, approve=form.approve.data,
                                   message=form.message.data or "")
    return jsonify(registration_json(registration))


@operation("/me/registrations", "GET", _l("My RSVPs, upcoming first"),
           response=list[RegistrationOut], paginated=True)
@personal
def mine() -> Response:
    upcoming, past = services.my_registrations(api_user())
    return paginated(upcoming + past, each(registration_json))
