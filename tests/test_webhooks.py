"""Webhooks for chat-group bots (issue 15): a real HTTP receiver on 127.0.0.1 checks each
delivery's Standard Webhooks signature with the documented algorithm; deliveries are posted by
the worker (`flask send-mail`) after the commit, retried until accepted, logged, and paused
after repeated failures; private addresses are refused without WEBHOOK_ALLOW_PRIVATE."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook

from planner.checkin.services import redeem
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.core.unit_of_work import unit_of_work
from planner.events import services as events
from planner.events.models import Event, EventStatus
from planner.registrations import services as registrations
from planner.webhooks.delivery import PAUSE_AFTER, deliver_webhooks, worker_pass
from planner.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.conftest import bearer, door_open

ALL_EVENTS = ["meetup.published", "meetup.changed", "meetup.cancelled", "registration.created",
              "registration.promoted", "registration.cancelled", "checkin.created"]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 answering the statuses queued in `answers` (then 200); with
    `gate` set up, each request waits until the gate opens."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    gate: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(Received({k.lower(): v for k, v in self.headers.items()},
                                           body))
            state.arrived.set()
            if state.gate is not None:
                state.gate.wait()
            self.send_response(state.answers.pop(0) if state.answers else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hook"
    try:
        yield state
    finally:
        if state.gate is not None:
            state.gate.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def private_allowed(app):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    return app


def register(client, user, url: str, names: list[str] | None = None, slug: str = "chengdu"):
    return client.post(f"/api/v1/branches/{slug}/webhooks", headers=bearer(client, user),
                       json={"url": url, "events": names or ALL_EVENTS})


def hooked(client, cast, receiver: Receiver, names: list[str] | None = None) -> dict[str, Any]:
    response = register(client, cast.lead, receiver.url, names)
    assert response.status_code == 201, response.text
    return response.json


def meetup(cast, status: EventStatus = EventStatus.PUBLISHED) -> Event:
    starts, ends = door_open(cast.branch)
    with unit_of_work():
        [made] = events.schedule(cast.lead, cast.branch, events.EventInput(
            title="Hotpot night", starts_local=starts, ends_local=ends,
            online_url="https://meet.example.com/x", status=status))
    return made


def make_all_due() -> None:
    """As if the back-off had passed."""
    db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
    db.session.commit()


def deliveries(client, user, webhook_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/webhooks/{webhook_id}/deliveries",
                          headers=bearer(client, user))
    assert response.status_code == 200, response.text
    return response.json


def documented_signature(secret: str, headers: dict[str, str], body: bytes) -> str:
    """README's algorithm: base64 of HMAC-SHA256, keyed with the base64 after "whsec_", of
    "<webhook-id>.<webhook-timestamp>.<body>"."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_delivery_is_signed_as_documented(private_allowed, client, cast, receiver, runner):
    hook = hooked(client, cast, receiver)
    meetup(cast)
    assert receiver.received == []  # nothing is posted before the worker runs

    result = runner.invoke(args=["send-mail"])

    assert "Delivered 1 of 1 webhook(s) attempted." in result.output, result.output
    [got] = receiver.received
    assert got.headers["webhook-signature"] == documented_signature(hook["secret"], got.headers,
                                                                    got.body)
    payload = Webhook(hook["secret"]).verify(got.body, got.headers)  # the reference library
    assert payload["type"] == "meetup.published"
    assert payload["data"]["meetup"]["title"] == "Hotpot night"
    assert got.headers["content-type"] == "application/json"


def test_a_wrong_secret_does_not_verify(private_allowed, client, cast, receiver):
    hooked(client, cast, receiver)
    meetup(cast)
    deliver_webhooks()
    [got] = receiver.received
    other = "whsec_" + base64.b64encode(b"not the secret").decode()
    assert got.headers["webhook-signature"] != documented_signature(other, got.headers, got.body)


def test_500_then_200_is_delivered_exactly_once_in_the_end(private_allowed, client, cast,
                                                           receiver, make_user):
    hook = hooked(client, cast, receiver, ["registration.created"])
    event = meetup(cast)
    receiver.answers = [500]
    response = client.post(f"/api/v1/events/{event.id}/registrations",
                           headers=bearer(client, cast.member), json={})
    assert response.status_code == 201, response.text

    assert deliver_webhooks().accepted == 0
    assert deliver_webhooks().taken == 0  # backing off: not due yet
    make_all_due()
    assert deliver_webhooks().accepted == 1
    make_all_due()
    assert deliver_webhooks().taken == 0  # accepted: never posted again

    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    [logged] = deliveries(client, cast.lead, hook["id"])
    assert logged["status"] == "delivered"
    assert [a["status_code"] for a in logged["attempts"]] == [500, 200]
    assert all(isinstance(a["duration_ms"], int) for a in logged["attempts"])


