"""coop statistics rollups

« Statistiques » (La Coop's figures) read ``coop_rollups`` (the additive breakdowns: canal, duration
bucket, place, commune, matériel, tag, and the profile of participants counted per participation,
per structure, month, mediator and activity type) and ``coop_person_rollups`` (the people counted
once, per cell and type, with a copy of their profile) instead of every activity and participation of the period; filled here
from the existing activities; mediation.stats.rollups keeps them exact afterwards.

Revision ID: 0029
Revises: 0026
Create Date: 2026-12-03 23:10:00

"""
import sqlalchemy as sa
from alembic import op

import mediation.types  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = '0029'
down_revision = '0026'
branch_labels = None
depends_on = None

TYPE = sa.Enum('individuel', 'collectif', name='activitytype', native_enum=False, create_constraint=False, length=40)
MATERIEL = ("ordinateur", "telephone", "tablette", "autre", "aucun")


def upgrade():
    op.create_table(
        'coop_rollups',
        sa.Column('structure_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('mediator_id', sa.Integer(), nullable=False),
        sa.Column('type', TYPE, nullable=False),
        sa.Column('dimension', sa.String(length=12), nullable=False),
        sa.Column('value', sa.String(length=60), nullable=False),
        sa.Column('activities', sa.Integer(), nullable=False),
        sa.Column('accompaniments', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('structure_id', 'month', 'mediator_id', 'type', 'dimension', 'value',
                                name=op.f('pk_coop_rollups')),
    )
    with op.batch_alter_table('coop_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_coop_rollups_mediator_month', ['mediator_id', 'month'], unique=False)
    op.create_table(
        'coop_person_rollups',
        sa.Column('structure_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('mediator_id', sa.Integer(), nullable=False),
        sa.Column('type', TYPE, nullable=False),
        sa.Column('beneficiary_id', sa.Integer(), nullable=False),
        sa.Column('accompaniments', sa.Integer(), nullable=False),
        sa.Column('anonymous', sa.Boolean(), nullable=False),
        sa.Column('genre', sa.String(length=40), nullable=True),
        sa.Column('birth_year', sa.SmallInteger(), nullable=True),
        sa.Column('tranche_age', sa.String(length=40), nullable=True),
        sa.Column('statut_social', sa.String(length=40), nullable=True),
        sa.Column('residence_commune_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('structure_id', 'month', 'mediator_id', 'type', 'beneficiary_id',
                                name=op.f('pk_coop_person_rollups')),
    )
    with op.batch_alter_table('coop_person_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_coop_person_rollups_beneficiary_id', ['beneficiary_id'], unique=False)
        batch_op.create_index('ix_coop_person_rollups_mediator_month', ['mediator_id', 'month'], unique=False)
        batch_op.create_index('ix_coop_person_rollups_month', ['month'], unique=False)
    fill_from_existing_activities()


def fill_from_existing_activities():
    """The same aggregates as mediation.stats.coop_rollups.coop_selects, frozen here in SQL."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    month = "CAST(date_trunc('month', a.date) AS DATE)" if postgresql else "date(a.date, 'start of month')"
    keys = f"a.structure_id, {month} AS month, a.mediator_id, a.type"
    weighted = ("FROM activities a LEFT JOIN (SELECT p.activity_id, count(*) AS n FROM participations p "
                "GROUP BY p.activity_id) w ON w.activity_id = a.id")
    n = "coalesce(w.n, 0)"
    text = "coalesce(CAST({} AS VARCHAR), '0')"
    live = "a.deleted_at IS NULL"
    parts = [
        f"SELECT {keys}, 'canal' AS dimension, CAST(a.place_type AS VARCHAR) AS value, {n} AS n {weighted} WHERE {live}",
        f"SELECT {keys}, 'duree', CASE WHEN a.duration_min < 30 THEN 'moins_30' WHEN a.duration_min < 60 THEN '30_60' "
        f"WHEN a.duration_min < 120 THEN '60_120' ELSE '120_plus' END, {n} {weighted} WHERE {live}",
        f"SELECT {keys}, 'lieu', {text.format('a.place_structure_id')}, {n} {weighted} WHERE {live} "
        f"AND a.place_type = 'lieu_activite' AND a.place_structure_id IS NOT NULL",
        f"SELECT {keys}, 'commune', CASE WHEN a.place_structure_id IS NOT NULL THEN "
        f"'s:' || CAST(a.place_structure_id AS VARCHAR) WHEN a.place_commune_id IS NOT NULL THEN "
        f"'c:' || CAST(a.place_commune_id AS VARCHAR) ELSE 'o:' || CAST(a.structure_id AS VARCHAR) END, "
        f"{n} {weighted} WHERE {live}",
        f"SELECT {keys}, 'tag', CAST(t.tag_id AS VARCHAR), {n} {weighted} "
        f"JOIN activity_tags t ON t.activity_id = a.id WHERE {live}",
        *[f"SELECT {keys}, 'materiel', '{code}', {n} {weighted} WHERE {live} "
          f"AND CAST(a.materiel AS TEXT) LIKE '%\"{code}\"%'" for code in MATERIEL],
    ]
    anonymous = ("FROM activities a JOIN participations p ON p.activity_id = a.id "
                 "JOIN beneficiaries b ON b.id = p.beneficiary_id "
                 f"WHERE {live} AND b.anonymous AND b.anonymised_at IS NULL")
    for dimension, value in (("genre", "coalesce(b.genre, 'non_communique')"),
                             ("age", "coalesce(b.tranche_age, 'non_communique')"),
                             ("statut", "coalesce(b.statut_social, 'non_communique_ou_heterogene')"),
                             ("residence", text.format("b.residence_commune_id"))):
        parts.append(f"SELECT {keys}, '{dimension}', CAST({value} AS VARCHAR), 1 {anonymous}")
    union = "\nUNION ALL\n".join(parts)
    profile = "b.anonymous, b.genre, b.birth_year, b.tranche_age, b.statut_social, b.residence_commune_id"
    op.execute(f"""
        INSERT INTO coop_rollups (structure_id, month, mediator_id, type, dimension, value, activities,
                                  accompaniments)
        SELECT structure_id, month, mediator_id, type, dimension, value, count(*), sum(n)
        FROM ({union}) r
        GROUP BY structure_id, month, mediator_id, type, dimension, value
        ORDER BY 1, 2, 3
    """)  # noqa: S608 (constant fragments only)
    op.execute(f"""
        INSERT INTO coop_person_rollups (structure_id, month, mediator_id, type, beneficiary_id, accompaniments,
                                         anonymous, genre, birth_year, tranche_age, statut_social,
                                         residence_commune_id)
        SELECT {keys}, p.beneficiary_id, count(*), {profile}
        FROM activities a JOIN participations p ON p.activity_id = a.id
        JOIN beneficiaries b ON b.id = p.beneficiary_id
        WHERE {live} AND NOT (b.anonymous AND b.anonymised_at IS NULL)
        GROUP BY a.structure_id, {month}, a.mediator_id, a.type, p.beneficiary_id, {profile}
        ORDER BY 1, 2, 3
    """)  # noqa: S608 (constant fragments only)
    if postgresql:
        op.execute("ANALYZE coop_rollups")
        op.execute("ANALYZE coop_person_rollups")


def downgrade():
    with op.batch_alter_table('coop_person_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_coop_person_rollups_month')
        batch_op.drop_index('ix_coop_person_rollups_mediator_month')
        batch_op.drop_index('ix_coop_person_rollups_beneficiary_id')
    op.drop_table('coop_person_rollups')
    with op.batch_alter_table('coop_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_coop_rollups_mediator_month')
    op.drop_table('coop_rollups')
