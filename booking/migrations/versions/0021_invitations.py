"""proactive invitations: invitations, opt-outs and their monthly counts; weeks before
the due date and the default language of invitations per office

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.String(length=40), nullable=False),
    sa.Column('service_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('email_key', sa.String(length=254), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("language in ('de', 'en')", name=op.f('ck_invitations_language_known')),
    sa.CheckConstraint("status in ('pending', 'sent', 'booked', 'declined', 'opted_out')", name=op.f('ck_invitations_status_known')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_invitations_appointment_id_appointments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_invitations_office_id_offices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_invitations_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations'))
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index('ix_invitations_office_created', ['office_id', 'created_at'], unique=False)
        batch_op.create_index('ix_invitations_status_due', ['status', 'due_date'], unique=False)
        batch_op.create_index('uq_invitations_person_service_due', ['email_key', 'service_id', 'due_date'], unique=True)

    op.create_table('invitation_opt_outs',
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key_hash', name=op.f('pk_invitation_opt_outs'))
    )
    op.create_table('invitation_stats',
    sa.Column('office_id', sa.String(length=40), nullable=False),
    sa.Column('service_id', sa.String(length=40), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('booked', sa.Integer(), nullable=False),
    sa.Column('declined', sa.Integer(), nullable=False),
    sa.Column('opted_out', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_invitation_stats_office_id_offices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_invitation_stats_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('office_id', 'service_id', 'month', name=op.f('pk_invitation_stats'))
    )
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invitation_weeks', sa.Integer(), server_default='6', nullable=False))
        batch_op.add_column(sa.Column('invitation_language', sa.String(length=2), server_default='de', nullable=False))
        batch_op.create_check_constraint(op.f('ck_offices_invitation_weeks_range'),
                                         'invitation_weeks between 1 and 26')
        batch_op.create_check_constraint(op.f('ck_offices_invitation_language_known'),
                                         "invitation_language in ('de', 'en')")


def downgrade():
    with op.batch_alter_table('offices', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_offices_invitation_language_known'), type_='check')
        batch_op.drop_constraint(op.f('ck_offices_invitation_weeks_range'), type_='check')
        batch_op.drop_column('invitation_language')
        batch_op.drop_column('invitation_weeks')

    op.drop_table('invitation_stats')
    op.drop_table('invitation_opt_outs')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index('uq_invitations_person_service_due')
        batch_op.drop_index('ix_invitations_status_due')
        batch_op.drop_index('ix_invitations_office_created')

    op.drop_table('invitations')
