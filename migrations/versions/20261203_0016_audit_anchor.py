"""audit anchor

The hash chain of the audit journal did not protect its end: deleting the newest events left a
shorter chain that still verified. ``audit_anchor`` keeps the chain's head (``seq`` and hash),
rewritten by every seal in the same commit and authenticated with an HMAC whose key is in the
application's settings (MEDIATION_AUDIT_ANCHOR_KEY, by default derived from SECRET_KEY), not in the
database. The existing chain is anchored here with the key of the application running the upgrade.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 15:40:00

"""
import sqlalchemy as sa
from alembic import op

import mediation.types  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_anchor',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('at', mediation.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('mac', sa.String(length=64), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_audit_anchor_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_anchor')),
    )
    bind = op.get_bind()
    last = bind.execute(sa.text("SELECT seq, hash FROM audit_events WHERE seq IS NOT NULL "
                                "ORDER BY seq DESC LIMIT 1")).first()
    if last is not None:
        from flask import current_app

        from mediation.audit.services import Head, anchor_key
        from mediation.types import utcnow

        head = Head.sign(last.seq, last.hash, utcnow(), anchor_key(current_app))
        table = sa.table('audit_anchor', sa.column('id'), sa.column('seq'), sa.column('hash'),
                         sa.column('at', mediation.types.UTCDateTime()), sa.column('mac'))
        bind.execute(table.insert().values(id=1, seq=head.seq, hash=head.hash, at=head.at, mac=head.mac))


def downgrade():
    op.drop_table('audit_anchor')
