"""registrations: a partial index of check-ins by member

The funnel reads each member's check-ins (returned, first-timer) from it alone.

Revision ID: 8e87f69adc42
Revises: 1f3fa87aacad
Create Date: 2026-11-30 01:18:13.815285

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '8e87f69adc42'
down_revision = '1f3fa87aacad'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index('ix_registrations_attended', ['user_id', 'event_id'], unique=False, postgresql_where=sa.text('checked_in_at IS NOT NULL'), sqlite_where=sa.text('checked_in_at IS NOT NULL'))


def downgrade():
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index('ix_registrations_attended', postgresql_where=sa.text('checked_in_at IS NOT NULL'), sqlite_where=sa.text('checked_in_at IS NOT NULL'))

