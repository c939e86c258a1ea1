"""Proactive invitations: the upload (CSV as registry and Excel write it, all or
nothing, duplicates, audit without personal data, size limit), one-by-one entry, the
periodic send with a fake clock through ``flask send-invitations``, the citizen's link
(prefilled booking with suggested times, decline, opt-out), counts, retention and
permissions."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from booking.audit.models import AuditEntry
from booking.db import utcnow
from booking.invitations import optouts, stats
from booking.invitations.models import Invitation, InvitationOptOut
from booking.notifications.models import OutboxMessage
from booking.offices.models import Office
from booking.retention import run_purge
from booking.scheduling.models import Appointment
from tests import smtp
from tests.factories import BERLIN, add_user, count_rows, csrf_from, log_in_with_password, written_email

KIND = "invitation"


def _due(days=60):
    """``days`` after today in Berlin, the office's day (the UTC date lags it an hour)."""
    return utcnow().astimezone(ZoneInfo(BERLIN)).date() + timedelta(days=days)


def _csv(*lines, sep=";", bom=False) -> bytes:
    text = "\r\n".join(lines) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def _good(sep=";"):
    due = _due().strftime("%d.%m.%Y")
    return [sep.join(["Name", "E-Mail", "Dienstleistung", "Fällig am", "Kundennummer"]),
            sep.join(["Erika Mustermann", "erika@example.org", "pass", due, "4711"]),
            sep.join(["Jürgen Groß", "juergen@example.org", "Reisepass beantragen", due, "4712"]),
            sep.join(["Jane Doe", "jane@example.org", "Apply for a passport",
                      _due(70).isoformat(), "4713"])]


def _upload(client, data: bytes, name="melderegister.csv", office="amt"):
    page = client.get(f"/admin/offices/{office}/invitations/")
    return client.post(f"/admin/offices/{office}/invitations/upload", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def _rows(ctx):
    ctx.rollback()
    rows = [(i.name, i.email, i.service_id, i.due_date, i.language, i.status)
            for i in ctx.scalars(select(Invitation).order_by(Invitation.id))]
    ctx.rollback()
    return rows


@pytest.mark.parametrize("sep,bom", [(";", True), (";", False), (",", False), (",", True)])
def test_good_file_with_bom_and_either_separator(manager, ctx, sep, bom):
    response = _upload(manager, _csv(*_good(sep), bom=bom))
    assert response.status_code == 303
    page = manager.get(response.headers["Location"]).get_data(as_text=True)
    assert "3 persons were imported." in page
    rows = _rows(ctx)
    assert [r[0] for r in rows] == ["Erika Mustermann", "Jürgen Groß", "Jane Doe"]
    assert {r[2] for r in rows} == {"pass"} and {r[5] for r in rows} == {"pending"}
    assert rows[0][3] == _due()


def test_bad_lines_reject_the_whole_file_with_line_numbers(manager, ctx):
    lines = _good() + ["Ohne Mail;;pass;01.01.2030", "Max;max@example;pass;31.02.2030",
                       "Moritz;moritz@example.org;fundbuero;2030-01-01",
                       "Alt;alt@example.org;pass;01.01.2001", ";;;"]
    response = _upload(manager, _csv(*lines))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The file has 5 errors. Nothing was imported." in page
    problems = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", page)
    assert problems == [
        ("5", "Email address", "The email address is missing."),
        ("6", "Email address", "This is not a valid email address."),
        ("6", "Due date", "This is not a date. Write it as 31.12.2027 or 2027-12-31."),
        ("7", "Service", "This office offers no such service. Use its short name or its "
                         "name as on the website."),
        ("8", "Due date", "The due date has passed."),
    ]
    assert 'href="#file"' in page and 'aria-invalid="true"' in page
    assert _rows(ctx) == []
    # the rejected upload is audited all the same, without anybody's data
    ctx.rollback()
    (entry,) = ctx.scalars(select(AuditEntry)).all()
    assert entry.action == "invitations.rejected"
    assert entry.after == {"file": "melderegister.csv", "lines": 7, "errors": 5}


def test_upload_is_audited_without_personal_data(manager, ctx):
    assert _upload(manager, _csv(*_good())).status_code == 303
    ctx.rollback()
    (entry,) = ctx.scalars(select(AuditEntry)).all()
    assert (entry.action, entry.user_email, entry.office_id) == (
        "invitations.uploaded", "manager@teststadt.example", "amt")
    assert entry.after == {"file": "melderegister.csv", "lines": 3, "imported": 3,
                           "opted_out": 0}
    text = str(entry.before) + str(entry.after)
    assert "erika" not in text.lower() and "Mustermann" not in text


def test_duplicates_in_the_file_and_against_stored_invitations(manager, ctx):
    due = _due().isoformat()
    twice = ["name,email,service,due date", f"Erika,erika@example.org,pass,{due}",
             f"Erika M.,Erika+amt@Example.org,pass,{due}"]
    response = _upload(manager, _csv(*twice, sep=","))
    assert response.status_code == 422
    assert "The same person with the same service and due date is in line 2 already." in \
        response.get_data(as_text=True)
    assert _upload(manager, _csv(*_good())).status_code == 303
    again = ["Name;E-Mail;Dienstleistung;Fällig am",
             f"Erika;ERIKA@example.org;pass;{due}",  # stored already
             f"Erika;erika@example.org;melde;{due}"]  # another service: fine
    response = _upload(manager, _csv(*again))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "This person is invited for this service and due date already." in page
    assert "<tr><td>2</td>" in page and "<tr><td>3</td>" not in page
    assert len(_rows(ctx)) == 3


def test_missing_columns_not_utf8_and_too_big(manager, ctx):
    response = _upload(manager, _csv("Name;Mail", "Erika;erika@example.org"))
    assert response.status_code == 422
    assert response.get_data(as_text=True).count(
        "The header row has no column for this field.") == 2
    latin1 = "\n".join(_good()).encode("cp1252")
    response = _upload(manager, latin1)
    assert response.status_code == 422
    assert "The file is not UTF-8 text." in response.get_data(as_text=True)
    # bigger than the 64 KiB of other forms is fine ...
    big = _good() + [f"Person {i};p{i}@example.org;pass;{_due().isoformat()}"
                     for i in range(2000)]
    assert len(_csv(*big)) > 64 * 1024
    assert _upload(manager, _csv(*big)).status_code == 303
    assert count_rows(ctx, Invitation) == 2003
    # ... bigger than 2 MiB is not
    response = manager.post("/admin/offices/amt/invitations/upload",
                            data=b"x" * (2 * 1024 * 1024 + 1),
                            content_type="multipart/form-data; boundary=b")
    assert response.status_code == 413
    assert "The file is larger than 2 MiB." in response.get_data(as_text=True)


def _person(client, **values):
    page = client.get("/admin/offices/amt/invitations/")
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "name": "Erika Mustermann",
            "email": "erika@example.org", "service": "pass", "due_date": _due().isoformat(),
            "language": "en", **values}
    return client.post("/admin/offices/amt/invitations/person", data=data)


