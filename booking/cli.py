"""CLI: ``flask --app wsgi seed-demo`` and ``flask --app wsgi outbox send``
(``flask --app wsgi db upgrade`` comes from Flask-Migrate)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from booking.db import unit_of_work, utcnow
from booking.notifications.outbox import deliver_due

outbox_cli = AppGroup("outbox", help="The email outbox.")


@outbox_cli.command("send")
def outbox_send() -> None:
    """Deliver every email that is due now (for cron; the app also sends by itself)."""
    sent, failed = deliver_due(utcnow())
    click.echo(f"sent {sent}, failed {failed}")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Load (or refresh) the demo town Musterstadt. Safe to run repeatedly."""
    from booking.demo import seed

    with unit_of_work():
        summary = seed(utcnow())
    click.echo(summary)


@click.command("purge")
@click.option("--days", type=int, default=None,
              help="Keep personal data this many days after the appointment "
                   "(default: RETENTION_DAYS, 1).")
@with_appcontext
def purge(days: int | None) -> None:
    """Anonymise past and cancelled appointments (run daily, e.g. from a systemd timer)."""
    from flask import current_app

    from booking.scheduling.retention import purge_personal_data

    days = current_app.config["RETENTION_DAYS"] if days is None else days
    with unit_of_work():
        appointments, emails = purge_personal_data(utcnow(), timedelta(days=days))
    click.echo(f"anonymised {appointments} appointments, deleted {emails} emails")


def register(app: Flask) -> None:
    app.cli.add_command(outbox_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(purge)
