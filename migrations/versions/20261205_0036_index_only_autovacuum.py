"""Autovacuum keeps the visibility map of the tables read through index-only scans (PostgreSQL)

The statistics read the rollup tables, the profile index of the people counted once
(beneficiaries) and the unique key of participations from their indexes alone. PostgreSQL skips the
table only for the pages its visibility map marks « all visible »; every write clears that mark on
its page until a VACUUM sets it again. With the defaults (autovacuum after 20 % of a table's rows
changed, or inserted), a large table can stay unmarked for days of activity and each row read then
costs a table page too. These tables are now vacuumed after 1 % (storage parameters
autovacuum_vacuum_scale_factor and, from PostgreSQL 13, autovacuum_vacuum_insert_scale_factor), as
the models declare (mediation.types.INDEX_ONLY_AUTOVACUUM). Setting them takes no lock that blocks
reads or writes. SQLite: nothing.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-05 11:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None

TABLES = ('activity_rollups', 'activity_thematique_rollups', 'beneficiary_month_rollups', 'anonymous_profile_rollups',
          'activity_profile_rollups', 'coop_rollups', 'coop_person_rollups', 'beneficiaries', 'participations')
OPTIONS = {'autovacuum_vacuum_scale_factor': '0.01', 'autovacuum_vacuum_insert_scale_factor': '0.01'}
SINCE = {'autovacuum_vacuum_insert_scale_factor': 130000}  # server_version_num that knows the option


def _options() -> dict:
    version = int(op.get_bind().exec_driver_sql('SHOW server_version_num').scalar())
    return {name: value for name, value in OPTIONS.items() if version >= SINCE.get(name, 0)}


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    options = ', '.join(f'{name} = {value}' for name, value in _options().items())
    for table in TABLES:
        op.execute(f'ALTER TABLE {table} SET ({options})')


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    options = ', '.join(_options())
    for table in TABLES:
        op.execute(f'ALTER TABLE {table} RESET ({options})')
