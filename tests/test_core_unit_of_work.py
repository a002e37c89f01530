"""The request is the unit of work: a changing request commits once after its view, a failed
one saves nothing, and a read never commits."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text

from planner.accounts.models import User
from planner.core.domain_events import DomainEvent, event_bus, publish
from planner.core.errors import Conflict
from planner.core.extensions import db
from planner.core.unit_of_work import ReadWrote, writes_during_read


@dataclass(frozen=True)
class Touched(DomainEvent):
    email: str


@pytest.fixture
def site(app, make_app) -> tuple[Flask, list[str]]:
    """An app with routes that add a member without committing, then end in different ways
    (`app` is asked for so that the tables are emptied afterwards)."""
    app = make_app()
    sent: list[str] = []
    event_bus(app).subscribe(Touched, after_commit=True)(lambda event: sent.append(event.email))

    def add(email: str) -> None:
        db.session.add(User(email=email, password_hash="x", display_name="Edge"))
        db.session.flush()
        publish(db.session, Touched(email))

    @app.route("/_uow/<email>", methods=["GET", "POST"])
    def plain(email: str) -> str:
        add(email)
        return "ok"

    @app.post("/_uow/<email>/refused")
    def refused(email: str) -> str:
        add(email)
        raise Conflict("no")

    @app.post("/_uow/<email>/twice")
    def twice(email: str) -> str:
        add(email)
        add(email)  # the unique email clashes at the flush: nothing of the request is kept
        return "ok"

    @app.post("/_uow/<email>/at-commit")
    def clash_at_commit(email: str) -> str:
        for _ in range(2):  # not flushed: the clash only shows when the edge commits
            db.session.add(User(email=email, password_hash="x", display_name="Edge"))
        publish(db.session, Touched(email))
        return "ok"

    @app.get("/_uow/<email>/counted")
    @writes_during_read
    def counted(email: str) -> str:
        add(email)
        return "ok"
    return app, sent


def _stored(app: Flask, email: str) -> int:
    """Read through a connection of its own: only committed rows are visible."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(User.__table__)
                                  .where(text("email = :email")), {"email": email})
    engine.dispose()
    return count or 0


def test_a_changing_request_is_committed_once_its_view_returned(site):
    app, sent = site
    assert app.test_client().post("/_uow/a@example.org").status_code == 200
    assert _stored(app, "a@example.org") == 1
    assert sent == ["a@example.org"]


def test_a_read_never_commits_and_one_that_writes_unannounced_is_an_error_in_tests(site):
    app, sent = site
    with pytest.raises(ReadWrote, match=r"GET /_uow/b@example\.org wrote"):
        app.test_client().get("/_uow/b@example.org")
    assert _stored(app, "b@example.org") == 0
    assert sent == []


def test_in_production_a_read_that_wrote_is_rolled_back_and_logged(site, caplog):
    app, _sent = site
    app.testing = False
    assert app.test_client().get("/_uow/g@example.org").status_code == 200
    assert _stored(app, "g@example.org") == 0
    assert "GET /_uow/g@example.org wrote to the database" in caplog.text


def test_a_read_marked_as_writing_keeps_what_it_wrote(site):
    app, sent = site
    assert app.test_client().get("/_uow/c@example.org/counted").status_code == 200
    assert _stored(app, "c@example.org") == 1
    assert sent == ["c@example.org"]


def test_a_refused_request_saves_nothing_and_sends_nothing(site):
    app, sent = site
    response = app.test_client().post("/_uow/d@example.org/refused",
                                      headers={"Accept": "application/json"})
    assert response.status_code == 409 and response.json["error"]["code"] == "conflict"
    assert _stored(app, "d@example.org") == 0
    assert sent == []


def test_a_database_error_inside_the_request_saves_none_of_it_and_answers_clean_json(site):
    app, sent = site
    response = app.test_client().post("/_uow/e@example.org/twice",
                                      headers={"Accept": "application/json"})
    assert response.status_code == 500 and response.json["error"]["code"]
    assert _stored(app, "e@example.org") == 0
    assert sent == []


def test_a_commit_that_fails_at_the_edge_answers_clean_json_and_sends_nothing(site):
    app, sent = site
    response = app.test_client().post("/_uow/f@example.org/at-commit",
                                      headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_server_error"
    assert _stored(app, "f@example.org") == 0
    assert sent == []
