"""seats taken per (rule, step), kept by the booking for the slot listing

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('step_counts',
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('slot_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['availability_rules.id'], name=op.f('fk_step_counts_rule_id_availability_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('rule_id', 'slot_at', name=op.f('pk_step_counts'))
    )
    # the seats not held that are there already
    op.execute("INSERT INTO step_counts (rule_id, slot_at, taken) "
               "SELECT rule_id, slot_at, count(*) FROM appointment_seats "
               "WHERE held_until IS NULL GROUP BY rule_id, slot_at")


def downgrade():
    op.drop_table('step_counts')