def test_one_by_one_entry(manager, ctx):
    assert _person(manager).status_code == 303
    assert _rows(ctx) == [("Erika Mustermann", "erika@example.org", "pass", _due(), "en",
                           "pending")]
    response = _person(manager, email="Erika@Example.org")
    assert response.status_code == 422
    assert "invited for this service and due date already" in response.get_data(as_text=True)
    response = _person(manager, email="kaputt", due_date="")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'href="#email"' in page and 'href="#due_date"' in page
    ctx.rollback()
    entry = ctx.scalars(select(AuditEntry)).one()
    assert entry.action == "invitation.added" and "erika" not in str(entry.after)


def test_permissions(client, ctx, back_office):
    assert client.get("/admin/offices/amt/invitations/").status_code == 302  # log in first
    log_in_with_password(client, add_user(ctx, "clerk", "amt"))
    assert client.get("/admin/offices/amt/invitations/").status_code == 403
    other = client.application.test_client()
    log_in_with_password(other, add_user(ctx, "manager", "nord"))
    assert other.get("/admin/offices/nord/invitations/").status_code == 200
    assert other.get("/admin/offices/amt/invitations/").status_code == 403
    assert _upload(other, _csv(*_good()), office="nord").status_code == 422  # nord: no pass
    admin = client.application.test_client()
    log_in_with_password(admin, add_user(ctx, "admin"))
    assert admin.get("/admin/offices/amt/invitations/").status_code == 200


