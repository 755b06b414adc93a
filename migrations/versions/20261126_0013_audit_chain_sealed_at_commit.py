"""audit chain sealed at commit

Writers of the audit log used to take the chain's lock at their first event and keep it until
their commit, so one long transaction (bulk badge issuing, a retention run) made every other write
of the application wait. Events are now inserted at once and *sealed* just before the commit
(mediation.audit.services.seal): ``seq`` (the position in the chain, unique), ``prev_hash`` and
``hash`` are written then, under a lock held only until the end of that commit. ``hash`` is NULL
only inside the recording transaction. The append-only triggers allow exactly that one update of an
unsealed row and nothing else; existing events keep their hashes and get ``seq = id`` (the order
the old lock gave them).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 22:45:00

"""
import sqlalchemy as sa
from alembic import op

from mediation.audit import triggers

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _drop_sqlite_triggers():
    for name in ("audit_events_no_update", "audit_events_no_delete", "audit_events_seal_only"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
    else:
        _drop_sqlite_triggers()
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_seq'), ['seq'])
    op.execute("UPDATE audit_events SET seq = id")
    if postgresql:
        op.execute(triggers.PG_FUNCTION_SEAL_ONLY)
        op.execute(triggers.PG_TRIGGER)
    else:
        op.execute(triggers.SQLITE_SEAL_ONLY)
        op.execute(triggers.SQLITE_NO_DELETE)


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
    else:
        _drop_sqlite_triggers()
    # Back to the id order of the old chain: only possible when the chain order is the id order
    # (true for a database that was never written to concurrently after the upgrade).
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_events_seq'), type_='unique')
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('seq')
    if postgresql:
        op.execute(triggers.PG_FUNCTION)
        op.execute(triggers.PG_TRIGGER)
    else:
        op.execute(triggers.SQLITE_NO_UPDATE)
        op.execute(triggers.SQLITE_NO_DELETE)
