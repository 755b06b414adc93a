"""training records, the habilitation derived from them, and the coordination's notices

Staff trainings and certifications (``training_records``, certificate scanned) and the in-app
notices of a territory's coordination (``coordination_notifications``: an aidant's habilitation
expired). The aidant's training date (``users.aidant_trained_on``) becomes a training record of the
Aidants Connect kind — obtained that day, valid three years (HABILITATION_YEARS below, the default of
mediation.training) — and the column is dropped: the habilitation is now derived from the records.
``is_aidant`` stays (the structure's designation, which alone habilitates no one). The downgrade puts
back, for each aidant, the date of their latest Aidants Connect record.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 18:36:32

"""
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

import mediation.types

HABILITATION_YEARS = 3


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


users = sa.table('users', sa.column('id', sa.Integer()), sa.column('is_aidant', sa.Boolean()),
                 sa.column('aidant_trained_on', sa.Date()))
records = sa.table('training_records', sa.column('id', sa.Integer()), sa.column('user_id', sa.Integer()),
                   sa.column('kind', sa.String()), sa.column('obtained_on', sa.Date()),
                   sa.column('expires_on', sa.Date()), sa.column('created_at', mediation.types.UTCDateTime()),
                   sa.column('updated_at', mediation.types.UTCDateTime()))


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('coordination_notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('dossier_recu', 'dossier_parti', 'dossier_reaffecte', 'orientation_recue', 'orientation_acceptee', 'orientation_refusee', 'orientation_annulee', 'orientation_honoree', 'mise_a_disposition', 'expiration_proche', 'demande_revocation', 'habilitation_expiree', name='notificationkind', native_enum=False, length=30), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('created_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', mediation.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('read_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['read_by_id'], ['users.id'], name=op.f('fk_coordination_notifications_read_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['territory_id'], ['territories.id'], name=op.f('fk_coordination_notifications_territory_id_territories'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_coordination_notifications_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coordination_notifications'))
    )
    with op.batch_alter_table('coordination_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coordination_notifications_read_by_id'), ['read_by_id'], unique=False)
        batch_op.create_index('ix_coordination_notifications_unread', ['territory_id', 'read_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_coordination_notifications_user_id'), ['user_id'], unique=False)

    op.create_table('training_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('conseiller_numerique', 'ccp_remn', 'pix', 'aidants_connect', 'psc1', 'autre', name='trainingkind', native_enum=False, length=30), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('organisation', sa.String(length=200), nullable=True),
    sa.Column('obtained_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('certificate', sa.LargeBinary(), nullable=True),
    sa.Column('certificate_type', sa.String(length=40), nullable=True),
    sa.Column('certificate_sha256', sa.String(length=64), nullable=True),
    sa.Column('created_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', mediation.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expiry_reported_at', mediation.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("certificate_type IS NULL OR certificate_type IN ('application/pdf', 'image/jpeg', 'image/png')", name=op.f('ck_training_records_certificate_type_allowed')),
    sa.CheckConstraint("kind <> 'aidants_connect' OR expires_on IS NOT NULL", name=op.f('ck_training_records_habilitation_expires')),
    sa.CheckConstraint("kind <> 'autre' OR title IS NOT NULL", name=op.f('ck_training_records_other_has_title')),
    sa.CheckConstraint('(certificate IS NULL) = (certificate_type IS NULL)', name=op.f('ck_training_records_certificate_has_type')),
    sa.CheckConstraint('expires_on IS NULL OR expires_on > obtained_on', name=op.f('ck_training_records_expires_after_obtained')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_training_records_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_training_records_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_records'))
    )
    with op.batch_alter_table('training_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_records_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index('ix_training_records_expires_on', ['expires_on'], unique=False)
        batch_op.create_index('ix_training_records_user_kind', ['user_id', 'kind'], unique=False)

    connection = op.get_bind()
    now = datetime.now(UTC)
    trained = connection.execute(sa.select(users.c.id, users.c.aidant_trained_on)
                                 .where(users.c.aidant_trained_on.is_not(None)).order_by(users.c.id)).all()
    if trained:
        connection.execute(records.insert(), [
            {"user_id": user_id, "kind": "aidants_connect", "obtained_on": day,
             "expires_on": _years_later(day, HABILITATION_YEARS), "created_at": now, "updated_at": now}
            for user_id, day in trained])
    # Not a batch (SQLite would copy the users table, which many rows now reference): a plain
    # DROP COLUMN (PostgreSQL; SQLite 3.35 and later).
    op.execute("ALTER TABLE users DROP COLUMN aidant_trained_on")


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('aidant_trained_on', sa.DATE(), nullable=True))
    connection = op.get_bind()
    latest = connection.execute(
        sa.select(records.c.user_id, sa.func.max(records.c.obtained_on))
        .where(records.c.kind == 'aidants_connect').group_by(records.c.user_id)).all()
    for user_id, day in latest:
        connection.execute(users.update().where(users.c.id == user_id, users.c.is_aidant)
                           .values(aidant_trained_on=day))

    with op.batch_alter_table('training_records', schema=None) as batch_op:
        batch_op.drop_index('ix_training_records_user_kind')
        batch_op.drop_index('ix_training_records_expires_on')
        batch_op.drop_index(batch_op.f('ix_training_records_created_by_id'))

    op.drop_table('training_records')
    with op.batch_alter_table('coordination_notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coordination_notifications_user_id'))
        batch_op.drop_index('ix_coordination_notifications_unread')
        batch_op.drop_index(batch_op.f('ix_coordination_notifications_read_by_id'))

    op.drop_table('coordination_notifications')
