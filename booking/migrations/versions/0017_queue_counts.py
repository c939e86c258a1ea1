"""walk-in queue: indexes so that drawing, calling and a ticket's position cost the same
however many wait (call order by arrival, due appointments, pending reminders, recent
service times)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

DUE = sa.text("due_at is not null")
ASKED = sa.text("notify_email is not null")


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_queue', ['office_id', 'day', 'status', 'arrived_at', 'id'])
        batch_op.create_index('ix_tickets_due', ['office_id', 'day', 'status', 'due_at'],
                              postgresql_where=DUE, sqlite_where=DUE)
        batch_op.create_index('ix_tickets_reminder_asked', ['office_id', 'day'],
                              postgresql_where=ASKED, sqlite_where=ASKED)
        batch_op.create_index('ix_tickets_service_finished',
                              ['office_id', 'service_id', 'status', 'finished_at'])


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_service_finished')
        batch_op.drop_index('ix_tickets_reminder_asked')
        batch_op.drop_index('ix_tickets_due')
        batch_op.drop_index('ix_tickets_queue')
