"""outbox: dropped messages (their premise no longer held) and the RSVP each is about

Revision ID: e6f8a0b2c4d6
Revises: d5e7f9a1b3c4
Create Date: 2026-12-04 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import planner.core.db


# revision identifiers, used by Alembic.
revision = 'e6f8a0b2c4d6'
down_revision = 'd5e7f9a1b3c4'
branch_labels = None
depends_on = None

STATUSES = ('pending', 'sent', 'failed')
WITH_DROPPED = STATUSES + ('dropped',)


def _status_type(values):
    return sa.Enum(*values, name='outbox_status', native_enum=False, create_constraint=True,
                   length=16)


def _set_statuses(old, new):
    """SQLite rebuilds the table with the new type's CHECK; elsewhere the CHECK is replaced."""
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('outbox_messages', recreate='always') as batch_op:
            batch_op.alter_column('status', existing_type=_status_type(old),
                                  type_=_status_type(new), existing_nullable=False)
        return
    name = op.f('ck_outbox_messages_outbox_status')
    op.drop_constraint(name, 'outbox_messages', type_='check')
    allowed = ', '.join(f"'{value}'" for value in new)
    op.create_check_constraint(name, 'outbox_messages', f'status IN ({allowed})')


def _link_waiting_mail_to_its_rsvp():
    """A waiting message's premise is checked on its RSVP: the id is the key's second part
    ("<kind>:<registration>:<detail>"; nudges name no RSVP). Sent mail needs no link."""
    bind = op.get_bind()
    waiting = bind.execute(sa.text(
        "SELECT id, dedupe_key FROM outbox_messages "
        "WHERE status = 'pending' AND kind <> 'nudge'")).all()
    for message_id, key in waiting:
        registration_id = key.split(':')[1]
        if registration_id.isdigit():
            bind.execute(sa.text(
                "UPDATE outbox_messages SET registration_id = :registration WHERE id = :id "
                "AND EXISTS (SELECT 1 FROM registrations WHERE id = :registration)"),
                {"registration": int(registration_id), "id": message_id})


def upgrade():
    with op.batch_alter_table('outbox_messages') as batch_op:
        batch_op.add_column(sa.Column('registration_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('dropped_reason', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('dropped_at', planner.core.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_messages_registration_id'),
                              ['registration_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_outbox_messages_registration_id_registrations'), 'registrations',
            ['registration_id'], ['id'], ondelete='SET NULL')
    _set_statuses(STATUSES, WITH_DROPPED)
    with op.batch_alter_table('outbox_messages') as batch_op:
        batch_op.create_check_constraint(
            batch_op.f('ck_outbox_messages_dropped_says_why'),
            "(status = 'dropped') = (dropped_reason IS NOT NULL)")
    _link_waiting_mail_to_its_rsvp()


def downgrade():
    with op.batch_alter_table('outbox_messages') as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_messages_dropped_says_why'),
                                 type_='check')
    # Before this revision a message that will never be sent is a failed one.
    op.execute(sa.text(
        "UPDATE outbox_messages SET status = 'failed', "
        "last_error = 'dropped: ' || dropped_reason WHERE status = 'dropped'"))
    _set_statuses(WITH_DROPPED, STATUSES)
    with op.batch_alter_table('outbox_messages') as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_outbox_messages_registration_id_registrations'),
            type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_messages_registration_id'))
        batch_op.drop_column('dropped_at')
        batch_op.drop_column('dropped_reason')
        batch_op.drop_column('registration_id')
