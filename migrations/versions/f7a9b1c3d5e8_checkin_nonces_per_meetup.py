"""check-in scans: a nonce is unique per meetup, not across the network

Revision ID: f7a9b1c3d5e8
Revises: e6f8a0b2c4d6
Create Date: 2026-12-09 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f7a9b1c3d5e8'
down_revision = 'e6f8a0b2c4d6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('checkin_scans') as batch_op:
        batch_op.drop_constraint('uq_checkin_scans_nonce', type_='unique')
        batch_op.create_unique_constraint('uq_checkin_scans_event_nonce', ['event_id', 'nonce'])


def downgrade():
    # The same nonce may now be on scans of several meetups: only its first scan keeps it.
    op.execute(sa.text(
        "UPDATE checkin_scans SET nonce = NULL WHERE nonce IS NOT NULL AND id NOT IN "
        "(SELECT MIN(id) FROM checkin_scans WHERE nonce IS NOT NULL GROUP BY nonce)"))
    with op.batch_alter_table('checkin_scans') as batch_op:
        batch_op.drop_constraint('uq_checkin_scans_event_nonce', type_='unique')
        batch_op.create_unique_constraint('uq_checkin_scans_nonce', ['nonce'])
