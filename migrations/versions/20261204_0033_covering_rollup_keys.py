"""Rollups: primary keys that carry the summed columns (PostgreSQL)

The primary keys of activity_thematique_rollups, activity_profile_rollups,
beneficiary_month_rollups and anonymous_profile_rollups are rebuilt with INCLUDE (their summed
columns): the impact dashboard and « Statistiques » of a territory read tens of thousands of these
rows per table, one heap page per row (the rows of a structure's month are scattered among those of
every other structure of that month); from the key alone they read a few hundred pages. Same key,
same rows. SQLite has no INCLUDE: nothing changes there.

The key is rebuilt under an exclusive lock of each table: about 10 seconds in all at 10 million
accompaniments (see docs/operations.md).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04 22:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

KEYS = {
    'activity_thematique_rollups': (('structure_id', 'month', 'mediator_id', 'type', 'code'),
                                    ('activities', 'accompaniments')),
    'activity_profile_rollups': (('structure_id', 'month', 'mediator_id', 'type', 'place_type', 'duration'),
                                 ('activities', 'accompaniments', 'autonomie_given', 'materiel_given')),
    'beneficiary_month_rollups': (('structure_id', 'month', 'mediator_id', 'beneficiary_id'), ('accompaniments',)),
    'anonymous_profile_rollups': (('structure_id', 'month', 'mediator_id', 'genre', 'tranche_age', 'statut_social',
                                   'commune_id'), ('accompaniments',)),
}


def _rebuild(include: bool):
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, (key, included) in KEYS.items():
        extra = f" INCLUDE ({', '.join(included)})" if include else ''
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}, "
                   f"ADD CONSTRAINT pk_{table} PRIMARY KEY ({', '.join(key)}){extra}")


def upgrade():
    _rebuild(include=True)


def downgrade():
    _rebuild(include=False)
