"""The worker's pass over due webhook deliveries (run by `flask send-mail`, with the mail).

As the mail outbox does, a delivery is claimed (leased) in one short transaction, posted with
no transaction open and no lock held, and its outcome recorded in its own commit; a crash in
between re-posts it after the lease with the same webhook-id, which receivers use to drop
repeats. The host is resolved and checked again before each post, and the connection goes to
the address that was checked (addresses.py). The timeout is short (WEBHOOK_TIMEOUT), so a
receiver that hangs costs the worker seconds and never a request anything."""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import urlsplit

from flask import Flask, Response, current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from branches.models import Branch, Membership, MembershipStatus, Role
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.core.unit_of_work import unit_of_work
from planner.notifications.delivery import COMMITTED_IDS, deliver_due
from planner.notifications.kinds import Notice
from planner.notifications.outbox import notify_branch_people
from planner.webhooks.addresses import UnsafeAddress, resolve
from planner.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from planner.webhooks.services import allow_private

logger = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=4)
RETRY_FOR = timedelta(days=1)  # after that a failing delivery is given up
PAUSE_AFTER = 10  # failed attempts in a row pause the endpoint
CLAIM_LEASE = timedelta(minutes=5)  # far longer than a post may take
USER_AGENT = "Juhui-Webhooks/1"
BATCH = 100


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    message_id: str
    url: str
    secret: str
    body: str


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    status_code: int | None
    duration_ms: int
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class Posted:
    taken: int = 0
    accepted: int = 0  # answered with a 2xx

    def __iadd__(self, other: Posted) -> Posted:
        self.taken, self.accepted = self.taken + other.taken, self.accepted + other.accepted
        return self


def deliver_webhooks(limit: int = BATCH) -> Posted:
    """Post up to `limit` due deliveries, one at a time."""
    posted = Posted()
    while posted.taken < limit:
        with unit_of_work():
            claimed = _claim_next()
        if claimed is None:
            break
        outcome = post(claimed)
        with unit_of_work():
            _record(outcome)
        posted += Posted(1, int(outcome.succeeded))
    return posted


def _claim_next() -> Claimed | None:
    now = utcnow()
    delivery = db.session.scalar(
        select(WebhookDelivery).join(WebhookEndpoint)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING,
               WebhookDelivery.next_attempt_at <= now, WebhookEndpoint.paused_at.is_(None))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(1).with_for_update(skip_locked=True, of=WebhookDelivery))
    if delivery is None:
        return None
    delivery.next_attempt_at = now + CLAIM_LEASE
    endpoint = delivery.endpoint
    return Claimed(delivery.id, delivery.message_id, endpoint.url, endpoint.secret,
                   delivery.body)


def signed_headers(claimed: Claimed, timestamp: int) -> dict[str, str]:
    """The Standard Webhooks headers: the signature is v1,<base64 HMAC-SHA256 of
    "<webhook-id>.<webhook-timestamp>.<body>"> with the endpoint's secret."""
    signature = Webhook(claimed.secret).sign(
        claimed.message_id, datetime.fromtimestamp(timestamp, UTC), claimed.body)
    return {"webhook-id": claimed.message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature, "content-type": "application/json",
            "user-agent": USER_AGENT}


def post(claimed: Claimed) -> Outcome:
    """One attempt; never raises."""
    started = time.monotonic()
    try:
        status = _post(claimed)
        error = "" if 200 <= status < 300 else f"HTTP {status}"
    except (OSError, http.client.HTTPException, UnsafeAddress) as problem:
        status, error = None, f"{type(problem).__name__}: {problem}"
    return Outcome(claimed.delivery_id, status,
                   round((time.monotonic() - started) * 1000), error[:500])


