"""Registering a branch's webhook endpoints (its leads), and queuing what they are to hear.

`enqueue` is called by the subscribers in the transaction of the change; it writes one delivery
row per endpoint that wants the event, holding the exact body the worker will sign and send."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from branches import permissions
from branches.models import Branch
from planner.core.errors import InvalidInput, NotAllowed, NotFound
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.webhooks.addresses import UnsafeAddress, checked_url
from planner.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

EVENT_NAMES = ("meetup.published", "meetup.changed", "meetup.cancelled", "registration.created",
               "registration.promoted", "registration.cancelled", "checkin.created")
SECRET_BYTES = 32
MAX_ENDPOINTS = 20  # per branch


def allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE"))


def _require_lead(actor: Any, branch: Branch) -> None:
    if not permissions.can_manage_branch(actor, branch):
        raise NotAllowed(_l("Only leads of this branch manage its webhooks."))


def register_endpoint(actor: Any, branch: Branch, url: str,
                      events: Sequence[str]) -> WebhookEndpoint:
    """A new endpoint hearing `events`; its secret is shown once, in the answer."""
    _require_lead(actor, branch)
    try:
        checked_url(url, allow_private())
    except UnsafeAddress as error:
        raise InvalidInput(fields={"url": [str(error)]}) from None
    names = _checked_events(events)
    if len(endpoints_of(actor, branch)) >= MAX_ENDPOINTS:
        raise InvalidInput(fields={"url": [str(_l("A branch has at most %(count)d webhooks.",
                                                   count=MAX_ENDPOINTS))]})
    endpoint = WebhookEndpoint(
        branch_id=branch.id, url=url.strip(), events=" ".join(names),
        secret="whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode(),
        created_by_id=getattr(actor, "id", None))
    db.session.add(endpoint)
    db.session.flush()
    _count_endpoints(branch.id, +1)
    return endpoint


def _count_endpoints(branch_id: int, change: int) -> None:
    """Keep the branch's endpoint count (one UPDATE, safe against concurrent writes); the
    branch's updated_at stays, since its pages and feeds do not change."""
    db.session.execute(update(Branch).where(Branch.id == branch_id).values(
        webhook_endpoints=Branch.webhook_endpoints + change, updated_at=Branch.updated_at))


def _checked_events(events: Sequence[str]) -> list[str]:
    unknown = [name for name in events if name not in EVENT_NAMES]
    if unknown or not events:
        raise InvalidInput(fields={"events": [str(_l(
            "Choose one or more of: %(names)s.", names=", ".join(EVENT_NAMES)))]})
    return [name for name in EVENT_NAMES if name in events]


def endpoints_of(actor: Any, branch: Branch) -> list[WebhookEndpoint]:
    _require_lead(actor, branch)
    return list(db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.branch_id == branch.id)
        .order_by(WebhookEndpoint.id)))


def managed_endpoint(actor: Any, endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(_l("No such webhook."))
    _require_lead(actor, db.session.get_one(Branch, endpoint.branch_id))
    return endpoint


def delete_endpoint(actor: Any, endpoint_id: int) -> None:
    """Gone with its deliveries and their log (nothing more is sent to it)."""
    endpoint = managed_endpoint(actor, endpoint_id)
    db.session.delete(endpoint)
    db.session.flush()
    _count_endpoints(endpoint.branch_id, -1)


def resume_endpoint(actor: Any, endpoint_id: int) -> WebhookEndpoint:
    """Deliver again to a paused endpoint: what waited is sent on the worker's next pass."""
    endpoint = managed_endpoint(actor, endpoint_id)
    endpoint.paused_at, endpoint.failures_in_a_row = None, 0
    db.session.flush()
    return endpoint


def deliveries_of(actor: Any, endpoint_id: int) -> list[WebhookDelivery]:
    """The newest deliveries first, each with its attempts."""
    endpoint = managed_endpoint(actor, endpoint_id)
    return list(db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc())))


def enqueue(branch: Branch, event_type: str, data: Callable[[], dict[str, Any]]) -> int:
    """Queue `event_type` for each endpoint of the branch that wants it; returns how many.
    A branch without endpoints (its kept count, read with it) costs no query at all."""
    if not branch.webhook_endpoints:
        return 0
    branch_id = branch.id
    now = utcnow()
    body = json.dumps({"type": event_type, "timestamp": now.isoformat(), "data": data()},
                      ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    endpoints = db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.branch_id == branch_id)
        .order_by(WebhookEndpoint.id)).all()
    wanting = [endpoint for endpoint in endpoints if event_type in endpoint.event_names]
    for endpoint in wanting:
        db.session.add(WebhookDelivery(
            message_id=f"msg_{secrets.token_urlsafe(18)}", endpoint_id=endpoint.id,
            event_type=event_type, body=body, status=DeliveryStatus.PENDING, attempts=0,
            next_attempt_at=now))
    return len(wanting)
