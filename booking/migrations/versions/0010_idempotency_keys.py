"""idempotency_keys: a repeated booking request (double click, reload, API retry with the
same Idempotency-Key) gets the first booking again

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'idempotency_keys',
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('appointment_id', sa.Integer(), nullable=False),
        sa.Column('sealed_token', sa.String(length=128), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'],
                                name=op.f('fk_idempotency_keys_appointment_id_appointments'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('key_hash', name=op.f('pk_idempotency_keys')),
        sa.UniqueConstraint('appointment_id', name=op.f('uq_idempotency_keys_appointment_id')),
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_created_at'), ['created_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_created_at'))
    op.drop_table('idempotency_keys')
