"""accounts: a session version that ends every login session at once, and named API tokens

users.session_version is part of the login cookie's identity: logging out or changing the
password raises it, so every copy of an old cookie stops working. api_tokens.name lets a member
tell tokens apart and revoke one; existing tokens are called "API token".

Revision ID: d5e7f9a1b3c4
Revises: a3b5c7d9e1f2
Create Date: 2026-12-03 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5e7f9a1b3c4'
down_revision = 'a3b5c7d9e1f2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=80), server_default='API token',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('name')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
