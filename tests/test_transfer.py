"""Moving a network from the embedded SQLite to PostgreSQL with export-data / import-data:
every row of every table arrives as it was, and the new database keeps working."""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, select, text

from planner import create_app
from planner.accounts.services import Profile, sign_up
from planner.core.extensions import db
from tests.conftest import _test_config, skip_or_fail

TARGET = "juhui_transfer_test"


def every_row(app: Flask) -> dict[str, list[dict]]:
    with app.app_context(), db.engine.connect() as connection:
        return {table.name: [dict(row) for row in connection.execute(
            select(table).order_by(*table.primary_key.columns)).mappings()]
            for table in db.metadata.sorted_tables}


@pytest.fixture
def postgres_target(tmp_path: Path) -> Iterator[Flask]:
    """An empty, migrated PostgreSQL database of its own, on the server the suite uses."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        skip_or_fail("SQLite → PostgreSQL move skipped: set TEST_DATABASE_URL")
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {TARGET}"))
        connection.execute(text(f"CREATE DATABASE {TARGET}"))
    target_url = make_url(url).set(database=TARGET).render_as_string(hide_password=False)
    target = create_app(_test_config(target_url), instance_path=str(tmp_path / "target"))
    with target.app_context():
        upgrade()
    yield target
    with target.app_context():
        db.engine.dispose()
    with server.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {TARGET}"))
    server.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_demo_network_moves_to_postgresql_row_for_row(app, runner, postgres_target,
                                                         tmp_path):
    assert runner.invoke(args=["demo"]).exit_code == 0
    db.session.commit()
    export = tmp_path / "network.jsonl.gz"
    exported = runner.invoke(args=["export-data", str(export)])
    assert exported.exit_code == 0, exported.output

    # A fresh context: the command must find the target app, not the test's SQLite one.
    imported = contextvars.Context().run(postgres_target.test_cli_runner().invoke,
                                         args=["import-data", str(export)])
    assert imported.exit_code == 0, imported.output
    before, after = every_row(app), every_row(postgres_target)
    assert sum(map(len, before.values())) > 150
    assert f"Exported {sum(map(len, before.values()))} rows" in exported.output
    for table, rows in before.items():
        assert after[table] == rows, table

    with postgres_target.app_context():  # ids continue after the imported ones
        newcomer = sign_up("new@example.com", "a long password", Profile("New", None, "en",
                                                                         "Asia/Shanghai"))
        assert newcomer.id == max(row["id"] for row in before["users"]) + 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_import_refuses_a_database_that_is_not_empty_and_changes_nothing(app, runner,
                                                                         tmp_path):
    assert runner.invoke(args=["demo"]).exit_code == 0
    db.session.commit()
    export = tmp_path / "network.jsonl.gz"
    runner.invoke(args=["export-data", str(export)])
    before = every_row(app)
    again = runner.invoke(args=["import-data", str(export)])
    assert again.exit_code != 0 and "not empty" in again.output
    assert every_row(app) == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_import_refuses_a_file_that_is_not_an_export(runner, tmp_path):
    import gzip

    bogus = tmp_path / "bogus.jsonl.gz"
    with gzip.open(bogus, "wt") as out:
        out.write('{"format": "something else"}\n')
    result = runner.invoke(args=["import-data", str(bogus)])
    assert result.exit_code != 0 and "not a Juhui export" in result.output
