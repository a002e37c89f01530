"""The migrations build exactly the schema the models declare (indexes and constraints too),
and every one of them can be undone and redone on both backends."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import (
    Column,
    Connection,
    Index,
    PrimaryKeyConstraint,
    UniqueConstraint,
    create_engine,
    select,
    text,
)
from sqlalchemy.engine import make_url

from planner import create_app
from planner.core.extensions import db
from planner.events.search import alembic_compares
from tests.conftest import _test_config, skip_or_fail


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={
        "compare_type": True, "compare_server_default": True, "include_object": alembic_compares})
    with warnings.catch_warnings():
        # SQLite cannot reflect the expression index of the word search (it is PostgreSQL's
        # only: the test below compares it there).
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        return compare_metadata(context, db.metadata)


def test_migrations_build_exactly_the_models(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        assert _differences(connection) == []


@contextmanager
def _scratch_postgres_database() -> Iterator[str]:
    """A database of its own next to TEST_DATABASE_URL's, so that migrating it down and up
    leaves the session's shared, migrated database alone."""
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base:
        skip_or_fail("PostgreSQL run skipped: set TEST_DATABASE_URL to a PostgreSQL database")
    base_url = make_url(base)
    name = f"{base_url.database}_scratch"
    server = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _dispose_engine(app: Flask) -> None:
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty database nobody else uses."""
    with ExitStack() as cleanup:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        else:
            url = cleanup.enter_context(_scratch_postgres_database())
        app = create_app(_test_config(url), instance_path=str(tmp_path))
        cleanup.callback(_dispose_engine, app)
        yield app


def test_every_migration_downgrades_to_base_and_upgrades_again(fresh_app: Flask) -> None:
    with fresh_app.app_context():
        upgrade()
        downgrade(revision="base")
        with db.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() is None
        upgrade()
        with db.engine.connect() as connection:
            assert _differences(connection) == []


# alembic_version is Alembic's own bookkeeping, not a model.
_POSTGRESQL_SCHEMA = text("""
    SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
     WHERE connamespace = current_schema()::regnamespace
       AND conrelid::regclass::text <> 'alembic_version'
    UNION ALL
    SELECT tablename, indexname, indexdef FROM pg_indexes
     WHERE schemaname = current_schema() AND tablename <> 'alembic_version'
