"""proof of work (ALTCHA): challenges used once; API keys an office issues to a trusted
portal

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('spent_challenges',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('bound_to', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_spent_challenges'))
    )
    with op.batch_alter_table('spent_challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_spent_challenges_expires_at'), ['expires_at'], unique=False)
    op.create_table('portal_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_portal_keys_office_id_offices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_portal_keys_key_hash'))
    )
    with op.batch_alter_table('portal_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_keys_office_id'), ['office_id'], unique=False)


def downgrade():
    with op.batch_alter_table('portal_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_keys_office_id'))
    op.drop_table('portal_keys')
    with op.batch_alter_table('spent_challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spent_challenges_expires_at'))
    op.drop_table('spent_challenges')
