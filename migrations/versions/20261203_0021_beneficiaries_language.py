"""beneficiaries.language: the language the person reads « Mon carnet » and their card in;
milestones.copied_from_id: the same step across pathway versions

Chosen by the person on a page of their carnet (or by the mediator when printing the card); empty
means French. A code among mediation.i18n.LANGUAGES, checked by the services.
A new pathway version copies every milestone; copied_from_id remembers the original, so that the
badge classes of the new version keep the endorsements of the previous ones.

Revision ID: 0021
Revises: 0025
Create Date: 2026-12-03 18:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.add_column(sa.Column('copied_from_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_milestones_copied_from_id'), ['copied_from_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_milestones_copied_from_id_milestones'), 'milestones',
                                    ['copied_from_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_milestones_copied_from_id_milestones'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_milestones_copied_from_id'))
        batch_op.drop_column('copied_from_id')
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.drop_column('language')
