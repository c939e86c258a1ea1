"""The request log: one line per request, JSON or text, with the request id, and nothing
personal in it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from booking import create_app, logs
from booking.config import ConfigError, load_config
from booking.db import utcnow
from tests.factories import dispose_app, make_appointment

CODE, TOKEN = "ACDE3467", "manage-token-123"  # make_appointment's
EMAIL = "erika.mustermann@example.org"


def made_app(app_config, **settings):
    return create_app({**app_config, **settings})


def dispose(made) -> None:
    dispose_app(made)


@pytest.fixture
def log_app(request, app, app_config):
    """An app with the log format of the test's parameter; the suite's own afterwards."""
    made = made_app(app_config, LOG_FORMAT=request.param)
    yield made
    dispose(made)
    logs.configure(app)


def request_lines(err: str, fmt: str) -> list:
    lines = [line for line in err.splitlines() if "booking.request" in line]
    return [json.loads(line) for line in lines] if fmt == "json" else lines


@pytest.mark.parametrize("log_app", ["json"], indirect=True)
def test_json_lines_carry_method_endpoint_status_duration_and_request_id(log_app, capsys):
    client = log_app.test_client()
    capsys.readouterr()
    given = client.get("/healthz", headers={"X-Request-Id": "edge-4711.a:b"})
    made_up = client.get("/healthz", headers={"X-Request-Id": "no spaces allowed <x>"})
    missing = client.get("/no/such/page")
    first, second, third = request_lines(capsys.readouterr().err, "json")
    assert given.headers["X-Request-Id"] == "edge-4711.a:b" == first["request_id"]
    assert first["method"] == "GET" and first["endpoint"] == "citizen.healthz"
    assert first["status"] == 200 and isinstance(first["duration_ms"], float)
    assert first["level"] == "info" and first["logger"] == "booking.request"
    assert first["time"].endswith("+00:00")
    assert made_up.headers["X-Request-Id"] == second["request_id"]
    assert len(second["request_id"]) == 32 and " " not in second["request_id"]
    assert third["endpoint"] == "none" and third["status"] == 404
    assert third["request_id"] == missing.headers["X-Request-Id"] != second["request_id"]


@pytest.mark.parametrize("log_app", ["json", "text"], indirect=True)
def test_no_token_code_email_or_query_reaches_the_log(log_app, ctx, capsys):
    from tests.factories import make_town

    office = make_town(ctx)
    make_appointment(ctx, office, utcnow() + timedelta(days=3))
    client = log_app.test_client()
    capsys.readouterr()
    assert client.get(f"/manage/{CODE}/{TOKEN}").status_code == 200
    assert client.get(f"/manage/{CODE}/{TOKEN}/cancel?email={EMAIL}").status_code == 405
    client.get(f"/kiosk/amt/tickets/{EMAIL}")
    client.get(f"/%6Danage/{CODE}//{TOKEN}?q=Mustermann")
    err = capsys.readouterr().err
    assert len(request_lines(err, log_app.config["LOG_FORMAT"])) == 4
    for secret in (CODE, TOKEN, EMAIL, "erika", "Mustermann", "/manage"):
        assert secret.lower() not in err.lower(), secret


@pytest.mark.parametrize("log_app", ["text"], indirect=True)
def test_text_lines_for_development(log_app, capsys):
    client = log_app.test_client()
    capsys.readouterr()
    response = client.get("/healthz")
    (line,) = request_lines(capsys.readouterr().err, "text")
    assert " INFO booking.request: request method=GET endpoint=citizen.healthz status=200 " in line
    assert line.endswith(f"request_id={response.headers['X-Request-Id']}")
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)


@pytest.mark.parametrize("log_app", ["json"], indirect=True)
def test_error_lines_are_masked_and_carry_the_request_id(log_app, capsys):
    """Flask logs an unhandled error with the path: the token is masked there."""

    @log_app.get("/manage/<code>/<token>/boom")
    def boom(code, token):
        raise RuntimeError("kaputt")

    log_app.testing = False  # errors are logged and answered with 500, as in production
    response = log_app.test_client().get(f"/manage/{CODE}/{TOKEN}/boom",
                                         headers={"X-Request-Id": "req-1"})
    assert response.status_code == 500
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()
               if line.startswith("{")]
    error = next(e for e in entries if e["level"] == "error")
    assert error["request_id"] == "req-1" and "RuntimeError: kaputt" in error["exception"]
    assert TOKEN not in json.dumps(entries)
    assert [e["status"] for e in entries if e["logger"] == "booking.request"] == [500]


def test_log_format_defaults_and_refuses_unknown(tmp_path, app_config):
    production = {"BOOKING_ENV": "production", "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"}
    assert load_config(str(tmp_path), production)["LOG_FORMAT"] == "json"
    assert load_config(str(tmp_path), {})["LOG_FORMAT"] == "text"
    assert load_config(str(tmp_path), {"LOG_FORMAT": " JSON "})["LOG_FORMAT"] == "json"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        made_app(app_config, LOG_FORMAT="xml")
