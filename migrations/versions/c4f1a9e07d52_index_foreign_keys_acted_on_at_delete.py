"""index every foreign key the database acts on at delete (SET NULL or CASCADE)

Deleting a user or a branch makes the database find the referring rows to null or delete;
without an index on the referring column that is a scan of the whole child table.

Revision ID: c4f1a9e07d52
Revises: b2d4f6a8c0e1
Create Date: 2026-12-02 14:25:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4f1a9e07d52'
down_revision = 'b2d4f6a8c0e1'
branch_labels = None
depends_on = None

FOREIGN_KEY_COLUMNS = [
    ('branch_audit_log', 'actor_id'),
    ('branch_audit_log', 'subject_id'),
    ('event_series', 'branch_id'),
    ('events', 'created_by_id'),
    ('bookings', 'created_by_id'),
    ('outbox_messages', 'user_id'),
    ('invite_links', 'created_by_id'),
    ('registrations', 'added_by_id'),
    ('registrations', 'checked_in_by_id'),
    ('checkin_scans', 'scanned_by_id'),
]


def upgrade():
    for table, column in FOREIGN_KEY_COLUMNS:
        op.create_index(op.f(f'ix_{table}_{column}'), table, [column], unique=False)


def downgrade():
    for table, column in reversed(FOREIGN_KEY_COLUMNS):
        op.drop_index(op.f(f'ix_{table}_{column}'), table_name=table)
