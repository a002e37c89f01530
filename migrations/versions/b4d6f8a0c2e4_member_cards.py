"""member cards: what a member does, offers and looks for, and who may see it (nobody by default)

Revision ID: b4d6f8a0c2e4
Revises: c3e5a7b9d1f0
Create Date: 2026-12-08 01:23:11.270593

"""
from alembic import op
import sqlalchemy as sa

import planner.core.db


# revision identifiers, used by Alembic.
revision = 'b4d6f8a0c2e4'
down_revision = 'c3e5a7b9d1f0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('member_cards',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('headline', sa.String(length=120), nullable=False),
    sa.Column('offer', sa.String(length=500), nullable=False),
    sa.Column('seek', sa.String(length=500), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('visibility', sa.Enum('none', 'attendees', 'branch', name='card_visibility', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('connect_code', sa.String(length=32), nullable=False),
    sa.Column('updated_at', planner.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_member_cards_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_member_cards')),
    sa.UniqueConstraint('connect_code', name=op.f('uq_member_cards_connect_code'))
    )


def downgrade():
    op.drop_table('member_cards')
