"""registrations: the queue index also covers engagement figures and time to fill

It replaces ix_registrations_event_status, a prefix of it.

Revision ID: 1f3fa87aacad
Revises: 7c8d65d59d23
Create Date: 2026-11-30 00:23:49.078113

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '1f3fa87aacad'
down_revision = '7c8d65d59d23'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index('ix_registrations_event_status_cover', ['event_id', 'status', 'queued_at', 'id'], unique=False, postgresql_include=['guests', 'user_id', 'checked_in_at'])
        batch_op.drop_index('ix_registrations_event_status')


def downgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index('ix_registrations_event_status', ['event_id', 'status', 'queued_at'], unique=False)
        batch_op.drop_index('ix_registrations_event_status_cover', postgresql_include=['guests', 'user_id', 'checked_in_at'])
