"""equipment library: devices, handovers (loans, gifts, solidarity purchases), transfers

A device is out with at most one person at a time: the partial unique index
``uq_equipment_handovers_device_out`` on the handovers not returned (SQLite and PostgreSQL).

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-03 18:35:05.581255

"""
import sqlalchemy as sa
from alembic import op

import mediation.types  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('equipment_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('ordinateur_portable', 'ordinateur_fixe', 'tablette', 'smartphone', 'cle_4g', 'autre', name='devicekind', native_enum=False, length=24), nullable=False),
    sa.Column('model', sa.String(length=120), nullable=False),
    sa.Column('asset_number', sa.String(length=60), nullable=False),
    sa.Column('condition', sa.Enum('neuf', 'bon', 'usage', 'endommage', 'hors_service', name='devicecondition', native_enum=False, length=16), nullable=False),
    sa.Column('origin', sa.Enum('don', 'reconditionneur', 'achat', name='deviceorigin', native_enum=False, length=16), nullable=False),
    sa.Column('origin_name', sa.String(length=120), nullable=True),
    sa.Column('acquired_on', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('disponible', 'prete', 'donne', 'vendu', 'reforme', name='devicestatus', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('written_off_at', mediation.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('written_off_reason', sa.String(length=300), nullable=True),
    sa.CheckConstraint("(status = 'reforme') = (written_off_at IS NOT NULL)", name=op.f('ck_equipment_devices_written_off_has_date')),
    sa.CheckConstraint('length(asset_number) > 0', name=op.f('ck_equipment_devices_asset_number_not_empty')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_equipment_devices_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], name=op.f('fk_equipment_devices_structure_id_structures'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equipment_devices')),
    sa.UniqueConstraint('structure_id', 'asset_number', name='uq_equipment_devices_structure_asset')
    )
    with op.batch_alter_table('equipment_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_equipment_devices_created_by_id'), ['created_by_id'], unique=False)

    op.create_table('equipment_handovers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('don', 'pret', 'achat_solidaire', name='equipmentkind', native_enum=False, length=16), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('conditions_accepted', sa.Boolean(), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=True),
    sa.Column('condition_at_start', sa.Enum('neuf', 'bon', 'usage', 'endommage', 'hors_service', name='devicecondition', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('agreement_pdf', sa.LargeBinary(), nullable=True),
    sa.Column('agreement_sha256', sa.String(length=64), nullable=True),
    sa.Column('signed_scan', sa.LargeBinary(), nullable=True),
    sa.Column('signed_scan_type', sa.String(length=40), nullable=True),
    sa.Column('signed_scan_sha256', sa.String(length=64), nullable=True),
    sa.Column('signed_scan_at', mediation.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('returned_at', mediation.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('returned_on', sa.Date(), nullable=True),
    sa.Column('return_condition', sa.Enum('neuf', 'bon', 'usage', 'endommage', 'hors_service', name='devicecondition', native_enum=False, length=16), nullable=True),
    sa.Column('return_note', sa.String(length=300), nullable=True),
    sa.Column('returned_by_id', sa.Integer(), nullable=True),
    sa.Column('reminded_before_at', mediation.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_after_at', mediation.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(kind = 'achat_solidaire') = (price_cents IS NOT NULL)", name=op.f('ck_equipment_handovers_purchase_has_price')),
    sa.CheckConstraint("(kind = 'pret') = (due_on IS NOT NULL)", name=op.f('ck_equipment_handovers_loan_has_due_date')),
    sa.CheckConstraint("kind = 'pret' OR returned_at IS NULL", name=op.f('ck_equipment_handovers_only_loans_return')),
    sa.CheckConstraint("signed_scan_type IS NULL OR signed_scan_type IN ('application/pdf', 'image/jpeg', 'image/png')", name=op.f('ck_equipment_handovers_scan_type_allowed')),
    sa.CheckConstraint('(returned_at IS NULL) = (return_condition IS NULL)', name=op.f('ck_equipment_handovers_return_has_condition')),
    sa.CheckConstraint('(signed_scan IS NULL) = (signed_scan_type IS NULL)', name=op.f('ck_equipment_handovers_scan_has_type')),
    sa.CheckConstraint('conditions_accepted', name=op.f('ck_equipment_handovers_conditions_accepted')),
    sa.CheckConstraint('due_on IS NULL OR due_on >= started_on', name=op.f('ck_equipment_handovers_due_after_start')),
    sa.CheckConstraint('price_cents IS NULL OR price_cents >= 0', name=op.f('ck_equipment_handovers_price_not_negative')),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_equipment_handovers_activity_id_activities'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiaries.id'], name=op.f('fk_equipment_handovers_beneficiary_id_beneficiaries'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_equipment_handovers_created_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['device_id'], ['equipment_devices.id'], name=op.f('fk_equipment_handovers_device_id_equipment_devices'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['returned_by_id'], ['users.id'], name=op.f('fk_equipment_handovers_returned_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], name=op.f('fk_equipment_handovers_structure_id_structures'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equipment_handovers'))
    )
    with op.batch_alter_table('equipment_handovers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_equipment_handovers_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_equipment_handovers_beneficiary_id'), ['beneficiary_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_equipment_handovers_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_equipment_handovers_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_equipment_handovers_returned_by_id'), ['returned_by_id'], unique=False)
        batch_op.create_index('ix_equipment_handovers_structure_started', ['structure_id', 'started_on'], unique=False)
        batch_op.create_index('uq_equipment_handovers_device_out', ['device_id'], unique=True, sqlite_where=sa.text('returned_at IS NULL'), postgresql_where=sa.text('returned_at IS NULL'))

    op.create_table('equipment_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('from_structure_id', sa.Integer(), nullable=False),
    sa.Column('to_structure_id', sa.Integer(), nullable=False),
    sa.Column('transferred_at', mediation.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('transferred_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['equipment_devices.id'], name=op.f('fk_equipment_transfers_device_id_equipment_devices'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['from_structure_id'], ['structures.id'], name=op.f('fk_equipment_transfers_from_structure_id_structures'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['to_structure_id'], ['structures.id'], name=op.f('fk_equipment_transfers_to_structure_id_structures'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['transferred_by_id'], ['users.id'], name=op.f('fk_equipment_transfers_transferred_by_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equipment_transfers'))
    )
    with op.batch_alter_table('equipment_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_equipment_transfers_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_equipment_transfers_from_structure_id'), ['from_structure_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_equipment_transfers_to_structure_id'), ['to_structure_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_equipment_transfers_transferred_by_id'), ['transferred_by_id'], unique=False)



def downgrade():
    with op.batch_alter_table('equipment_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_equipment_transfers_transferred_by_id'))
        batch_op.drop_index(batch_op.f('ix_equipment_transfers_to_structure_id'))
        batch_op.drop_index(batch_op.f('ix_equipment_transfers_from_structure_id'))
        batch_op.drop_index(batch_op.f('ix_equipment_transfers_device_id'))

    op.drop_table('equipment_transfers')
    with op.batch_alter_table('equipment_handovers', schema=None) as batch_op:
        batch_op.drop_index('uq_equipment_handovers_device_out', sqlite_where=sa.text('returned_at IS NULL'), postgresql_where=sa.text('returned_at IS NULL'))
        batch_op.drop_index('ix_equipment_handovers_structure_started')
        batch_op.drop_index(batch_op.f('ix_equipment_handovers_returned_by_id'))
        batch_op.drop_index(batch_op.f('ix_equipment_handovers_device_id'))
        batch_op.drop_index(batch_op.f('ix_equipment_handovers_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_equipment_handovers_beneficiary_id'))
        batch_op.drop_index(batch_op.f('ix_equipment_handovers_activity_id'))

    op.drop_table('equipment_handovers')
    with op.batch_alter_table('equipment_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_equipment_devices_created_by_id'))

    op.drop_table('equipment_devices')
