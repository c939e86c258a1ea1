"""axe-core (WCAG 2.0/2.1 A + AA) finds nothing on any staff or administration page, in
German and English: forms empty and with errors, lists with content, the rule preview
after an htmx swap, the closure dry run, the print view. Also what axe cannot judge by
itself: no horizontal scrolling at 320 CSS px (1.4.10), the live region of the rule
preview staying in place, error summary links focusing groups of radio buttons.

As in test_accessibility.py, axe-core is injected inline, so these contexts bypass the CSP
(test_staff_browser.py runs the same pages with it enforced). Pages are reached by
clicking or by URL, and controls found by ids, names and form actions, never by their
texts, so the tests hold in both languages.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from booking.audit.models import AuditEntry
from booking.db import utcnow
from booking.offices.models import Closure
from booking.scheduling import codes, operations
from booking.scheduling.models import CONFIRMED, Appointment
from tests.browser.support import (
    assert_focus_visible,
    check,
    format_violations,
    html_lang,
    log_in,
    main_button,
    post_and_check,
    real_console_errors,
    run_axe,
    tab_until,
    visit,
)
from tests.factories import (
    add_user,
    at,
    book,
    cheap_hashing,
    local_iso,
    next_workday,
    setup_town,
)

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch):
    cheap_hashing(monkeypatch)


@pytest.fixture
def town(ctx):
    return setup_town(ctx)


@pytest.fixture(params=["de", "en"])
def lang(request):
    return request.param


@pytest.fixture
def a11y_page(new_page, lang):
    """A browser asking for ``lang`` (Accept-Language), axe injectable (CSP bypassed)."""
    return new_page(locale="de-DE" if lang == "de" else "en-GB", bypass_csp=True)


# ---------------------------------------------------------------- login, own account


def test_login_page_empty_and_with_errors(a11y_page, lang, ctx, town):
    page = a11y_page
    address = add_user(ctx, "clerk", "amt")
    visit(page, "/login", label="login")
    assert html_lang(page) == lang

    post_and_check(page, main_button(page, "/login"), 422, "login, nothing entered")
    assert page.locator("[aria-invalid=true]").count() == 2

    page.fill("#email", address)
    page.fill("#password", "wrong password!")
    post_and_check(page, main_button(page, "/login"), 401, "login, wrong password")
    assert page.locator("#password[aria-invalid=true]").count() == 1


def test_dashboard_password_and_feed_pages(a11y_page, lang, ctx, town):
    page = a11y_page
    log_in(page, add_user(ctx, "manager", "amt"))
    check(page, "dashboard")
    assert html_lang(page) == lang

    visit(page, "/staff/password", label="password")
    page.fill("#current", "not my password")
    page.fill("#new", "short")
    page.fill("#repeat", "different")
    post_and_check(page, main_button(page, "/staff/password"), 422, "password with errors")
    page.fill("#current", "not my password")
    page.fill("#new", "a long new password")
    page.fill("#repeat", "a long new password")
    post_and_check(page, main_button(page, "/staff/password"), 422, "wrong current password")
    assert page.locator("#current[aria-invalid=true]").count() == 1

    visit(page, "/staff/feed", label="feed: none yet")
    post_and_check(page, main_button(page, "/staff/feed/renew"), 200, "feed: just created")
    assert page.locator("main code").count() == 1
    visit(page, "/staff/feed", label="feed: exists")
    post_and_check(page, main_button(page, "/staff/feed/revoke"), 200, "feed: revoked")


# ---------------------------------------------------------------- day schedule


@pytest.fixture
def booked_day(ctx, town):
    """A workday with an online booking (email), a phone-only one, a cancelled one; and
    an appointment that began an hour ago (it can be marked as a no-show)."""
    day = next_workday()
    first = book(ctx, "pass", day, 8, 30, mail="erika@example.org", name="Erika Mustermann")
    second = book(ctx, "melde", day, 9, mail=None, name="Telefon Kunde")
    third = book(ctx, "melde", day, 10, mail="otto@example.org", name="Otto Normal")
    operations.cancel_appointment(ctx.get(Appointment, third.id), utcnow())
    started = utcnow().replace(second=0, microsecond=0) - timedelta(hours=1)
    ctx.add(Appointment(
        office_id="amt", service_id="melde", start_at=started,
        end_at=started + timedelta(minutes=15), name="Paula Vergangen", email=None,
        phone="+49 69 7654321", language="de", code=codes.new_code(),
        token_hash=codes.hash_token(codes.new_token()), ical_uid=codes.new_uid(), sequence=0,
        status=CONFIRMED, created_at=started, updated_at=started))
    ctx.commit()
    return day, first, second, third


def test_schedule_search_print_detail_and_move(a11y_page, lang, ctx, town, booked_day):
    page = a11y_page
    day, first, second, third = booked_day
    log_in(page, add_user(ctx, "clerk", "amt"))
    page.locator("main a[href='/staff/offices/amt/schedule']").click()
    page.wait_for_url(re.compile(r"/schedule$"))
    check(page, "schedule of today")
    # the day of the appointment that has begun: arrival and no-show buttons
    visit(page, "/staff/offices/amt/schedule?q=Vergangen", label="past appointment")
    row = page.locator("table.schedule tbody tr")
    assert row.count() == 1
    assert row.locator("form[action$='/no-show'] button").count() == 1
    with page.expect_navigation():
        row.locator("form[action$='/no-show'] button").click()
    check(page, "after a no-show")

    schedule = f"/staff/offices/amt/schedule?date={day.isoformat()}"
    visit(page, schedule, label="schedule with appointments")
    assert page.locator("table.schedule tbody tr").count() == 3
    page.locator("table.schedule details.confirm-cancel summary").first.click()
    assert page.locator("details.confirm-cancel[open]").count() == 1
    check(page, "schedule, cancel confirmation opened")

    page.fill("#q", "Mustermann")
    with page.expect_navigation():
        page.locator("main form.schedule-filter button[type=submit]").click()
    assert page.locator("table.schedule tbody tr").count() == 1
    check(page, "search results")
    visit(page, "/staff/offices/amt/schedule?q=Niemand", label="search without results")
    visit(page, "/staff/offices/amt/schedule?date=2026-02-30&counter=x", 422,
          "schedule with filter errors")
    visit(page, f"/staff/offices/amt/schedule?counter={town['counter']}&date={day.isoformat()}",
          label="schedule of one counter")

    visit(page, f"{schedule}&print=1", label="print view")
    visit(page, "/staff/offices/amt/schedule?q=Mustermann&print=1", label="print view, search")
    visit(page, f"/staff/offices/amt/schedule?date={next_workday(20).isoformat()}&print=1",
          label="print view, empty day")

    visit(page, f"/staff/offices/amt/appointments/{first.id}", label="appointment detail")
    visit(page, f"/staff/offices/amt/appointments/{third.id}", label="cancelled appointment")

    visit(page, f"/staff/offices/amt/appointments/{second.id}/move", label="move page")
    assert page.locator("input[type=radio][name=slot]").count() > 0
    # no time chosen: the error at the times
    post_and_check(page, main_button(page, f"/appointments/{second.id}/move"), 422,
                   "move without a time")
    sunday = next_workday(3, weekdays="7")
    visit(page, f"/staff/offices/amt/appointments/{second.id}/move?date={sunday.isoformat()}",
          label="move: a day without times")
    visit(page, f"/staff/offices/amt/appointments/{second.id}/move?date=31.12.", 422,
          "move: a wrong date")
    visit(page, f"/staff/offices/amt/appointments/{third.id}/move", 409,
          "move of a cancelled appointment")

    # moving, then the detail page with its notice
    visit(page, f"/staff/offices/amt/appointments/{second.id}/move?date={day.isoformat()}")
    page.locator(f"input[type=radio][name=slot][value='{local_iso(day, 11)}']").check()
    with page.expect_navigation():
        main_button(page, f"/appointments/{second.id}/move").click()
    assert page.locator(".notice-success").count() == 1
    check(page, "appointment after moving")
    with page.expect_navigation():
        main_button(page, f"/appointments/{second.id}/arrived?from=appointment").click()
    check(page, "appointment after arrival")


# ---------------------------------------------------------------- phone booking


def test_phone_booking_steps_and_errors(a11y_page, lang, ctx, town):
    page = a11y_page
    day = next_workday()
    log_in(page, add_user(ctx, "clerk", "amt"))
    visit(page, "/staff/offices/amt/book", label="phone booking: start")

    page.select_option("#service", "melde")
    page.fill("#day", day.isoformat())
    with page.expect_navigation():
        page.locator("main form[method=get] button[type=submit]").click()
    assert page.locator("input[type=radio][name=slot]").count() > 0
    check(page, "phone booking: times of a day")

    visit(page, "/staff/offices/amt/book?service=nope&day=2026-02-30", 422,
          "phone booking: bad service and day")
    visit(page, f"/staff/offices/amt/book?service=pass&day={next_workday(3, '7').isoformat()}",
          label="phone booking: a day without times")
    # a family: persons and a further service, then a visit the office does not allow
    page.fill("#visit-persons", "2")
    page.fill("#visit-also-melde", "1")
    with page.expect_navigation():
        page.locator("main form[method=get] button[type=submit]").click()
    assert "× 2, " in page.locator("main h2").last.inner_text()  # the visit's services
    check(page, "phone booking: a visit of several services and persons")
    visit(page, f"/staff/offices/amt/book?service=pass&day={day.isoformat()}&persons=0", 422,
          "phone booking: a visit the office does not allow")

    # step two, all wrong: no time, no name, a bad address and phone number
    visit(page, f"/staff/offices/amt/book?service=pass&day={day.isoformat()}")
    page.fill("#email", "not-an-address")
    page.fill("#phone", "call me")
    post_and_check(page, main_button(page, "/staff/offices/amt/book"), 422,
                   "phone booking with errors")
    assert page.locator("[aria-invalid=true]").count() == 3
    assert page.locator("#slot-error").count() == 1

    # a time that someone else takes meanwhile: 409 with a notice, the times refreshed
    page.locator(f"input[type=radio][name=slot][value='{local_iso(day, 9)}']").check()
    page.fill("#name", "Anna Anruferin")
    page.fill("#email", "")
    page.fill("#phone", "")
    book(ctx, "pass", day, 9, mail="a@example.org")
    book(ctx, "pass", day, 9, mail="b@example.org")
    post_and_check(page, main_button(page, "/staff/offices/amt/book"), 409,
                   "phone booking: time taken meanwhile")

    page.locator(f"input[type=radio][name=slot][value='{local_iso(day, 10)}']").check()
    with page.expect_navigation():
        main_button(page, "/staff/offices/amt/book").click()
    assert re.search(r"/appointments/\d+\?new=1$", page.url)
    check(page, "phone booking: the booking code to read out")


# ---------------------------------------------------------------- administration


def test_admin_pages(a11y_page, lang, ctx, town):
    page = a11y_page
    log_in(page, add_user(ctx, "admin"))
    visit(page, "/admin/", label="admin index")
    assert html_lang(page) == lang

    visit(page, "/admin/offices/amt/", label="office settings")
    page.fill("#name", "")
    page.fill("#email", "no address")
    page.fill("#slot_minutes", "7")
    post_and_check(page, main_button(page, "/admin/offices/amt/"), 422,
                   "office settings with errors")
    visit(page, "/admin/offices/amt/")
    page.fill("#lead_time_minutes", "60")
    page.check("#feed_shows_names")
    post_and_check(page, main_button(page, "/admin/offices/amt/"), 200, "settings saved")

    visit(page, "/admin/offices/new", label="new office")
    post_and_check(page, main_button(page, "/admin/offices/new"), 422, "new office, empty")

    visit(page, "/admin/services/", label="services")
    visit(page, "/admin/services/new", label="new service")
    page.fill("#service_id", "X Y")
    page.fill("#queue_prefix", "ab")
    page.fill("#fee", "-5")
    post_and_check(page, main_button(page, "/admin/services/new"), 422,
                   "new service with errors")
    visit(page, "/admin/services/pass", label="edit service")
    page.fill("#duration_minutes", "20")
    post_and_check(page, main_button(page, "/admin/services/pass"), 422,
                   "edit service: duration off the grid")

    visit(page, "/admin/offices/amt/counters", label="counters")
    post_and_check(page, main_button(page, "/admin/offices/amt/counters"), 422,
                   "new counter without a name")
    page.fill("#name", "2")
    page.locator("#services input[value='melde']").check()
    post_and_check(page, main_button(page, "/admin/offices/amt/counters"), 200,
                   "counter created")
    page.locator("main table a[href*='/counters/']").first.click()
    page.wait_for_url(re.compile(r"/counters/\d+$"))
    check(page, "edit counter")
    page.fill("#name", "")
    post_and_check(page, main_button(page, urlsplit(page.url).path), 422,
                   "edit counter without a name")

    visit(page, "/admin/offices/amt/audit", label="audit log of the office")
    assert page.locator("table.audit tbody tr").count() >= 2
    visit(page, "/admin/audit", label="audit log of all offices")


def test_audit_log_pages_and_empty(a11y_page, lang, ctx, town):
    page = a11y_page
    log_in(page, add_user(ctx, "manager", "amt"))
    visit(page, "/admin/offices/amt/audit", label="audit log, empty")
    ctx.add_all(AuditEntry(at=utcnow(), user_email="x@example.org", office_id="amt",
                           action=f"test.{i:03d}", entity="office", entity_id="amt",
                           before={"name": "A"} if i % 2 else None, after={"name": "B"})
                for i in range(60))
    ctx.commit()
    visit(page, "/admin/offices/amt/audit", label="audit log, first page")
    page.locator("nav.pagination a[rel=next]").click()
    page.wait_for_url(re.compile(r"page=2"))
    check(page, "audit log, second page")


# ---------------------------------------------------------------- rules


def test_rule_pages_with_live_preview(a11y_page, lang, ctx, town):
    page = a11y_page
    day = next_workday()
    book(ctx, "melde", day, 9, mail="erste@example.org", name="Erste Bürgerin")
    book(ctx, "melde", day, 9, mail=None, name="Zweiter Bürger")
    log_in(page, add_user(ctx, "manager", "amt"))

    visit(page, "/admin/offices/amt/rules/", label="rules")
    visit(page, "/admin/offices/amt/rules/new", label="new rule")

    # htmx swaps the preview in after a change
    status = page.locator("#preview-status")
    before = status.inner_text()
    page.locator("#weekdays input[value='7']").check()
    expect(status).not_to_have_text(before)
    expect(page.locator("#rule-preview h2")).to_have_count(1)
    check(page, "new rule after the live preview")
    page.fill("#capacity", "0")
    page.locator("#capacity").blur()  # a text field reports its change when left
    expect(page.locator("#rule-preview ul.errors")).to_have_count(1)
    check(page, "new rule, live preview of an unfinished rule")

    # the form's own buttons: the preview on the whole page, errors at the fields
    post_and_check(page, main_button(page, "/rules/new", "preview"), 422,
                   "new rule with errors")
    page.fill("#capacity", "1")
    post_and_check(page, main_button(page, "/rules/new", "preview"), 200,
                   "new rule, preview without JavaScript")

    rule = town["rule"]
    visit(page, f"/admin/offices/amt/rules/{rule}", label="edit rule")
    page.fill("#capacity", "1")  # strands the second 09:00 appointment
    page.locator("#capacity").blur()
    expect(page.locator("#rule-preview table.appointments tbody tr")).to_have_count(1)
    expect(page.locator("#rule-preview #decision")).to_have_count(1)
    check(page, "edit rule, live preview with a stranded appointment")
    post_and_check(page, main_button(page, f"/rules/{rule}", "save"), 422,
                   "edit rule: the decision is missing")
    assert page.locator("#decision[aria-describedby]").count() == 1

    visit(page, f"/admin/offices/amt/rules/{rule}/delete", label="delete rule")
    page.locator("#decision input[type=radio]").first.check()
    page.fill("#detail", "Umbau")
    expect(page.locator("#decision input[type=radio]")).to_have_count(1)
    post_and_check(page, main_button(page, f"/rules/{rule}/delete"), 200, "rule deleted")
    assert page.locator(".notice-success").count() == 2
    visit(page, "/admin/offices/amt/rules/", label="no rules")


def test_rule_delete_without_appointments(a11y_page, lang, ctx, town):
    page = a11y_page
    log_in(page, add_user(ctx, "manager", "amt"))
    visit(page, f"/admin/offices/amt/rules/{town['rule']}/delete",
          label="delete rule, nobody affected")
    post_and_check(page, main_button(page, f"/rules/{town['rule']}/delete"), 200,
                   "rule deleted")


# ---------------------------------------------------------------- closures


def test_closure_pages(a11y_page, lang, ctx, town):
    page = a11y_page
    day = next_workday()
    book(ctx, "pass", day, 9, mail="erika@example.org", name="Erika Mustermann")
    book(ctx, "melde", day, 9, 30, mail=None, name="Telefon Kunde")
    log_in(page, add_user(ctx, "manager", "amt"))
    closures = "/admin/offices/amt/closures/"
    visit(page, closures, label="closures, none planned")

    post_and_check(page, main_button(page, closures, "preview"), 422, "closure, empty form")
    page.fill("#first_day", "2021-03-01")
    page.fill("#reason", "Stromausfall")
    post_and_check(page, main_button(page, closures, "preview"), 422, "closure in the past")

    page.fill("#first_day", day.isoformat())
    page.fill("#start_time", "09:00")
    page.fill("#end_time", "10:00")
    post_and_check(page, main_button(page, closures, "preview"), 200,
                   "closure dry run with affected appointments")
    assert page.locator("section.affected tbody tr").count() == 2

    page.fill("#start_time", "11:00")
    page.fill("#end_time", "12:00")
    post_and_check(page, main_button(page, closures, "preview"), 200,
                   "closure dry run, nobody affected")
    assert page.locator("section.affected tbody tr").count() == 0

    # the list shown was for 11–12; closing 9–10 with it is refused
    page.fill("#start_time", "09:00")
    page.fill("#end_time", "10:00")
    post_and_check(page, main_button(page, closures, "close"), 422,
                   "closure: the list has changed")
    post_and_check(page, main_button(page, closures, "close"), 200,
                   "closure saved, with notices")
    assert page.locator("main table tbody tr").count() == 1

    ctx.add(Closure(office_id="amt", counter_id=town["counter"],
                    starts_at=at(next_workday(20), 8), ends_at=at(next_workday(20), 10),
                    reason="Betriebsversammlung"))
    ctx.commit()
    visit(page, closures, label="closures, two planned")
    assert page.locator("main table tbody tr").count() == 2


# ---------------------------------------------------------------- reflow (WCAG 1.4.10)


def assert_no_horizontal_scrolling(page, label: str) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} [{label}] is {overflow}px wider than the viewport"


def assert_accessible_narrow(page, label: str) -> None:
    """No axe violations. Undecided results are allowed for one reason only: cells of a
    table that its scroll region clips at this width, whose background axe cannot see
    (their colours are checked at full width, where nothing is clipped)."""
    result = run_axe(page)
    where = f"{page.url} [{label}]"
    assert result["violations"] == [], format_violations(where, result["violations"])
    undecided = [
        {**v, "nodes": [n for n in v["nodes"] if "partially obscured" not in n["summary"]]}
        for v in result["incomplete"]]
    undecided = [v for v in undecided if v["nodes"]]
    assert undecided == [], format_violations(where, undecided, "undecided result")


def test_no_horizontal_scrolling_at_320_css_pixels(new_page, lang, ctx, town):
    """320 CSS px wide (1280 px at 400 % zoom): the page itself never scrolls sideways;
    wide tables scroll in their own region, which the keyboard can reach (axe:
    scrollable-region-focusable)."""
    day = next_workday()
    first = book(ctx, "pass", day, 9, mail="maximiliane.mustermann-schmidt@example.org",
                 name="Maximiliane Alexandra Mustermann-Schmidt")
    book(ctx, "pass", day, 9, mail=None, name="Telefon Kunde")
    rule, counter = town["rule"], town["counter"]
    page = new_page(locale="de-DE" if lang == "de" else "en-GB", bypass_csp=True,
                    viewport={"width": 320, "height": 640})
    log_in(page, add_user(ctx, "admin"))
    paths = [
        "/staff/", "/staff/password", "/staff/feed",
        f"/staff/offices/amt/schedule?date={day}", "/staff/offices/amt/schedule?q=Mustermann",
        f"/staff/offices/amt/schedule?date={day}&print=1",
        f"/staff/offices/amt/appointments/{first.id}",
        f"/staff/offices/amt/appointments/{first.id}/move",
        f"/staff/offices/amt/book?service=pass&day={day}",
        "/admin/", "/admin/offices/amt/", "/admin/offices/new", "/admin/services/",
        "/admin/services/new", "/admin/services/pass", "/admin/offices/amt/counters",
        f"/admin/offices/amt/counters/{counter}", "/admin/offices/amt/rules/",
        "/admin/offices/amt/rules/new", f"/admin/offices/amt/rules/{rule}",
        f"/admin/offices/amt/rules/{rule}/delete", "/admin/offices/amt/closures/",
    ]
    for path in paths:
        page.goto(path)
        assert_no_horizontal_scrolling(page, path)
        assert_accessible_narrow(page, "320 px")

    # the print view's table (no links in it) scrolls with the keyboard
    page.goto(f"/staff/offices/amt/schedule?date={day}&print=1")
    region = tab_until(page, "el.classList.contains('table-scroll')", max_presses=3)
    assert_focus_visible(region)
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.activeElement.scrollLeft > 0")

    # states with more content: a stranded appointment in the live preview, the closure
    # dry run, the audit log
    page.goto(f"/admin/offices/amt/rules/{rule}")
    page.fill("#capacity", "1")
    page.locator("#capacity").blur()
    expect(page.locator("#rule-preview table.appointments tbody tr")).to_have_count(1)
    assert_no_horizontal_scrolling(page, "rule preview with a stranded appointment")
    assert_accessible_narrow(page, "320 px, rule preview with a stranded appointment")

    page.goto("/admin/offices/amt/closures/")
    page.fill("#first_day", day.isoformat())
    page.fill("#reason", "Stromausfall")
    with page.expect_navigation():
        main_button(page, "/admin/offices/amt/closures/", "preview").click()
    assert page.locator("section.affected tbody tr").count() == 2
    assert_no_horizontal_scrolling(page, "closure dry run")
    assert_accessible_narrow(page, "320 px, closure dry run")
    with page.expect_navigation():
        main_button(page, "/admin/offices/amt/closures/", "close").click()
    assert_no_horizontal_scrolling(page, "closures with a planned one")
    assert_accessible_narrow(page, "320 px, closures with a planned one")

    for path in ("/admin/offices/amt/audit", "/admin/audit"):
        page.goto(path)
        assert page.locator("table.audit tbody tr").count() >= 3
        assert_no_horizontal_scrolling(page, path)
        assert_accessible_narrow(page, "320 px")


# ---------------------------------------------------------------- what axe cannot see


def test_rule_preview_status_is_one_live_region_that_stays(new_page, ctx, town):
    """Screen readers announce changes of a live region that is in the page already;
    a region replaced by a new element is often not announced. htmx replaces the text
    of the status, never the element (the CSP is enforced here)."""
    page = new_page(locale="en-GB")
    log_in(page, add_user(ctx, "manager", "amt"))
    page.goto("/admin/offices/amt/rules/new")
    page.evaluate("() => { window.statusNode = document.getElementById('preview-status'); }")
    status = page.locator("#preview-status")
    page.locator("#weekdays input[value='7']").check()
    expect(status).to_have_text("No confirmed appointment is affected.")
    page.locator("#weekdays input[value='7']").uncheck()
    for number in "12345":
        page.locator(f"#weekdays input[value='{number}']").uncheck()
    expect(status).to_have_text("Please complete the form to see the preview.")
    assert page.evaluate("""() => document.querySelectorAll('#preview-status').length === 1
        && document.getElementById('preview-status') === window.statusNode""")
    assert status.get_attribute("role") == "status"
    assert real_console_errors(page) == []


def test_error_summary_links_move_focus_to_groups_of_choices(new_page, ctx, town):
    """The summary links to a group of radio buttons or checkboxes (its fieldset): the
    link moves keyboard focus there, so that Tab continues inside the group."""
    day = next_workday()
    book(ctx, "melde", day, 9, mail="erste@example.org")
    book(ctx, "melde", day, 9, mail=None)
    page = new_page(locale="en-GB")
    log_in(page, add_user(ctx, "manager", "amt"))

    # a rule change that strands an appointment, saved without a decision
    page.goto(f"/admin/offices/amt/rules/{town['rule']}")
    page.fill("#capacity", "1")
    with page.expect_navigation():
        page.locator("main button[type=submit][value=save]").click()
    page.locator("#error-summary a[href='#decision']").click()
    assert page.evaluate("() => document.activeElement.id") == "decision"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.name") == "decision"

    # weekdays: none checked
    page.goto("/admin/offices/amt/rules/new")
    for number in "12345":
        page.locator(f"#weekdays input[value='{number}']").uncheck()
    with page.expect_navigation():
        page.locator("main button[type=submit][value=save]").click()
    page.locator("#error-summary a[href='#weekdays']").click()
    assert page.evaluate("() => document.activeElement.id") == "weekdays"

    # phone booking without a time
    page.goto(f"/staff/offices/amt/book?service=pass&day={day.isoformat()}")
    page.fill("#name", "Anna Anruferin")
    with page.expect_navigation():
        page.locator("main form[method=post][action$='/book'] button[type=submit]").click()
    page.locator("#error-summary a[href='#slot']").click()
    assert page.evaluate("() => document.activeElement.id") == "slot"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.name") == "slot"
    assert real_console_errors(page) == []
