"""commune needs (observatoire)

Need indicators per commune imported from open data: digital fragility index, share of people aged
75 and over, poverty rate (each optional), their source, and whether they are illustrative (demo).

Revision ID: 0025
Revises: 0020
Create Date: 2026-12-03 19:00:00

"""
import sqlalchemy as sa
from alembic import op

import mediation.types

# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'commune_needs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('commune_id', sa.Integer(), nullable=False),
        sa.Column('fragility_index', sa.Float(), nullable=True),
        sa.Column('share_75_plus', sa.Float(), nullable=True),
        sa.Column('poverty_rate', sa.Float(), nullable=True),
        sa.Column('source', sa.String(length=200), nullable=True),
        sa.Column('illustrative', sa.Boolean(), nullable=False),
        sa.Column('updated_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('fragility_index IS NULL OR fragility_index >= 0',
                           name=op.f('ck_commune_needs_fragility_positive')),
        sa.CheckConstraint('share_75_plus IS NULL OR (share_75_plus >= 0 AND share_75_plus <= 100)',
                           name=op.f('ck_commune_needs_share_75_plus_percent')),
        sa.CheckConstraint('poverty_rate IS NULL OR (poverty_rate >= 0 AND poverty_rate <= 100)',
                           name=op.f('ck_commune_needs_poverty_rate_percent')),
        sa.ForeignKeyConstraint(['commune_id'], ['communes.id'], name=op.f('fk_commune_needs_commune_id_communes'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_commune_needs')),
        sa.UniqueConstraint('commune_id', name=op.f('uq_commune_needs_commune_id')),
    )


def downgrade():
    op.drop_table('commune_needs')
