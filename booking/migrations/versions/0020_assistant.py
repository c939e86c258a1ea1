"""service assistant: FAQ entries per town or office; the full-text index of services,
offices and FAQ entries (SQLite: an FTS5 virtual table; PostgreSQL: a table with a GIN
index on its tsvector)

Revision ID: 0020
Revises: 0019
Create Date: 2027-01-10 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('faq_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.String(length=40), nullable=True),
    sa.Column('question_de', sa.String(length=300), nullable=False),
    sa.Column('answer_de', sa.String(), nullable=False),
    sa.Column('question_en', sa.String(length=300), nullable=False),
    sa.Column('answer_en', sa.String(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], name=op.f('fk_faq_entries_office_id_offices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_entries'))
    )
    with op.batch_alter_table('faq_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_faq_entries_office_id'), ['office_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("create table assistant_documents (doc_key varchar(60) primary key, "
                   "name text not null, body text not null)")
        op.execute("create index ix_assistant_documents_terms on assistant_documents using gin "
                   "(to_tsvector('simple', name || ' ' || body))")
    else:
        op.execute("create virtual table assistant_documents using fts5("
                   "doc_key unindexed, name, body, tokenize = 'unicode61 remove_diacritics 2')")


def downgrade():
    op.execute("drop table assistant_documents")
    with op.batch_alter_table('faq_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_faq_entries_office_id'))
    op.drop_table('faq_entries')
