"""calendar feeds: a kept validator per branch and member feed; branches: a kept count of
webhook endpoints (a check-in skips the endpoint query without one)

Revision ID: c9a1e3f5b7d0
Revises: b4d6f8a0c2e4
Create Date: 2026-12-08 00:45:00.000000

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

import planner.core.db


# revision identifiers, used by Alembic.
revision = 'c9a1e3f5b7d0'
down_revision = 'b4d6f8a0c2e4'
branch_labels = None
depends_on = None


CHECK = "ck_branches_webhook_endpoints_not_negative"


def upgrade():
    # A column-level CHECK on SQLite: ADD/DROP COLUMN then need no copy of the branches table,
    # whose copy would cascade its deletes into every table that refers to it.
    op.execute("ALTER TABLE branches ADD COLUMN webhook_endpoints INTEGER DEFAULT 0 NOT NULL "
               f"CONSTRAINT {CHECK} CHECK (webhook_endpoints >= 0)")
    op.execute("UPDATE branches SET webhook_endpoints = (SELECT count(*) FROM webhook_endpoints"
               " WHERE webhook_endpoints.branch_id = branches.id)")
    feeds = op.create_table('calendar_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('changed_at', planner.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_until', planner.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(branch_id IS NULL) <> (user_id IS NULL)', name=op.f('ck_calendar_feeds_one_feed')),
    sa.CheckConstraint('version >= 0', name=op.f('ck_calendar_feeds_version_not_negative')),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_calendar_feeds_branch_id_branches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_feeds'))
    )
    with op.batch_alter_table('calendar_feeds', schema=None) as batch_op:
        batch_op.create_index('uq_calendar_feeds_branch', ['branch_id'], unique=True, sqlite_where=sa.text('branch_id IS NOT NULL'), postgresql_where=sa.text('branch_id IS NOT NULL'))
        batch_op.create_index('uq_calendar_feeds_user', ['user_id'], unique=True, sqlite_where=sa.text('user_id IS NOT NULL'), postgresql_where=sa.text('user_id IS NOT NULL'))
    # Every existing feed starts changed now: a copy a client holds from before is refetched once.
    now = datetime.now(UTC)
    connection = op.get_bind()
    for key, table in (('branch_id', 'branches'), ('user_id', 'users')):
        ids = [row[0] for row in connection.execute(sa.text(f"SELECT id FROM {table}"))]
        if ids:
            op.bulk_insert(feeds, [{key: id_, 'version': 1, 'changed_at': now} for id_ in ids])


def downgrade():
    op.drop_table('calendar_feeds')
    op.execute("ALTER TABLE branches DROP COLUMN webhook_endpoints")
