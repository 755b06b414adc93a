"""beneficiaries.anonymised_at and anonymised_age_bands: a person anonymised by retention keeps
counting once, with the age band of each past year

Retention used to turn a followed person into an anonymous one, and the statistics count every
anonymous participation as one beneficiary (the national rule for participants recorded without
identity): closed periods changed (more distinct beneficiaries, a lower return rate). The date of
anonymisation now tells the two apart: only anonymous people without it count per participation.
People already anonymised by a retention run get the date of their audit event
(« beneficiary.anonymised »); run ``flask --app mediation rollups rebuild`` afterwards so that the
rollups count them once again.

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-03 15:40:00

"""
import sqlalchemy as sa
from alembic import op

import mediation.types

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', mediation.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(op.f('ck_beneficiaries_anonymised_is_anonymous'),
                                         'anonymised_at IS NULL OR anonymous')
    op.create_table('anonymised_age_bands',
        sa.Column('beneficiary_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('tranche_age', sa.Enum('moins_de_douze_ans', 'douze_dix_huit', 'dix_huit_vingt_quatre',
                                         'vingt_cinq_trente_neuf', 'quarante_cinquante_neuf', 'soixante_soixante_neuf',
                                         'soixante_dix_plus', 'non_communique', name='trancheage', native_enum=False,
                                         length=40), nullable=False),
        sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiaries.id'],
                                name=op.f('fk_anonymised_age_bands_beneficiary_id_beneficiaries'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('beneficiary_id', 'year', name=op.f('pk_anonymised_age_bands')),
    )
    op.execute(
        "UPDATE beneficiaries SET anonymised_at = (SELECT min(audit_events.at) FROM audit_events "
        "WHERE audit_events.action = 'beneficiary.anonymised' AND audit_events.object_type = 'beneficiaries' "
        "AND audit_events.object_id = CAST(beneficiaries.id AS VARCHAR(40))) "
        "WHERE anonymous AND EXISTS (SELECT 1 FROM audit_events WHERE audit_events.action = 'beneficiary.anonymised' "
        "AND audit_events.object_type = 'beneficiaries' "
        "AND audit_events.object_id = CAST(beneficiaries.id AS VARCHAR(40)))")


def downgrade():
    op.drop_table('anonymised_age_bands')
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_beneficiaries_anonymised_is_anonymous'), type_='check')
        batch_op.drop_column('anonymised_at')
