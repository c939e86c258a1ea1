"""appointment reminders (sent once; a second manage token for their link); waitlist
wishes, offers and their counts; reminder hours and offer hold time per office

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('waitlist_stats',
    sa.Column('office_id', sa.String(length=40), nullable=False),
    sa.Column('service_id', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('offered', sa.Integer(), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.Column('expired', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_waitlist_stats_office_id_offices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_waitlist_stats_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('office_id', 'service_id', 'day', name=op.f('pk_waitlist_stats'))
    )
    op.create_table('waitlist_wishes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.String(length=40), nullable=False),
    sa.Column('weekdays', sa.String(length=7), nullable=False),
    sa.Column('from_time', sa.Time(), nullable=False),
    sa.Column('until_time', sa.Time(), nullable=False),
    sa.Column('until_date', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("language in ('de', 'en')", name=op.f('ck_waitlist_wishes_language_known')),
    sa.CheckConstraint("status in ('active', 'withdrawn', 'taken', 'ended')", name=op.f('ck_waitlist_wishes_status_known')),
    sa.CheckConstraint('until_time > from_time', name=op.f('ck_waitlist_wishes_window_order')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_waitlist_wishes_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_wishes'))
    )
    with op.batch_alter_table('waitlist_wishes', schema=None) as batch_op:
        batch_op.create_index('ix_waitlist_wishes_service_status', ['service_id', 'status', 'created_at'], unique=False)

    op.create_table('waitlist_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wish_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.String(length=40), nullable=False),
    sa.Column('service_id', sa.String(length=40), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status in ('offered', 'taken', 'expired', 'withdrawn')", name=op.f('ck_waitlist_offers_status_known')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_waitlist_offers_appointment_id_appointments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_waitlist_offers_office_id_offices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_waitlist_offers_service_id_services'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['wish_id'], ['waitlist_wishes.id'], name=op.f('fk_waitlist_offers_wish_id_waitlist_wishes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_offers'))
    )
    with op.batch_alter_table('waitlist_offers', schema=None) as batch_op:
        batch_op.create_index('ix_waitlist_offers_status_expires', ['status', 'expires_at'], unique=False)
        batch_op.create_index('uq_waitlist_offers_open_start', ['office_id', 'service_id', 'start_at'], unique=True, sqlite_where=sa.text("status = 'offered'"), postgresql_where=sa.text("status = 'offered'"))
        batch_op.create_index('uq_waitlist_offers_open_wish', ['wish_id'], unique=True, sqlite_where=sa.text("status = 'offered'"), postgresql_where=sa.text("status = 'offered'"))

    op.create_table('waitlist_wish_offices',
    sa.Column('wish_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_waitlist_wish_offices_office_id_offices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['wish_id'], ['waitlist_wishes.id'], name=op.f('fk_waitlist_wish_offices_wish_id_waitlist_wishes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('wish_id', 'office_id', name=op.f('pk_waitlist_wish_offices'))
    )
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_queued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminder_token_hash', sa.String(length=64), nullable=True))

    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_hours', sa.Integer(), server_default='24', nullable=False))
        batch_op.add_column(sa.Column('waitlist_hold_minutes', sa.Integer(), server_default='120', nullable=False))
        batch_op.create_check_constraint(op.f('ck_offices_reminder_hours_range'),
                                         'reminder_hours between 0 and 168')
        batch_op.create_check_constraint(op.f('ck_offices_waitlist_hold_range'),
                                         'waitlist_hold_minutes between 5 and 1440')



def downgrade():
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_offices_waitlist_hold_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_offices_reminder_hours_range'), type_='check')
        batch_op.drop_column('waitlist_hold_minutes')
        batch_op.drop_column('reminder_hours')

    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_column('reminder_token_hash')
        batch_op.drop_column('reminder_queued_at')

    op.drop_table('waitlist_wish_offices')
    with op.batch_alter_table('waitlist_offers', schema=None) as batch_op:
        batch_op.drop_index('uq_waitlist_offers_open_wish', sqlite_where=sa.text("status = 'offered'"), postgresql_where=sa.text("status = 'offered'"))
        batch_op.drop_index('uq_waitlist_offers_open_start', sqlite_where=sa.text("status = 'offered'"), postgresql_where=sa.text("status = 'offered'"))
        batch_op.drop_index('ix_waitlist_offers_status_expires')

    op.drop_table('waitlist_offers')
    with op.batch_alter_table('waitlist_wishes', schema=None) as batch_op:
        batch_op.drop_index('ix_waitlist_wishes_service_status')

    op.drop_table('waitlist_wishes')
    op.drop_table('waitlist_stats')
