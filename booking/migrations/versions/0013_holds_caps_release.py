"""seat holds (double opt-in, release delay), the normalised email of appointments for
the cap per person, and the offices' fairness settings

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from booking.fairness.emails import normalise_email


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

OLD_STATUSES = "status in ('confirmed', 'cancelled', 'arrived', 'no_show')"
NEW_STATUSES = "status in ('held', 'confirmed', 'cancelled', 'arrived', 'no_show')"


def upgrade():
    with op.batch_alter_table('appointment_seats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_appointment_seats_held', ['rule_id', 'slot_at', 'held_until'],
                              unique=False,
                              postgresql_where=sa.text('held_until is not null'),
                              sqlite_where=sa.text('held_until is not null'))

    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_key', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('held_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_appointments_status_known'), type_='check')
        batch_op.create_check_constraint('status_known', NEW_STATUSES)
        batch_op.create_check_constraint('held_until_set',
                                         "(status = 'held') = (held_until is not null)")
        batch_op.create_index(batch_op.f('ix_appointments_email_key'), ['email_key'],
                              unique=False)

    # the same normalisation as new bookings (booking.fairness.emails), in Python
    conn = op.get_bind()
    appointments = sa.table('appointments', sa.column('id', sa.Integer),
                            sa.column('email', sa.String), sa.column('email_key', sa.String))
    rows = conn.execute(sa.select(appointments.c.id, appointments.c.email)
                        .where(appointments.c.email.is_not(None))).all()
    if rows:
        conn.execute(appointments.update().where(appointments.c.id == sa.bindparam('row_id'))
                     .values(email_key=sa.bindparam('key')),
                     [{'row_id': id_, 'key': normalise_email(email)} for id_, email in rows])

    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_active_per_email', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('opt_in_hold_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('release_delay_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('release_time', sa.Time(), nullable=True))
        batch_op.create_check_constraint(
            'max_active_per_email_positive',
            'max_active_per_email is null or max_active_per_email >= 1')
        batch_op.create_check_constraint(
            'opt_in_hold_range',
            'opt_in_hold_minutes is null or opt_in_hold_minutes between 0 and 1440')
        batch_op.create_check_constraint(
            'release_delay_range',
            'release_delay_minutes is null or release_delay_minutes between 0 and 10080')
    op.execute("UPDATE offices SET max_active_per_email = 2, release_delay_minutes = 10")


def downgrade():
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_offices_release_delay_range'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_offices_opt_in_hold_range'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_offices_max_active_per_email_positive'),
                                 type_='check')
        batch_op.drop_column('release_time')
        batch_op.drop_column('release_delay_minutes')
        batch_op.drop_column('opt_in_hold_minutes')
        batch_op.drop_column('max_active_per_email')

    # held appointments were never confirmed: they lapse; held seats are free again
    op.execute("DELETE FROM appointment_seats WHERE held_until IS NOT NULL")
    op.execute("UPDATE appointments SET status = 'cancelled', held_until = NULL, "
               "cancelled_at = COALESCE(cancelled_at, updated_at) WHERE status = 'held'")
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointments_email_key'))
        batch_op.drop_constraint(batch_op.f('ck_appointments_held_until_set'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_appointments_status_known'), type_='check')
        batch_op.create_check_constraint('status_known', OLD_STATUSES)
        batch_op.drop_column('held_until')
        batch_op.drop_column('email_key')

    with op.batch_alter_table('appointment_seats', schema=None) as batch_op:
        batch_op.drop_index('ix_appointment_seats_held')
        batch_op.drop_column('held_until')
