"""anonymous profile rollups, equipped activities index

The impact dashboard's profile of the people accompanied (genre × age band × statut × commune of
residence) and its comparisons by structure, commune or mediator read the rollups instead of every
participation of the scope: identified people through ``beneficiary_month_rollups`` (their record
read live), anonymous people — two thirds of the participations, one person each — through
``anonymous_profile_rollups``: accompagnements per (structure, month, mediator) and profile, filled
here from the existing activities; mediation.stats.rollups keeps it exact afterwards.

``ix_activities_live_equipped_structure_date``: the « personnes équipées » indicators read the few
live activities with equipment (2 % at 1 million) of the scope's structures and period, instead
of every activity of the scope.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 22:40:00

"""
import sqlalchemy as sa
from alembic import op

import mediation.types  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

EQUIPPED = 'deleted_at IS NULL AND equipment_kind IS NOT NULL'


def upgrade():
    op.create_table(
        'anonymous_profile_rollups',
        sa.Column('structure_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('mediator_id', sa.Integer(), nullable=False),
        sa.Column('genre', sa.Enum('masculin', 'feminin', 'non_communique', name='genre', native_enum=False,
                                   create_constraint=False, length=40), nullable=False),
        sa.Column('tranche_age', sa.Enum('moins_de_douze_ans', 'douze_dix_huit', 'dix_huit_vingt_quatre',
                                         'vingt_cinq_trente_neuf', 'quarante_cinquante_neuf',
                                         'soixante_soixante_neuf', 'soixante_dix_plus', 'non_communique',
                                         name='trancheage', native_enum=False, create_constraint=False,
                                         length=40), nullable=False),
        sa.Column('statut_social', sa.Enum('retraite', 'sans_emploi', 'en_emploi', 'scolarise',
                                           'non_communique_ou_heterogene', name='statutsocial', native_enum=False,
                                           create_constraint=False, length=40), nullable=False),
        sa.Column('commune_id', sa.Integer(), nullable=False),
        sa.Column('accompaniments', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('structure_id', 'month', 'mediator_id', 'genre', 'tranche_age', 'statut_social',
                                'commune_id', name=op.f('pk_anonymous_profile_rollups')),
    )
    with op.batch_alter_table('anonymous_profile_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_anonymous_profile_rollups_mediator_month', ['mediator_id', 'month'], unique=False)
    op.create_index('ix_activities_live_equipped_structure_date', 'activities', ['structure_id', 'date'],
                    unique=False, postgresql_where=sa.text(EQUIPPED), sqlite_where=sa.text(EQUIPPED))
    fill_from_existing_activities()


def fill_from_existing_activities():
    """The same aggregate as mediation.stats.rollups.aggregate_selects, frozen here in SQL."""
    if op.get_bind().dialect.name == "postgresql":
        month = "CAST(date_trunc('month', a.date) AS DATE)"
    else:
        month = "date(a.date, 'start of month')"
    profile = ("coalesce(b.genre, 'non_communique'), coalesce(b.tranche_age, 'non_communique'), "
               "coalesce(b.statut_social, 'non_communique_ou_heterogene'), coalesce(b.residence_commune_id, 0)")
    op.execute(f"""
        INSERT INTO anonymous_profile_rollups (structure_id, month, mediator_id, genre, tranche_age, statut_social,
                                               commune_id, accompaniments)
        SELECT a.structure_id, {month}, a.mediator_id, {profile}, count(*)
        FROM activities a
        JOIN participations p ON p.activity_id = a.id
        JOIN beneficiaries b ON b.id = p.beneficiary_id
        WHERE a.deleted_at IS NULL AND b.anonymous
        GROUP BY a.structure_id, {month}, a.mediator_id, {profile}
        ORDER BY 1, 2, 3
    """)
    if op.get_bind().dialect.name == "postgresql":
        # In key order (a cell's rows on few pages) and with the planner's statistics: a territory's
        # year is then read by a bitmap scan of a few pages, not row by row.
        op.execute("ANALYZE anonymous_profile_rollups")


def downgrade():
    op.drop_index('ix_activities_live_equipped_structure_date', table_name='activities',
                  postgresql_where=sa.text(EQUIPPED), sqlite_where=sa.text(EQUIPPED))
    with op.batch_alter_table('anonymous_profile_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_anonymous_profile_rollups_mediator_month')
    op.drop_table('anonymous_profile_rollups')