""")


def _postgresql_schema(connection: Connection) -> set[tuple[str, str, str]]:
    """Every constraint and index as PostgreSQL itself spells it, including the kinds
    (exclusion constraints) that compare_metadata does not look at."""
    return {tuple(row) for row in connection.execute(_POSTGRESQL_SCHEMA)}


@pytest.mark.postgres_only
def test_models_declare_every_postgresql_constraint_the_migrations_make(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        migrated = _postgresql_schema(connection)
    with _scratch_postgres_database() as url:
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(text("CREATE EXTENSION btree_gist"))
                connection.execute(text("CREATE EXTENSION pg_trgm"))
                db.metadata.create_all(connection)
                from_models = _postgresql_schema(connection)
        finally:
            engine.dispose()
    assert from_models == migrated


def _serves_every_row(index: Index) -> bool:
    """A partial index only finds the rows its WHERE keeps; "<its first column> IS NOT NULL"
    keeps every row a foreign key lookup can match."""
    first = next(iter(index.columns))
    wheres = [index.dialect_options[dialect]["where"] for dialect in ("postgresql", "sqlite")]
    return all(where is None or str(where) == f"{first.name} IS NOT NULL" for where in wheres)


def _leads_an_index(column: Column[object]) -> bool:
    """An index or a unique constraint (which PostgreSQL and SQLite back by an index) whose
    first column this is, so a lookup by it needs no scan of the table."""
    table = column.table
    leading = [next(iter(index.columns)) for index in table.indexes
               if index.columns and _serves_every_row(index)]
    leading += [next(iter(constraint.columns)) for constraint in table.constraints
                if isinstance(constraint, (UniqueConstraint, PrimaryKeyConstraint))
                and constraint.columns]
    return any(first is column for first in leading)


def test_every_foreign_key_acted_on_at_delete_is_indexed(tmp_path: Path) -> None:
    """Deleting a parent row makes the database find its children to null or delete them:
    without an index on the referring column that is a scan of the child table."""
    create_app(_test_config("sqlite://"), instance_path=str(tmp_path))  # imports every model
    unindexed = [f"{key.parent.table.name}.{key.parent.name}"
                 for table in db.metadata.sorted_tables for key in table.foreign_keys
                 if key.ondelete is not None and not _leads_an_index(key.parent)]
    assert unindexed == []


def _queue_two_confirmations() -> list[int]:
    """Two members RSVP to a meetup of a new branch: two confirmations wait in the outbox."""
    from datetime import UTC, datetime, timedelta

    from branches.services import BranchInput, VenueInput, create_branch, save_venue
    from planner.accounts.services import Profile, sign_up
    from planner.events import services as events
    from planner.events.models import EventStatus
    from planner.registrations.services import rsvp

    admin, *members = (sign_up(f"{name}@example.com", "correct horse battery",
                               Profile(name, None, "en", "Asia/Shanghai"), is_admin=True)
                       for name in ("admin", "one", "two"))
    branch = create_branch(admin, BranchInput(name="Chengdu", city="成都", slug="chengdu"))
    hall = save_venue(admin, branch, VenueInput("Hall", "1 Road", 40))
    start = datetime(datetime.now(UTC).year + 1, 3, 5, 19)
    [meetup] = events.schedule(admin, branch, events.EventInput(
        title="Tea", starts_local=start, ends_local=start + timedelta(hours=2),
        venue_id=hall.id, status=EventStatus.PUBLISHED))
    registration_ids = [rsvp(member, meetup.id).id for member in members]
    db.session.commit()
    return registration_ids


def _outbox(connection: Connection, *columns: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in connection.execute(text(
        f"SELECT {', '.join(columns)} FROM outbox_messages ORDER BY id"))]


def _words_as_older_code_queued_them(where: str, **values: object) -> None:
    """Before b8c0e2a4d6f1 a message was rendered when queued; since, when it is sent."""
    db.session.execute(text(
        "UPDATE outbox_messages SET subject = 'Tea', body = 'Hello', to_address = "
        "(SELECT email FROM users WHERE users.id = outbox_messages.user_id) WHERE " + where),
        values)


def test_the_outbox_migration_links_waiting_mail_and_undoes_dropped_as_failed(fresh_app):
    """Mail queued before e6f8a0b2c4d6 names its RSVP only in its key: the upgrade links waiting
    mail to it, so that its premise can be checked. Going down, a dropped message becomes a
    failed one, which is never sent either."""
    with fresh_app.test_request_context(headers={"Accept-Language": "en"}):
        upgrade()
        waiting, dropped = _queue_two_confirmations()
        _words_as_older_code_queued_them("registration_id IS NOT NULL")
        db.session.execute(text(
            "UPDATE outbox_messages SET status = 'dropped', dropped_reason = 'rsvp_changed', "
            "dropped_at = created_at WHERE registration_id = :id"), {"id": dropped})
        db.session.commit()
        downgrade(revision="d5e7f9a1b3c4")
        with db.engine.connect() as connection:
            assert _outbox(connection, "status", "last_error") == [
                ("pending", ""), ("failed", "dropped: rsvp_changed")]
        upgrade()
        with db.engine.connect() as connection:
            assert _outbox(connection, "registration_id", "status", "last_error") == [
                (waiting, "pending", ""),
                (None, "failed", "dropped: rsvp_changed")]
        db.session.remove()


def test_the_rendering_migration_fails_what_older_code_cannot_send_and_links_nudges(fresh_app):
    """Since b8c0e2a4d6f1 a message waits without its words until it is sent. Going down, one not
    rendered yet becomes a failed one (the older code only sends words it has), one rendered for
    an attempt already keeps waiting. Going up, a waiting nudge is linked to its branch, which
    it is rendered from."""
    from branches.models import Branch
    from planner.accounts.models import User
    from planner.core.timeutil import utcnow
    from planner.notifications.kinds import Notice
    from planner.notifications.outbox import notify_members

    with fresh_app.test_request_context(headers={"Accept-Language": "en"}):
        upgrade()
        unrendered, rendered = _queue_two_confirmations()
        branch = db.session.scalars(select(Branch)).one()
        branch_id = branch.id
        one = db.session.scalars(select(User).where(User.email == "one@example.com")).one()
        notify_members(Notice.NUDGE, branch, [one], utcnow().date())
        _words_as_older_code_queued_them("registration_id = :id", id=rendered)
        db.session.commit()
        downgrade(revision="f7a9b1c3d5e8")
        gave_up = "not rendered yet when the outbox was downgraded"
        with db.engine.connect() as connection:
            assert _outbox(connection, "kind", "status", "last_error", "to_address",
                           "subject") == [
                ("confirmed", "failed", gave_up, "one@example.com", ""),
                ("confirmed", "pending", "", "two@example.com", "Tea"),
                ("nudge", "failed", gave_up, "one@example.com", "")]
        db.session.execute(text("UPDATE outbox_messages SET status = 'pending', "
                                "last_error = '' WHERE kind = 'nudge'"))
        _words_as_older_code_queued_them("kind = 'nudge'")
        db.session.commit()
        upgrade()
        with db.engine.connect() as connection:
            assert _outbox(connection, "kind", "registration_id", "branch_id", "status") == [
                ("confirmed", unrendered, None, "failed"),
                ("confirmed", rendered, None, "pending"),
                ("nudge", None, branch_id, "pending")]
        db.session.remove()


def test_rebuilding_the_meetups_table_keeps_every_rsvp(fresh_app):
    """On SQLite, a migration that changes `events` copies it into a new table and drops the
    old one; with foreign keys enforced, the drop would delete every RSVP (ON DELETE CASCADE).
    migrations/env.py lifts them while migrating and checks them afterwards."""
    with fresh_app.test_request_context(headers={"Accept-Language": "en"}):
        upgrade()
        registration_ids = _queue_two_confirmations()
        downgrade(revision="d1a0c3e5f7b9")  # drops events.cover_digest: a rebuild on SQLite
        upgrade()
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT id FROM registrations ORDER BY id")
                                      ).scalars().all() == registration_ids
            if connection.dialect.name == "sqlite":  # and they are enforced again
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.session.remove()


def test_the_word_search_index_is_kept_in_step_by_triggers_on_sqlite(app):
    """A batch migration that rebuilds `events` on SQLite drops its triggers with it: then the
    search index would silently stop following edits. A later migration must recreate them."""
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name != "sqlite":
            assert connection.execute(text(
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_events_search_trgm'")
            ).scalar() == 1
            return
        triggers = connection.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'")
        ).scalars().all()
    assert sorted(triggers) == ["events_fts_delete", "events_fts_insert", "events_fts_update"]
