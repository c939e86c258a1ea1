"""No input gives a 500: every rule of the app's URL map, every method, with a NUL
character in each path segment, query parameter, form field and JSON string, integers
beyond the database's range, and JSON nested deeper than Python's recursion limit.

The PostgreSQL run is the one that matters for NUL (SQLite stores it); both must pass.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_wtf import FlaskForm
from werkzeug.routing import AnyConverter, IntegerConverter

from booking.db import utcnow
from booking.fairness.lottery_models import Lottery
from booking.offices.models import Closure
from booking.queueing import arrivals
from tests.factories import (
    add_user,
    at,
    cheap_hashing,
    counter,
    csrf_from,
    log_in_with_password,
    make_appointment,
    session_csrf,
)

NUL = "a\x00b"
HUGE = (2**31, 2**63, 10**30)
# every query parameter a view reads (request.args, and the fields of the forms given
# formdata=request.args: ScheduleFilter, DayForm, SlotQuery)
QUERY_NAMES = ("from", "to", "date", "day", "month", "lang", "next", "page", "partial", "print",
               "service", "start", "code", "idle", "action", "new", "q", "counter",
               "first", "last", "granularity")
JSON_NAMES = ("office", "service", "start", "name", "email", "phone", "language", "code",
              "counter", "paused")


def _forms() -> dict[str, list[str]]:
    """The field names of every form class of the app (imported with it)."""
    forms, todo = {}, list(FlaskForm.__subclasses__())
    while todo:
        form = todo.pop()
        todo.extend(form.__subclasses__())
        forms[form.__qualname__] = sorted(
            {name for klass in form.__mro__ for name, value in vars(klass).items()
             if getattr(value, "field_class", None) is not None} - {"csrf_token"})
    return forms


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch):
    cheap_hashing(monkeypatch)


@pytest.fixture
def world(app, ctx, floor, client):
    """Valid values for every URL argument (so that each variant reaches its view), a
    logged-in administrator's client and an API client with the administrator's token."""
    from booking.accounts.operations import get_user_by_email, issue_api_token
    from booking.fairness.portal_keys import issue_key as issue_portal_key

    log_in_with_password(client, add_user(ctx, "admin"))
    token = issue_api_token(get_user_by_email("admin@teststadt.example"), utcnow())
    ticket = arrivals.draw_ticket(floor, "pass", utcnow()).ticket
    day = date.today() + timedelta(days=20)
    closure = Closure(office=floor, starts_at=at(day, 8), ends_at=at(day, 10), reason="x")
    ctx.add(closure)
    ctx.commit()
    appointment = make_appointment(ctx, floor, at(day, 9))
    portal_key, _ = issue_portal_key(floor, "Portal", get_user_by_email("admin@teststadt.example"),
                                     utcnow())
    lottery = Lottery(service_id="pass", offices=[floor], first_day=day, last_day=day,
                      opens_at=utcnow() - timedelta(hours=1),
                      closes_at=utcnow() + timedelta(days=1), created_at=utcnow())
    ctx.add(lottery)
    ctx.commit()
    values = {"office_id": "amt", "service_id": "pass", "counter_id": counter(ctx, "1").id,
              "ticket_id": ticket.id, "code": appointment.code, "token": "manage-token-123",
              "closure_id": closure.id, "rule_id": floor.rules[0].id,
              "appointment_id": appointment.id, "key_id": portal_key.id,
              "filename": "app.css", "wish_id": 1, "offer_id": 1,  # (no such wish or offer: 404)
              "lottery_id": lottery.id, "entry_id": 1,  # (no such FAQ entry: 404)
              "table": "appointments", "fmt": "xlsx",
              "invitation_id": 1}  # (no such invitation: 404)
    ctx.rollback()
    return {"values": values, "page": client, "csrf": session_csrf(client),
            "api": {"Authorization": f"Bearer {token}"}}


def _routes(app):
    """(rule, method) for every rule and method; deleting and logging out last (a valid
    request does that)."""
    pairs = [(rule, method) for rule in app.url_map.iter_rules()
             for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(pairs, key=lambda pair: (pair[0].endpoint == "staff.logout",
                                           pair[0].endpoint.endswith("delete"), pair[0].rule))


def _path(rule, values: dict, **replace) -> str:
    args = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            args[name] = next(iter(converter.items))
        else:
            args[name] = values[name]
    args.update(replace)
    return rule.build(args, append_unknown=False)[1]


def _send(world, rule, method, path, **kwargs):
    """The status of one request; an exception (TESTING propagates it) counts as 500."""
    client = world["page"]
    if rule.rule.startswith("/api/"):
        kwargs.setdefault("headers", world["api"])
        client = client.application.test_client()  # no session: the token authenticates
    elif method != "GET":
        kwargs.setdefault("data", {"csrf_token": world["csrf"]})
    try:
        response = client.open(path, method=method, buffered=False, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the 500 this test is about
        return f"500 ({type(exc).__name__}: {str(exc)[:120]})"
    status = response.status_code
    response.close()  # event streams: the status is enough
    return status


def _check(failures, label, status, expected=None):
    if isinstance(status, str) or status >= 500 or (expected and status not in expected):
        failures.append(f"{label}: {status}")


def _is_int(rule, name) -> bool:
    return isinstance(rule._converters[name], IntegerConverter)


def test_nul_and_huge_integers_in_path_segments(app, world):
    failures = []
    for rule, method in _routes(app):
        for name in rule._converters:
            if isinstance(rule._converters[name], AnyConverter):
                continue
            bad_values = HUGE if _is_int(rule, name) else (NUL,)
            expected = (404,) if _is_int(rule, name) else (400,)
            for bad in bad_values:
                path = _path(rule, world["values"], **{name: bad})
                _check(failures, f"{method} {path!r}", _send(world, rule, method, path), expected)
    assert not failures, "\n".join(failures)


def test_nul_and_huge_integers_in_query_parameters(app, world):
    """Each parameter a view reads alone on GET (other methods: all at once), a NUL in a
    name, huge numbers in all of them."""
    failures = []
    for rule, method in _routes(app):
        path = _path(rule, world["values"])
        bad = [{name: NUL} for name in QUERY_NAMES] if method == "GET" else \
            [dict.fromkeys(QUERY_NAMES, NUL)]
        for query in [*bad, {NUL: "x"}]:
            status = _send(world, rule, method, path, query_string=query)
            _check(failures, f"{method} {path}?{'&'.join(query)!r} with NUL", status, (400,))
        huge = dict.fromkeys(QUERY_NAMES, str(HUGE[-1]))
        _check(failures, f"{method} {path}?…=HUGE",
               _send(world, rule, method, path, query_string=huge))
    assert not failures, "\n".join(failures)


def test_nul_and_huge_integers_in_form_fields(app, world):
    """The fields of each form (NUL in all of one form's fields at once) sent to every
    page's writing rule, and huge numbers in all of them."""
    failures = []
    forms = _forms()
    for rule, method in _routes(app):
        if method == "GET" or rule.rule.startswith("/api/"):
            continue
        path = _path(rule, world["values"])
        for form, fields in forms.items():
            if not fields:
                continue
            status = _send(world, rule, method, path,
                           data={"csrf_token": world["csrf"], **dict.fromkeys(fields, NUL)})
            _check(failures, f"{method} {path} {form} fields with NUL", status, (400,))
        status = _send(world, rule, method, path, data={"csrf_token": world["csrf"], NUL: "x"})
        _check(failures, f"{method} {path} NUL in a field name", status, (400,))
        huge = dict.fromkeys(sum(forms.values(), []), str(HUGE[-1]))
        status = _send(world, rule, method, path, data={"csrf_token": world["csrf"], **huge})
        _check(failures, f"{method} {path} …=HUGE", status)
    assert not failures, "\n".join(failures)


def test_nul_huge_integers_and_deep_nesting_in_json(app, world):
    failures = []
    deep = "[" * 30000 + "]" * 30000  # below the body limit, beyond the recursion limit
    for rule, method in _routes(app):
        if method == "GET" or not rule.rule.startswith("/api/"):
            continue
        path = _path(rule, world["values"])
        for name in JSON_NAMES:
            for value, expected in ((NUL, (400,)), ([NUL], (400,)), (HUGE[0], None),
                                    (HUGE[1], None), (-HUGE[1], None), (True, None)):
                status = _send(world, rule, method, path, json={name: value})
                _check(failures, f"{method} {path} {{{name}: {value!r}}}", status, expected)
        status = _send(world, rule, method, path, json={NUL: "x"})
        _check(failures, f"{method} {path} {{NUL: x}}", status, (400,))
        status = _send(world, rule, method, path, data=deep,
                       headers={**world["api"], "Content-Type": "application/json"})
        _check(failures, f"{method} {path} deeply nested", status, (400,))
    assert not failures, "\n".join(failures)


def test_a_wrong_method_answers_405_with_allow(client):
    for path, allowed in (("/api/v1/services", {"GET", "HEAD", "OPTIONS"}),
                          ("/logout", {"POST", "OPTIONS"}),
                          ("/", {"GET", "HEAD", "OPTIONS"})):
        response = client.put(path)
        assert response.status_code == 405
        assert set(response.headers["Allow"].split(", ")) == allowed
    assert client.put("/api/v1/services").get_json()["error"]


def test_a_login_email_longer_than_its_column_is_a_field_error(client):
    """The address is bounded before it reaches the login throttle's table."""
    page = client.get("/login?lang=en")
    response = client.post("/login", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                           "email": "a" * 400 + "@example.org", "password": "x"})
    assert response.status_code == 422
    assert "at most 254 characters" in response.get_data(as_text=True)


