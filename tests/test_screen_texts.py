"""What the walk-in screens say: a counter is named one way everywhere ("Schalter 1" /
"Counter 1", never "Schalter Schalter 1" nor German in English pages), the kiosk names the
day of an appointment that is not today, the status page drops its reminder form once
the number is called and says what the button does, and the counter screen shows an
appointment's name and code and refuses "pause" visibly while a ticket is active."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from babel.dates import format_date
from sqlalchemy import select

from booking.db import utcnow
from booking.offices.models import Counter, Office
from booking.queueing import arrivals, counter_operations
from tests.factories import (
    BERLIN,
    add_user,
    cheap_hashing,
    counter,
    csrf_from,
    drawn_ticket,
    log_in_with_password,
    make_appointment,
)
from tests.server import flask_cli


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    cheap_hashing(monkeypatch)


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def call_at(ctx, label: str = "1"):
    ctx.rollback()
    ticket = counter_operations.call_next(counter(ctx, label), utcnow())
    ctx.commit()
    return ticket


def test_a_counter_is_named_once_in_the_pages_language_everywhere(client, ctx, floor):
    ticket_id, _ = drawn_ticket(client)
    call_at(ctx)
    counter_id = counter(ctx, "1").id
    log_in_with_password(client, add_user(ctx, "admin"))
    ctx.rollback()
    pages = {
        "status": f"/tickets/{ticket_id}",
        "display": "/offices/amt/display",
        "chooser": "/counter/",
        "counter screen": f"/counter/{counter_id}",
        "admin list": "/admin/offices/amt/counters",
        "admin counter": f"/admin/offices/amt/counters/{counter_id}",
        "schedule": f"/staff/offices/amt/schedule?counter={counter_id}",
    }
    for lang, word, other in (("de", "Schalter", "Counter"), ("en", "Counter", "Schalter")):
        for name, url in pages.items():
            sep = "&" if "?" in url else "?"
            html = page(client, f"{url}{sep}lang={lang}")
            assert f"{word} 1" in html, (lang, name)
            assert not re.search(rf"{word}\s+{word}|{other}\s+1|{word}\s+{other}", html), (
                lang, name)
    # the sentences themselves
    assert "Bitte gehen Sie zu Schalter 1." in page(client, f"/tickets/{ticket_id}?lang=de")
    english = page(client, f"/tickets/{ticket_id}?lang=en")
    assert "Please go to Counter 1." in english and "Called to Counter 1" in english


def test_the_back_office_takes_a_label_not_the_word(client, ctx, floor):
    log_in_with_password(client, add_user(ctx, "admin"))
    form = page(client, "/admin/offices/amt/counters?lang=de")
    assert "Nummer oder Kennung" in form and "„Schalter 3“" in form
    for name in ("Schalter 5", "counter 5", "  SCHALTER  5"):
        refused = client.post("/admin/offices/amt/counters",
                              data={"csrf_token": csrf_from(form), "name": name})
        assert refused.status_code == 422, name
        assert "Geben Sie nur die Nummer oder Kennung ein" in refused.get_data(as_text=True)
    created = client.post("/admin/offices/amt/counters",
                          data={"csrf_token": csrf_from(form), "name": "5"})
    assert created.status_code == 303
    ctx.rollback()
    assert ctx.scalar(select(Counter.name).where(Counter.name == "5")) == "5"


def _old_rows(engine, model, rows: list[dict]) -> None:
    """Insert ``rows`` into ``model``'s table as an older schema has it: the columns it
    has then, the model's defaults for those not given (the model's own insert would
    name columns a later migration adds)."""
    from sqlalchemy import MetaData, Table

    table = Table(model.__tablename__, MetaData(), autoload_with=engine)
    defaults = {c.name: c.default.arg for c in model.__table__.c
                if c.default is not None and c.default.is_scalar}
    with engine.begin() as connection:
        connection.execute(table.insert(), [
            {c.name: row.get(c.name, defaults.get(c.name)) for c in table.c
             if c.name in row or c.name in defaults} for row in rows])


def test_migration_turns_counter_names_into_labels(empty_database_url, tmp_path):  # noqa: F811
    """Names that start with the word lose it; other names stay as they are."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from booking.config import normalise_database_url

    assert flask_cli(empty_database_url, tmp_path, "db", "upgrade", "0008").returncode == 0
    names = ["Schalter 1", "schalter  2", "Counter 3", "Schalter", "Schalterhalle 4", "Info"]
    engine = create_engine(normalise_database_url(empty_database_url))
    try:
        _old_rows(engine, Office, [{"id": "amt", "name": "Amt", "address": "Markt 1",
                                    "email": "a@x.example", "timezone": BERLIN, "state": "HE"}])
        _old_rows(engine, Counter, [{"office_id": "amt", "name": name} for name in names])
        upgraded = flask_cli(empty_database_url, tmp_path, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        with Session(engine) as session:
            after = session.scalars(select(Counter.name).order_by(Counter.id)).all()
    finally:
        engine.dispose()
    assert after == ["1", "2", "3", "Schalter", "Schalterhalle 4", "Info"]


def test_check_in_on_another_day_names_the_appointments_date(client, ctx, floor):
    start_at = utcnow() + timedelta(days=2)
    make_appointment(ctx, floor, start_at)
    form = page(client, "/kiosk/amt/checkin?lang=de")
    response = client.post("/kiosk/amt/checkin",
                           data={"csrf_token": csrf_from(form), "code": "ACDE-3467"})
    assert response.status_code == 409
    day = format_date(start_at.astimezone(floor.tz).date(), "long", locale="de")
    assert f"Dieser Termin ist am {day}, nicht heute." in response.get_data(as_text=True)


def test_the_reminder_form_is_gone_once_the_number_is_called(client, ctx, floor):
    ticket_id, _ = drawn_ticket(client)
    waiting = page(client, f"/tickets/{ticket_id}?lang=en")
    assert 'name="email"' in waiting and "Email me when it is almost my turn" in waiting
    assert "Per E-Mail erinnern, wenn ich fast dran bin" in page(
        client, f"/tickets/{ticket_id}?lang=de")
    call_at(ctx)
    called = page(client, f"/tickets/{ticket_id}?lang=en")
    assert "Please go to Counter 1." in called
    assert 'name="email"' not in called and "Reminder by email" not in called


def test_counter_screen_shows_the_appointment_and_refuses_pause_visibly(client, ctx, floor):
    counter_id = counter(ctx, "1").id
    log_in_with_password(client, add_user(ctx, "clerk", "amt"))
    idle = page(client, f"/counter/{counter_id}")
    pause = re.search(r'<button[^>]*id="pause"[^>]*>', idle).group(0)
    assert "aria-disabled" not in pause and 'id="pause-note"' not in idle

    appointment = make_appointment(ctx, floor, utcnow() + timedelta(minutes=5))
    arrivals.check_in(ctx.get(Office, "amt"), appointment, utcnow())
    ctx.commit()
    call_at(ctx)
    html = page(client, f"/counter/{counter_id}")
    assert '<dd id="current-name">Erika Mustermann</dd>' in html
    assert '<dd id="current-code" class="booking-code-inline">ACDE-3467</dd>' in html
    pause = re.search(r'<button[^>]*id="pause"[^>]*>', html).group(0)
    assert 'aria-disabled="true"' in pause and 'aria-describedby="pause-note"' in pause
    assert re.search(r'<p id="pause-note" class="hint">Finish or park the current ticket '
                     r'first.</p>', html)
    # a walk-in ticket has neither
    drawn_ticket(client)
    counter_operations.finish(counter_operations.get_active(counter(ctx, "1")), utcnow())
    ctx.commit()
    call_at(ctx)
    walk_in = page(client, f"/counter/{counter_id}")
    assert 'id="current-name"' not in walk_in and 'id="current-code"' not in walk_in
