"""Retention: index of the identified records by creation date

- ix_beneficiaries_identified_created_at (created_at) WHERE NOT anonymous: the page « Conservation
  des données » counts the people due for anonymisation from the identified records created before
  the cut-off (a few hundred of the 767 000 records at 1 million accompaniments) instead of reading
  the whole table and every participation since the cut-off.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 22:50:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.create_index('ix_beneficiaries_identified_created_at', ['created_at'], unique=False,
                              postgresql_where=sa.text('NOT anonymous'), sqlite_where=sa.text('NOT anonymous'))


def downgrade():
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.drop_index('ix_beneficiaries_identified_created_at',
                            postgresql_where=sa.text('NOT anonymous'), sqlite_where=sa.text('NOT anonymous'))
