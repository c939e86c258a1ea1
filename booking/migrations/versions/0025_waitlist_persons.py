"""waitlist wishes for several persons: waitlist_wishes.persons (1 for every wish so far)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-23 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('waitlist_wishes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('persons', sa.Integer(), nullable=False,
                                      server_default='1'))
        batch_op.create_check_constraint('persons_range', 'persons between 1 and 20')


def downgrade():
    with op.batch_alter_table('waitlist_wishes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_waitlist_wishes_persons_range'), type_='check')
        batch_op.drop_column('persons')
