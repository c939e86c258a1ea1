"""One appointment for several services and persons (a family): the visit's arithmetic
and limits, the one booking path with lines, the JSON API, and migration 0023."""

from __future__ import annotations

from datetime import date, time, timedelta
from html import unescape
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select, update

from booking.db import utcnow
from booking.notifications.models import OutboxMessage
from booking.offices.models import AvailabilityRule, Office, Service, office_services
from booking.scheduling import holds, operations, slots, visits
from booking.scheduling.errors import KeyReused, ServiceNotOffered, VisitNotAllowed
from booking.scheduling.models import Appointment, AppointmentSeat, AppointmentService
from booking.scheduling.visits import Line
from tests.factories import at, local_iso, make_town, next_workday
from tests.server import flask_cli, run_sql

# ---------------------------------------------------------------- pure


def _service(sid: str, minutes: int, further: int | None = None) -> Service:
    return Service(id=sid, name_de=sid, duration_minutes=minutes, further_person_minutes=further)


PASS, AUSWEIS, MELDE = _service("pass", 30, 20), _service("ausweis", 30, 15), _service("melde", 15)


def test_a_visit_lasts_the_first_persons_and_each_further_ones_time():
    assert visits.line_minutes(PASS, 1) == 30
    assert visits.line_minutes(PASS, 3) == 30 + 2 * 20
    assert visits.line_minutes(MELDE, 2) == 30  # no time per further person: the same again
    family = [Line(PASS, 3), Line(AUSWEIS, 1), Line(MELDE, 1)]
    assert visits.visit_minutes(family) == 70 + 30 + 15
    assert visits.visit_minutes(visits.single(PASS)) == 30
    assert visits.single(PASS) == [Line(PASS, 1)]
    assert visits.fingerprint_part(visits.single(PASS)) == "pass"
    assert visits.fingerprint_part([Line(PASS, 2)]) == [["pass", 2]]


@pytest.mark.parametrize(("lines", "reason"), [
    ([], visits.NO_SERVICE),
    ([Line(PASS, 0)], visits.PERSONS),
    ([Line(PASS, 21)], visits.PERSONS),
    ([Line(PASS, 4), Line(AUSWEIS, 3)], visits.TOO_MANY_PERSONS),
    ([Line(PASS), Line(AUSWEIS), Line(MELDE)], visits.TOO_MANY_SERVICES),
    ([Line(PASS), Line(PASS)], visits.TWICE),
    ([Line(PASS), Line(MELDE)], visits.NOT_COMBINABLE),
])
def test_the_offices_limits_refuse_a_visit(lines, reason):
    with pytest.raises(VisitNotAllowed) as refused:
        visits.check_visit(lines, 6, 2, {"pass": True, "ausweis": True, "melde": False})
    assert refused.value.reason == reason


def test_a_visit_within_the_limits_passes():
    combinable = {"pass": True, "ausweis": True, "melde": False}
    visits.check_visit([Line(PASS, 3), Line(AUSWEIS, 3)], 6, 2, combinable)
    visits.check_visit([Line(MELDE, 6)], 6, 2, combinable)  # not combinable, but alone


def test_only_rules_offering_every_service_of_the_visit_count():
    def rule(rule_id, *service_ids):
        return slots.Rule(rule_id, frozenset({1}), time(8), time(12), date(2020, 1, 1), None, 1,
                          frozenset(service_ids))

    rules = [rule(1), rule(2, "pass"), rule(3, "pass", "melde"), rule(4, "melde")]
    assert [r.id for r in visits.offering_rules(rules, [Line(PASS), Line(MELDE)])] == [1, 3]
    assert [r.id for r in visits.offering_rules(rules, [Line(PASS, 2)])] == [1, 2, 3]


# ---------------------------------------------------------------- the booking path


@pytest.fixture
def town(ctx):
    """'amt' (make_town: 08–12, capacity 2, 15-minute steps) with 'pass' taking 20 minutes
    for each further person and 'ausweis' (30 minutes, 15 for each further person)."""
    office = make_town(ctx)
    ctx.get(Service, "pass").further_person_minutes = 20
    office.services.append(Service(id="ausweis", position=3, name_de="Personalausweis",
                                   name_en="Identity card", duration_minutes=30,
                                   further_person_minutes=15))
    ctx.commit()
    return office


