"""The back office in a real browser: login and logout, a manager's new opening-hours rule
with its live preview reaching the citizens, an unplanned closure that cancels and emails
through a real SMTP server, a clerk's booking for a caller (the visit's fields renewed
when another service is chosen).

The pages run with their Content-Security-Policy enforced (no ``bypass_csp``), so htmx and
app.js work as in production. Assertions on texts use English pages (browser locale en-GB);
everything else is found by ids, names and roles, so German translations can change freely.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from babel.dates import format_date
from playwright.sync_api import expect
from sqlalchemy import select

from booking.scheduling.codes import format_code
from booking.scheduling.models import CANCELLED, CONFIRMED, PHONE, Appointment
from tests import smtp
from tests.browser.support import LOGIN_BUTTON, log_in, real_console_errors
from tests.factories import (
    PASSWORD,
    add_user,
    at,
    book,
    cheap_hashing,
    local_iso,
    next_workday,
    setup_town,
)
from tests.smtp import calendar_part, deliver

pytestmark = pytest.mark.browser

smtp_server = smtp.smtp_server  # a real SMTP server (aiosmtpd) …
mail_to_sink = smtp.mail_to_sink  # … that the live server's app delivers to

ENGLISH = {"locale": "en-GB"}


# ---------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    cheap_hashing(monkeypatch)


def read_appointment(ctx, **where) -> dict | None:
    """One appointment as plain attribute values (a fresh, short read transaction)."""
    ctx.rollback()
    row = ctx.scalars(select(Appointment).filter_by(**where)).one_or_none()
    values = None if row is None else {
        "id": row.id, "code": row.code, "status": row.status, "channel": row.channel,
        "email": row.email, "name": row.name, "start_at": row.start_at}
    ctx.rollback()
    return values


def press(page, action: str) -> None:
    """Click the submit button with ``value=action`` (forms with several buttons)."""
    page.locator(f"main button[type=submit][value={action}]").click()


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def town(ctx):
    return setup_town(ctx)


# ---------------------------------------------------------------- (a) login, logout


@pytest.mark.parametrize("page", [ENGLISH], indirect=True)
def test_login_error_at_the_field_then_dashboard_then_logout(page, ctx, town):
    address = add_user(ctx, "clerk", "amt")
    page.goto("/staff/")  # not logged in: to the login form, which remembers the way back
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill("#email", address)
    page.fill("#password", "not the password")
    with page.expect_navigation() as navigation:
        page.locator(LOGIN_BUTTON).click()
    assert navigation.value.status == 401

    password = page.locator("#password")
    expect(password).to_have_attribute("aria-invalid", "true")
    described = password.get_attribute("aria-describedby").split()
    assert "password-error" in described
    expect(page.locator("#password-error")).to_be_visible()
    expect(page.locator("#password-error")).to_contain_text("Email address or password is wrong.")
    # the error summary has focus and links to the field; the address is kept
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    expect(page.locator("#error-summary a[href='#password']")).to_have_count(1)
    expect(page.locator("#email")).to_have_value(address)
    expect(page.locator("#email")).not_to_have_attribute("aria-invalid", "true")
    page.locator("#error-summary a[href='#password']").click()
    assert page.evaluate("() => document.activeElement.id") == "password"

    page.fill("#password", PASSWORD)
    page.locator(LOGIN_BUTTON).click()
    page.wait_for_url(re.compile(r"/staff/$"))
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator("main")).to_contain_text(address)
    expect(page.locator("main a[href='/staff/offices/amt/schedule']")).to_have_count(1)

    page.locator("nav.staff-nav button[type=submit]").click()
    page.wait_for_url(re.compile(r"/login$"))
    expect(page.locator(".notice-success")).to_have_text("You are logged out.")
    page.goto("/staff/")  # the session is gone
    page.wait_for_url(re.compile(r"/login\?next="))
    assert real_console_errors(page) == []


# ---------------------------------------------------------------- (b) rule and live preview


def citizen_calendar(office: str, service: str, day: date) -> str:
    return f"/offices/{office}/services/{service}/?month={day:%Y-%m}&day={day.isoformat()}"


@pytest.mark.parametrize("page", [ENGLISH], indirect=True)
def test_new_rule_with_live_preview_opens_times_for_citizens(page, ctx, town, client):
    sunday = next_workday(3, weekdays="7")  # make_town's rule has no Sundays
    day_link = f"#booking-calendar td.free a[hx-get*='day={sunday.isoformat()}']"
    page.goto(citizen_calendar("amt", "melde", sunday))
    expect(page.locator(day_link)).to_have_count(0)

    log_in(page, add_user(ctx, "manager", "amt"))
    page.locator("main a[href='/admin/offices/amt/rules/']").click()
    page.locator("main a[href='/admin/offices/amt/rules/new']").click()
    page.wait_for_url(re.compile(r"/rules/new$"))
    status = page.locator("#preview-status")
    preview = page.locator("#rule-preview")
    expect(preview).to_be_empty()
    page.evaluate("() => { window.samePage = true; }")  # gone if the page were reloaded

    # every change asks the server for a new preview (htmx, no page load)
    for number in "12345":
        page.locator(f"#weekdays input[value='{number}']").uncheck()
    expect(status).to_have_text("Please complete the form to see the preview.")
    expect(preview).to_contain_text("Please choose at least one weekday.")
    page.locator("#weekdays input[value='7']").check()
    page.fill("#start_time", "14:00")
    page.fill("#end_time", "15:00")
    page.fill("#capacity", "1")
    page.locator("#services input[value='melde']").check()
    expect(status).to_have_text("No confirmed appointment is affected.")
    # what the change adds on the day: 'melde' only, as the rule is for 'melde'
    heading = preview.locator("dt").filter(has_text=format_date(sunday, "full", locale="en_GB"))
    change = heading.locator("xpath=following-sibling::dd[1]")
    expect(change).to_have_text(re.compile(r"^\s*Register your address:\s+added:\s+"
                                           r"14:00–15:00 \(4 slots\)\s*$"))
    assert page.evaluate("() => window.samePage === true")  # swapped in, not reloaded
    assert client.get(f"/api/v1/offices/amt/services/melde/slots?from={sunday}&to={sunday}"
                      ).get_json() == []  # a preview changes nothing

    press(page, "save")
    page.wait_for_url(re.compile(r"/admin/offices/amt/rules/$"))
    expect(page.locator(".notice-success")).to_have_text("The rule was saved.")
    expect(page.locator("main table tbody tr")).to_have_count(2)

    # the citizens' calendar now offers the Sunday, with its times
    page.goto(citizen_calendar("amt", "melde", sunday))
    expect(page.locator(day_link)).to_have_count(1)
    times = page.locator("#booking-calendar .time-list a")
    expect(times).to_have_count(4)
    assert [t[:5] for t in times.all_inner_texts()] == ["14:00", "14:15", "14:30", "14:45"]
    page.goto(citizen_calendar("amt", "pass", sunday))
    expect(page.locator(day_link)).to_have_count(0)

    # and so does the citizens' JSON API
    response = page.request.get(
        f"/api/v1/offices/amt/services/melde/slots?from={sunday}&to={sunday}")
    assert response.ok
    assert [(s["start"], s["available"]) for s in response.json()] == [
        (local_iso(sunday, 14, m), 1) for m in (0, 15, 30, 45)]
    assert real_console_errors(page) == []


# ---------------------------------------------------------------- (c) unplanned closure


@pytest.mark.parametrize("page", [ENGLISH], indirect=True)
def test_unplanned_closure_cancels_and_emails_the_citizen_with_an_address(
        page, ctx, town, app, mail_to_sink):
    day = next_workday()
    with_mail = book(ctx, "melde", day, 9, mail="erika@example.org", name="Erika Mustermann")
    by_phone = book(ctx, "pass", day, 9, 30, mail=None, name="Telefon Kunde")
    later = book(ctx, "melde", day, 11, mail="otto@example.org", name="Otto Später")
    assert deliver(app) == (2, 0)  # the booking confirmations: out of the way
    assert len(mail_to_sink.wait_for(2)) == 2
    mail_to_sink.clear()

    log_in(page, add_user(ctx, "manager", "amt"))
    page.locator("main a[href='/admin/offices/amt/closures/']").click()
    page.wait_for_url(re.compile(r"/admin/offices/amt/closures/$"))
    page.select_option("#counter", "")
    page.fill("#first_day", day.isoformat())
    page.fill("#start_time", "09:00")
    page.fill("#end_time", "10:00")
    page.fill("#reason", "Wasserschaden im Wartebereich.")
    expect(page.locator("main button[value=close]")).to_have_count(0)  # a dry run first
    press(page, "preview")

    # the dry run: both appointments in the hour, nothing changed yet
    affected = page.locator("section.affected tbody tr")
    expect(affected).to_have_count(2)
    codes = {affected.nth(i).get_attribute("data-code") for i in range(2)}
    assert codes == {with_mail.code, by_phone.code}
    expect(page.locator("section.affected")).to_contain_text("Erika Mustermann")
    expect(page.locator("section.affected")).to_contain_text("Telefon Kunde")
    expect(affected.filter(has_text="Telefon Kunde")).to_contain_text("no – please phone")
    assert read_appointment(ctx, id=with_mail.id)["status"] == CONFIRMED
    assert read_appointment(ctx, id=by_phone.id)["status"] == CONFIRMED
    expect(page.locator("#reason")).to_have_value("Wasserschaden im Wartebereich.")

    expect(page.locator("main button[value=close]")).to_have_text("Close and notify")
    page.locator("main button[value=close]").click()
    page.wait_for_url(re.compile(r"/admin/offices/amt/closures/$"))
    notices = page.locator("main .notice")
    expect(notices.filter(has_text="2 appointments were cancelled.")).to_have_count(1)
    expect(notices.filter(has_text="1 citizen has no email address")).to_have_count(1)
    expect(page.locator("main table tbody")).to_contain_text("Wasserschaden im Wartebereich.")
    assert read_appointment(ctx, id=with_mail.id)["status"] == CANCELLED
    assert read_appointment(ctx, id=by_phone.id)["status"] == CANCELLED
    assert read_appointment(ctx, id=later.id)["status"] == CONFIRMED

    # delivery as the background sender would do it, through the real SMTP server
    assert deliver(app) == (1, 0)
    received = mail_to_sink.wait_for(1)
    assert len(received) == 1 and len(mail_to_sink.received) == 1
    [msg] = received
    assert mail_to_sink.received[0].rcpt_tos == ["erika@example.org"]
    assert msg["To"].addresses[0].addr_spec == "erika@example.org"
    ics = calendar_part(msg)
    assert ics.get_param("method") == "CANCEL"
    body = ics.get_payload(decode=True).decode("utf-8")
    assert "METHOD:CANCEL" in body and "STATUS:CANCELLED" in body
    # the reason labelled in the citizen's language, and the way to a new appointment
    text = " ".join(msg.get_body(("plain",)).get_content().split())
    assert "Grund: Wasserschaden im Wartebereich." in text
    rebook = re.search(r"https?://[^/\s]+(/offices/amt/services/melde/\?\S+)", text)
    assert rebook, text
    page.goto(rebook[1])
    expect(page.locator("#booking-calendar .time-list a").first).to_be_visible()
    assert deliver(app) == (0, 0)  # nothing for the caller without an address
    assert real_console_errors(page) == []


# ---------------------------------------------------------------- (d) phone booking


@pytest.mark.parametrize("page", [ENGLISH], indirect=True)
def test_clerk_books_for_a_caller_and_sees_it_in_the_day_schedule(page, ctx, town):
    day = next_workday()
    log_in(page, add_user(ctx, "clerk", "amt"))
    page.locator("main a[href='/staff/offices/amt/schedule']").click()
    page.locator("main a[href='/staff/offices/amt/book']").click()
    page.wait_for_url(re.compile(r"/staff/offices/amt/book$"))

    # choosing a service renews the visit's fields at once (htmx): they name it and
    # offer the others as further services
    page.select_option("#service", "melde")
    expect(page.locator("label[for=visit-persons]")).to_have_text(
        "Persons for Register your address")
    expect(page.locator("#visit-also-pass")).to_have_count(1)
    expect(page.locator("#visit-also-melde")).to_have_count(0)
    page.select_option("#service", "pass")
    expect(page.locator("label[for=visit-persons]")).to_have_text(
        "Persons for Apply for a passport")
    expect(page.locator("#visit-also-melde")).to_have_count(1)
    assert page.url.endswith("/staff/offices/amt/book")  # no page load

    # step one: service and day (a GET form)
    page.select_option("#service", "pass")
    page.fill("#day", day.isoformat())
    page.locator("main form[method=get] button[type=submit]").click()
    page.wait_for_url(re.compile(rf"service=pass&day={day.isoformat()}"))
    expect(page.locator("main h2").first).to_have_text("Apply for a passport")

    # step two: a free time and the caller's name; no email address
    start = local_iso(day, 9, 30)
    page.locator(f"input[type=radio][name=slot][value='{start}']").check()
    page.fill("#name", "Anna Anruferin")
    expect(page.locator("#email")).to_have_value("")
    page.locator("main form[method=post][action$='/book'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/offices/amt/appointments/\d+\?new=1$"))

    code = page.locator(".read-out .booking-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    expect(page.locator(".read-out")).to_contain_text("no confirmation is sent")
    booked = read_appointment(ctx, code=code.replace("-", ""))
    assert booked is not None
    assert (booked["channel"], booked["email"], booked["name"], booked["status"]) == (
        PHONE, None, "Anna Anruferin", CONFIRMED)
    assert booked["start_at"] == at(day, 9, 30)

    # the day schedule lists it, as a phone booking
    page.locator("main p.back-link a").click()
    page.wait_for_url(re.compile(rf"/schedule\?date={day.isoformat()}$"))
    row = page.locator("table.schedule tbody tr").filter(has_text=code)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("09:30–10:00")
    expect(row).to_contain_text("Anna Anruferin")
    expect(row).to_contain_text("Phone")
    expect(row.locator("td.status")).to_have_attribute("data-status", CONFIRMED)
    assert format_code(booked["code"]) == code
    assert real_console_errors(page) == []
