"""Activities: the few live activities with equipment, by mediator

- ix_activities_live_equipped_mediator_date (mediator_id, date) WHERE deleted_at IS NULL AND
  equipment_kind IS NOT NULL: the « personnes équipées » indicators of a funder's programme that
  covers posts of mediators (alone or with places) read the equipped activities of those mediators.
  With the index by structure alone, PostgreSQL read every equipped activity of the period in the
  whole network and filtered them (at 10 million accompaniments, 44 500 rows and 29 000 heap pages
  for 1 800 kept: 140 ms of a programme's dashboard). With both, it reads the two indexes and only
  the activities they give.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-05 07:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None

EQUIPPED = 'deleted_at IS NULL AND equipment_kind IS NOT NULL'


def upgrade():
    op.create_index('ix_activities_live_equipped_mediator_date', 'activities', ['mediator_id', 'date'],
                    unique=False, postgresql_where=sa.text(EQUIPPED), sqlite_where=sa.text(EQUIPPED))


def downgrade():
    op.drop_index('ix_activities_live_equipped_mediator_date', table_name='activities',
                  postgresql_where=sa.text(EQUIPPED), sqlite_where=sa.text(EQUIPPED))
