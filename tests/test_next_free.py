"""The next free appointment in any office (booking.scheduling.next_free): the same starts
as each office's full listing filtered by hand, in a few queries for all offices; the
service page's filter form and table; the JSON API; the district in the back office."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from html import unescape
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, update

from booking.db import db, utcnow
from booking.offices.models import (
    AvailabilityRule,
    Closure,
    Counter,
    Office,
    Service,
    office_services,
)
from booking.scheduling import next_free, operations, slots, visits
from booking.scheduling.errors import ServiceNotOffered, VisitNotAllowed
from tests.factories import OFFICE_DATA, make_town, session_csrf

NOW = datetime(2026, 12, 14, 7, 0, tzinfo=UTC)  # Monday 14 December 2026, 08:00 in Berlin
TIMES = {"morning": (0, 12), "afternoon": (12, 16), "evening": (16, 24)}
ANNA = operations.Citizen("Anna Muster", "anna@example.org")


def _rule(office, weekdays, start, end, capacity=1, services=(), valid_from=date(2020, 1, 1),
          valid_until=None):
    return AvailabilityRule(office=office, weekdays=weekdays, start_time=start, end_time=end,
                            capacity=capacity, valid_from=valid_from, valid_until=valid_until,
                            services=list(services))


def _office(id, name, district=None, **settings):
    return Office(id=id, name=name, address=f"{name}weg 1, 12345 Teststadt", district=district,
                  email=f"{id}@teststadt.example", timezone="Europe/Berlin",
                  **{"state": "HE", "slot_minutes": 15, "lead_time_minutes": 120,
                     "horizon_days": 60, **settings})


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.fixture
def town(ctx):
    """Five offices with different rules around NOW (Monday 14 December 2026):

    * amt: Mon–Sat 08–12, two seats (make_town); its first two days partly booked, one
      seat held (taken) and one whose hold lapsed (free again);
    * nord (Nordstadt): Tuesday 13–18:30 one seat, a 'melde'-only rule on Thursday
      mornings, closed for the first ten days; its first free Tuesday afternoon start is
      booked;
    * sued: slots of 30 minutes, three days' lead time, horizon 45 days, Mon–Fri 14–17 and
      from the fourth week Saturday 09–12; a closed counter takes its only Saturday seat
      on the first Saturday it opens; in Bavaria (26 December, 6 January are holidays);
    * west: offers only 'melde';
    * leer: offers 'pass', but its only rule ended before NOW."""
    amt = make_town(ctx)
    passport, melde = ctx.get(Service, "pass"), ctx.get(Service, "melde")
    nord = _office("nord", "Bürgerbüro Nord", "Nordstadt", lead_time_minutes=60,
                   horizon_days=30)
    nord.services = [passport, melde]
    sued = _office("sued", "Bürgerbüro Süd", "Südviertel", slot_minutes=30,
                   lead_time_minutes=3 * 24 * 60, horizon_days=45, state="BY")
    sued.services = [passport, melde]
    west = _office("west", "Bürgerbüro West", "Weststadt")
    west.services = [melde]
    leer = _office("leer", "Außenstelle Leer")
    leer.services = [passport]
    counter = Counter(office=sued, name="S1")
    ctx.add_all([nord, sued, west, leer, counter])
    ctx.add_all([
        _rule(nord, "2", time(13), time(18, 30)),
        _rule(nord, "4", time(7, 30), time(9), services=[melde]),
        _rule(sued, "12345", time(14), time(17)),
        _rule(sued, "6", time(9), time(12), valid_from=date(2027, 1, 4)),
        _rule(west, "12345", time(8), time(18), capacity=5),
        _rule(leer, "12345", time(8), time(12), valid_until=date(2026, 12, 1)),
        Closure(office=nord, starts_at=NOW, ends_at=NOW + timedelta(days=10), reason="Umbau"),
        Closure(office=sued, counter=counter, starts_at=_local(date(2027, 1, 9), 0),
                ends_at=_local(date(2027, 1, 10), 0), reason="Fortbildung"),
    ])
    ctx.commit()
    # amt: Monday's bookable mornings (from 10:00) full for passports, one seat on Tuesday
    for minute in range(0, 120, 30):
        start = _local(date(2026, 12, 14), 10) + timedelta(minutes=minute)
        for _ in range(2):
            operations.book_appointment(amt, visits.single(passport), start, ANNA, NOW)
    tuesday = _local(date(2026, 12, 15), 8)
    operations.book_appointment(amt, visits.single(passport), tuesday, ANNA, NOW)
    operations.book_appointment(amt, visits.single(passport), tuesday, ANNA, NOW - timedelta(hours=1),
                                hold_until=NOW + timedelta(hours=1))  # held: taken
    lapsed = _local(date(2026, 12, 15), 9)
    operations.book_appointment(amt, visits.single(passport), lapsed, ANNA, NOW - timedelta(hours=3),
                                hold_until=NOW - timedelta(minutes=1))  # lapsed: free
    nord_first = _local(date(2026, 12, 29), 13)
    operations.book_appointment(nord, visits.single(passport), nord_first, ANNA, NOW)
    ctx.commit()
    return {"amt": amt, "nord": nord, "sued": sued}


def _matches(start: datetime, tz, weekdays, times) -> bool:
    local = start.astimezone(tz)
    if weekdays and local.isoweekday() not in weekdays:
        return False
    return not times or any(TIMES[name][0] <= local.hour < TIMES[name][1] for name in times)


def _visit(ctx, service_id) -> list[visits.Line]:
    """``pass`` (one person) or a visit ``pass:3,melde:1``."""
    return [visits.Line(ctx.get(Service, sid), int(persons or 1))
            for sid, _, persons in (part.partition(":") for part in service_id.split(","))]


def expected(ctx, service_id, weekdays=(), times=(), limit=1) -> dict[str, list]:
    """Per office offering the visit and allowing it: the first ``limit`` starts of its
    full listing that fall on ``weekdays`` and at ``times``, picked by hand."""
    lines = _visit(ctx, service_id)
    found = {}
    for office in ctx.scalars(select(Office).order_by(Office.id)):
        try:
            listing = operations.list_free_slots(office, lines, NOW)
        except (ServiceNotOffered, VisitNotAllowed):
            continue
        found[office.id] = [s for s in listing if _matches(s.start_at, office.tz, weekdays,
                                                           times)][:limit]
    return found


def actual(ctx, service_id, weekdays=(), times=(), limit=1) -> dict[str, list]:
    result = next_free.next_free_everywhere(
        _visit(ctx, service_id), NOW,
        slots.TimeFilter(frozenset(weekdays), frozenset(times)), limit)
    return {entry.office.id: entry.starts for entry in result}


FILTERS = [
    ((), ()), ((6,), ()), ((), ("evening",)), ((), ("morning",)), ((), ("afternoon",)),
    ((2, 4), ("afternoon", "evening")), ((6,), ("morning",)), ((7,), ()),
    ((1, 3, 5), ("morning", "evening")),
]


@pytest.mark.parametrize("weekdays,times", FILTERS)
@pytest.mark.parametrize("service_id", ["pass", "melde", "pass:3", "pass:2,melde:1"])
def test_the_same_starts_as_the_full_listings(ctx, town, service_id, weekdays, times):
    for limit in (1, 3):
        want = expected(ctx, service_id, weekdays, times, limit)
        assert actual(ctx, service_id, weekdays, times, limit) == want


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(weekdays=st.sets(st.integers(1, 7)), times=st.sets(st.sampled_from(sorted(TIMES))),
       limit=st.integers(1, 4),
       service_id=st.sampled_from(["pass", "melde", "pass:3", "melde:2,pass:1"]))
def test_any_filter_gives_the_first_matching_starts(ctx, town, weekdays, times, limit,
                                                    service_id):
    assert actual(ctx, service_id, weekdays, times, limit) == expected(
        ctx, service_id, weekdays, times, limit)


def test_what_the_town_gives(ctx, town):
    """The example town read by hand: the rules, closures, holds and holidays count."""
    found = actual(ctx, "pass")
    assert list(found) == ["amt", "sued", "nord", "leer"]  # earliest first, none last
    # amt: Monday full from 10:00 (lead time: 10:00 is the first start), Tuesday 08:00 has
    # one seat booked and one held; the lapsed hold at 09:00 is free again, but 08:30 is
    # earlier and free
    assert found["amt"][0].start_at == _local(date(2026, 12, 15), 8, 30)
    # sued: three days' lead: Thursday 17 December, 14:00
    assert found["sued"][0].start_at == _local(date(2026, 12, 17), 14)
    # nord: closed until Thursday 24 December; on Tuesday 29 December 13:00-13:30 is
    # booked (its one seat)
    assert found["nord"][0].start_at == _local(date(2026, 12, 29), 13, 30)
    assert found["leer"] == []
    # Saturday mornings: amt not on 26 December (a holiday), sued only from its rule's
    # start on, and not on the first Saturday, whose only seat the closed counter takes
    saturdays = actual(ctx, "pass", (6,), ("morning",))
    assert saturdays["amt"][0].start_at == _local(date(2026, 12, 19), 8)
    assert saturdays["sued"][0].start_at == _local(date(2027, 1, 16), 9)
    assert saturdays["nord"] == []
    evenings = actual(ctx, "pass", (), ("evening",))
    assert evenings["nord"][0].start_at == _local(date(2026, 12, 29), 16)
    assert evenings["sued"][0].start_at == _local(date(2026, 12, 17), 16)
    assert evenings["amt"] == []
    # the lapsed hold's seat is free: asked for exactly its time, it is offered
    nine = [s.start_at for s in actual(ctx, "pass", (2,), ("morning",), 4)["amt"]]
    assert _local(date(2026, 12, 15), 9) in nine


def test_offices_without_the_service_are_left_out(ctx, town):
    assert "west" not in actual(ctx, "pass")
    assert set(actual(ctx, "melde")) == {"amt", "nord", "sued", "west"}
    assert set(actual(ctx, "melde,pass")) == {"amt", "nord", "sued"}  # leer: no 'melde'


def test_a_family_visit(ctx, town):
    """Three passports and a registration (105 minutes): only starts where all of it
    fits, on rules that offer both services, at offices that allow it in one
    appointment."""
    family = actual(ctx, "pass:3,melde:1", (), ("evening",), 4)
    one = actual(ctx, "pass", (), ("evening",), 4)
    # sued (30-minute steps, Mon-Fri until 17:00): a passport at 16:00 fits, the
    # family's four steps from 16:00 on do not
    assert one["sued"][0].start_at == _local(date(2026, 12, 17), 16)
    assert family["sued"] == []
    # nord (Tuesday until 18:30): the family's last start is 16:45, a passport's 18:00
    assert [s.start_at for s in family["nord"]] == [
        _local(date(2026, 12, 29), 16, minute) for minute in (0, 15, 30, 45)]
    assert family["nord"][0].end_at == _local(date(2026, 12, 29), 17, 45)
    assert _local(date(2026, 12, 29), 18) in [
        s.start_at for s in actual(ctx, "pass", (2,), ("evening",), 9)["nord"]]
    # nord's Thursday-morning rule offers only 'melde': a registration alone may start
    # there, not with a passport
    thursday = (4,), ("morning",)
    assert actual(ctx, "melde", *thursday)["nord"][0].start_at == _local(date(2026, 12, 24), 8)
    assert actual(ctx, "melde:1,pass:1", *thursday)["nord"] == []
    # the offices' limits: four persons not at sued, two services not at nord, and at
    # amt a registration only on its own
    ctx.get(Office, "sued").max_persons = 3
    ctx.get(Office, "nord").max_services = 1
    ctx.flush()
    assert set(actual(ctx, "pass:3,melde:1")) == {"amt"}
    ctx.execute(update(office_services).where(office_services.c.office_id == "amt",
                                              office_services.c.service_id == "melde")
                .values(combinable=False))
    assert set(actual(ctx, "pass:3,melde:1")) == set()
    assert set(actual(ctx, "pass:3")) == {"amt", "nord", "sued", "leer"}
    assert "amt" in actual(ctx, "melde:2")
    ctx.rollback()


def test_a_horizon_without_free_starts_gives_none(ctx, town):
    ctx.get(Office, "amt").horizon_days = 1  # Monday full from 10:00, Tuesday's 08:30 free
    ctx.flush()
    assert actual(ctx, "pass", (), ("evening",))["amt"] == []
    assert actual(ctx, "pass")["amt"][0].start_at == _local(date(2026, 12, 15), 8, 30)
    ctx.rollback()


def test_a_few_queries_for_all_offices(ctx, town, domain_app):
    """Not one listing per office and day: the statements do not grow with the offices."""

    def statements(service_id, weekdays=()):
        seen = []

        def count(*args):
            seen.append(args[2])

        ctx.rollback()
        service = ctx.get(Service, service_id)
        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            next_free.next_free_everywhere(visits.single(service), NOW, slots.TimeFilter(frozenset(weekdays)))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    # 'melde' at four offices: nord is closed in the first week, so two weeks are read:
    # the offices, their rules, then per week the closures, lottery days and
    # seats taken (kept counts and holds not lapsed) of all offices still searching
    assert statements("melde") == 2 + 3 * 2
    # six more offices, all open: not one statement more
    melde = ctx.get(Service, "melde")
    for number in range(6):
        office = _office(f"extra{number}", f"Bürgerbüro {number}")
        office.services = [melde]
        ctx.add_all([office, _rule(office, "123456", time(8), time(18), capacity=3)])
    ctx.commit()
    assert len(actual(ctx, "melde")) == 10
    assert statements("melde") == 2 + 3 * 2
    # Saturday mornings of 'pass': leer (its rule ended) is searched to the end of its
    # 60-day horizon: at most three statements for each of its nine weeks
    assert statements("pass", (6,)) <= 2 + 3 * 9


# ---------------------------------------------------------------- the service page


@pytest.fixture
def frozen(monkeypatch):
    """One clock for the request and the expected starts."""
    now = utcnow()
    monkeypatch.setattr("booking.web.citizen.views.utcnow", lambda: now)
    monkeypatch.setattr("booking.web.api.next_free_views.utcnow", lambda: now)
    return now


@pytest.fixture
def two_offices(ctx):
    """amt (Mon–Sat 08–12) and nord (Nordstadt: Tuesday and Thursday 14–19), both 'pass'."""
    make_town(ctx)
    nord = _office("nord", "Bürgerbüro Nord", "Nordstadt")
    nord.services = [ctx.get(Service, "pass")]
    ctx.add_all([nord, _rule(nord, "24", time(14), time(19))])
    ctx.commit()


def _first(ctx, office_id, now, weekdays=(), times=()):
    office = ctx.get(Office, office_id)
    listing = operations.list_free_slots(office, visits.single(ctx.get(Service, "pass")), now)
    ctx.rollback()
    return next(s for s in listing if _matches(s.start_at, office.tz, weekdays, times))


def _book_link(office_id: str, start: datetime) -> str:
    from zoneinfo import ZoneInfo

    iso = start.astimezone(ZoneInfo("Europe/Berlin")).isoformat()
    return f"/offices/{office_id}/services/pass/book?start={quote(iso, safe=':')}"


def test_the_service_page_shows_the_next_free_appointment_of_each_office(
        client, ctx, two_offices, frozen):
    response = client.get("/services/pass")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=1"
    assert response.headers.getlist("Set-Cookie") == []
    html = unescape(response.get_data(as_text=True))
    assert "Nächster freier Termin" in html and "Nordstadt" in html
    assert '<legend>Wochentage</legend>' in html and '<legend>Tageszeit</legend>' in html
    for office_id in ("amt", "nord"):
        assert f'href="{_book_link(office_id, _first(ctx, office_id, frozen).start_at)}"' in html
    assert html.count('<th scope="row">') == 2
    # the link books: the form for that start
    link = _book_link("amt", _first(ctx, "amt", frozen).start_at)
    assert client.get(link).status_code == 200


def test_the_filter_form_without_script(client, ctx, two_offices, frozen):
    response = client.get("/services/pass?weekday=4&time=evening&time=afternoon")
    assert response.status_code == 200
    html = unescape(response.get_data(as_text=True))
    thursday = _first(ctx, "nord", frozen, (4,), ("afternoon", "evening"))
    assert f'href="{_book_link("nord", thursday.start_at)}"' in html
    assert "Keine innerhalb des Buchungszeitraums" in html  # amt: never afternoons
    assert re.search(r'value="4" checked', html) and re.search(r'value="evening" checked', html)
    saturday = client.get("/services/pass?weekday=6&time=morning&lang=en")
    html = unescape(saturday.get_data(as_text=True))
    first = _first(ctx, "amt", frozen, (6,), ("morning",))
    assert f'href="{_book_link("amt", first.start_at)}"' in html
    assert "Next free appointment" in html and "Saturday" in html


def test_a_bad_filter_is_marked_not_cached(client, ctx, two_offices):
    response = client.get("/services/pass?weekday=9&time=night")
    assert response.status_code == 422
    assert response.headers.get("Cache-Control") != "public, max-age=1"
    html = unescape(response.get_data(as_text=True))
    assert "<title>Fehler:" in html and 'aria-describedby="next-free-error"' in html


def _family(ctx, office_id, now):
    """amt's first free start for three passports and a registration."""
    lines = [visits.Line(ctx.get(Service, "pass"), 3), visits.Line(ctx.get(Service, "melde"), 1)]
    listing = operations.list_free_slots(ctx.get(Office, office_id), lines, now)
    ctx.rollback()
    return listing[0]