def test_nul_is_refused_with_a_readable_page_and_the_apis_error_shape(client):
    page = client.get("/services/a%00b?lang=en")
    assert page.status_code == 400 and "NUL character" in page.get_data(as_text=True)
    api = client.get("/api/v1/tickets/a%00b")
    assert api.status_code == 400 and "NUL character" in api.get_json()["message"]
    nested = client.post("/api/v1/appointments", data="[" * 30000 + "]" * 30000,
                         content_type="application/json")
    assert nested.status_code == 400 and "nested too deeply" in nested.get_json()["message"]


@pytest.mark.parametrize("args", [
    ["user", "create", "a\x00@x.example", "--role", "admin", "--password-stdin"],
    ["user", "create", "\udcff@x.example", "--role", "admin", "--password-stdin"],
    ["user", "create", "a" * 300 + "@x.example", "--role", "admin", "--password-stdin"],
    ["user", "create", "c@x.example", "--role", "clerk", "--office", "a\x00", "--password-stdin"],
    ["user", "token", "a\x00@x.example"],
    ["user", "token", "\udcff@x.example"],
    ["user", "revoke-tokens", "a\x00@x.example"],
    ["purge", "--days", str(HUGE[-1])],
    ["purge", "--days", "-1"],
])
def test_cli_arguments_no_database_can_hold_are_usage_errors(app, args):
    """NUL cannot come through argv, but bytes that are not UTF-8 can (as lone surrogates),
    and so can anything through a script; each is an error message, not a traceback."""
    result = app.test_cli_runner().invoke(args=args, input="a long passphrase here\n")
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Error" in result.output
