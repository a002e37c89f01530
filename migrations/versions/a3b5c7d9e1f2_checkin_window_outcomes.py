"""check-in scans: too_early/too_late outcomes (the door's opening hours)

Revision ID: a3b5c7d9e1f2
Revises: c4f1a9e07d52
Create Date: 2026-12-02 14:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3b5c7d9e1f2'
down_revision = 'c4f1a9e07d52'
branch_labels = None
depends_on = None

OUTCOMES = ('ok', 'already_checked_in', 'unknown_ticket', 'wrong_event', 'cancelled',
            'waitlisted', 'pending', 'undone')
WINDOW = ('too_early', 'too_late')


def _outcome_type(values):
    return sa.Enum(*values, name='scan_outcome', native_enum=False, create_constraint=True,
                   length=18)


def _set_outcomes(old, new):
    """SQLite rebuilds the table with the new type's CHECK; elsewhere the CHECK is replaced."""
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('checkin_scans', recreate='always') as batch_op:
            batch_op.alter_column('outcome', existing_type=_outcome_type(old),
                                  type_=_outcome_type(new), existing_nullable=False)
        return
    name = op.f('ck_checkin_scans_scan_outcome')
    op.drop_constraint(name, 'checkin_scans', type_='check')
    allowed = ', '.join(f"'{value}'" for value in new)
    op.create_check_constraint(name, 'checkin_scans', f'outcome IN ({allowed})')


def upgrade():
    _set_outcomes(OUTCOMES, OUTCOMES + WINDOW)


def downgrade():
    op.execute(sa.text("DELETE FROM checkin_scans WHERE outcome IN ('too_early', 'too_late')"))
    _set_outcomes(OUTCOMES + WINDOW, OUTCOMES)
