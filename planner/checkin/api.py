"""JSON API for check-in (shared/API.md): scan a ticket, undo, register a walk-in."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_babel import lazy_gettext as _l

from planner.api import api_user, operation, parse_json
from planner.checkin import present, services
from planner.checkin.forms import ScanForm, UndoForm, WalkInForm
from planner.events.services import get_event


def _answer(result: services.ScanResult, event_id: int) -> tuple[Response, int]:
    body: dict[str, Any] = present.scan_json(result, get_event(event_id))
    status = present.http_status(result)
    if status >= 400:
        body["error"] = {"code": body["reason"], "message": body["message"]}
    return jsonify(body), status


@operation("/events/<id:event_id>/checkins", "POST",
           _l("Check in a ticket (door staff and leads); every scan is logged, a repeated "
              "nonce answers as the first time"),
           form=ScanForm, status=201, errors=(403, 404, 409, 422), also=(200,))
def check_in(event_id: int) -> tuple[Response, int]:
    form = parse_json(ScanForm)
    return _answer(services.redeem(
        api_user(), event_id, ticket_code=form.ticket_code.data or None,
        registration_id=form.registration_id.data, nonce=form.nonce.data or None,
        door=form.door.data or "", scanned_at=form.scanned_at.data), event_id)


@operation("/events/<id:event_id>/checkins/undo", "POST",
           _l("Undo a mistaken check-in (door staff and leads)"), form=UndoForm,
           errors=(403, 404, 409, 422))
def undo(event_id: int) -> tuple[Response, int]:
    form = parse_json(UndoForm)
    return _answer(services.undo(api_user(), event_id, form.registration_id.data,
                                 nonce=form.nonce.data or None, door=form.door.data or ""),
                   event_id)


@operation("/events/<id:event_id>/walk-ins", "POST",
           _l("Register and check in someone who did not RSVP (door staff and leads)"),
           form=WalkInForm, status=201, errors=(403, 404, 409, 422))
def walk_in(event_id: int) -> tuple[Response, int]:
    form = parse_json(WalkInForm)
    return _answer(services.register_walk_in(
        api_user(), event_id, walk_in_from(form), nonce=form.nonce.data or None,
        door=form.door.data or "", scanned_at=form.scanned_at.data), event_id)


def walk_in_from(form: WalkInForm) -> services.WalkIn:
    return services.WalkIn(name=form.name.data or "", phone=form.phone.data or None,
                           guests=form.guests.data or 0, source=form.source.data or None)
