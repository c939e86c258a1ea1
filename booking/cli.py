"""CLI: ``flask --app wsgi seed-demo`` and ``flask --app wsgi outbox send``
(``flask --app wsgi db upgrade`` comes from Flask-Migrate)."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from booking.db import is_storable_text, unit_of_work, utcnow
from booking.notifications.outbox import deliver_due


class StorableText(click.ParamType):
    """Text a database can store: no NUL and no bytes that are not UTF-8 (the shell passes
    those through as lone surrogates)."""

    name = "text"

    def convert(self, value, param, ctx):
        if not is_storable_text(value):
            self.fail("contains a NUL character or bytes that are not UTF-8", param, ctx)
        return value


TEXT = StorableText()

outbox_cli = AppGroup("outbox", help="The email outbox.")


@outbox_cli.command("send")
def outbox_send() -> None:
    """Deliver every email that is due now (for cron; the app also sends by itself)."""
    sent, failed = deliver_due(utcnow())
    click.echo(f"sent {sent}, failed {failed}")


class Instant(click.ParamType):
    """An ISO 8601 date and time with a UTC offset (a fake clock for tests and replays)."""

    name = "datetime"

    def convert(self, value, param, ctx):
        from datetime import datetime

        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.fail("not an ISO 8601 date and time with a UTC offset", param, ctx)
        return parsed


NOW_OPTION = click.option("--now", type=Instant(), default=None,
                          help="Run as if it were this time (ISO 8601 with offset; "
                               "default: now).")


@click.command("send-reminders")
@NOW_OPTION
@with_appcontext
def send_reminders(now) -> None:
    """Queue the reminder emails now due (the app's background sender does this every
    PERIODIC_JOBS_SECONDS too); each appointment gets one."""
    from booking.jobs import reminders

    click.echo(f"queued {reminders(now or utcnow())} reminders")


@click.command("waitlist-offers")
@NOW_OPTION
@with_appcontext
def waitlist_offers(now) -> None:
    """Expire waitlist offers whose time is over and offer free seats to the
    longest-waiting matching wishes (the background sender does this too)."""
    from booking.jobs import waitlist_offers as run

    result = run(now or utcnow())
    click.echo(f"expired {result.expired} offers, ended {result.ended} wishes, "
               f"made {result.offered} offers")


@click.command("send-invitations")
@NOW_OPTION
@with_appcontext
def send_invitations(now) -> None:
    """Queue the invitation emails now due (Office.invitation_weeks before the due date;
    the background sender does this too); each invitation is sent once."""
    from booking.jobs import invitations

    click.echo(f"queued {invitations(now or utcnow())} invitations")


@click.command("estimate-errors")
@NOW_OPTION
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="First local day to sum (default: a week back).")
@with_appcontext
def estimate_errors(now, since) -> None:
    """Sum how far the waiting-time estimates of closed days were from the actual waits,
    for the statistics (the background sender does this too, for the last week)."""
    from booking.jobs import estimate_errors as run

    days = run(now or utcnow(), since.date() if since else None)
    click.echo(f"summed {days} days")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Load (or refresh) the demo town Musterstadt, and in development its demo staff
    accounts; print the URL of every screen and the staff logins. Safe to run repeatedly."""
    from flask import current_app, url_for

    from booking.demo import SCREENS, DemoStaffRefused, seed, seed_staff

    with unit_of_work():
        summary = seed(utcnow())
    click.echo(summary)
    try:
        with unit_of_work():
            staff = seed_staff(utcnow())
    except DemoStaffRefused as exc:
        staff = []
        click.echo(f"no demo staff accounts: {exc}")
    base = current_app.config["BOOKING_BASE_URL"]
    with current_app.test_request_context(base_url=base):
        screens = [(label, url_for(endpoint, _external=True, **values))
                   for label, endpoint, values in SCREENS]
    click.echo("\nScreens:")
    for label, url in screens:
        click.echo(f"  {label:<36} {url}")
    if staff:
        click.echo("\nDemo staff logins (development only):")
        for account in staff:
            click.echo(f"  {account['role']:<8} {account['email']:<32} {account['password']}")