def test_a_hanging_receiver_does_not_hold_up_requests(private_allowed, client, cast, receiver):
    private_allowed.config["WEBHOOK_TIMEOUT"] = 120  # the worker waits until the gate opens
    hooked(client, cast, receiver)
    event = meetup(cast)
    receiver.gate = threading.Event()

    def worker() -> None:
        with private_allowed.app_context():
            deliver_webhooks()

    thread = threading.Thread(target=worker)
    thread.start()
    assert receiver.arrived.wait(timeout=30)  # the worker is stuck in the receiver now
    # A request that queues a delivery of its own answers while the worker waits.
    response = client.post(f"/api/v1/events/{event.id}/registrations",
                           headers=bearer(client, cast.member), json={})
    assert response.status_code == 201, response.text
    assert not receiver.gate.is_set() and thread.is_alive()
    assert len(receiver.received) == 1  # the request posted nothing itself
    receiver.gate.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    # The same pass went on to post the RSVP's delivery once the receiver answered.
    assert [json.loads(got.body)["type"] for got in receiver.received] == [
        "meetup.published", "registration.created"]


def test_a_receiver_that_never_answers_times_out_and_is_retried(private_allowed, client, cast,
                                                                receiver):
    private_allowed.config["WEBHOOK_TIMEOUT"] = 0.2
    hook = hooked(client, cast, receiver)
    meetup(cast)
    receiver.gate = threading.Event()  # never opened while the worker waits

    assert deliver_webhooks().accepted == 0

    [logged] = deliveries(client, cast.lead, hook["id"])
    assert logged["status"] == "pending"
    [attempt] = logged["attempts"]
    assert attempt["status_code"] is None and "timed out" in attempt["error"]


@pytest.mark.parametrize("url", ["http://example.com/hook", "https://127.0.0.1/hook",
                                 "https://10.1.2.3/hook", "https://169.254.169.254/latest",
                                 "https://[::1]/hook", "https://localhost/hook",
                                 "ftp://example.com/", "https://user:pw@example.com/"])
def test_plain_http_and_private_addresses_are_refused(client, cast, url):
    response = register(client, cast.lead, url)
    assert response.status_code == 422, response.text
    assert "url" in response.json["error"]["fields"]


def test_the_setting_allows_a_local_receiver(private_allowed, client, cast, receiver):
    assert register(client, cast.lead, receiver.url).status_code == 201


def test_the_address_is_checked_again_at_delivery(private_allowed, client, cast, receiver):
    """What resolved to an allowed address when registered may not any more (DNS rebinding):
    here the setting is withdrawn, so the loopback receiver is refused at delivery."""
    hook = hooked(client, cast, receiver)
    meetup(cast)
    private_allowed.config["WEBHOOK_ALLOW_PRIVATE"] = False

    deliver_webhooks()

    assert receiver.received == []
    [logged] = deliveries(client, cast.lead, hook["id"])
    assert "UnsafeAddress" in logged["attempts"][0]["error"]


def test_bad_input_names_the_field(private_allowed, client, cast, receiver):
    unknown = register(client, cast.lead, receiver.url, ["meetup.exploded"])
    assert unknown.status_code == 422 and "events" in unknown.json["error"]["fields"]
    not_a_list = client.post("/api/v1/branches/chengdu/webhooks",
                             headers=bearer(client, cast.lead),
                             json={"url": receiver.url, "events": "meetup.published"})
    assert not_a_list.status_code == 422 and "events" in not_a_list.json["error"]["fields"]
    no_url = client.post("/api/v1/branches/chengdu/webhooks", headers=bearer(client, cast.lead),
                         json={"events": ALL_EVENTS})
    assert no_url.status_code == 422 and "url" in no_url.json["error"]["fields"]


def test_only_the_branch_leads_manage_webhooks(private_allowed, client, cast, receiver):
    for person in (cast.staff, cast.member, cast.outsider, cast.other_lead):
        assert register(client, person, receiver.url).status_code == 403, person.display_name
        listed = client.get("/api/v1/branches/chengdu/webhooks", headers=bearer(client, person))
        assert listed.status_code == 403
    hook = hooked(client, cast, receiver)
    for person in (cast.staff, cast.member, cast.other_lead):
        headers = bearer(client, person)
        assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=headers).status_code == 403
        assert client.get(f"/api/v1/webhooks/{hook['id']}/deliveries",
                          headers=headers).status_code == 403

    listed = client.get("/api/v1/branches/chengdu/webhooks", headers=bearer(client, cast.lead))
    assert [h["id"] for h in listed.json] == [hook["id"]]
    assert "secret" not in listed.json[0]  # shown once, when registered
    headers = bearer(client, cast.lead)
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/branches/chengdu/webhooks", headers=headers).json == []