FAMILY = [{"service": "pass", "persons": 3}, {"service": "ausweis", "persons": 1},
          {"service": "melde", "persons": 1}]  # 70 + 30 + 15 minutes: eight steps


def family(ctx) -> list[Line]:
    return [Line(ctx.get(Service, e["service"]), e["persons"]) for e in FAMILY]


def citizen(email="familie@example.org"):
    return operations.Citizen("Familie Muster", email)


def test_a_visit_is_offered_only_where_all_of_it_fits(ctx, town):
    day = next_workday()
    ctx.add(AvailabilityRule(office=town, weekdays="123456", start_time=time(13),
                             end_time=time(16), valid_from=date(2020, 1, 1), capacity=1,
                             services=[ctx.get(Service, "pass")]))  # passports only
    ctx.commit()
    starts = [s.start_at for s in operations.list_free_slots(town, family(ctx), utcnow(), day, day)]
    assert starts[0] == at(day, 8) and starts[-1] == at(day, 10)  # 115 minutes to 12:00
    single = operations.list_free_slots(town, [Line(ctx.get(Service, "pass"), 3)], utcnow(),
                                        day, day)
    assert single[-1].start_at == at(day, 14, 45)  # the passports-only rule offers 70 minutes


def test_booking_a_visit_stores_its_lines_and_takes_every_step(ctx, town):
    day = next_workday()
    appointment, _ = operations.book_appointment(town, family(ctx), at(day, 9), citizen(),
                                                 utcnow())
    ctx.commit()
    assert appointment.end_at == at(day, 10, 55)
    assert [(line.service_id, line.persons) for line in appointment.lines] == [
        ("pass", 3), ("ausweis", 1), ("melde", 1)]
    assert appointment.service_id == "pass" and appointment.persons == 5
    seats = ctx.scalars(select(AppointmentSeat.slot_at).where(
        AppointmentSeat.appointment_id == appointment.id).order_by(AppointmentSeat.slot_at)).all()
    assert seats == [at(day, 9) + timedelta(minutes=15 * i) for i in range(8)]
    # moved: the same lines, the same length
    operations.reschedule_appointment(appointment, at(day, 8), utcnow(), by_staff=True)
    ctx.commit()
    assert (appointment.start_at, appointment.end_at) == (at(day, 8), at(day, 9, 55))
    assert [line.persons for line in appointment.lines] == [3, 1, 1]


def test_the_office_refuses_what_it_does_not_offer_or_allow(ctx, town):
    start = at(next_workday(), 9)
    town.max_persons = 4
    ctx.commit()
    with pytest.raises(VisitNotAllowed):
        operations.book_appointment(town, family(ctx), start, citizen(), utcnow())
    with pytest.raises(VisitNotAllowed):
        operations.list_free_slots(town, family(ctx), utcnow())
    other = Service(id="fund", name_de="Fundbüro", name_en="Lost property", duration_minutes=15)
    ctx.add(other)
    ctx.commit()
    with pytest.raises(ServiceNotOffered):
        operations.book_appointment(town, [Line(ctx.get(Service, "pass")), Line(other)], start,
                                    citizen(), utcnow())
    ctx.rollback()
    assert ctx.scalar(select(func.count()).select_from(Appointment)) == 0


def test_a_held_visit_is_confirmed_and_the_cap_counts_every_line(ctx, town):
    day, now = next_workday(), utcnow()
    held, token = operations.book_appointment(town, family(ctx), at(day, 9), citizen(), now,
                                              hold_until=now + timedelta(minutes=30), cap=1)
    holds.confirm_hold(held, now, token)
    ctx.commit()
    assert held.status == "confirmed"
    with pytest.raises(holds.CapReached):  # 'melde' is booked already, as a line
        operations.book_appointment(town, visits.single(ctx.get(Service, "melde")), at(day, 11), citizen(),
                                    now, cap=1)


def test_the_idempotency_key_tells_visits_apart(ctx, town):
    start, now = at(next_workday(), 9), utcnow()
    first, _ = operations.book_appointment(town, family(ctx), start, citizen(), now, key="k-1")
    again, _ = operations.book_appointment(town, family(ctx), start, citizen(), now, key="k-1")
    assert again.id == first.id
    fewer = [Line(ctx.get(Service, "pass"), 2)]
    with pytest.raises(KeyReused):
        operations.book_appointment(town, fewer, start, citizen(), now, key="k-1")


