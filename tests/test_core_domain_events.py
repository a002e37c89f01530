"""The domain-event bus: in-transaction subscribers share the unit of work; after-commit ones run
only for work that was committed, savepoints included."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from planner.accounts.models import User
from planner.core.domain_events import DomainEvent, EventBus, event_bus, publish, run_committed
from planner.core.extensions import db


@dataclass(frozen=True)
class Happened(DomainEvent):
    name: str


@dataclass(frozen=True)
class HappenedLoudly(Happened):
    pass


@pytest.fixture
def bus(app) -> EventBus:
    return event_bus(app)


def _users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


def test_in_transaction_subscriber_writes_inside_the_publishers_unit_of_work(app, bus, make_user):
    @bus.subscribe(Happened)
    def rename(event: Happened) -> None:
        db.session.get(User, user_id).display_name = event.name  # type: ignore[union-attr]

    user_id = make_user("Before").id
    publish(db.session, Happened("After"))
    db.session.rollback()
    assert db.session.get(User, user_id).display_name == "Before"
    publish(db.session, Happened("After"))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(User, user_id).display_name == "After"


def test_a_failing_in_transaction_subscriber_stops_the_unit_of_work(app, bus, make_user):
    @bus.subscribe(Happened)
    def refuse(event: Happened) -> None:
        raise RuntimeError("no")

    before = _users()
    db.session.add(User(email="x@example.org", password_hash="x", display_name="X"))
    with pytest.raises(RuntimeError):
        publish(db.session, Happened("x"))
    db.session.rollback()
    assert _users() == before


def test_after_commit_subscribers_run_once_after_the_commit_and_never_after_a_rollback(app, bus):
    seen: list[str] = []
    bus.subscribe(Happened, after_commit=True)(lambda event: seen.append(event.name))

    publish(db.session, Happened("rolled back"))
    db.session.rollback()
    run_committed(db.session)
    publish(db.session, Happened("committed"))
    assert seen == []
    db.session.commit()
    assert seen == []  # not from inside SQLAlchemy's commit: the edge runs them
    run_committed(db.session)
    run_committed(db.session)
    assert seen == ["committed"]


def test_work_in_a_rolled_back_savepoint_sends_nothing(app, bus):
    seen: list[str] = []
    bus.subscribe(Happened, after_commit=True)(lambda event: seen.append(event.name))

    publish(db.session, Happened("outer"))
    savepoint = db.session.begin_nested()
    publish(db.session, Happened("inner"))
    savepoint.rollback()
    db.session.commit()
    run_committed(db.session)
    assert seen == ["outer"]


def test_subscribers_of_a_base_event_hear_its_subclasses(app, bus):
    seen: list[str] = []
    bus.subscribe(Happened)(lambda event: seen.append(type(event).__name__))
    publish(db.session, HappenedLoudly("x"))
    publish(db.session, Happened("y"))
    assert seen == ["HappenedLoudly", "Happened"]
    db.session.rollback()


def test_a_failing_after_commit_subscriber_is_logged_and_does_not_stop_the_others(app, bus, caplog):
    seen: list[str] = []

    @bus.subscribe(Happened, after_commit=True)
    def broken(event: Happened) -> None:
        raise RuntimeError("smtp down")

    bus.subscribe(Happened, after_commit=True)(lambda event: seen.append(event.name))
    publish(db.session, Happened("sent"))
    db.session.commit()
    run_committed(db.session)
    assert seen == ["sent"]
    assert "after-commit subscriber" in caplog.text and "broken" in caplog.text


def test_each_app_has_its_own_bus(make_app):
    first, second = make_app(), make_app()
    assert event_bus(first) is not event_bus(second)
