"""Snapshots: dated copies of figures long to compute

- snapshots: an impact dashboard or « Statistiques » whose computation is long (a national or
  regional scope: 0.5 to 2 s at 1 million accompaniments, tens of seconds at 10 million) kept a few
  minutes for the users who would compute the same figures, and refreshed in the background
  (``flask instantanes``). Aggregates only, as printed; the key is a hash of the filters.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04 11:00:00

"""
import sqlalchemy as sa
from alembic import op

import mediation.types

# revision identifiers, used by Alembic.
revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'snapshots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('computed_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('viewed_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_snapshots_user_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_snapshots')),
        sa.UniqueConstraint('key', name='uq_snapshots_key'),
    )
    with op.batch_alter_table('snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_snapshots_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_snapshots_user_id'))
    op.drop_table('snapshots')