# ---------------------------------------------------------------- the JSON API


def post(client, start, **fields):
    body = {"office": "amt", "start": start, "name": "Familie Muster",
            "email": "familie@example.org", **fields}
    return client.post("/api/v1/appointments", json=body)


def nothing_written(ctx) -> bool:
    ctx.rollback()
    return (ctx.scalar(select(func.count()).select_from(Appointment)) == 0
            and ctx.scalar(select(func.count()).select_from(OutboxMessage)) == 0)


def test_a_family_of_four_books_three_services_at_once(client, ctx, town):
    day = next_workday()
    listed = client.get("/api/v1/offices/amt/slots?services=pass:3,ausweis:1,melde"
                        f"&from={day}&to={day}")
    assert listed.status_code == 200
    assert listed.get_json()[-1] == {"start": local_iso(day, 10), "end": local_iso(day, 11, 55),
                                     "available": 2}
    response = post(client, local_iso(day, 9), services=FAMILY)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["end"] == local_iso(day, 10, 55) and body["persons"] == 5
    assert body["service"] == "pass"
    assert body["services"] == [
        {"service": "pass", "persons": 3, "name": "Reisepass beantragen"},
        {"service": "ausweis", "persons": 1, "name": "Personalausweis"},
        {"service": "melde", "persons": 1, "name": "Wohnsitz anmelden"}]
    ctx.rollback()
    stored = ctx.scalars(select(AppointmentService).order_by(AppointmentService.position)).all()
    assert [(line.service_id, line.persons) for line in stored] == [
        ("pass", 3), ("ausweis", 1), ("melde", 1)]
    shown = client.get(f"/api/v1/appointments/{body['code']}",
                       headers={"Authorization": f"Bearer {body['manage_token']}"}).get_json()
    assert shown["services"] == body["services"]
    later = client.get(f"/api/v1/offices/amt/slots?services=pass:3,ausweis:1,melde"
                       f"&from={day}&to={day}").get_json()
    assert {s["start"]: s["available"] for s in later}[local_iso(day, 9)] == 1


def test_the_single_service_body_books_as_before(client, ctx, town):
    day = next_workday()
    body = post(client, local_iso(day, 9), service="pass").get_json()
    assert (body["service"], body["end"], body["persons"]) == ("pass", local_iso(day, 9, 30), 1)
    assert body["services"] == [{"service": "pass", "persons": 1,
                                 "name": "Reisepass beantragen"}]
    single = client.get(f"/api/v1/offices/amt/slots?services=pass&from={day}&to={day}")
    assert single.get_json() == client.get(
        f"/api/v1/offices/amt/services/pass/slots?from={day}&to={day}").get_json()


def test_a_booked_visit_moves_though_the_office_lowered_its_limits(client, ctx, town):
    day = next_workday()
    body = post(client, local_iso(day, 9), services=FAMILY).get_json()
    ctx.get(Office, "amt").max_persons = 2
    ctx.commit()
    manage = f"/manage/{body['code']}/{body['manage_token']}"
    page = client.get(f"{manage}/move", query_string={"day": str(day), "month": f"{day:%Y-%m}"})
    assert page.status_code == 200
    assert f"move/confirm?start={local_iso(day, 8)}" in unquote(unescape(page.get_data(
        as_text=True)))
    moved = client.post(f"/api/v1/appointments/{body['code']}/reschedule",
                        json={"start": local_iso(day, 8)},
                        headers={"Authorization": f"Bearer {body['manage_token']}"})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["end"] == local_iso(day, 9, 55)
    assert moved.get_json()["persons"] == 5


