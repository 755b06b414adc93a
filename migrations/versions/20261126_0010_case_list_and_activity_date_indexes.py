"""case list and activity date indexes

The case list's order (cases in progress first, then by last change) served by an index per
structure and overall, so that a page is read in index order instead of sorting the whole scope;
activities by (date, id) for the coordinator and national activity lists.

The expression indexes (``state = 'clos'``) are not compared by autogenerate on SQLite (a warning
says so); they are declared on the model all the same.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 20:39:22.434807

"""
import sqlalchemy as sa
from alembic import op

import mediation.types  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_activities_date_id', 'activities', ['date', 'id'], unique=False)
    op.create_index('ix_cases_structure_closed_updated', 'cases',
                    ['structure_id', sa.text("(state = 'clos')"), sa.text('updated_at DESC'), sa.text('id DESC')],
                    unique=False)
    op.create_index('ix_cases_closed_updated', 'cases',
                    [sa.text("(state = 'clos')"), sa.text('updated_at DESC'), sa.text('id DESC')], unique=False)


def downgrade():
    op.drop_index('ix_cases_closed_updated', table_name='cases')
    op.drop_index('ix_cases_structure_closed_updated', table_name='cases')
    op.drop_index('ix_activities_date_id', table_name='activities')
