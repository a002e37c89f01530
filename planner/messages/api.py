"""JSON API of a lead's messages (shared/API.md, "People, messages and content")."""

from __future__ import annotations

from typing import TypedDict

from flask import Response, jsonify
from flask_babel import lazy_gettext as _l

from branches.services import get_branch
from planner.api import api_user, operation, parse_json
from planner.api.pagination import each, paginated
from planner.events.services import get_event
from planner.messages import services
from planner.messages.forms import BranchMessageForm, MeetupMessageForm, MessageForm
from planner.notifications.models import LeadMessage


class QueuedOut(TypedDict):
    id: int
    recipients: int


class SentOut(TypedDict):
    id: int
    subject: str
    body: str
    to: list[str]
    recipients: int
    author: str | None
    created_at: str


def sent_json(message: LeadMessage) -> SentOut:
    return {"id": message.id, "subject": message.subject, "body": message.body,
            "to": message.audience.split(), "recipients": message.recipients,
            "author": message.author.display_name if message.author else None,
            "created_at": message.created_at.isoformat()}


def _draft(form: MessageForm) -> services.Draft:
    return services.Draft(form.subject.data or "", form.body.data or "")


@operation("/events/<id:event_id>/messages", "POST",
           _l("Write to the meetup's people by the state of their RSVP (leads); sent through "
              "the outbox once per member, in their language"),
           form=MeetupMessageForm, response=QueuedOut, status=202, errors=(403, 404, 422, 429))
def write_to_meetup(event_id: int) -> tuple[Response, int]:
    event = get_event(event_id)
    form = parse_json(MeetupMessageForm)
    message = services.write_to_meetup(api_user(), event, _draft(form), form.audience())
    return jsonify({"id": message.id, "recipients": message.recipients}), 202


@operation("/events/<id:event_id>/messages", "GET",
           _l("The messages the meetup's leads sent to its people, newest first (leads)"),
           response=list[SentOut], errors=(403, 404), paginated=True)
def meetup_messages(event_id: int) -> Response:
    return paginated(services.sent_to_meetup(api_user(), get_event(event_id)), each(sent_json))


@operation("/branches/<slug>/messages", "POST",
           _l("Write to the branch's members, or to one engagement segment of them (leads)"),
           form=BranchMessageForm, response=QueuedOut, status=202, errors=(403, 404, 422, 429))
def write_to_branch(slug: str) -> tuple[Response, int]:
    branch = get_branch(slug)
    form = parse_json(BranchMessageForm)
    message = services.write_to_branch(api_user(), branch, _draft(form), form.audience())
    return jsonify({"id": message.id, "recipients": message.recipients}), 202
