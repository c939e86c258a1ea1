"""Statistics: figures on a constructed office day with known answers, filters,
permissions, exports, purge stability, charts and the live floor view."""

from __future__ import annotations

import base64
import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from tests.factories import add_user, at, log_in_with_password

D = date(2026, 11, 2)  # a Monday, no holiday in Hessen; Berlin is UTC+1
D2 = D + timedelta(days=7)
URL = "/admin/offices/amt/statistics/"


def _appointment(ctx, service, start, status, channel, created, *, by=None, reminder=False,
                 seats=(), rule_id=None):
    from booking.scheduling.models import Appointment, AppointmentSeat

    minutes = 30 if service == "pass" else 15
    code = uuid.uuid4().hex[:10].upper()
    appt = Appointment(office_id="amt", service_id=service, start_at=start.astimezone(UTC),
                       end_at=(start + timedelta(minutes=minutes)).astimezone(UTC),
                       name="Erika Mustermann", email="erika@example.org", phone="+49 170 1",
                       code=code, token_hash="x" * 64, ical_uid=f"uid-{code}", status=status,
                       channel=channel, created_at=created.astimezone(UTC),
                       held_until=start.astimezone(UTC) if status == "held" else None,
                       cancelled_at=created.astimezone(UTC) if status == "cancelled" else None,
                       cancelled_by=by, cancel_reason="Frau Mustermann ist krank" if by else None,
                       reminder_queued_at=created.astimezone(UTC) if reminder else None)
    ctx.add(appt)
    ctx.flush()
    for step in range(minutes // 15 if rule_id else 0):
        ctx.add(AppointmentSeat(appointment_id=appt.id, office_id="amt", rule_id=rule_id,
                                slot_at=(start + timedelta(minutes=15 * step)).astimezone(UTC),
                                seat_no=1 if not seats else seats[0]))
    return appt


def _ticket(ctx, seq, day, arrive, *, call=None, serve=20, status="done", kind="walk_in",
            counter_id=None, due=None, appointment_id=None, service="pass"):
    from booking.queueing.models import Ticket

    def t(hm):
        return None if hm is None else at(day, *hm).astimezone(UTC)

    called = t(call)
    started = called + timedelta(minutes=1) if called and status == "done" else None
    finished = started + timedelta(minutes=serve) if started else (
        t(arrive) + timedelta(hours=8) if status == "unserved" else None)
    ctx.add(Ticket(id=uuid.uuid4().hex, office_id="amt", service_id=service, day=day, seq=seq,
                   number=f"P{seq:03d}", kind=kind, status=status, arrived_at=t(arrive),
                   due_at=t(due), called_at=called, started_at=started, finished_at=finished,
                   counter_id=counter_id if called else None, appointment_id=appointment_id))


@pytest.fixture
def office_day(ctx, back_office):
    """Appointments and tickets of Monday D (and one of each a week later) with known
    figures; see the assertions."""
    from booking.waitlist.models import WaitlistStat

    rule, counter = back_office["rule"], back_office["counter"]
    hours = timedelta(hours=1)
    a1 = _appointment(ctx, "pass", at(D, 9), "arrived", "online", at(D, 9) - 48 * hours,
                      rule_id=rule)
    _appointment(ctx, "pass", at(D, 9, 30), "arrived", "phone", at(D, 9, 30) - 24 * hours,
                 rule_id=rule)
    _appointment(ctx, "pass", at(D, 10), "cancelled", "online", at(D, 10) - 72 * hours,
                 by="citizen")
    _appointment(ctx, "pass", at(D, 10, 30), "cancelled", "online", at(D, 10, 30) - 24 * hours,
                 by="office")
    _appointment(ctx, "pass", at(D, 11), "no_show", "phone", at(D, 8), rule_id=rule)
    _appointment(ctx, "melde", at(D, 9), "confirmed", "online", at(D, 9) - 24 * hours,
                 reminder=True, rule_id=rule, seats=(2,))
    _appointment(ctx, "pass", at(D, 11, 30), "held", "online", at(D, 8))  # never confirmed
    _appointment(ctx, "pass", at(D2, 9), "confirmed", "online", at(D2, 9) - 24 * hours,
                 rule_id=rule)
    # waits 2, 4, 3 (from the appointment's start), 6, 8, 10, 12 (no-show); one never called
    _ticket(ctx, 1, D, (8, 0), call=(8, 2), counter_id=counter)
    _ticket(ctx, 2, D, (8, 20), call=(8, 24), counter_id=counter)
    _ticket(ctx, 3, D, (8, 50), call=(9, 3), due=(9, 0), kind="appointment",
            appointment_id=a1.id, counter_id=counter)
    _ticket(ctx, 4, D, (9, 20), call=(9, 26), counter_id=counter)
    _ticket(ctx, 5, D, (9, 40), call=(9, 48), counter_id=counter)
    _ticket(ctx, 6, D, (10, 0), call=(10, 10), counter_id=counter)
    _ticket(ctx, 7, D, (10, 20), call=(10, 32), status="no_show", counter_id=counter)
    _ticket(ctx, 8, D, (10, 40), status="unserved")
    _ticket(ctx, 1, D2, (8, 0), call=(8, 20), counter_id=counter)
    ctx.add(WaitlistStat(office_id="amt", service_id="pass", day=D, offered=3, taken=1,
                         expired=1))
    ctx.commit()
    return back_office


def _period(**kw):
    from booking.statistics.period import Period

    return Period("amt", "Europe/Berlin", kw.pop("first", D), kw.pop("last", D), **kw)


def test_appointment_figures(ctx, office_day):
    from booking.statistics import figures

    result = figures.appointments(_period())
    passport, melde, total = result[(D, "pass")], result[(D, "melde")], result[(D, None)]
    assert (passport.booked, passport.cancelled_citizen, passport.cancelled_office,
            passport.no_show, passport.arrived) == (5, 1, 1, 1, 2)
    assert (passport.online, passport.phone, passport.reminders) == (3, 2, 0)
    assert passport.lead_hours == pytest.approx((48 + 24 + 72 + 24 + 3) / 5, abs=0.05)
    assert (melde.booked, melde.reminders, melde.lead_hours) == (1, 1, 24.0)
    assert (total.booked, total.online, total.phone) == (6, 4, 2)


def test_ticket_figures_waits_and_percentiles(ctx, office_day):
    from booking.statistics import figures

    t = figures.tickets(_period())[(D, "pass")]
    assert (t.walk_ins, t.check_ins, t.served, t.no_show, t.unserved, t.called) == (
        7, 1, 6, 1, 1, 7)
    # waits 2, 3, 4, 6, 8, 10, 12 minutes
    assert t.wait_median == 6.0
    assert t.wait_p90 == pytest.approx(10.8, abs=0.05)
    assert t.wait_mean == pytest.approx(45 / 7, abs=0.05)
    assert (t.service_mean, t.planned) == (20.0, 30)


def test_counters_capacity_channels_waitlist(ctx, office_day):
    from booking.statistics import figures, sides

    period = _period()
    [counter] = sides.counters(sides.side_figures(period))
    # 6 served × 20 min in 08:02 (first call) … 10:32 (last call, the no-show): 150 min
    assert (counter.days, counter.served, counter.utilisation) == (1, 6, 80.0)
    capacity = figures.capacity(period)[D]
    assert (capacity.published, capacity.booked) == (32, 7)  # 08–12, 16 steps × 2 seats
    channels = figures.channels(period, figures.appointments(period), figures.tickets(period))
    assert channels[D] == figures.Channel(online=4, phone=2, kiosk=7)
    [offers] = figures.waitlist(period)
    assert (offers.offered, offers.taken, offers.expired) == (3, 1, 1)


def test_granularity_and_period_filters(ctx, office_day):
    from booking.statistics import figures

    weeks = figures.tickets(_period(last=D2, granularity="week"))
    assert weeks[(D, None)].walk_ins == 7 and weeks[(D2, None)].walk_ins == 1
    month = _period(first=date(2026, 11, 1), last=date(2026, 11, 30), granularity="month")
    tickets = figures.tickets(month)[(date(2026, 11, 1), None)]
    assert tickets.walk_ins == 8 and tickets.wait_median == 7.0  # 2 3 4 6 | 8 10 12 20
    assert figures.appointments(month)[(date(2026, 11, 1), None)].booked == 7
    only_d = figures.appointments(_period())
    assert {b for b, _ in only_d} == {D}
    melde = figures.appointments(_period(service_id="melde"))
    assert set(melde) == {(D, "melde"), (D, None)}
    assert figures.tickets(_period(service_id="melde")) == {}


def test_chart_data(ctx, office_day):
    from booking.statistics import charts, figures, sides

    hours = charts.day_by_hour("amt", "Europe/Berlin", D)
    assert [(h.hour, h.arrivals, h.wait_mean) for h in hours] == [
        (8, 3, 3.0), (9, 2, 7.0), (10, 3, 11.0)]
    assert charts.wait_distribution(figures.tickets(_period())) == {
        "pass": [3, 2, 2, 0, 0, 0, 0, 0]}
    assert sides.side_figures(_period()).heat == {(1, 8): 3, (1, 9): 2, (1, 10): 3}
    # mean waits: (2+4+3+6+8+10+12)/7 and 20; from the daily figures or queried per week
    expected = [(D, 6, 7, 6.4), (D2, 1, 1, 20.0)]
    days = _period(last=D2)
    for weeks in (charts.weekly_trend(days),
                  charts.weekly_trend(days, figures.appointments(days), figures.tickets(days)),
                  charts.weekly_trend(_period(last=D2, granularity="month")),
                  charts.weekly_trend(days, figures.appointments(days), None,
                                      sides.side_figures(days).weeks)):
        assert [(w.start, w.appointments, w.walk_ins, w.wait_mean) for w in weeks] == expected


def _query(**kw):
    values = {"first": D.isoformat(), "last": D.isoformat(), "granularity": "day", **kw}
    return "&".join(f"{k}={v}" for k, v in values.items())


def test_page_shows_tables_and_accessible_charts(manager, ctx, office_day):
    response = manager.get(f"{URL}?{_query()}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    charts = dict(re.findall(r'<img id="(chart-[\w-]+)" src="data:image/svg\+xml;base64,([^"]+)"',
                             html))
    assert {"chart-arrivals", "chart-waits", "chart-heat", "chart-weeks",
            "chart-bands-1"} <= set(charts)
    arrivals = base64.b64decode(charts["chart-arrivals"]).decode()
    assert 'role="img" aria-labelledby="title desc"' in arrivals
    assert '<title id="title">Arrivals by hour on Monday, November 2, 2026</title>' in arrivals
    assert '<desc id="desc">' in arrivals and 'fill="url(#hatch)"' in arrivals
    assert 'class="bar-value" text-anchor="middle">3</text>' in arrivals  # the numbers
    assert 'alt="Arrivals by hour on Monday, November 2, 2026. Bars: ' in html
    for data in charts.values():
        ElementTree.fromstring(base64.b64decode(data))  # well-formed XML, as an image must be
    heat = base64.b64decode(charts["chart-heat"]).decode()
    assert heat.count('class="heat-text heat-text-') == 7 * 12
    assert "<caption id=\"table-appointments\">Appointments</caption>" in html
    # the numbers of the charts are in tables: arrivals by hour 3, 2, 3, waits 3, 7, 11
    hours = html.split('id="table-hours"')[1].split("</table>")[0]
    assert re.findall(r"<th scope=\"row\">(\d\d:00)</th><td>(\d+)</td><td>([\d.,]+)</td>",
                      hours) == [("08:00", "3", "3"), ("09:00", "2", "7"), ("10:00", "3", "11")]
    waits = html.split('id="table-waits"')[1].split("</table>")[0]
    assert "<td>10.8</td>" in waits and "<td>6</td>" in waits
    assert "Cancelled by the office" in html
    assert not re.findall(r'(?:src|href|action)="(?:https?:)?//', html)  # nothing third-party


def test_page_in_german(manager, ctx, office_day):
    manager.get("/?lang=de")
    html = manager.get(f"{URL}?{_query()}").get_data(as_text=True)
    assert "Statistik" in html and "Abgesagt vom Amt" in html and "<td>10,8</td>" in html


def test_bad_filters_are_422(manager, ctx, office_day):
    assert manager.get(f"{URL}?first=2026-11-30&last=2026-11-01").status_code == 422
    assert manager.get(f"{URL}?first=nonsense").status_code == 422
    assert manager.get(f"{URL}?{_query(granularity='year')}").status_code == 422
    assert manager.get(f"{URL}?{_query(service='nope')}").status_code == 422
    assert manager.get(f"{URL}?first=2020-01-01&last=2026-01-01").status_code == 422
    assert manager.get(f"{URL}?{_query(day='2026-12-24')}").status_code == 422
    assert manager.get(f"{URL}appointments.csv?first=x").status_code == 400
    assert manager.get(f"{URL}nothing.csv?{_query()}").status_code == 404
    assert manager.get(f"{URL}appointments.pdf?{_query()}").status_code == 404


def test_permissions(client, ctx, office_day):
    assert client.get(URL).status_code in (302, 401)
    log_in_with_password(client, add_user(ctx, "clerk", "amt"))
    assert client.get(URL).status_code == 403
    assert client.get("/admin/offices/amt/floor/").status_code == 403
    client.delete_cookie("session")
    log_in_with_password(client, add_user(ctx, "manager", "amt"))
    assert client.get(URL).status_code == 200
    assert client.get("/admin/offices/nord/statistics/").status_code == 403
    assert client.get(f"/admin/offices/nord/statistics/tickets.csv?{_query()}").status_code == 403
    assert client.get("/admin/offices/nord/floor/fragment").status_code == 403
    assert client.get("/admin/offices/nope/statistics/").status_code == 404


def test_admin_sees_every_office(admin, ctx, office_day):
    assert admin.get("/admin/offices/nord/statistics/").status_code == 200
    assert admin.get(f"{URL}?{_query()}").status_code == 200


def _csv(client, table, **kw) -> list[list[str]]:
    response = client.get(f"{URL}{table}.csv?{_query(**kw)}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data().decode("utf-8-sig")
    return [row for row in csv.reader(io.StringIO(text)) if not row[0].startswith("#")]


def test_csv_export_with_filters(manager, ctx, office_day):
    rows = _csv(manager, "appointments")
    assert rows[0][:3] == ["Period", "Service", "Booked"]
    assert rows[0][3] == "Persons"
    assert ["2026-11-02", "Apply for a passport", "5", "5", "1", "1", "1", "2", "0", "34.2"
            ] in rows
    assert rows[-1][:3] == ["2026-11-02", "All services", "6"]
    melde = _csv(manager, "appointments", service="melde")
    assert [r[1] for r in melde[1:]] == ["Register your address"]
    for table in ("tickets", "waits", "counters", "capacity", "channels", "waitlist", "hours",
                  "distribution", "demand", "weeks"):
        assert len(_csv(manager, table)) >= 2, table
    raw = manager.get(f"{URL}appointments.csv?{_query()}").get_data().decode("utf-8-sig")
    assert "# From,2026-11-02" in raw
    assert "Mustermann" not in raw and "erika" not in raw


def test_xlsx_export_opens_in_openpyxl(manager, ctx, office_day):
    response = manager.get(f"{URL}waits.xlsx?{_query()}")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.get_data()))
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Period", "Service", "Called", "Mean wait")
    assert rows[1][:2] == ("2026-11-02", "Apply for a passport")
    assert rows[1][2:6] == (7, 6.4, 6.0, 10.8)
    filters = list(book.worksheets[1].iter_rows(values_only=True))
    assert ("From", "2026-11-02") in filters and ("Per", "day") in filters
    for table in ("appointments", "demand", "weeks"):
        data = manager.get(f"{URL}{table}.xlsx?{_query()}").get_data()
        assert load_workbook(io.BytesIO(data)).worksheets[0].max_row >= 2


def test_figures_survive_close_day_and_purge(manager, app, ctx, office_day):
    from booking.db import unit_of_work
    from booking.queueing.arrivals import close_day
    from booking.retention import run_purge

    tables = ("appointments", "tickets", "waits", "counters", "capacity", "channels",
              "waitlist", "hours", "distribution", "demand", "weeks")
    before = {t: _csv(manager, t, last=D2.isoformat()) for t in tables}
    later = datetime(2027, 6, 1, tzinfo=UTC)
    with app.app_context(), unit_of_work():
        close_day(later)
        assert sum(n for _, n in run_purge(later, timedelta(days=1))) > 0
    ctx.rollback()
    from sqlalchemy import select

    from booking.scheduling.models import Appointment
    assert set(ctx.scalars(select(Appointment.name))) == {"–"}
    ctx.rollback()
    log_in_with_password(manager, "manager@teststadt.example")  # the purge ended the session
    after = {t: _csv(manager, t, last=D2.isoformat()) for t in tables}
    assert after == before


def test_cancellations_record_who(ctx, back_office):
    from booking.accounts.models import User
    from booking.db import utcnow
    from booking.scheduling import operations, staff_operations
    from booking.scheduling.models import Appointment
    from tests.factories import book, next_workday

    day = next_workday()
    first, second = book(ctx, "pass", day, 8), book(ctx, "pass", day, 9)
    operations.cancel_appointment(ctx.get(Appointment, first.id), utcnow())
    actor = ctx.get(User, ctx.scalar(__import__("sqlalchemy").select(User.id).where(
        User.email == add_user(ctx, "manager", "amt"))))
    staff_operations.cancel_by_staff(ctx.get(Appointment, second.id), actor, utcnow())
    ctx.commit()
    assert ctx.get(Appointment, first.id).cancelled_by == "citizen"
    assert ctx.get(Appointment, second.id).cancelled_by == "office"


def test_live_floor(manager, ctx, office_day):
    from booking.db import utcnow
    from booking.offices.models import Office
    from booking.queueing.models import Ticket

    now = utcnow()
    today = now.astimezone(ctx.get(Office, "amt").tz).date()
    for seq, minutes in ((1, 25), (2, 5)):
        ctx.add(Ticket(id=uuid.uuid4().hex, office_id="amt", service_id="pass", day=today,
                       seq=seq, number=f"P{seq:03d}", status="waiting",
                       arrived_at=now - timedelta(minutes=minutes)))
    ctx.add(Ticket(id=uuid.uuid4().hex, office_id="amt", service_id="pass", day=today, seq=3,
                   number="P003", status="called", arrived_at=now - timedelta(minutes=9),
                   called_at=now, counter_id=office_day["counter"]))
    ctx.commit()
    fragment = manager.get("/admin/offices/amt/floor/fragment").get_data(as_text=True)
    assert "Waiting now: 2" in fragment and "Longest current wait: 25 min" in fragment
    assert "Called P003" in fragment and "Counters open: 1 of 1" in fragment
    page = manager.get("/admin/offices/amt/floor/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'sse-connect="/admin/offices/amt/floor/events"' in html and "Called P003" in html
    stream = manager.get("/admin/offices/amt/floor/events")
    assert stream.mimetype == "text/event-stream"
    assert "event: floor" in stream.get_data(as_text=True)
