"""office information for the public office page: public transport and accessibility
texts (German, English), step-free access, coordinates for an OpenStreetMap link

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-10 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transport_de', sa.String(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('transport_en', sa.String(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('accessibility_de', sa.String(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('accessibility_en', sa.String(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('step_free', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('latitude', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('longitude', sa.Double(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_offices_latitude_range'), 'latitude is null or latitude between -90 and 90')
        batch_op.create_check_constraint(
            op.f('ck_offices_longitude_range'),
            'longitude is null or longitude between -180 and 180')
        batch_op.create_check_constraint(
            op.f('ck_offices_coordinates_paired'),
            '(latitude is null and longitude is null) or '
            '(latitude is not null and longitude is not null)')


def downgrade():
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_offices_coordinates_paired'), type_='check')
        batch_op.drop_constraint(op.f('ck_offices_longitude_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_offices_latitude_range'), type_='check')
        batch_op.drop_column('longitude')
        batch_op.drop_column('latitude')
        batch_op.drop_column('step_free')
        batch_op.drop_column('accessibility_en')
        batch_op.drop_column('accessibility_de')
        batch_op.drop_column('transport_en')
        batch_op.drop_column('transport_de')