def test_the_service_page_searches_for_a_family(client, ctx, two_offices, frozen):
    """Persons and further services in the same search form: only offices that offer all
    of it (nord has no 'melde'), a start where all of it fits, links that keep it."""
    plain = unescape(client.get("/services/pass").get_data(as_text=True))
    assert '<details class="visit-form" id="visit">' in plain  # closed: one person
    assert 'name="also-melde"' in plain and 'name="persons"' in plain
    response = client.get("/services/pass?persons=3&also-melde=1")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=1"
    html = unescape(response.get_data(as_text=True))
    assert '<details class="visit-form" id="visit" open>' in html
    assert re.search(r'id="visit-persons" name="persons"[^>]* value="3"', html)
    assert re.search(r'id="visit-also-melde" name="also-melde"[^>]* value="1"', html)
    assert html.count('<th scope="row">') == 1 and '<th scope="row">Bürgerbüro Nord' not in html
    assert "Reisepass beantragen × 3, Wohnsitz anmelden" in html
    first = _family(ctx, "amt", frozen)
    link = _book_link("amt", first.start_at) + "&persons=3&also-melde=1"
    assert f'href="{link}"' in html
    booking = client.get(link)
    assert booking.status_code == 200
    assert "Reisepass beantragen × 3" in unescape(booking.get_data(as_text=True))
    assert 'href="/offices/amt/services/pass/?persons=3&also-melde=1"' in html  # all times
    assert 'href="/services/pass/waitlist?persons=3"' in html  # the waitlist for all three


