"""Statistics from tables of counts: the estimator's error on closed days (summed by the
periodic job, the same figures as the replay, unchanged by the purge) and the
invitations, on the page and in the exports."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests.factories import at, log_in_with_password

D = date(2026, 11, 3)  # a Tuesday
URL = "/admin/offices/amt/statistics/"
AFTER = datetime(2026, 11, 4, 6, tzinfo=UTC)  # the night after D


def _ticket(ctx, seq, day, arrive, call, counter_id, *, serve=10, kind="walk_in"):
    from booking.queueing.models import Ticket

    called = at(day, *call).astimezone(UTC)
    ctx.add(Ticket(id=uuid.uuid4().hex, office_id="amt", service_id="pass", day=day, seq=seq,
                   number=f"P{seq:03d}", kind=kind, status="done",
                   arrived_at=at(day, *arrive).astimezone(UTC), called_at=called,
                   started_at=called, finished_at=called + timedelta(minutes=serve),
                   counter_id=counter_id))


@pytest.fixture
def walk_ins(ctx, back_office):
    """Walk-in tickets at 'amt' on D (and one on the day before): one counter serving."""
    from booking.invitations.models import InvitationStat

    counter = back_office["counter"]
    for seq, (arrive, call) in enumerate([((9, 0), (9, 0)), ((9, 1), (9, 10)),
                                          ((9, 2), (9, 20)), ((9, 3), (9, 45)),
                                          ((9, 30), (9, 50))], 1):
        _ticket(ctx, seq, D, arrive, call, counter)
    _ticket(ctx, 1, D - timedelta(days=1), (10, 0), (10, 5), counter, serve=30)
    ctx.add(InvitationStat(office_id="amt", service_id="pass", month=D.replace(day=1),
                           sent=40, booked=12, declined=3, opted_out=1))
    ctx.commit()
    return back_office


def _sum(app, now, since=None) -> int:
    from booking import jobs

    with app.app_context():
        return jobs.estimate_errors(now, since)


def _csv(client, table, **kw) -> list[list[str]]:
    query = {"first": (D - timedelta(days=1)).isoformat(), "last": D.isoformat(),
             "granularity": "day", **kw}
    response = client.get(f"{URL}{table}.csv?" + "&".join(f"{k}={v}" for k, v in query.items()))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8-sig")
    return [row for row in csv.reader(io.StringIO(text)) if not row[0].startswith("#")]


def test_closed_days_are_summed_once_as_the_replay_gives_them(app, ctx, walk_ins):
    from booking.offices.models import Office
    from booking.queueing.estimator_error import estimator_error
    from booking.queueing.models import EstimateDay, EstimateError

    # D itself is not closed yet in the evening of D: only the day before is summed
    assert _sum(app, at(D, 20)) == 1
    assert set(ctx.scalars(select(EstimateDay.day))) == {D - timedelta(days=1)}
    assert _sum(app, AFTER) == 1  # now D
    assert _sum(app, AFTER) == 0  # each day once
    ctx.rollback()
    replay = {(r.day, r.service_id): r for r in estimator_error(ctx.get(Office, "amt"),
                                                                D - timedelta(days=1), D)
              if r.day is not None}
    rows = ctx.scalars(select(EstimateError)).all()
    assert {(r.day, r.service_id) for r in rows} == set(replay)
    for row in rows:
        expected = replay[(row.day, row.service_id)]
        assert row.tickets == expected.count
        assert row.abs_error_sum / row.tickets == pytest.approx(expected.mean_abs_error)
        assert row.error_sum / row.tickets == pytest.approx(expected.bias)
    day = next(r for r in rows if r.day == D)
    assert day.tickets == 5 and 0 < day.within_5 < 5


def test_a_longer_history_is_summed_on_request(app, ctx, walk_ins):
    from booking.queueing.models import EstimateDay

    later = AFTER + timedelta(days=30)
    assert _sum(app, later) == 0  # a week back: nothing there
    assert _sum(app, later, D - timedelta(days=5)) == 2
    assert ctx.scalar(select(func.count()).select_from(EstimateDay)) == 2


def test_page_and_exports_show_the_error_and_the_invitations(app, manager, ctx, walk_ins):
    from booking.offices.models import Office
    from booking.queueing.estimator_error import estimator_error

    _sum(app, AFTER)
    ctx.rollback()
    total = next(r for r in estimator_error(ctx.get(Office, "amt"), D, D) if r.day is None)
    html = manager.get(f"{URL}?first={D}&last={D}").get_data(as_text=True)
    section = html.split('id="estimates-heading"')[1]
    assert '<caption id="table-estimates">' in section and '<th scope="col">' in section
    assert "/admin/offices/amt/estimates?first=2026-11-03&amp;last=2026-11-03" in section
    assert f"<td>{total.mean_abs_error:.1f}</td>" in section
    assert '<caption id="table-invitations">' in html
    rows = _csv(manager, "estimates")
    assert rows[0][2:] == ["Walk-in tickets called", "Mean absolute error (minutes)",
                           "Deviation (minutes; positive: estimates too long)",
                           "Within ±5 minutes in percent"]
    day = [r for r in rows if r[0] == D.isoformat() and r[1] == "All services"]
    assert day and day[0][2] == "5" and day[0][3] == f"{total.mean_abs_error:.1f}"
    weekly = _csv(manager, "estimates", granularity="week")
    assert weekly[-1][:3] == ["2026-11-02", "All services", "6"]  # both days
    invitations = _csv(manager, "invitations")
    assert invitations[0][2:] == ["Sent", "Booked", "Declined", "Opted out"]
    assert invitations[1] == ["2026-11-01", "Apply for a passport", "40", "12", "3", "1"]
    data = manager.get(f"{URL}estimates.xlsx?first={D}&last={D}").get_data()
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    assert list(sheet.iter_rows(values_only=True))[-1][2] == 5
    german = manager.get(f"{URL}?first={D}&last={D}&lang=de").get_data(as_text=True)
    assert "Einladungen" in german and "Genauigkeit der Wartezeit-Schätzungen" in german


def test_error_and_invitations_survive_the_purge(app, manager, ctx, walk_ins):
    from booking.db import unit_of_work
    from booking.retention import run_purge

    _sum(app, AFTER)
    before = {t: _csv(manager, t) for t in ("estimates", "invitations", "waits")}
    assert len(before["estimates"]) > 2
    later = datetime(2027, 6, 1, tzinfo=UTC)
    with app.app_context(), unit_of_work():
        run_purge(later, timedelta(days=1))
    assert _sum(app, later, D - timedelta(days=3)) == 0  # summed already: not again
    ctx.rollback()
    log_in_with_password(manager, "manager@teststadt.example")  # the purge ended the session
    assert {t: _csv(manager, t) for t in before} == before
