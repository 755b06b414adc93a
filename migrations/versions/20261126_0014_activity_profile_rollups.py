"""activity profile rollups

The impact dashboard's breakdowns by canal and by duration, its hours and the filled shares of an
individual session's optional fields read ``activity_profile_rollups`` (activities per structure,
month, mediator, type, canal and exact duration) instead of every activity of the scope; filled here
from the existing activities, in key order; mediation.stats.rollups keeps it exact afterwards.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 23:05:00

"""
import sqlalchemy as sa
from alembic import op

import mediation.types  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'activity_profile_rollups',
        sa.Column('structure_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('mediator_id', sa.Integer(), nullable=False),
        sa.Column('type', sa.Enum('individuel', 'collectif', name='activitytype', native_enum=False,
                                  create_constraint=False, length=40), nullable=False),
        sa.Column('place_type', sa.Enum('lieu_activite', 'autre', 'domicile', 'a_distance', name='placetype',
                                        native_enum=False, create_constraint=False, length=40), nullable=False),
        sa.Column('duration', sa.Integer(), nullable=False),
        sa.Column('activities', sa.Integer(), nullable=False),
        sa.Column('accompaniments', sa.Integer(), nullable=False),
        sa.Column('autonomie_given', sa.Integer(), nullable=False),
        sa.Column('materiel_given', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('structure_id', 'month', 'mediator_id', 'type', 'place_type', 'duration',
                                name=op.f('pk_activity_profile_rollups')),
    )
    with op.batch_alter_table('activity_profile_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_activity_profile_rollups_mediator_month', ['mediator_id', 'month'], unique=False)
    fill_from_existing_activities()


def fill_from_existing_activities():
    """The same aggregate as mediation.stats.rollups.aggregate_selects, frozen here in SQL."""
    if op.get_bind().dialect.name == "postgresql":
        month = "CAST(date_trunc('month', a.date) AS DATE)"
    else:
        month = "date(a.date, 'start of month')"
    op.execute(f"""
        INSERT INTO activity_profile_rollups (structure_id, month, mediator_id, type, place_type, duration, activities,
                                              accompaniments, autonomie_given, materiel_given)
        SELECT a.structure_id, {month}, a.mediator_id, a.type, a.place_type, a.duration_min, count(*),
               coalesce(sum(a.participants_count), 0),
               sum(CASE WHEN a.autonomie IS NOT NULL THEN 1 ELSE 0 END),
               sum(CASE WHEN json_array_length(a.materiel) > 0 THEN 1 ELSE 0 END)
        FROM activities a
        WHERE a.deleted_at IS NULL
        GROUP BY a.structure_id, {month}, a.mediator_id, a.type, a.place_type, a.duration_min
        ORDER BY 1, 2, 3
    """)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE activity_profile_rollups")


def downgrade():
    with op.batch_alter_table('activity_profile_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_profile_rollups_mediator_month')
    op.drop_table('activity_profile_rollups')
