"""Keeping the feeds' validators (calendar_feeds) in step with every write that changes a feed.

After each flush, in the same transaction: a meetup written (scheduled, edited, published,
cancelled) bumps its branch's feed and the feeds of the members with an RSVP to it; a venue
written bumps its branch's feed and the feeds of members with RSVPs to meetups there; a branch
written bumps its feed and those of members with RSVPs to its meetups; a membership written
bumps that member's feed (which branches it follows). A member's own RSVPs need no bump: the
member feed's validator reads their RSVPs' count and last change (one index range, no meetup),
so a check-in or an RSVP costs no extra statement here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, event, literal, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from branches.models import Branch, Membership, Venue
from planner.calendars.models import CalendarFeed
from planner.core.timeutil import utcnow
from planner.events.models import Event
from planner.registrations.models import Registration


def _insert(connection: Connection) -> Any:
    return (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)


def _bump(connection: Connection, key: Any, ids: Select[Any] | Iterable[int]) -> None:
    """version + 1 for the feeds keyed `key` (branch_id or user_id) of `ids`, made if missing."""
    now = utcnow()
    insert = _insert(connection)(CalendarFeed)
    if isinstance(ids, Select):
        chosen = ids.subquery()
        source = select(chosen.c[0], literal(1), literal(now, CalendarFeed.changed_at.type)
                        ).where(true())  # SQLite's upsert needs a WHERE after a SELECT
        statement = insert.from_select([key.key, "version", "changed_at"], source)
    else:
        rows = [{key.key: id_, "version": 1, "changed_at": now} for id_ in sorted(set(ids))]
        if not rows:
            return
        statement = insert.values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[key], index_where=key.is_not(None),
        set_={"version": CalendarFeed.version + 1, "changed_at": now, "valid_until": None})
    connection.execute(statement)


def _holders(events: ColumnElement[bool]) -> Select[Any]:
    """The members with an RSVP to the meetups `events` selects (by a join on events)."""
    return (select(Registration.user_id).distinct().join(Event, Event.id == Registration.event_id)
            .where(events, Registration.user_id.is_not(None)))


def _changed(session: Session, instance: object) -> bool:
    return instance in session.new or instance in session.deleted or session.is_modified(
        instance, include_collections=False)


@event.listens_for(Session, "after_flush")
def bump_feeds(session: Session, _flush: UOWTransaction) -> None:
    written = [instance for instance in (*session.new, *session.dirty, *session.deleted)
               if isinstance(instance, (Event, Venue, Branch, Membership))
               and _changed(session, instance)]
    if not written:
        return
    branches: set[int] = set()
    members: set[int] = set()
    holders: list[ColumnElement[bool]] = []
    for instance in written:
        if isinstance(instance, Branch) and instance in session.deleted:
            continue  # its feed row goes with it
        if isinstance(instance, Event):
            branches.add(instance.branch_id)
            if instance not in session.new:  # a new meetup has no RSVPs yet
                holders.append(Event.id == instance.id)
        elif isinstance(instance, Venue):
            branches.add(instance.branch_id)
            if instance not in session.new:
                holders.append(Event.venue_id == instance.id)
        elif isinstance(instance, Branch):
            branches.add(instance.id)
            if instance not in session.new:
                holders.append(Event.branch_id == instance.id)
        else:
            members.add(instance.user_id)
    connection = session.connection()
    _bump(connection, CalendarFeed.branch_id, branches)
    _bump(connection, CalendarFeed.user_id, members)
    for events in holders:
        _bump(connection, CalendarFeed.user_id, _holders(events))


WATCHED = (Event, Venue, Branch, Membership)


@event.listens_for(Session, "do_orm_execute")
def bump_on_bulk_writes(state: ORMExecuteState) -> None:
    """A write the ORM cannot follow row by row (a bulk INSERT/UPDATE/DELETE of meetups, venues,
    branches or memberships: an import, a repair) bumps every feed: rare, and never wrong."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is None or not issubclass(mapper.class_, WATCHED):
        return
    state.session.connection().execute(update(CalendarFeed).values(
        version=CalendarFeed.version + 1, changed_at=utcnow(), valid_until=None))
