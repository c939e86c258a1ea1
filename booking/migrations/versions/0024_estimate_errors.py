"""the estimator's error on closed days, summed per office, day and service
(estimate_errors), and the days replayed (estimate_days)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-22 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'estimate_days',
        sa.Column('office_id', sa.String(length=40), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(['office_id'], ['offices.id'], ondelete='CASCADE',
                                name=op.f('fk_estimate_days_office_id_offices')),
        sa.PrimaryKeyConstraint('office_id', 'day', name=op.f('pk_estimate_days')),
    )
    op.create_table(
        'estimate_errors',
        sa.Column('office_id', sa.String(length=40), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('service_id', sa.String(length=40), nullable=False),
        sa.Column('tickets', sa.Integer(), nullable=False),
        sa.Column('abs_error_sum', sa.Double(), nullable=False),
        sa.Column('error_sum', sa.Double(), nullable=False),
        sa.Column('within_5', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['office_id'], ['offices.id'], ondelete='CASCADE',
                                name=op.f('fk_estimate_errors_office_id_offices')),
        sa.ForeignKeyConstraint(['service_id'], ['services.id'], ondelete='CASCADE',
                                name=op.f('fk_estimate_errors_service_id_services')),
        sa.PrimaryKeyConstraint('office_id', 'day', 'service_id',
                                name=op.f('pk_estimate_errors')),
    )


def downgrade():
    op.drop_table('estimate_errors')
    op.drop_table('estimate_days')