@pytest.mark.parametrize(("fields", "limits"), [
    ({"services": FAMILY}, {"max_persons": 4}),
    ({"services": FAMILY}, {"max_services": 2}),
    ({"services": [{"service": "pass"}, {"service": "melde"}]}, {"combinable": False}),
    ({"services": [{"service": "pass"}, {"service": "pass", "persons": 2}]}, {}),
    ({"services": [{"service": "pass", "persons": 0}]}, {}),
    ({"services": [{"service": "pass", "persons": "3"}]}, {}),
    ({"services": [{"service": "pass", "persons": True}]}, {}),
    ({"services": [{"service": "nix"}]}, {}),
    ({"services": [{"service": "fund"}]}, {}),  # exists, not offered here
    ({"services": []}, {}),
    ({"services": "pass:3"}, {}),
    ({"services": FAMILY, "service": "pass"}, {}),
])
def test_what_the_office_does_not_allow_is_refused_and_nothing_written(client, ctx, town,
                                                                        fields, limits):
    ctx.add(Service(id="fund", name_de="Fundbüro", name_en="Lost property", duration_minutes=15))
    if "combinable" in limits:
        ctx.execute(update(office_services).where(office_services.c.service_id == "melde")
                    .values(combinable=False))
    for name in ("max_persons", "max_services"):
        if name in limits:
            setattr(ctx.get(Office, "amt"), name, limits[name])
    ctx.commit()
    response = post(client, local_iso(next_workday(), 9), **fields)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"]["services"]
    assert nothing_written(ctx)


def test_the_visit_listing_refuses_what_it_cannot_list(client, ctx, town):
    base = "/api/v1/offices/amt/slots"
    assert client.get(f"{base}?services=pass:0").status_code == 400
    assert client.get(f"{base}?services=pass:3,,melde").status_code == 400
    assert client.get(base).status_code == 400
    assert client.get(f"{base}?services=nix").status_code == 404
    assert client.get("/api/v1/offices/nix/slots?services=pass").status_code == 404
    refused = client.get(f"{base}?services=pass:4,ausweis:3")
    assert refused.status_code == 422 and "6" in refused.get_json()["errors"]["services"]
    twice = client.get(f"{base}?services=pass,pass", headers={"Accept-Language": "en"})
    assert twice.status_code == 422 and "only once" in twice.get_json()["errors"]["services"]


# ---------------------------------------------------------------- migration 0023


def test_revision_0023_gives_every_appointment_one_line_and_downgrades(empty_database_url,
                                                                      tmp_path):
    def run(*statements, query=None):
        return run_sql(empty_database_url, *statements, query=query)

    assert flask_cli(empty_database_url, tmp_path, "db", "upgrade", "0022").returncode == 0
    run("INSERT INTO offices (id, name, address, email, timezone, state, slot_minutes,"
        " lead_time_minutes, horizon_days, cancel_deadline_minutes) VALUES ('amt', 'Amt',"
        " 'Markt 1', 'amt@example.org', 'Europe/Berlin', 'HE', 15, 120, 60, 60)",
        "INSERT INTO services (id, position, name_de, name_en, description_de, description_en,"
        " bring_de, bring_en, duration_minutes, queue_prefix) VALUES"
        " ('pass', 1, 'Reisepass', 'Passport', '', '', '', '', 30, 'A')",
        "INSERT INTO appointments (office_id, service_id, start_at, end_at, name, language,"
        " code, token_hash, ical_uid, sequence, status, channel, created_at, updated_at)"
        " VALUES ('amt', 'pass', '2030-01-07 08:00:00', '2030-01-07 08:30:00', 'Alt', 'de',"
        " 'OLD00001', 'x', 'old-uid', 0, 'confirmed', 'online', '2029-12-01 08:00:00',"
        " '2029-12-01 08:00:00')")
    upgraded = flask_cli(empty_database_url, tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert run(query="SELECT a.code, s.position, s.service_id, s.persons FROM "
               "appointment_services s JOIN appointments a ON a.id = s.appointment_id"
               ) == [("OLD00001", 0, "pass", 1)]
    assert run(query="SELECT max_persons, max_services FROM offices") == [(6, 5)]
    downgraded = flask_cli(empty_database_url, tmp_path, "db", "downgrade", "0022")
    assert downgraded.returncode == 0, downgraded.stderr
    assert run(query="SELECT code FROM appointments") == [("OLD00001",)]
    with pytest.raises(Exception, match="appointment_services"):
        run(query="SELECT * FROM appointment_services")
    assert flask_cli(empty_database_url, tmp_path, "db", "upgrade").returncode == 0
    check = flask_cli(empty_database_url, tmp_path, "db", "check")
    assert check.returncode == 0, check.stdout + check.stderr
