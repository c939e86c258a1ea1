"""outbox rows rendered by the sender: payload, nullable message and subject

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payload', sa.JSON(), nullable=True))
        batch_op.alter_column('subject', existing_type=sa.String(length=300), nullable=True)
        batch_op.alter_column('message', existing_type=sa.LargeBinary(), nullable=True)


def downgrade():
    # Rows still waiting to be rendered have no message the old code could send.
    pending = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM outbox_messages WHERE message IS NULL"))
    if pending:
        raise RuntimeError(
            f"{pending} outbox messages are not rendered yet: run 'flask outbox send' "
            "until they are sent or failed, then downgrade")
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('message', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column('subject', existing_type=sa.String(length=300), nullable=False)
        batch_op.drop_column('payload')