def _post(claimed: Claimed) -> int:
    parts = urlsplit(claimed.url)
    address = resolve(parts, allow_private())  # again: the name may point elsewhere by now
    timeout = float(current_app.config["WEBHOOK_TIMEOUT"])
    connection = _connection(parts.scheme, parts.hostname or "", parts.port, address, timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path, body=claimed.body.encode(),
                           headers=signed_headers(claimed, int(time.time())))
        response = connection.getresponse()
        response.read(64 * 1024)  # the answer's body is not kept
        return response.status
    finally:
        connection.close()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the name resolves to now."""

    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int | None, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        # The certificate is checked against the name, not the address.
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            sock, server_hostname=self.host)


def _connection(scheme: str, host: str, port: int | None, address: str,
                timeout: float) -> http.client.HTTPConnection:
    kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    return kind(host, port, address, timeout)


def _record(outcome: Outcome) -> None:
    delivery = db.session.get(WebhookDelivery, outcome.delivery_id, with_for_update=True)
    if delivery is None:  # its endpoint was deleted meanwhile
        return
    now = utcnow()
    db.session.add(WebhookAttempt(delivery_id=delivery.id, status_code=outcome.status_code,
                                  duration_ms=outcome.duration_ms, error=outcome.error,
                                  attempted_at=now))
    delivery.attempts += 1
    endpoint = delivery.endpoint
    if outcome.succeeded:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
        endpoint.failures_in_a_row = 0
        return
    endpoint.failures_in_a_row += 1
    if endpoint.failures_in_a_row >= PAUSE_AFTER and endpoint.paused_at is None:
        endpoint.paused_at = now
        logger.warning("Webhook endpoint %s paused after %d failures in a row", endpoint.id,
                       endpoint.failures_in_a_row)
        _tell_the_leads(endpoint, now)
    next_at = now + retry_delay(delivery.attempts)
    if next_at - delivery.created_at > RETRY_FOR:
        delivery.status = DeliveryStatus.FAILED
    else:
        delivery.next_attempt_at = next_at


def _tell_the_leads(endpoint: WebhookEndpoint, paused_at: datetime) -> None:
    """A mail to each lead of the branch, in the same commit as the pause, once per pause.
    Essential mail (kinds.Essential.ACCOUNT): it is about something a lead set up and answers
    for, it comes only when the endpoint's state changes, and without it deliveries would
    wait unseen; a lead who wants less mail removes the endpoint instead."""
    lead_ids = list(db.session.scalars(
        select(Membership.user_id).where(Membership.branch_id == endpoint.branch_id,
                                         Membership.role == Role.LEAD,
                                         Membership.status == MembershipStatus.ACTIVE)
        .order_by(Membership.user_id)))
    notify_branch_people(Notice.WEBHOOK_PAUSED, db.session.get_one(Branch, endpoint.branch_id),
                         lead_ids,
                         f"endpoint-{endpoint.id}:{paused_at.isoformat()}")


def retry_delay(attempts: int) -> timedelta:
    """30 seconds after the first failure, then 1, 2, 4 minutes … and never more than 4 hours:
    some 14 attempts in the day a delivery is retried for."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)


def worker_pass() -> str:
    """What `send-mail` runs after the mail: every due delivery, a batch at a time; "" when
    there was none (the loop prints nothing then)."""
    total = Posted()
    while True:
        posted = deliver_webhooks(BATCH)
        total += posted
        if posted.taken < BATCH:
            break
    if not total.taken:
        return ""
    return f"Delivered {total.accepted} of {total.taken} webhook(s) attempted."


# --- delivery right after the request ------------------------------------------------------

FLUSHED = "webhooks_flushed"
COMMITTED = "webhooks_committed"


def init_app(app: Flask) -> None:
    """Post the deliveries a request queued once its response is out, as the mail is
    (WEBHOOK_DELIVER_AFTER_REQUEST, default on): with the embedded default (`make run`) no
    worker needs starting. What fails then is retried by `flask send-mail`."""
    app.config.setdefault("WEBHOOK_DELIVER_AFTER_REQUEST", True)
    for name, listener in (("after_flush", _note_flushed), ("after_commit", _note_committed),
                           ("after_rollback", _forget_flushed)):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)
    if _deliver_after_response not in app.after_request_funcs.get(None, []):
        app.after_request(_deliver_after_response)


def _note_flushed(session: Session, _flush_context: object) -> None:
    if any(isinstance(obj, WebhookDelivery) for obj in session.new):
        session.info[FLUSHED] = True


def _note_committed(session: Session) -> None:
    if session.info.pop(FLUSHED, False):
        session.info[COMMITTED] = True


def _forget_flushed(session: Session) -> None:
    session.info.pop(FLUSHED, None)


def _deliver_after_response(response: Response) -> Response:
    if db.session.info.pop(COMMITTED, False) and current_app.config[
            "WEBHOOK_DELIVER_AFTER_REQUEST"]:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        response.call_on_close(partial(deliver_quietly, app))
    return response


def deliver_quietly(app: Flask) -> None:
    """Post what is due now, then send the mail that pass queued (a pause's notice to the
    leads); any failure is logged and leaves it queued for the worker."""
    with app.app_context():
        try:
            deliver_webhooks()
            queued_mail = db.session.info.pop(COMMITTED_IDS, None)
            if queued_mail:
                deliver_due(limit=len(queued_mail), ids=queued_mail)
        except Exception:
            logger.exception("Could not post webhooks after the request; they stay queued.")
