"""outbox: a message is rendered when it is sent, not when it is queued; nudges name their branch

Revision ID: b8c0e2a4d6f1
Revises: f7a9b1c3d5e8
Create Date: 2026-12-10 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8c0e2a4d6f1'
down_revision = 'f7a9b1c3d5e8'
branch_labels = None
depends_on = None

RENDERED = (('to_address', sa.String(length=254)), ('subject', sa.String(length=300)),
            ('body', sa.Text()))
SENT_WAS_RENDERED = ("status <> 'sent' OR (to_address IS NOT NULL AND subject IS NOT NULL "
                     "AND body IS NOT NULL)")


def _link_waiting_nudges_to_their_branch():
    """A nudge is rendered from its branch: the id is its key's second part
    ("nudge:<branch>:<member>:<day>"). Mail queued before this revision carries its words, but
    is rendered again when sent, as all mail now is."""
    bind = op.get_bind()
    waiting = bind.execute(sa.text(
        "SELECT id, dedupe_key FROM outbox_messages "
        "WHERE status = 'pending' AND kind = 'nudge'")).all()
    for message_id, key in waiting:
        branch_id = key.split(':')[1]
        if branch_id.isdigit():
            bind.execute(sa.text(
                "UPDATE outbox_messages SET branch_id = :branch WHERE id = :id "
                "AND EXISTS (SELECT 1 FROM branches WHERE id = :branch)"),
                {"branch": int(branch_id), "id": message_id})


def upgrade():
    with op.batch_alter_table('outbox_messages') as batch_op:
        batch_op.add_column(sa.Column('branch_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_messages_branch_id'), ['branch_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_messages_branch_id_branches'),
                                    'branches', ['branch_id'], ['id'], ondelete='SET NULL')
        for column, type_ in RENDERED:
            batch_op.alter_column(column, existing_type=type_, nullable=True)
        batch_op.create_check_constraint(batch_op.f('ck_outbox_messages_sent_was_rendered'),
                                         SENT_WAS_RENDERED)
    _link_waiting_nudges_to_their_branch()


def downgrade():
    # The older code sends the words kept on the row: a message waiting to be rendered cannot be
    # sent by it, and becomes a failed one (never sent), saying why.
    op.execute(sa.text(
        "UPDATE outbox_messages SET status = 'failed', "
        "last_error = 'not rendered yet when the outbox was downgraded' "
        "WHERE status = 'pending' AND body IS NULL"))
    op.execute(sa.text(
        "UPDATE outbox_messages SET to_address = COALESCE("
        "(SELECT email FROM users WHERE users.id = outbox_messages.user_id), '') "
        "WHERE to_address IS NULL"))
    op.execute(sa.text(
        "UPDATE outbox_messages SET subject = COALESCE(subject, ''), body = COALESCE(body, '') "
        "WHERE subject IS NULL OR body IS NULL"))
    with op.batch_alter_table('outbox_messages') as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_messages_sent_was_rendered'),
                                 type_='check')
        for column, type_ in RENDERED:
            batch_op.alter_column(column, existing_type=type_, nullable=False)
        batch_op.drop_constraint(batch_op.f('fk_outbox_messages_branch_id_branches'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_messages_branch_id'))
        batch_op.drop_column('branch_id')
