"""Declarative base, column presets and the UTC datetime type shared by every model, and how a
session lets go of a connection that may have died."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from sqlalchemy import (
    Connection,
    CursorResult,
    DateTime,
    Delete,
    Dialect,
    Engine,
    Enum,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    Update,
    event,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, scoped_session

from planner.core.timeutil import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant stored in UTC.

    PostgreSQL keeps it as timestamptz; SQLite has no timezone type, so the value is stored as
    naive UTC and made aware again on the way out. Naive input is refused: it is always a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
created_at = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow)]
instant = Annotated[datetime, mapped_column(UTCDateTime())]
optional_instant = Annotated[datetime | None, mapped_column(UTCDateTime())]
updated_at = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)]
str80 = Annotated[str, mapped_column(String(80))]
str200 = Annotated[str, mapped_column(String(200))]


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite: enforce foreign keys, let readers run beside a writer, wait instead of failing."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None


@event.listens_for(Engine, "begin")
def _begin_immediate_on_sqlite(connection: Connection) -> None:
    """Take SQLite's write lock at BEGIN, so check-then-write services are serialised.

    SQLite has no SELECT … FOR UPDATE; without this two transactions could both read
    "one seat left" and both write.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def str_enum(cls: type[enum.Enum], name: str) -> Enum:
    """Store an enum by its value as a VARCHAR with a named CHECK constraint (portable)."""
    longest = max(len(str(member.value)) for member in cls)
    return Enum(cls, name=name, native_enum=False, create_constraint=True,
                values_callable=lambda members: [m.value for m in members],
                length=max(16, longest))


# Any session class: Flask-SQLAlchemy's db.session hands out its own Session subclass.
SessionT = TypeVar("SessionT", bound=Session)


def roll_back(session: scoped_session[SessionT]) -> None:
    """Roll back, even over a connection that died since its last use. Its rollback fails then,
    and SQLAlchemy marks it invalid; invalidating the session lets go of it without another
    word to the database, and the pool opens a fresh connection for the next transaction."""
    try:
        session.rollback()
    except SQLAlchemyError:
        session().invalidate()


def release(session: scoped_session[SessionT]) -> None:
    """End the session of a request, command or worker pass without ever raising: what is left
    of its transaction is rolled back (see roll_back), then the session is removed."""
    roll_back(session)
    session.remove()


def changed_rows(session: scoped_session[SessionT], statement: Update | Delete) -> int:
    """Run an UPDATE or DELETE in the session; answers how many rows it changed. The session
    answers such a statement with a CursorResult, which counts them, though its signature
    promises only a Result."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return result.rowcount
