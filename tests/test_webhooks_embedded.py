"""Webhooks' leftovers of issue 15: a paused endpoint's notice to the branch's leads (through
the outbox, essential mail), and delivery right after the request with the embedded default
(`make run` starts no worker): mail and webhooks both go out."""

from __future__ import annotations

import json

from sqlalchemy import select

from planner.core.extensions import db
from planner.notifications import delivery
from planner.notifications.kinds import Notice, category_of
from planner.notifications.models import OutboxMessage, OutboxStatus
from planner.webhooks.delivery import PAUSE_AFTER, deliver_webhooks
from tests.conftest import bearer
from tests.test_webhooks import hooked, make_all_due, meetup, private_allowed, receiver

__all__ = ["private_allowed", "receiver"]  # fixtures used here


def notices() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == Notice.WEBHOOK_PAUSED).order_by(OutboxMessage.id)))


def fail_until_paused(receiver) -> None:
    receiver.answers = [500] * PAUSE_AFTER
    for _ in range(PAUSE_AFTER):
        make_all_due()
        deliver_webhooks()


def test_a_paused_endpoint_tells_the_branch_leads_once(private_allowed, client, cast,
                                                      receiver, smtp):
    hook = hooked(client, cast, receiver, ["meetup.published"])
    meetup(cast)
    fail_until_paused(receiver)
    [notice] = notices()
    assert (notice.user_id, notice.branch_id) == (cast.lead.id, cast.branch.id)
    assert category_of(notice.kind) is None  # essential: no preference switches it off
    assert delivery.deliver_due().sent == 1
    [mail] = [m for m in smtp.received if m["To"] == cast.lead.email]
    assert mail["Subject"] == "A webhook of 成都 branch was paused"
    assert "resume" in mail.get_content() and "List-Unsubscribe" not in mail
    make_all_due()
    deliver_webhooks()  # paused: nothing is posted, nobody is told again
    assert len(notices()) == 1
    # Resumed and failing again: a new pause, a new notice.
    client.post(f"/api/v1/webhooks/{hook['id']}/resume", headers=bearer(client, cast.lead))
    fail_until_paused(receiver)
    assert [n.user_id for n in notices()] == [cast.lead.id, cast.lead.id]


def test_the_notice_reaches_every_lead_and_no_one_else(private_allowed, client, cast, receiver,
                                                       make_user):
    from branches.models import Role
    from branches.services import join_branch, set_role

    second = make_user("Second Lead")
    join_branch(second, cast.branch)
    set_role(cast.admin, cast.branch, second.id, Role.LEAD)
    db.session.commit()
    hooked(client, cast, receiver, ["meetup.published"])
    meetup(cast)
    fail_until_paused(receiver)
    assert sorted(n.user_id for n in notices()) == sorted([cast.lead.id, second.id])


def test_with_no_worker_mail_and_webhooks_go_out_right_after_the_request(
        private_allowed, client, cast, receiver, smtp):
    hooked(client, cast, receiver, ["registration.created"])
    event = meetup(cast)
    headers = bearer(client, cast.member)
    response = client.post(f"/api/v1/events/{event.id}/registrations", headers=headers,
                           json={}, buffered=True)  # the response is out, and closed
    assert response.status_code == 201, response.text
    assert [json.loads(got.body)["type"] for got in receiver.received] == [
        "registration.created"]
    assert [mail["Subject"] for mail in smtp.received] == ["You're going: Hotpot night"]
    db.session.expire_all()
    assert {m.status for m in db.session.scalars(select(OutboxMessage))} == {OutboxStatus.SENT}


def test_posting_after_the_request_can_be_switched_off(private_allowed, client, cast, receiver):
    private_allowed.config["WEBHOOK_DELIVER_AFTER_REQUEST"] = False
    hooked(client, cast, receiver, ["registration.created"])
    event = meetup(cast)
    client.post(f"/api/v1/events/{event.id}/registrations", headers=bearer(client, cast.member),
                json={}, buffered=True)
    assert receiver.received == []
    assert deliver_webhooks().accepted == 1  # the worker's pass still has it


def test_a_pause_after_the_request_mails_the_leads_too(private_allowed, client, cast, receiver,
                                                       smtp):
    """The notice a pass queues goes out with that pass, with no worker either."""
    hooked(client, cast, receiver, ["registration.created"])
    event = meetup(cast)
    receiver.answers = [500] * (PAUSE_AFTER + 1)
    for _ in range(PAUSE_AFTER - 1):
        deliver_webhooks()  # nothing due: the first failure waits for its back-off
    from planner.webhooks.models import WebhookEndpoint

    db.session.execute(WebhookEndpoint.__table__.update().values(
        failures_in_a_row=PAUSE_AFTER - 1))
    db.session.commit()
    client.post(f"/api/v1/events/{event.id}/registrations", headers=bearer(client, cast.member),
                json={}, buffered=True)
    assert [n.status for n in notices()] == [OutboxStatus.SENT]
    assert any(m["To"] == cast.lead.email and "paused" in m["Subject"] for m in smtp.received)
