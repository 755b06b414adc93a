"""beneficiaries.language: the language the person reads « Mon carnet » and their card in

Chosen by the person on a page of their carnet (or by the mediator when printing the card); empty
means French. A code among mediation.i18n.LANGUAGES, checked by the services.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-03 18:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.drop_column('language')
