"""statistics: who cancelled an appointment (citizen or office), kept after the purge

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_by', sa.String(length=8), nullable=True))
        batch_op.create_check_constraint(
            'cancelled_by_known', "cancelled_by is null or cancelled_by in ('citizen', 'office')")
    # earlier cancellations: the office's are in the audit log, the others were the citizen's
    op.execute("""
        update appointments set cancelled_by = case when exists (
            select 1 from audit_entries a where a.entity = 'appointment'
            and a.action = 'appointment.cancelled'
            and a.entity_id = cast(appointments.id as varchar(40)))
          then 'office' else 'citizen' end
        where status = 'cancelled'
    """)


def downgrade():
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_constraint('cancelled_by_known', type_='check')
        batch_op.drop_column('cancelled_by')
