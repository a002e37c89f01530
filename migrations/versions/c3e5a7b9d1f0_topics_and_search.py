"""topics and word search: a branch's topics, the meetups tagged with them, and trigram
indexes of meetups' titles and descriptions (pg_trgm on PostgreSQL, FTS5 on SQLite)

Revision ID: c3e5a7b9d1f0
Revises: a7c9e1b3d5f0
Create Date: 2026-12-08 00:52:11.726765

"""
from alembic import op
import sqlalchemy as sa

import planner.core.db


# revision identifiers, used by Alembic.
revision = 'c3e5a7b9d1f0'
down_revision = 'a7c9e1b3d5f0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('topics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('name_key', sa.String(length=40), nullable=False),
    sa.Column('created_at', planner.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_topics_branch_id_branches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topics')),
    sa.UniqueConstraint('branch_id', 'name_key', name='uq_topics_branch_name')
    )
    op.create_table('event_topics',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_topics_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_event_topics_topic_id_topics'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', 'topic_id', name=op.f('pk_event_topics'))
    )
    with op.batch_alter_table('event_topics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_topics_topic_id'), ['topic_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.execute("CREATE INDEX ix_events_search_trgm ON events USING gin "
                   "((((title)::text || ' '::text) || description) gin_trgm_ops)")
    else:
        for statement in SQLITE_SEARCH:
            op.execute(statement)


# SQLite: an FTS5 table of trigrams over events (external content: it keeps only the index),
# filled from the meetups there are and kept in step by triggers. A batch migration that
# rebuilds `events` drops its triggers: tests/test_migrations.py checks they are there.
SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE events_fts USING fts5(title, description, content='events', "
    "content_rowid='id', tokenize='trigram')",
    "INSERT INTO events_fts(rowid, title, description) SELECT id, title, description FROM events",
    "CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN "
    "INSERT INTO events_fts(rowid, title, description) VALUES (new.id, new.title, new.description); "
    "END",
    "CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN "
    "INSERT INTO events_fts(events_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); END",
    "CREATE TRIGGER events_fts_update AFTER UPDATE OF title, description ON events BEGIN "
    "INSERT INTO events_fts(events_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); "
    "INSERT INTO events_fts(rowid, title, description) VALUES (new.id, new.title, new.description); "
    "END",
)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX ix_events_search_trgm')
    else:
        for trigger in ('insert', 'delete', 'update'):
            op.execute(f'DROP TRIGGER events_fts_{trigger}')
        op.execute('DROP TABLE events_fts')
    with op.batch_alter_table('event_topics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_topics_topic_id'))

    op.drop_table('event_topics')
    op.drop_table('topics')
