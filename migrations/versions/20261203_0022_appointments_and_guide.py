"""appointments and guide

Appointments at places: offers per service (duration, capacity, hours), blocked periods, appointments
(a seat per slot: CHECK 0 <= seat < capacity and a partial unique index on the seats held), and the
places' self-assessed services reviewed by the coordination.

Revision ID: 0022
Revises: 0024
Create Date: 2026-12-03 18:34:52.713700

"""
import sqlalchemy as sa
from alembic import op

import mediation.types  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('appointment_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=100), nullable=False),
    sa.Column('duration_min', sa.SmallInteger(), nullable=False),
    sa.Column('capacity', sa.SmallInteger(), nullable=False),
    sa.Column('hours', sa.String(length=500), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('capacity BETWEEN 1 AND 50', name=op.f('ck_appointment_offers_capacity_range')),
    sa.CheckConstraint('duration_min BETWEEN 5 AND 480', name=op.f('ck_appointment_offers_duration_range')),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], name=op.f('fk_appointment_offers_structure_id_structures'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_offers')),
    sa.UniqueConstraint('structure_id', 'service', name='uq_appointment_offers_structure_service')
    )
    op.create_table('service_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=100), nullable=False),
    sa.Column('level', sa.Enum('information', 'orientation', 'aide_ponctuelle', 'accompagnement', 'plusieurs_seances', name='assessmentlevel', native_enum=False, length=30), nullable=False),
    sa.Column('publics', sa.JSON(), nullable=False),
    sa.Column('accessibility', sa.JSON(), nullable=False),
    sa.Column('free_of_charge', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('details', sa.String(length=500), nullable=True),
    sa.Column('status', sa.Enum('brouillon', 'publie', name='assessmentstatus', native_enum=False, length=20), nullable=False),
    sa.Column('updated_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', mediation.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_service_assessments_reviewed_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], name=op.f('fk_service_assessments_structure_id_structures'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_service_assessments_updated_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_assessments')),
    sa.UniqueConstraint('structure_id', 'service', name='uq_service_assessments_structure_service')
    )
    with op.batch_alter_table('service_assessments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_assessments_reviewed_by_id'), ['reviewed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_assessments_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('appointment_blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_appointment_blocks_dates_ordered')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_appointment_blocks_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['offer_id'], ['appointment_offers.id'], name=op.f('fk_appointment_blocks_offer_id_appointment_offers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], name=op.f('fk_appointment_blocks_structure_id_structures'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_blocks'))
    )
    with op.batch_alter_table('appointment_blocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_blocks_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointment_blocks_offer_id'), ['offer_id'], unique=False)
        batch_op.create_index('ix_appointment_blocks_structure_starts', ['structure_id', 'starts_at'], unique=False)

    op.create_table('appointments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=100), nullable=False),
    sa.Column('starts_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seat', sa.SmallInteger(), nullable=False),
    sa.Column('capacity', sa.SmallInteger(), nullable=False),
    sa.Column('state', sa.Enum('reserve', 'annule', 'deplace', 'honore', 'manque', name='appointmentstate', native_enum=False, length=20), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('activity_id', sa.Integer(), nullable=True),
    sa.Column('moved_to_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', mediation.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_by_person', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('confirmation_sent_at', mediation.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminder_sent_at', mediation.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_appointments_dates_ordered')),
    sa.CheckConstraint('seat >= 0 AND seat < capacity', name=op.f('ck_appointments_seat_within_capacity')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_appointments_activity_id_activities'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiaries.id'], name=op.f('fk_appointments_beneficiary_id_beneficiaries'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_appointments_case_id_cases'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_appointments_closed_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_appointments_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['moved_to_id'], ['appointments.id'], name=op.f('fk_appointments_moved_to_id_appointments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['offer_id'], ['appointment_offers.id'], name=op.f('fk_appointments_offer_id_appointment_offers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_appointments_referral_id_referrals'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], name=op.f('fk_appointments_structure_id_structures'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments'))
    )
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointments_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_beneficiary_id'), ['beneficiary_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_closed_by_id'), ['closed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_moved_to_id'), ['moved_to_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_referral_id'), ['referral_id'], unique=False)
        batch_op.create_index('ix_appointments_structure_starts', ['structure_id', 'starts_at'], unique=False)
        batch_op.create_index('uq_appointments_offer_start_seat', ['offer_id', 'starts_at', 'seat'], unique=True, sqlite_where=sa.text("state IN ('reserve', 'honore', 'manque')"), postgresql_where=sa.text("state IN ('reserve', 'honore', 'manque')"))



def downgrade():
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index('uq_appointments_offer_start_seat', sqlite_where=sa.text("state IN ('reserve', 'honore', 'manque')"), postgresql_where=sa.text("state IN ('reserve', 'honore', 'manque')"))
        batch_op.drop_index('ix_appointments_structure_starts')
        batch_op.drop_index(batch_op.f('ix_appointments_referral_id'))
        batch_op.drop_index(batch_op.f('ix_appointments_moved_to_id'))
        batch_op.drop_index(batch_op.f('ix_appointments_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_appointments_closed_by_id'))
        batch_op.drop_index(batch_op.f('ix_appointments_case_id'))
        batch_op.drop_index(batch_op.f('ix_appointments_beneficiary_id'))
        batch_op.drop_index(batch_op.f('ix_appointments_activity_id'))

    op.drop_table('appointments')
    with op.batch_alter_table('appointment_blocks', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_blocks_structure_starts')
        batch_op.drop_index(batch_op.f('ix_appointment_blocks_offer_id'))
        batch_op.drop_index(batch_op.f('ix_appointment_blocks_created_by_id'))

    op.drop_table('appointment_blocks')
    with op.batch_alter_table('service_assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_assessments_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_service_assessments_reviewed_by_id'))

    op.drop_table('service_assessments')
    op.drop_table('appointment_offers')
