"""Moving a whole network between databases (e.g. the embedded SQLite to PostgreSQL):
`flask --app wsgi export-data FILE` and `flask --app wsgi import-data FILE`.

The file is gzip'd JSON Lines: a header naming the schema revision, then one line per row,
tables in foreign-key order. Import needs an empty database migrated to the same revision, runs
in one transaction (all or nothing), and moves PostgreSQL's id sequences past the imported ids.
"""

from __future__ import annotations

import base64
import enum
import gzip
import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from alembic.migration import MigrationContext
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import (
    Column,
    Connection,
    Date,
    DateTime,
    Enum,
    LargeBinary,
    Table,
    TypeDecorator,
    func,
    select,
)
from sqlalchemy import text as sql_text

from planner.core.extensions import db

FORMAT = "juhui-export"
VERSION = 1
BATCH = 1000


class TransferError(click.ClickException):
    pass


def _tables() -> list[Table]:
    return list(db.metadata.sorted_tables)


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _decode(column: Column[Any], value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, Enum) and kind.enum_class is not None:
        return kind.enum_class(value)
    stored = kind.impl_instance if isinstance(kind, TypeDecorator) else kind
    if isinstance(stored, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(stored, Date):
        return date.fromisoformat(value)
    if isinstance(stored, LargeBinary):
        return base64.b64decode(value)
    return value


def export_rows(connection: Connection) -> Iterator[dict[str, Any]]:
    yield {"format": FORMAT, "version": VERSION, "revision": _revision(connection)}
    for table in _tables():
        order = list(table.primary_key.columns) or list(table.columns)
        for row in connection.execute(select(table).order_by(*order)).mappings():
            yield {"table": table.name, "row": {key: _encode(v) for key, v in row.items()}}


def export_to(path: Path) -> int:
    """Write every row to `path`; returns the number of rows."""
    rows = 0
    with db.engine.connect() as connection, gzip.open(path, "wt", encoding="utf-8") as out:
        for line in export_rows(connection):
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            rows += "row" in line
    return rows


def _check_target(connection: Connection, header: dict[str, Any]) -> None:
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise TransferError("This file is not a Juhui export (or from a newer version).")
    here = _revision(connection)
    if header.get("revision") != here:
        raise TransferError(f"The export is at schema revision {header.get('revision')}, this "
                            f"database at {here}: run `flask --app wsgi db upgrade` on the "
                            f"older side first.")
    for table in _tables():
        if connection.scalar(select(func.count()).select_from(table)):
            raise TransferError(f"The database is not empty (table {table.name} has rows); "
                                f"import into a freshly migrated database.")


def import_from(path: Path) -> int:
    """Load an export into this (empty, migrated) database in one transaction."""
    tables = {table.name: table for table in _tables()}
    rows = 0
    with db.engine.begin() as connection, gzip.open(path, "rt", encoding="utf-8") as source:
        _check_target(connection, json.loads(source.readline()))
        pending: dict[str, list[dict[str, Any]]] = {}
        for line in source:
            item = json.loads(line)
            table = tables[item["table"]]
            pending.setdefault(table.name, []).append(
                {key: _decode(table.c[key], value) for key, value in item["row"].items()})
            rows += 1
            if len(pending[table.name]) >= BATCH:
                _flush(connection, tables, pending)
        _flush(connection, tables, pending)
        _advance_sequences(connection)
    return rows


def _flush(connection: Connection, tables: dict[str, Table],
           pending: dict[str, list[dict[str, Any]]]) -> None:
    # Rows arrive in foreign-key order, so flushing in arrival order keeps references valid.
    for name in list(pending):
        connection.execute(tables[name].insert(), pending.pop(name))


def _advance_sequences(connection: Connection) -> None:
    """PostgreSQL hands out ids from sequences that the import bypassed: move them past."""
    if connection.dialect.name != "postgresql":
        return
    for table in _tables():
        if "id" in table.c and table.c.id.autoincrement is not False:
            connection.execute(sql_text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM \"{table.name}\"), 0) + 1, false)"))


@click.command("export-data")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def export_data(path: Path) -> None:
    """Write every row of the database to PATH (gzip'd JSON Lines)."""
    click.echo(f"Exported {export_to(path)} rows to {path}.")


@click.command("import-data")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_data(path: Path) -> None:
    """Load PATH, made by export-data, into this empty, migrated database."""
    click.echo(f"Imported {import_from(path)} rows from {path}.")


def register_commands(app: Flask) -> None:
    app.cli.add_command(export_data)
    app.cli.add_command(import_data)
