"""pictures: cover pictures of meetups and branches

Revision ID: a7c9e1b3d5f0
Revises: d1a0c3e5f7b9
Create Date: 2026-12-08 00:25:50.282056

"""
from alembic import op
import sqlalchemy as sa

import planner.core.db


# revision identifiers, used by Alembic.
revision = 'a7c9e1b3d5f0'
down_revision = 'd1a0c3e5f7b9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pictures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('created_at', planner.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('width > 0 AND height > 0', name=op.f('ck_pictures_has_pixels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pictures')),
    sa.UniqueConstraint('digest', name=op.f('uq_pictures_digest'))
    )
    op.create_table('picture_renditions',
    sa.Column('picture_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.Column('media_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.CheckConstraint('width > 0 AND height > 0', name=op.f('ck_picture_renditions_has_pixels')),
    sa.ForeignKeyConstraint(['picture_id'], ['pictures.id'], name=op.f('fk_picture_renditions_picture_id_pictures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('picture_id', 'name', name=op.f('pk_picture_renditions'))
    )
    with op.batch_alter_table('branches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cover_digest', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_branches_cover_digest'), ['cover_digest'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_branches_cover_digest_pictures'), 'pictures', ['cover_digest'], ['digest'], ondelete='SET NULL')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cover_digest', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_events_cover_digest'), ['cover_digest'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_events_cover_digest_pictures'), 'pictures', ['cover_digest'], ['digest'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_events_cover_digest_pictures'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_events_cover_digest'))
        batch_op.drop_column('cover_digest')

    with op.batch_alter_table('branches', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_branches_cover_digest_pictures'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_branches_cover_digest'))
        batch_op.drop_column('cover_digest')

    op.drop_table('picture_renditions')
    op.drop_table('pictures')
