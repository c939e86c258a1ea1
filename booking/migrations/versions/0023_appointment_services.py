"""appointments for several services and persons: appointment_services (every existing
appointment gets one line: its service, one person), the time per further person, the
offices' limits and which services may be combined

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-21 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'appointment_services',
        sa.Column('appointment_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.String(length=40), nullable=False),
        sa.Column('persons', sa.Integer(), nullable=False),
        sa.CheckConstraint('persons between 1 and 20',
                           name=op.f('ck_appointment_services_persons_range')),
        sa.CheckConstraint('position >= 0',
                           name=op.f('ck_appointment_services_position_nonneg')),
        sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], ondelete='CASCADE',
                                name=op.f('fk_appointment_services_appointment_id_appointments')),
        sa.ForeignKeyConstraint(['service_id'], ['services.id'],
                                name=op.f('fk_appointment_services_service_id_services')),
        sa.PrimaryKeyConstraint('appointment_id', 'position',
                                name=op.f('pk_appointment_services')),
        sa.UniqueConstraint('appointment_id', 'service_id',
                            name='uq_appointment_services_service'),
    )
    with op.batch_alter_table('appointment_services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_services_service_id'), ['service_id'],
                              unique=False)
    op.execute("insert into appointment_services (appointment_id, position, service_id, persons) "
               "select id, 0, service_id, 1 from appointments")
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('further_person_minutes', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            'further_person_range',
            'further_person_minutes is null or further_person_minutes between 0 and 480')
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_persons', sa.Integer(), nullable=False,
                                      server_default='6'))
        batch_op.add_column(sa.Column('max_services', sa.Integer(), nullable=False,
                                      server_default='5'))
        batch_op.create_check_constraint('max_persons_range', 'max_persons between 1 and 20')
        batch_op.create_check_constraint('max_services_range', 'max_services between 1 and 10')
    with op.batch_alter_table('office_services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('combinable', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))


def downgrade():
    with op.batch_alter_table('office_services', schema=None) as batch_op:
        batch_op.drop_column('combinable')
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_offices_max_services_range'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_offices_max_persons_range'), type_='check')
        batch_op.drop_column('max_services')
        batch_op.drop_column('max_persons')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_services_further_person_range'), type_='check')
        batch_op.drop_column('further_person_minutes')
    op.drop_table('appointment_services')
