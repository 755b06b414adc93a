"""Rollups: (mediator, month) indexes that carry the rest of the cell (PostgreSQL)

The (mediator_id, month) indexes of activity_thematique_rollups, beneficiary_month_rollups,
anonymous_profile_rollups and activity_profile_rollups are rebuilt with INCLUDE (the structure,
the other key columns and the summed columns), as the primary keys were by 0033. A funder's
programme of places and posts reads the cells of its places from the primary key and those of its
posts outside its places from this index: both without touching the tables (index-only scans).
Read together with an OR, the two indexes could only be combined into a bitmap that read one table
page per row: at 10 million accompaniments, the thématiques of a territorial programme read 16,500
pages (49 ms) and now 4,300 index pages (8 ms). Same key columns, same name. SQLite has no INCLUDE:
nothing changes there.

Each index is built again while its table is locked against writes: a few seconds in all at
10 million accompaniments (see docs/operations.md).

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-05 09:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None

INCLUDED = {
    'activity_thematique_rollups': ('structure_id', 'type', 'code', 'activities', 'accompaniments'),
    'beneficiary_month_rollups': ('structure_id', 'beneficiary_id', 'accompaniments'),
    'anonymous_profile_rollups': ('structure_id', 'genre', 'tranche_age', 'statut_social', 'commune_id',
                                  'accompaniments'),
    'activity_profile_rollups': ('structure_id', 'type', 'place_type', 'duration', 'activities', 'accompaniments',
                                 'autonomie_given', 'materiel_given'),
}


def _rebuild(include: bool):
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, included in INCLUDED.items():
        name = f'ix_{table}_mediator_month'
        op.drop_index(name, table_name=table)
        op.create_index(name, table, ['mediator_id', 'month'], unique=False,
                        postgresql_include=list(included) if include else [])


def upgrade():
    _rebuild(include=True)


def downgrade():
    _rebuild(include=False)