@click.command("purge")
@click.option("--days", type=click.IntRange(0, 36500), default=None,
              help="Keep personal data this many days after the appointment, its "
                   "cancellation or its email (default: RETENTION_DAYS, 1).")
@with_appcontext
def purge(days: int | None) -> None:
    """Delete or anonymise personal data past its time: every step of
    booking.retention.STEPS (past and cancelled appointments, sent emails, reminder
    addresses, citizens' data in old audit entries, ended staff sessions, expired login
    counters and idempotency keys). Run daily, e.g. from a systemd timer."""
    from flask import current_app

    from booking.retention import run_purge

    config = current_app.config
    days = config["RETENTION_DAYS"] if days is None else days
    with unit_of_work():
        done = run_purge(utcnow(), timedelta(days=days), config)
    for step, count in done:
        click.echo(step.report.format(count))


@click.command("lottery-draw")
@with_appcontext
def lottery_draw() -> None:
    """Draw every lottery whose entry window has closed (run every few minutes, e.g. from
    a systemd timer; the app's background sender draws them too). Each lottery is drawn
    exactly once, whichever server gets there first."""
    from booking.fairness.lottery_run import draw_due

    for lottery_id, summary in draw_due(utcnow()):
        click.echo(f"lottery {lottery_id}: seed {summary['seed']}, {summary['verified']} "
                   f"verified entries, {summary['seats']} seats, {summary['winners']} winners")


queue_cli = AppGroup("queue", help="The walk-in queue.")


@queue_cli.command("close-day")
def queue_close_day() -> None:
    """Close the open tickets of past days as not served and restart the numbering
    (run nightly; the queue already ignores tickets of past days)."""
    from booking.queueing.arrivals import close_day

    with unit_of_work():
        closed = close_day(utcnow())
    click.echo(f"closed {closed} tickets")


user_cli = AppGroup("user", help="Staff accounts.")


@user_cli.command("create")
@click.argument("email", type=TEXT)
@click.option("--role", required=True, type=click.Choice(["clerk", "manager", "admin"]))
@click.option("--office", "offices", type=TEXT, multiple=True, help="Office id (repeat for several).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_create(email: str, role: str, offices: tuple[str, ...], password_stdin: bool) -> None:
    """Create a staff user; the password is asked for (or read from stdin)."""
    from booking.accounts.operations import AccountError, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with unit_of_work():
            user = create_user(email, password, role, list(offices), utcnow())
            summary = f"created {user.role} {user.email} (offices: {', '.join(offices) or 'all'})"
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary)


def _user_or_fail(email: str):
    from booking.accounts.operations import get_user_by_email

    user = get_user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user {email}")
    return user


@user_cli.command("token")
@click.argument("email", type=TEXT)
def user_token(email: str) -> None:
    """Create a personal API token; it is printed once, as the last line."""
    from booking.accounts.operations import issue_api_token

    with unit_of_work():
        token = issue_api_token(_user_or_fail(email), utcnow())
    click.echo("API token (shown only once; use it as 'Authorization: Bearer <token>'):")
    click.echo(token)


@user_cli.command("revoke-tokens")
@click.argument("email", type=TEXT)
def user_revoke_tokens(email: str) -> None:
    """Revoke every API token of the user."""
    from booking.accounts.operations import revoke_api_tokens

    with unit_of_work():
        count = revoke_api_tokens(_user_or_fail(email), utcnow())
    click.echo(f"revoked {count} token(s)")


def register(app: Flask) -> None:
    app.cli.add_command(outbox_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(purge)
    app.cli.add_command(lottery_draw)
    app.cli.add_command(user_cli)
    app.cli.add_command(queue_cli)
    app.cli.add_command(send_reminders)
    app.cli.add_command(waitlist_offers)
    app.cli.add_command(send_invitations)
    app.cli.add_command(estimate_errors)
