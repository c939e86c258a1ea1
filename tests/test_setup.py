"""Schema migrations, demo data and configuration, as an operator uses them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time

import pytest
from sqlalchemy import func, select

from booking import demo
from booking.config import ConfigError, load_config
from booking.offices.models import AvailabilityRule, Closure, Counter, Office, Service
from tests.server import ROOT, flask_cli


def test_db_upgrade_on_an_empty_database_matches_the_models(empty_database_url, tmp_path):
    upgraded = flask_cli(empty_database_url, tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    check = flask_cli(empty_database_url, tmp_path, "db", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr
    seeded = flask_cli(empty_database_url, tmp_path, "seed-demo")
    assert seeded.returncode == 0 and "2 offices" in seeded.stdout, seeded.stderr


def test_a_production_install_seeds_the_town_without_staff(empty_database_url, tmp_path):
    """The demo staff accounts (published passwords): BOOKING_ENV decides, through the
    app's configuration (tests/test_demo.py has the rest)."""
    env = {"BOOKING_ENV": "production", "SECRET_KEY": "x" * 32}
    assert flask_cli(empty_database_url, tmp_path, "db", "upgrade", **env).returncode == 0
    seeded = flask_cli(empty_database_url, tmp_path, "seed-demo", **env)
    assert seeded.returncode == 0, seeded.stderr
    assert "2 offices" in seeded.stdout and "no demo staff accounts" in seeded.stdout
    assert not any(account["email"] in seeded.stdout for account in demo.STAFF)
    developed = flask_cli(empty_database_url, tmp_path, "seed-demo")
    assert all(account["email"] in developed.stdout for account in demo.STAFF), developed.stderr


def test_seed_demo_is_idempotent_and_realistic(app, ctx):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output

    def counts():
        ctx.rollback()
        return tuple(ctx.scalar(select(func.count()).select_from(m))
                     for m in (Office, Service, AvailabilityRule, Closure, Counter))

    before = counts()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert counts() == before
    offices, services, rules, closures, counters = before
    assert offices >= 2 and services >= 6 and counters >= 2 and closures >= 1
    all_rules = ctx.scalars(select(AvailabilityRule)).all()
    assert any(r.end_time >= time(19) for r in all_rules), "a late evening"
    assert any("6" in r.weekdays for r in all_rules), "a Saturday morning"
    assert any(r.services for r in all_rules), "a rule for some services only"


def test_demo_town_offers_slots_through_the_api(app, client):
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    slots = client.get("/api/v1/offices/mitte/services/personalausweis/slots").get_json()
    assert len(slots) > 100


def test_production_refuses_to_start_without_secret_key(tmp_path):
    with pytest.raises(ConfigError):
        load_config(str(tmp_path), {"BOOKING_ENV": "production"})
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_config(str(tmp_path), {"BOOKING_ENV": "production", "SECRET_KEY": "k"})
    config = load_config(str(tmp_path), {"BOOKING_ENV": "production", "SECRET_KEY": "k",
                                         "DATABASE_URL": "postgresql://u@h/db"})
    assert config["SESSION_COOKIE_SECURE"] is True


def test_development_defaults(tmp_path):
    config = load_config(str(tmp_path), {})
    assert config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + str(tmp_path / "booking.db")
    assert config["MAIL_SERVER"] is None
    assert config["SESSION_COOKIE_SECURE"] is False
    pg = load_config(str(tmp_path), {"DATABASE_URL": "postgresql://u@h/db"})
    assert pg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


@pytest.mark.server
def test_gunicorn_without_secret_key_exits(tmp_path):
    env = {**os.environ, "BOOKING_INSTANCE_PATH": str(tmp_path), "GUNICORN_WORKERS": "1",
           "GUNICORN_BIND": "127.0.0.1:0"}
    env.pop("SECRET_KEY", None)
    env.pop("BOOKING_ENV", None)
    env["DATABASE_URL"] = "sqlite:///" + str(tmp_path / "x.db")
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr


def test_purge_anonymises_past_appointments_only(app, client, ctx):
    from datetime import UTC, datetime, timedelta

    from booking.scheduling.models import Appointment
    from tests.factories import local_iso, make_town, next_workday

    make_town(ctx)
    future = client.post("/api/v1/appointments", json={
        "office": "amt", "service": "melde", "start": local_iso(next_workday(), 9),
        "name": "Future Person", "email": "future@example.org"}).get_json()
    past = client.post("/api/v1/appointments", json={
        "office": "amt", "service": "melde", "start": local_iso(next_workday(), 10),
        "name": "Past Person", "email": "past@example.org", "phone": "0123 456"}).get_json()
    ctx.rollback()
    row = ctx.scalar(select(Appointment).where(Appointment.code == past["code"]))
    row.start_at = datetime.now(UTC) - timedelta(days=3)
    row.end_at = row.start_at + timedelta(minutes=15)
    ctx.commit()
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0 and "anonymised 1 appointments" in result.output
    ctx.rollback()
    gone = ctx.scalar(select(Appointment).where(Appointment.code == past["code"]))
    kept = ctx.scalar(select(Appointment).where(Appointment.code == future["code"]))
    assert (gone.name, gone.email, gone.phone) == ("–", None, None)
    assert (kept.name, kept.email) == ("Future Person", "future@example.org")


def test_revision_0008_drops_the_configuration_version_and_downgrades(
        empty_database_url, tmp_path, db_kind):
    """0008 removes booking_config_version with its function and triggers (PostgreSQL);
    a downgrade to 0007 brings them back working (a change to an office raises the
    version), and a new upgrade removes them again. On SQLite both are no-ops."""
    from sqlalchemy import create_engine, text

    from booking.config import normalise_database_url

    def version() -> int | None:
        """The configuration version after a change to the offices; None without it."""
        engine = create_engine(normalise_database_url(empty_database_url))
        try:
            with engine.begin() as conn:
                if db_kind != "postgresql" or not conn.scalar(
                        text("SELECT to_regclass('booking_config_version')")):
                    if db_kind == "postgresql":
                        assert conn.scalar(text("SELECT count(*) FROM pg_trigger WHERE tgname"
                                                " = 'bump_booking_config_version'")) == 0
                    return None
                conn.execute(text("UPDATE offices SET name = name"))  # raises the version
                return conn.scalar(text("SELECT version FROM booking_config_version"))
        finally:
            engine.dispose()

    assert flask_cli(empty_database_url, tmp_path, "db", "upgrade").returncode == 0
    assert version() is None
    downgraded = flask_cli(empty_database_url, tmp_path, "db", "downgrade", "0007")
    assert downgraded.returncode == 0, downgraded.stderr
    assert version() == (1 if db_kind == "postgresql" else None)
    assert flask_cli(empty_database_url, tmp_path, "db", "upgrade").returncode == 0
    assert version() is None
    check = flask_cli(empty_database_url, tmp_path, "db", "check")
    assert check.returncode == 0, check.stdout + check.stderr
