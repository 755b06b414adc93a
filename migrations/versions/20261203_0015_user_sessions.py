"""user sessions kept on the server

Signed-in browser sessions get a row in ``user_sessions`` (the cookie holds a random secret, the
table its SHA-256): sign-out, a password change or reset, a role change, the end of a staff
membership, deactivation and « Se déconnecter de tous les appareils » end every copy of a cookie
at once, on every app server. Idle timeout and absolute maximum are checked on the row. Sessions
opened before this revision have no row: they end at the first request after the upgrade.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 15:30:00

"""
import sqlalchemy as sa
from alembic import op

import mediation.types

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', mediation.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_reason', sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash')),
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))
    op.drop_table('user_sessions')
