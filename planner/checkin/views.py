"""The door app (phone first, works offline) and what it syncs with, for door staff and leads.

The door page loads the attendee list once, keeps it (and the app, through a service worker)
for offline use, and sends its queued scans to /door/sync; each scan carries a nonce, so a
batch sent twice checks nobody in twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from branches import permissions
from planner import spreadsheets
from planner.api import form_from
from planner.checkin import exports, present, services
from planner.checkin.api import walk_in_from
from planner.checkin.forms import ScanForm, UndoForm, WalkInForm
from planner.core.errors import DomainError, InvalidInput
from planner.core.forms import parse_instant
from planner.core.timeutil import utcnow
from planner.events.models import Event
from planner.events.services import get_event
from planner.registrations.labels import source_label, status_label

bp = Blueprint("checkin", __name__)

MAX_BATCH = 500


def _door_event(event_id: int) -> Event:
    event = get_event(event_id)
    services.require_door_access(current_user, event)
    return event


@bp.get("/events/<id:event_id>/door")
@login_required
def door(event_id: int) -> str:
    event = _door_event(event_id)
    return render_template("checkin/door.html", event=event,
                           counts=services.door_counts(event), walk_in_form=WalkInForm(),
                           door_messages=door_messages())


@bp.get("/events/door-sw.js")
def service_worker() -> Response:
    """Served from /events/ so that its scope covers every door page."""
    response = current_app.send_static_file("js/door-sw.js")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    return response


@bp.get("/events/<id:event_id>/door/roster.json")
@login_required
def roster(event_id: int) -> Response:
    """Everyone the door may meet (or who changed since `since`), and the live counters."""
    event = _door_event(event_id)
    now = utcnow()
    changed_since = _since(request.args.get("since", ""))
    people = services.attendees(current_user, event, changed_since)
    response = jsonify({"server_time": now.isoformat(), "complete": changed_since is None,
                        "counts": present.counts_json(services.door_counts(event)),
                        "attendees": [present.attendee_json(r) for r in people]})
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _since(text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = parse_instant(text)
    except ValueError as error:
        raise InvalidInput(fields={"since": [str(error)]}) from None
    if moment.tzinfo is None:
        raise InvalidInput(fields={"since": [_("Not a valid datetime value.")]})
    return moment


@bp.post("/events/<id:event_id>/door/sync")
@login_required
def sync(event_id: int) -> Response:
    """Apply a batch of queued door actions in order; one answer per action. A refused or
    invalid action is answered and the batch goes on."""
    event = _door_event(event_id)
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    actions = body.get("actions")
    if not isinstance(actions, list) or len(actions) > MAX_BATCH:
        raise InvalidInput(fields={"actions": [_("Send a list of at most %(max)d actions.",
                                                 max=MAX_BATCH)]})
    results = [_apply(event_id, action, str(body.get("door", ""))[:40]) for action in actions]
    return jsonify({"results": results,
                    "counts": present.counts_json(services.door_counts(event))})


def _apply(event_id: int, action: Any, door: str) -> dict[str, Any]:
    if not isinstance(action, dict):
        return {"status": "invalid", "message": _("Not a valid action.")}
    try:
        result = _run(event_id, action, door)
    except DomainError as error:
        return {"status": "error", "nonce": action.get("nonce"), "code": error.code,
                "message": error.message, "fields": error.fields}
    return present.scan_json(result, get_event(event_id))


def _run(event_id: int, action: dict[str, Any], door: str) -> services.ScanResult:
    kind = action.get("type", "scan")
    if kind == "undo":
        undo = form_from(UndoForm, action)
        return services.undo(current_user, event_id, undo.registration_id.data,
                             nonce=undo.nonce.data or None, door=door)
    if kind == "walk_in":
        walk_in = form_from(WalkInForm, action)
        return services.register_walk_in(current_user, event_id, walk_in_from(walk_in),
                                         nonce=walk_in.nonce.data or None, door=door,
                                         scanned_at=walk_in.scanned_at.data)
    scan = form_from(ScanForm, action)
    return services.redeem(current_user, event_id, ticket_code=scan.ticket_code.data or None,
                           registration_id=scan.registration_id.data,
                           nonce=scan.nonce.data or None, door=door,
                           scanned_at=scan.scanned_at.data)


# --- the check-in list -------------------------------------------------------------------

def _checkin_list(event: Event, *, on_paper: bool = False) -> exports.CheckinList:
    """Leads get ticket codes and full phones (never on paper, which gets left about); door
    staff get neither."""
    private = permissions.can_see_tickets_and_phones(current_user, event)
    return exports.checkin_list(services.expected(current_user, event), status_label,
                                source_label, tickets=private,
                                full_phones=private and not on_paper)


@bp.get("/events/<id:event_id>/checkin-list")
@login_required
def checkin_list(event_id: int) -> str:
    """For printing on A4."""
    event = _door_event(event_id)
    return render_template("checkin/list.html", event=event,
                           listed=_checkin_list(event, on_paper=True),
                           counts=services.door_counts(event))


@bp.get("/events/<id:event_id>/checkin-list.csv")
@login_required
def checkin_list_csv(event_id: int) -> Response:
    listed = _checkin_list(_door_event(event_id))
    return spreadsheets.csv_download(listed.header(), listed.cells(), f"checkin-{event_id}.csv")


@bp.get("/events/<id:event_id>/checkin-list.xlsx")
@login_required
def checkin_list_xlsx(event_id: int) -> Response:
    event = _door_event(event_id)
    listed = _checkin_list(event)
    return spreadsheets.xlsx_download(listed.header(), listed.cells(), event.title,
                                      f"checkin-{event_id}.xlsx")


def door_messages() -> dict[str, str]:
    """What the door app says on its own (offline); the page hands these to its script."""
    return {
        "offline": _("Offline: scans are kept on this phone and sent when the network is back."),
        "online": _("Online"),
        "waiting": _("Waiting to be sent: %(count)s"),
        "queued_ok": _("Checked in on this phone (will be sent): %(name)s"),
        "already": _("%(name)s is already checked in (on this phone)."),
        "unknown": _("Unknown ticket."),
        "cancelled": _("The RSVP of %(name)s was cancelled."),
        "waitlisted": _("%(name)s is on the waitlist, not going."),
        "pending": _("The RSVP of %(name)s still waits for a lead's approval."),
        "duplicate": _("Duplicate: %(message)s"),
        "camera_error": _("The camera could not be opened. Type or scan the code instead."),
        "no_match": _("Nobody matches."),
        "undo": _("Undo"),
        "check_in": _("Check in"),
    }
