"""drop booking_config_version and its triggers: bookings read the configuration afresh
and are ordered against closures and rule changes by a lock on the office's row

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 03:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLES = ("offices", "services", "office_services", "availability_rules", "rule_services",
          "closures")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS bump_booking_config_version ON {table}")
    op.execute("DROP FUNCTION IF EXISTS bump_booking_config_version()")
    op.execute("DROP TABLE IF EXISTS booking_config_version")


def downgrade():
    # as revision 0007 made them
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE booking_config_version ("
               " id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),"
               " version bigint NOT NULL DEFAULT 0)")
    op.execute("INSERT INTO booking_config_version (id, version) VALUES (1, 0)")
    op.execute("CREATE FUNCTION bump_booking_config_version() RETURNS trigger"
               " LANGUAGE plpgsql AS $$ BEGIN"
               " UPDATE booking_config_version SET version = version + 1 WHERE id = 1;"
               " RETURN NULL; END $$")
    for table in TABLES:
        op.execute(f"CREATE TRIGGER bump_booking_config_version"
                   f" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
                   f" FOR EACH STATEMENT EXECUTE FUNCTION bump_booking_config_version()")
