"""feedback: one rating (and comment) per member per meetup; featured ones are testimonials

Revision ID: f2a4c6e8d0b1
Revises: c9a1e3f5b7d0
Create Date: 2026-12-08 00:45:58.918647

"""
from alembic import op
import sqlalchemy as sa

import planner.core.db


# revision identifiers, used by Alembic.
revision = 'f2a4c6e8d0b1'
down_revision = 'c9a1e3f5b7d0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(length=2000), nullable=False),
    sa.Column('may_quote', sa.Boolean(), nullable=False),
    sa.Column('featured_at', planner.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('featured_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', planner.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', planner.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('featured_at IS NULL OR may_quote', name=op.f('ck_feedback_featured_with_consent')),
    sa.CheckConstraint('length(comment) <= 2000', name=op.f('ck_feedback_comment_length')),
    sa.CheckConstraint('rating BETWEEN 1 AND 5', name=op.f('ck_feedback_rating_1_to_5')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_feedback_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['featured_by_id'], ['users.id'], name=op.f('fk_feedback_featured_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_feedback_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback')),
    sa.UniqueConstraint('event_id', 'user_id', name='uq_feedback_event_user')
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_featured', ['event_id'], unique=False, postgresql_where=sa.text('featured_at IS NOT NULL'), sqlite_where=sa.text('featured_at IS NOT NULL'))
        batch_op.create_index(batch_op.f('ix_feedback_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feedback_featured_by_id'), ['featured_by_id'], unique=False)



def downgrade():
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_featured_by_id'))
        batch_op.drop_index(batch_op.f('ix_feedback_user_id'))
        batch_op.drop_index('ix_feedback_featured', postgresql_where=sa.text('featured_at IS NOT NULL'), sqlite_where=sa.text('featured_at IS NOT NULL'))

    op.drop_table('feedback')
