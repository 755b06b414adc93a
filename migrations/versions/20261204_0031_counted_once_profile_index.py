"""Statistics: covering index of the people counted once

- ix_beneficiaries_counted_once_profile (id) INCLUDE (genre, birth_year, tranche_age, statut_social,
  residence_commune_id) WHERE NOT (anonymous IS TRUE AND anonymised_at IS NULL): the national
  profile of the people accompanied (impact dashboard, « Statistiques ») joins every identified
  person of the period to their attributes; PostgreSQL read them from the whole table (767 000
  records, mostly anonymous participants, at 1 million accompaniments) and now from this index of
  the 101 000 people counted once (5.6 MB). On SQLite the index is (id) of those people only.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-04 06:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

COUNTED_ONCE = 'NOT (anonymous IS TRUE AND anonymised_at IS NULL)'
INCLUDED = ['genre', 'birth_year', 'tranche_age', 'statut_social', 'residence_commune_id']


def upgrade():
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.create_index('ix_beneficiaries_counted_once_profile', ['id'], unique=False,
                              postgresql_include=INCLUDED, postgresql_where=sa.text(COUNTED_ONCE),
                              sqlite_where=sa.text(COUNTED_ONCE))


def downgrade():
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.drop_index('ix_beneficiaries_counted_once_profile',
                            postgresql_where=sa.text(COUNTED_ONCE), sqlite_where=sa.text(COUNTED_ONCE))
