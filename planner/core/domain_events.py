"""Domain events: a service says what happened; the areas that care subscribe to it.

A subscriber runs in one of two phases:
- *in the transaction* — at once, inside the publisher's unit of work, for what must be atomic
  with the change (an outbox row, a stale mark). If it raises, the whole unit of work rolls back.
- *after the commit* — once the unit of work has committed, for what talks to the outside world
  (sending mail, delivering webhooks). It never runs for work that was rolled back, including
  work done inside a savepoint that was rolled back.

The bus lives on the app (`app.extensions`), so requests, CLI commands and the mail worker share
one set of subscribers, and apps built side by side in tests do not see each other's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

EXTENSION = "juhui.domain_events"
QUEUED = "juhui.after_commit.queued"  # [(transaction, subscriber, event)] not yet committed
READY = "juhui.after_commit.ready"  # [(subscriber, event)] committed, waiting to run


@dataclass(frozen=True)
class DomainEvent:
    """Base of every published event: small and immutable, holding ids rather than rows."""


E = TypeVar("E", bound=DomainEvent)
Subscriber = Callable[[Any], None]
AnySession = Session | scoped_session[Any]  # Flask-SQLAlchemy's db.session is a scoped_session


class EventBus:
    def __init__(self) -> None:
        self._in_transaction: dict[type[DomainEvent], list[Subscriber]] = defaultdict(list)
        self._after_commit: dict[type[DomainEvent], list[Subscriber]] = defaultdict(list)

    def subscribe(self, event_type: type[E], *, after_commit: bool = False
                  ) -> Callable[[Callable[[E], None]], Callable[[E], None]]:
        """Decorator registering a subscriber for `event_type` and its subclasses."""
        table = self._after_commit if after_commit else self._in_transaction

        def register(subscriber: Callable[[E], None]) -> Callable[[E], None]:
            if subscriber not in table[event_type]:
                table[event_type].append(subscriber)
            return subscriber
        return register

    def publish(self, session: AnySession, published: DomainEvent) -> None:
        session = _actual(session)
        for subscriber in _matching(self._in_transaction, published):
            subscriber(published)
        transaction = (session.get_nested_transaction() or session.get_transaction()
                       or session.begin())
        session.info.setdefault(QUEUED, []).extend(
            (transaction, subscriber, published)
            for subscriber in _matching(self._after_commit, published))


def _matching(table: dict[type[DomainEvent], list[Subscriber]],
              published: DomainEvent) -> list[Subscriber]:
    return [subscriber for event_type in type(published).__mro__
            for subscriber in table.get(event_type, ())]


def init_app(app: Flask, session: Any) -> EventBus:
    """Give the app its bus and follow `session`'s commits and rollbacks."""
    bus = app.extensions.setdefault(EXTENSION, EventBus())
    for name, listener in (("after_commit", _mark_committed),
                           ("after_soft_rollback", _drop_rolled_back)):
        if not orm_event.contains(session, name, listener):
            orm_event.listen(session, name, listener)
    return bus


def event_bus(app: Flask | None = None) -> EventBus:
    bus: EventBus = (app or current_app).extensions[EXTENSION]
    return bus


def publish(session: AnySession, published: DomainEvent) -> None:
    """Publish on the current app's bus, inside `session`'s unit of work."""
    event_bus().publish(session, published)


def run_committed(session: AnySession) -> None:
    """Run the after-commit subscribers of work `session` has committed. The edges call this
    right after their commit (SQLAlchemy forbids SQL inside its own commit hook)."""
    while ready := session.info.pop(READY, []):
        for subscriber, published in ready:
            try:
                subscriber(published)
            except Exception:  # the change is committed; a failed side effect is retried later
                current_app.logger.exception(
                    "after-commit subscriber %s failed for %r",
                    getattr(subscriber, "__qualname__", subscriber), published)


def _actual(session: AnySession) -> Session:
    return session() if isinstance(session, scoped_session) else session


def _mark_committed(session: Session) -> None:
    queued = session.info.pop(QUEUED, [])
    session.info.setdefault(READY, []).extend(
        (subscriber, published) for _transaction, subscriber, published in queued)


def _drop_rolled_back(session: Session, rolled_back: SessionTransaction) -> None:
    queued = session.info.get(QUEUED)
    if queued:
        session.info[QUEUED] = [entry for entry in queued
                                if not _within(entry[0], rolled_back)]


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False