def test_each_event_is_told_to_the_endpoints_that_want_it(private_allowed, client, cast,
                                                          receiver, make_user):
    everything = hooked(client, cast, receiver)
    only_cancellations = hooked(client, cast, receiver, ["meetup.cancelled"])
    draft = meetup(cast, EventStatus.DRAFT)
    with unit_of_work():  # a draft's edits are told to nobody; publishing it is
        events.update_event(cast.lead, draft, events.event_input(draft))
        events.update_event(cast.lead, draft,
                            replace(events.event_input(draft), status=EventStatus.PUBLISHED))
    with unit_of_work():
        events.update_event(cast.lead, draft, replace(events.event_input(draft), capacity=1))
    second = make_user("Second")
    with unit_of_work():
        registrations.rsvp(cast.member, draft.id)
        registrations.rsvp(second, draft.id)  # waitlisted
    with unit_of_work():
        registrations.cancel(cast.member, draft.id)  # the second is promoted
    promoted = registrations.registration_of(second, draft)
    assert promoted is not None and promoted.ticket_code
    with unit_of_work():
        assert redeem(cast.lead, draft.id, ticket_code=promoted.ticket_code).ok
    with unit_of_work():
        events.cancel_event(cast.lead, draft, "The restaurant closed.")

    def told(endpoint_id: int) -> list[str]:
        return list(db.session.scalars(
            select(WebhookDelivery.event_type).where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id)))

    assert told(everything["id"]) == [
        "meetup.published", "meetup.changed", "registration.created", "registration.created",
        "registration.promoted", "registration.cancelled", "checkin.created",
        "meetup.cancelled"]
    assert told(only_cancellations["id"]) == ["meetup.cancelled"]


def test_repeated_failures_pause_the_endpoint_until_resumed(private_allowed, client, cast,
                                                            receiver):
    hook = hooked(client, cast, receiver)
    meetup(cast)
    receiver.answers = [500] * PAUSE_AFTER
    for _ in range(PAUSE_AFTER):
        make_all_due()
        deliver_webhooks()

    make_all_due()
    assert deliver_webhooks().taken == 0  # paused: nothing is posted
    listed = client.get("/api/v1/branches/chengdu/webhooks", headers=bearer(client, cast.lead))
    assert listed.json[0]["paused_at"] is not None

    resumed = client.post(f"/api/v1/webhooks/{hook['id']}/resume",
                          headers=bearer(client, cast.lead))
    assert resumed.status_code == 200 and resumed.json["paused_at"] is None
    assert deliver_webhooks().accepted == 1
    assert len(receiver.received) == PAUSE_AFTER + 1


def test_a_delivery_failing_for_a_day_is_given_up(private_allowed, client, cast, receiver):
    hook = hooked(client, cast, receiver)
    meetup(cast)
    db.session.execute(update(WebhookDelivery).values(created_at=utcnow() - timedelta(days=1)))
    db.session.commit()
    receiver.answers = [503]

    deliver_webhooks()

    assert db.session.scalar(select(WebhookDelivery.status)) is DeliveryStatus.FAILED
    make_all_due()
    assert deliver_webhooks().taken == 0
    assert deliveries(client, cast.lead, hook["id"])[0]["status"] == "failed"


def test_deliveries_survive_a_worker_restart(private_allowed, client, cast, receiver,
                                             make_app):
    """Queued rows, not memory: another app (a restarted worker) delivers them."""
    hooked(client, cast, receiver)
    meetup(cast)
    restarted = make_app(WEBHOOK_ALLOW_PRIVATE=True)
    with restarted.app_context():
        assert worker_pass() == "Delivered 1 of 1 webhook(s) attempted."
    assert json.loads(receiver.received[0].body)["type"] == "meetup.published"
    assert db.session.scalar(select(WebhookEndpoint.failures_in_a_row)) == 0


def test_the_refusal_is_translated(client, cast):
    cast.lead.locale = "zh_CN"  # the API speaks the member's language
    db.session.commit()
    response = register(client, cast.lead, "https://127.0.0.1/hook")
    assert response.status_code == 422
    assert response.json["error"]["fields"]["url"] == ["这个地址指向私有或本地网络。"]


def readme_receiver(secret: str) -> type[BaseHTTPRequestHandler]:
    """The receiver README shows under "Webhooks", keyed with `secret` (its last line, which
    serves on a fixed port, left out)."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    code = readme.split("## Webhooks", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    code = code.rsplit("HTTPServer(", 1)[0]
    namespace: dict[str, Any] = {}
    os.environ["JUHUI_WEBHOOK_SECRET"] = secret
    try:
        exec(compile(code, "README.md", "exec"), namespace)
    finally:
        del os.environ["JUHUI_WEBHOOK_SECRET"]
    return namespace["Receiver"]


@pytest.mark.parametrize(("right_secret", "answer"), [(True, 204), (False, 401)])
def test_the_readme_receiver_verifies_deliveries(private_allowed, client, cast, right_secret,
                                                 answer):
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{server.server_port}/"
    hook = register(client, cast.lead, url).json
    secret = hook["secret"] if right_secret else "whsec_" + base64.b64encode(b"wrong").decode()
    server.RequestHandlerClass = readme_receiver(secret)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        meetup(cast)
        deliver_webhooks()
    finally:
        server.shutdown()
        server.server_close()
    [logged] = deliveries(client, cast.lead, hook["id"])
    assert [a["status_code"] for a in logged["attempts"]] == [answer]
