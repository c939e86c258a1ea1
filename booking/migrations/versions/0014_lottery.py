"""lottery release: lotteries of new capacity, the offices taking part, the entries
(one per normalised email)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lotteries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.String(length=40), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=True),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entries_count', sa.Integer(), nullable=False),
    sa.Column('verified_count', sa.Integer(), nullable=False),
    sa.Column('seats_count', sa.Integer(), nullable=False),
    sa.Column('winners_count', sa.Integer(), nullable=False),
    sa.CheckConstraint('last_day >= first_day', name=op.f('ck_lotteries_day_order')),
    sa.CheckConstraint('closes_at > opens_at', name=op.f('ck_lotteries_window_order')),
    sa.CheckConstraint("status in ('open', 'drawn')", name=op.f('ck_lotteries_status_known')),
    sa.CheckConstraint("status = 'open' or (seed is not null and drawn_at is not null)",
                       name=op.f('ck_lotteries_drawn_has_seed')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_lotteries_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lotteries'))
    )
    with op.batch_alter_table('lotteries', schema=None) as batch_op:
        batch_op.create_index('ix_lotteries_service_status', ['service_id', 'status'], unique=False)
        batch_op.create_index('ix_lotteries_status_closes', ['status', 'closes_at'], unique=False)

    op.create_table('lottery_offices',
    sa.Column('lottery_id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['lottery_id'], ['lotteries.id'], name=op.f('fk_lottery_offices_lottery_id_lotteries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_lottery_offices_office_id_offices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('lottery_id', 'office_id', name=op.f('pk_lottery_offices'))
    )

    op.create_table('lottery_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lottery_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('email_key', sa.String(length=254), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('offices', sa.String(length=500), nullable=False),
    sa.Column('weekdays', sa.String(length=7), nullable=False),
    sa.Column('times', sa.String(length=60), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=4), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("language in ('de', 'en')", name=op.f('ck_lottery_entries_language_known')),
    sa.CheckConstraint("outcome is null or outcome in ('won', 'lost')", name=op.f('ck_lottery_entries_outcome_known')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_lottery_entries_appointment_id_appointments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lottery_id'], ['lotteries.id'], name=op.f('fk_lottery_entries_lottery_id_lotteries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lottery_entries')),
    sa.UniqueConstraint('lottery_id', 'email_key', name='uq_lottery_entries_person'),
    sa.UniqueConstraint('token_hash', name=op.f('uq_lottery_entries_token_hash'))
    )
    with op.batch_alter_table('lottery_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lottery_entries_lottery_id'), ['lottery_id'], unique=False)


def downgrade():
    with op.batch_alter_table('lottery_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lottery_entries_lottery_id'))
    op.drop_table('lottery_entries')
    op.drop_table('lottery_offices')
    with op.batch_alter_table('lotteries', schema=None) as batch_op:
        batch_op.drop_index('ix_lotteries_status_closes')
        batch_op.drop_index('ix_lotteries_service_status')
    op.drop_table('lotteries')
