"""branches: a kept count of webhook endpoints (a check-in skips the endpoint query without one)

Revision ID: c9a1e3f5b7d0
Revises: d1a0c3e5f7b9
Create Date: 2026-12-08 00:45:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c9a1e3f5b7d0'
down_revision = 'd1a0c3e5f7b9'
branch_labels = None
depends_on = None


CHECK = "ck_branches_webhook_endpoints_not_negative"


def upgrade():
    # A column-level CHECK on SQLite: ADD/DROP COLUMN then need no copy of the branches table,
    # whose copy would cascade its deletes into every table that refers to it.
    op.execute("ALTER TABLE branches ADD COLUMN webhook_endpoints INTEGER DEFAULT 0 NOT NULL "
               f"CONSTRAINT {CHECK} CHECK (webhook_endpoints >= 0)")
    op.execute("UPDATE branches SET webhook_endpoints = (SELECT count(*) FROM webhook_endpoints"
               " WHERE webhook_endpoints.branch_id = branches.id)")


def downgrade():
    op.execute("ALTER TABLE branches DROP COLUMN webhook_endpoints")
