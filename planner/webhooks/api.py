"""JSON API for a branch's webhooks (see shared/API.md, "Webhooks"): leads only."""

from __future__ import annotations

from typing import TypedDict

from flask import Response, jsonify
from flask_babel import lazy_gettext as _l

from branches.services import get_branch
from planner.api import api_user, created, operation, parse_json
from planner.api.pagination import each, paginated
from planner.webhooks import services
from planner.webhooks.forms import WebhookForm
from planner.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


class CreatedOut(TypedDict):
    id: int
    secret: str


class EndpointOut(TypedDict):
    id: int
    url: str
    events: list[str]
    paused_at: str | None
    created_at: str


class AttemptOut(TypedDict):
    status_code: int | None
    duration_ms: int
    error: str
    attempted_at: str


class DeliveryOut(TypedDict):
    id: str
    event_type: str
    status: str
    attempts: list[AttemptOut]
    created_at: str
    delivered_at: str | None


def endpoint_json(endpoint: WebhookEndpoint) -> EndpointOut:
    return {"id": endpoint.id, "url": endpoint.url, "events": endpoint.event_names,
            "paused_at": endpoint.paused_at.isoformat() if endpoint.paused_at else None,
            "created_at": endpoint.created_at.isoformat()}


def _attempt_json(attempt: WebhookAttempt) -> AttemptOut:
    return {"status_code": attempt.status_code, "duration_ms": attempt.duration_ms,
            "error": attempt.error, "attempted_at": attempt.attempted_at.isoformat()}


def delivery_json(delivery: WebhookDelivery) -> DeliveryOut:
    return {"id": delivery.message_id, "event_type": delivery.event_type,
            "status": delivery.status.value,
            "attempts": [_attempt_json(attempt) for attempt in delivery.attempt_log],
            "created_at": delivery.created_at.isoformat(),
            "delivered_at": delivery.delivered_at.isoformat() if delivery.delivered_at else None}


@operation("/branches/<slug>/webhooks", "POST",
           _l("Register a webhook endpoint for the branch's events (leads); the secret is "
              "shown only here"), form=WebhookForm, response=CreatedOut, status=201,
           errors=(403, 404, 422))
def create_webhook(slug: str) -> tuple[Response, int]:
    branch = get_branch(slug)
    form = parse_json(WebhookForm)
    endpoint = services.register_endpoint(api_user(), branch, form.url.data, form.event_names())
    return created({"id": endpoint.id, "secret": endpoint.secret})


@operation("/branches/<slug>/webhooks", "GET", _l("The branch's webhook endpoints (leads)"),
           response=list[EndpointOut], errors=(403, 404), paginated=True)
def list_webhooks(slug: str) -> Response:
    return paginated(services.endpoints_of(api_user(), get_branch(slug)), each(endpoint_json))


@operation("/webhooks/<id:webhook_id>", "DELETE",
           _l("Remove a webhook endpoint and its delivery log (leads)"), status=204,
           errors=(403, 404))
def delete_webhook(webhook_id: int) -> tuple[str, int]:
    services.delete_endpoint(api_user(), webhook_id)
    return "", 204


@operation("/webhooks/<id:webhook_id>/resume", "POST",
           _l("Deliver again to an endpoint paused after repeated failures (leads)"),
           response=EndpointOut, errors=(403, 404))
def resume_webhook(webhook_id: int) -> Response:
    return jsonify(endpoint_json(services.resume_endpoint(api_user(), webhook_id)))


@operation("/webhooks/<id:webhook_id>/deliveries", "GET",
           _l("A webhook's newest deliveries, each attempt with its status and response time "
              "(leads)"), response=list[DeliveryOut], errors=(403, 404), paginated=True)
def webhook_deliveries(webhook_id: int) -> Response:
    return paginated(services.deliveries_of(api_user(), webhook_id), each(delivery_json))