def _send(app, now) -> str:
    result = app.test_cli_runner().invoke(args=["send-invitations", "--now", now.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def _mails(ctx):
    ctx.rollback()
    rows = ctx.scalars(select(OutboxMessage.id).where(OutboxMessage.kind == KIND)
                       .order_by(OutboxMessage.id)).all()
    ctx.rollback()
    return list(rows)


def _email(app, ctx, row_id):
    smtp.deliver(app)
    with app.app_context():
        return written_email(row_id, KIND)


def test_periodic_send_once_in_the_window_and_not_to_opted_out(app, manager, ctx):
    assert _upload(manager, _csv(*_good())).status_code == 303
    now = utcnow()
    assert _send(app, now) == "queued 0 invitations\n"  # 60 days ahead: not yet
    assert _send(app, now + timedelta(days=17)) == "queued 0 invitations\n"
    # 6 weeks before the due date of the first two
    assert _send(app, now + timedelta(days=19)) == "queued 2 invitations\n"
    assert _send(app, now + timedelta(days=20)) == "queued 0 invitations\n"  # once
    # the third opts out (through another invitation) before its window
    ctx.add(InvitationOptOut(key_hash=optouts.key("jane@example.org", "pass"), created_at=now))
    ctx.commit()
    assert _send(app, now + timedelta(days=40)) == "queued 0 invitations\n"
    assert [r[5] for r in _rows(ctx)] == ["sent", "sent", "opted_out"]
    assert len(_mails(ctx)) == 2
    msg = _email(app, ctx, _mails(ctx)[0])
    assert msg["To"].addresses[0].addr_spec == "erika@example.org"
    assert str(msg["Subject"]) == "Einladung: Vereinbaren Sie Ihren Termin für " \
                                  "Reisepass beantragen"
    ctx.rollback()
    assert [(c.service_id, c.sent) for c in stats.get_counts(["amt"])] == [("pass", 2)]
    ctx.rollback()


def _invite(app, manager, ctx, **values):
    """One person entered and invited; the email's links (paths)."""
    assert _person(manager, **values).status_code == 303
    assert _send(app, utcnow() + timedelta(days=19)) == "queued 1 invitations\n"
    msg = _email(app, ctx, _mails(ctx)[-1])
    text = msg.get_body(preferencelist=("plain",)).get_content()
    return re.findall(r"http://booking\.test(/invitations/\S+)", text), text


def _totals(*fields: str) -> tuple[int, ...]:
    """The counts of 'amt' added up over the months: each is kept in the month it happened,
    and the invitation is sent 19 days on (:func:`_invite`): late in a month, in the next
    one."""
    rows = stats.get_counts(["amt"])
    return tuple(sum(getattr(row, field) for row in rows) for field in fields)


def test_link_opens_prefilled_booking_with_suggestions_and_marks_booked(app, manager, ctx):
    (page_link, decline_link, opt_out_link), text = _invite(app, manager, ctx)
    assert "Apply for a passport" in text and "Biometric photo" in text
    citizen = app.test_client()
    page = citizen.get(page_link)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    slots = re.findall(r'href="(/invitations/\d+/[^/]+/book\?start=[^"]+)"', html)
    assert 1 <= len(slots) <= 4
    form = citizen.get(slots[0].replace("&amp;", "&"))
    body = form.get_data(as_text=True)
    assert form.status_code == 200
    assert 'value="Erika Mustermann"' in body and 'value="erika@example.org"' in body
    data = {k: v for k, v in re.findall(r'name="(csrf_token|start|key)"[^>]*value="([^"]*)"',
                                        body)}
    action = re.search(r'<form method="post" action="([^"]+)"', body)[1]
    response = citizen.post(action, data={**data, "name": "Erika Mustermann",
                                          "email": "erika@example.org", "privacy": "y"})
    assert response.status_code == 303 and "/manage/" in response.headers["Location"]
    ctx.rollback()
    invitation = ctx.scalars(select(Invitation)).one()
    appointment = ctx.get(Appointment, invitation.appointment_id)
    assert (invitation.status, appointment.name, appointment.status) == (
        "booked", "Erika Mustermann", "confirmed")
    ctx.rollback()
    assert _totals("sent", "booked") == (1, 1)
    ctx.rollback()
    assert "booked an appointment with this invitation" in citizen.get(
        page_link).get_data(as_text=True)
    assert citizen.get(page_link.split("?")[0] + "x").status_code == 404  # a wrong token
    # opting out still works after the booking (for future invitations); it stays booked
    assert "You have booked" in citizen.get(decline_link).get_data(as_text=True)
    response = _press(citizen, opt_out_link)
    assert "no more invitations for Apply for a passport" in response.get_data(as_text=True)
    assert [r[5] for r in _rows(ctx)] == ["booked"]
    assert count_rows(ctx, InvitationOptOut) == 1


def _press(client, link):
    page = client.get(link)
    assert page.status_code == 200
    return client.post(link, data={"csrf_token": csrf_from(page.get_data(as_text=True))})


def test_decline_and_opt_out_change_only_with_the_button(app, manager, ctx):
    (page_link, decline_link, opt_out_link), _ = _invite(app, manager, ctx)
    citizen = app.test_client()
    for link in (decline_link, opt_out_link, decline_link):
        assert citizen.get(link).status_code == 200
    assert [r[5] for r in _rows(ctx)] == ["sent"]  # a GET changes nothing
    assert citizen.post(decline_link).status_code == 400  # no CSRF token
    response = _press(citizen, decline_link)
    assert "You have declined the invitation" in response.get_data(as_text=True)
    assert [r[5] for r in _rows(ctx)] == ["declined"]
    response = _press(citizen, opt_out_link)
    assert "no more invitations for Apply for a passport" in response.get_data(as_text=True)
    assert [r[5] for r in _rows(ctx)] == ["opted_out"]
    assert count_rows(ctx, InvitationOptOut) == 1
    ctx.rollback()
    assert _totals("sent", "declined", "opted_out") == (1, 1, 1)
    ctx.rollback()
    # the back office shows the counts
    page = manager.get("/admin/offices/amt/invitations/").get_data(as_text=True)
    assert '<td class="declined">1</td>' in page and '<td class="opted-out">1</td>' in page
    # the same person is not invited again for the service
    response = _person(manager, due_date=_due(90).isoformat())
    assert "asked not to be invited" in response.get_data(as_text=True)
    due = _due(90).isoformat()
    response = _upload(manager, _csv("Name;E-Mail;Dienstleistung;Fällig am",
                                     f"Erika;erika@example.org;pass;{due}",
                                     f"Otto;otto@example.org;pass;{due}"))
    assert "1 person was left out" in manager.get(response.headers["Location"]).get_data(
        as_text=True)
    assert sorted(r[0] for r in _rows(ctx)) == ["Erika Mustermann", "Otto"]


def test_retention_purge(app, manager, ctx):
    _invite(app, manager, ctx)  # sent
    due = _due(30)
    assert _person(manager, email="otto@example.org", due_date=due.isoformat()
                   ).status_code == 303
    ctx.rollback()
    sent = ctx.scalars(select(Invitation).where(Invitation.status == "sent")).one()
    sent.status, sent.ended_at = "declined", utcnow()
    ctx.commit()
    retention = timedelta(days=1)

    def purge(now):
        with app.app_context():
            done = run_purge(now, retention, app.config)
            from booking.db import db
            db.session.commit()
        return {s.report.split(" (")[0]: n for s, n in done}["deleted {} invitations"]

    assert purge(utcnow()) == 0
    assert purge(utcnow() + timedelta(days=2)) == 1  # declined, + 1 day
    # Otto's due date is over at midnight in Berlin, the office's time zone (in UTC,
    # still the day before): a day later he goes, not a minute earlier
    over = datetime.combine(due + timedelta(days=1), time.min, tzinfo=ZoneInfo(BERLIN)
                            ).astimezone(UTC)  # the purge's clock is UTC
    assert purge(over + retention - timedelta(minutes=1)) == 0
    assert purge(over + retention + timedelta(minutes=1)) == 1
    assert count_rows(ctx, Invitation) == 0
    ctx.rollback()
    assert stats.get_counts(["amt"])[0].declined == 0  # (counted by the pages, not here)
    ctx.rollback()


def test_office_settings_move_the_window(app, manager, ctx):
    page = manager.get("/admin/offices/amt/invitations/")
    response = manager.post("/admin/offices/amt/invitations/settings", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "invitation_weeks": "2",
        "invitation_language": "en"})
    assert response.status_code == 303
    ctx.rollback()
    office = ctx.get(Office, "amt")
    assert (office.invitation_weeks, office.invitation_language) == (2, "en")
    ctx.rollback()
    assert _upload(manager, _csv(*_good())).status_code == 303
    assert {r[4] for r in _rows(ctx)} == {"en"}  # the office's language: no column
    assert _send(app, utcnow() + timedelta(days=19)) == "queued 0 invitations\n"
    assert _send(app, utcnow() + timedelta(days=47)) == "queued 2 invitations\n"
    response = manager.post("/admin/offices/amt/invitations/settings", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "invitation_weeks": "99",
        "invitation_language": "en"})
    assert response.status_code == 422
    assert "Please enter a number from 1 to 26." in response.get_data(as_text=True)
