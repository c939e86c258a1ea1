"""staff sessions on the server (logout ends every copy of the cookie; idle and absolute
lifetime) instead of a per-user nonce; one reminder per ticket

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 05:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_sessions',
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staff_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key_hash', name=op.f('pk_staff_sessions'))
    )
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_sessions_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_nonce')
    # throttle keys are hashes now (account and client, client); old counters expire anyway
    op.execute("DELETE FROM login_failures")

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_asked_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE tickets SET reminder_asked_at = COALESCE(notified_at, arrived_at) "
               "WHERE notify_email IS NOT NULL OR notified_at IS NOT NULL")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f('ck_tickets_reminder_asked_once'),
            "reminder_asked_at is not null or (notify_email is null and notified_at is null)")


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tickets_reminder_asked_once'), type_='check')
        batch_op.drop_column('reminder_asked_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_nonce', sa.String(length=32), nullable=False,
                                      server_default=''))
    op.execute("UPDATE users SET session_nonce = 'reset-' || id")
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_sessions_user_id'))
    op.drop_table('staff_sessions')
