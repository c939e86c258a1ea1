"""booking_config_version: a number PostgreSQL raises on every change to what a booking
reads besides the seats (offices, services, their offer, rules, closures)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 11:40:00.000000

A worker may keep an office's booking configuration in memory and book against it when
the booking statement finds the same number (booking.scheduling.queries). PostgreSQL
only: SQLite deployments read the configuration on every booking.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

TABLES = ("offices", "services", "office_services", "availability_rules", "rule_services",
          "closures")


def upgrade():
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


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER bump_booking_config_version ON {table}")
    op.execute("DROP FUNCTION bump_booking_config_version()")
    op.execute("DROP TABLE booking_config_version")
