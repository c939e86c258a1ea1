"""counter names become labels: every screen adds the word "Schalter"/"Counter" itself,
so names like "Schalter 1" lose that word (else pages read "Schalter Schalter 1")

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 05:30:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# the word for "counter" in the app's languages at the time of this revision
WORDS = ("schalter", "counter")

counters = sa.table("counters", sa.column("id", sa.Integer), sa.column("name", sa.String))


def label_of(name: str) -> str:
    """"Schalter 1" -> "1"; a name that is only the word, or has no such word, stays."""
    first, _, rest = name.strip().partition(" ")
    rest = rest.strip()
    return rest if first.casefold() in WORDS and rest else name


def upgrade():
    bind = op.get_bind()
    for counter_id, name in bind.execute(sa.select(counters.c.id, counters.c.name)).all():
        label = label_of(name)
        if label != name:
            bind.execute(counters.update().where(counters.c.id == counter_id)
                         .values(name=label))


def downgrade():
    # Earlier revisions' screens also put the word before the name: labels read right there.
    pass
