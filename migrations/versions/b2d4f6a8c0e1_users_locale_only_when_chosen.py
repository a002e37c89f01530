"""users: a language is kept only when the member chose one

Until now every account was created with a language (zh_CN unless the form said otherwise), so
a member who never chose one was pinned to it instead of following their browser. NULL now
means "no choice: follow Accept-Language". Existing rows keep what they have: nobody can tell a
choice from the old default afterwards.

Revision ID: b2d4f6a8c0e1
Revises: a6c0d2e4f813
Create Date: 2026-12-02 14:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b2d4f6a8c0e1'
down_revision = 'a6c0d2e4f813'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('locale', existing_type=sa.String(length=8), nullable=True)


def downgrade():
    op.execute("UPDATE users SET locale = 'zh_CN' WHERE locale IS NULL")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('locale', existing_type=sa.String(length=8), nullable=False)