@pytest.mark.parametrize("query", ["persons=0", "persons=abc", "persons=21", "also-melde=x"])
def test_a_bad_visit_on_the_service_page_is_marked(client, ctx, two_offices, query):
    response = client.get(f"/services/pass?{query}")
    assert response.status_code == 422
    assert response.headers.get("Cache-Control") != "public, max-age=1"
    html = unescape(response.get_data(as_text=True))
    assert "<title>Fehler:" in html and '<a href="#visit-persons">' in html
    assert 'aria-invalid="true" aria-describedby="visit-error"' in html
    assert '<th scope="row">' not in html


def test_a_visit_no_office_allows(client, ctx, two_offices):
    html = unescape(client.get("/services/pass?persons=7&lang=en").get_data(as_text=True))
    assert "No office offers all of this in one appointment" in html  # both allow 6
    assert '<th scope="row">' not in html


# ---------------------------------------------------------------- the JSON API


def test_api_shape_and_caching(client, ctx, two_offices, frozen):
    response = client.get("/api/v1/services/pass/next-free?weekdays=2,4&times=evening&limit=2")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=1"
    assert response.headers.getlist("Set-Cookie") == []
    body = response.get_json()
    assert (body["service"], body["weekdays"], body["times"]) == ("pass", [2, 4], ["evening"])
    nord, amt = body["offices"]
    assert (nord["office"], nord["name"], nord["district"]) == (
        "nord", "Bürgerbüro Nord", "Nordstadt")
    assert (amt["office"], amt["starts"]) == ("amt", [])
    office = ctx.get(Office, "nord")
    listing = [s for s in operations.list_free_slots(office, visits.single(ctx.get(Service, "pass")), frozen)
               if _matches(s.start_at, office.tz, (2, 4), ("evening",))][:2]
    ctx.rollback()
    assert nord["starts"] == [{"start": s.start_at.astimezone(office.tz).isoformat(),
                               "end": s.end_at.astimezone(office.tz).isoformat(),
                               "available": s.available} for s in listing]
    again = client.get("/api/v1/services/pass/next-free?weekdays=2,4&times=evening&limit=2",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("query", ["weekdays=8", "weekdays=1,x", "weekdays=1,,2", "weekdays=%201",
                                   "times=night", "times=morning,", "limit=0",
                                   "limit=11", "limit=abc", "limit=%C2%B2"])
def test_api_refuses_bad_parameters(client, ctx, two_offices, query):
    response = client.get(f"/api/v1/services/pass/next-free?{query}")
    assert response.status_code == 400 and response.get_json()["error"]


def test_api_for_a_family(client, ctx, two_offices, frozen):
    response = client.get("/api/v1/services/pass/next-free?persons=3&also=melde")
    assert response.status_code == 200
    body = response.get_json()
    assert body["services"] == [{"service": "pass", "persons": 3},
                                {"service": "melde", "persons": 1}]
    (amt,) = body["offices"]  # nord does not offer 'melde'
    first = _family(ctx, "amt", frozen)
    tz = ctx.get(Office, "amt").tz
    assert amt["starts"] == [{"start": first.start_at.astimezone(tz).isoformat(),
                              "end": first.end_at.astimezone(tz).isoformat(),
                              "available": first.available}]
    assert first.end_at - first.start_at == timedelta(minutes=3 * 30 + 15)
    alone = client.get("/api/v1/services/pass/next-free").get_json()
    assert alone["services"] == [{"service": "pass", "persons": 1}]
    assert [o["office"] for o in alone["offices"]] == ["amt", "nord"]
    assert client.get("/api/v1/services/pass/next-free?persons=7").get_json()["offices"] == []


@pytest.mark.parametrize("query,status,says", [
    ("persons=0", 400, "persons"), ("persons=21", 400, "persons"), ("persons=x", 400, "persons"),
    ("also=melde:0", 400, "e.g."), ("also=melde,", 400, "e.g."), ("also=melde:1:2", 400, "e.g."),
    ("also=nix", 404, "nix"), ("also=pass", 422, "once"), ("also=melde:25", 422, "persons"),
    ("also=" + ",".join(f"s{n}" for n in range(11)), 422, "services")])
def test_api_refuses_a_bad_visit(client, ctx, two_offices, query, status, says):
    response = client.get(f"/api/v1/services/pass/next-free?{query}&lang=en")
    assert response.status_code == status
    body = response.get_json()
    text = {400: body.get("error"), 404: body.get("message"), 422: body.get("errors", {}).get("also")}
    assert says in text[status]


def test_api_unknown_service(client, ctx, two_offices):
    assert client.get("/api/v1/services/nix/next-free").status_code == 404


def test_api_is_documented(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/services/{service}/next-free"]["get"]
    assert {"200", "304", "400", "404", "429"} <= set(operation["responses"])
    assert "NextFree" in document["components"]["schemas"]


# ---------------------------------------------------------------- the back office


def test_the_district_is_edited_in_the_back_office(ctx, manager):
    form = manager.get("/admin/offices/amt/").get_data(as_text=True)
    assert 'name="district"' in form
    response = manager.post("/admin/offices/amt/", data={
        **OFFICE_DATA, "district": "  Altstadt ", "csrf_token": session_csrf(manager)})
    assert response.status_code == 303
    ctx.rollback()
    assert ctx.get(Office, "amt").district == "Altstadt"
    manager.post("/admin/offices/amt/", data={
        **OFFICE_DATA, "district": "", "csrf_token": session_csrf(manager)})
    ctx.rollback()
    assert ctx.get(Office, "amt").district is None
