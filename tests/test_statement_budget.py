"""What a scan at the door and an RSVP cost the database, counted, never timed (issue 18).

The door's budget is the issue's: at most 6 statements and one pool checkout per fresh scan
(SQLite's BEGIN IMMEDIATE is the transaction's start, which PostgreSQL's driver sends by
itself, so it is not counted). A change that adds a query to these paths fails here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event as sa_event

from planner.core.extensions import db
from planner.registrations import services as registrations
from planner.webhooks.services import register_endpoint
from tests.conftest import bearer
from tests.test_checkin import meetup

DOOR_BUDGET = 6
RSVP_BUDGET = 11


@pytest.fixture
def event(cast):
    return meetup(cast)


@pytest.fixture
def guests(make_user):
    return [make_user(name) for name in ("王小明", "Alice Chen", "李雷")]


@contextmanager
def counted() -> Iterator[tuple[list[str], list[object]]]:
    """The statements sent and the pool checkouts made inside the block."""
    from tests.test_event_queries import counted_queries

    checkouts: list[object] = []

    def checked_out(*args: object) -> None:
        checkouts.append(args[0])

    sa_event.listen(db.engine.pool, "checkout", checked_out)
    try:
        with counted_queries() as statements:
            yield statements, checkouts
    finally:
        sa_event.remove(db.engine.pool, "checkout", checked_out)


def sent(statements: list[str]) -> list[str]:
    return [s for s in statements if not s.startswith("BEGIN")]


def scan(client, event_id: int, code: str, nonce: str, headers: dict[str, str]):
    return client.post(f"/api/v1/events/{event_id}/checkins",
                       json={"ticket_code": code, "nonce": nonce}, headers=headers)


def test_a_fresh_scan_costs_at_most_six_statements_and_one_checkout(client, cast, event,
                                                                      guests):
    codes = [registrations.rsvp(person, event.id).ticket_code for person in guests[:3]]
    event_id = event.id
    db.session.commit()
    headers = bearer(client, cast.staff)
    assert scan(client, event_id, codes[0], "warm", headers).status_code == 201

    with counted() as (statements, checkouts):
        answer = scan(client, event_id, codes[1], "fresh", headers)
    assert answer.status_code == 201 and answer.json["name"] == "Alice Chen"
    assert len(sent(statements)) <= DOOR_BUDGET, "\n".join(sent(statements))
    assert len(checkouts) == 1

    with counted() as (statements, _):  # the same nonce again: answered as the first
        again = scan(client, event_id, codes[1], "fresh", headers)
    assert again.json == answer.json and len(sent(statements)) <= DOOR_BUDGET + 1


def test_a_branch_with_webhooks_pays_one_query_more_per_scan(app, client, cast, event, guests):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # no name lookup for the bot's address
    codes = [registrations.rsvp(person, event.id).ticket_code for person in guests[:2]]
    register_endpoint(cast.lead, cast.branch, "https://127.0.0.1/hook", ["checkin.created"])
    event_id = event.id
    db.session.commit()
    headers = bearer(client, cast.staff)
    assert scan(client, event_id, codes[0], "warm", headers).status_code == 201
    with counted() as (statements, _):
        assert scan(client, event_id, codes[1], "fresh", headers).status_code == 201
    assert len(sent(statements)) <= DOOR_BUDGET + 2  # the endpoints, and the delivery
    assert any("webhook_deliveries" in s for s in statements)


def test_an_rsvp_has_a_fixed_statement_budget(client, cast, event, guests):
    event_id = event.id
    warm, fresh = (bearer(client, person) for person in guests[:2])
    url = f"/api/v1/events/{event_id}/registrations"
    assert client.post(url, json={}, headers=warm).status_code == 201
    assert client.get("/api/v1/me", headers=fresh).status_code == 200  # the token's first use
    with counted() as (statements, _):
        assert client.post(url, json={}, headers=fresh).status_code == 201
    assert len(sent(statements)) <= RSVP_BUDGET, "\n".join(sent(statements))
