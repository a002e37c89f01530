"""Finding meetups by the words of their title and description, Chinese included: "读书" finds
"周六读书会", with no word segmentation to get wrong.

Both databases index trigrams (three characters in a row): PostgreSQL with pg_trgm on
title || ' ' || description (ix_events_search_trgm), SQLite with the FTS5 table events_fts
(tokenize='trigram', kept in step by triggers; migration c3e5a7b9d1f0). A term of one or two
characters has no trigram: it is looked for by scanning, which a term that short needs anyway."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, column, literal_column, select, table

from planner.core.extensions import db
from planner.events.models import Event

MAX_TERMS = 8
TRIGRAM = 3
SEARCH_TEXT = Event.title.concat(literal_column("' '")).concat(Event.description)
EVENTS_FTS = table("events_fts", column("rowid"), column("events_fts"))


def _escaped(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(term: str) -> ColumnElement[bool]:
    if db.session.get_bind().dialect.name == "sqlite":
        if len(term) >= TRIGRAM:
            phrase = '"' + term.replace('"', '""') + '"'  # FTS5: the term as one phrase
            return Event.id.in_(select(EVENTS_FTS.c.rowid).where(
                EVENTS_FTS.c.events_fts.op("MATCH")(phrase)))
        return SEARCH_TEXT.like(f"%{_escaped(term)}%", escape="\\")
    return SEARCH_TEXT.ilike(f"%{_escaped(term)}%", escape="\\")


def matching(words: str) -> ColumnElement[bool]:
    """Meetups whose title or description holds every word (case aside)."""
    return and_(*(_contains(term) for term in words.split()[:MAX_TERMS]))


def alembic_compares(_object: object, name: str | None, kind: str, *_: object) -> bool:
    """For Alembic's comparisons (include_object): SQLite's FTS5 table and its shadow tables are
    the migration's, not a model's; and Alembic cannot compare the trigram index's expression
    (tests/test_migrations.py compares it as PostgreSQL spells it)."""
    if kind == "table":
        return not (name or "").startswith("events_fts")
    return not (kind == "index" and name == "ix_events_search_trgm")
