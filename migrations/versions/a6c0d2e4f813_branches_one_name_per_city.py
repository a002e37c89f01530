"""branches: one branch per name in a city, whatever the case or spacing

An accidental second submit founded "Suzhou Chapter" twice. Branches get name_key and city_key
(case folded, spaces collapsed: branches.models.twin_key) under a unique constraint. A twin
already there keeps its row but has its slug appended to its name, so the constraint can be
built and an admin sees which to merge.

Revision ID: a6c0d2e4f813
Revises: 61365503b41c
Create Date: 2026-12-02 13:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a6c0d2e4f813'
down_revision = '61365503b41c'
branch_labels = None
depends_on = None

branches = sa.table("branches", sa.column("id", sa.Integer), sa.column("slug", sa.String),
                    sa.column("name", sa.String), sa.column("city", sa.String),
                    sa.column("country", sa.String), sa.column("name_key", sa.String),
                    sa.column("city_key", sa.String))


def _key(text):
    """A frozen copy of branches.models.twin_key (migrations must not change with the code)."""
    return " ".join(text.casefold().split())[:80]


def _fill_keys(connection):
    seen = set()
    for row in connection.execute(sa.select(branches).order_by(branches.c.id)).all():
        name = row.name
        if (row.country, _key(row.city), _key(name)) in seen:
            name = f"{' '.join(name.split())} ({row.slug})"[:80]
        seen.add((row.country, _key(row.city), _key(name)))
        connection.execute(sa.update(branches).where(branches.c.id == row.id).values(
            name=name, name_key=_key(name), city_key=_key(row.city)))


def upgrade():
    with op.batch_alter_table('branches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('city_key', sa.String(length=80), nullable=True))
    _fill_keys(op.get_bind())
    with op.batch_alter_table('branches', schema=None) as batch_op:
        batch_op.alter_column('name_key', existing_type=sa.String(length=80), nullable=False)
        batch_op.alter_column('city_key', existing_type=sa.String(length=80), nullable=False)
        batch_op.create_unique_constraint('uq_branches_name_city',
                                          ['country', 'city_key', 'name_key'])


def downgrade():
    with op.batch_alter_table('branches', schema=None) as batch_op:
        batch_op.drop_constraint('uq_branches_name_city', type_='unique')
        batch_op.drop_column('city_key')
        batch_op.drop_column('name_key')
