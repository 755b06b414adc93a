"""communes reference and national schema 1.0.2

Communes: ``territory_id`` becomes nullable (a commune outside every territory, stored when an import
names it as a residence or a place, belongs to no territory scope) and ``postal_codes`` lists all the
postal codes of a commune (Rouen: 76000 and 76100), filled here from the single ``postal_code``.

Structures: the columns of the national schema v1.0.2 not yet stored (presentation_detail, source,
structure_parente, formations_labels, autres_formations_labels, fiche_acces_libre); ``site_web`` may
hold several addresses separated by « | ».

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 16:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('communes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('postal_codes', sa.JSON(), nullable=True))
        batch_op.alter_column('territory_id', existing_type=sa.Integer(), nullable=True)
    communes = sa.table('communes', sa.column('id', sa.Integer()), sa.column('postal_code', sa.String()),
                        sa.column('postal_codes', sa.JSON()))
    connection = op.get_bind()
    for commune_id, postal_code in connection.execute(sa.select(communes.c.id, communes.c.postal_code)).all():
        connection.execute(communes.update().where(communes.c.id == commune_id)
                           .values(postal_codes=[postal_code] if postal_code else []))

    with op.batch_alter_table('structures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('presentation_detail', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('structure_parente', sa.String(length=250), nullable=True))
        batch_op.add_column(sa.Column('formations_labels', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('autres_formations_labels', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('fiche_acces_libre', sa.String(length=300), nullable=True))
        batch_op.alter_column('site_web', existing_type=sa.String(length=300), type_=sa.String(length=1000))
    structures = sa.table('structures', sa.column('formations_labels', sa.JSON()))
    connection.execute(structures.update().values(formations_labels=[]))
    with op.batch_alter_table('structures', schema=None) as batch_op:
        batch_op.alter_column('formations_labels', existing_type=sa.JSON(), nullable=False)


def downgrade():
    connection = op.get_bind()
    structures = sa.table('structures', sa.column('site_web', sa.String()))
    # Several addresses: the first one is kept (the column held one before).
    for (site_web,) in connection.execute(sa.select(structures.c.site_web).distinct()).all():
        if site_web and (len(site_web) > 300 or "|" in site_web):
            connection.execute(structures.update().where(structures.c.site_web == site_web)
                               .values(site_web=site_web.split("|")[0].strip()[:300]))
    with op.batch_alter_table('structures', schema=None) as batch_op:
        batch_op.alter_column('site_web', existing_type=sa.String(length=1000), type_=sa.String(length=300))
        batch_op.drop_column('fiche_acces_libre')
        batch_op.drop_column('autres_formations_labels')
        batch_op.drop_column('formations_labels')
        batch_op.drop_column('structure_parente')
        batch_op.drop_column('source')
        batch_op.drop_column('presentation_detail')

    # Communes outside every territory cannot exist before this revision: those no row refers to are
    # removed; the downgrade stops if a residence, place or structure still names one.
    communes = sa.table('communes', sa.column('id', sa.Integer()), sa.column('territory_id', sa.Integer()))
    outside = connection.execute(sa.select(sa.func.count()).select_from(communes)
                                 .where(communes.c.territory_id.is_(None))).scalar()
    if outside:
        connection.execute(communes.delete().where(communes.c.territory_id.is_(None)))
    with op.batch_alter_table('communes', schema=None) as batch_op:
        batch_op.alter_column('territory_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('postal_codes')
